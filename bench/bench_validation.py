"""What validation adds to a demo run: the same synthetic gym run with and without Great Expectations.

Synthesises the demo gym (3 athletes, 2 weeks, seed 0) once, then runs the whole
flow (`hingeflow run`, fresh warehouse each time) with validation on and off,
alternating, and prints the time of each run, the in-run `validate` stage time,
and the ratios. Goal: validation adds under 10% to a demo run's time.

Usage: .venv/bin/python bench/bench_validation.py [--pairs N] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HINGEFLOW = Path(sys.executable).with_name("hingeflow")


def run_once(inbox: Path, warehouse: Path, validate: bool) -> tuple[float, dict]:
    """(wall seconds of `hingeflow run`, the run's summary from its commit marker)."""
    shutil.rmtree(warehouse, ignore_errors=True)
    env = {**os.environ, "HINGEFLOW_VALIDATE_TABLES": str(validate).lower(),
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
    start = time.perf_counter()
    subprocess.run([str(HINGEFLOW), "run", "--inbox", str(inbox), "--warehouse", str(warehouse)],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    marker = sorted((warehouse / "_runs").glob("*.json"))[-1]
    body = json.loads(marker.read_text())
    return seconds, body.get("summary", body)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    root = args.out or Path(tempfile.mkdtemp(prefix="bench_validation_"))
    if not (root / "footage" / "inbox").is_dir():
        subprocess.run([str(HINGEFLOW), "synth", "--out", str(root / "footage"), "--athletes", "3", "--weeks", "2",
                        "--seed", "0"], check=True, stdout=subprocess.DEVNULL)
    inbox = root / "footage" / "inbox"
    on, off, stage = [], [], []
    for _ in range(args.pairs):
        for validate in (True, False):
            seconds, summary = run_once(inbox, root / "warehouse", validate)
            (on if validate else off).append(seconds)
            if validate:
                stage.append(summary["seconds"]["validate"])
                print(f"validate on : {seconds:6.1f} s (validate stage {stage[-1]:.1f} s, "
                      f"{summary['frames']} frames, {summary['reps']} reps)")
            else:
                print(f"validate off: {seconds:6.1f} s")
    a, b, v = min(on), min(off), min(stage)
    print(f"run with / without validation: {a / b:.3f} (+{100 * (a / b - 1):.1f}%)")
    print(f"validate stage / run without validation: {v / b:.3f} ({100 * v / b:.1f}%)")


if __name__ == "__main__":
    main()
