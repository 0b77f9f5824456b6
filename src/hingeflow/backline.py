"""Shape of the back from MediaPipe's person mask, between shoulder and hip (pure).

Landmarks have nothing between shoulder and hip, so rounding of the spine is
read from the silhouette: from points along the hip->shoulder chord we march
perpendicular, towards the athlete's back, to the mask edge. The edge points
trace the back's outline; a straight back gives a straight outline.
"""

from __future__ import annotations

import numpy as np

SAMPLES = 13  # points along the chord
FRACTIONS = np.linspace(0.12, 0.88, SAMPLES)  # skip the buttocks and the neck
MAX_REACH = 0.6  # how far to search for the edge, as a fraction of chord length
MASK_THRESHOLD = 0.5


def back_normal(u: np.ndarray, facing: int) -> np.ndarray:
    """Unit normal of the hip->shoulder direction u that points out of the athlete's back."""
    return np.array([u[1], -u[0]]) if facing > 0 else np.array([-u[1], u[0]])


def back_outline(mask: np.ndarray, hip: np.ndarray, shoulder: np.ndarray, facing: int) -> np.ndarray | None:
    """Outline points (SAMPLES, 2) in mask pixels, or None when the edge is not found."""
    chord = shoulder - hip
    length = float(np.hypot(*chord))
    if not np.isfinite(length) or length < 8:
        return None
    u = chord / length
    n = back_normal(u, facing)
    steps = np.arange(0, int(MAX_REACH * length) + 1, dtype=np.float64)
    base = hip[None, :] + FRACTIONS[:, None] * chord[None, :]  # (S, 2)
    pts = base[:, None, :] + steps[None, :, None] * n[None, None, :]  # (S, M, 2)
    xi = np.clip(np.round(pts[..., 0]).astype(int), 0, mask.shape[1] - 1)
    yi = np.clip(np.round(pts[..., 1]).astype(int), 0, mask.shape[0] - 1)
    inside = mask[yi, xi] >= MASK_THRESHOLD
    outside = ~inside
    outside[:, 0] = False
    if not inside[:, 0].all() or not outside.any(axis=1).all():
        return None
    edge = np.argmax(outside, axis=1).astype(np.float64)
    return base + edge[:, None] * n[None, :]


def back_shape(outline: np.ndarray, trunk_length: float, facing: int) -> tuple[float, float]:
    """(bulge as a fraction of trunk length, bend between lower and upper halves in degrees).

    Bulge: largest distance of the outline beyond the straight line joining its
    ends, positive outwards (rounded back), negative for a hollow (arched) back.
    """
    a, b = outline[0], outline[-1]
    d = b - a
    d_len = float(np.hypot(*d))
    if d_len < 1e-6:
        return float("nan"), float("nan")
    nrm = back_normal(d / d_len, facing)
    dev = (outline - a) @ nrm
    interior = dev[1:-1]
    bulge = float(interior[np.argmax(np.abs(interior))]) / trunk_length
    half = len(outline) // 2
    lower = np.polyfit(np.arange(half + 1), outline[: half + 1], 1)[0]
    upper = np.polyfit(np.arange(len(outline) - half), outline[half:], 1)[0]
    cos = float(lower @ upper / (np.linalg.norm(lower) * np.linalg.norm(upper)))
    bend = float(np.degrees(np.arccos(np.clip(cos, -1, 1))))
    # positive when the outline curves away from the back normal (rounding), negative when arching
    turn = float(lower[0] * upper[1] - lower[1] * upper[0]) * facing
    return bulge, bend if turn >= 0 else -bend


def measure_back(mask: np.ndarray, hip: np.ndarray, shoulder: np.ndarray, facing: int) -> tuple[float, float]:
    """Back bulge fraction and bend angle for one frame; NaN when not measurable."""
    outline = back_outline(mask, hip, shoulder, facing)
    if outline is None:
        return float("nan"), float("nan")
    return back_shape(outline, float(np.hypot(*(shoulder - hip))), facing)
