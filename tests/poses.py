"""Hand-made pose rows (as in the `frames` table) for tests of pose checks and keyframes."""

from __future__ import annotations

import math

from hingeflow.landmarks import LANDMARKS
from hingeflow.plausibility import JOINTS

FPS = 30.0


def hinge_frame(video_id: str, idx: int, lean_deg: float) -> dict:
    """A right-facing lifter seen side-on (pixels, y down): hips at (300, 300), trunk 150 px
    leaning `lean_deg` forward, thigh and shin 130 px with soft knees, both sides nearly overlapping."""
    row = {"video_id": video_id, "frame_idx": idx, "t_s": idx / FPS, "person": True, "near_side": "left",
           "trunk_angle_deg": lean_deg, "knee_flexion_deg": 15.0, "hip_flexion_deg": lean_deg + 5}
    a = math.radians(lean_deg)
    for side, dx in (("left", 0.0), ("right", 4.0)):
        hip = (300 + dx, 300.0)
        points = {"hip": hip, "shoulder": (hip[0] + 150 * math.sin(a), hip[1] - 150 * math.cos(a)),
                  "knee": (hip[0] + 30, hip[1] + 126), "ankle": (hip[0] + 5, hip[1] + 254),
                  "elbow": (hip[0] + 150 * math.sin(a), hip[1] - 150 * math.cos(a) + 70),
                  "wrist": (hip[0] + 150 * math.sin(a), hip[1] - 150 * math.cos(a) + 140),
                  "heel": (hip[0] - 10, hip[1] + 265), "foot_index": (hip[0] + 30, hip[1] + 268)}
        for joint, (x, y) in points.items():
            row[f"{side}_{joint}_x"], row[f"{side}_{joint}_y"] = x, y
        for joint in JOINTS:
            row[f"{side}_{joint}_vis"] = 0.9 if side == "left" else 0.6
    sx, sy = row["left_shoulder_x"], row["left_shoulder_y"]
    for name in LANDMARKS:
        if f"{name}_x" not in row:  # head and hand points near the shoulder and wrist
            row[f"{name}_x"], row[f"{name}_y"] = (sx + 25, sy - 20) if LANDMARKS.index(name) <= 10 else (
                row["left_wrist_x"], row["left_wrist_y"])
    return row


def mislabelled(row: dict) -> dict:
    """The near side's shoulder put on the hip and the hip on the knee, as on bent-over lifters
    seen from a front diagonal: the drawn trunk would run down a leg."""
    out = dict(row)
    for axis in ("x", "y"):
        out[f"left_shoulder_{axis}"] = row[f"left_hip_{axis}"] + 3
        out[f"left_hip_{axis}"] = row[f"left_knee_{axis}"] - 3
    return out
