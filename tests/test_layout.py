"""Parquet layout for analysts: raw hive-partitioned globs (DuckDB, polars) agree with the warehouse.

The warehouse is built by the real stages (plan, probe, pose, analyse, commit) in
two runs: a second upload lands in the same inbox, carrying a clip of the first
week too, so a partition holds files of two runs.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.parquet as pq
import pytest

from hingeflow import schemas
from hingeflow.settings import Settings
from hingeflow.warehouse import Warehouse
from test_pipeline import HEADER, run_stages

REPO = Path(__file__).resolve().parents[1]
GUIDE = REPO / "data_contracts" / "QUERYING.md"

# upload folder -> rows (video, athlete, recorded_on, load_kg, set_index, facing, figure height, ankle x)
UPLOADS = {
    "gym_2026-11-16": [("a1.mp4", "ath-1", "2026-11-16", 60, 1, 1, 0.72, 0.5),
                       ("a2.mp4", "ath-2", "2026-11-16", 80, 1, -1, 0.66, 0.5)],
    "gym_2026-11-23": [("a1.mp4", "ath-1", "2026-11-23", 60, 1, -1, 0.72, 0.5),
                       ("late.mp4", "ath-2", "2026-11-17", 80, 2, 1, 0.68, 0.46)],  # a week-47 clip, uploaded late
}


def make_upload(inbox: Path, name: str) -> Path:
    """Render an upload's clips (distinct bytes each) and write its manifest, plus one row naming a missing file."""
    from hingeflow.synth.clip import ClipSpec, render_clip

    up = inbox / name
    up.mkdir(parents=True)
    lines = [HEADER]
    for video, athlete, day, load, set_index, facing, height, ankle in UPLOADS[name]:
        render_clip(up / video, ClipSpec(facing=facing, figure_height_frac=height, ankle_x_frac=ankle))
        lines.append(f"{video},{athlete},{day},romanian_deadlift,{load},{set_index}\n")
    lines.append(f"gone.mp4,ath-1,{name[-10:]},romanian_deadlift,100,3\n")
    (up / "manifest.csv").write_text("".join(lines))
    return up


def build_warehouse(root: Path) -> Warehouse:
    """Two runs of the real stages: the first upload, then the second one added to the same inbox."""
    wh = Warehouse(root / "warehouse")
    for name in UPLOADS:
        make_upload(root / "inbox", name)
        run_stages(root / "inbox", wh, Settings())
    return wh


@pytest.fixture(scope="module")
def wh(tmp_path_factory) -> Warehouse:
    return build_warehouse(tmp_path_factory.mktemp("layout"))


def raw_glob(wh: Warehouse, table: str) -> str:
    return f"{wh.root}/{table}/**/*.parquet"


def duckdb_rows(wh: Warehouse, table: str, select: str = "count(*)") -> list[tuple]:
    """What an analyst's raw DuckDB query over the table's folder returns."""
    return duckdb.sql(f"SELECT {select} FROM read_parquet('{raw_glob(wh, table)}', hive_partitioning = true)").fetchall()


