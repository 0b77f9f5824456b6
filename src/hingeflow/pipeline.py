"""The ingest stages as plain functions: plan, probe, pose, commit.

Flows in `flows/` wrap each in a Prefect task; nothing here knows Prefect.
Every stage takes and returns small records (paths, ids, numbers), never frames.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import importlib
import json
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import polars as pl

from hingeflow import quality_gate, schemas, validation
from hingeflow.analytics import stage
from hingeflow.inbox import Candidate
from hingeflow.isolation import IsolatedError, run_isolated
from hingeflow.parquet_io import write_parquet_atomic
from hingeflow.pose import POSE_MODEL, POSE_MODEL_VERSION, PoseOptions, PoseSummary, extract_pose
from hingeflow.probe import ProbeResult, probe_video
from hingeflow.report import keyframes
from hingeflow.report.faces import FaceCheck
from hingeflow.settings import Settings
from hingeflow.planning import RunPlan, localise, plan, push  # noqa: F401  (stages of this module's flow)
from hingeflow.pose_staging import PoseStaging
from hingeflow.video_source import SourceChanged, video_file
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
    key: str | None  # staging key of the pose output (None when the video was quarantined)
    staged: Path | None  # that output on the flow's machine (set by `collect` for a remote staging)
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


POSE_CODE = ("pose.py", "decode.py", "backline.py", "angles.py", "landmarks.py", "schemas.py")  # make `frames`


@functools.cache
def pose_code_version() -> str:
    """Hash of the modules that turn a video into `frames` rows: staged pose made by other code is not reused."""
    digest = hashlib.sha256()
    for name in POSE_CODE:
        digest.update((Path(__file__).parent / name).read_bytes())
    return digest.hexdigest()[:12]


def staging_key(video_id: str, options: PoseOptions, code: str | None = None) -> str:
    """Cache key of a video's pose output: its content hash (`video_id`), every option that changes
    the output, the model version and the pose code's version (`pose_code_version`).

    The staged file under this key is the cache: unchanged videos are decoded once, whichever
    run, process or machine (sharing the warehouse) asks again before the run commits.
    """
    opts = json.dumps({**asdict(options), "model": POSE_MODEL_VERSION, "code": code or pose_code_version()},
                      sort_keys=True)
    return f"{video_id}-{hashlib.sha256(opts.encode()).hexdigest()[:12]}"


def probe(candidate: Candidate, settings: Settings) -> ProbeOutcome:
    """Probe one video in a child process with a time limit."""
    try:
        with video_file(candidate) as path:
            result = run_isolated(probe_video, (str(path),), settings.probe_timeout_s, settings.worker_memory_mb)
    except IsolatedError as exc:
        reason = str(exc).replace(str(path), candidate.row.video)
        return ProbeOutcome(candidate, None, f"cannot read video: {reason}")
    except SourceChanged as exc:
        return ProbeOutcome(candidate, None, str(exc))
    if result.duration_s < settings.min_duration_s:
        return ProbeOutcome(candidate, result, f"too short to hold a rep: {result.frame_count} frame(s), "
                                             f"{result.duration_s:.2f} s (minimum {settings.min_duration_s:g} s)")
    return ProbeOutcome(candidate, result)


def pose(outcome: ProbeOutcome, staging: PoseStaging, settings: Settings) -> PoseOutcome:
    """Run pose for one probed video in a child process, its output staged in `staging`;
    reuse a staged result if present."""
    c, pr = outcome.candidate, outcome.probe
    if pr is None or outcome.reason:
        return PoseOutcome(c, pr, None, None, None, outcome.reason, stage="probe")
    options = pose_options(settings)
    key = staging_key(c.video_id, options)
    if staging.exists(key):  # left by an earlier run that did not commit: same bytes, same options
        summary = _summary_from_staged(staging.read(key, ["frame_idx", "person"]))
    else:
        try:
            with video_file(c) as path, staging.writing(key) as out:
                args = (str(path), str(out), c.video_id, pr.width, pr.height, options)
                summary = run_isolated(extract_pose, args, settings.pose_timeout_s, settings.worker_memory_mb)
        except IsolatedError as exc:
            return PoseOutcome(c, pr, None, None, None, f"pose failed: {_pose_failure(exc, pr, settings)}")
        except SourceChanged as exc:
            return PoseOutcome(c, pr, None, None, None, str(exc))
    if summary.detection_rate < settings.min_detection_rate:
        staging.drop(key)
        reason = (f"no person detected: {summary.frames_with_person} of {summary.frames_analysed} "
                  f"analysed frames ({summary.detection_rate:.0%}) show a person")
        return PoseOutcome(c, pr, summary, None, None, reason)
    return PoseOutcome(c, pr, summary, key, None if staging.remote else staging.local_file(key))


def collect(outcomes: list[PoseOutcome], staging: PoseStaging) -> list[PoseOutcome]:
    """The pose outcomes with each staged output on the flow's machine (fetched from a remote
    staging; a local one is there already)."""
    return [replace(o, staged=staging.fetch(o.key)) if o.key and o.staged is None else o for o in outcomes]


def _pose_failure(exc: IsolatedError, pr: ProbeResult, settings: Settings) -> str:
    """Why pose failed, in words a gym's staff can act on."""
    if exc.timed_out:
        return (f"did not finish within the {settings.pose_timeout_s:g} s limit (HINGEFLOW_POSE_TIMEOUT_S) "
                f"on this {pr.duration_s:.0f} s video; raise the limit or split the video")
    return str(exc)


