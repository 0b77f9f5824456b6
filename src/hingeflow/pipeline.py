"""The ingest stages as plain functions: plan, probe, pose, commit.

Flows in `flows/` wrap each in a Prefect task; nothing here knows Prefect.
Every stage takes and returns small records (paths, ids, numbers), never frames.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import polars as pl

from hingeflow import quality_gate, schemas
from hingeflow.analytics import stage
from hingeflow.inbox import Candidate
from hingeflow.isolation import IsolatedError, run_isolated
from hingeflow.pose import POSE_MODEL, POSE_MODEL_VERSION, PoseOptions, PoseSummary, extract_pose
from hingeflow.probe import ProbeResult, probe_video
from hingeflow.settings import Settings
from hingeflow.planning import RunPlan, plan  # noqa: F401  (plan is a stage of this module's flow)
from hingeflow.warehouse import Warehouse



@dataclass(frozen=True)
class ProbeOutcome:
    candidate: Candidate
    probe: ProbeResult | None
    reason: str | None = None


@dataclass(frozen=True)
class PoseOutcome:
    candidate: Candidate
    probe: ProbeResult | None
    summary: PoseSummary | None
    staged: Path | None
    reason: str | None = None
    stage: str = "pose"


@dataclass
class RunSummary:
    run_id: str
    videos_new: int = 0
    videos_ok: int = 0
    videos_quarantined: int = 0
    videos_skipped: int = 0
    rows_rejected: int = 0
    frames: int = 0
    reps: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def pose_options(settings: Settings) -> PoseOptions:
    return PoseOptions(settings.analysis_fps, settings.max_side_px, settings.model_complexity, True)


def staging_key(video_id: str, options: PoseOptions) -> str:
    """Cache key of a video's pose output: content hash + every option that changes it."""
    opts = json.dumps({**asdict(options), "model": POSE_MODEL_VERSION}, sort_keys=True)
    return f"{video_id}-{hashlib.sha256(opts.encode()).hexdigest()[:12]}"


def probe(candidate: Candidate, settings: Settings) -> ProbeOutcome:
    """Probe one video in a child process with a time limit."""
    try:
        result = run_isolated(probe_video, (str(candidate.path),), settings.probe_timeout_s, settings.worker_memory_mb)
    except IsolatedError as exc:
        reason = str(exc).replace(str(candidate.path), candidate.row.video)
        return ProbeOutcome(candidate, None, f"cannot read video: {reason}")
    return ProbeOutcome(candidate, result)


def pose(outcome: ProbeOutcome, warehouse: Warehouse, settings: Settings) -> PoseOutcome:
    """Run pose for one probed video in a child process; reuse a staged result if present."""
    c, pr = outcome.candidate, outcome.probe
    if pr is None:
        return PoseOutcome(c, None, None, None, outcome.reason, stage="probe")
    options = pose_options(settings)
    staged = warehouse.staged_frames(staging_key(c.video_id, options))
    if staged.exists():  # left by an earlier run that did not commit: same bytes, same options
        summary = _summary_from_staged(staged)
    else:
        args = (str(c.path), str(staged), c.video_id, pr.width, pr.height, options)
        try:
            summary = run_isolated(extract_pose, args, settings.pose_timeout_s, settings.worker_memory_mb)
        except IsolatedError as exc:
            return PoseOutcome(c, pr, None, None, f"pose failed: {exc}")
    if summary.detection_rate < settings.min_detection_rate:
        staged.unlink(missing_ok=True)
        reason = (f"no person detected: {summary.frames_with_person} of {summary.frames_analysed} "
                  f"analysed frames ({summary.detection_rate:.0%}) show a person")
        return PoseOutcome(c, pr, summary, None, reason)
    return PoseOutcome(c, pr, summary, staged)


def _summary_from_staged(path: Path) -> PoseSummary:
    df = pl.read_parquet(path, columns=["frame_idx", "person"])
    return PoseSummary(df.height, int(df["person"].sum()), int(df["frame_idx"].max() or -1), 0.0)


def video_row(o: PoseOutcome, settings: Settings, now: dt.datetime) -> dict:
    """One `videos` row from a pose outcome."""
    c, pr, s = o.candidate, o.probe, o.summary
    row = c.row
    return {
        "video_id": c.video_id, "upload": c.upload, "manifest_row": c.manifest_row, "video": row.video,
        "athlete_id": row.athlete_id, "recorded_on": row.recorded_on, "week": row.week,
        "exercise": row.exercise, "load_kg": row.load_kg, "set_index": row.set_index,
        "camera_view": row.camera_view, "bodyweight_kg": row.bodyweight_kg, "gym_id": row.gym_id,
        "notes": row.notes, "size_bytes": c.size_bytes,
        "duration_s": pr.duration_s if pr else None, "fps": pr.fps if pr else None,
        "frame_count": pr.frame_count if pr else None, "vfr": pr.vfr if pr else None,
        "width": pr.width if pr else None, "height": pr.height if pr else None,
        "rotation_deg": pr.rotation_deg if pr else None, "codec": pr.codec if pr else None,
        "status": "ok" if o.reason is None else "quarantined", "reason": o.reason,
        "pose_model": POSE_MODEL[settings.model_complexity] if s else None,
        "pose_model_version": POSE_MODEL_VERSION if s else None,
        "analysis_fps": settings.analysis_fps if s else None,
        "frames_analysed": s.frames_analysed if s else None,
        "detection_rate": s.detection_rate if s else None,
        "pose_seconds": s.seconds if s else None,
        **dict.fromkeys(quality_gate.GATE_COLUMNS),  # filled in from the frames by the commit stage
        "processed_at": now,
    }


