"""Per-frame signals of one video: near-side selection, gap filling, zero-lag smoothing.

`compute_signals` turns one video's rows of the `frames` table into a `Signals`
record (see `types.py`). Steps, all vectorised over frames:

1. Near side: the side whose sagittal landmarks (shoulder, hip, knee, ankle)
   are more visible over the clip (`angles.near_side`); knee and hip angles use
   that side only, never an average of left and right. Facing comes from the
   table's `facing` column (majority), else from the feet (`angles.facing_from_feet`).
   Near-side leg landmarks are cleaned before anything else (`_unswap_legs`,
   `_fix_leg_outliers`): frames where the pose model swapped the left and right
   lower legs are swapped back by continuity with the previous frame; leg
   landmarks with visibility < `LOW_VIS`, an ankle far from its 3 s running
   median (feet stay planted in a hinge) and a knee/ankle whose thigh/shank
   length departs from the clip median by > `SEGMENT_TOL` are interpolated from
   the neighbouring good frames (typically the ankle latched onto the hands or
   the plate at the bottom, which read the knee 50-170 deg off).
2. Gaps: frames without a person (or with missing landmarks) are filled by
   linear interpolation when the dropout lasts at most `MAX_GAP_S` (0.25 s);
   longer dropouts, and dropouts at the clip's ends, stay NaN.
3. Hard cuts: a jump of the hip midpoint by more than `CUT_JUMP` trunk lengths
   between consecutive frames (a scene cut or camera change) splits the clip
   into separate segments, so the filter does not smear one shot into the next.
4. Smoothing: a 2nd-order Butterworth low-pass (scipy `butter` + `filtfilt`,
   forward and backward: zero lag), cutoff `cutoff_hz` (default 4 Hz: hinge
   and swing motion lives below ~2 Hz, MediaPipe jitter above), applied to the
   landmark coordinates of each contiguous valid segment separately.
   Segments too short for `filtfilt`'s padding are left unfiltered; when the
   cutoff is at or above the Nyquist frequency nothing is filtered.
5. Angles and the other signals are computed from the smoothed landmarks with
   `hingeflow.angles` (plus the hip line's tilt from horizontal, for front
   views); back-line measures are gap-filled and smoothed the same way.
   Where the hip-ankle chord (law of cosines with the clip's median thigh and
   shank) puts knee flexion above `CHORD_MIN_DEG`, the knee angle is at least
   that: at a deadlift's bottom the knee landmark sits behind the bar and plates
   and reads ~10-20 deg too straight (`_deep_knee_from_chord`).
6. Tracking check (`Signals.tracked`): a frame counts as tracked when the near knee or
   ankle is seen (visibility >= `LOW_VIS`) and the pose is physically possible: a knee
   bent past `IMPLAUSIBLE_KNEE_DEG` under a trunk within `IMPLAUSIBLE_TRUNK_DEG` of
   vertical is not (on fast, deep synthetic folds MediaPipe's tracker collapses the
   figure into such an upright squat while reporting the landmarks as visible).
7. Standing reference (for chord_ratio, hip_back, hip_down, vertical): the
   median over the most upright frames — those whose shoulders stand highest
   above the ankles relative to the clip's range and whose trunk is leaning
   least (rank sum, best `STANDING_FRAC` = 15%) — computed per shot (clip
   pieces between hard cuts or long gaps) when the shot is long enough,
   otherwise over the whole clip.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import polars as pl
from scipy.signal import butter, lfilter, lfilter_zi

from hingeflow import angles
from hingeflow.analytics.types import Signals
from hingeflow.landmarks import INDEX, LANDMARKS

MAX_GAP_S = 0.25  # dropouts up to this long are interpolated
CUT_JUMP = 0.6  # hip-midpoint jump between frames, in standing trunk lengths, that marks a hard cut
SHOT_GAP_S = 1.0  # a dropout at least this long starts a new shot (own standing reference)
MIN_SHOT_S = 2.0  # shots shorter than this use the clip-wide standing reference
STANDING_FRAC = 0.15  # fraction of frames taken as "standing"
FILTER_ORDER = 2
LOW_VIS = 0.3  # near-side leg landmarks below this visibility are interpolated from their neighbours
_LEG = ("hip", "knee", "ankle", "heel", "foot_index")
ANKLE_WIN_S = 3.0  # running-median window for the ankle-outlier test
ANKLE_TOL = 0.2  # ankle further than this (shank lengths) from its running median: outlier
CHORD_MIN_DEG = 50.0  # hip-ankle chord knee estimate counts only above this flexion
SWAP_RATIO = 0.5  # left/right lower legs are un-swapped when crosswise pairing moves them less than this ...
SWAP_MIN_JUMP = 0.3  # ... and the straight pairing jumps by more than this many shank lengths
IMPLAUSIBLE_KNEE_DEG = 105.0  # a knee bent past this ...
IMPLAUSIBLE_TRUNK_DEG = 10.0  # ... under a trunk within this of vertical is not a real pose (real knee-dominant
# kettlebell deadlifts lean 10-20 deg at 100-130 deg of knee; collapsed tracks 0-10 deg)
SEGMENT_TOL = 0.25  # thigh/shank length departing from the clip median by more: landmark outlier

_USED = (
    "left_shoulder", "right_shoulder", "left_hip", "right_hip", "left_knee", "right_knee",
    "left_ankle", "right_ankle", "left_ear", "right_ear", "left_wrist", "right_wrist",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)
_COL = {name: i for i, name in enumerate(_USED)}
_USED_INDEX = [INDEX[name] for name in _USED]  # their columns in the 33-landmark layout


# ----------------------------------------------------------------------------- helpers

def _kept_landmarks(side: str) -> tuple[str, ...]:
    """Landmarks the signals read after leg cleaning: both shoulders, hips, ears and
    ankles, and the near side's knee, heel, foot index and wrist."""
    both = [f"{s}_{j}" for j in ("shoulder", "hip", "ear", "ankle") for s in ("left", "right")]
    return (*both, *(f"{side}_{j}" for j in ("knee", "heel", "foot_index", "wrist")))


