"""Faces in a keyframe image: a detector's raw finds, each confirmed or rejected.

MediaPipe's face detectors (BlazeFace, short and full range) fire on round, face-sized
structure: on real gym footage they found a barbell plate's hub, a hand on a plate and
the back of a shirt. A privacy check that fails on plates gets switched off, and then
misses a real face, so each raw detection (both models, score >= :data:`DETECT_CONFIDENCE`)
is classified before it counts. With the lifter's pose landmarks in image pixels:

1. **head**: the box centre lies within the lifter's head circle (nose, eyes, ears, mouth;
   :func:`head_circle`) — the lifter's face: confirmed.
2. **second model**: Face Mesh (MediaPipe's face-landmark model: its own detector, then 468
   landmarks gated by the model's face-presence score at :data:`PRESENCE_THRESHOLD`) on a
   square crop :data:`CONFIRM_CONTEXT` times the box, scaled to :data:`CONFIRM_PX`, finds a
   face whose landmark centre lies in the box: confirmed. Face Mesh is a frontal model and
   misses most faces in profile, hence rule 3.
3. **off the lifter**: the box centre is farther than :data:`BODY_MARGIN` trunk lengths from
   every bone of the lifter's skeleton (a bystander, or something in the background) and a
   detector scored it >= :data:`OFF_BODY_CONFIDENCE`: confirmed.
4. Anything else is rejected: on the lifter's body away from the head (hands on a plate, a
   plate at the shins, the back of a shirt), or off the body with a weak score and no face
   landmarks.

Without pose landmarks only rules 2 and 3 apply (every detection counts as off the body).
A confirmed face is covered; a rejected detection is left as it is. Boxes are image pixels
(x0, y0, x1, y1), x right, y down. The thresholds and what they kept and rejected on the dev
clips are in docs/keyframes.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from hingeflow.landmarks import INDEX, LANDMARKS

DETECT_CONFIDENCE = 0.5  # BlazeFace score for a raw detection (MediaPipe's default)
PRESENCE_THRESHOLD = 0.5  # Face Mesh's face-presence score for a confirmation (MediaPipe's default)
CONFIRM_CONTEXT = 2.0  # the confirming crop: a square this many times the raw box's long side
CONFIRM_PX = 256  # side of the confirming crop after scaling (px)
BODY_MARGIN = 0.35  # within this many trunk lengths of a bone, a detection is on the lifter's body
OFF_BODY_CONFIDENCE = 0.75  # off the body, a raw score this high counts as a face without Face Mesh
FACE_FILL = (128, 128, 128)  # what covers a face

HEAD = range(INDEX["mouth_right"] + 1)  # nose, eyes, ears, mouth
SKELETON = [(f"{s}_{a}", f"{s}_{b}") for s in ("left", "right") for a, b in (
    ("shoulder", "elbow"), ("elbow", "wrist"), ("shoulder", "hip"), ("hip", "knee"), ("knee", "ankle"),
    ("ankle", "foot_index"))] + [("left_shoulder", "right_shoulder"), ("left_hip", "right_hip")]

Box = tuple[int, int, int, int]
Point = tuple[float, float]


@dataclass(frozen=True)
class Detection:
    """One raw detection: its box, the detector's score, and the verdict (rule that decided it)."""

    box: Box
    score: float
    verdict: str  # "head" | "face landmarks" | "off the lifter" (confirmed); "on the body" | "weak" (rejected)

    @property
    def confirmed(self) -> bool:
        return self.verdict in ("head", "face landmarks", "off the lifter")


@dataclass(frozen=True)
class Faces:
    """What :class:`FaceCheck` saw in one image."""

    detections: list[Detection]

    @property
    def confirmed(self) -> list[Box]:
        """Boxes of the detections that count as faces."""
        return [d.box for d in self.detections if d.confirmed]

    @property
    def rejected(self) -> list[Detection]:
        """The detections that do not count as faces."""
        return [d for d in self.detections if not d.confirmed]