def quarantine_rows(plan_: RunPlan, outcomes: list[PoseOutcome], now: dt.datetime) -> list[dict]:
    rows = [
        {"upload": r.upload, "manifest_row": r.rejection.manifest_row, "video": r.rejection.video,
         "video_id": r.video_id, "stage": "manifest" if r.video_id is None else "file",
         "reason": r.rejection.reason, "detected_at": now}
        for r in plan_.rejections
    ]
    rows += [
        {"upload": o.candidate.upload, "manifest_row": o.candidate.manifest_row, "video": o.candidate.row.video,
         "video_id": o.candidate.video_id, "stage": o.stage, "reason": o.reason, "detected_at": now}
        for o in outcomes if o.reason is not None
    ]
    return rows


def _ok(outcomes: list[PoseOutcome]) -> list[PoseOutcome]:
    return [o for o in outcomes if o.reason is None and o.staged is not None]


def _staged_frames(ok: list[PoseOutcome]) -> pl.DataFrame:
    return pl.concat([pl.read_parquet(o.staged) for o in ok], how="vertical")


def _with_gate(rows: list[dict], gate: pl.DataFrame) -> list[dict]:
    """`videos` rows with the gate's verdict and measures where the gate judged the video."""
    by_id = {g.pop("video_id"): g for g in gate.iter_rows(named=True)}
    return [{**row, **by_id.get(row["video_id"], {})} for row in rows]


def analyse(outcomes: list[PoseOutcome], warehouse: Warehouse, settings: Settings) -> pl.DataFrame:
    """Reps (metrics, faults, scores) of this run's new videos; baselines include stored reps.

    Reps of videos the quality gate flags get their confidence capped and the gate's reasons.
    """
    ok = _ok(outcomes)
    if not ok:
        return pl.from_arrow(schemas.REPS.schema.empty_table())
    now = dt.datetime.now(dt.UTC)
    videos = pl.DataFrame([video_row(o, settings, now) for o in ok], infer_schema_length=None)
    frames = _staged_frames(ok)
    reps = stage.analyse(frames, videos, warehouse.read(schemas.REPS))
    return quality_gate.apply_to_reps(reps, quality_gate.gate_table(frames, videos))


def commit(plan_: RunPlan, outcomes: list[PoseOutcome], reps: pl.DataFrame, warehouse: Warehouse,
           settings: Settings, seconds: dict[str, float] | None = None) -> RunSummary:
    """Write a run's tables (frames, videos, quarantine, reps, sets, breakdown), then its commit marker."""
    now = dt.datetime.now(dt.UTC)
    run_id = plan_.run_id
    ok = _ok(outcomes)
    week_of = {o.candidate.video_id: o.candidate.row.week for o in ok}
    frames = 0
    videos = [video_row(o, settings, now) for o in outcomes]
    gate = pl.DataFrame()
    if ok:
        staged = _staged_frames(ok)
        gate = quality_gate.gate_table(staged, pl.DataFrame(videos, infer_schema_length=None))
        staged = staged.with_columns(pl.col("video_id").replace_strict(week_of).alias("week"))
        staged = staged.sort("video_id", "frame_idx")
        frames = staged.height
        warehouse.write_part(schemas.FRAMES, schemas.to_arrow(schemas.FRAMES, staged), run_id)
    warehouse.write_part(schemas.VIDEOS, schemas.to_arrow(schemas.VIDEOS, _with_gate(videos, gate)), run_id)
    warehouse.write_part(schemas.QUARANTINE, schemas.to_arrow(schemas.QUARANTINE, quarantine_rows(plan_, outcomes, now)), run_id)
    if reps.height:
        warehouse.write_part(schemas.REPS, schemas.to_arrow(schemas.REPS, reps), run_id)
        all_reps = pl.concat([warehouse.read(schemas.REPS), reps.select(schemas.REPS.names)], how="vertical_relaxed")
        summaries = zip((schemas.SETS, schemas.BREAKDOWN, schemas.WEEK_OVER_WEEK), stage.summarise(all_reps))
        for table, df in summaries:
            warehouse.write_part(table, schemas.to_arrow(table, df), run_id)
    summary = RunSummary(
        run_id=run_id, videos_new=len(outcomes), videos_ok=len(ok),
        videos_quarantined=len(outcomes) - len(ok), videos_skipped=plan_.skipped,
        rows_rejected=len(plan_.rejections), frames=frames, reps=reps.height, seconds=dict(seconds or {}),
    )
    warehouse.commit(run_id, asdict(summary))
    for table in (schemas.SETS, schemas.BREAKDOWN, schemas.WEEK_OVER_WEEK):
        warehouse.drop_old_snapshots(table)
    for o in ok:
        o.staged.unlink(missing_ok=True)
    return summary
