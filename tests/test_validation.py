"""Great Expectations on real pipeline output: a clean run passes, each corruption is named.

One module fixture runs the real stages (synthetic clips through PyAV, MediaPipe,
analytics) on two weeks of one athlete plus an unreadable file, so every
validated table has rows. Each corruption test changes one thing in one table and
checks that exactly the expected check fails, naming the offending row's key.
"""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

from hingeflow import pipeline, schemas, validation
from hingeflow.expectations import reference_param
from hingeflow.gx_project import open_for_warehouse
from hingeflow.pose_staging import PoseStaging
from hingeflow.settings import Settings
from hingeflow.warehouse import Warehouse

HEADER = "video,athlete_id,recorded_on,exercise,load_kg,set_index\n"


def _inbox(root):
    from hingeflow.synth.clip import ClipSpec, render_clip

    for day, facing in (("2026-11-16", 1), ("2026-11-23", -1)):
        up = root / "inbox" / f"gym_{day}"
        up.mkdir(parents=True)
        render_clip(up / "rdl.mp4", ClipSpec(facing=facing))
        (up / "noise.mp4").write_bytes(bytes(range(256)) * (64 if facing > 0 else 65))
        (up / "manifest.csv").write_text(HEADER + f"rdl.mp4,ath-9,{day},romanian_deadlift,60,1\n"
                                         + f"noise.mp4,ath-9,{day},romanian_deadlift,70,2\n")
    return root / "inbox"


def _stages(inbox, wh: Warehouse, settings: Settings):
    plan = pipeline.plan(inbox, wh, settings)
    outcomes = [pipeline.pose(pipeline.probe(c, settings), PoseStaging(wh.staging_dir), settings) for c in plan.new]
    ingest = pipeline.check_ingest_tables(plan, outcomes, wh, settings)
    return plan, outcomes, ingest, pipeline.analyse(plan, wh)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """(warehouse after one clean run, the run's summary)."""
    root = tmp_path_factory.mktemp("gx")
    inbox = _inbox(root)
    wh = Warehouse(root / "wh")
    plan, outcomes, ingest, reps = _stages(inbox, wh, Settings())
    steps = [ingest, pipeline.check_rep_tables(plan, reps, wh, Settings())]
    summary = pipeline.commit(plan, outcomes, steps, wh, Settings())
    return wh, summary, inbox


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    return open_for_warehouse(tmp_path_factory.mktemp("ctx"))


def _params(wh: Warehouse) -> dict[str, list]:
    return {"exercises": list(Settings().exercises),
            reference_param("videos", "video_id"): wh.read(schemas.VIDEOS)["video_id"].to_list()}


def test_clean_run_passes_every_check(run):
    wh, summary, _ = run
    quality = wh.read(schemas.QUALITY)
    assert set(quality["table"]) == set(schemas.VALIDATED)
    assert quality["success"].all(), quality.filter(~pl.col("success")).to_dicts()
    assert wh.read(schemas.QUARANTINED_ROWS).height == 0
    for name in schemas.VALIDATED:  # every table had rows to check
        assert wh.read(schemas.TABLES[name]).height > 0, name
    assert summary.checks_failed == 0 and summary.rows_quarantined == 0 and summary.seconds["validate"] > 0


def _first(df: pl.DataFrame, table: schemas.Table, where: pl.Expr | None = None) -> dict:
    row = (df.filter(where) if where is not None else df).row(0, named=True)
    return {k: row[k] for k in table.key}


def _corrupt(df: pl.DataFrame, key: dict, **values) -> pl.DataFrame:
    hit = pl.all_horizontal(pl.col(k) == v for k, v in key.items())
    return df.with_columns(pl.when(hit).then(pl.lit(v, dtype=df.schema[c])).otherwise(pl.col(c)).alias(c)
                           for c, v in values.items())


def _failed(context, wh, name: str, df: pl.DataFrame) -> dict[str, list[dict]]:
    results = context.validate(schemas.TABLES[name], df, _params(wh))
    return {r.check.name: r.offending for r in results if not r.success}


def test_duplicate_video_key(run, context):
    wh = run[0]
    videos = wh.read(schemas.VIDEOS)
    dup = pl.concat([videos, videos.head(1)])
    failed = _failed(context, wh, "videos", dup)
    assert list(failed) == ["videos.video_id: unique key"]
    assert {o["video_id"] for o in failed["videos.video_id: unique key"]} == {videos["video_id"][0]}


