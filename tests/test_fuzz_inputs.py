"""Property-based fuzzing (hypothesis) of what users hand us: manifest bytes and video paths."""

from __future__ import annotations

import csv
import io
import math
import os
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hingeflow.inbox import resolve_video
from hingeflow.manifest import ATHLETE_ID, REQUIRED_COLUMNS, parse_manifest
from hingeflow.settings import EXERCISES

COLUMNS = (*REQUIRED_COLUMNS, "load_kg", "camera_view", "notes")
# derandomized: CI sees the same 300 cases per test every time. To explore, set derandomize=False
# and run with `--hypothesis-seed=N` for many N (40 seeds found a leading backslash, a path rooted
# on Windows, accepted by the manifest; it is now rejected)
FUZZ = settings(max_examples=300, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture])

# cells: plausible values mixed with CSV metacharacters, unicode, paths that try to escape
cell = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["a.mp4", "sub/b.mp4", "../x.mp4", "/etc/passwd", "C:\\x.mp4", "ath-1", "ath 1", "ath/1",
                     "2026-11-16", "2026-02-30", "deadlift", "squat", "100", "-5", "nan", "inf", "1e400", "1",
                     "0", "side", "front", "", " ", "\"", ",", "\n", "é"]),
)


# per column: mostly values that pass, so the other columns' checks are reached too
COLUMN_CELLS = {
    "video": st.one_of(cell, st.lists(st.sampled_from(["a.mp4", "sub", "..", ".", "", "/", "C:", "\\", "b c.mp4"]),
                                      min_size=1, max_size=4).map("/".join)),
    "athlete_id": st.one_of(st.sampled_from(["ath-1", "A_2", "x" * 64]), cell),
    "recorded_on": st.one_of(st.dates().map(str), cell),
    "exercise": st.one_of(st.sampled_from(EXERCISES), cell),
    "set_index": st.one_of(st.integers(-2, 20).map(str), cell),
    "load_kg": st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(str), cell),
    "camera_view": st.one_of(st.sampled_from(["side", "front", "diagonal", ""]), cell),
    "notes": cell,
}
row_cells = st.tuples(*(COLUMN_CELLS[c] for c in COLUMNS)).map(list)


def _manifest(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(COLUMNS)
    w.writerows(rows)
    return out.getvalue().encode("utf-8", "surrogatepass")


@FUZZ
@given(st.binary(max_size=2000))
def test_any_bytes_give_rows_or_reasons_never_an_exception(data):
    parsed = parse_manifest(data)
    assert all(r.reason for r in parsed.rejections)
    assert not (parsed.rows and any(r.manifest_row == 0 for r in parsed.rejections))


@FUZZ
@given(st.lists(row_cells, max_size=8))
def test_every_row_is_accepted_with_valid_values_or_rejected_with_a_reason(rows):
    try:
        data = _manifest(rows)
    except UnicodeEncodeError:  # lone surrogates cannot be written as UTF-8 by anyone
        return
    parsed = parse_manifest(data)
    if any(r.manifest_row == 0 for r in parsed.rejections):  # the file as a whole (e.g. a stray quote)
        assert not parsed.rows
        return
    numbers = [i for i, _ in parsed.rows] + [r.manifest_row for r in parsed.rejections]
    assert len(numbers) == len(set(numbers))  # no row counted twice
    for _, row in parsed.rows:
        assert ATHLETE_ID.match(row.athlete_id)
        assert row.exercise in EXERCISES and row.set_index >= 1
        assert math.isfinite(row.load_kg) and row.load_kg >= 0
        path = PurePosixPath(row.video)
        assert not path.is_absolute() and ".." not in path.parts and "\\" not in row.video[:2]
    assert len({row.video for _, row in parsed.rows}) == len(parsed.rows)  # duplicates rejected
    assert len(numbers) == len(rows) or not rows  # every data row has an outcome


@pytest.fixture(scope="module")
def upload(tmp_path_factory) -> Path:
    """An upload folder with a video, a subfolder, an empty file, and symlinks in and out of it."""
    root = tmp_path_factory.mktemp("fuzz")
    up = root / "upload"
    (up / "sub").mkdir(parents=True)
    (up / "a.mp4").write_bytes(b"video")
    (up / "sub" / "b.mp4").write_bytes(b"video 2")
    (up / "empty.mp4").touch()
    (root / "secret.mp4").write_bytes(b"outside")
    os.symlink(root / "secret.mp4", up / "out.mp4")
    os.symlink(up / "a.mp4", up / "in.mp4")
    os.symlink(root, up / "up")
    return up


@FUZZ
@given(st.lists(st.sampled_from(["a.mp4", "sub", "b.mp4", "..", ".", "", "out.mp4", "in.mp4", "up", "secret.mp4",
                                 "empty.mp4", "upload", "x" * 300, "\x00", "é"]), min_size=1, max_size=6),
       st.sampled_from(["/", "//", "\\"]))
def test_a_resolved_video_always_lies_inside_its_upload(upload, parts, sep):
    relative = sep.join(parts)
    try:
        path = resolve_video(upload, relative)
    except (ValueError, OSError) as exc:  # a reason the scan records (both are caught there)
        assert str(exc)
        return
    assert path.is_relative_to(upload.resolve()) and path.is_file() and path.stat().st_size > 0
