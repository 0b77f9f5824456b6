"""Per-rep hinge metrics from per-frame ``Signals`` and a ``Rep`` (pure, numpy).

``rep_metrics(sig, rep, camera_view)`` returns a dict: one float (or None) per name in
``METRIC_COLUMNS`` plus ``null_reasons`` (metric -> why it is None). Definitions
(DESIGN.md angle conventions; "bottom" = the frame of maximum forward trunk lean in the
rep, or ``rep.bottom`` when the trunk is not observable):

- trunk_angle_bottom_deg: maximum forward lean within the rep.
- trunk_angle_top_deg: lockout = the most extended trunk angle of the rise, up to where
  the rising speed first falls below ``LOCKOUT_SLOW`` of its peak or dips below
  ``LOCKOUT_DIP`` of it (the end of the pull; a set's last rep may run on into standing
  up straight after the set), negative =
  leaning back past vertical.
- knee_flexion_bottom_deg / knee_flexion_top_deg: near-side knee flexion at the bottom
  and at the lockout frame; hip_flexion_bottom_deg: maximum hip flexion in the rep.
- chord_shortening_pct: 100 * (1 - shoulder-hip distance / standing distance) at the
  bottom (spine proxy from landmarks only).
- neck_drop_deg: head-line vs trunk-line angle at the bottom minus at the start.
- back_bulge_bottom, back_bend_bottom_deg: person-mask back shape, median over the
  bottom window (frames within 5 deg of the maximum lean).
- hip_back_bottom, hip_down_bottom (/ thigh length) and hip_back_vs_down (their ratio).
- wrist_offset_bottom: wrist ahead of mid-foot / thigh length, median over the bottom window.
- eccentric_s, concentric_s: start->bottom and bottom->end durations of the rep.
- descent_s: time between 5% and 95% of the depth on the way down (pauses excluded),
  the tempo used for ``rushed_eccentric``.
- hips_rise_trunk_progress: fraction of the trunk's rise done when the knee has
  completed 50% of its extension (~0.5 in phase, ~0 when the hips shoot up first).
- hip_tilt_bottom_deg (front view only): hip-line tilt at the bottom minus at the rep's
  start, degrees, + = the athlete's left hip rose; median over a +-0.1 s window at the bottom.
- depth_bottom: the view-independent ``vertical`` depth signal at its maximum.
- valid_frac: fraction of the rep's frames with a person.
- untracked_frac: fraction of the rep's person frames that fail the tracking check
  (``Signals.tracked``: near knee and ankle unseen, or an impossible upright deep squat).
  Above ``MAX_UNTRACKED`` the tracker has lost the athlete (on fast, deep synthetic folds it
  misplaces hips and shoulders by a trunk length while reporting them as visible), so every
  sagittal metric of the rep, and the descent time, is None with that reason.

Side view supports everything. Front and diagonal views do not show sagittal angles
faithfully: those metrics are None with a reason; durations and depth remain. The hip
tilt needs both hips apart in the image: front view only.
"""

from __future__ import annotations

import math

import numpy as np

from .types import Rep, Signals

SAGITTAL = (
    "trunk_angle_bottom_deg",
    "trunk_angle_top_deg",
    "knee_flexion_bottom_deg",
    "knee_flexion_top_deg",
    "hip_flexion_bottom_deg",
    "chord_shortening_pct",
    "neck_drop_deg",
    "back_bulge_bottom",
    "back_bend_bottom_deg",
    "hip_back_bottom",
    "hip_down_bottom",
    "hip_back_vs_down",
    "wrist_offset_bottom",
    "hips_rise_trunk_progress",
)
FRONTAL = ("hip_tilt_bottom_deg",)
OTHER = ("eccentric_s", "concentric_s", "descent_s", "depth_bottom", "valid_frac", "untracked_frac")
METRIC_COLUMNS: tuple[str, ...] = SAGITTAL + FRONTAL + OTHER

LOCKOUT_SLOW = 0.15  # the rise ends where its speed first drops below this fraction of its peak ...
LOCKOUT_DIP = 0.4  # ... or has a local minimum below this fraction (it runs on into standing up)
LOCKOUT_PAST_END_S = 0.5
BOTTOM_WINDOW_DEG = 5.0  # frames within this of the max lean form the bottom window
RATIO_CAP = 50.0
HIPS_RISE_MIN_KNEE_RANGE = 15.0  # deg; below this the knee barely moves (an RDL): test moot
MIN_HIP_DOWN = 0.02
# a controlled or even rushed hinge lowering takes well over this (5%-95% of depth); a faster
# read is a tracking jump (the depth signal stepping within a few frames), not a tempo
MIN_DESCENT_S = 0.25  # thigh lengths; below this the hips did not drop at all
MAX_UNTRACKED = 0.3  # fraction of a rep's frames failing the tracking check beyond which tracking is lost

VIEW_REASON = {
    "front": "front view: sagittal angles not observable",
    "diagonal": "diagonal view: sagittal angles distorted by perspective",
}


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


def video_metrics(sig: Signals, reps: list[Rep], camera_view: str = "side") -> list[dict]:
    """``rep_metrics`` for every rep of one video."""
    return [rep_metrics(sig, r, camera_view) for r in reps]
