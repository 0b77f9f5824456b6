"""Compiled loops (numba) of the analytics stage: what numpy cannot vectorise without big
temporaries or a Python loop.

Group kernels (behind `grouped.py`'s helpers) walk the groups (videos, shots) of a
concatenated axis one after the other and give what the numpy/scipy call gives on
that group alone, with the same floating-point operations (where one departs from
that, skipping elements or summing in another order, its docstring says so).
Per-frame kernels (behind `signals.py`) fuse the arithmetic of several numpy steps
into one pass. All are
compiled once per machine (`cache=True` keeps the machine code in `__pycache__`)
and release the GIL, so the stage's batches run side by side on threads.

Conventions: `bounds` (n_groups + 1,) int64: group g is elements bounds[g]:bounds[g + 1];
2D arrays are (series, n): the frame axis is the last one.
"""

from __future__ import annotations

import numba
import numpy as np

_jit = numba.njit(cache=True, nogil=True)


@_jit
def running_medians(x: np.ndarray, bounds: np.ndarray, sizes: np.ndarray, spread_limit: np.ndarray) -> np.ndarray:
    """Centred running median over `sizes[g]` (odd) elements of each series x (series, n) within
    each group, edges repeating the group's first/last element (scipy.ndimage `median_filter`,
    mode "nearest"). Values must not be NaN.

    Element i is skipped (NaN in every series) where its window's spread, the Euclidean norm
    over the series of (max - min), is below `spread_limit[i]` (no skipping when `spread_limit`
    is empty): every value of that window, its median included, then lies within that distance
    of element i's own value. Elsewhere a sorted copy of the window is updated by one removal
    and one insertion per step, and rebuilt after skipped elements."""
    out = np.empty_like(x)
    for g in range(bounds.size - 1):
        s, e = bounds[g], bounds[g + 1]
        if e == s:
            continue
        h = sizes[g] // 2
        skip = _narrow_windows(x, s, e, h, spread_limit) if spread_limit.size else np.zeros(e - s, dtype=np.bool_)
        window = np.empty(2 * h + 1)
        for k in range(x.shape[0]):
            row = x[k]
            have = False  # window holds element i - 1's window
            for i in range(s, e):
                if skip[i - s]:
                    out[k, i] = np.nan
                    have = False
                    continue
                if have:
                    _replace_sorted(window, row[max(i - 1 - h, s)], row[min(i + h, e - 1)])
                else:
                    for j in range(-h, h + 1):
                        window[j + h] = row[min(max(i + j, s), e - 1)]
                    window.sort()
                    have = True
                out[k, i] = window[h]
    return out


@_jit
def _narrow_windows(x: np.ndarray, s: int, e: int, h: int, spread_limit: np.ndarray) -> np.ndarray:
    """(e - s,) bool: the window [i - h, i + h] (clipped to s..e - 1) of each element i of the group
    s..e has a spread (norm over the series of max - min) below `spread_limit[i]`. Running
    minima and maxima by monotonic queues of positions."""
    n = e - s
    spread2 = np.zeros(n)
    lo_q, hi_q = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    for k in range(x.shape[0]):
        row = x[k, s:e]
        lo_head = lo_tail = hi_head = hi_tail = 0
        nxt = 0  # next element to enter the queues
        for i in range(n):
            while nxt < n and nxt <= i + h:
                v = row[nxt]
                while lo_tail > lo_head and row[lo_q[lo_tail - 1]] >= v:
                    lo_tail -= 1
                lo_q[lo_tail] = nxt
                lo_tail += 1
                while hi_tail > hi_head and row[hi_q[hi_tail - 1]] <= v:
                    hi_tail -= 1
                hi_q[hi_tail] = nxt
                hi_tail += 1
                nxt += 1
            while lo_q[lo_head] < i - h:
                lo_head += 1
            while hi_q[hi_head] < i - h:
                hi_head += 1
            d = row[hi_q[hi_head]] - row[lo_q[lo_head]]
            spread2[i] += d * d
    out = np.empty(n, dtype=np.bool_)
    for i in range(n):
        out[i] = np.sqrt(spread2[i]) < spread_limit[s + i]
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

