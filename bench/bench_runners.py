"""Runner benchmark: the same gym through `hingeflow run` on each task runner, side by side.

Runs, each into a fresh warehouse, in one session:
  local x1   one worker thread driving one pose child process at a time (the baseline)
  local x2   two threads, two pose child processes at once (the default)
  process x2 Prefect's process pool of two
  dask x2    a Dask LocalCluster of two single-threaded worker processes (prefect-dask)
then an unchanged re-run on the first warehouse (nothing new: should cost next to nothing).

Prints wall-clock seconds of the whole command (what a user waits for, Prefect's
start-up included), the flow's pose-stage seconds, frames analysed per wall
second, and each as a ratio to `local x1`.

Usage: .venv/bin/python bench/bench_runners.py [--athletes 3 --weeks 2 --seed 0] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HINGEFLOW = str(Path(sys.executable).with_name("hingeflow"))
RUNS = (("local", 1), ("local", 2), ("process", 2), ("dask", 2))


def timed_run(inbox: Path, warehouse: Path, runner: str, workers: int, env: dict) -> tuple[float, dict]:
    """(wall seconds, the run's summary from its commit marker; {} when nothing was new)."""
    before = set((warehouse / "_runs").glob("*.json")) if (warehouse / "_runs").is_dir() else set()
    start = time.perf_counter()
    subprocess.run([HINGEFLOW, "run", "--inbox", str(inbox), "--warehouse", str(warehouse), "--runner", runner,
                    "--workers", str(workers)], check=True, capture_output=True, env=env)
    wall = time.perf_counter() - start
    new = sorted(set((warehouse / "_runs").glob("*.json")) - before)
    return wall, (json.loads(new[-1].read_text())["summary"] if new else {})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--athletes", type=int, default=3)
    ap.add_argument("--weeks", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-runners-"))
    env = {**os.environ, "PREFECT_HOME": str(out / "prefect"), "PREFECT_LOGGING_LEVEL": "WARNING"}
    env.pop("PREFECT_API_URL", None)
    if not (out / "gym" / "inbox").is_dir():
        subprocess.run([HINGEFLOW, "synth", "--out", str(out / "gym"), "--athletes", str(args.athletes),
                        "--weeks", str(args.weeks), "--seed", str(args.seed)], check=True, capture_output=True)
    inbox = out / "gym" / "inbox"

    rows = []
    for runner, workers in RUNS:
        wall, summary = timed_run(inbox, out / f"wh-{runner}-{workers}", runner, workers, env)
        rows.append((f"{runner} x{workers}", wall, summary["seconds"]["probe_and_pose"], summary["frames"]))
    rerun_wall, _ = timed_run(inbox, out / "wh-local-1", "local", 1, env)

    base_wall, base_pose = rows[0][1], rows[0][2]
    print(f"gym: {args.athletes} athletes x {args.weeks} weeks (seed {args.seed}), {rows[0][3]} frames analysed")
    print(f"{'run':<12} {'wall s':>8} {'pose s':>8} {'frames/s':>9} {'speed-up (wall)':>16} {'speed-up (pose)':>16}")
    for name, wall, pose_s, frames in rows:
        print(f"{name:<12} {wall:8.1f} {pose_s:8.1f} {frames / wall:9.1f} {base_wall / wall:16.2f} "
              f"{base_pose / pose_s:16.2f}")
    print(f"unchanged re-run: {rerun_wall:.2f} s = {rerun_wall / base_wall:.3f} x the first run "
          f"(goal <= 0.02)")


if __name__ == "__main__":
    main()