def median(a: np.ndarray) -> float:
    """`np.median` of a non-empty 1D array, with its arithmetic: the middle order statistic,
    or (lower + upper) / 2 of the middle pair; NaN if any value is NaN. Without numpy's
    generic reduction machinery (this runs a dozen times per video)."""
    n = a.size
    h = n // 2
    if n % 2:
        part = np.partition(a, [h, n - 1])
        mid = part[h]
    else:
        part = np.partition(a, [h - 1, h, n - 1])
        mid = (part[h - 1] + part[h]) / 2
    return float("nan") if np.isnan(part[-1]) else float(mid)


def nanmedian(a: np.ndarray) -> float:
    """`np.nanmedian` of a 1D array (same value: the median of its non-NaN entries), NaN if none.

    Without numpy's generic reduction machinery and all-NaN warning.
    """
    a = a[~np.isnan(a)]
    return median(a) if a.size else float("nan")


def nanmedian_cols(a: np.ndarray) -> np.ndarray:
    """`np.nanmedian` of each column of a (m, k), in one sort: NaN where a column is all NaN.

    Median of an even count = (a + b) / 2 of the middle pair, as `np.median` computes it.
    """
    srt = np.sort(a, axis=0)  # NaN sort last
    cnt = (~np.isnan(a)).sum(axis=0)
    cols = np.arange(a.shape[1])
    lo, hi = np.maximum((cnt - 1) // 2, 0), np.maximum(cnt // 2, 0)
    if a.shape[0] == 0:
        return np.full(a.shape[1], np.nan)
    med = (srt[lo, cols] + srt[hi, cols]) / 2
    return np.where(cnt > 0, med, np.nan)


def runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) indices of the runs of True in a bool array."""
    m = np.concatenate(([False], np.asarray(mask, dtype=bool), [False]))
    d = np.diff(m.astype(np.int8))
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1)


def fill_gaps(t: np.ndarray, x: np.ndarray, ok: np.ndarray, max_gap_s: float = MAX_GAP_S) -> tuple[np.ndarray, np.ndarray]:
    """Linearly interpolate rows of x (n,) or (n, k) where `ok` is False, for interior gaps <= max_gap_s.

    The gap's duration is the time spanned by its missing frames (count x frame
    interval). Returns (filled copy, new ok mask). Leading/trailing gaps stay NaN.
    """
    x = np.array(x, dtype=np.float64, copy=True)
    ok = np.asarray(ok, dtype=bool)
    n = len(t)
    if n == 0 or ok.all() or not ok.any():
        return x, ok.copy()
    starts, ends = runs(~ok)
    interior = (starts > 0) & (ends < n)
    dt = median(np.diff(t)) if n > 1 else 0.0
    # span of the missing frames: from the last good frame to the next good one, minus one interval
    span = np.where(interior, t[np.minimum(ends, n - 1)] - t[np.maximum(starts - 1, 0)] - dt, np.inf)
    fill = interior & (span <= max_gap_s + 1e-6)
    if not fill.any():
        return x, ok.copy()
    newok = ok.copy()
    idx = np.flatnonzero(ok)
    # mark frames in fillable gaps (vectorised via cumulative sum of run markers)
    marks = np.zeros(n + 1, dtype=np.int64)
    np.add.at(marks, starts[fill], 1)
    np.add.at(marks, ends[fill], -1)
    tgt = np.cumsum(marks[:n]) > 0
    tt = t[tgt]
    if x.ndim == 1:
        x[tgt] = np.interp(tt, t[idx], x[idx])
    else:
        for j in range(x.shape[1]):
            x[tgt, j] = np.interp(tt, t[idx], x[idx, j])
    newok[tgt] = True
    return x, newok


def running_median(x: np.ndarray, size: int) -> np.ndarray:
    """Centred running median of each column of x (n, k) over an odd `size` of rows.

    Edges repeat the first/last row (scipy.ndimage `median_filter(..., mode="nearest")`
    semantics, with the same values: an odd window's median is one of its elements).
    Uses polars' sorted-window rolling median, O(n log size) instead of O(n size).
    """
    return running_medians([(x, size)])[0]


def running_medians(tracks: list[tuple[np.ndarray, int] | None]) -> list[np.ndarray | None]:
    """`running_median(x, size)` of each (x, size) in `tracks` (None stays None), one polars
    call per distinct window size: the edge-padded columns of all tracks are consecutive
    blocks of one series, and only windows inside a block are kept."""
    out: list[np.ndarray | None] = [None] * len(tracks)
    sizes = sorted({tr[1] for tr in tracks if tr is not None})
    if any(size % 2 != 1 or size < 1 for size in sizes):
        raise ValueError(f"running_medians: sizes must be odd and positive, got {sizes}")
    for size in sizes:
        members = [i for i, tr in enumerate(tracks) if tr is not None and tr[1] == size]
        h = size // 2
        blocks = []  # (track, column, padded block)
        for i in members:
            x = tracks[i][0]
            padded = np.concatenate([np.repeat(x[:1], h, axis=0), x, np.repeat(x[-1:], h, axis=0)])
            blocks += [(i, j, padded[:, j]) for j in range(x.shape[1])]
        med = pl.Series(np.concatenate([b for _, _, b in blocks])).rolling_median(size).to_numpy()
        cols: dict[int, list[np.ndarray]] = {i: [] for i in members}
        pos = 0
        for i, _, b in blocks:
            cols[i].append(med[pos + size - 1:pos + len(b)])
            pos += len(b)
        for i in members:
            out[i] = np.stack(cols[i], axis=1)
    return out


@lru_cache(maxsize=64)
def _butter(order: int, wn: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Butterworth low-pass (b, a) and its step-response steady state `lfilter_zi`, shape (1, order)."""
    b, a = butter(order, wn)
    return b, a, lfilter_zi(b, a)[None, :]


def _filtfilt_rows(b: np.ndarray, a: np.ndarray, zi: np.ndarray, x: np.ndarray) -> np.ndarray:
    """scipy `filtfilt(b, a, x, axis=-1)` (method "pad", odd extension of 3 * max(len(a), len(b)))
    of each row of x (k, m), with the same operations in the same order, minus the per-call
    validation and the `lfilter_zi` solve (`zi` precomputed)."""
    edge = 3 * max(len(a), len(b))
    ext = np.concatenate((2 * x[:, :1] - x[:, edge:0:-1], x, 2 * x[:, -1:] - x[:, -2:-(edge + 2):-1]), axis=1)
    y, _ = lfilter(b, a, ext, axis=-1, zi=zi * ext[:, :1])
    y, _ = lfilter(b, a, y[:, ::-1], axis=-1, zi=zi * y[:, -1:])
    return y[:, ::-1][:, edge:-edge]


def lowpass_segments(x: np.ndarray, ok: np.ndarray, fps: float, cutoff_hz: float,
                     breaks: np.ndarray | None = None) -> np.ndarray:
    """Zero-lag Butterworth low-pass (order 2, `filtfilt`) per contiguous run of `ok`.

    `breaks` (bool, n) marks frames that start a new segment even inside a run
    (hard cuts). Runs too short for filtfilt's padding are returned unfiltered.
    """
    out = np.array(x, dtype=np.float64, copy=True)
    if not np.isfinite(fps) or fps <= 0 or cutoff_hz <= 0 or cutoff_hz >= fps / 2:
        return out
    b, a, zi = _butter(FILTER_ORDER, round(cutoff_hz / (fps / 2), 9))
    padlen = 3 * max(len(a), len(b))
    seg = np.asarray(ok, dtype=bool)
    starts, ends = runs(seg)
    if breaks is not None and breaks.any():
        cut = np.flatnonzero(breaks & seg)
        # split each run at the cuts inside it
        s_list, e_list = [], []
        for s, e in zip(starts, ends):
            inner = cut[(cut > s) & (cut < e)]
            edges = np.concatenate(([s], inner, [e]))
            s_list.extend(edges[:-1])
            e_list.extend(edges[1:])
        starts, ends = np.asarray(s_list, dtype=int), np.asarray(e_list, dtype=int)
    for s, e in zip(starts, ends):
        if e - s > padlen:
            if out.ndim == 1:
                out[s:e] = _filtfilt_rows(b, a, zi, out[None, s:e])[0]
            else:  # filter along contiguous memory (time last) for speed
                out[s:e] = _filtfilt_rows(b, a, zi, np.ascontiguousarray(out[s:e].T)).T
    return out


def _signed_dir_deg(v: np.ndarray, facing: int) -> np.ndarray:
    """Direction of vectors v (n, 2) from image-up, degrees, + towards the facing side."""
    return np.degrees(np.arctan2(facing * v[:, 0], -v[:, 1]))


def _majority_int(values: np.ndarray, default: int) -> int:
    v = values[np.isfinite(values) & (values != 0)]
    if v.size == 0:
        return default
    return 1 if np.sum(v > 0) >= np.sum(v < 0) else -1


def _standing_mask(height_rel: np.ndarray, trunk: np.ndarray, sel: np.ndarray) -> np.ndarray:
    """Most upright frames among `sel`: rank-sum of shoulder height and (low) trunk lean."""
    idx = np.flatnonzero(sel & np.isfinite(height_rel))
    out = np.zeros(len(sel), dtype=bool)
    if idx.size == 0:
        return out
    h = height_rel[idx]
    tr = np.where(np.isfinite(trunk[idx]), trunk[idx], nanmedian(trunk[idx]) if np.isfinite(trunk[idx]).any() else 0.0)
    # higher shoulders and smaller lean are better; ranks (0 = best)
    rh = np.argsort(np.argsort(-h))
    rt = np.argsort(np.argsort(tr))
    score = rh + rt
    k = max(1, int(round(STANDING_FRAC * idx.size)))
    best = idx[np.argsort(score, kind="stable")[:k]]
    out[best] = True
    return out


def _interp_rows(t: np.ndarray, flat: np.ndarray, bad: np.ndarray, good: np.ndarray, j: int) -> None:
    """In place: replace landmark j's (x, y) on `bad` rows by interpolation over `good` rows."""
    if bad.any() and good.sum() >= 2:
        for c in (2 * j, 2 * j + 1):
            flat[bad, c] = np.interp(t[bad], t[good], flat[good, c])


def _unswap_legs(flat: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """In place: undo frames where the pose model swapped the left and right lower legs.

    Walking the valid frames in order, a frame's knee and ankle labels are
    swapped back when pairing them crosswise with the previous (already
    corrected) frame moves them much less (< `SWAP_RATIO` of the straight
    pairing) and the straight pairing jumps by more than `SWAP_MIN_JUMP` shank
    lengths. Knee, ankle, heel and foot index swap together. Returns the
    swapped-frame mask.
    """
    pairs = [(_COL[f"left_{j}"], _COL[f"right_{j}"]) for j in ("knee", "ankle", "heel", "foot_index")]
    lk, rk = pairs[0]
    la, ra = pairs[1]
    n = flat.shape[0]
    swapped = np.zeros(n, dtype=bool)
    pts = lambda j: flat[:, 2 * j:2 * j + 2]  # noqa: E731
    shank = np.concatenate([np.linalg.norm(pts(lk) - pts(la), axis=1), np.linalg.norm(pts(rk) - pts(ra), axis=1)])
    shank = shank[np.isfinite(shank)]
    shank_med = median(shank) if shank.size else np.nan
    if not shank_med > 0:
        return swapped
    jump_min = SWAP_MIN_JUMP * float(shank_med)
    idx = np.flatnonzero(ok & np.isfinite(flat[:, [2 * lk, 2 * rk, 2 * la, 2 * ra]]).all(axis=1))
    if idx.size < 2:
        return swapped
    L = np.concatenate([pts(lk)[idx], pts(la)[idx]], axis=1)  # (m, 4): knee xy, ankle xy
    R = np.concatenate([pts(rk)[idx], pts(ra)[idx]], axis=1)

    # knee + ankle displacement (px) from the previous raw frame for the four pairings, in one pass:
    # straight L-L, R-R and crosswise L-R, R-L
    d = (np.stack([L[1:], R[1:], L[1:], R[1:]]) - np.stack([L[:-1], R[:-1], R[:-1], L[:-1]]))
    d = d.reshape(4, idx.size - 1, 2, 2)  # pairing, frame, (knee, ankle), (x, y)
    h = np.hypot(d[..., 0], d[..., 1])
    moved = h[..., 0] + h[..., 1]
    keep = moved[0] + moved[1]  # raw frame vs raw previous frame
    cross = moved[2] + moved[3]
    # Per frame: +1 clearly crossed against the previous raw frame, -1 clearly straight, 0 ambiguous.
    # Frame by frame, a label is swapped when crossed against the previous *corrected* frame; an
    # ambiguous frame resets to unswapped. That state machine equals the parity of the clear
    # crossings since the last ambiguous frame, which needs no Python loop.
    c = np.zeros(idx.size, dtype=np.int8)
    c[1:][(keep > jump_min) & (cross < SWAP_RATIO * keep)] = 1
    c[1:][(cross > jump_min) & (keep < SWAP_RATIO * cross)] = -1
    reset = c == 0
    crossings = np.cumsum(c == 1)
    since_reset = crossings - np.maximum.accumulate(np.where(reset, crossings, 0))
    rows = idx[(since_reset % 2 == 1) & ~reset]
    swapped[rows] = True
    for a, b in pairs if rows.size else ():
        cols_a, cols_b = [2 * a, 2 * a + 1], [2 * b, 2 * b + 1]
        flat[np.ix_(rows, cols_a + cols_b)] = flat[np.ix_(rows, cols_b + cols_a)]
    return swapped


def _seg_len(flat: np.ndarray, a: int, b: int) -> np.ndarray:
    """Image distance (px) between landmarks a and b (`_USED` indices) per frame."""
    return np.hypot(flat[:, 2 * a] - flat[:, 2 * b], flat[:, 2 * a + 1] - flat[:, 2 * b + 1])


def _ankle_track(t: np.ndarray, flat: np.ndarray, ok: np.ndarray, side: str,
                 dt: float) -> tuple[np.ndarray, np.ndarray, int] | None:
    """The near-side ankle positions that `_fix_leg_outliers` compares with their running median.

    Returns (ok_mask, rows, window): frames with a person and a finite ankle and
    shank, their row indices, and the odd running-median window in frames
    (`ANKLE_WIN_S` at the median frame interval `dt`, s, capped by the track
    length); None when the track has fewer than 10 frames.
    """
    ik, ia = (_COL[f"{side}_{j}"] for j in ("knee", "ankle"))
    fin = ok & np.isfinite(_seg_len(flat, ik, ia)) & np.isfinite(flat[:, 2 * ia]) & np.isfinite(flat[:, 2 * ia + 1])
    if fin.sum() < 10 or len(t) <= 1:
        return None
    size = int(round(ANKLE_WIN_S / dt)) | 1 if dt > 0 else 1
    idx = np.flatnonzero(fin)
    return fin, idx, min(size, idx.size | 1 if idx.size % 2 else idx.size - 1)


def _fix_leg_outliers(t: np.ndarray, flat: np.ndarray, ok: np.ndarray, side: str,
                      track: tuple[np.ndarray, np.ndarray, int] | None,
                      track_median: np.ndarray | None) -> np.ndarray:
    """In place: interpolate implausible near-side knee/ankle positions from neighbouring frames.

    A knee whose thigh (hip-knee) length, or an ankle whose shank (knee-ankle)
    length, departs from the clip's median by more than `SEGMENT_TOL` is a
    landmark latched onto something else (hands, plate, the other leg); the
    segments are rigid and, in a side view, stay in the image plane.
    `track`: `_ankle_track(...)` of these arrays; `track_median`: the running
    median (px, (m, 2)) of its ankle x, y. Returns the mask of frames whose ankle was replaced.
    """
    ih, ik, ia = (_COL[f"{side}_{j}"] for j in ("hip", "knee", "ankle"))
    # feet stay planted in a hinge: an ankle far from its running median (over
    # ANKLE_WIN_S, longer than twice the typical mislabelled run) is an outlier
    ankle_bad = np.zeros(len(t), dtype=bool)
    if track is not None:
        fin, idx, _ = track
        S = _seg_len(flat, ik, ia)
        med = track_median
        dev = np.hypot(flat[idx, 2 * ia] - med[:, 0], flat[idx, 2 * ia + 1] - med[:, 1])
        ref = median(S[fin])
        if ref > 0:
            bad = np.zeros(len(t), dtype=bool)
            bad[idx[dev > ANKLE_TOL * ref]] = True
            _interp_rows(t, flat, bad, fin & ~bad, ia)
            ankle_bad |= bad
    for a, b in ((ih, ik), (ik, ia)):  # thigh first: a fixed knee makes the shank test fair
        L = _seg_len(flat, a, b)
        fin = ok & np.isfinite(L)
        if fin.sum() < 10:
            continue
        ref = median(L[fin])
        if not ref > 0:
            continue
        bad = fin & (np.abs(L / ref - 1.0) > SEGMENT_TOL)
        _interp_rows(t, flat, bad, fin & ~bad, b)
        if b == ia:
            ankle_bad |= bad
    return ankle_bad


def _deep_knee_from_chord(knee: np.ndarray, h: np.ndarray, k: np.ndarray, a: np.ndarray,
                          valid: np.ndarray) -> np.ndarray:
    """Knee flexion, raised to the hip-ankle chord estimate where that says the knee is deeply bent.

    The chord D = |hip - ankle| with the clip's median thigh T and shank S gives
    flexion = 180 - acos((T^2 + S^2 - D^2) / (2 T S)) without the knee landmark,
    which at a deadlift's bottom sits behind the bar and plates and reads up to
    ~20 deg too straight. The chord estimate is ill-conditioned near a straight
    knee, so it only counts above `CHORD_MIN_DEG`, and only ever raises the value.
    """
    if not valid.any():
        return knee
    T = np.linalg.norm(h - k, axis=1)
    S = np.linalg.norm(k - a, axis=1)
    D = np.linalg.norm(h - a, axis=1)
    Tm, Sm = nanmedian(T[valid]), nanmedian(S[valid])
    if not (Tm > 0 and Sm > 0):
        return knee
    c = np.clip((Tm ** 2 + Sm ** 2 - D ** 2) / (2 * Tm * Sm), -1.0, 1.0)
    chord = 180.0 - np.degrees(np.arccos(c))
    deep = valid & np.isfinite(chord) & (chord > CHORD_MIN_DEG)
    return np.where(deep, np.fmax(knee, chord), knee)


# ----------------------------------------------------------------------------- main

@dataclass(frozen=True)
class SignalInputs:
    """The `frames` columns that `compute_signals` reads, as float64/bool numpy arrays (n rows).

    `coords` holds the used landmarks' x, y and visibility columns, in that
    order (`_USED` order within each block); `facing`, `back_bulge` and
    `back_bend` are None when the table has no such column (NaN where null).
    """

    t: np.ndarray  # (n,) seconds
    coords: np.ndarray  # (n, 3 * len(_USED)): x (px), y (px), visibility (0..1)
    person: np.ndarray  # (n,) bool, null -> False
    facing: np.ndarray | None  # (n,) +1 / -1 / 0 / NaN
    back_bulge: np.ndarray | None  # (n,) back_bulge_frac
    back_bend: np.ndarray | None  # (n,) back_bend_deg

    def rows(self, start: int, end: int) -> SignalInputs:
        """Rows start:end (views, no copy)."""
        opt = lambda a: None if a is None else a[start:end]  # noqa: E731
        return SignalInputs(self.t[start:end], self.coords[start:end], self.person[start:end],
                            opt(self.facing), opt(self.back_bulge), opt(self.back_bend))


_COORD_COLS = tuple(f"{nm}_{c}" for c in ("x", "y", "vis") for nm in _USED)
_BACK_COLS = ("back_bulge_frac", "back_bend_deg")
SIGNAL_COLUMNS = ("t_s", "person", "facing", *_BACK_COLS, *_COORD_COLS)  # the frames columns read (if present)


def signal_inputs(frames: pl.DataFrame) -> SignalInputs:
    """The columns `compute_signals` needs, from `frames` rows in their order, with one conversion.

    Everything is read in one `select(...).to_numpy()` of float64 columns: t_s,
    person (null -> 0), facing and the back-line columns when present (null ->
    NaN), then the landmark coordinates; the casts are exact (float32 -> float64).
    """
    n = frames.height
    opt = [c for c in ("facing",) + _BACK_COLS if c in frames.columns]
    person = (pl.col("person").fill_null(False) if "person" in frames.columns else pl.lit(True)).cast(pl.Float64)
    exprs = ([pl.col("t_s").cast(pl.Float64), person.alias("person")]
             + [pl.col(c).cast(pl.Float64).fill_null(np.nan) for c in opt]
             + [pl.col(c).cast(pl.Float64) for c in _COORD_COLS])
    arr = frames.select(exprs).to_numpy() if n else np.empty((0, 2 + len(opt) + len(_COORD_COLS)))
    col = {c: 2 + i for i, c in enumerate(opt)}
    get = lambda c: arr[:, col[c]] if c in col else None  # noqa: E731
    return SignalInputs(t=arr[:, 0], coords=arr[:, 2 + len(opt):], person=arr[:, 1] != 0,
                        facing=get("facing"), back_bulge=get("back_bulge_frac"), back_bend=get("back_bend_deg"))


def compute_signals(frames: pl.DataFrame, cutoff_hz: float = 4.0) -> Signals:
    """Per-frame signals of one video from its `frames` rows (sorted by frame_idx).

    Smoothing: 2nd-order zero-lag Butterworth low-pass (`filtfilt`), cutoff
    `cutoff_hz` (default 4.0 Hz), per contiguous valid segment, after
    interpolating dropouts of at most 0.25 s; longer dropouts stay NaN.
    See the module docstring for the full recipe and the standing reference.
    """
    return signals_batch([signal_inputs(frames)], cutoff_hz)[0]


def signals_batch(inputs: list[SignalInputs], cutoff_hz: float = 4.0) -> list[Signals]:
    """`compute_signals` of several videos, from their already extracted columns (each
    video's rows sorted by frame_idx); their ankle running medians in one polars call.

    Each video is cleaned up to its leg outlier test (`_LegPrep`), the running
    medians of all ankle tracks are taken together (`running_medians`: each
    window sees one video's values only), then each video is finished.
    """
    preps = [_prepare_legs(inp) for inp in inputs]
    meds = running_medians([None if p.track is None else (p.flat[p.track[1], p.ankle_cols], p.track[2])
                            for p in preps])
    return [_finish_signals(p, med, cutoff_hz) for p, med in zip(preps, meds)]


@dataclass
class _LegPrep:
    """One video's state after the first leg clean-up steps, before the ankle running median."""

    inp: SignalInputs
    dt: float  # median frame interval, s
    fps: float
    flat: np.ndarray  # (n, 2 * len(_USED)): x, y per landmark, NaN outside person frames
    ok: np.ndarray  # (n,) bool: a person with shoulders and hips
    side: str
    facing: int
    ankle_guessed: np.ndarray  # (n,) bool: near-side ankle interpolated (low visibility)
    legs_seen: np.ndarray  # (n,) bool: a person with the near knee or ankle seen (visibility >= LOW_VIS)
    track: tuple[np.ndarray, np.ndarray, int] | None  # `_ankle_track`

    @property
    def ankle_cols(self) -> slice:
        ia = _COL[f"{self.side}_ankle"]
        return slice(2 * ia, 2 * ia + 2)


def _prepare_legs(inp: SignalInputs) -> _LegPrep:
    """Step 1 of the module recipe for one video, up to the ankle running-median test."""
    t = inp.t
    n = len(t)
    dt = median(np.diff(t)) if n > 1 else float("nan")  # median frame interval, s
    fps = 1.0 / dt if dt > 0 else float("nan")

    arr = inp.coords
    k = len(_USED)
    xy = np.stack((arr[:, :k], arr[:, k:2 * k]), axis=-1)  # (n, k, 2)
    vis = arr[:, 2 * k:]
    person = inp.person
    core = [_COL[c] for c in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")]
    ok = person & np.isfinite(xy[:, core, :]).all(axis=(1, 2))

    # near side by visibility over frames with a person (never averaged)
    vis33 = np.zeros((int(np.count_nonzero(ok)), len(LANDMARKS)))  # rows: the `ok` frames
    vis33[:, _USED_INDEX] = vis[ok]
    side = angles.near_side(vis33) if ok.any() else "left"

    facing = _majority_int(inp.facing, 0) if inp.facing is not None else 0
    if facing == 0:
        if ok.any():
            xy33 = np.full((int(ok.sum()), len(LANDMARKS), 2), np.nan)
            for nm, j in _COL.items():
                xy33[:, INDEX[nm]] = xy[ok, j]
            facing = angles.facing_from_feet(xy33, vis33.copy())
        else:
            facing = 1

    # per-landmark missing values inside person frames: fill them from the row-level mask
    flat = xy.reshape(n, 2 * k)
    flat = np.where(ok[:, None], flat, np.nan)
    col_ok = np.isfinite(flat)
    if not (col_ok | ~ok[:, None]).all():
        for j in np.flatnonzero(~(col_ok | ~ok[:, None]).all(axis=0)):  # rare: a landmark missing alone
            good = col_ok[:, j]
            if good.any():
                flat[ok & ~good, j] = np.interp(t[ok & ~good], t[good], flat[good, j])
    # near-side leg landmarks MediaPipe is unsure of (vis < LOW_VIS: typically the
    # ankle latched onto the hands or the plate at the bottom) are treated as missing
    ankle_guessed = np.zeros(n, dtype=bool)
    legs_seen = ok & ((vis[:, _COL[f"{side}_knee"]] >= LOW_VIS) | (vis[:, _COL[f"{side}_ankle"]] >= LOW_VIS))
    for nm in (f"{side}_{j}" for j in _LEG):
        j = _COL[nm]
        low = ok & ~(vis[:, j] >= LOW_VIS)
        if nm.endswith("_ankle"):
            ankle_guessed |= low
        good = ok & ~low & np.isfinite(flat[:, 2 * j]) & np.isfinite(flat[:, 2 * j + 1])
        if low.any() and good.sum() >= 2:
            for c in (2 * j, 2 * j + 1):
                flat[low, c] = np.interp(t[low], t[good], flat[good, c])
    _unswap_legs(flat, ok)
    return _LegPrep(inp=inp, dt=dt, fps=fps, flat=flat, ok=ok, side=side, facing=facing,
                    ankle_guessed=ankle_guessed, legs_seen=legs_seen, track=_ankle_track(t, flat, ok, side, dt))


def _finish_signals(prep: _LegPrep, ankle_median: np.ndarray | None, cutoff_hz: float) -> Signals:
    """The rest of the module recipe for one video, given its ankle track's running median."""
    inp, flat, ok, side, facing, fps = prep.inp, prep.flat, prep.ok, prep.side, prep.facing, prep.fps
    t, person = inp.t, inp.person
    n = len(t)
    ankle_guessed = prep.ankle_guessed | _fix_leg_outliers(t, flat, ok, side, prep.track, ankle_median)
    # from here on only these landmarks are read: gap-fill and smooth just their columns
    # (each column is filled and filtered on its own, so the values are the same)
    kept = _kept_landmarks(side)
    col = {name: i for i, name in enumerate(kept)}  # landmark -> position in the kept layout
    flat, valid = fill_gaps(t, flat[:, [c for nm in kept for c in (2 * _COL[nm], 2 * _COL[nm] + 1)]], ok)

    # hard cuts: hip midpoint jumps between consecutive valid frames
    def mid(f: np.ndarray, a: str, b: str) -> np.ndarray:
        ia, ib = col[a], col[b]
        return (f[:, 2 * ia:2 * ia + 2] + f[:, 2 * ib:2 * ib + 2]) / 2

    # flat layout is (x0, y0, x1, y1, ...) over the kept landmarks
    hip_raw = mid(flat, "left_hip", "right_hip")
    sh_raw = mid(flat, "left_shoulder", "right_shoulder")
    trunk_len_raw = np.linalg.norm(sh_raw - hip_raw, axis=1)
    scale = nanmedian(trunk_len_raw) if np.isfinite(trunk_len_raw).any() else np.nan
    breaks = np.zeros(n, dtype=bool)
    if n > 1 and np.isfinite(scale) and scale > 0:
        jump = np.linalg.norm(np.diff(hip_raw, axis=0), axis=1) / scale
        breaks[1:] = np.nan_to_num(jump, nan=0.0) > CUT_JUMP

    sm = lowpass_segments(flat, valid, fps, cutoff_hz, breaks)
    P = sm.reshape(n, len(kept), 2)

    def p(name: str) -> np.ndarray:
        return P[:, col[name]]

    hip_mid = (p("left_hip") + p("right_hip")) / 2
    sh_mid = (p("left_shoulder") + p("right_shoulder")) / 2
    ear_mid = (p("left_ear") + p("right_ear")) / 2
    ank_mid = (p("left_ankle") + p("right_ankle")) / 2
    s_, h_, k_, a_ = (p(f"{side}_{j}") for j in angles.SAGITTAL)
    with np.errstate(invalid="ignore", divide="ignore"):
        trunk = angles.trunk_angle_deg(hip_mid, sh_mid, facing)
        knee = angles.flexion_deg(h_, k_, a_)
        knee = _deep_knee_from_chord(knee, h_, k_, a_, valid & ~ankle_guessed)
        hip = angles.flexion_deg(s_, h_, k_)
        neck = _signed_dir_deg(ear_mid - sh_mid, facing) - _signed_dir_deg(sh_mid - hip_mid, facing)
        neck = (neck + 180.0) % 360.0 - 180.0
        chord = np.linalg.norm(sh_mid - hip_mid, axis=1)
        thigh = np.linalg.norm(h_ - k_, axis=1)
        height = ank_mid[:, 1] - sh_mid[:, 1]  # shoulder height above the ankles, px
        midfoot = (p(f"{side}_heel") + p(f"{side}_foot_index")) / 2
        d_hip = p("right_hip") - p("left_hip")  # image y grows downwards
        hip_tilt = np.degrees(np.arctan2(d_hip[:, 1], np.abs(d_hip[:, 0])))
        wrist = p(f"{side}_wrist")

    # shots: pieces between hard cuts and long dropouts, each with its own standing reference
    shot_start = breaks.copy()
    gs, ge = runs(~valid)
    long_gap = (t[np.minimum(ge, n - 1)] - t[np.maximum(gs - 1, 0)] >= SHOT_GAP_S) if n else np.zeros(0, bool)
    shot_start[np.minimum(ge[long_gap], n - 1)] = True
    shot_id = np.cumsum(shot_start)
    vertical = np.full(n, np.nan)
    chord_ratio = np.full(n, np.nan)
    hip_back = np.full(n, np.nan)
    hip_down = np.full(n, np.nan)
    wrist_off = np.full(n, np.nan)

    def reference(sel: np.ndarray) -> dict[str, float] | None:
        if not sel.any():
            return None
        h = height[sel]
        if not np.isfinite(h).any():
            return None
        stand = _standing_mask(height, trunk, sel)
        if not stand.any():
            return None
        med = nanmedian_cols(np.stack([sh_mid[stand, 1], hip_mid[stand, 0], hip_mid[stand, 1],
                                       height[stand], chord[stand], thigh[stand]], axis=1))
        return dict(zip(("sh_y", "hip_x", "hip_y", "height", "chord", "thigh"), map(float, med)))

    global_ref = reference(valid)
    if global_ref is not None:
        shots = np.unique(shot_id[valid])
        for sid in shots:
            sel = valid & (shot_id == sid)
            ts = t[sel]
            # a single shot is the whole clip: its reference is the global one
            ref = reference(sel) if len(shots) > 1 and ts.size and ts[-1] - ts[0] >= MIN_SHOT_S else None
            ref = ref or global_ref
            H = ref["height"] if ref["height"] > 0 else np.nan
            L = ref["thigh"] if ref["thigh"] > 0 else np.nan
            with np.errstate(invalid="ignore", divide="ignore"):
                vertical[sel] = 0.5 * ((sh_mid[sel, 1] - ref["sh_y"]) / H + (hip_mid[sel, 1] - ref["hip_y"]) / H)
                chord_ratio[sel] = chord[sel] / ref["chord"] if ref["chord"] > 0 else np.nan
                hip_back[sel] = -facing * (hip_mid[sel, 0] - ref["hip_x"]) / L
                hip_down[sel] = (hip_mid[sel, 1] - ref["hip_y"]) / L
                wrist_off[sel] = facing * (wrist[sel, 0] - midfoot[sel, 0]) / L

    def back(v: np.ndarray, good: np.ndarray) -> np.ndarray:
        """Back-line columns v (n,) or (n, k) sharing the mask `good`: gap-filled and smoothed."""
        v = np.where(good if v.ndim == 1 else good[:, None], v, np.nan)
        v, vok = fill_gaps(t, v, good)
        sm_ = lowpass_segments(v, vok, fps, cutoff_hz, breaks)
        return np.where(vok if v.ndim == 1 else vok[:, None], sm_, np.nan)

    def back_lines() -> tuple[np.ndarray, np.ndarray]:
        """(back_bulge, back_bend): each filled and smoothed over its own good frames; both in one
        pass when those frames coincide (the usual case: one mask measures both)."""
        bulge, bend = inp.back_bulge, inp.back_bend
        if n == 0 or bulge is None or bend is None:
            alone = lambda v: np.full(n, np.nan) if v is None or n == 0 else back(v, np.isfinite(v) & person)  # noqa: E731
            return alone(bulge), alone(bend)
        good_bulge, good_bend = np.isfinite(bulge) & person, np.isfinite(bend) & person
        if np.array_equal(good_bulge, good_bend):
            both = back(np.stack([bulge, bend], axis=1), good_bulge)
            return both[:, 0], both[:, 1]
        return back(bulge, good_bulge), back(bend, good_bend)

    back_bulge, back_bend = back_lines()

    # tracking check: the near leg seen, and not a knee bent past 105 deg under an upright trunk
    # (no hinge or squat balances like that; MediaPipe's tracker collapses a fast deep fold into it)
    with np.errstate(invalid="ignore"):
        folded_upright = (knee > IMPLAUSIBLE_KNEE_DEG) & (np.abs(trunk) < IMPLAUSIBLE_TRUNK_DEG)
    tracked = prep.legs_seen & ~folded_upright
    nanv = ~valid
    for arr_ in (trunk, knee, hip, neck, hip_tilt):
        arr_[nanv] = np.nan

    return Signals(
        t_s=t,
        valid=valid,
        trunk_deg=trunk,
        knee_deg=knee,
        hip_deg=hip,
        chord_ratio=chord_ratio,
        neck_deg=neck,
        back_bulge=back_bulge,
        back_bend=back_bend,
        hip_back=hip_back,
        hip_down=hip_down,
        wrist_offset=wrist_off,
        hip_tilt=hip_tilt,
        tracked=tracked,
        vertical=vertical,
        facing=int(facing),
        side=side,
        fps=fps,
    )
