"""Rep segmentation: find each descent-bottom-return excursion in a depth signal.

Recipe (`segment_reps`):

1. Depth signal: in side views the trunk angle (`trunk_deg`, + forward lean),
   provided its robust range over the clip is at least `MIN_TRUNK_RANGE_DEG`
   (otherwise the athlete does not hinge visibly in the image plane), averaged
   with `vertical` (each scaled to its robust range) when that moves too: the
   trunk angle is the hinge itself, the vertical drop times the bottom well
   even where the pose model lags on the trunk; in front
   and diagonal views, where the trunk angle is foreshortened, the
   view-independent `vertical` signal. The signal is normalised to its robust
   range (1st to 99.5th percentile), so thresholds are fractions of the clip's
   typical rep depth.
2. Peaks: `scipy.signal.find_peaks` per contiguous valid run (NaN gaps from
   title cards, fades and cuts separate runs, so no rep is stitched across a
   gap), with prominence >= `PROMINENCE` of the range (and an absolute floor:
   `MIN_EXCURSION_DEG` of trunk angle or `MIN_EXCURSION_VERTICAL`) and peaks at
   least `MIN_DISTANCE_S` apart (kettlebell swings run at ~1.5 s per rep).
   A descent that the clip or a gap cuts off before the rise (a final
   set-down) is not a rep.
3. Bounds: start = the last frame before the bottom at which the signal is
   still within `TOP_BAND` of the excursion from the local top level (the
   minimum since the previous bottom; after the bottom: up to the next one), end = the first
   such frame after the bottom; so pauses at the top belong to neither rep, and
   touch-and-go reps share their boundary. From there start/end are extended
   while the signal keeps moving monotonically and is more than `SETTLE_BAND`
   from the top level (the motion's true onset/finish). Bottom = middle of the frames within
   `BOTTOM_BAND` of the peak (a pause at the bottom is centred).
4. Gaps: pose dropouts up to `BRIDGE_S` (1 s, e.g. MediaPipe losing a fast
   pull) are bridged linearly in the depth signal; longer gaps (title cards,
   fades, cuts) split the clip into runs.
5. Run starts: a low value is put in front of each run, so a run that begins
   at the bottom (bar on the floor, deadlift clips that open in the set-up)
   counts its first rise; but only if it starts at least `START_DEPTH` of
   the range deep, so a clip that opens in the middle of a rise does not.

Counting convention: a rep is a rise from a bottom back to the top (lockout)
that the clip shows, with the descent before it when the clip shows that too.
So a deadlift clip that opens with the bar on the floor counts its first pull;
a final set-down (or a kettlebell's park) that the clip does not follow back
up to within `END_BAND` of the starting level does not count; a pull that
ends the clip at lockout counts (`bbdl_wikimedia_reardiag`: 2).

Parameters were set on the dev clips (real TBY66/YFGD/coach clips and the
synthetic gym, never the hold-out); the sensitive ones: `START_DEPTH`
(0.6 and 0.9 each break one real clip), `END_BAND` (0.45 counts a swing
clip's final park), `MIN_DISTANCE_S` (0.4 splits one noisy YFGD pull).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import find_peaks

from hingeflow.analytics.signals import fill_gaps
from hingeflow.analytics.types import Rep, Signals

MIN_TRUNK_RANGE_DEG = 25.0  # side views: below this the trunk signal is not used
MIN_VERTICAL_RANGE = 0.08  # side views: vertical joins the trunk angle when its range is at least this
PROMINENCE = 0.35  # minimum rep excursion, fraction of the robust range
MIN_EXCURSION_DEG = 15.0  # absolute floor on a rep's trunk excursion
MIN_EXCURSION_VERTICAL = 0.04  # absolute floor on a rep's vertical excursion
MIN_DISTANCE_S = 0.7  # minimum time between bottoms
MIN_RUN_S = 0.5  # valid runs shorter than this are ignored
TOP_BAND = 0.12  # start/end: within this fraction of the excursion from the top level
SETTLE_BAND = 0.03  # ...then extended while the signal keeps moving, down to this fraction
BOTTOM_BAND = 0.04  # bottom: centre of the frames within this fraction of the peak
BRIDGE_S = 1.0  # dropouts up to this long are bridged (linearly) in the depth signal
START_DEPTH = 0.75  # a rep seen without its descent must start this deep (fraction of the range)
END_BAND = 0.25  # a rep must rise back to within this fraction of its excursion from its start level


def robust_range(x: np.ndarray) -> tuple[float, float]:
    """(1st, 99.5th) percentile of the non-NaN values of x: ``np.nanpercentile(x, [1, 99.5])``.

    The same arithmetic as numpy's default ("linear") method on the NaN-free
    values (virtual index (n - 1) q, order statistics by partition, numpy's
    two-sided lerp), without its generic per-call machinery. NaN if x is all NaN.
    """
    a = x[~np.isnan(x)]
    n = a.size
    if n == 0:
        return math.nan, math.nan
    picks = [_linear_quantile_index(n, q / 100) for q in (1.0, 99.5)]
    part = np.partition(a, sorted({0, n - 1, *(i for lo_i, hi_i, _ in picks for i in (lo_i, hi_i))}))
    out = []
    for lo_i, hi_i, gamma in picks:
        lo, hi = part[lo_i], part[hi_i]
        diff = hi - lo
        out.append(hi - diff * (1 - gamma) if gamma >= 0.5 else lo + diff * gamma)
    return out[0], out[1]


def _linear_quantile_index(n: int, q: float) -> tuple[int, int, float]:
    """numpy's "linear" quantile neighbours and weight: (lower index, upper index, gamma) for n values."""
    virtual = (n - 1) * q
    if virtual >= n - 1:  # at the last value: numpy takes it as both neighbours, with index -1
        return n - 1, n - 1, virtual + 1
    lower = math.floor(virtual)
    return lower, lower + 1, virtual - lower


