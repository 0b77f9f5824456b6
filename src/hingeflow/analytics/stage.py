"""The analytics stage: frames -> reps -> sets -> breakdown (pure: data frames in and out).

Faults that compare with the athlete's own light-load pattern (rounding, drift)
need every rep of that athlete and exercise, so reps are measured first, then
baselines are taken over all known reps, then faults and scores are judged.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import polars as pl

from hingeflow.analytics.breakdown import baseline_table, breakdown, sets_table, week_over_week
from hingeflow.analytics.evidence import light_spread_table
from hingeflow.analytics.faults import judge_reps
from hingeflow.analytics.metrics import KEEP_NAN, METRIC_COLUMNS, NullReasons, measure_reps
from hingeflow.analytics.profiles import Profile, load_profiles
from hingeflow.analytics.reps import segment_batch
from hingeflow.analytics.signals import SIGNAL_COLUMNS, SignalInputs, signal_inputs, signals_chunk
from hingeflow.analytics.types import SignalsBatch
from hingeflow.analytics.windows import rank_in_group, unique_rows

BATCH_FRAMES = 100_000  # about this many frames' signals are computed together (shared steps run once per
# batch); a batch's inputs, signals and reps need about 1.2-1.4 KB per frame (measured: 135 MB for 101k frames)
MIN_BATCH_FRAMES = 5_000  # a thread gets at least this many frames (fewer are not worth the hand-over)
THREADS = min(4, os.cpu_count() or 1)  # batches measured side by side: 1.2-1.6x on 2 cores at 1000 videos
# (the compiled kernels release the GIL; segmentation and metrics hold it); bench/bench_analytics.py
IDENTITY = ("athlete_id", "video_id", "recorded_on", "week", "exercise", "load_kg", "set_index", "camera_view")


def _video_runs(frames: pl.DataFrame) -> tuple[list[str], np.ndarray]:
    """(video_id, end row) of each run of equal consecutive video_id values."""
    runs = frames.select(pl.col("video_id").rle()).unnest("video_id")  # columns: len, value
    return runs["value"].to_list(), np.cumsum(runs["len"].to_numpy(), dtype=np.int64)


def _grouped_in_frame_order(frames: pl.DataFrame, ids: list[str], ends: np.ndarray) -> bool:
    """True when each video's rows are one run (`ids`, `ends`: the runs) in strictly increasing
    frame_idx order (how tables usually arrive): then no sort is needed to read each video in
    frame order."""
    if len(set(ids)) != len(ids):
        return False
    backwards = np.flatnonzero(np.diff(frames["frame_idx"].to_numpy()) <= 0) + 1  # rows not after their predecessor
    return bool(np.isin(backwards, ends[:-1]).all())


@dataclass(frozen=True)
class RepsPart:
    """Measured reps of some videos (no faults yet), as reps-table columns.

    `videos`: the rows (dicts) of the videos that have reps; `of_video`: per rep, the
    index of its video in `videos`; `columns`: rep_index, the times, the metrics (NaN =
    no value) and confidence, as numpy arrays; `reasons`: why metrics have no value.
    """

    videos: list[dict]
    of_video: np.ndarray
    columns: dict[str, np.ndarray]
    reasons: NullReasons


def measure_videos(signals: SignalsBatch, videos: list[dict]) -> RepsPart:
    """Reps of some videos with their metrics and confidence; `signals`: theirs, laid end to
    end in the order of `videos`.

    The videos' reps are found and measured all at once (`segment_batch`, `measure_reps`).
    """
    reps = segment_batch(signals)
    values, reasons, confidence = measure_reps(reps)
    with_reps, of_video = np.unique(reps.video, return_inverse=True)
    t = reps.signals.frames["t_s"]
    return RepsPart(
        videos=[videos[v] for v in with_reps.tolist()], of_video=of_video.reshape(-1),
        columns={"rep_index": rank_in_group(reps.video) + 1,
                 "t_start_s": t[reps.start], "t_bottom_s": t[reps.bottom], "t_end_s": t[reps.end], **values,
                 "confidence": confidence},
        reasons=reasons)


def batches(lengths: Sequence[int], threads: int, max_frames: int = BATCH_FRAMES,
            min_frames: int = MIN_BATCH_FRAMES) -> list[range]:
    """Consecutive ranges of videos (`lengths`: their frame counts) with near-equal frame totals of
    at most about `max_frames` (a longer video is a batch of its own); as many as `threads`, or a
    multiple of it, when there are enough frames (at least `min_frames` per batch), so that the
    threads finish together."""
    if not len(lengths):
        return []
    ends = np.cumsum(lengths, dtype=np.float64)
    total = float(ends[-1])
    k = max(1, math.ceil(total / max_frames))
    if threads > 1:
        k = max(k, min(threads, int(total // min_frames)))
        if k > threads:
            k = math.ceil(k / threads) * threads
    # cut before the video whose middle frame lies past each of the k - 1 equal shares
    cuts = np.searchsorted(ends - np.asarray(lengths) / 2, total * np.arange(1, k) / k).tolist()
    bounds = sorted({0, len(lengths), *cuts})
    return [range(a, b) for a, b in zip(bounds[:-1], bounds[1:])]


def _reason_lists(reasons: NullReasons) -> pl.Series:
    """Per rep, its null reasons as "metric: why" strings in metric name order (List(String)).

    Reps share a few combinations of reasons: each distinct one is spelled out once.
    """
    first, group = unique_rows(reasons.code)
    by_name = sorted(range(len(METRIC_COLUMNS)), key=METRIC_COLUMNS.__getitem__)
    lists = [[f"{METRIC_COLUMNS[j]}: {reasons.texts[code[j]]}" for j in by_name if code[j] >= 0]
             for code in reasons.code[first].tolist()]
    return pl.Series("null_reasons", lists, dtype=pl.List(pl.String)).gather(group)


def reps_frame(parts: list[RepsPart], videos_schema: pl.Schema) -> pl.DataFrame:
    """The measured reps table from `measure_videos` parts (schema from `videos_schema` when empty).

    Identity columns take the types the videos' Python values have (as a table built
    from row dicts would); metrics are Float64, null where there is no value (the
    durations in `KEEP_NAN` keep a NaN).
    """
    if sum(p.of_video.size for p in parts) == 0:
        return pl.DataFrame(schema={
            **{k: videos_schema[k] for k in IDENTITY}, "rep_index": pl.Int32, "t_start_s": pl.Float64,
            "t_bottom_s": pl.Float64, "t_end_s": pl.Float64, **{m: pl.Float64 for m in METRIC_COLUMNS},
            "confidence": pl.Float64, "null_reasons": pl.List(pl.String)})
    owners = [v for p in parts for v in p.videos]
    first_owner = np.cumsum([0] + [len(p.videos) for p in parts])
    identity = pl.DataFrame({k: [v[k] for v in owners] for k in IDENTITY})  # one row per video with reps
    of_owner = np.concatenate([p.of_video + first for p, first in zip(parts, first_owner)])

    def column(name: str) -> np.ndarray:
        return np.concatenate([p.columns[name] for p in parts])

    return pl.DataFrame([
        *identity.gather(of_owner).get_columns(),
        pl.Series("rep_index", column("rep_index"), dtype=pl.Int64),
        *(pl.Series(k, column(k), dtype=pl.Float64) for k in ("t_start_s", "t_bottom_s", "t_end_s")),
        *(pl.Series(m, column(m), dtype=pl.Float64, nan_to_null=m not in KEEP_NAN) for m in METRIC_COLUMNS),
        pl.Series("confidence", column("confidence"), dtype=pl.Float64),
        _reason_lists(NullReasons.concat([p.reasons for p in parts])),
    ])


@dataclass(frozen=True)
class VideoFrames:
    """The frames of some videos: `table` holds the columns signals read (`SIGNAL_COLUMNS`) with
    each video's rows one run in frame order; `rows[video_id]` is (start, end) of its run."""

    table: pl.DataFrame
    rows: dict[str, tuple[int, int]]

    def inputs(self, video_ids: list[str]) -> SignalInputs:
        """The videos' signal inputs laid end to end in this order: fresh arrays, converted at once
        (one slice of the table when their runs follow each other, as they usually do)."""
        runs = [self.rows[v] for v in video_ids]
        if all(prev[1] == nxt[0] for prev, nxt in zip(runs, runs[1:])):
            part = self.table.slice(runs[0][0], runs[-1][1] - runs[0][0])
        else:
            part = pl.concat([self.table.slice(a, b - a) for a, b in runs])
        return signal_inputs(part)


