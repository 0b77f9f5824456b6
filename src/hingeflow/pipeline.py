"""The ingest stages as plain functions: plan, probe, pose, commit.

Flows in `flows/` wrap each in a Prefect task; nothing here knows Prefect.
Every stage takes and returns small records (paths, ids, numbers), never frames.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import json
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import polars as pl

from hingeflow import schemas, validation
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
    rows_quarantined: int = 0  # rows that broke their table's contract
    checks_failed: int = 0
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


def analyse(outcomes: list[PoseOutcome], warehouse: Warehouse, settings: Settings) -> pl.DataFrame:
    """Reps (metrics, faults, scores) of this run's new videos; baselines include stored reps."""
    ok = _ok(outcomes)
    if not ok:
        return pl.from_arrow(schemas.REPS.schema.empty_table())
    now = dt.datetime.now(dt.UTC)
    videos = pl.DataFrame([video_row(o, settings, now) for o in ok], infer_schema_length=None)
    return stage.analyse(_staged_frames(ok), videos, warehouse.read(schemas.REPS))


def run_tables(plan_: RunPlan, outcomes: list[PoseOutcome], reps: pl.DataFrame,
               settings: Settings, now: dt.datetime) -> dict[str, pl.DataFrame]:
    """The run's new rows of videos, frames, quarantine and reps, in contract columns."""
    ok = _ok(outcomes)
    week_of = {o.candidate.video_id: o.candidate.row.week for o in ok}
    frames = pl.from_arrow(schemas.FRAMES.schema.empty_table())
    if ok:
        frames = _staged_frames(ok).with_columns(pl.col("video_id").replace_strict(week_of).alias("week"))
    videos = pl.from_arrow(schemas.to_arrow(schemas.VIDEOS, [video_row(o, settings, now) for o in outcomes]))
    quarantine = pl.from_arrow(schemas.to_arrow(schemas.QUARANTINE, quarantine_rows(plan_, outcomes, now)))
    return {"videos": videos, "frames": frames, "quarantine": quarantine,
            "reps": reps}


def preload_validation() -> threading.Thread:
    """Import Great Expectations (~5 s) in a background thread while pose runs in child processes."""
    loader = threading.Thread(target=importlib.import_module, args=("hingeflow.gx_project",), daemon=True)
    loader.start()
    return loader


class _Validator:
    """Checks tables one after another, keeping what each check needs from the earlier ones."""

    def __init__(self, warehouse: Warehouse, settings: Settings, run_id: str, now: dt.datetime) -> None:
        from hingeflow.gx_project import open_for_warehouse  # GX loads in seconds: only when validating

        self.context = open_for_warehouse(warehouse.root)
        self.known_videos = set(warehouse.read(schemas.VIDEOS, ["video_id"])["video_id"].to_list())
        self.settings, self.run_id, self.now = settings, run_id, now
        self.checked: list[validation.Checked] = []

    def __call__(self, name: str, df: pl.DataFrame) -> pl.DataFrame:
        """The rows of `df` that meet table `name`'s contract."""
        params = validation.parameters(self.settings, list(self.known_videos))
        done = validation.check(self.context, schemas.TABLES[name], df, params, self.run_id, self.now)
        self.checked.append(done)
        if name == "videos":
            self.known_videos |= set(done.kept["video_id"].to_list())
        return done.kept


def commit(plan_: RunPlan, outcomes: list[PoseOutcome], reps: pl.DataFrame, warehouse: Warehouse,
           settings: Settings, seconds: dict[str, float] | None = None) -> RunSummary:
    """Validate the run's tables, write what meets the contracts, then the commit marker.

    Order: videos, frames, quarantine, reps, then sets / breakdown / week_over_week over
    all reps. Rows failing a check go to `quarantined_rows`, every check to `quality`,
    and the data docs are rebuilt. When a table is unusable only the validation results
    are committed (staged pose outputs stay for a re-run) and `ContractBroken` is raised.
    """
    now = dt.datetime.now(dt.UTC)
    run_id = plan_.run_id
    seconds = dict(seconds or {})
    tables = run_tables(plan_, outcomes, reps, settings, now)
    start = time.perf_counter()
    keep = _Validator(warehouse, settings, run_id, now) if settings.validate_tables else None
    for name in ("videos", "frames", "quarantine", "reps"):
        tables[name] = keep(name, tables[name]) if keep else tables[name]
    if tables["reps"].height:
        all_reps = pl.concat([warehouse.read(schemas.REPS), tables["reps"].select(schemas.REPS.names)],
                             how="vertical_relaxed")
        for name, df in zip(("sets", "breakdown", "week_over_week"), stage.summarise(all_reps)):
            tables[name] = keep(name, df) if keep else df
    checked = keep.checked if keep else []
    broken = [c for c in checked if c.unusable]
    if keep:
        seconds["validate"] = time.perf_counter() - start
    if checked:  # one file per table and run
        warehouse.write_part(schemas.QUALITY, schemas.to_arrow(
            schemas.QUALITY, pl.concat([c.quality for c in checked])), run_id)
        warehouse.write_part(schemas.QUARANTINED_ROWS, schemas.to_arrow(
            schemas.QUARANTINED_ROWS, pl.concat([c.quarantined for c in checked])), run_id)
    if not broken:
        for name, df in tables.items():
            table = schemas.TABLES[name]
            warehouse.write_part(table, schemas.to_arrow(table, df), run_id)
    ok = _ok(outcomes)
    summary = RunSummary(
        run_id=run_id, videos_new=len(outcomes), videos_ok=len(ok),
        videos_quarantined=len(outcomes) - len(ok), videos_skipped=plan_.skipped,
        rows_rejected=len(plan_.rejections), frames=tables["frames"].height, reps=tables["reps"].height,
        rows_quarantined=sum(c.quarantined.height for c in checked),
        checks_failed=sum(int((~c.quality["success"]).sum()) for c in checked),
        seconds=seconds,
    )
    snapshots = () if broken else tuple(schemas.TABLES[n] for n in ("sets", "breakdown", "week_over_week")
                                        if n in tables)
    warehouse.commit(run_id, asdict(summary), replaces=snapshots)
    if keep:
        keep.context.build_docs()
    if broken:
        lines = [line for c in broken for line in c.failures()]
        raise validation.ContractBroken("unusable table(s), nothing but validation results committed: "
                                        + "; ".join(lines))
    for o in ok:
        o.staged.unlink(missing_ok=True)
    return summary
