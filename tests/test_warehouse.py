import datetime as dt

import polars as pl

from hingeflow import schemas
from hingeflow.warehouse import Warehouse


def quarantine_rows(n: int) -> list[dict]:
    now = dt.datetime.now(dt.UTC)
    return [{"upload": "u", "manifest_row": i, "video": f"{i}.mp4", "video_id": None, "stage": "manifest",
             "reason": "r", "detected_at": now} for i in range(n)]


def test_parts_become_visible_only_after_commit(tmp_path):
    wh = Warehouse(tmp_path)
    wh.write_part(schemas.QUARANTINE, schemas.to_arrow(schemas.QUARANTINE, quarantine_rows(3)), "run1")
    assert wh.read(schemas.QUARANTINE).height == 0
    wh.commit("run1", {})
    assert wh.read(schemas.QUARANTINE).height == 3


def test_uncommitted_parts_are_discarded(tmp_path):
    wh = Warehouse(tmp_path)
    wh.write_part(schemas.QUARANTINE, schemas.to_arrow(schemas.QUARANTINE, quarantine_rows(2)), "crashed")
    (tmp_path / "quarantine" / ".part-x.parquet.abc.tmp").write_bytes(b"half")
    removed = wh.discard_uncommitted([schemas.QUARANTINE])
    assert len(removed) == 2
    assert not list((tmp_path / "quarantine").iterdir())


def test_partitioned_write_and_hive_read(tmp_path):
    wh = Warehouse(tmp_path)
    rows = [{c.name: None for c in schemas.VIDEOS.columns} for _ in range(3)]
    for i, (row, week) in enumerate(zip(rows, ["2026-W45", "2026-W45", "2026-W46"])):
        row.update(video_id=f"v{i}", upload="u", manifest_row=i + 1, video=f"{i}.mp4", week=week,
                   status="ok", processed_at=dt.datetime.now(dt.UTC))
    paths = wh.write_part(schemas.VIDEOS, schemas.to_arrow(schemas.VIDEOS, rows), "r1")
    wh.commit("r1", {})
    assert sorted(p.parent.name for p in paths) == ["week=2026-W45", "week=2026-W46"]
    assert "week" not in pl.read_parquet(paths[0]).columns  # lives in the path
    df = wh.read(schemas.VIDEOS).sort("video_id")
    assert df["week"].to_list() == ["2026-W45", "2026-W45", "2026-W46"]
    assert df.columns == schemas.VIDEOS.names


def test_contract_refuses_drifting_writers():
    import pytest

    with pytest.raises(ValueError, match="missing=.*reason"):
        schemas.to_arrow(schemas.QUARANTINE, pl.DataFrame({"upload": ["u"]}))


def test_snapshot_tables_show_the_newest_run_only(tmp_path):
    import dataclasses

    snap = dataclasses.replace(schemas.QUARANTINE, name="snap", snapshot=True)
    wh = Warehouse(tmp_path)
    wh.write_part(snap, schemas.to_arrow(snap, quarantine_rows(3)), "20260101T000000-aaaa")
    wh.commit("20260101T000000-aaaa", {})
    wh.write_part(snap, schemas.to_arrow(snap, quarantine_rows(2)), "20260102T000000-bbbb")
    assert wh.read(snap).height == 3  # the second run has not committed
    wh.commit("20260102T000000-bbbb", {})
    assert wh.read(snap).height == 2
    assert len(wh.drop_old_snapshots(snap)) == 1
    assert wh.read(snap).height == 2


def test_parts_written_before_a_column_was_added_read_it_as_null(tmp_path):
    import dataclasses

    wh = Warehouse(tmp_path)
    old = dataclasses.replace(schemas.QUARANTINE, columns=tuple(c for c in schemas.QUARANTINE.columns if c.name != "stage"))
    rows = quarantine_rows(2)
    wh.write_part(old, schemas.to_arrow(old, [{k: v for k, v in r.items() if k != "stage"} for r in rows]), "r1")
    wh.write_part(schemas.QUARANTINE, schemas.to_arrow(schemas.QUARANTINE, quarantine_rows(1)), "r2")
    wh.commit("r1", {})
    wh.commit("r2", {})
    got = wh.read(schemas.QUARANTINE)
    assert got.height == 3 and got.columns == schemas.QUARANTINE.names
    assert got["stage"].null_count() == 2 and got["stage"].drop_nulls().to_list() == ["manifest"]


def test_a_run_that_replaces_files_shows_old_or_new_rows_never_both(tmp_path):
    wh = Warehouse(tmp_path)
    wh.write_part(schemas.QUARANTINE, schemas.to_arrow(schemas.QUARANTINE, quarantine_rows(3)), "run1")
    wh.commit("run1", {})
    old = [p.relative_to(tmp_path).as_posix() for p in wh.part_files(schemas.QUARANTINE)]
    wh.write_part(schemas.QUARANTINE, schemas.to_arrow(schemas.QUARANTINE, quarantine_rows(2)), "run2")
    assert wh.read(schemas.QUARANTINE).height == 3  # staged, not committed
    wh.write_marker("run2", {}, replace_files=old)  # committed, not yet published (a crash here)
    assert wh.read(schemas.QUARANTINE).height == 2
    wh.recover([schemas.QUARANTINE])  # the next run finishes publishing
    assert wh.read(schemas.QUARANTINE).height == 2 and not (tmp_path / old[0]).exists()
