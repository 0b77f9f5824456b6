"""Rep-count report on the dev warehouses (not collected by pytest).

Usage: .venv/bin/python bench/eval_rep_counts.py [--real WAREHOUSE] [--synth WAREHOUSE --truth DIR] [-v]

Prints, per clip, the expected rep count (real: /work/shared/footage/clips.csv
`reps`; synthetic: truth reps.parquet) against the count `segment_reps` finds,
and for synthetic clips the bottom-time error against truth.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

from hingeflow import schemas
from hingeflow.analytics.reps import segment_reps
from hingeflow.analytics.signals import compute_signals
from hingeflow.warehouse import Warehouse

CLIPS_CSV = Path(__file__).resolve().parents[2] / "shared" / "footage" / "clips.csv"


def load(warehouse: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    wh = Warehouse(warehouse)
    videos = wh.read(schemas.VIDEOS).filter(pl.col("status") == "ok")
    frames = wh.read(schemas.FRAMES)
    return videos, frames


def analyse(videos: pl.DataFrame, frames: pl.DataFrame):
    """Yield (video row, signals, reps) per ok video."""
    parts = frames.sort("video_id", "frame_idx").partition_by("video_id", as_dict=True)
    for row in videos.iter_rows(named=True):
        key = (row["video_id"],)
        f = parts.get(key)
        if f is None:
            f = parts.get(row["video_id"])
        if f is None or f.height == 0:
            continue
        sig = compute_signals(f)
        yield row, sig, segment_reps(sig, row.get("exercise") or "", row.get("camera_view") or "side")


def real_report(warehouse: Path, verbose: bool) -> None:
    expected: dict[str, tuple[str, str]] = {}
    with CLIPS_CSV.open() as fh:
        for r in csv.DictReader(fh):
            if r["file"].startswith("clips/"):
                expected[Path(r["file"]).name] = (r["reps"], r["rep_bottom_times_s"])
    videos, frames = load(warehouse)
    print(f"== real dev clips ({warehouse})")
    print(f"{'video':45s} {'view':9s} {'exp':>4s} {'found':>5s}  bottoms found (s)")
    ok = total = 0
    for row, sig, reps in sorted(analyse(videos, frames), key=lambda z: z[0]["video"]):
        exp, bottoms = expected.get(row["video"], ("?", ""))
        found = len(reps)
        flag = ""
        if exp.isdigit():
            total += 1
            ok += int(exp) == found
            flag = "" if int(exp) == found else "  <-- MISMATCH"
        tb = " ".join(f"{sig.t_s[r.bottom]:.1f}" for r in reps)
        print(f"{row['video']:45s} {row.get('camera_view') or '':9s} {exp:>4s} {found:5d}  {tb}{flag}")
        if verbose:
            print(f"{'':45s} listed: {bottoms[:120]}")
    print(f"real clips with the listed count: {ok}/{total}")


def synth_report(warehouse: Path, truth_dir: Path, verbose: bool) -> None:
    videos, frames = load(warehouse)
    treps = pl.read_parquet(truth_dir / "reps.parquet")
    videos = videos.with_columns((pl.col("upload") + "/" + pl.col("video")).alias("key"))
    print(f"== synthetic ({warehouse})")
    exact = total = 0
    errs: list[float] = []
    t0 = time.perf_counter()
    nframes = 0
    for row, sig, reps in analyse(videos, frames):
        nframes += len(sig.t_s)
        truth = treps.filter(pl.col("video") == row["key"]).sort("t_bottom_s")
        tb = truth["t_bottom_s"].to_numpy()
        found = np.array([sig.t_s[r.bottom] for r in reps])
        total += 1
        good = len(tb) == len(found)
        exact += good
        if good and len(tb):
            errs.extend(np.abs(found - tb).tolist())
        if verbose or not good:
            print(f"{row['key']:60s} {row.get('exercise')!s:18s} {row.get('camera_view')!s:8s} "
                  f"truth {len(tb):2d} found {len(found):2d}  truth bottoms {np.round(tb, 1).tolist()} "
                  f"found {np.round(found, 1).tolist()}")
    dt = time.perf_counter() - t0
    e = np.array(errs)
    print(f"synthetic exact rep count: {exact}/{total} = {exact / max(total, 1):.1%}")
    if e.size:
        print(f"bottom-time error (s): median {np.median(e):.3f}, p90 {np.percentile(e, 90):.3f}, "
              f"max {e.max():.3f}, within 0.3 s {np.mean(e <= 0.3):.1%}")
    print(f"signals+reps: {nframes} frames in {dt:.2f} s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--real", type=Path, default=None, help="warehouse of the real dev clips")
    ap.add_argument("--synth", type=Path, default=None, help="warehouse of a synthetic gym")
    ap.add_argument("--truth", type=Path, default=None, help="truth/ folder of that gym")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args(argv)
    if a.real and (a.real / "videos").exists():
        real_report(a.real, a.verbose)
    if a.synth and a.truth and (a.synth / "videos").exists() and (a.truth / "reps.parquet").exists():
        synth_report(a.synth, a.truth, a.verbose)
    return 0


if __name__ == "__main__":
    sys.exit(main())