def iso_week(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


# quarantined_rows stays empty on clean input; test_validation reads it raw after a bad row
@pytest.mark.parametrize("name", [n for n in schemas.TABLES if n != "quarantined_rows"])
def test_duckdb_polars_and_the_warehouse_read_the_same_rows(wh, name):
    table = schemas.TABLES[name]
    expected = wh.read(table).height
    raw_polars = pl.scan_parquet(raw_glob(wh, name), hive_partitioning=True).select(pl.len()).collect().item()
    (raw_duckdb,), = duckdb_rows(wh, name)
    print(f"{name}: {expected} rows, {len(wh.part_files(table))} files")
    assert expected > 0
    assert raw_duckdb == raw_polars == expected


@pytest.mark.parametrize("name", [n for n, t in schemas.TABLES.items() if t.partition_by == "week"])
def test_the_week_partition_reads_back_from_the_path(wh, name):
    videos = wh.read(schemas.VIDEOS)
    week_of = {v: iso_week(d) for v, d in zip(videos["video_id"], videos["recorded_on"])}
    pairs = set(duckdb_rows(wh, name, "DISTINCT video_id, week"))
    assert pairs == {(v, week_of[v]) for v in wh.read(schemas.TABLES[name])["video_id"]}
    assert {w for _, w in pairs} == {"2026-W47", "2026-W48"}
    polars_weeks = pl.scan_parquet(raw_glob(wh, name), hive_partitioning=True).select("week").unique().collect()
    assert sorted(polars_weeks["week"]) == ["2026-W47", "2026-W48"]


def test_two_runs_give_one_file_per_partition_per_run_and_one_snapshot(wh):
    runs = wh.committed_runs()
    assert len(runs) == 2
    for table in schemas.TABLES.values():
        files = list(wh.table_dir(table).rglob("*.parquet"))
        assert {f.stem.removeprefix("part-") for f in files} <= runs  # nothing of an uncommitted run
        assert not list(wh.table_dir(table).rglob(".*"))  # no temp files
        if table.snapshot:
            assert len(files) == 1, table.name
    assert len(list((wh.root / "videos" / "week=2026-W47").glob("*.parquet"))) == 2
    assert not any(wh.run_staging_dir.iterdir()) if wh.run_staging_dir.exists() else True


def test_files_are_sorted_and_carry_min_max_per_row_group(wh):
    for table in schemas.TABLES.values():
        body = table.without_partition()
        expected = pq.SortingColumn.from_ordering(body.schema, [(c, "ascending") for c in table.order],
                                                  null_placement="at_end")
        for path in wh.part_files(table):
            meta = pq.ParquetFile(path).metadata
            df = pl.read_parquet(path)
            assert df.equals(df.sort(list(table.order), nulls_last=True, maintain_order=True)), path
            for i in range(meta.num_row_groups):
                group = meta.row_group(i)
                assert group.sorting_columns == expected, path
                stats = {group.column(j).path_in_schema: group.column(j).statistics for j in range(group.num_columns)}
                assert all(s is not None for s in stats.values()), path
                assert all(stats[c].has_min_max for c in table.order), path


def test_row_groups_of_a_large_sorted_file_do_not_overlap(tmp_path):
    from hingeflow.parquet_io import ROW_GROUP_ROWS

    n = 2 * ROW_GROUP_ROWS + 10
    now = dt.datetime.now(dt.UTC)
    rows = pl.DataFrame({"upload": "u", "manifest_row": pl.int_range(n, 0, -1, eager=True).cast(pl.Int32),
                         "video": None, "video_id": None, "stage": "manifest", "reason": "r", "detected_at": now})
    wh = Warehouse(tmp_path)
    wh.write_part(schemas.QUARANTINE, schemas.to_arrow(schemas.QUARANTINE, rows), "r1")
    wh.commit("r1", {})
    meta = pq.ParquetFile(wh.part_files(schemas.QUARANTINE)[0]).metadata
    col = schemas.QUARANTINE.names.index("manifest_row")
    ranges = [(meta.row_group(i).column(col).statistics.min, meta.row_group(i).column(col).statistics.max)
              for i in range(meta.num_row_groups)]
    assert meta.num_row_groups == 3
    assert ranges == sorted(ranges) and all(a[1] < b[0] for a, b in zip(ranges, ranges[1:]))


def guide_blocks(language: str) -> list[str]:
    """The fenced code blocks of the query guide in one language, in order."""
    return re.findall(rf"^```{language}\n(.*?)^```", GUIDE.read_text(), flags=re.M | re.S)


def test_query_guide_python_examples_run(wh):
    blocks = guide_blocks("python")
    assert len(blocks) >= 5
    namespace: dict = {"WH": str(wh.root)}
    for block in blocks:
        exec(compile(block, str(GUIDE), "exec"), namespace)


def test_query_guide_sql_examples_run(wh):
    blocks = guide_blocks("sql")
    assert len(blocks) >= 5
    con = duckdb.connect()
    con.execute(f"SET VARIABLE WH = '{wh.root}'")
    for block in blocks:
        con.execute(block).fetchall()


def test_query_guide_states_each_tables_partition_and_sort_order():
    text = GUIDE.read_text()
    for name, table in schemas.TABLES.items():
        partition = f"`{table.partition_by}`" if table.partition_by else "–"
        assert f"| `{name}` | {partition} | `{', '.join(table.order)}` |" in text, name


# ---- crashes during a commit: what a raw glob sees after the next run's recovery ----

SNAP = schemas.Table("snap", schemas.QUARANTINE.columns, schemas.QUARANTINE.key, snapshot=True)
OLD_RUN, NEW_RUN = "20260101T000000-aaaaaaaa", "20260102T000000-bbbbbbbb"
OLD_STATE = (("v0", "v1"), (0, 1, 2))
NEW_STATE = (("v0", "v1", "v2", "v3"), (10, 11))


class SimulatedCrash(RuntimeError):
    """Raised in place of a file operation to stop a commit half-way."""


def video_rows(weeks: dict[str, str]):
    """Minimal `videos` rows: id -> week."""
    now = dt.datetime.now(dt.UTC)
    rows = [{c.name: None for c in schemas.VIDEOS.columns} | {
        "video_id": v, "upload": "u", "manifest_row": i, "video": f"{v}.mp4", "week": w, "status": "ok",
        "processed_at": now} for i, (v, w) in enumerate(weeks.items())]
    return schemas.to_arrow(schemas.VIDEOS, rows)


def snap_rows(manifest_rows: range):
    now = dt.datetime.now(dt.UTC)
    return schemas.to_arrow(SNAP, [{"upload": "u", "manifest_row": i, "video": None, "video_id": None,
                                    "stage": "manifest", "reason": "r", "detected_at": now} for i in manifest_rows])


def old_warehouse(root: Path) -> Warehouse:
    """A committed run: two videos of one week, a snapshot of three rows."""
    wh = Warehouse(root / "warehouse")
    wh.write_part(schemas.VIDEOS, video_rows({"v0": "2026-W45", "v1": "2026-W45"}), OLD_RUN)
    wh.write_part(SNAP, snap_rows(range(3)), OLD_RUN)
    wh.commit(OLD_RUN, {}, replaces=[SNAP])
    return wh


def stage_new_run(wh: Warehouse) -> None:
    """The next run's files: a video in the same week, one in a new week, a new snapshot."""
    wh.write_part(schemas.VIDEOS, video_rows({"v2": "2026-W45", "v3": "2026-W46"}), NEW_RUN)
    wh.write_part(SNAP, snap_rows(range(10, 12)), NEW_RUN)


def raw_state(wh: Warehouse) -> tuple[tuple, tuple]:
    """Video ids and snapshot rows as a raw DuckDB glob sees them (duplicates would repeat)."""
    videos = tuple(sorted(v for v, in duckdb_rows(wh, "videos", "video_id")))
    snap = tuple(sorted(m for m, in duckdb_rows(wh, "snap", "manifest_row")))
    return videos, snap


def read_state(wh: Warehouse) -> tuple[tuple, tuple]:
    """The same through the commit-marker-aware reader."""
    return (tuple(sorted(wh.read(schemas.VIDEOS)["video_id"])), tuple(sorted(wh.read(SNAP)["manifest_row"])))


def crash_on_call(monkeypatch, owner, attr: str, n: int) -> None:
    """Make `owner.attr` fail on its n-th call (1-based); earlier calls go through."""
    real, calls = getattr(owner, attr), []

    def fake(*args, **kwargs):
        calls.append(1)
        if len(calls) == n:
            raise SimulatedCrash(f"{attr} call {n}")
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, attr, fake)


