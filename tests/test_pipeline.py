"""The stage functions without Prefect: quarantine reasons, crash recovery, idempotence."""

from __future__ import annotations

import datetime as dt

import pytest

from hingeflow import pipeline, schemas
from hingeflow.pose_staging import PoseStaging
from hingeflow.settings import Settings
from hingeflow.warehouse import Warehouse

HEADER = "video,athlete_id,recorded_on,exercise,load_kg,set_index\n"


@pytest.fixture(scope="module")
def inbox(tmp_path_factory):
    from hingeflow.synth.clip import ClipSpec, render_clip

    up = tmp_path_factory.mktemp("pipe") / "inbox" / "gym_2026-11-16"
    up.mkdir(parents=True)
    render_clip(up / "good.mp4", ClipSpec())
    (up / "noise.mp4").write_bytes(bytes(range(256)) * 64)
    (up / "manifest.csv").write_text(
        HEADER
        + "good.mp4,ath-1,2026-11-16,romanian_deadlift,60,1\n"
        + "noise.mp4,ath-1,2026-11-16,romanian_deadlift,70,2\n"
        + "gone.mp4,ath-1,2026-11-16,romanian_deadlift,80,3\n"
    )
    return up.parent


def run_stages(inbox, wh: Warehouse, settings: Settings, commit: bool = True):
    plan = pipeline.plan(inbox, wh, settings)
    outcomes = [pipeline.pose(pipeline.probe(c, settings), PoseStaging(wh.staging_dir), settings) for c in plan.new]
    if not commit:
        return plan, outcomes, None
    steps = [pipeline.check_ingest_tables(plan, outcomes, wh, settings)]
    steps.append(pipeline.check_rep_tables(plan, pipeline.analyse(plan, wh), wh, settings))
    pipeline.stage_keyframes(plan, outcomes, wh, settings)
    return plan, outcomes, pipeline.commit(plan, outcomes, steps, wh, settings)


def test_batch_completes_with_reasons(inbox, tmp_path):
    wh = Warehouse(tmp_path / "wh")
    _, _, summary = run_stages(inbox, wh, Settings())
    assert (summary.videos_ok, summary.videos_quarantined, summary.rows_rejected) == (1, 1, 1)
    videos = wh.read(schemas.VIDEOS).sort("manifest_row")
    assert videos["status"].to_list() == ["ok", "quarantined"]
    assert videos["reason"][1].startswith("cannot read video")
    q = wh.read(schemas.QUARANTINE).sort("manifest_row")
    assert q["stage"].to_list() == ["probe", "manifest"]
    assert "does not exist" in q["reason"][1]
    frames = wh.read(schemas.FRAMES)
    assert frames.height == videos["frames_analysed"][0] and frames["person"].mean() > 0.98


def test_crashed_run_is_recovered_without_decoding_again(inbox, tmp_path):
    wh = Warehouse(tmp_path / "wh")
    settings = Settings()
    plan, outcomes, _ = run_stages(inbox, wh, settings, commit=False)
    staged = [o.staged for o in outcomes if o.staged]
    assert len(staged) == 1 and staged[0].exists()
    # the run dies half-way through writing its tables
    rows = [pipeline.video_row(o, settings, dt.datetime.now(dt.UTC)) for o in outcomes]
    wh.write_part(schemas.VIDEOS, schemas.to_arrow(schemas.VIDEOS, rows), plan.run_id)
    assert wh.read(schemas.VIDEOS).height == 0  # invisible: never committed

    plan2, outcomes2, summary = run_stages(inbox, wh, settings)
    ok = [o for o in outcomes2 if o.reason is None]
    assert ok[0].summary.seconds == 0.0  # staged pose reused, no decode
    assert wh.read(schemas.VIDEOS).height == 2
    assert wh.read(schemas.FRAMES).height == ok[0].summary.frames_analysed
    assert not staged[0].exists()  # staging cleared after commit

    plan3, outcomes3, _ = run_stages(inbox, wh, settings)
    assert plan3.new == [] and plan3.rejections == [] and plan3.skipped == 2
    assert wh.read(schemas.VIDEOS).height == 2 and wh.read(schemas.QUARANTINE).height == 2


def test_changed_pose_options_change_the_cache_key():
    a = pipeline.staging_key("abc", pipeline.pose_options(Settings(analysis_fps=30)))
    b = pipeline.staging_key("abc", pipeline.pose_options(Settings(analysis_fps=15)))
    assert a != b and a.startswith("abc-")


def test_changed_pose_code_changes_the_cache_key():
    options = pipeline.pose_options(Settings())
    assert pipeline.staging_key("abc", options) == pipeline.staging_key("abc", options, pipeline.pose_code_version())
    assert pipeline.staging_key("abc", options) != pipeline.staging_key("abc", options, "0123456789ab")


def test_two_weeks_at_equal_load_give_a_week_over_week_comparison(tmp_path):
    from hingeflow.synth.clip import ClipSpec, render_clip

    inbox = tmp_path / "inbox"
    for day, facing in (("2026-11-16", 1), ("2026-11-23", -1)):
        up = inbox / f"gym_{day}"
        up.mkdir(parents=True)
        render_clip(up / "rdl.mp4", ClipSpec(facing=facing))
        (up / "manifest.csv").write_text(HEADER + f"rdl.mp4,ath-9,{day},romanian_deadlift,60,1\n")
    wh = Warehouse(tmp_path / "wh")
    run_stages(inbox, wh, Settings())
    wow = wh.read(schemas.WEEK_OVER_WEEK)
    assert wow.height > 0
    assert set(wow["week"]) == {"2026-W48"} and set(wow["prev_week"]) == {"2026-W47"}
    assert set(wow["verdict"]) <= {"better", "worse", "within noise"}
    assert (wow["load_kg"] == 60).all()
    # the same reps seen twice: snapshots are replaced, not appended
    run_stages(inbox, wh, Settings())
    assert wh.read(schemas.WEEK_OVER_WEEK).height == wow.height