def _unit(x: np.ndarray) -> tuple[np.ndarray, float]:
    """x scaled to its robust range (1st percentile -> 0, 99.5th -> 1), and that range."""
    if np.isfinite(x).sum() < 3:
        return np.full_like(x, np.nan), 0.0
    lo, hi = robust_range(x)
    rng = float(hi - lo)
    return ((x - lo) / rng if rng > 0 else np.full_like(x, np.nan)), rng


def depth_signal(sig: Signals, camera_view: str) -> tuple[np.ndarray, str]:
    """The signal that rises with depth, and its kind: 'trunk' (deg), 'vertical', or 'combined' (0..1)."""
    trunk = np.asarray(sig.trunk_deg, dtype=float)
    vertical = np.asarray(sig.vertical, dtype=float)
    view = (camera_view or "side").lower()
    if view == "side":
        tu, trng = _unit(trunk)
        if trng >= MIN_TRUNK_RANGE_DEG:
            vu, vrng = _unit(vertical)
            if vrng >= MIN_VERTICAL_RANGE:
                # both: the trunk angle is the hinge itself, the vertical drop of the
                # shoulders and hips times the bottom well even when the pose model
                # lags on the trunk; averaging halves either one's errors
                return 0.5 * (tu + vu), "combined"
            return trunk, "trunk"
    return vertical, "vertical"


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    m = np.concatenate(([False], np.asarray(mask, dtype=bool), [False]))
    d = np.diff(m.astype(np.int8))
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1)


def segment_reps(sig: Signals, exercise: str, camera_view: str) -> list[Rep]:
    """Reps of one video as index triples (start <= bottom <= end) into `sig`'s arrays.

    `exercise` is accepted for per-exercise tuning; the current recipe is the
    same for all hinge exercises (see the module docstring).
    """
    d, kind = depth_signal(sig, camera_view)
    n = len(d)
    # pose dropouts during a fast pull: bridge them so the rep is not cut in two
    d, ok = fill_gaps(np.asarray(sig.t_s, dtype=float), d, np.isfinite(d), BRIDGE_S)
    if n < 3 or ok.sum() < 3:
        return []
    lo, hi = robust_range(d)
    rng = hi - lo
    floor = {"trunk": MIN_EXCURSION_DEG, "vertical": MIN_EXCURSION_VERTICAL, "combined": 0.0}[kind]
    if not np.isfinite(rng) or rng < floor:
        return []
    prom = max(PROMINENCE * rng, floor)
    fps = sig.fps if np.isfinite(sig.fps) and sig.fps > 0 else 30.0
    dist = max(1, int(round(MIN_DISTANCE_S * fps)))

    reps: list[Rep] = []
    starts, ends = _runs(ok)
    for s, e in zip(starts, ends):
        if e - s < max(3, MIN_RUN_S * fps):
            continue
        reps.extend(Rep(s + a, s + b, s + c) for a, b, c in _run_reps(d[s:e], lo, hi, prom, dist))
    return reps