def _summary_from_staged(df: pl.DataFrame) -> PoseSummary:
    """A pose summary from a staged file's `frame_idx` and `person` columns (its time unknown: 0 s)."""
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
    """The outcomes of posed videos; their output must be on this machine (`collect`)."""
    ok = [o for o in outcomes if o.reason is None]
    if any(o.staged is None for o in ok):
        raise ValueError("pose output not collected onto the flow's machine: call `collect` first")
    return ok


def _staged_frames(ok: list[PoseOutcome]) -> pl.DataFrame:
    return pl.concat([pl.read_parquet(o.staged) for o in ok], how="vertical")


def _with_gate(rows: list[dict], gate: pl.DataFrame) -> list[dict]:
    """`videos` rows with the gate's verdict and measures where the gate judged the video."""
    by_id = {g.pop("video_id"): g for g in gate.iter_rows(named=True)}
    return [{**row, **by_id.get(row["video_id"], {})} for row in rows]


def ingest_tables(plan_: RunPlan, outcomes: list[PoseOutcome], settings: Settings,
                  now: dt.datetime) -> dict[str, pl.DataFrame]:
    """The run's new rows of videos (with the quality gate's verdicts), frames and quarantine."""
    ok = _ok(outcomes)
    week_of = {o.candidate.video_id: o.candidate.row.week for o in ok}
    frames = pl.from_arrow(schemas.FRAMES.schema.empty_table())
    rows = [video_row(o, settings, now) for o in outcomes]
    if ok:
        frames = _staged_frames(ok)
        rows = _with_gate(rows, quality_gate.gate_table(frames, pl.DataFrame(rows, infer_schema_length=None)))
        frames = frames.with_columns(pl.col("video_id").replace_strict(week_of).alias("week"))
    videos = pl.from_arrow(schemas.to_arrow(schemas.VIDEOS, rows))
    quarantine = pl.from_arrow(schemas.to_arrow(schemas.QUARANTINE, quarantine_rows(plan_, outcomes, now)))
    return {"videos": videos, "frames": frames, "quarantine": quarantine}


def preload_validation() -> threading.Thread:
    """Import Great Expectations (~5 s) in a background thread while pose runs in child processes."""
    loader = threading.Thread(target=importlib.import_module, args=("hingeflow.gx_project",), daemon=True)
    loader.start()
    return loader


