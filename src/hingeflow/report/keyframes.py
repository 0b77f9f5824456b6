"""Keyframes for the coach report: the bottom position of a video's best and worst rep,
with the skeleton and measured angles drawn on and the head covered.

Pure parts pick the reps and their frames and draw on images; `grab_frames` decodes
the chosen frames (run it in a child process: footage is untrusted). Landmarks are
image pixels of the upright frame (as in `frames`). A thumbnail is a square-ish crop
around the person, long side `THUMB_PX`, WebP encoded.

A keyframe never misleads: its frame is the one nearest the rep's bottom, within
`BOTTOM_WINDOW_S`, whose pose passes the tracking and plausibility checks
(:mod:`hingeflow.plausibility`); angles are printed only where the quality gate lets them
be measured (:func:`hingeflow.quality_gate.sagittal_measurable`); a frame without head
landmarks is never kept (no keyframe is better than a visible face). A rep without such a
frame gets no image and a reason the report shows.
"""

from __future__ import annotations

import io

import av
import numpy as np
import polars as pl
from PIL import Image, ImageDraw

from hingeflow.decode import scaled_size, upright
from hingeflow.landmarks import LANDMARKS
from hingeflow.plausibility import JOINTS, plausible
from hingeflow.report.faces import FACE_FILL, FaceCheck, cover_faces, head_circle

THUMB_PX = 240  # long side of a thumbnail (a crop around the person)
DECODE_PX = 960  # long side the frame is decoded at before cropping
WEBP_QUALITY = 70
BOTTOM_WINDOW_S = 0.3  # a keyframe's frame lies at most this far from its rep's bottom time (s)
NOT_MEASURABLE = "angles not measurable from this camera"  # the caption where the gate says so
BONES = [("shoulder", "elbow"), ("elbow", "wrist"), ("shoulder", "hip"), ("hip", "knee"), ("knee", "ankle"),
         ("ankle", "heel"), ("heel", "foot_index"), ("ankle", "foot_index")]
FRAME_COLUMNS = ["video_id", "frame_idx", "t_s", "person", "near_side", "trunk_angle_deg", "knee_flexion_deg",
                 "hip_flexion_deg", *(f"{n}_{a}" for n in LANDMARKS for a in ("x", "y")),
                 *(f"{s}_{j}_vis" for s in ("left", "right") for j in JOINTS)]


def pick_reps(reps: pl.DataFrame) -> pl.DataFrame:
    """Per video its best and worst rep by form score (one row when they coincide):
    video_id, week, rep_index, t_bottom_s, form_score, which ("best" | "worst")."""
    ranked = reps.select("video_id", "week", "rep_index", "t_bottom_s", "form_score").sort("video_id", "form_score",
                                                                                   "rep_index")
    worst = ranked.group_by("video_id", maintain_order=True).first().with_columns(pl.lit("worst").alias("which"))
    best = ranked.group_by("video_id", maintain_order=True).last().with_columns(pl.lit("best").alias("which"))
    return pl.concat([best, worst.join(best, on=["video_id", "rep_index"], how="anti")]).sort("video_id", "rep_index")


def bottom_frames(picks: pl.DataFrame, frames: pl.DataFrame) -> pl.DataFrame:
    """For each picked rep, the frame nearest its bottom time, at most `BOTTOM_WINDOW_S` away,
    whose pose is plausible, with the columns drawing needs (`FRAME_COLUMNS`). A rep without
    one keeps a row with null `frame_idx` and a `reason` (null where a frame was found)."""
    checked = plausible(frames.select(FRAME_COLUMNS)).sort("t_s")
    good = checked.filter(pl.col("plausible")).drop("plausible", "implausible_reason")
    nearest = (checked.select("video_id", pl.col("t_s").alias("_t"), "implausible_reason").sort("_t"))
    picks = picks.sort("t_bottom_s")
    found = picks.join_asof(good, left_on="t_bottom_s", right_on="t_s", by="video_id", strategy="nearest",
                            tolerance=BOTTOM_WINDOW_S, check_sortedness=False)  # sorted overall, so per video
    why = picks.join_asof(nearest, left_on="t_bottom_s", right_on="_t", by="video_id", strategy="nearest",
                          check_sortedness=False).select("video_id", "rep_index", "implausible_reason")
    reason = pl.when(pl.col("frame_idx").is_not_null()).then(None).otherwise(
        pl.lit(f"no frame within {BOTTOM_WINDOW_S:g} s of the bottom has a believable pose (")
        + pl.col("implausible_reason").fill_null("no analysed frame") + ")")
    return (found.join(why, on=["video_id", "rep_index"], how="left").with_columns(reason.alias("reason"))
            .drop("implausible_reason").sort("video_id", "rep_index"))


