"""Straightforward one-video / one-rep implementations of the segmentation, metrics and
confidence (as they were before they were batched), for the randomised tests that compare
the batched code with them bit for bit. Not used by the package."""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import find_peaks

from hingeflow.analytics.metrics import (BOTTOM_WINDOW_DEG, HIPS_RISE_MIN_KNEE_RANGE, JITTER_SCALE_DEG, LOCKOUT_DIP,
                                         LOCKOUT_PAST_END_S, LOCKOUT_SLOW, MAX_UNTRACKED, METRIC_COLUMNS,
                                         MIN_DESCENT_S, MIN_HIP_DOWN, RATIO_CAP, SAGITTAL, VIEW_FACTOR, VIEW_REASON)
from hingeflow.analytics.reps import (BOTTOM_BAND, BRIDGE_S, END_BAND, MIN_DISTANCE_S, MIN_EXCURSION_DEG,
                                      MIN_EXCURSION_VERTICAL, MIN_RUN_S, MIN_TRUNK_RANGE_DEG, MIN_VERTICAL_RANGE,
                                      PROMINENCE, SETTLE_BAND, START_DEPTH, TOP_BAND)
from hingeflow.analytics.signals import fill_gaps
from hingeflow.analytics.types import Rep, Signals


# --- segmentation (reps.py) ---


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


# --- metrics (metrics.py) ---