BODY_POINTS = ("near_shoulder", "far_shoulder", "near_hip", "far_hip", "near_ear", "far_ear", "near_knee",
               "near_ankle")  # `body_measures` reads these points' x and y ...
BODY_VALUES = ("far_ankle_y", "near_wrist_x", "near_heel_x", "near_foot_index_x")  # ... and these coordinates
BODY_MEASURES = ("trunk_y", "trunk_x", "neck_y", "neck_x", "tilt_y", "tilt_x", "knee_cos", "hip_cos",
                 "sh_mid_x", "sh_mid_y", "hip_mid_x", "hip_mid_y", "chord", "thigh", "height", "wrist_x", "shank",
                 "hip_ankle")  # its output rows


@_jit
def _inner_cos(ax: float, ay: float, bx: float, by: float, cx: float, cy: float) -> float:
    """Cosine of the angle ABC at b, clipped to [-1, 1] (NaN stays NaN), as `angles.inner_angle_deg`."""
    ux, uy, vx, vy = ax - bx, ay - by, cx - bx, cy - by
    return _clip1((ux * vx + uy * vy) / (np.sqrt(ux * ux + uy * uy) * np.sqrt(vx * vx + vy * vy)))


@_jit
def _clip1(c: float) -> float:
    """c clipped to [-1, 1]; NaN stays NaN (as `np.clip`)."""
    return -1.0 if c < -1.0 else (1.0 if c > 1.0 else c)