def next_run_starts(wh: Warehouse, root: Path) -> None:
    """What a run does before anything else: plan (which recovers the warehouse)."""
    from hingeflow.planning import plan

    (root / "inbox").mkdir(exist_ok=True)
    plan(root / "inbox", wh, Settings())


def test_a_run_that_dies_while_staging_leaves_the_old_state(tmp_path):
    wh = old_warehouse(tmp_path)
    wh.write_part(schemas.VIDEOS, video_rows({"v2": "2026-W45"}), NEW_RUN)  # dies before the snapshot
    assert raw_state(wh) == read_state(wh) == OLD_STATE
    next_run_starts(wh, tmp_path)
    assert raw_state(wh) == read_state(wh) == OLD_STATE
    assert not any(wh.run_staging_dir.iterdir())


def test_a_run_that_dies_after_its_marker_is_published_by_the_next_run(tmp_path):
    wh = old_warehouse(tmp_path)
    stage_new_run(wh)
    wh.write_marker(NEW_RUN, {}, replaces=[SNAP])
    assert raw_state(wh) == OLD_STATE  # nothing moved yet: raw readers see the old state
    assert read_state(wh) == NEW_STATE  # committed: the warehouse reader already sees the new one
    next_run_starts(wh, tmp_path)
    assert raw_state(wh) == read_state(wh) == NEW_STATE
    assert not any(wh.run_staging_dir.iterdir())


@pytest.mark.parametrize("crash", ["move 1", "move 2", "move 3", "delete 1", "cleanup 1"])
def test_a_run_that_dies_while_publishing_is_completed_by_the_next_run(tmp_path, monkeypatch, crash):
    import os
    import shutil

    wh = old_warehouse(tmp_path)
    stage_new_run(wh)
    wh.write_marker(NEW_RUN, {}, replaces=[SNAP])
    step, n = crash.split()
    owner, attr = {"move": (os, "replace"), "delete": (Path, "unlink"), "cleanup": (shutil, "rmtree")}[step]
    with monkeypatch.context() as m:
        crash_on_call(m, owner, attr, int(n))
        with pytest.raises(SimulatedCrash):
            wh.publish(NEW_RUN)
    assert read_state(wh) == NEW_STATE
    next_run_starts(wh, tmp_path)
    assert raw_state(wh) == read_state(wh) == NEW_STATE
    assert not any(wh.run_staging_dir.iterdir())
    assert {p.name for p in (wh.root / "snap").iterdir()} == {f"part-{NEW_RUN}.parquet"}