def _f(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _window_median(a: np.ndarray) -> float:
    """NaN-aware median of a rep's window of a signal (NaN when it has no finite value).

    The non-NaN values are sorted (infinities included) and the median is taken at
    the finite count's middle, as on a NaN-last sort of the window. Windows are
    short (a rep's bottom or lockout), so this runs on Python floats.
    """
    vals = a.tolist()
    if math.isfinite(sum(vals)):  # no NaN or infinity (the usual case)
        srt = sorted(vals)
        cnt = len(srt)
    else:
        srt = sorted(x for x in vals if x == x)  # drop NaN
        cnt = sum(1 for x in srt if math.isfinite(x))
    if cnt == 0:
        return math.nan
    return 0.5 * (srt[(cnt - 1) // 2] + srt[cnt // 2])


def _clip01(x: float) -> float:
    """``float(np.clip(x, 0.0, 1.0))`` for a finite scalar, without the array machinery."""
    return float(min(max(x, 0.0), 1.0))


def _crossing_time(t: list[float], p: list[float], level: float, first: bool) -> float:
    """Interpolated time where p crosses ``level`` upward (first or last such crossing)."""
    above = [x >= level for x in p]
    idx = [i for i in range(1, len(p)) if above[i] and not above[i - 1]]
    if not idx:
        return t[0] if above[0] else math.nan
    i = idx[0] if first else idx[-1]
    p0, p1 = p[i - 1], p[i]
    w = (level - p0) / (p1 - p0) if p1 != p0 else 0.0
    return t[i - 1] + w * (t[i] - t[i - 1])


def descent_time(t: np.ndarray, depth: np.ndarray) -> float:
    """Seconds between 5% and 95% of the way from the first to the last sample of ``depth``.

    Runs on Python floats (a rep's descent is a few dozen frames).
    """
    ts, d = t.tolist(), depth.tolist()
    if not math.isfinite(sum(d)):  # drop the frames without a finite depth
        ts, d = [ti for ti, di in zip(ts, d) if math.isfinite(di)], [di for di in d if math.isfinite(di)]
    if len(d) < 3:
        return math.nan
    d0, d1 = min(d[: max(1, len(d) // 2)]), d[-1]
    if not d1 - d0 > 1e-9:
        return math.nan
    den = d1 - d0
    p = [(x - d0) / den for x in d]
    t95 = _crossing_time(ts, p, 0.95, first=True)
    if not math.isfinite(t95):
        return math.nan
    before = [i for i, ti in enumerate(ts) if ti <= t95]
    t05 = _crossing_time([ts[i] for i in before], [p[i] for i in before], 0.05, first=False)
    return t95 - t05 if math.isfinite(t05) else math.nan


def lockout_index(trunk: np.ndarray) -> int:
    """Index of the lockout in ``trunk`` (deg, the rise from the bottom onwards).

    The most extended angle up to where the rising speed first drops below
    ``LOCKOUT_SLOW`` of its peak or has a local minimum below ``LOCKOUT_DIP`` of it;
    the smallest angle overall when it never slows. Runs on Python floats (a rise is a
    few dozen frames); non-finite angles never count as the most extended.
    """
    tr = trunk.tolist()
    x = [v if math.isfinite(v) else math.inf for v in tr]
    if len(x) < 3 or not any(v < math.inf for v in x):
        return _argmin(x)
    # deg/frame, + = rising; a step to or from a non-finite angle counts as 0
    speed = [-(b - a) for a, b in zip(tr, tr[1:])]
    speed = [v if math.isfinite(v) else 0.0 for v in speed]
    peak = max(range(len(speed)), key=speed.__getitem__)
    if not speed[peak] > 0:
        return _argmin(x)
    sp = speed[peak:]
    slow_below, dip_below = LOCKOUT_SLOW * sp[0], LOCKOUT_DIP * sp[0]
    stop = len(x)
    for i, v in enumerate(sp):
        # slowed down, or a local minimum of the speed well below the peak
        dip = 0 < i < len(sp) - 1 and v <= sp[i - 1] and v < sp[i + 1] and v < dip_below
        if v < slow_below or dip:
            stop = peak + i + 1
            break
    return _argmin(x[:stop + 1])


def _lockout_search_end(sig: Signals, end: int) -> int:
    """Exclusive index up to which a rep's lockout is looked for.

    The rep ends where the depth signal (trunk and hip height together) is back near
    standing, but the trunk may go on extending or leaning back after that: the search
    runs on for up to ``LOCKOUT_PAST_END_S``, while the pose stays valid and tracked
    (``lockout_index`` then stops where the rise slows).
    """
    limit = min(len(sig.t_s), end + 1 + int(round(LOCKOUT_PAST_END_S * (sig.fps or 30.0))))
    ok = np.asarray(sig.valid[end + 1:limit], dtype=bool) & np.asarray(sig.tracked[end + 1:limit], dtype=bool)
    return end + 1 + (ok.size if ok.all() else int(ok.argmin()))


def _argmin(x: list[float]) -> int:
    """Index of the first smallest value (``np.argmin`` of a NaN-free list)."""
    return min(range(len(x)), key=x.__getitem__)


def rise_progress_at_knee(knee: np.ndarray, trunk: np.ndarray, knee_frac: float = 0.5,
                          min_knee_range: float = 0.0) -> float:
    """Trunk rise progress (0..1) when the knee has done ``knee_frac`` of its extension.

    ``knee`` and ``trunk`` cover the concentric phase, bottom first. NaN when the knee
    barely moves (< ``min_knee_range`` deg) or the trunk does not rise. Runs on Python floats.
    """
    k, tr = knee.tolist(), trunk.tolist()
    if not math.isfinite(sum(k) + sum(tr)):  # drop the frames where either is not finite
        both = [(ki, ti) for ki, ti in zip(k, tr) if math.isfinite(ki) and math.isfinite(ti)]
        k, tr = [ki for ki, _ in both], [ti for _, ti in both]
    if len(k) < 3:
        return math.nan
    k_range = k[0] - min(k)
    t_range = tr[0] - min(tr)
    if k_range < max(min_knee_range, 1e-6) or t_range < 1e-6:
        return math.nan
    pk = [(k[0] - x) / k_range for x in k]
    i = next((j for j, x in enumerate(pk) if x >= knee_frac), 0)
    # interpolate the trunk progress at the crossing
    if i > 0 and pk[i] != pk[i - 1]:
        w = (knee_frac - pk[i - 1]) / (pk[i] - pk[i - 1])
        tr_i = tr[i - 1] + w * (tr[i] - tr[i - 1])
    else:
        tr_i = tr[i]
    return _clip01((tr[0] - tr_i) / t_range)


def rep_metrics(sig: Signals, rep: Rep, camera_view: str = "side") -> dict:
    """Metrics of one rep (see module doc); ``null_reasons`` explains every None."""
    s, e = int(rep.start), int(rep.end)
    n = len(sig.t_s)
    s, e = max(0, min(s, n - 1)), max(0, min(e, n - 1))
    b = max(s, min(int(rep.bottom), e))
    sl = slice(s, e + 1)
    t = sig.t_s
    out: dict = dict.fromkeys(METRIC_COLUMNS)
    reasons: dict[str, str] = {}

    valid = np.asarray(sig.valid[sl], dtype=bool)
    out["valid_frac"] = np.count_nonzero(valid) / valid.size if valid.size else 0.0
    seen = np.asarray(sig.tracked[sl], dtype=bool)[valid]
    out["untracked_frac"] = 1.0 - np.count_nonzero(seen) / seen.size if seen.size else None
    out["eccentric_s"] = float(t[b] - t[s])
    out["concentric_s"] = float(t[e] - t[b])
    vert = sig.vertical[sl]
    vfin = np.isfinite(vert)
    out["depth_bottom"] = float(vert[vfin].max()) if vfin.any() else None

    side = camera_view in (None, "", "side")
    trunk = sig.trunk_deg[sl]
    tfin = np.isfinite(trunk)
    have_trunk = side and bool(tfin.any())
    if have_trunk:
        tz = np.where(tfin, trunk, -np.inf)
        bi = s + int(tz.argmax())
        tmax = float(trunk[bi - s])
        win = slice(s, e + 1)
        wmask = tz >= tmax - BOTTOM_WINDOW_DEG
    else:
        bi = b
        k = max(1, int(round(0.1 * (sig.fps or 30.0))))
        win = slice(max(s, b - k), min(e, b + k) + 1)
        wmask = None
    depth = trunk if have_trunk else vert
    out["descent_s"] = _f(descent_time(t[s:bi + 1], depth[: bi - s + 1]))
    if out["descent_s"] is None:
        reasons["descent_s"] = "no depth signal reached the bottom"
    elif out["descent_s"] < MIN_DESCENT_S:
        out["descent_s"] = None
        reasons["descent_s"] = "implausibly fast descent (tracking glitch)"

    if camera_view == "front":
        k = max(1, int(round(0.1 * (sig.fps or 30.0))))
        at_bottom = _window_median(sig.hip_tilt[max(s, b - k): min(e, b + k) + 1])
        at_start = _window_median(sig.hip_tilt[s: min(e, s + k) + 1])
        out["hip_tilt_bottom_deg"] = _f(at_bottom - at_start)
        if out["hip_tilt_bottom_deg"] is None:
            reasons["hip_tilt_bottom_deg"] = "signal missing (NaN) in this rep"
    else:
        reasons["hip_tilt_bottom_deg"] = f"{camera_view or 'side'} view: hips overlap, tilt needs a front view"

    unseen = out["untracked_frac"]
    if not side:
        why = VIEW_REASON.get(camera_view, f"{camera_view} view: sagittal angles not observable")
    elif unseen is not None and unseen > MAX_UNTRACKED:
        why = f"pose tracking lost in {100 * unseen:.0f}% of the rep (leg unseen or impossible pose)"
        out["descent_s"], reasons["descent_s"] = None, why
    else:
        why = None
    if why is not None:
        for m in SAGITTAL:
            reasons[m] = why
        out["null_reasons"] = reasons
        return out

    if have_trunk:
        out["trunk_angle_bottom_deg"] = tmax
        li = bi + lockout_index(sig.trunk_deg[bi:_lockout_search_end(sig, e)])
        out["trunk_angle_top_deg"] = _f(float(sig.trunk_deg[li]))
    else:
        li = e
    k2 = max(1, int(round(0.05 * (sig.fps or 30.0))))
    rows = [x[win] for x in (sig.chord_ratio, sig.back_bulge, sig.back_bend, sig.wrist_offset, sig.knee_deg)]
    chord, bulge, bend, wrist, knee_b = (_window_median(r if wmask is None else r[wmask]) for r in rows)
    # robust to single-frame landmark swaps: medians over the bottom window / around lockout
    out["knee_flexion_bottom_deg"] = _f(knee_b)
    out["knee_flexion_top_deg"] = _f(_window_median(sig.knee_deg[max(s, li - k2): li + k2 + 1]))
    hip = sig.hip_deg[sl]
    hfin = np.isfinite(hip)
    out["hip_flexion_bottom_deg"] = float(hip[hfin].max()) if hfin.any() else None
    out["chord_shortening_pct"] = _f(100.0 * (1.0 - chord))
    out["neck_drop_deg"] = _f(float(sig.neck_deg[bi]) - float(sig.neck_deg[s]))
    out["back_bulge_bottom"] = _f(bulge)
    out["back_bend_bottom_deg"] = _f(bend)
    hb, hd = float(sig.hip_back[bi]), float(sig.hip_down[bi])
    out["hip_back_bottom"], out["hip_down_bottom"] = _f(hb), _f(hd)
    if math.isfinite(hb) and math.isfinite(hd):
        out["hip_back_vs_down"] = float(min(hb / max(hd, MIN_HIP_DOWN), RATIO_CAP))
    out["wrist_offset_bottom"] = _f(wrist)
    if have_trunk:
        out["hips_rise_trunk_progress"] = _f(rise_progress_at_knee(
            sig.knee_deg[bi:li + 1], sig.trunk_deg[bi:li + 1], 0.5, HIPS_RISE_MIN_KNEE_RANGE))
        if out["hips_rise_trunk_progress"] is None:
            reasons["hips_rise_trunk_progress"] = "knee extends too little to compare with the trunk"
    for m in SAGITTAL:
        if out[m] is None and m not in reasons:
            reasons[m] = "signal missing (NaN) in this rep"
    out["null_reasons"] = reasons
    return out


# --- confidence (faults.py) ---


def confidence(sig: Signals, rep: Rep, camera_view: str = "side") -> float:
    """0..1: fraction of valid frames (side view: with the near leg seen) x view factor x signal quality.

    View factor: side 1.0, diagonal 0.6, front 0.4 (2D errors grow quickly away from
    side-on, coaching-criteria "Measurement accuracy"). Quality: exp(-j / 1 deg) with j the
    residual jitter of the trunk and knee angles (the worse; front/diagonal: the depth signal
    x 90) in the rep: a robust white-noise SD from the third differences (1.4826 * median|d3| / sqrt(20)),
    which smooth movement barely touches.
    """
    s, e = max(0, int(rep.start)), int(rep.end) + 1
    valid = np.asarray(sig.valid[s:e], dtype=bool)
    if valid.size == 0:
        return 0.0
    n_valid = np.count_nonzero(valid)
    frac = n_valid / valid.size  # (count / size: the division a bool array's mean does)
    if (camera_view or "side") == "side":  # side-view angles need the near leg in sight
        frac *= np.count_nonzero(np.asarray(sig.tracked[s:e], dtype=bool)[valid]) / n_valid if n_valid else 0.0
    view = VIEW_FACTOR.get(camera_view or "side", 0.4)
    if (camera_view or "side") == "side":
        series = (sig.trunk_deg[s:e], sig.knee_deg[s:e])
    else:
        series = (90.0 * sig.vertical[s:e],)
    jit = 0.0
    for x in series:
        x = x[np.isfinite(x)]
        if x.size < 5:
            continue
        d3 = np.abs(np.diff(x, 3))
        jit = max(jit, 1.4826 * float(np.partition(d3, len(d3) // 2)[len(d3) // 2]) / math.sqrt(20.0))
    qual = math.exp(-jit / JITTER_SCALE_DEG) if np.count_nonzero(np.isfinite(series[0])) >= 5 else 0.0
    return min(max(frac * view * qual, 0.0), 1.0)
