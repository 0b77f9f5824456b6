"""Sagittal joint angles from 2D landmarks (pure, vectorised over frames).

Conventions (DESIGN.md), image plane of the upright frame, y pointing down:
- trunk angle: hip-midpoint -> shoulder-midpoint line from vertical, degrees;
  0 upright, 90 horizontal, negative = leaning back; signed by facing.
- knee flexion: 180 - angle(hip, knee, ankle); 0 = straight leg.
- hip flexion: 180 - angle(shoulder, hip, knee).
Inputs are arrays of shape (n, 2) in pixels; NaN propagates.
"""

from __future__ import annotations

import numpy as np

from hingeflow.landmarks import INDEX

SAGITTAL = ("shoulder", "hip", "knee", "ankle")


def inner_angle_deg(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Angle ABC at vertex b, degrees in [0, 180]."""
    u, v = a - b, c - b
    cos = np.sum(u * v, axis=-1) / (np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1))
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def flexion_deg(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """180 - inner angle at b: 0 when a, b, c are in a straight line."""
    return 180.0 - inner_angle_deg(a, b, c)


def trunk_angle_deg(hip: np.ndarray, shoulder: np.ndarray, facing: np.ndarray | float) -> np.ndarray:
    """Hip->shoulder line from vertical; positive when leaning towards the facing side."""
    d = shoulder - hip
    return np.degrees(np.arctan2(np.asarray(facing) * d[..., 0], -d[..., 1]))


def facing_from_feet(xy: np.ndarray, vis: np.ndarray) -> int:
    """+1 if the athlete faces image right, -1 if left, from heel->toe vectors (median over frames).

    Falls back to nose vs ears when feet are not seen. xy: (n, 33, 2), vis: (n, 33).
    """
    votes = []
    for side in ("left", "right"):
        toe, heel = INDEX[f"{side}_foot_index"], INDEX[f"{side}_heel"]
        ok = (vis[:, toe] > 0.3) & (vis[:, heel] > 0.3)
        votes.append(xy[ok, toe, 0] - xy[ok, heel, 0])
    d = np.concatenate(votes) if votes else np.empty(0)
    d = d[np.isfinite(d)]
    if d.size:
        return 1 if np.median(d) >= 0 else -1
    ears = (xy[:, INDEX["left_ear"], 0] + xy[:, INDEX["right_ear"], 0]) / 2
    nose = xy[:, INDEX["nose"], 0] - ears
    nose = nose[np.isfinite(nose)]
    return 1 if nose.size == 0 or np.median(nose) >= 0 else -1


def near_side(vis: np.ndarray) -> str:
    """'left' or 'right': the side whose sagittal landmarks are more visible over the clip."""
    score = {
        side: np.nansum([vis[:, INDEX[f"{side}_{j}"]] for j in SAGITTAL]) for side in ("left", "right")
    }
    return "left" if score["left"] >= score["right"] else "right"


def frame_angles(xy: np.ndarray, facing: int, side: str) -> dict[str, np.ndarray]:
    """Trunk, knee and hip angles per frame from landmarks xy (n, 33, 2) in pixels."""
    def p(name: str) -> np.ndarray:
        return xy[:, INDEX[name]]

    hip_mid = (p("left_hip") + p("right_hip")) / 2
    shoulder_mid = (p("left_shoulder") + p("right_shoulder")) / 2
    s, h, k, a = (p(f"{side}_{j}") for j in SAGITTAL)
    return {
        "trunk_angle_deg": trunk_angle_deg(hip_mid, shoulder_mid, facing),
        "knee_flexion_deg": flexion_deg(h, k, a),
        "hip_flexion_deg": flexion_deg(s, h, k),
    }