def _point(pose: dict, name: str) -> Point | None:
    x, y = pose.get(f"{name}_x"), pose.get(f"{name}_y")
    if x is None or y is None or np.isnan(x) or np.isnan(y):
        return None
    return float(x), float(y)


def head_circle(pose: dict) -> tuple[float, float, float] | None:
    """(x, y, radius) in the pose's pixels covering the whole head (face and hair): centred between
    the face landmarks and the ears, radius the larger of 2.2x their spread and 0.7x the
    nose-to-shoulder distance. None with fewer than 3 head landmarks."""
    pts = [p for p in (_point(pose, LANDMARKS[i]) for i in HEAD) if p is not None]
    if len(pts) < 3:
        return None
    xy = np.array(pts)
    ears = [p for p in (_point(pose, f"{s}_ear") for s in ("left", "right")) if p is not None]
    cx, cy = (xy.mean(axis=0) + np.mean(ears, axis=0)) / 2 if ears else xy.mean(axis=0)
    radius = 2.2 * float(np.max(np.hypot(xy[:, 0] - cx, xy[:, 1] - cy)))
    shoulders = [p for p in (_point(pose, f"{s}_shoulder") for s in ("left", "right")) if p is not None]
    nose = _point(pose, "nose")
    if shoulders and nose:
        sx, sy = np.mean(shoulders, axis=0)
        radius = max(radius, 0.7 * float(np.hypot(sx - nose[0], sy - nose[1])))
    return float(cx), float(cy), max(radius, 6.0)


def _segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """Distance (px) from point `p` to the segment a-b."""
    ab = b - a
    t = 0.0 if not ab.any() else float(np.clip(np.dot(p - a, ab) / np.dot(ab, ab), 0, 1))
    return float(np.linalg.norm(p - (a + t * ab)))


def _trunk_length(pose: dict) -> float | None:
    """Shoulder-midpoint to hip-midpoint distance (px), or None."""
    pts = {n: _point(pose, n) for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")}
    if any(p is None for p in pts.values()):
        return None
    s = (np.array(pts["left_shoulder"]) + pts["right_shoulder"]) / 2
    h = (np.array(pts["left_hip"]) + pts["right_hip"]) / 2
    return float(np.linalg.norm(s - h))


def where_on_lifter(box: Box, pose: dict | None) -> str:
    """"head", "body" or "off" for a box centre against the lifter's pose (image pixels); "off"
    without a usable pose."""
    if not pose:
        return "off"
    centre = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])
    head = head_circle(pose)
    if head is not None and np.hypot(centre[0] - head[0], centre[1] - head[1]) <= head[2]:
        return "head"
    trunk = _trunk_length(pose)
    if trunk is None:
        return "off"
    bones = [(np.array(p), np.array(q)) for a, b in SKELETON
             if (p := _point(pose, a)) is not None and (q := _point(pose, b)) is not None]
    near = min((_segment_distance(centre, p, q) for p, q in bones), default=np.inf)
    return "body" if near <= BODY_MARGIN * trunk else "off"


def confirm_crop(image: Image.Image, box: Box) -> tuple[Image.Image, tuple[float, float, float]]:
    """The square crop around `box` that Face Mesh sees (grey outside the image), scaled to
    :data:`CONFIRM_PX`, and (left, top, scale) mapping crop pixels back to `image`."""
    x0, y0, x1, y1 = box
    side = CONFIRM_CONTEXT * max(x1 - x0, y1 - y0, 1)
    left, top = (x0 + x1) / 2 - side / 2, (y0 + y1) / 2 - side / 2
    canvas = Image.new("RGB", (int(np.ceil(side)), int(np.ceil(side))), FACE_FILL)
    canvas.paste(image.convert("RGB").crop((int(left), int(top), int(left + side), int(top + side))), (0, 0))
    return canvas.resize((CONFIRM_PX, CONFIRM_PX), Image.Resampling.BICUBIC), (left, top, side / CONFIRM_PX)


