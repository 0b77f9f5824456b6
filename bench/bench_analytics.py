"""Analytics-stage benchmark: frames/s of signals -> reps -> metrics -> faults -> sets.

Runs the real pose stage on one clip, then times the analytics stage on the same
frames (replicated as many videos, typed as the warehouse stores them, which is
how the pipeline hands them over), and prints its throughput as a ratio to the
pose stage's, measured in the same run. Goal: >= 1M frames/s.

The stage runs on 1 thread and on `stage.THREADS` (batches of videos side by
side), on `--videos` copies and on `--week` copies (a 50-athlete gym's week is
about 1000 such videos). Each timing is the best of `--repeats` runs after one
warm-up run. (An earlier split of the cost into a part per video and a part per
frame, from videos of half the clip, was dropped: the difference of two noisy
timings gave 0.13-1.06 us per frame over seven runs of one day.)

With `--warehouse DIR` (a warehouse the pipeline wrote, e.g. from the real dev
clips), its ok videos are copied until they make a week of at least `--week`
videos, and that week is timed alternately with the clip's week, `--rounds`
times, so that the two are compared under the same machine load.

Usage: .venv/bin/python bench/bench_analytics.py [--clip PATH] [--videos N] [--week N] [--repeats R]
                                                 [--warehouse DIR] [--rounds K]
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
from hingeflow.schemas import FRAMES, VIDEOS, to_arrow
from hingeflow.warehouse import Warehouse

REAL_CLIP = Path(__file__).resolve().parents[2] / "shared" / "footage" / "clips" / "kbdl_tby_correct_side.mp4"


VIDEO_COLUMNS = ("video_id", "status", "athlete_id", "recorded_on", "week", "exercise", "load_kg", "set_index",
                 "camera_view")


def one_video() -> pl.DataFrame:
    """A videos table for the clip's frames (video "v0"): one side-view deadlift."""
    return pl.DataFrame({
        "video_id": ["v0"], "status": "ok", "athlete_id": "bench", "recorded_on": [dt.date(2026, 11, 16)],
        "week": "2026-W47", "exercise": "deadlift", "load_kg": [20.0], "set_index": 1, "camera_view": "side",
    })


def replicate(frames: pl.DataFrame, videos: pl.DataFrame, copies: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(frames, videos): `copies` copies of the videos and their frames, copy c's video ids suffixed
    "-c" and its loads set to 20 + 10 (c mod 5) kg (each athlete then has sets at five loads)."""
    videos = videos.select(VIDEO_COLUMNS).filter(pl.col("status") == "ok")
    frames = frames.filter(pl.col("video_id").is_in(videos["video_id"].implode())).sort(["video_id", "frame_idx"])
    suffix = lambda c: pl.col("video_id") + f"-{c}"  # noqa: E731
    return (pl.concat([frames.with_columns(suffix(c)) for c in range(copies)]),
            pl.concat([videos.with_columns(suffix(c), pl.lit(20.0 + 10 * (c % 5)).alias("load_kg"))
                       for c in range(copies)]))


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


def row(label: str, frames: pl.DataFrame, videos: pl.DataFrame, repeats: int, threads: int,
        pose_fps: float, single: dict[str, float]) -> None:
    """Time one configuration and print its row (`single`: frames/s on 1 thread by label)."""
    seconds, n_reps = time_analytics(frames, videos, repeats, threads)
    fps = frames.height / seconds
    single.setdefault(label, fps)
    print(f"{label + f', {threads} thread(s)':40s} {frames.height:9d} {n_reps:6d} {fps:11,.0f} "
          f"{fps / pose_fps:8.0f} {fps / single[label]:10.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clip", type=Path, default=None)
    ap.add_argument("--videos", type=int, default=100)
    ap.add_argument("--week", type=int, default=1000, help="videos in a gym's week (0: skip)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--warehouse", type=Path, default=None, help="also time a week of this warehouse's videos")
    ap.add_argument("--rounds", type=int, default=2, help="alternations of the two weeks (with --warehouse)")
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
    # typed as the warehouse stores it (landmarks float32), as the pipeline hands frames over
    one = pl.from_arrow(to_arrow(FRAMES, one.with_columns(pl.lit("2026-W47").alias("week"))))
    print(f"clip {clip.name}: {one.height} frames analysed; pose {pose_fps:.1f} frames/s on one worker")
    print(f"{'analytics stage':40s} {'frames':>9s} {'reps':>6s} {'frames/s':>11s} {'x pose':>8s} {'x 1 thread':>10s}")

    single: dict[str, float] = {}
    weeks = [(n, *replicate(one, one_video(), n)) for n in (args.videos, args.week) if n]
    if args.warehouse is None:
        for n_videos, frames, videos in weeks:
            for threads in (1, THREADS):
                row(f"{n_videos:5d} videos of the clip", frames, videos, args.repeats, threads, pose_fps, single)
    else:
        wh = Warehouse(args.warehouse)
        w_frames, w_videos = wh.read(FRAMES), wh.read(VIDEOS).filter(pl.col("status") == "ok")
        copies = max(1, -(-(args.week or 1000) // w_videos.height))
        real = replicate(w_frames, w_videos, copies)
        clip_week = weeks[-1]
        print(f"warehouse {args.warehouse}: {w_videos.height} ok videos x {copies}; "
              f"{real[0].height / real[1].height:.0f} frames per video (clip: {one.height})")
        for _ in range(args.rounds):
            for threads in (1, THREADS):
                row(f"{clip_week[0]:5d} videos of the clip", *clip_week[1:], args.repeats, threads, pose_fps, single)
                row(f"{real[1].height:5d} videos of the warehouse", *real, args.repeats, threads, pose_fps, single)

    print(f"goal >= 1M frames/s; best of {args.repeats} after a warm-up")


if __name__ == "__main__":
    main()
