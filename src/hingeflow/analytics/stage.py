"""The analytics stage: frames -> reps -> sets -> breakdown (pure: data frames in and out).

Faults that compare with the athlete's own light-load pattern (rounding, drift)
need every rep of that athlete and exercise, so reps are measured first, then
baselines are taken over all known reps, then faults and scores are judged.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from hingeflow.analytics.breakdown import baseline_table, breakdown, sets_table, week_over_week
from hingeflow.analytics.faults import confidence, judge_reps
from hingeflow.analytics.metrics import METRIC_COLUMNS, rep_metrics
from hingeflow.analytics.profiles import Profile, load_profiles
from hingeflow.analytics.reps import segment_reps
from hingeflow.analytics.signals import SIGNAL_COLUMNS, SignalInputs, signal_inputs, signals_batch
from hingeflow.analytics.types import Signals

BATCH_VIDEOS = 64  # videos whose signals are computed together (shared steps run once per batch)
IDENTITY = ("athlete_id", "video_id", "recorded_on", "week", "exercise", "load_kg", "set_index", "camera_view")


def _grouped_in_frame_order(frames: pl.DataFrame) -> bool:
    """True when each video's rows are one contiguous run in strictly increasing frame_idx order
    (how tables usually arrive): then no sort is needed to read each video in frame order."""
    vid = pl.col("video_id")
    runs_, videos, ordered = frames.select(
        (vid.rle_id().max() + 1).alias("runs"), vid.n_unique().alias("videos"),
        ((pl.col("frame_idx").diff() > 0) | (vid != vid.shift())).all().alias("ordered"),
    ).row(0)
    return runs_ == videos and bool(ordered)


def measure_signals(sig: Signals, video: dict) -> list[dict]:
    """Reps of one video with their metrics (no faults yet), from its signals."""
    view = video["camera_view"] or "side"
    rows = []
    for i, rep in enumerate(segment_reps(sig, video["exercise"], view), start=1):
        m = rep_metrics(sig, rep, view)
        reasons = m.pop("null_reasons", {})
        rows.append({
            **{k: video[k] for k in IDENTITY},
            "rep_index": i,
            "t_start_s": float(sig.t_s[rep.start]),
            "t_bottom_s": float(sig.t_s[rep.bottom]),
            "t_end_s": float(sig.t_s[rep.end]),
            **{k: m.get(k) for k in METRIC_COLUMNS},
            "confidence": confidence(sig, rep, view),
            "null_reasons": [f"{k}: {v}" for k, v in sorted(reasons.items())],
        })
    return rows


def video_inputs(frames: pl.DataFrame, video_ids: list[str]) -> dict[str, SignalInputs]:
    """video_id -> its frames' signal inputs (rows sorted by frame_idx), for the videos in `video_ids`.

    One select/rechunk/filter (a sort only when the rows are not already grouped by video
    in frame order) and one numpy conversion for all videos; each video's inputs
    are row slices (views) of the shared arrays. Videos without frames are absent.
    """
    if frames.height == 0 or not video_ids:
        return {}
    cols = ["video_id", "frame_idx", *(c for c in SIGNAL_COLUMNS if c in frames.columns)]
    # one chunk of just these columns first (the pipeline's frames arrive as one chunk per
    # video: filtering and converting many chunks costs ~3x more)
    sel = frames.lazy().select(cols).collect().rechunk().filter(pl.col("video_id").is_in(video_ids))
    if sel.height == 0:
        return {}
    if not _grouped_in_frame_order(sel):
        sel = sel.sort(["video_id", "frame_idx"], maintain_order=True)
    inp = signal_inputs(sel)
    bounds = sel.select(pl.col("video_id").rle()).unnest("video_id")  # runs: len, value
    ends = np.cumsum(bounds["len"].to_numpy())
    starts = ends - bounds["len"].to_numpy()
    return {v: inp.rows(int(a), int(b)) for v, a, b in zip(bounds["value"].to_list(), starts, ends)}


def judge(reps: pl.DataFrame, history: pl.DataFrame, profiles: dict[str, Profile]) -> pl.DataFrame:
    """Add faults and form_score to measured reps; baselines come from `history` + `reps`."""
    pool = pl.concat([history.select(reps.columns), reps], how="vertical_relaxed") if history.height else reps
    return judge_reps(reps, profiles, baseline_table(pool))


def analyse(frames: pl.DataFrame, videos: pl.DataFrame, history: pl.DataFrame,
            profiles: dict[str, Profile] | None = None) -> pl.DataFrame:
    """Reps of `videos` (ok status) from their `frames`; `history`: reps already stored."""
    profiles = profiles or load_profiles()
    ok = videos.filter(pl.col("status") == "ok")
    by_video = video_inputs(frames, ok["video_id"].to_list())
    todo = [v for v in ok.iter_rows(named=True) if v["video_id"] in by_video]
    rows: list[dict] = []
    for i in range(0, len(todo), BATCH_VIDEOS):
        chunk = todo[i:i + BATCH_VIDEOS]
        for video, sig in zip(chunk, signals_batch([by_video[v["video_id"]] for v in chunk])):
            rows += measure_signals(sig, video)
    measured = pl.DataFrame(rows, infer_schema_length=None) if rows else pl.DataFrame(
        schema={**{k: videos.schema[k] for k in IDENTITY}, "rep_index": pl.Int32, "t_start_s": pl.Float64,
                "t_bottom_s": pl.Float64, "t_end_s": pl.Float64, **{m: pl.Float64 for m in METRIC_COLUMNS},
                "confidence": pl.Float64, "null_reasons": pl.List(pl.String)})
    measured = measured.with_columns([pl.col(m).cast(pl.Float64) for m in METRIC_COLUMNS])
    return judge(measured, history, profiles)


def summarise(reps: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(sets, breakdown, week_over_week) over all reps."""
    sets = sets_table(reps)
    return sets, breakdown(sets), week_over_week(sets)
