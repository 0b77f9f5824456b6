"""Privacy audit of stored keyframes: does any confirmed face survive the cover? (I/O)

For every stored keyframe image, :func:`audit` runs :class:`FaceCheck` on
the image as stored (covered) and on the same frame drawn without the cover (the control:
real faces the check must still find). Used by the keyframe tests and by
``bench/eval_keyframes.py``.
"""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from PIL import Image

from hingeflow import quality_gate
from hingeflow.report import keyframes
from hingeflow.report.faces import Detection, FaceCheck


@dataclass(frozen=True)
class Finding:
    """A raw detection worth a look (rejected, or confirmed away from the lifter's head): where, and
    the image it was found in."""

    video_id: str
    frame_idx: int
    covered: bool  # found in the stored (covered) image, else in the frame drawn without the cover
    detection: Detection
    image: Image.Image


@dataclass
class Audit:
    """Counts of raw and confirmed face detections over the audited keyframes."""

    keyframes: int = 0
    covered_raw: int = 0
    covered_confirmed: int = 0
    uncovered_raw: int = 0
    uncovered_confirmed: int = 0
    rejected: list[Finding] = field(default_factory=list)
    elsewhere: list[Finding] = field(default_factory=list)  # confirmed, not on the lifter's head
    verdicts: Counter = field(default_factory=Counter)  # "covered: <verdict>" -> raw detections

    def line(self) -> str:
        return (f"keyframes {self.keyframes}: covered raw {self.covered_raw} confirmed {self.covered_confirmed}; "
                f"uncovered raw {self.uncovered_raw} confirmed {self.uncovered_confirmed}; "
                f"rejected {len(self.rejected)}; " + ", ".join(f"{k} {v}" for k, v in sorted(self.verdicts.items())))


def audit(stored: pl.DataFrame, frames: pl.DataFrame, videos: pl.DataFrame, path_of: dict[str, Path],
          check: FaceCheck) -> Audit:
    """Audit every keyframe image of `stored` (the `keyframes` table) whose video's file is in
    `path_of` (video_id -> file); `frames` (at least `keyframes.FRAME_COLUMNS`) and `videos` as in
    the warehouse."""
    stored = stored.filter(pl.col("image_webp").is_not_null() & pl.col("video_id").is_in(list(path_of)))
    videos = videos.filter(pl.col("video_id").is_in(list(path_of)))
    long_side = {r["video_id"]: max(r["width"], r["height"]) for r in videos.iter_rows(named=True)}
    measurable = dict(videos.select("video_id", quality_gate.sagittal_measurable()).iter_rows())
    out = Audit()
    for (video_id,), kept in stored.group_by("video_id"):
        grabbed = keyframes.grab_frames(str(path_of[video_id]), kept["frame_idx"].to_list())
        for k in kept.iter_rows(named=True):
            out.keyframes += 1
            covered = Image.open(io.BytesIO(k["image_webp"])).convert("RGB")
            row = frames.filter((pl.col("video_id") == video_id) & (pl.col("frame_idx") == k["frame_idx"]))
            plain = keyframes.compose_keyframe(grabbed[k["frame_idx"]], row.row(0, named=True),
                                               long_side[video_id], cover=False,
                                               measurable=measurable.get(video_id, False))
            pose = keyframes.thumb_pose(row.row(0, named=True), long_side[video_id],
                                        grabbed[k["frame_idx"]].shape[1::-1])
            for image, is_covered in ((covered, True), (plain, False)):
                seen = check(image, pose)
                if is_covered:
                    out.covered_raw += len(seen.detections)
                    out.covered_confirmed += len(seen.confirmed)
                else:
                    out.uncovered_raw += len(seen.detections)
                    out.uncovered_confirmed += len(seen.confirmed)
                out.verdicts.update(f"{'covered' if is_covered else 'uncovered'}: {d.verdict}"
                                    for d in seen.detections)
                out.rejected += [Finding(video_id, k["frame_idx"], is_covered, d, image) for d in seen.rejected]
                out.elsewhere += [Finding(video_id, k["frame_idx"], is_covered, d, image)
                                  for d in seen.detections if d.confirmed and d.verdict != "head"]
    return out
