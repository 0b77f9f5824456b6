"""Compiled per-group loops (numba) behind the group-aware helpers of `grouped.py`.

Each kernel walks the groups (videos, shots) of a concatenated axis one after the
other and gives what the numpy/scipy call gives on that group alone, with the same
floating-point operations. They are compiled once per machine (`cache=True` keeps
the machine code next to this file) and release the GIL, so the analytics stage's
batches run side by side on threads.

Conventions: `bounds` (n_groups + 1,) int64: group g is elements bounds[g]:bounds[g + 1];
2D arrays are (series, n): the grouped axis is the last one.
"""

from __future__ import annotations

import numba
import numpy as np

_jit = numba.njit(cache=True, nogil=True)


@_jit
def running_medians(x: np.ndarray, bounds: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Centred running median over `sizes[g]` (odd) elements of each series x (series, n) within
    each group, edges repeating the group's first/last element (scipy.ndimage `median_filter`,
    mode "nearest"). A sorted copy of the window is updated by one removal and one insertion
    per step. Values must not be NaN."""
    out = np.empty_like(x)
    for g in range(bounds.size - 1):
        s, e = bounds[g], bounds[g + 1]
        if e == s:
            continue
        h = sizes[g] // 2
        window = np.empty(2 * h + 1)
        for k in range(x.shape[0]):
            row = x[k]
            for j in range(-h, h + 1):  # the window centred on the group's first element
                window[j + h] = row[min(max(s + j, s), e - 1)]
            window.sort()
            for i in range(s, e):
                out[k, i] = window[h]
                if i + 1 < e:
                    _replace_sorted(window, row[max(i - h, s)], row[min(i + h + 1, e - 1)])
    return out


@_jit
def _replace_sorted(window: np.ndarray, old: float, new: float) -> None:
    """In place: one element equal to `old` of the sorted `window` replaced by `new`, kept sorted.
    The positions are counts (no data-dependent branches, which the CPU mispredicts)."""
    at_old, below_new = 0, 0
    for j in range(window.size):
        at_old += window[j] < old
        below_new += window[j] < new
    if new > old:  # close the gap at old, open one just below the first value >= new
        for j in range(at_old, below_new - 1):
            window[j] = window[j + 1]
        window[below_new - 1] = new
    else:  # open a gap at below_new, shifting the values up to old's place right
        for j in range(at_old, below_new, -1):
            window[j] = window[j - 1]
        window[below_new] = new


@_jit
def filtfilt2_runs(b: np.ndarray, a: np.ndarray, zi: np.ndarray, x: np.ndarray, starts: np.ndarray,
                   ends: np.ndarray, edge: int) -> None:
    """In place: each run starts[r]:ends[r] of every series x (series, n) replaced by scipy's
    `filtfilt(b, a, run)` for a second-order filter (b, a of length 3, a[0] = 1; zi =
    `lfilter_zi(b, a)`): odd extension by `edge` values at both ends, then scipy `lfilter`'s
    direct form II transposed steps, in its order, forward from zi * the first value and
    backward from zi * the last. A run's series are filtered side by side (frames x series
    buffer): their recurrences are independent, so the CPU overlaps them."""
    k_series = x.shape[0]
    b0, b1, b2, a1, a2 = b[0], b[1], b[2], a[1], a[2]
    z0, z1 = np.empty(k_series), np.empty(k_series)
    for r in range(starts.size):
        s, m = starts[r], ends[r] - starts[r]
        width = m + 2 * edge
        buf = np.empty((width, k_series))
        for k in range(k_series):
            first, last = x[k, s], x[k, s + m - 1]
            for j in range(edge):
                buf[j, k] = 2 * first - x[k, s + edge - j]
                buf[edge + m + j, k] = 2 * last - x[k, s + m - 2 - j]
            for j in range(m):
                buf[edge + j, k] = x[k, s + j]
        for backward in (False, True):
            at = width - 1 if backward else 0
            for k in range(k_series):
                z0[k], z1[k] = zi[0] * buf[at, k], zi[1] * buf[at, k]
            for step in range(width):
                j = width - 1 - step if backward else step
                for k in range(k_series):
                    v = buf[j, k]
                    y = z0[k] + b0 * v
                    z0[k] = z1[k] + v * b1 - y * a1
                    z1[k] = v * b2 - y * a2
                    buf[j, k] = y
        for k in range(k_series):
            for j in range(m):
                x[k, s + j] = buf[edge + j, k]


# ----------------------------------------------------------------------------- body measures

_DEG = 180.0 / np.pi
BODY_POINTS = ("near_shoulder", "far_shoulder", "near_hip", "far_hip", "near_ear", "far_ear", "near_knee",
               "near_ankle")  # `body_measures` reads these points' x and y ...
BODY_VALUES = ("far_ankle_y", "near_wrist_x", "near_heel_x", "near_foot_index_x")  # ... and these coordinates
BODY_MEASURES = ("trunk", "knee", "hip", "neck", "hip_tilt", "sh_mid_x", "sh_mid_y", "hip_mid_x", "hip_mid_y",
                 "chord", "thigh", "height", "wrist_x", "shank", "hip_ankle")  # its output rows


@_jit
def _flexion(ax: float, ay: float, bx: float, by: float, cx: float, cy: float) -> float:
    """180 - angle ABC at b, degrees (`angles.flexion_deg`)."""
    ux, uy, vx, vy = ax - bx, ay - by, cx - bx, cy - by
    cos = (ux * vx + uy * vy) / (np.sqrt(ux * ux + uy * uy) * np.sqrt(vx * vx + vy * vy))
    return 180.0 - np.arccos(_clip1(cos)) * _DEG


@_jit
def _clip1(c: float) -> float:
    """c clipped to [-1, 1]; NaN stays NaN (as `np.clip`)."""
    return -1.0 if c < -1.0 else (1.0 if c > 1.0 else c)


@_jit
def body_measures(pts: np.ndarray, rows: np.ndarray, facing: np.ndarray, left: np.ndarray) -> np.ndarray:
    """(len(BODY_MEASURES), N) per-frame angles (deg) and distances (px) of the smoothed landmark
    coordinates `pts` (coordinates, N): rows[i] is the x row of BODY_POINTS[i] (its y is the
    next row), then the rows of BODY_VALUES. `facing` (N,) +1/-1; `left` (N,) the near side is left.

    Angles as in `hingeflow.angles` (image y down): trunk = hip-mid -> shoulder-mid line from
    vertical, + towards the facing side; knee = 180 - angle(hip, knee, ankle), hip = 180 -
    angle(shoulder, hip, knee), near side; neck = ear-mid line minus trunk line direction,
    wrapped to [-180, 180); hip_tilt = the right-minus-left hip line from horizontal. Distances:
    chord = shoulder-mid to hip-mid, thigh, shank, hip_ankle = near hip to ankle, height =
    shoulders above the mean ankle y, wrist_x = near wrist x minus the mid-foot x.
    """
    n = pts.shape[1]
    out = np.empty((len(BODY_MEASURES), n))
    for i in range(n):
        nsx, nsy, fsx, fsy = pts[rows[0], i], pts[rows[0] + 1, i], pts[rows[1], i], pts[rows[1] + 1, i]
        nhx, nhy, fhx, fhy = pts[rows[2], i], pts[rows[2] + 1, i], pts[rows[3], i], pts[rows[3] + 1, i]
        nex, ney, fex, fey = pts[rows[4], i], pts[rows[4] + 1, i], pts[rows[5], i], pts[rows[5] + 1, i]
        kx, ky, ax, ay = pts[rows[6], i], pts[rows[6] + 1, i], pts[rows[7], i], pts[rows[7] + 1, i]
        far_ankle_y, wrist_x, heel_x, toe_x = pts[rows[8], i], pts[rows[9], i], pts[rows[10], i], pts[rows[11], i]
        f = facing[i]
        shx, shy, hipx, hipy = (nsx + fsx) / 2, (nsy + fsy) / 2, (nhx + fhx) / 2, (nhy + fhy) / 2
        earx, eary = (nex + fex) / 2, (ney + fey) / 2
        trunk = np.arctan2(f * (shx - hipx), -(shy - hipy)) * _DEG
        neck = np.arctan2(f * (earx - shx), -(eary - shy)) * _DEG - trunk
        dx, dy = (fhx - nhx, fhy - nhy) if left[i] else (nhx - fhx, nhy - fhy)  # right hip minus left hip
        out[0, i] = trunk
        out[1, i] = _flexion(nhx, nhy, kx, ky, ax, ay)
        out[2, i] = _flexion(nsx, nsy, nhx, nhy, kx, ky)
        out[3, i] = (neck + 180.0) % 360.0 - 180.0
        out[4, i] = np.arctan2(dy, abs(dx)) * _DEG
        out[5, i], out[6, i], out[7, i], out[8, i] = shx, shy, hipx, hipy
        out[9, i] = np.sqrt((shx - hipx) ** 2 + (shy - hipy) ** 2)
        out[10, i] = np.sqrt((nhx - kx) ** 2 + (nhy - ky) ** 2)
        out[11, i] = (ay + far_ankle_y) / 2 - shy
        out[12, i] = wrist_x - (heel_x + toe_x) / 2
        out[13, i] = np.sqrt((kx - ax) ** 2 + (ky - ay) ** 2)
        out[14, i] = np.sqrt((nhx - ax) ** 2 + (nhy - ay) ** 2)
    return out


@_jit
def raise_deep_knee(knee: np.ndarray, hip_ankle: np.ndarray, thigh: np.ndarray, shank: np.ndarray,
                    ids: np.ndarray, frames: np.ndarray, min_deg: float) -> None:
    """In place: knee flexion (N,) raised to the hip-ankle chord estimate 180 - acos((T^2 + S^2 -
    D^2) / (2 T S)) where that exceeds `min_deg`, in the `frames` (N,) bool of groups whose median
    thigh T and shank S (`thigh`, `shank` (groups,), px) are positive; D = `hip_ankle` (N,) px,
    `ids` (N,) each frame's group."""
    for i in range(knee.size):
        t, s = thigh[ids[i]], shank[ids[i]]
        if not (frames[i] and t > 0 and s > 0):
            continue
        c = (t * t + s * s - hip_ankle[i] * hip_ankle[i]) / (2 * t * s)
        chord = 180.0 - np.arccos(_clip1(c)) * _DEG
        if chord > min_deg and not knee[i] >= chord:  # `np.fmax`: a NaN knee takes the chord's value
            knee[i] = chord