def video_frames(frames: pl.DataFrame, video_ids: list[str]) -> VideoFrames:
    """The frames of the videos in `video_ids` (videos without frames are absent from `rows`).

    One select/rechunk of the columns signals read, and a filter and sort only when the rows
    are not already grouped by video in frame order (other videos' rows then stay in `table`). Nothing is converted to numpy here:
    each batch converts its own rows, in its own thread (one conversion of a whole week
    on the main thread cost more in page faults than the conversion itself).
    """
    cols = ["video_id", "frame_idx", *(c for c in SIGNAL_COLUMNS if c in frames.columns)]
    if frames.height == 0 or not video_ids:
        return VideoFrames(frames.select(cols).clear(), {})
    # one chunk of just these columns first (the pipeline's frames arrive as one chunk per
    # video: reading many chunks costs ~3x more); other videos' rows stay but are never read
    sel = frames.lazy().select(cols).collect().rechunk()
    ids, ends = _video_runs(sel)
    if not _grouped_in_frame_order(sel, ids, ends):
        sel = sel.filter(pl.col("video_id").is_in(video_ids)).sort(["video_id", "frame_idx"], maintain_order=True)
        ids, ends = _video_runs(sel)
    wanted = set(video_ids)
    starts = np.concatenate(([0], ends[:-1])).tolist()
    return VideoFrames(sel, {v: (a, b) for v, a, b in zip(ids, starts, ends.tolist()) if v in wanted})