@dataclass(frozen=True)
class Staged:
    """What one validation step staged for the run: rows kept per table, and its checks' results."""

    rows: dict[str, int]
    quality: pl.DataFrame  # `quality` rows (empty when validation is off)
    quarantined: pl.DataFrame  # `quarantined_rows` rows
    broken: list[str]  # failures of unusable tables: table, check, missing/extra columns
    seconds: float  # spent validating

    @property
    def usable(self) -> bool:
        return not self.broken


def _validate_and_stage(tables: dict[str, pl.DataFrame], warehouse: Warehouse, settings: Settings,
                        run_id: str, known_videos: set[str]) -> Staged:
    """Check `tables` in order against their contracts and stage the rows that meet them.

    `known_videos`: ids a `video_id` may reference; grows by the kept `videos` rows. Nothing
    is staged once a table is unusable (the run will commit only its validation results).
    """
    start, now = time.perf_counter(), dt.datetime.now(dt.UTC)
    checked: list[validation.Checked] = []
    context = None
    if settings.validate_tables:
        from hingeflow.gx_project import open_for_warehouse  # GX loads in seconds: only when validating

        context = open_for_warehouse(warehouse.root)
    validating = time.perf_counter() - start  # GX time only; the writes happen either way
    rows = {}
    for name, df in tables.items():
        table = schemas.TABLES[name]
        if context is not None:
            params = validation.parameters(settings, sorted(known_videos))
            start = time.perf_counter()
            checked.append(validation.check(context, table, df, params, run_id, now))
            validating += time.perf_counter() - start
            if checked[-1].unusable:
                break
            df = checked[-1].kept
        if name == "videos":
            known_videos |= set(df["video_id"].to_list())
        warehouse.write_part(table, schemas.to_arrow(table, df), run_id)
        rows[name] = df.height
    return Staged(
        rows=rows,
        quality=pl.concat([validation.quality_rows(schemas.QUALITY, [], run_id, now),
                           *(c.quality for c in checked)]),
        quarantined=pl.concat([pl.from_arrow(schemas.QUARANTINED_ROWS.schema.empty_table()),
                               *(c.quarantined for c in checked)]),
        broken=[line for c in checked if c.unusable for line in c.failures()],
        seconds=validating if context is not None else 0.0,
    )


def check_ingest_tables(plan_: RunPlan, outcomes: list[PoseOutcome], warehouse: Warehouse,
                        settings: Settings) -> Staged:
    """Validate and stage the pose stage's tables: videos, frames, quarantine."""
    tables = ingest_tables(plan_, outcomes, settings, dt.datetime.now(dt.UTC))
    known = set(warehouse.read(schemas.VIDEOS, ["video_id"])["video_id"].to_list())
    return _validate_and_stage(tables, warehouse, settings, plan_.run_id, known)


def analyse(plan_: RunPlan, warehouse: Warehouse) -> pl.DataFrame:
    """Reps (metrics, faults, scores) of this run's new videos, from the rows its ingest
    tables staged (those that met the contracts); baselines include stored reps.

    Reps of videos the quality gate flagged get their confidence capped and the gate's reasons.
    """
    videos = warehouse.read_staged(schemas.VIDEOS, plan_.run_id)
    frames = warehouse.read_staged(schemas.FRAMES, plan_.run_id)
    if not frames.height:
        return pl.from_arrow(schemas.REPS.schema.empty_table())
    reps = stage.analyse(frames, videos, warehouse.read(schemas.REPS))
    return quality_gate.apply_to_reps(reps, videos)


