"""Keyframes for the coach report: the bottom position of a video's best and worst rep,
with the skeleton and measured angles drawn on and the head covered.

Pure parts pick the reps and their frames and draw on images; `grab_frames` decodes
the chosen frames (run it in a child process: footage is untrusted). Landmarks are
image pixels of the upright frame (as in `frames`). A thumbnail is a square-ish crop
around the person, long side `THUMB_PX`, WebP encoded. A frame without head landmarks
is never kept: no keyframe is better than a visible face.
"""

from __future__ import annotations

import io

import av
import numpy as np
import polars as pl
from PIL import Image, ImageDraw

from hingeflow.decode import scaled_size, upright
from hingeflow.landmarks import INDEX, LANDMARKS

THUMB_PX = 240  # long side of a thumbnail (a crop around the person)
DECODE_PX = 960  # long side the frame is decoded at before cropping
WEBP_QUALITY = 70
FACE_FILL = (128, 128, 128)  # what covers the head
HEAD = range(INDEX["mouth_right"] + 1)  # nose, eyes, ears, mouth
BONES = [("shoulder", "elbow"), ("elbow", "wrist"), ("shoulder", "hip"), ("hip", "knee"), ("knee", "ankle"),
         ("ankle", "heel"), ("heel", "foot_index"), ("ankle", "foot_index")]
FRAME_COLUMNS = ["video_id", "frame_idx", "t_s", "near_side", "trunk_angle_deg", "knee_flexion_deg",
                 "hip_flexion_deg", *(f"{n}_{a}" for n in LANDMARKS for a in ("x", "y"))]


def pick_reps(reps: pl.DataFrame) -> pl.DataFrame:
    """Per video its best and worst rep by form score (one row when they coincide):
    video_id, week, rep_index, t_bottom_s, form_score, which ("best" | "worst")."""
    ranked = reps.select("video_id", "week", "rep_index", "t_bottom_s", "form_score").sort("video_id", "form_score",
                                                                                   "rep_index")
    worst = ranked.group_by("video_id", maintain_order=True).first().with_columns(pl.lit("worst").alias("which"))
    best = ranked.group_by("video_id", maintain_order=True).last().with_columns(pl.lit("best").alias("which"))
    return pl.concat([best, worst.join(best, on=["video_id", "rep_index"], how="anti")]).sort("video_id", "rep_index")


def bottom_frames(picks: pl.DataFrame, frames: pl.DataFrame) -> pl.DataFrame:
    """For each picked rep, the analysed frame with a person nearest its bottom time, with the
    columns drawing needs (`FRAME_COLUMNS`)."""
    found = frames.filter(pl.col("person")).select(FRAME_COLUMNS).sort("t_s")
    return (picks.sort("t_bottom_s")
            .join_asof(found, left_on="t_bottom_s", right_on="t_s", by="video_id", strategy="nearest",
                       check_sortedness=False)  # sorted by time overall, hence within each video
            .drop_nulls("frame_idx").sort("video_id", "rep_index"))


def grab_frames(path: str, frame_idxs: list[int], long_side_px: int = DECODE_PX) -> dict[int, np.ndarray]:
    """Decode the frames with these decode-order indices: upright RGB, long side at most `long_side_px`."""
    wanted, out = set(frame_idxs), {}
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


def face_circle(row: dict, scale: float) -> tuple[float, float, float] | None:
    """(x, y, radius) in thumbnail pixels covering the whole head (face and hair), from the
    nose, eye, ear and mouth landmarks: centred between the face landmarks and the ears, radius
    the larger of 2.2x their spread and 0.7x the nose-to-shoulder distance. None without head
    landmarks."""
    pts = [p for p in (_point(row, LANDMARKS[i], scale) for i in HEAD) if p is not None]
    if len(pts) < 3:
        return None
    xy = np.array(pts)
    ears = [p for p in (_point(row, f"{s}_ear", scale) for s in ("left", "right")) if p is not None]
    cx, cy = (xy.mean(axis=0) + np.mean(ears, axis=0)) / 2 if ears else xy.mean(axis=0)
    radius = 2.2 * float(np.max(np.hypot(xy[:, 0] - cx, xy[:, 1] - cy)))
    shoulders = [p for p in (_point(row, f"{s}_shoulder", scale) for s in ("left", "right")) if p is not None]
    nose = _point(row, "nose", scale)
    if shoulders and nose:
        sx, sy = np.mean(shoulders, axis=0)
        radius = max(radius, 0.7 * float(np.hypot(sx - nose[0], sy - nose[1])))
    return float(cx), float(cy), max(radius, 6.0)


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


def angles_caption(row: dict) -> str:
    parts = [(label, row.get(col)) for label, col in (("trunk", "trunk_angle_deg"), ("hip", "hip_flexion_deg"),
                                                       ("knee", "knee_flexion_deg"))]
    return "  ".join(f"{label} {value:.0f}°" for label, value in parts if value is not None and not np.isnan(value))


class FaceFinder:
    """MediaPipe's bundled face detectors (short and full range): face boxes in an image, in
    pixels. Covers faces the pose landmarks do not reach, such as bystanders."""

    def __init__(self, min_confidence: float = 0.5) -> None:
        import mediapipe as mp

        face = mp.solutions.face_detection.FaceDetection
        self.models = [face(model_selection=m, min_detection_confidence=min_confidence) for m in (0, 1)]

    def __enter__(self) -> FaceFinder:
        return self

    def __exit__(self, *exc: object) -> None:
        for m in self.models:
            m.close()

    def __call__(self, image: Image.Image) -> list[tuple[int, int, int, int]]:
        rgb = np.ascontiguousarray(np.asarray(image.convert("RGB")))
        boxes = []
        for model in self.models:
            for d in model.process(rgb).detections or []:
                b = d.location_data.relative_bounding_box
                x, y, w, h = b.xmin * image.width, b.ymin * image.height, b.width * image.width, b.height * image.height
                boxes.append((int(x - 0.3 * w), int(y - 0.5 * h), int(x + 1.3 * w) + 1, int(y + 1.3 * h) + 1))
        return boxes


def cover_found_faces(image: Image.Image, finder: FaceFinder, passes: int = 2) -> Image.Image | None:
    """`image` with every face `finder` sees covered; None if one is still found after `passes`."""
    for _ in range(passes):
        boxes = finder(image)
        if not boxes:
            return image
        image = image.copy()
        pen = ImageDraw.Draw(image)
        for box in boxes:
            pen.rectangle(box, fill=FACE_FILL)
    return None if finder(image) else image


def compose_keyframe(rgb: np.ndarray, row: dict, full_long_side: float, cover: bool = True) -> Image.Image | None:
    """One keyframe image: the crop around the person with the head covered (`cover=False`
    only to show what the cover hides), pose and angles drawn; None when the head cannot be
    located. `full_long_side`: long side (px) of the frame the landmarks are measured in."""
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
    return draw_pose(crop, _moved(row, scale, box, zoom), 1.0, angles_caption(row))


def render_keyframe(rgb: np.ndarray, row: dict, full_long_side: float,
                    finder: FaceFinder) -> tuple[bytes, int, int] | None:
    """(WebP bytes, width, height) of one keyframe (:func:`compose_keyframe`, head covered, then any face the
    `finder` still sees, e.g. a bystander's); None without a head or with a face left."""
    image = compose_keyframe(rgb, row, full_long_side)
    image = cover_found_faces(image, finder) if image is not None else None
    if image is None:
        return None
    buf = io.BytesIO()
    image.save(buf, format="WEBP", quality=WEBP_QUALITY, method=4)
    return buf.getvalue(), image.width, image.height
