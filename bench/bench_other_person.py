"""Cost of the quality gate's second-person search, measured side by side with the pose stage.

Runs the pose stage (`run_pose`) on the same clip with the search off and on
(`PoseOptions.other_person_every_s` = 0 and 1 s), interleaved, and prints the
median wall time of each and their ratio. The gate's own table work (polars,
all videos at once) is timed on the frames of the last run.

Usage: .venv/bin/python bench/bench_other_person.py [--clip PATH] [--repeats N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")

import polars as pl

from hingeflow import quality_gate
from hingeflow.pose import PoseOptions, frames_table, run_pose
from hingeflow.probe import probe_video

DEFAULT_CLIP = Path(__file__).resolve().parents[2] / "shared" / "footage" / "clips" / "yfgd_bad_02.mp4"


def timed_pose(clip: str, width: int, height: int, every_s: float) -> tuple[float, int]:
    """(seconds, frames) of the pose stage on `clip` with the search every `every_s` s (0 = off)."""
    start = time.perf_counter()
    buf = run_pose(clip, width, height, PoseOptions(other_person_every_s=every_s))
    return time.perf_counter() - start, len(buf.frame_idx)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clip", default=str(DEFAULT_CLIP))
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    pr = probe_video(args.clip)
    times: dict[float, list[float]] = {0.0: [], 1.0: []}
    frames = 0
    for _ in range(args.repeats):
        for every in times:
            seconds, frames = timed_pose(args.clip, pr.width, pr.height, every)
            times[every].append(seconds)
    off, on = (statistics.median(times[k]) for k in (0.0, 1.0))
    print(f"clip {Path(args.clip).name}: {frames} frames analysed, {args.repeats} interleaved repeats")
    print(f"pose stage, search off: {off:.2f} s ({frames / off:.1f} frames/s)")
    print(f"pose stage, search every 1 s: {on:.2f} s ({frames / on:.1f} frames/s)")
    print(f"ratio on/off: {on / off:.3f}")
    buf = run_pose(args.clip, pr.width, pr.height, PoseOptions(other_person_every_s=1.0))
    table = frames_table("v", buf)
    videos = pl.DataFrame({"video_id": ["v"], "camera_view": ["side"], "fps": [pr.fps], "height": [pr.height]})
    start = time.perf_counter()
    quality_gate.gate_table(table, videos)
    print(f"gate table on {table.height} frames: {1000 * (time.perf_counter() - start):.1f} ms")


if __name__ == "__main__":
    main()
