"""Evaluate per-rep metrics, faults and the breakdown on the synthetic gym (not a test).

Usage: .venv/bin/python bench/eval_metrics.py GYM_DIR   (holding warehouse/ and truth/)
Uses the pipeline's `frames` table + `compute_signals`, and the TRUTH rep boundaries
(t_start/t_bottom/t_end -> nearest frame indices), so segmentation errors are excluded.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

from eval_faults import print_precision_recall

from hingeflow.analytics.stage import judge

from hingeflow import schemas
from hingeflow.analytics.breakdown import DEFAULT_NOISE, baseline_metrics, breakdown, sets_table
from hingeflow.analytics.faults import FAULTS, confidence, form_score, rep_faults
from hingeflow.analytics.metrics import METRIC_COLUMNS, rep_metrics
from hingeflow.analytics.profiles import load_profiles
from hingeflow.analytics.signals import compute_signals
from hingeflow.analytics.types import Rep
from hingeflow.warehouse import Warehouse


def main(root: Path) -> pl.DataFrame:
    wh = Warehouse(root / "warehouse")
    videos = wh.read(schemas.VIDEOS)
    frames = wh.read(schemas.FRAMES)
    truth = pl.read_parquet(root / "truth" / "reps.parquet")
    athletes = json.loads((root / "truth" / "athletes.json").read_text())["athletes"]
    profiles = load_profiles()
    videos = videos.filter(pl.col("status") == "ok") if "status" in videos.columns else videos
    rows = []
    t_metrics = 0.0
    n_frames = 0
    for v in videos.iter_rows(named=True):
        key = f"{v['upload']}/{v['video']}"
        tr = truth.filter(pl.col("video") == key).sort("rep_index")
        if tr.height == 0:
            continue
        fr = frames.filter(pl.col("video_id") == v["video_id"]).sort("frame_idx")
        sig = compute_signals(fr)
        view = v.get("camera_view") or "side"
        t = sig.t_s
        t0 = time.perf_counter()
        for r in tr.iter_rows(named=True):
            idx = [int(np.argmin(np.abs(t - r[k]))) for k in ("t_start_s", "t_bottom_s", "t_end_s")]
            rep = Rep(*idx)
            m = rep_metrics(sig, rep, view)
            m.pop("null_reasons")
            rows.append({
                "video": key, "athlete_id": v["athlete_id"], "exercise": v["exercise"],
                "load_kg": float(v["load_kg"]), "set_index": int(v["set_index"]), "rep_index": r["rep_index"],
                "recorded_on": str(v["recorded_on"]),
                "week": "%d-W%02d" % dt.date.fromisoformat(str(v["recorded_on"])[:10]).isocalendar()[:2],
                "camera_view": view, "confidence": confidence(sig, rep, view),
                "true_trunk": r["trunk_angle_bottom_deg"], "true_knee": r["knee_flexion_bottom_deg"],
                "true_rounding": r["spine_rounding_bottom_deg"], "true_faults": r["faults"], **m,
            })
        t_metrics += time.perf_counter() - t0
        n_frames += len(t)
    reps = pl.DataFrame(rows, infer_schema_length=None)
    reps = judge(reps, pl.DataFrame(), profiles)  # the pipeline's own fault judging
    print(f"{reps.height} reps from {reps['video'].n_unique()} videos; metrics stage "
          f"{n_frames / max(t_metrics, 1e-9) / 1e6:.2f} M frames/s (whole videos / rep_metrics+confidence time)")

    side = reps.filter(pl.col("camera_view") == "side")
    e_tr = (side["trunk_angle_bottom_deg"] - side["true_trunk"]).abs()
    e_kn = (side["knee_flexion_bottom_deg"] - side["true_knee"]).abs()
    print(f"bottom trunk MAE {e_tr.mean():.2f} deg (max {e_tr.max():.2f}); knee MAE {e_kn.mean():.2f} deg "
          f"(max {e_kn.max():.2f})")
    for (ex,), g in side.group_by("exercise"):
        print(f"  {ex:18s} trunk MAE {(g['trunk_angle_bottom_deg'] - g['true_trunk']).abs().mean():5.2f}"
              f"  knee MAE {(g['knee_flexion_bottom_deg'] - g['true_knee']).abs().mean():5.2f}"
              f"  knee bias {(g['knee_flexion_bottom_deg'] - g['true_knee']).mean():+5.2f}")
    # spine proxies against the true rounding
    for c in ("back_bend_bottom_deg", "back_bulge_bottom", "chord_shortening_pct", "neck_drop_deg"):
        x, y = side[c].cast(pl.Float64).to_numpy(), side["true_rounding"].to_numpy()
        ok = np.isfinite(x) & np.isfinite(y)
        if ok.sum() > 2:
            print(f"  corr(true rounding, {c}) = {np.corrcoef(x[ok], y[ok])[0, 1]:+.2f}; "
                  f"slope {np.polyfit(y[ok], x[ok], 1)[0]:+.3f}")

    print_precision_recall(reps)
    if "-v" in sys.argv:
        bad = reps.filter(pl.col("faults").list.sort() != pl.col("true_faults").list.sort())
        with pl.Config(tbl_rows=200, tbl_cols=20, fmt_str_lengths=80, tbl_width_chars=250):
            print(bad.select("athlete_id", "exercise", "load_kg", "rep_index", "true_faults", "faults",
                             "trunk_angle_top_deg", "back_bend_bottom_deg", "true_rounding", "wrist_offset_bottom",
                             "descent_s", "knee_flexion_bottom_deg", "hips_rise_trunk_progress"))

    sets = sets_table(reps.drop("true_faults", "video", "camera_view"))
    bd = breakdown(sets, DEFAULT_NOISE)
    print("breakdown per athlete x exercise (truth: form breaks above the hidden load)")
    from hingeflow.synth.gym import LADDERS

    ok = 0
    n = 0
    for r in bd.sort("athlete_id", "exercise").iter_rows(named=True):
        a = next(x for x in athletes if x["athlete_id"] == r["athlete_id"])
        hid = a["breakdown_kg"].get(r["exercise"])
        step = LADDERS[r["exercise"]][1]
        first_bad = min((x for x in r["loads_kg"] if hid is not None and x > hid), default=None)
        found = r["breakdown_load_kg"]
        good = (first_bad is None and found is None) or (
            first_bad is not None and found is not None and abs(found - first_bad) <= step + 1e-9)
        ok += good
        n += 1
        print(f"  {r['athlete_id']} {r['exercise']:18s} truth>{hid} first-bad {first_bad} found {found} "
              f"{'OK ' if good else 'BAD'} | {r['what_changed']}")
    print(f"breakdown within one load step: {ok}/{n}")
    return reps


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("-")]
    main(Path(args[0]))
