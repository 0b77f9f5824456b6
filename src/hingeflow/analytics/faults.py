"""Faults and form score of one rep (pure); its confidence comes with the metrics (``metrics.confidence``).

Fault names are DESIGN.md's. Thresholds come from a ``Profile`` (profiles.toml, with
sources). ``baseline`` is the athlete's light-load reference for the same exercise
(metric -> median value, e.g. from ``breakdown.baseline_metrics``); with it, rounding,
load drift, lockout overextension and hip tilt are judged as changes against the
athlete's own light-load pattern (camera placement, build and mask outline differ
between athletes), otherwise absolute fallbacks apply.

``uneven_hips`` needs a front view (``hip_tilt_bottom_deg``); sagittal faults need a side view.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from .metrics import confidence, rep_metrics  # noqa: F401  (re-exported for convenience)
from .profiles import Profile

FAULTS = (
    "squatting_the_hinge",
    "rounded_back",
    "lockout_overextension",
    "incomplete_lockout",
    "locked_knees",
    "load_drift",
    "weight_on_toes",
    "shallow_range",
    "rushed_eccentric",
    "hips_rise_first",
    "uneven_hips",
)


def _v(m: Mapping, k: str) -> float | None:
    x = m.get(k)
    return None if x is None or not math.isfinite(x) else float(x)


def _delta(m: Mapping, base: Mapping | None, k: str) -> float | None:
    x = _v(m, k)
    if x is None or base is None:
        return None
    b = _v(base, k)
    return None if b is None else x - b


def flexion_increase_deg(m: Mapping, p: Profile, baseline: Mapping | None) -> float | None:
    """Estimated increase of spinal flexion at the bottom vs the baseline (deg), or None.

    Mean of the mask measures' changes, each converted to spine degrees with the
    profile's calibration slope (back bend, back bulge); either alone when only one exists.
    """
    est = []
    d_bend = _delta(m, baseline, "back_bend_bottom_deg")
    if d_bend is not None:
        est.append(d_bend / p.bend_per_flexion_deg)
    d_bulge = _delta(m, baseline, "back_bulge_bottom")
    if d_bulge is not None:
        est.append(d_bulge / p.bulge_per_flexion_deg)
    return sum(est) / len(est) if est else None


def rounded_back(m: Mapping, p: Profile, baseline: Mapping | None = None) -> bool:
    """Spine flexion at the bottom: relative to the baseline where available, else absolute."""
    inc = flexion_increase_deg(m, p, baseline)
    if inc is not None:
        return inc >= p.rounded_flexion_delta_deg
    d_chord = _delta(m, baseline, "chord_shortening_pct")
    if d_chord is not None:
        return d_chord >= p.rounded_chord_delta_pct
    bend = _v(m, "back_bend_bottom_deg")
    if bend is not None:
        return bend >= p.rounded_bend_abs_deg
    chord = _v(m, "chord_shortening_pct")
    return chord is not None and chord >= p.rounded_chord_delta_pct


def rep_faults(metrics: Mapping, profile: Profile, baseline: Mapping | None = None) -> list[str]:
    """Fault names (DESIGN.md order) the rep's metrics show; missing metrics never fire."""
    m, p = metrics, profile
    out: list[str] = []

    def add(name: str, cond: bool) -> None:
        if cond and p.enabled(name):
            out.append(name)

    knee_b = _v(m, "knee_flexion_bottom_deg")
    trunk_b = _v(m, "trunk_angle_bottom_deg")
    trunk_t = _v(m, "trunk_angle_top_deg")
    ratio = _v(m, "hip_back_vs_down")
    hips_drop = (ratio is not None and knee_b is not None
                 and ratio < p.squat_back_vs_down_max and knee_b > p.squat_ratio_min_knee_deg)
    add("squatting_the_hinge", (knee_b is not None and knee_b > p.squat_knee_bottom_deg) or hips_drop)
    add("rounded_back", rounded_back(m, p, baseline))
    d_top = _delta(m, baseline, "trunk_angle_top_deg")
    # against the athlete's own light-load lockout when there is one (it carries the
    # camera's offset of the 2D trunk line), otherwise the absolute angle
    add("lockout_overextension", trunk_t is not None and (
        d_top <= p.overext_trunk_delta_deg if d_top is not None else trunk_t <= p.overext_trunk_top_deg))
    add("incomplete_lockout", trunk_t is not None and trunk_t >= p.incomplete_trunk_top_deg)
    add("locked_knees", knee_b is not None and knee_b < p.locked_knee_max_deg)
    d_w = _delta(m, baseline, "wrist_offset_bottom")
    w = _v(m, "wrist_offset_bottom")
    # the bar must end up ahead of the toes; with a baseline it must also have moved forward
    drift = w is not None and w >= p.drift_abs and (d_w is None or d_w >= p.drift_delta)
    add("load_drift", drift)
    hb = _v(m, "hip_back_bottom")
    add("weight_on_toes", hb is not None and trunk_b is not None
        and trunk_b >= p.toes_min_trunk_deg and hb < p.toes_hip_back_min)
    add("shallow_range", trunk_b is not None and trunk_b < p.shallow_trunk_bottom_deg)
    ds = _v(m, "descent_s")
    add("rushed_eccentric", ds is not None and ds < p.rushed_descent_s)
    hr = _v(m, "hips_rise_trunk_progress")
    add("hips_rise_first", hr is not None and hr <= p.hips_rise_trunk_progress_max)
    # relative to the athlete's light-load tilt where known: a camera a little off-front adds
    # a constant perspective tilt to every rep
    tilt = _delta(m, baseline, "hip_tilt_bottom_deg")
    tilt = _v(m, "hip_tilt_bottom_deg") if tilt is None else tilt
    add("uneven_hips", tilt is not None and abs(tilt) >= p.uneven_hip_tilt_deg)
    return out


def form_score(metrics: Mapping, faults: list[str], profile: Profile) -> float:
    """100 minus the profile's penalty per fault (weights in profiles.toml), floored at 0.

    Default weights: rounded_back 30; squatting_the_hinge, load_drift, hips_rise_first 15;
    weight_on_toes, lockout_overextension 10; incomplete_lockout, locked_knees,
    shallow_range, uneven_hips 8; rushed_eccentric 6. ``metrics`` is accepted so that
    graded penalties can be added without changing the signature.
    """
    pen = sum(profile.weights.get(f, 10.0) for f in set(faults))
    return float(max(0.0, 100.0 - pen))