def _run_reps(x: np.ndarray, lo: float, hi: float, prom: float, dist: int) -> list[tuple[int, int, int]]:
    """Reps inside one valid run x: (start, bottom, end) local indices."""
    # a low value in front lets a run that begins at the bottom (bar on the floor,
    # a cut into the middle of a rep) count its first rise; nothing is added at
    # the end, so a descent that the run does not follow back up is not a rep
    pad = min(lo, float(np.min(x)))
    xp = np.concatenate(([pad], x))
    peaks, _ = find_peaks(xp, prominence=prom, distance=dist)
    peaks = (peaks - 1).tolist()
    out: list[tuple[int, int, int]] = []
    prev_bottom, prev_end = 0, 0
    m = len(x)
    x = x.tolist()  # Python floats: the per-rep scans below cover a few dozen frames
    for k, p in enumerate(peaks):
        nxt = peaks[k + 1] if k + 1 < len(peaks) else m - 1
        v = x[p]
        seg_l = x[prev_bottom:p + 1]
        top_l = min(seg_l)
        if v - top_l < prom:  # no descent seen: the run starts at (or near) the bottom
            if v < lo + START_DEPTH * (hi - lo):  # ... or in the middle of a rise: not a rep
                continue
            top_l = min(top_l, lo)
        seg_r = x[p:nxt + 1]
        # the rise must come back near the level the rep started from
        back = _first_at_most(seg_r, top_l + END_BAND * (v - top_l))
        if back is None:
            continue
        top_r = min(seg_r)
        thr_l = top_l + TOP_BAND * (v - top_l)
        thr_r = top_r + TOP_BAND * (v - top_r)
        left = _last_at_most(seg_l, thr_l)
        i0 = prev_bottom + left if left is not None else prev_bottom
        right = _first_at_most(seg_r, thr_r)
        i1 = p + right if right is not None else p + back
        # walk on to where the motion starts/stops: monotone and above the top band's floor
        fl, fr = top_l + SETTLE_BAND * (v - top_l), top_r + SETTLE_BAND * (v - top_r)
        while i0 > prev_bottom and x[i0 - 1] < x[i0] and x[i0 - 1] > fl:
            i0 -= 1
        while i1 < nxt and x[i1 + 1] < x[i1] and x[i1 + 1] > fr:
            i1 += 1
        i0 = min(max(i0, prev_end), p)
        # bottom: centre of the near-peak plateau around p
        band = v - BOTTOM_BAND * (v - min(top_l, top_r))
        a = p
        while a > i0 and x[a - 1] >= band:
            a -= 1
        b = p
        while b < i1 and x[b + 1] >= band:
            b += 1
        out.append((i0, (a + b) // 2, i1))
        prev_bottom, prev_end = p, i1
    return out


def _first_at_most(xs: list[float], level: float) -> int | None:
    """Index of the first value <= level, or None."""
    return next((i for i, x in enumerate(xs) if x <= level), None)


def _last_at_most(xs: list[float], level: float) -> int | None:
    """Index of the last value <= level, or None."""
    return next((i for i in range(len(xs) - 1, -1, -1) if xs[i] <= level), None)


def rep_durations(sig: Signals, rep: Rep) -> tuple[float, float]:
    """(eccentric_s, concentric_s): start -> bottom and bottom -> end, in seconds."""
    t = sig.t_s
    return float(t[rep.bottom] - t[rep.start]), float(t[rep.end] - t[rep.bottom])