@_jit
def body_measures(pts: np.ndarray, rows: np.ndarray, facing: np.ndarray, left: np.ndarray) -> np.ndarray:
    """(len(BODY_MEASURES), N) per-frame measures of the smoothed landmark coordinates `pts`
    (coordinates, N): rows[i] is the x row of BODY_POINTS[i] (its y is the next row), then the
    rows of BODY_VALUES. `facing` (N,) +1/-1; `left` (N,) the near side is left.

    Angles are left to numpy's vectorised arctan2/arccos (~15x faster than libm's per value),
    so the rows hold their arguments: *_y, *_x of the trunk line (hip-mid -> shoulder-mid), of the
    neck line (shoulder-mid -> ear-mid), both as (facing * dx, -dy) from image-up (image y
    down), and of the right-minus-left hip line (dy, |dx|) from horizontal; knee_cos and
    hip_cos of the near-side angles hip-knee-ankle and shoulder-hip-knee. Distances, px: chord
    = shoulder-mid to hip-mid, thigh, shank, hip_ankle = near hip to ankle, height = shoulders
    above the mean ankle y, wrist_x = near wrist x minus the mid-foot x.
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
        dx, dy = (fhx - nhx, fhy - nhy) if left[i] else (nhx - fhx, nhy - fhy)  # right hip minus left hip
        out[0, i], out[1, i] = f * (shx - hipx), -(shy - hipy)
        out[2, i], out[3, i] = f * (earx - shx), -(eary - shy)
        out[4, i], out[5, i] = dy, abs(dx)
        out[6, i] = _inner_cos(nhx, nhy, kx, ky, ax, ay)
        out[7, i] = _inner_cos(nsx, nsy, nhx, nhy, kx, ky)
        out[8, i], out[9, i], out[10, i], out[11, i] = shx, shy, hipx, hipy
        out[12, i] = np.sqrt((shx - hipx) ** 2 + (shy - hipy) ** 2)
        out[13, i] = np.sqrt((nhx - kx) ** 2 + (nhy - ky) ** 2)
        out[14, i] = (ay + far_ankle_y) / 2 - shy
        out[15, i] = wrist_x - (heel_x + toe_x) / 2
        out[16, i] = np.sqrt((kx - ax) ** 2 + (ky - ay) ** 2)
        out[17, i] = np.sqrt((nhx - ax) ** 2 + (nhy - ay) ** 2)
    return out


@_jit
def chord_cosines(hip_ankle: np.ndarray, thigh: np.ndarray, shank: np.ndarray, ids: np.ndarray,
                  frames: np.ndarray) -> np.ndarray:
    """(N,) cosine of the knee angle from the hip-ankle chord D (`hip_ankle` (N,) px) and the
    group's thigh T and shank S (`thigh`, `shank` (groups,) px; `ids` (N,) each frame's group):
    (T^2 + S^2 - D^2) / (2 T S), clipped to [-1, 1]; NaN outside the `frames` (N,) bool and where
    T or S is not positive."""
    out = np.full(hip_ankle.size, np.nan)
    for i in range(hip_ankle.size):
        t, s = thigh[ids[i]], shank[ids[i]]
        if frames[i] and t > 0 and s > 0:
            out[i] = _clip1((t * t + s * s - hip_ankle[i] * hip_ankle[i]) / (2 * t * s))
    return out


# ----------------------------------------------------------------------------- leg labels

@_jit
def _undecided(a: float, b: float) -> bool:
    """a and b too close (1e-12 relative, or tiny) for sums of sqrt(dx^2 + dy^2) (within a few ulp
    of `np.hypot`) to decide a > b as the `np.hypot` sums do."""
    return abs(a - b) <= 1e-12 * (abs(a) + abs(b)) + 1e-100


@_jit
def _legs_moved(xy: np.ndarray, p: np.ndarray, i: int, a: int, b: int, exact: bool) -> float:
    """Knee + ankle displacement, px, from leg b of the previous frame (`p`: its raw coordinates
    (2, 4): x, y of near knee, far knee, near ankle, far ankle) to leg a (0 near, 1 far) of frame
    i of xy (2, 4 leg rows, N); `np.hypot` when `exact`, else sqrt(dx^2 + dy^2)."""
    out = 0.0
    for joint in (0, 2):  # knee, ankle
        dx, dy = xy[0, joint + a, i] - p[0, joint + b], xy[1, joint + a, i] - p[1, joint + b]
        out += np.hypot(dx, dy) if exact else np.sqrt(dx * dx + dy * dy)
    return out


@_jit
def unswap_legs(legs: np.ndarray, ok: np.ndarray, bounds: np.ndarray, shank: np.ndarray, jump: float,
                ratio: float) -> np.ndarray:
    """(N,) bool: the frames whose lower-leg labels are to be swapped back. `legs` (2, 4, N): x, y
    of near knee, far knee, near ankle, far ankle; `ok` (N,) frames to read (with all eight
    coordinates finite); `shank` (groups,) each video's median shank length, px.

    Walking each video's frames in order, a frame counts as crossed against the previous one
    read when pairing the legs crosswise moves them less than `ratio` x the straight pairing
    and the straight pairing moves them more than `jump` shank lengths; as straight in the
    mirror case; else as undecided (so is each video's first frame, and every frame of a video
    without a positive shank). A frame is swapped when the crossings since the last undecided
    frame are odd: it is crossed against the previous frame once corrected. The moves are
    `np.hypot` sums (computed as sqrt sums where that decides the same).
    """
    swap = np.zeros(legs.shape[2], dtype=np.bool_)
    prev = np.empty((2, 4))
    for g in range(bounds.size - 1):
        jump_min = jump * shank[g]
        have_prev, odd = False, False
        for i in range(bounds[g], bounds[g + 1]):
            if not ok[i]:
                continue
            finite = True
            for c in range(2):
                for r in range(4):
                    finite &= np.isfinite(legs[c, r, i])
            if not finite:
                continue
            state = 0  # +1 crossed, -1 straight, 0 undecided
            if have_prev and shank[g] > 0:
                keep = _legs_moved(legs, prev, i, 0, 0, False) + _legs_moved(legs, prev, i, 1, 1, False)
                cross = _legs_moved(legs, prev, i, 0, 1, False) + _legs_moved(legs, prev, i, 1, 0, False)
                if (_undecided(keep, jump_min) or _undecided(cross, ratio * keep) or _undecided(cross, jump_min)
                        or _undecided(keep, ratio * cross)):
                    keep = _legs_moved(legs, prev, i, 0, 0, True) + _legs_moved(legs, prev, i, 1, 1, True)
                    cross = _legs_moved(legs, prev, i, 0, 1, True) + _legs_moved(legs, prev, i, 1, 0, True)
                if keep > jump_min and cross < ratio * keep:
                    state = 1
                elif cross > jump_min and keep < ratio * cross:
                    state = -1
            odd = (odd != (state == 1)) and state != 0
            swap[i] = odd
            prev[:, :] = legs[:, :, i]
            have_prev = True
    return swap


# ----------------------------------------------------------------------------- masks and cuts

@_jit
def mask_frames(series: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """In place: every series (series, N) NaN outside the `ok` (N,) frames. Returns (series,) the
    number of NaN values each has inside them."""
    missing = np.zeros(series.shape[0], dtype=np.int64)
    for k in range(series.shape[0]):
        for i in range(series.shape[1]):
            if not ok[i]:
                series[k, i] = np.nan
            elif np.isnan(series[k, i]):
                missing[k] += 1
    return missing


@_jit
def trunk_and_hip_jump(pts: np.ndarray, shoulders: np.ndarray, hips: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """((N,) shoulder-mid to hip-mid distance, (N,) hip-mid move from the previous frame (NaN at
    frame 0)), px, from coordinates `pts` (coordinates, N); `shoulders`, `hips`: the x rows of the
    near and far point (y is the next row)."""
    n = pts.shape[1]
    trunk, jump = np.empty(n), np.empty(n)
    px = py = np.nan
    for i in range(n):
        hx = (pts[hips[0], i] + pts[hips[1], i]) / 2
        hy = (pts[hips[0] + 1, i] + pts[hips[1] + 1, i]) / 2
        dx = (pts[shoulders[0], i] + pts[shoulders[1], i]) / 2 - hx
        dy = (pts[shoulders[0] + 1, i] + pts[shoulders[1] + 1, i]) / 2 - hy
        trunk[i] = np.sqrt(dx * dx + dy * dy)
        jump[i] = np.sqrt((hx - px) * (hx - px) + (hy - py) * (hy - py))
        px, py = hx, hy
    return trunk, jump


# ----------------------------------------------------------------------------- counts and grids

@_jit
def running_count(x: np.ndarray) -> np.ndarray:
    """(n,) int64 running sum of bool or integer values x (n,): `np.cumsum` (which casts in buffers
    and is ~10x slower on a bool mask)."""
    out = np.empty(x.size, dtype=np.int64)
    total = 0
    for i in range(x.size):
        total += x[i]
        out[i] = total
    return out


@_jit
def group_counts(mask: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """(n_groups,) int64 number of True values of `mask` (n,) in each group."""
    out = np.zeros(bounds.size - 1, dtype=np.int64)
    for g in range(bounds.size - 1):
        c = 0
        for i in range(bounds[g], bounds[g + 1]):
            c += mask[i]
        out[g] = c
    return out


@_jit
def sorted_bounds(ids: np.ndarray, n_groups: int) -> np.ndarray:
    """(n_groups + 1,) int64 bounds of the groups of `ids` (n,): each element's group, sorted and
    in 0 .. n_groups - 1 (ValueError otherwise)."""
    bounds = np.zeros(n_groups + 1, dtype=np.int64)
    for i in range(ids.size):
        if i and ids[i] < ids[i - 1]:
            raise ValueError("group ids must be sorted")
        if ids[i] < 0 or ids[i] >= n_groups:
            raise ValueError("group ids must lie in 0 .. n_groups - 1")
        bounds[ids[i] + 1] += 1
    for g in range(n_groups):
        bounds[g + 1] += bounds[g]
    return bounds


@_jit
def fill_grid(values: np.ndarray, ids: np.ndarray, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Values (series, n) laid out one row per group: (grid (series, n_groups, width), flat (n,)).
    Element i of a series sits at grid[s].ravel()[flat[i]], in input order within its group's
    row (width: the largest group); the rest of each row is NaN. `ids` (n,): each element's
    group, sorted; `bounds`: theirs (`sorted_bounds`)."""
    n_groups = bounds.size - 1
    width = 0
    for g in range(n_groups):
        width = max(width, bounds[g + 1] - bounds[g])
    flat = np.empty(ids.size, dtype=np.int64)
    for i in range(ids.size):
        flat[i] = ids[i] * width + i - bounds[ids[i]]
    grid = np.full((values.shape[0], n_groups * width), np.nan)
    for s in range(values.shape[0]):
        for i in range(ids.size):
            grid[s, flat[i]] = values[s, i]
    return grid.reshape(values.shape[0], n_groups, width), flat