def test_knee_angle_out_of_range(run, context):
    wh = run[0]
    frames = wh.read(schemas.FRAMES)
    key = _first(frames, schemas.FRAMES, pl.col("frame_idx") == 7)
    failed = _failed(context, wh, "frames", _corrupt(frames, key, knee_flexion_deg=250.0))
    assert list(failed) == ["frames.knee_flexion_deg: between"]
    assert failed["frames.knee_flexion_deg: between"] == [key]


def test_time_going_backwards(run, context):
    wh = run[0]
    frames = wh.read(schemas.FRAMES)
    key = _first(frames, schemas.FRAMES, pl.col("frame_idx") == 12)
    failed = _failed(context, wh, "frames", _corrupt(frames, key, t_s=0.01))
    name = "frames.t_s: increases with frame_idx within video_id"
    assert list(failed) == [name] and failed[name] == [key]


def test_unknown_fault(run, context):
    wh = run[0]
    reps = wh.read(schemas.REPS)
    key = _first(reps, schemas.REPS)
    bad = reps.with_columns(pl.when((pl.col("video_id") == key["video_id"]) & (pl.col("rep_index") == key["rep_index"]))
                            .then(pl.lit(["rounded_back", "bent_bar"])).otherwise(pl.col("faults")).alias("faults"))
    failed = _failed(context, wh, "reps", bad)
    assert list(failed) == ["reps.faults: elements in vocabulary"]
    assert failed["reps.faults: elements in vocabulary"] == [key]


def test_orphan_rep(run, context):
    wh = run[0]
    reps = wh.read(schemas.REPS)
    key = _first(reps, schemas.REPS)
    orphan = "f" * 64
    failed = _failed(context, wh, "reps", _corrupt(reps, key, video_id=orphan))
    assert list(failed) == ["reps.video_id: references videos.video_id"]
    assert failed["reps.video_id: references videos.video_id"] == [{**key, "video_id": orphan}]


def test_missing_column_makes_the_table_unusable(run, context):
    wh = run[0]
    reps = wh.read(schemas.REPS).drop("form_score")
    results = context.validate(schemas.REPS, reps, _params(wh))
    failed = {r.check.name: r for r in results if not r.success}
    assert "reps: columns match the contract" in failed
    assert failed["reps: columns match the contract"].error == "missing: form_score"
    assert set(failed) <= {"reps: columns match the contract", "reps.form_score: not null",
                           "reps.form_score: between"}
    done = validation.settle(schemas.REPS, reps, results, "r", dt.datetime.now(dt.UTC))
    assert done.unusable and done.kept.height == 0


@pytest.mark.parametrize("name, column, value, check", [
    ("quarantine", "stage", "decode", "quarantine.stage: in set"),
    ("sets", "rounded_back_rate", 1.5, "sets.rounded_back_rate: between"),
    ("breakdown", "breakdown_load_kg", -20.0, "breakdown.breakdown_load_kg: between"),
    ("week_over_week", "verdict", "meh", "week_over_week.verdict: in set"),
    ("reps", "t_end_s", 0.0, "reps: t_end_s >= t_bottom_s"),
])
def test_value_breaking_a_rule_is_named_with_its_key(run, context, name, column, value, check):
    wh = run[0]
    table = schemas.TABLES[name]
    df = wh.read(table)
    key = _first(df, table)
    failed = _failed(context, wh, name, _corrupt(df, key, **{column: value}))
    assert list(failed) == [check]
    assert failed[check] == [key]


