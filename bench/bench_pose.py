"""Pose-stage benchmark: ratios measured side by side in one run, on the same frames.

Prints
- decode-only frames/s (PyAV decode + subsample + rescale + rotate): the ceiling;
- a bare loop of MediaPipe calls on pre-decoded frames;
- hingeflow's pose stage in-process and in its child process (decode, pose,
  back line, Parquet write), as ratios to the bare loop (goal >= 0.9);
- the speedup of 2 worker processes over 1 on a batch of videos (goal >= 1.8);
- an unchanged re-run's time as a ratio to the first run (goal < 0.05).

Usage: .venv/bin/python bench/bench_pose.py [--clip PATH] [--videos N] [--repeats N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

import mediapipe as mp

from hingeflow import pipeline
from hingeflow.decode import iter_frames
from hingeflow.inbox import scan_inbox
from hingeflow.isolation import run_isolated
from hingeflow.pose import PoseOptions, extract_pose, frames_table, run_pose
from hingeflow.pose_staging import PoseStaging
from hingeflow.probe import probe_video
from hingeflow.settings import EXERCISES, Settings
from hingeflow.warehouse import Warehouse

REAL_CLIP = Path(__file__).resolve().parents[2] / "shared" / "footage" / "clips" / "kbdl_tby_correct_side.mp4"


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def synthetic_clip(folder: Path) -> Path:
    from hingeflow.synth.clip import ClipSpec, render_clip

    path = folder / "bench.mp4"
    render_clip(path, ClipSpec())
    return path


def decode_only(path: Path, opts: PoseOptions) -> int:
    return sum(1 for _ in iter_frames(str(path), opts.analysis_fps, opts.max_side_px))


def bare_loop(frames: list, opts: PoseOptions) -> int:
    with mp.solutions.pose.Pose(static_image_mode=False, model_complexity=opts.model_complexity,
                                enable_segmentation=opts.segmentation) as pose:
        for rgb in frames:
            pose.process(rgb)
    return len(frames)


def stage_in_process(path: Path, w: int, h: int, opts: PoseOptions) -> int:
    return frames_table("bench", run_pose(str(path), w, h, opts)).height


def stage_in_child(path: Path, out: Path, w: int, h: int, opts: PoseOptions) -> int:
    return run_isolated(extract_pose, (str(path), str(out), "bench", w, h, opts), 600).frames_analysed


def make_inbox(folder: Path, clip: Path, n: int) -> Path:
    """An inbox of n distinct videos (same footage, one byte of padding apart so hashes differ)."""
    upload = folder / "inbox" / "bench_2026-11-16"
    upload.mkdir(parents=True)
    lines = ["video,athlete_id,recorded_on,exercise,load_kg,set_index"]
    for i in range(n):
        dst = upload / f"v{i}.mp4"
        shutil.copyfile(clip, dst)
        with dst.open("ab") as f:
            f.write(b"\0" * (i + 1))
        lines.append(f"v{i}.mp4,bench-1,2026-11-16,deadlift,{20 + i},1")
    (upload / "manifest.csv").write_text("\n".join(lines) + "\n")
    return upload.parent


def batch_seconds(inbox: Path, warehouse: Path, workers: int) -> tuple[float, int]:
    """Probe + pose every video of the inbox with `workers` threads, each driving a child process."""
    shutil.rmtree(warehouse, ignore_errors=True)
    settings = Settings(workers=workers)
    wh = Warehouse(warehouse)
    candidates = scan_inbox(inbox, EXERCISES).candidates
    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        outcomes = list(pool.map(lambda c: pipeline.pose(pipeline.probe(c, settings), PoseStaging(wh.staging_dir), settings), candidates))
    frames = sum(o.summary.frames_analysed for o in outcomes if o.summary)
    return time.perf_counter() - start, frames


def cli_run_seconds(inbox: Path, warehouse: Path) -> float:
    exe = Path(sys.executable).with_name("hingeflow")
    start = time.perf_counter()
    subprocess.run([str(exe), "run", "--inbox", str(inbox), "--warehouse", str(warehouse)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clip", type=Path, default=None)
    ap.add_argument("--videos", type=int, default=6, help="videos in the 1-vs-2-worker batch")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="hingeflow-bench-"))
    clip = args.clip or (REAL_CLIP if REAL_CLIP.is_file() else synthetic_clip(tmp))
    probe = probe_video(str(clip))
    opts = PoseOptions()
    frames = [f.rgb for f in iter_frames(str(clip), opts.analysis_fps, opts.max_side_px)]
    print(f"clip: {clip.name} {probe.width}x{probe.height} {probe.fps:.2f} fps, {probe.frame_count} frames; "
          f"{len(frames)} analysed at {opts.analysis_fps:g} fps, model_complexity={opts.model_complexity}, "
          f"segmentation={opts.segmentation}; {os.cpu_count()} cores")

    run_isolated(len, ((),), 60)  # start the fork server once, as a pipeline run does
    runs: dict[str, list[float]] = {k: [] for k in ("decode", "bare", "stage", "child")}
    for _ in range(args.repeats):  # interleaved, so drift of a noisy machine hits all alike
        runs["decode"].append(len(frames) / timed(lambda: decode_only(clip, opts))[0])
        runs["bare"].append(len(frames) / timed(lambda: bare_loop(frames, opts))[0])
        runs["stage"].append(len(frames) / timed(lambda: stage_in_process(clip, probe.width, probe.height, opts))[0])
        runs["child"].append(len(frames) / timed(lambda: stage_in_child(clip, tmp / "f.parquet", probe.width, probe.height, opts))[0])
    fps = {k: statistics.median(v) for k, v in runs.items()}
    print(f"decode only (ceiling)        {fps['decode']:8.1f} frames/s   {fps['decode'] / fps['bare']:5.2f} x bare pose loop")
    print(f"bare MediaPipe loop          {fps['bare']:8.1f} frames/s   1.00")
    print(f"pose stage, in process       {fps['stage']:8.1f} frames/s   {fps['stage'] / fps['bare']:5.2f} x bare  (goal >= 0.9)")
    print(f"pose stage, child process    {fps['child']:8.1f} frames/s   {fps['child'] / fps['bare']:5.2f} x bare  (goal >= 0.9)")

    inbox = make_inbox(tmp, clip, args.videos)
    t1, n1 = batch_seconds(inbox, tmp / "w1", 1)
    t2, n2 = batch_seconds(inbox, tmp / "w2", 2)
    print(f"batch of {args.videos} videos, 1 worker   {t1:6.1f} s  {n1 / t1:6.1f} frames/s")
    print(f"batch of {args.videos} videos, 2 workers  {t2:6.1f} s  {n2 / t2:6.1f} frames/s   speedup {t1 / t2:4.2f} x  (goal >= 1.8)")

    first = cli_run_seconds(inbox, tmp / "wh")
    again = cli_run_seconds(inbox, tmp / "wh")
    print(f"hingeflow run, first {first:6.1f} s, unchanged re-run {again:5.2f} s   ratio {again / first:5.3f}  (goal < 0.05)")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
