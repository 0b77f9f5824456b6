"""Coach reports: rendering time per athlete against the pose stage, on the demo gym.

Synthesises the demo gym (3 athletes, 2 weeks, seed 0) and runs the flow once
(`hingeflow run`, which also stages the keyframes and renders the reports), then
re-renders every report from the warehouse: once in a fresh process (`hingeflow
report`, imports included) and 3 times in this process (warm). Prints seconds per
athlete and the ratios to the run's pose stage per athlete, and the keyframe
stage as a share of the pose stage. Goal: under 1 s per athlete.

Usage: .venv/bin/python bench/bench_report.py [--out DIR]
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

HINGEFLOW = Path(sys.executable).with_name("hingeflow")
ENV = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    root = args.out or Path(tempfile.mkdtemp(prefix="bench_report_"))
    warehouse = root / "warehouse"
    if not (root / "footage" / "inbox").is_dir():
        subprocess.run([str(HINGEFLOW), "synth", "--out", str(root / "footage"), "--athletes", "3", "--weeks", "2",
                        "--seed", "0"], check=True, stdout=subprocess.DEVNULL, env=ENV)
    if not (warehouse / "_runs").is_dir():
        subprocess.run([str(HINGEFLOW), "run", "--inbox", str(root / "footage" / "inbox"), "--warehouse",
                        str(warehouse)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    marker = next(json.loads(p.read_text()) for p in sorted((warehouse / "_runs").glob("*.json"))
                  if json.loads(p.read_text()).get("summary", {}).get("reps"))
    seconds = marker["summary"]["seconds"]

    start = time.perf_counter()
    subprocess.run([str(HINGEFLOW), "report", "--warehouse", str(warehouse)], check=True,
                   stdout=subprocess.DEVNULL, env=ENV)
    cold = time.perf_counter() - start

    from hingeflow.report.render import render_reports
    from hingeflow.warehouse import Warehouse

    warm = []
    for _ in range(3):
        done = render_reports(Warehouse(warehouse))
        warm.append(done.seconds)
    athletes = len(done.pages)
    pose = seconds["probe_and_pose"]
    print(f"demo gym: {athletes} athletes, {marker['summary']['videos_ok']} videos, {marker['summary']['reps']} reps")
    print(f"pose stage: {pose:.1f} s ({pose / athletes:.1f} s per athlete)")
    print(f"keyframes stage: {seconds['keyframes']:.2f} s = {seconds['keyframes'] / pose:.3f} x the pose stage")
    print(f"report, fresh process (imports included): {cold:.2f} s = {cold / athletes:.2f} s per athlete "
          f"= {cold / pose:.3f} x the pose stage")
    best = min(warm)
    print(f"report, warm (best of 3): {best:.2f} s = {best / athletes:.2f} s per athlete "
          f"= {best / pose:.4f} x the pose stage")


if __name__ == "__main__":
    main()
