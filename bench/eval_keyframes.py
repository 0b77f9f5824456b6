"""Keyframe audit of a warehouse that `hingeflow run` wrote (not collected by pytest).

Usage: .venv/bin/python bench/eval_keyframes.py --warehouse DIR --inbox DIR [--replay]
       [--only clips/|holdout/] [--crops DIR]

For the videos whose manifest path starts with --only (all by default), prints:
- the share of videos with reps that have at least one keyframe image, and, per reason, how
  many reps have none;
- the face audit (`hingeflow.report.keyframe_audit`): raw and confirmed face detections on
  the keyframe images (covered) and on the same frames drawn without the cover, and each
  detection's verdict;
- every raw detection the confirmation rejected, and every one confirmed away from the lifter's
  head; with --crops, a PNG of each to look at.

Without --replay it audits the stored `keyframes` table (whatever code wrote it); with
--replay it makes the keyframes again with this checkout's code from the warehouse's
committed reps, frames and videos (the keyframes stage without the rest of a run), so one
warehouse written by an older version gives before and after.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import polars as pl
from PIL import ImageDraw

from hingeflow import schemas
from hingeflow.pipeline import keyframe_rows
from hingeflow.report import keyframes
from hingeflow.report.faces import FaceCheck
from hingeflow.report.keyframe_audit import audit
from hingeflow.settings import Settings
from hingeflow.warehouse import Warehouse


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--warehouse", type=Path, required=True)
    ap.add_argument("--inbox", type=Path, required=True, help="the inbox the run read (upload folders)")
    ap.add_argument("--replay", action="store_true", help="make the keyframes again with this code")
    ap.add_argument("--only", default="", help="keep videos whose manifest path starts with this")
    ap.add_argument("--crops", type=Path, help="write a PNG per rejected detection here")
    args = ap.parse_args()

    wh = Warehouse(args.warehouse)
    videos = wh.read(schemas.VIDEOS).filter((pl.col("status") == "ok") & pl.col("video").str.starts_with(args.only))
    path_of = {r["video_id"]: args.inbox / r["upload"] / r["video"] for r in videos.iter_rows(named=True)}
    reps = wh.read(schemas.REPS).filter(pl.col("video_id").is_in(list(path_of)))
    frames = wh.read(schemas.FRAMES, keyframes.FRAME_COLUMNS).filter(pl.col("video_id").is_in(list(path_of)))
    if args.replay:
        sources = {r["video_id"]: (str(path_of[r["video_id"]]), max(r["width"], r["height"]))
                   for r in videos.iter_rows(named=True) if r["video_id"] in path_of}
        kf = schemas.to_arrow(schemas.KEYFRAMES, keyframe_rows(reps, frames, videos, sources, Settings()))
        kf = pl.from_arrow(kf)
    else:
        kf = wh.read(schemas.KEYFRAMES).filter(pl.col("video_id").is_in(list(path_of)))
    with_reps = reps["video_id"].n_unique()
    shown = kf.filter(pl.col("image_webp").is_not_null())
    print(f"videos with reps {with_reps}; with a keyframe image {shown['video_id'].n_unique()}/{with_reps}; "
          f"keyframe images {shown.height}")
    if "reason" in kf.columns:
        for (reason,), g in kf.filter(pl.col("reason").is_not_null()).group_by("reason"):
            print(f"  no image ({g.height} reps): {reason}")
    with FaceCheck() as check:
        result = audit(kf, frames, videos, path_of, check)
    print(result.line())
    name = dict(videos.select("video_id", "video").iter_rows())
    for kind, found in (("rejected", result.rejected), ("confirmed away from the head", result.elsewhere)):
        for i, r in enumerate(found):
            where, d = "covered" if r.covered else "uncovered", r.detection
            print(f"  {kind}: {name[r.video_id]} frame {r.frame_idx} {where} box {d.box} score {d.score:.2f}: "
                  f"{d.verdict}")
            if args.crops:
                args.crops.mkdir(parents=True, exist_ok=True)
                image = r.image.copy()
                ImageDraw.Draw(image).rectangle(d.box, outline=(255, 0, 0), width=2)
                image.save(args.crops / f"{kind.split()[0]}_{i:03d}_{Path(name[r.video_id]).stem}_{r.frame_idx}_{where}.png")


if __name__ == "__main__":
    main()