@_jit
def sorted_middles(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of sorted values with NaN last (rows (r, w)): (median of the non-NaN values as
    `np.median` takes it: the middle value, or (a + b) / 2 of the middle pair; NaN for none,
    count of the non-NaN values), (r,) each."""
    mid = np.empty(rows.shape[0])
    count = np.zeros(rows.shape[0], dtype=np.int64)
    for r in range(rows.shape[0]):
        lo, hi = 0, rows.shape[1]  # first NaN by bisection: the row is sorted, NaN last
        while lo < hi:
            m = (lo + hi) // 2
            if np.isnan(rows[r, m]):
                hi = m
            else:
                lo = m + 1
        c = lo
        count[r] = c
        if c == 0:
            mid[r] = np.nan
        elif c % 2 == 1:
            mid[r] = rows[r, (c - 1) // 2]
        else:
            mid[r] = (rows[r, c // 2 - 1] + rows[r, c // 2]) / 2
    return mid, count


@_jit
def swap_row_pairs(rows: np.ndarray, bounds: np.ndarray, flip: np.ndarray) -> None:
    """In place: rows 2i and 2i + 1 of `rows` (series, n) exchanged over the elements of each
    group g with flip[g] (a left/right landmark pair relabelled near/far)."""
    for g in range(bounds.size - 1):
        if flip[g]:
            for r in range(0, rows.shape[0] - 1, 2):
                for i in range(bounds[g], bounds[g + 1]):
                    rows[r, i], rows[r + 1, i] = rows[r + 1, i], rows[r, i]


@_jit
def side_scores(vis: np.ndarray, rows: np.ndarray, ok: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """(2, n_groups) summed visibility of two sides' landmarks over each group's `ok` frames, NaN
    counting 0: side k sums the rows `rows[k]` of `vis` (landmarks, N), each row over the frames in
    order, then the rows in order. Both sides are summed the same way, so equal visibilities tie."""
    out = np.zeros((2, bounds.size - 1))
    for g in range(bounds.size - 1):
        for k in range(2):
            score = 0.0
            for r in rows[k]:
                total = 0.0
                for i in range(bounds[g], bounds[g + 1]):
                    v = vis[r, i]
                    if ok[i] and not np.isnan(v):
                        total += v
                score += total
            out[k, g] = score
    return out


@_jit
def ranks_by_merge_sort(values: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """(n,) int64 rank of each value (n,) within its group, 0 = smallest, ties by position: each
    group's own elements sorted by a stable merge sort (no padding to the largest group)."""
    out = np.empty(values.size, dtype=np.int64)
    for g in range(bounds.size - 1):
        a = bounds[g]
        order = np.argsort(values[a:bounds[g + 1]], kind="mergesort")
        for p in range(order.size):
            out[a + order[p]] = p
    return out