class FaceCheck:
    """Raw face detections in an image, each confirmed or rejected (module docstring)."""

    def __init__(self) -> None:
        import mediapipe as mp

        detection = mp.solutions.face_detection.FaceDetection
        self.detectors = [detection(model_selection=m, min_detection_confidence=DETECT_CONFIDENCE) for m in (0, 1)]
        self.mesh = mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1,
                                                    min_detection_confidence=DETECT_CONFIDENCE,
                                                    min_tracking_confidence=PRESENCE_THRESHOLD)

    def __enter__(self) -> FaceCheck:
        return self

    def __exit__(self, *exc: object) -> None:
        for model in (*self.detectors, self.mesh):
            model.close()

    def raw(self, image: Image.Image) -> list[tuple[Box, float]]:
        """Tight face boxes and scores from both detectors (duplicates kept), image pixels."""
        rgb = np.ascontiguousarray(np.asarray(image.convert("RGB")))
        found = []
        for model in self.detectors:
            for d in model.process(rgb).detections or []:
                b = d.location_data.relative_bounding_box
                x, y = b.xmin * image.width, b.ymin * image.height
                box = (int(x), int(y), int(x + b.width * image.width) + 1, int(y + b.height * image.height) + 1)
                found.append((box, float(d.score[0])))
        return found

    def has_face_landmarks(self, image: Image.Image, box: Box) -> bool:
        """Whether Face Mesh finds a face whose landmark centre lies inside `box`."""
        crop, (left, top, scale) = confirm_crop(image, box)
        found = self.mesh.process(np.ascontiguousarray(np.asarray(crop))).multi_face_landmarks
        if not found:
            return False
        pts = np.array([(p.x, p.y) for p in found[0].landmark]) * CONFIRM_PX
        cx, cy = left + pts[:, 0].mean() * scale, top + pts[:, 1].mean() * scale
        return box[0] <= cx <= box[2] and box[1] <= cy <= box[3]

    def verdict(self, image: Image.Image, box: Box, score: float, pose: dict | None) -> str:
        """The rule that decides one raw detection (module docstring)."""
        place = where_on_lifter(box, pose)
        if place == "head":
            return "head"
        if self.has_face_landmarks(image, box):
            return "face landmarks"
        if place == "off":
            return "off the lifter" if score >= OFF_BODY_CONFIDENCE else "weak"
        return "on the body"

    def __call__(self, image: Image.Image, pose: dict | None = None) -> Faces:
        """Every raw detection in `image` with its verdict; `pose`: the lifter's landmarks in the
        image's pixels (`<landmark>_x`, `<landmark>_y`), if known."""
        return Faces([Detection(box, score, self.verdict(image, box, score, pose)) for box, score in self.raw(image)])


def _grown(box: Box, image: Image.Image) -> Box:
    """A detector's tight face box grown to cover forehead, hair and chin, clipped to `image`."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    return (max(0, int(x0 - 0.3 * w)), max(0, int(y0 - 0.5 * h)), min(image.width, int(x1 + 0.3 * w) + 1),
            min(image.height, int(y1 + 0.3 * h) + 1))


def cover_faces(image: Image.Image, check: FaceCheck, pose: dict | None = None,
                passes: int = 2) -> Image.Image | None:
    """`image` with every confirmed face covered by a flat grey box (grown past hair and chin),
    or None if one is still confirmed after `passes`."""
    seen = check(image, pose)
    for _ in range(passes):
        if not seen.confirmed:
            return image
        image = image.copy()
        pen = ImageDraw.Draw(image)
        for box in seen.confirmed:
            pen.rectangle(_grown(box, image), fill=FACE_FILL)
        seen = check(image, pose)
    return None if seen.confirmed else image
