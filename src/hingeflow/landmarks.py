"""MediaPipe BlazePose landmark names, in model output order."""

from __future__ import annotations

LANDMARKS: tuple[str, ...] = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner",
    "right_eye", "right_eye_outer", "left_ear", "right_ear", "mouth_left",
    "mouth_right", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_pinky", "right_pinky", "left_index",
    "right_index", "left_thumb", "right_thumb", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel",
    "right_heel", "left_foot_index", "right_foot_index",
)
INDEX: dict[str, int] = {name: i for i, name in enumerate(LANDMARKS)}

# Per-landmark columns in the frames table: image pixels of the upright frame,
# visibility in [0, 1], and world coordinates in metres (hip-centred).
PIXEL_SUFFIXES: tuple[str, ...] = ("x", "y", "vis")
WORLD_SUFFIXES: tuple[str, ...] = ("wx", "wy", "wz")


def landmark_columns() -> list[str]:
    """Column names `<landmark>_<suffix>` in model order."""
    return [f"{n}_{s}" for n in LANDMARKS for s in PIXEL_SUFFIXES + WORLD_SUFFIXES]