def check_rep_tables(plan_: RunPlan, reps: pl.DataFrame, warehouse: Warehouse, settings: Settings) -> Staged:
    """Validate and stage the run's reps, then sets / breakdown / week_over_week over all kept reps."""
    run_id = plan_.run_id
    known = set(warehouse.read(schemas.VIDEOS, ["video_id"])["video_id"].to_list())
    known |= set(warehouse.read_staged(schemas.VIDEOS, run_id)["video_id"].to_list())
    staged = _validate_and_stage({"reps": reps}, warehouse, settings, run_id, known)
    if not staged.usable or not staged.rows["reps"]:
        return staged
    kept = warehouse.read_staged(schemas.REPS, run_id)
    all_reps = pl.concat([warehouse.read(schemas.REPS), kept], how="vertical_relaxed")
    summaries = dict(zip(("sets", "breakdown", "week_over_week"), stage.summarise(all_reps)))
    derived = _validate_and_stage(summaries, warehouse, settings, run_id, known)
    return Staged(rows={**staged.rows, **derived.rows}, quality=pl.concat([staged.quality, derived.quality]),
                  quarantined=pl.concat([staged.quarantined, derived.quarantined]),
                  broken=staged.broken + derived.broken, seconds=staged.seconds + derived.seconds)


def _unchecked_reps(warehouse: Warehouse, run_id: str) -> Path:
    """Where `analyse_run` leaves a run's reps for `check_run_reps` (never published: not a part file)."""
    return warehouse.run_staging_dir / run_id / "_unchecked" / "reps.parquet"


def analyse_run(plan_: RunPlan, warehouse: Warehouse) -> int:
    """`analyse` as a task that passes a path, not a table: the reps go to the run's staging
    folder, unchecked, for `check_run_reps`. Returns how many reps."""
    reps = analyse(plan_, warehouse)
    write_parquet_atomic(reps.to_arrow(), _unchecked_reps(warehouse, plan_.run_id))
    return reps.height


def check_run_reps(plan_: RunPlan, warehouse: Warehouse, settings: Settings) -> Staged:
    """`check_rep_tables` on the reps `analyse_run` left for this run."""
    return check_rep_tables(plan_, pl.read_parquet(_unchecked_reps(warehouse, plan_.run_id)), warehouse, settings)


def _grab_all(jobs: list[tuple[str, list[int]]]) -> list[dict]:
    """Child-process body: the wanted frames of each video (see `keyframes.grab_frames`)."""
    return [keyframes.grab_frames(path, idxs) for path, idxs in jobs]


def stage_keyframes(plan_: RunPlan, outcomes: list[PoseOutcome], warehouse: Warehouse, settings: Settings) -> int:
    """Stage the run's report keyframes (:func:`keyframe_rows` on the run's staged tables).
    Keyframes are optional: a failed decode leaves them out. Returns how many images were staged."""
    reps = warehouse.read_staged(schemas.REPS, plan_.run_id)
    if not reps.height:
        return 0
    sources = {o.candidate.video_id: (str(o.candidate.path), max(o.probe.width, o.probe.height))
               for o in _ok(outcomes)}
    rows = keyframe_rows(reps, warehouse.read_staged(schemas.FRAMES, plan_.run_id, keyframes.FRAME_COLUMNS),
                         warehouse.read_staged(schemas.VIDEOS, plan_.run_id), sources, settings)
    if rows is None:
        return 0
    warehouse.write_part(schemas.KEYFRAMES, schemas.to_arrow(schemas.KEYFRAMES, rows), plan_.run_id)
    return sum(r["image_webp"] is not None for r in rows)


def keyframe_rows(reps: pl.DataFrame, frames: pl.DataFrame, videos: pl.DataFrame,
                  sources: dict[str, tuple[str, int]], settings: Settings) -> list[dict] | None:
    """`keyframes` rows: for each video's best and worst rep, the plausible frame nearest its bottom,
    decoded in one child process (time limit: the probe's per video), head and any confirmed face
    covered, pose drawn, angles only where the quality gate lets them be measured; or, without such
    a frame, the reason. `sources`: video_id -> (file, long side of the upright frame in px) for the
    videos to draw. None when the decode failed."""
    wanted = keyframes.bottom_frames(keyframes.pick_reps(reps), frames)
    measurable = dict(videos.select("video_id", quality_gate.sagittal_measurable()).iter_rows())
    groups = [(video_id, g) for (video_id,), g in wanted.group_by("video_id", maintain_order=True)
              if video_id in sources]
    jobs = [(sources[v][0], g["frame_idx"].drop_nulls().to_list()) for v, g in groups]
    try:
        grabbed = run_isolated(_grab_all, (jobs,), settings.probe_timeout_s * max(1, len(jobs)),
                               settings.worker_memory_mb)
    except IsolatedError:
        return None
    rows = []
    with FaceCheck() as check:
        for (video_id, g), images in zip(groups, grabbed):
            rows += _keyframe_rows(video_id, g, images, sources[video_id][1], check, measurable.get(video_id, False))
    return rows


