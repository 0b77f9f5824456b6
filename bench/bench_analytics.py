"""Analytics-stage benchmark: frames/s of signals -> reps -> metrics -> faults -> sets.

Runs the real pose stage on one clip, then times the analytics stage on the same
frames (replicated as many videos), and prints its throughput as a ratio to the
pose stage's, measured in the same run. Goal: >= 1M frames/s.

The stage runs on 1 thread and on `stage.THREADS` (batches of videos side by
side), on `--videos` copies and on `--week` copies (a 50-athlete gym's week is
about 1000 such videos). Each timing is the best of `--repeats` runs after one
warm-up run. (An earlier split of the cost into a part per video and a part per
frame, from videos of half the clip, was dropped: the difference of two noisy
timings gave 0.13-1.06 us per frame over seven runs of one day.)

Usage: .venv/bin/python bench/bench_analytics.py [--clip PATH] [--videos N] [--week N] [--repeats R]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")

import polars as pl

from hingeflow.analytics.stage import THREADS, analyse, summarise
from hingeflow.pose import PoseOptions, frames_table, run_pose
from hingeflow.probe import probe_video

REAL_CLIP = Path(__file__).resolve().parents[2] / "shared" / "footage" / "clips" / "kbdl_tby_correct_side.mp4"


def replicate(one: pl.DataFrame, n_videos: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(frames, videos): the clip's frames as `n_videos` videos of one athlete at five loads."""
    frames = pl.concat([one.with_columns(pl.lit(f"v{i}").alias("video_id")) for i in range(n_videos)])
    videos = pl.DataFrame({
        "video_id": [f"v{i}" for i in range(n_videos)], "status": "ok", "athlete_id": "bench",
        "recorded_on": [dt.date(2026, 11, 16)] * n_videos,
        "week": "2026-W47", "exercise": "deadlift", "load_kg": [20.0 + 10 * (i % 5) for i in range(n_videos)],
        "set_index": 1, "camera_view": "side",
    })
    return frames, videos


def time_analytics(frames: pl.DataFrame, videos: pl.DataFrame, repeats: int, threads: int) -> tuple[float, int]:
    """(best seconds of `analyse` + `summarise` over `repeats` runs after a warm-up, reps found)."""
    reps = analyse(frames, videos, pl.DataFrame(), threads=threads)
    summarise(reps)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        reps = analyse(frames, videos, pl.DataFrame(), threads=threads)
        summarise(reps)
        best = min(best, time.perf_counter() - start)
    return best, reps.height


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clip", type=Path, default=None)
    ap.add_argument("--videos", type=int, default=100)
    ap.add_argument("--week", type=int, default=1000, help="videos in a gym's week (0: skip)")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    clip = args.clip or REAL_CLIP
    if not clip.is_file():
        from hingeflow.synth.clip import ClipSpec, render_clip

        clip = Path(tempfile.mkdtemp()) / "bench.mp4"
        render_clip(clip, ClipSpec())
    pr = probe_video(str(clip))
    start = time.perf_counter()
    one = frames_table("v0", run_pose(str(clip), pr.width, pr.height, PoseOptions()))
    pose_fps = one.height / (time.perf_counter() - start)
    print(f"clip {clip.name}: {one.height} frames analysed; pose {pose_fps:.1f} frames/s on one worker")
    print(f"{'analytics stage':34s} {'frames':>9s} {'reps':>6s} {'frames/s':>11s} {'x pose':>8s} {'x 1 thread':>10s}")

    runs = [(args.videos, 1), (args.videos, THREADS)] + ([(args.week, 1), (args.week, THREADS)] if args.week else [])
    single: dict[int, float] = {}  # videos -> frames/s on 1 thread
    for n_videos, threads in runs:
        frames, videos = replicate(one, n_videos)
        seconds, n_reps = time_analytics(frames, videos, args.repeats, threads)
        fps = frames.height / seconds
        single.setdefault(n_videos, fps)
        print(f"{n_videos:5d} videos, {threads} thread(s){'':13s} {frames.height:9d} {n_reps:6d} {fps:11,.0f} "
              f"{fps / pose_fps:8.0f} {fps / single[n_videos]:10.2f}")

    print(f"goal >= 1M frames/s; best of {args.repeats} after a warm-up")


if __name__ == "__main__":
    main()
