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
                if i + 1 == e:
                    break
                old, new = row[max(i - h, s)], row[min(i + h + 1, e - 1)]
                _replace_sorted(window, old, new)
    return out


@_jit
def _replace_sorted(window: np.ndarray, old: float, new: float) -> None:
    """In place: one element equal to `old` of the sorted `window` replaced by `new`, kept sorted."""
    j = np.searchsorted(window, old)
    if new >= old:
        while j + 1 < window.size and window[j + 1] < new:
            window[j] = window[j + 1]
            j += 1
    else:
        while j > 0 and window[j - 1] > new:
            window[j] = window[j - 1]
            j -= 1
    window[j] = new


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