def test_a_run_quarantines_bad_rows_and_keeps_the_rest(run, tmp_path):
    """Through `commit`: the bad rep lands in quarantined_rows, its check in quality, the rest is written."""
    inbox = run[2]
    wh = Warehouse(tmp_path / "wh")
    plan, outcomes, ingest, reps = _stages(inbox, wh, Settings())
    key = {"video_id": reps["video_id"][0], "rep_index": reps["rep_index"][0]}
    bad = _corrupt(reps, key, form_score=140.0)
    steps = [ingest, pipeline.check_rep_tables(plan, bad, wh, Settings())]
    summary = pipeline.commit(plan, outcomes, steps, wh, Settings())
    assert summary.rows_quarantined == 1 and summary.checks_failed == 1
    stored = wh.read(schemas.REPS)
    assert stored.height == reps.height - 1
    assert stored.filter((pl.col("video_id") == key["video_id"]) & (pl.col("rep_index") == key["rep_index"])).height == 0
    q = wh.read(schemas.QUARANTINED_ROWS)
    assert q["table"].to_list() == ["reps"] and q["checks"].to_list() == [["reps.form_score: between"]]
    assert json.loads(q["row_json"][0])["form_score"] == 140.0
    fails = wh.read(schemas.QUALITY).filter(~pl.col("success"))
    assert fails["check"].to_list() == ["reps.form_score: between"]
    assert fails["offending_keys"].to_list() == [[f"video_id={key['video_id']}, rep_index={key['rep_index']}"]]
    assert wh.read(schemas.VIDEOS).height == 4  # the other tables are written
    import duckdb

    for name in ("quarantined_rows", "quality"):  # analysts' raw globs read the same rows
        glob = f"{wh.root}/{name}/**/*.parquet"
        (raw,), = duckdb.sql(f"SELECT count(*) FROM read_parquet('{glob}', hive_partitioning = true)").fetchall()
        assert raw == pl.scan_parquet(glob).select(pl.len()).collect().item() == wh.read(schemas.TABLES[name]).height


def test_frames_that_break_their_contract_never_reach_the_analysis(run, tmp_path):
    """Validation runs after the pose stage and the analysis reads only the frames that met the
    contract: a video whose every frame has a knee angle of 250 deg gets no reps, the other does."""
    inbox = run[2]
    wh = Warehouse(tmp_path / "wh")
    settings = Settings()
    plan = pipeline.plan(inbox, wh, settings)
    outcomes = [pipeline.pose(pipeline.probe(c, settings), PoseStaging(wh.staging_dir), settings) for c in plan.new]
    pose_outs = [o.staged for o in outcomes if o.staged]
    assert len(pose_outs) == 2
    broken = pl.read_parquet(pose_outs[0])
    broken.with_columns(pl.lit(250.0, pl.Float32).alias("knee_flexion_deg")).write_parquet(pose_outs[0])
    ingest = pipeline.check_ingest_tables(plan, outcomes, wh, settings)
    assert ingest.usable and ingest.quarantined.height == broken.height
    assert set(ingest.quarantined["checks"].list.join(",")) == {"frames.knee_flexion_deg: between"}
    reps = pipeline.analyse(plan, wh)
    assert reps.height > 0 and broken["video_id"][0] not in set(reps["video_id"])


def test_an_unusable_table_fails_the_run_and_commits_only_the_results(run, tmp_path):
    inbox = run[2]
    wh = Warehouse(tmp_path / "wh")
    plan, outcomes, ingest, reps = _stages(inbox, wh, Settings())
    broken = pipeline.check_rep_tables(plan, reps.drop("confidence"), wh, Settings())
    assert not broken.usable and "sets" not in broken.rows  # nothing derived from a broken table
    with pytest.raises(validation.ContractBroken, match="reps: columns match the contract"):
        pipeline.commit(plan, outcomes, [ingest, broken], wh, Settings())
    assert wh.read(schemas.VIDEOS).height == 0 and wh.read(schemas.REPS).height == 0
    assert not wh.read(schemas.QUALITY).filter(pl.col("check") == "reps: columns match the contract")["success"].any()
    assert any(o.staged and o.staged.exists() for o in outcomes)  # pose outputs kept for a re-run


def test_data_docs_open_offline(run):
    from playwright.sync_api import sync_playwright

    wh = run[0]
    index = wh.root / "data_docs" / "index.html"
    pages = [index, *sorted((wh.root / "data_docs" / "validations").rglob("*.html"))[:2]]
    assert index.is_file() and len(pages) == 3
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        remote, errors = [], []
        page.route("http*://**", lambda route: (remote.append(route.request.url), route.abort()))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(index.as_uri())
        text = page.inner_text("body")
        for name in schemas.VALIDATED:  # the run's result page of every table is listed, and succeeded
            assert f"{run[1].run_id}\t{name}\tok" in text, name
        for path in pages[1:]:
            page.goto(path.as_uri())
            assert "Status: Succeeded" in page.inner_text("body")
        browser.close()
    assert remote == [] and errors == []
