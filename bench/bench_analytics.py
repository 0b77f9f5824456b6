"""Analytics-stage benchmark: frames/s of signals -> reps -> metrics -> faults -> sets.

Runs the real pose stage on one clip, then times the analytics stage on the same
frames (replicated as many videos), and prints its throughput as a ratio to the
pose stage's, measured in the same run. Goal: >= 1M frames/s.

Usage: .venv/bin/python bench/bench_analytics.py [--clip PATH] [--videos N]
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

from hingeflow.analytics.stage import analyse, summarise
from hingeflow.pose import PoseOptions, frames_table, run_pose
from hingeflow.probe import probe_video

REAL_CLIP = Path(__file__).resolve().parents[2] / "shared" / "footage" / "clips" / "kbdl_tby_correct_side.mp4"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clip", type=Path, default=None)
    ap.add_argument("--videos", type=int, default=50)
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

    frames = pl.concat([one.with_columns(pl.lit(f"v{i}").alias("video_id")) for i in range(args.videos)])
    videos = pl.DataFrame({
        "video_id": [f"v{i}" for i in range(args.videos)], "status": "ok", "athlete_id": "bench",
        "recorded_on": [dt.date(2026, 11, 16)] * args.videos,
        "week": "2026-W47", "exercise": "deadlift", "load_kg": [20.0 + 10 * (i % 5) for i in range(args.videos)],
        "set_index": 1, "camera_view": "side",
    })
    start = time.perf_counter()
    reps = analyse(frames, videos, pl.DataFrame())
    summarise(reps)
    seconds = time.perf_counter() - start
    fps = frames.height / seconds
    print(f"clip {clip.name}: {one.height} frames analysed, {args.videos} copies = {frames.height} frames, {reps.height} reps")
    print(f"pose stage        {pose_fps:12.1f} frames/s   1")
    print(f"analytics stage   {fps:12.1f} frames/s   {fps / pose_fps:8.0f} x pose   (goal >= 1M frames/s)")


if __name__ == "__main__":
    main()