def _keyframe_rows(video_id: str, wanted: pl.DataFrame, images: dict, long_side: int, check: FaceCheck,
                   measurable: bool) -> list[dict]:
    """`keyframes` rows of one video from its decoded frames: an image, or the reason there is none."""
    rows = []
    for row in wanted.iter_rows(named=True):
        made = row["reason"]
        if made is None:
            rgb = images.get(row["frame_idx"])
            made = (keyframes.render_keyframe(rgb, row, long_side, check, measurable)
                    if rgb is not None else "frame could not be decoded")
        webp, width, height = made if isinstance(made, tuple) else (None, None, None)
        rows.append({"video_id": video_id, "week": row["week"], "rep_index": row["rep_index"],
                     "which": row["which"], "frame_idx": row["frame_idx"], "t_s": row["t_s"],
                     "width": width, "height": height, "image_webp": webp,
                     "reason": made if isinstance(made, str) else None})
    return rows


def commit(plan_: RunPlan, outcomes: list[PoseOutcome], steps: list[Staged], warehouse: Warehouse,
           settings: Settings, seconds: dict[str, float] | None = None) -> RunSummary:
    """Write the validation results, then the commit marker that makes the run's staged rows visible.

    Rows that failed a check are in `quarantined_rows`, every check in `quality`, and the
    data docs are rebuilt. When a table was unusable only the validation results are
    committed (pose outputs stay for a re-run) and `ContractBroken` is raised.
    """
    run_id = plan_.run_id
    broken = [line for s in steps for line in s.broken]
    if broken:
        warehouse.unstage(run_id, [t for t in schemas.TABLES.values() if t.name not in ("quality", "quarantined_rows")])
    if settings.validate_tables:  # one file per table and run
        warehouse.write_part(schemas.QUALITY, schemas.to_arrow(
            schemas.QUALITY, pl.concat([s.quality for s in steps])), run_id)
        warehouse.write_part(schemas.QUARANTINED_ROWS, schemas.to_arrow(
            schemas.QUARANTINED_ROWS, pl.concat([s.quarantined for s in steps])), run_id)
    rows = {name: n for s in steps for name, n in s.rows.items()}
    ok = _ok(outcomes)
    seconds = dict(seconds or {})
    if settings.validate_tables:
        seconds["validate"] = sum(s.seconds for s in steps)
    summary = RunSummary(
        run_id=run_id, videos_new=len(outcomes), videos_ok=len(ok),
        videos_quarantined=len(outcomes) - len(ok), videos_skipped=plan_.skipped,
        rows_rejected=len(plan_.rejections), frames=rows.get("frames", 0), reps=rows.get("reps", 0),
        rows_quarantined=sum(s.quarantined.height for s in steps),
        checks_failed=sum(int((~s.quality["success"]).sum()) for s in steps),
        seconds=seconds,
    )
    snapshots = () if broken else tuple(schemas.TABLES[n] for n in ("sets", "breakdown", "week_over_week")
                                        if n in rows)
    warehouse.commit(run_id, asdict(summary), replaces=snapshots)
    if settings.validate_tables:
        from hingeflow.gx_project import open_for_warehouse

        open_for_warehouse(warehouse.root).build_docs()
    if broken:
        raise validation.ContractBroken("unusable table(s), nothing but validation results committed: "
                                        + "; ".join(broken))
    for o in ok:
        o.staged.unlink(missing_ok=True)
    return summary