def judge(reps: pl.DataFrame, history: pl.DataFrame, profiles: dict[str, Profile]) -> pl.DataFrame:
    """Add faults and form_score to measured reps; baselines come from `history` + `reps`."""
    pool = pl.concat([history.select(reps.columns), reps], how="vertical_relaxed") if history.height else reps
    return judge_reps(reps, profiles, baseline_table(pool), light_spread_table(pool))


def analyse(frames: pl.DataFrame, videos: pl.DataFrame, history: pl.DataFrame,
            profiles: dict[str, Profile] | None = None, threads: int = THREADS) -> pl.DataFrame:
    """Reps of `videos` (ok status) from their `frames`; `history`: reps already stored.

    The videos are measured in batches (`batches`), `threads` batches at a time; a
    video's reps do not depend on which batch it is in, so the result does not either.
    """
    profiles = profiles or load_profiles()
    ok = videos.filter(pl.col("status") == "ok")
    found = video_frames(frames, ok["video_id"].to_list())
    listed = [v for v in ok.iter_rows(named=True) if v["video_id"] in found.rows]
    # measured in the frames' order, so that a batch's rows are one slice of the table (the
    # videos table often lists them in another order); the reps are put back in listed order
    todo = sorted(listed, key=lambda v: found.rows[v["video_id"]][0])
    lengths = [found.rows[v["video_id"]][1] - found.rows[v["video_id"]][0] for v in todo]

    def measure_batch(batch: range) -> RepsPart:
        chunk = todo[batch.start:batch.stop]
        inputs = found.inputs([v["video_id"] for v in chunk])
        return measure_videos(signals_chunk(inputs, lengths[batch.start:batch.stop],
                                            [v["camera_view"] or "side" for v in chunk]), chunk)

    plan = batches(lengths, threads, BATCH_FRAMES, MIN_BATCH_FRAMES)
    if threads > 1 and len(plan) > 1:
        with ThreadPoolExecutor(threads, thread_name_prefix="analyse") as pool:
            parts = list(pool.map(measure_batch, plan))
    else:
        parts = [measure_batch(b) for b in plan]
    measured = reps_frame(parts, videos.schema)
    if todo != listed:
        place = {v["video_id"]: i for i, v in enumerate(listed)}
        measured = measured.sort(pl.col("video_id").replace_strict(place, return_dtype=pl.Int64), maintain_order=True)
    return judge(measured, history, profiles)


def summarise(reps: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(sets, breakdown, week_over_week) over all reps."""
    sets = sets_table(reps)
    return sets, breakdown(sets), week_over_week(sets)
