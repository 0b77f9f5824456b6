"""Fault precision/recall of the pipeline's own `reps` table against synthetic truth (not a test).

Usage: .venv/bin/python bench/eval_faults.py GYM_DIR [--reanalyse]   (GYM_DIR holds warehouse/ and truth/)

``--reanalyse`` recomputes the reps from the stored `frames` with the current analytics
code (no pose re-run) instead of reading the stored `reps` table.

Each truth rep is matched to the pipeline rep of the same clip whose bottom time is
nearest (within 0.5 s); an unmatched truth rep counts as a miss for each of its faults
and an unmatched pipeline rep as a false alarm for each of its faults. Reps whose
sagittal metrics were withheld ("pose tracking lost") stay in the count: their
faults are misses. Also prints how many reps were withheld and the rep-count accuracy.
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl

from hingeflow import schemas
from hingeflow.analytics.faults import FAULTS
from hingeflow.warehouse import Warehouse

MATCH_S = 0.5


def match(truth: pl.DataFrame, found: pl.DataFrame) -> pl.DataFrame:
    """One row per truth rep and per unmatched found rep: video, true_faults, faults."""
    rows = []
    for (video,), t in truth.group_by("video"):
        f = found.filter(pl.col("video") == video)
        used: set[int] = set()
        for tr in t.sort("t_bottom_s").iter_rows(named=True):
            best, best_d = None, MATCH_S
            for i, fr in enumerate(f.iter_rows(named=True)):
                d = abs(fr["t_bottom_s"] - tr["t_bottom_s"])
                if i not in used and d <= best_d:
                    best, best_d = i, d
            if best is None:
                rows.append({"video": video, "true_faults": tr["faults"], "faults": [], "withheld": False,
                             "descent_s": None})
            else:
                used.add(best)
                fr = f.row(best, named=True)
                rows.append({"video": video, "true_faults": tr["faults"], "faults": fr["faults"],
                             "withheld": any("tracking lost" in r for r in fr["null_reasons"]),
                             "descent_s": fr["descent_s"]})
        for i, fr in enumerate(f.iter_rows(named=True)):
            if i not in used:
                rows.append({"video": video, "true_faults": [], "faults": fr["faults"], "withheld": False,
                             "descent_s": fr["descent_s"]})
    return pl.DataFrame(rows, schema={"video": pl.String, "true_faults": pl.List(pl.String),
                                      "faults": pl.List(pl.String), "withheld": pl.Boolean,
                                      "descent_s": pl.Float64})


def print_precision_recall(m: pl.DataFrame) -> None:
    """Per fault: true and predicted counts, precision, recall (lists ``true_faults``/``faults``)."""
    print("fault                  true  pred    TP  precision recall")
    for f in FAULTS:
        t = m["true_faults"].list.contains(f)
        p = m["faults"].list.contains(f)
        tp, nt, npred = int((t & p).sum()), int(t.sum()), int(p.sum())
        if nt == 0 and npred == 0:
            continue
        prec = f"{tp / npred:9.2f}" if npred else "        -"
        rec = f"{tp / nt:6.2f}" if nt else "     -"
        print(f"{f:22s} {nt:5d} {npred:5d} {tp:5d}  {prec} {rec}")


def main(root: Path, reanalyse: bool = False) -> pl.DataFrame:
    wh = Warehouse(root / "warehouse")
    all_videos = wh.read(schemas.VIDEOS)
    if reanalyse:
        from hingeflow.analytics.stage import analyse

        reps = analyse(wh.read(schemas.FRAMES), all_videos, pl.DataFrame())
    else:
        reps = wh.read(schemas.REPS)
    videos = all_videos.select("video_id", (pl.col("upload") + "/" + pl.col("video")).alias("video"))
    found = reps.join(videos, on="video_id")
    truth = pl.read_parquet(root / "truth" / "reps.parquet")
    m = match(truth, found)
    n_t = truth.group_by("video").len("n_true")
    n_f = found.group_by("video").len("n_found")
    counts = n_t.join(n_f, on="video", how="left").fill_null(0)
    exact = int((counts["n_true"] == counts["n_found"]).sum())
    print(f"{truth.height} truth reps, {found.height} found; exact count on {exact}/{counts.height} clips; "
          f"{int(m['withheld'].sum())} reps withheld (pose tracking lost)")
    print_precision_recall(m)
    if "-v" in sys.argv:
        bad = m.filter(pl.col("faults").list.sort() != pl.col("true_faults").list.sort())
        with pl.Config(tbl_rows=200, fmt_str_lengths=120, tbl_width_chars=250):
            print(bad.with_columns(pl.col("video").str.slice(-40)))
    return m


if __name__ == "__main__":
    main(Path(sys.argv[1]), reanalyse="--reanalyse" in sys.argv)