def grab_frames(path: str, frame_idxs: list[int], long_side_px: int = DECODE_PX) -> dict[int, np.ndarray]:
    """Decode the frames with these decode-order indices: upright RGB, long side at most `long_side_px`."""
    wanted, out = set(frame_idxs), {}
    if not wanted:  # e.g. no frame of the video's picked reps had a believable pose: nothing to decode
        return out
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for idx, frame in enumerate(container.decode(stream)):
            if idx in wanted:
                width, height = scaled_size(frame.width, frame.height, long_side_px)
                rgb = frame.to_ndarray(format="rgb24", width=width, height=height)
                out[idx] = upright(rgb, getattr(frame, "rotation", 0) or 0)
                if len(out) == len(wanted):
                    break
    return out


def _point(row: dict, name: str, scale: float) -> tuple[float, float] | None:
    x, y = row.get(f"{name}_x"), row.get(f"{name}_y")
    if x is None or y is None or np.isnan(x) or np.isnan(y):
        return None
    return x * scale, y * scale


def scaled(row: dict, scale: float) -> dict:
    """The landmark pixels of `row` (`<landmark>_x`, `<landmark>_y`) times `scale`; NaN stays NaN."""
    return {f"{n}_{a}": (v * scale if (v := row.get(f"{n}_{a}")) is not None else np.nan)
            for n in LANDMARKS for a in ("x", "y")}


def face_circle(row: dict, scale: float) -> tuple[float, float, float] | None:
    """The head circle (:func:`hingeflow.report.faces.head_circle`) in pixels of the frame scaled by `scale`."""
    return head_circle(scaled(row, scale))


def cover_face(image: Image.Image, circle: tuple[float, float, float]) -> Image.Image:
    """`image` with the head inside `circle` covered by a flat grey square.

    A blur, a mosaic or a skin-coloured disc keeps a head-like blob that face detectors
    still fire on (measured on the dev clips); a flat square keeps no facial structure."""
    cx, cy, r = circle
    out = image.convert("RGB")
    ImageDraw.Draw(out).rectangle((int(cx - r), int(cy - r), int(cx + r) + 1, int(cy + r) + 1), fill=FACE_FILL)
    return out


def draw_pose(image: Image.Image, row: dict, scale: float, caption: str) -> Image.Image:
    """The near side's skeleton (bold) and the far side's (thin), plus `caption` (angles) at the top."""
    out = image.copy()
    pen = ImageDraw.Draw(out)
    near = row.get("near_side") or "left"
    for side in sorted(("left", "right"), key=lambda s: s == near):  # far side first, near on top
        width, colour = (3, (255, 214, 0)) if side == near else (1, (0, 200, 255))
        for a, b in BONES:
            p, q = _point(row, f"{side}_{a}", scale), _point(row, f"{side}_{b}", scale)
            if p and q:
                pen.line([p, q], fill=colour, width=width)
        for joint in ("shoulder", "hip", "knee", "ankle"):
            p = _point(row, f"{side}_{joint}", scale)
            if p and side == near:
                pen.ellipse((p[0] - 3, p[1] - 3, p[0] + 3, p[1] + 3), fill=(255, 80, 0))
    left, top, right, bottom = pen.textbbox((4, 3), caption)
    pen.rectangle((0, 0, right + 4, bottom + 3), fill=(0, 0, 0))
    pen.text((4, 3), caption, fill=(255, 255, 255))
    return out


