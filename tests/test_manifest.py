import pytest

from hingeflow.manifest import KG_PER_LB, parse_manifest

HEADER = "video,athlete_id,recorded_on,exercise,load_kg,set_index\n"


def parse(body: str, header: str = HEADER):
    return parse_manifest((header + body).encode())


def only_reason(body: str, header: str = HEADER) -> str:
    m = parse(body, header)
    assert not m.rows, m.rows
    assert len(m.rejections) == 1, m.rejections
    return m.rejections[0].reason


def test_good_row_is_accepted_with_iso_week():
    m = parse("a.mp4,ath-1,2026-11-16,deadlift,100,1\n")
    assert not m.rejections
    (i, row), = m.rows
    assert i == 1 and row.load_kg == 100 and row.camera_view == "side" and row.week == "2026-W47"


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("a.mp4,ath-1,2026-02-30,deadlift,100,1", "is not an ISO date"),
        ("a.mp4,ath-1,2026-11-02,squat,100,1", "exercise 'squat' is not one of"),
        ("a.mp4,ath-1,2026-11-02,deadlift,-5,1", "must be a finite number >= 0"),
        ("a.mp4,ath-1,2026-11-02,deadlift,heavy,1", "load_kg 'heavy' is not a number"),
        ("a.mp4,ath-1,2026-11-02,deadlift,,1", "load is missing"),
        ("a.mp4,ath 1,2026-11-02,deadlift,100,1", "athlete_id 'ath 1' must be 1-64 letters"),
        ("a.mp4,ath/1,2026-11-02,deadlift,100,1", "athlete_id 'ath/1'"),
        ("../a.mp4,ath-1,2026-11-02,deadlift,100,1", "leaves the upload folder"),
        ("/etc/passwd,ath-1,2026-11-02,deadlift,100,1", "is absolute"),
        ("C:\\x.mp4,ath-1,2026-11-02,deadlift,100,1", "is absolute"),
        ("\\videos\\x.mp4,ath-1,2026-11-02,deadlift,100,1", "is absolute"),  # rooted on Windows (found by fuzzing)
        ("a.mp4,ath-1,2026-11-02,deadlift,100,0", "set_index must be >= 1"),
        ("a.mp4,ath-1,2026-11-02,deadlift,100,1,extra", "more cells than the header"),
    ],
)
def test_bad_rows_get_a_clear_reason(row: str, expected: str):
    assert expected in only_reason(row + "\n")


def test_missing_column_rejects_whole_manifest():
    m = parse("a.mp4,ath-1,2026-11-02,100,1\n", header="video,athlete_id,recorded_on,load_kg,set_index\n")
    assert [r.manifest_row for r in m.rejections] == [0]
    assert "missing required column(s): exercise" in m.rejections[0].reason


def test_bad_rows_do_not_stop_good_ones():
    m = parse("a.mp4,ath-1,2026-11-02,deadlift,100,1\nb.mp4,ath-1,2026-11-02,curl,10,1\nc.mp4,ath-2,2026-11-02,good_morning,20,2\n")
    assert [i for i, _ in m.rows] == [1, 3]
    assert [r.manifest_row for r in m.rejections] == [2]


def test_duplicate_rows_are_rejected():
    m = parse("a.mp4,ath-1,2026-11-02,deadlift,100,1\na.mp4,ath-1,2026-11-02,deadlift,100,1\n")
    assert len(m.rows) == 1 and "duplicate of manifest row 1" in m.rejections[0].reason


def test_pounds_are_converted_to_kg():
    m = parse("a.mp4,ath-1,2026-11-02,deadlift,225,1\n", header=HEADER.replace("load_kg", "load_lb"))
    assert m.rows[0][1].load_kg == pytest.approx(225 * KG_PER_LB)


def test_non_utf8_manifest_is_rejected():
    m = parse_manifest(HEADER.encode() + "a.mp4,Jos\xe9,2026-11-02,deadlift,1,1\n".encode("latin-1"))
    assert m.rejections[0].manifest_row == 0 and "not UTF-8" in m.rejections[0].reason


def test_optional_columns_and_views():
    header = HEADER.strip() + ",camera_view,bodyweight_kg,gym_id,notes\n"
    m = parse("a.mp4,a,2026-11-02,kettlebell_swing,24,2,FRONT,81.5,g1,\nb.mp4,a,2026-11-02,deadlift,1,1,top,,,\n", header)
    (_, row), = m.rows
    assert row.camera_view == "front" and row.bodyweight_kg == 81.5 and row.gym_id == "g1" and row.notes is None
    assert "camera_view 'top'" in m.rejections[0].reason