def person_box(row: dict, scale: float, size: tuple[int, int], margin: float = 0.2) -> tuple[int, int, int, int]:
    """The landmarks' box grown by `margin` of its size on each side and made square (so a lifter
    bent over a bar keeps the bar in view), clipped to the image `size`; in image pixels."""
    pts = np.array([p for p in (_point(row, n, scale) for n in LANDMARKS) if p is not None])
    (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
    cx, cy, half = (x0 + x1) / 2, (y0 + y1) / 2, max(x1 - x0, y1 - y0) * (0.5 + margin)
    return (max(0, int(cx - half)), max(0, int(cy - half)), min(size[0], int(cx + half) + 1),
            min(size[1], int(cy + half) + 1))


def _moved(row: dict, scale: float, box: tuple[int, int, int, int], zoom: float) -> dict:
    """`row` with landmark pixels mapped into the crop `box` of the frame scaled by `scale`, then zoomed."""
    out = dict(row)
    for n in LANDMARKS:
        for axis, origin in (("x", box[0]), ("y", box[1])):
            v = row.get(f"{n}_{axis}")
            out[f"{n}_{axis}"] = None if v is None or np.isnan(v) else (v * scale - origin) * zoom
    return out


def angles_caption(row: dict, measurable: bool = True) -> str:
    """The frame's trunk, hip and knee angles (deg) as a label; :data:`NOT_MEASURABLE` when the
    quality gate says the view does not show them."""
    if not measurable:
        return NOT_MEASURABLE
    parts = [(label, row.get(col)) for label, col in (("trunk", "trunk_angle_deg"), ("hip", "hip_flexion_deg"),
                                                       ("knee", "knee_flexion_deg"))]
    return "  ".join(f"{label} {value:.0f}°" for label, value in parts if value is not None and not np.isnan(value))


def compose_keyframe(rgb: np.ndarray, row: dict, full_long_side: float, cover: bool = True,
                     measurable: bool = True) -> Image.Image | None:
    """One keyframe image: the crop around the person with the head covered (`cover=False`
    only to show what the cover hides), pose and angles drawn (no angles unless `measurable`);
    None when the head cannot be located. `full_long_side`: long side (px) of the frame the
    landmarks are measured in."""
    image = Image.fromarray(rgb)
    scale = max(image.size) / full_long_side
    circle = face_circle(row, scale)
    if circle is None:
        return None
    box = person_box(row, scale, image.size)
    crop = (cover_face(image, circle) if cover else image).crop(box)
    zoom = THUMB_PX / max(crop.size)
    crop = crop.resize((max(1, round(crop.width * zoom)), max(1, round(crop.height * zoom))),
                       Image.Resampling.LANCZOS)
    return draw_pose(crop, _moved(row, scale, box, zoom), 1.0, angles_caption(row, measurable))


def thumb_pose(row: dict, full_long_side: float, decoded_size: tuple[int, int]) -> dict:
    """The landmarks of `row` in pixels of its keyframe thumbnail, for a frame decoded at `decoded_size`
    (the mapping :func:`compose_keyframe` applies)."""
    scale = max(decoded_size) / full_long_side
    box = person_box(row, scale, decoded_size)
    zoom = THUMB_PX / max(box[2] - box[0], box[3] - box[1])
    return _moved(row, scale, box, zoom)


def render_keyframe(rgb: np.ndarray, row: dict, full_long_side: float, check: FaceCheck,
                    measurable: bool = True) -> tuple[bytes, int, int] | str:
    """(WebP bytes, width, height) of one keyframe (:func:`compose_keyframe`, head covered, then any
    face `check` confirms, e.g. a bystander's, covered too); or why there is none."""
    image = compose_keyframe(rgb, row, full_long_side, measurable=measurable)
    if image is None:
        return "head not located in the frame (a keyframe could show a face)"
    image = cover_faces(image, check, thumb_pose(row, full_long_side, (rgb.shape[1], rgb.shape[0])))
    if image is None:
        return "a face stayed visible after covering"
    buf = io.BytesIO()
    image.save(buf, format="WEBP", quality=WEBP_QUALITY, method=4)
    return buf.getvalue(), image.width, image.height
