"""Faults and form score of reps (polars, vectorised over reps); a rep's confidence comes with
its metrics (``metrics.confidence``, re-exported here).

Fault names are DESIGN.md's; each is one rule in ``fault_conditions`` (a polars
expression). Thresholds come from each rep's exercise ``Profile`` (profiles.toml, with
sources). The baseline is the athlete's light-load reference for the same exercise
(``breakdown.baseline_table``); with it, rounding, load drift, lockout overextension and
hip tilt are judged as changes against the athlete's own light-load pattern (camera
placement, build and mask outline differ between athletes), otherwise absolute
fallbacks apply. ``judge_reps`` judges a whole reps frame; ``rep_faults`` one rep.

``uneven_hips`` needs a front view (``hip_tilt_bottom_deg``); sagittal faults need a side view.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields

import polars as pl

from .metrics import METRIC_COLUMNS, confidence  # noqa: F401  (confidence re-exported)
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

DEFAULT_WEIGHT = 10.0  # form-score penalty of a fault the profile gives no weight


# ----------------------------------------------------------------------------- the rules
# Each fault is a polars expression over a reps frame that carries, per rep, its metrics,
# its profile's thresholds as `profile_<name>` columns and its athlete's baseline metrics
# as `baseline_<metric>` columns (null where the athlete has none). Missing or non-finite
# metrics are null and never fire.


def _metric(name: str) -> pl.Expr:
    """The rep's metric, null when missing or not finite."""
    return pl.when(pl.col(name).is_finite()).then(pl.col(name))


def _baseline(name: str) -> pl.Expr:
    """The athlete's light-load value of the metric, null when unknown or not finite."""
    return _metric(f"baseline_{name}")


def _delta(name: str) -> pl.Expr:
    """The rep's metric minus the athlete's baseline value (null without either)."""
    return _metric(name) - _baseline(name)


def _p(threshold: str) -> pl.Expr:
    """A threshold of the rep's exercise profile (profiles.toml)."""
    return pl.col(f"profile_{threshold}")


def flexion_increase_deg() -> pl.Expr:
    """Estimated increase of spinal flexion at the bottom vs the baseline (deg), or null.

    Mean of the mask measures' changes, each converted to spine degrees with the
    profile's calibration slope (back bend, back bulge); either alone when only one exists.
    """
    bend = _delta("back_bend_bottom_deg") / _p("bend_per_flexion_deg")
    bulge = _delta("back_bulge_bottom") / _p("bulge_per_flexion_deg")
    return pl.when(bend.is_not_null() & bulge.is_not_null()).then((bend + bulge) / 2).otherwise(
        pl.coalesce(bend, bulge))


def rounded_back() -> pl.Expr:
    """Spine flexion at the bottom: relative to the baseline where available, else absolute."""
    inc, d_chord = flexion_increase_deg(), _delta("chord_shortening_pct")
    bend, chord = _metric("back_bend_bottom_deg"), _metric("chord_shortening_pct")
    return (pl.when(inc.is_not_null()).then(inc >= _p("rounded_flexion_delta_deg"))
            .when(d_chord.is_not_null()).then(d_chord >= _p("rounded_chord_delta_pct"))
            .when(bend.is_not_null()).then(bend >= _p("rounded_bend_abs_deg"))
            .otherwise(chord >= _p("rounded_chord_delta_pct")))


def fault_conditions() -> dict[str, pl.Expr]:
    """Fault name (DESIGN.md order) -> when the rep shows it (null counts as no)."""
    knee_b, trunk_b = _metric("knee_flexion_bottom_deg"), _metric("trunk_angle_bottom_deg")
    trunk_t, d_top = _metric("trunk_angle_top_deg"), _delta("trunk_angle_top_deg")
    ratio = _metric("hip_back_vs_down")
    hips_drop = (ratio < _p("squat_back_vs_down_max")) & (knee_b > _p("squat_ratio_min_knee_deg"))
    w, d_w = _metric("wrist_offset_bottom"), _delta("wrist_offset_bottom")
    tilt = pl.coalesce(_delta("hip_tilt_bottom_deg"), _metric("hip_tilt_bottom_deg"))
    return {
        "squatting_the_hinge": (knee_b > _p("squat_knee_bottom_deg")).fill_null(False) | hips_drop.fill_null(False),
        "rounded_back": rounded_back(),
        # against the athlete's own light-load lockout when there is one (it carries the
        # camera's offset of the 2D trunk line), otherwise the absolute angle
        "lockout_overextension": pl.when(d_top.is_not_null()).then(d_top <= _p("overext_trunk_delta_deg"))
        .otherwise(trunk_t <= _p("overext_trunk_top_deg")),
        "incomplete_lockout": trunk_t >= _p("incomplete_trunk_top_deg"),
        "locked_knees": knee_b < _p("locked_knee_max_deg"),
        # the bar must end up ahead of the toes; with a baseline it must also have moved forward
        "load_drift": (w >= _p("drift_abs")) & (d_w.is_null() | (d_w >= _p("drift_delta"))),
        "weight_on_toes": (trunk_b >= _p("toes_min_trunk_deg")) & (_metric("hip_back_bottom") < _p("toes_hip_back_min")),
        "shallow_range": trunk_b < _p("shallow_trunk_bottom_deg"),
        "rushed_eccentric": _metric("descent_s") < _p("rushed_descent_s"),
        "hips_rise_first": _metric("hips_rise_trunk_progress") <= _p("hips_rise_trunk_progress_max"),
        # relative to the athlete's light-load tilt where known: a camera a little off-front
        # adds a constant perspective tilt to every rep
        "uneven_hips": tilt.abs() >= _p("uneven_hip_tilt_deg"),
    }


def profile_table(profiles: Mapping[str, Profile]) -> pl.DataFrame:
    """One row per exercise: `profile_<threshold>`, `enabled_<fault>` and `weight_<fault>` columns."""
    thresholds = [f.name for f in fields(Profile) if f.name not in ("exercise", "source", "weights", "disabled")]
    rows = [{"exercise": ex,
             **{f"profile_{t}": getattr(p, t) for t in thresholds},
             **{f"enabled_{f}": p.enabled(f) for f in FAULTS},
             **{f"weight_{f}": p.weights.get(f, DEFAULT_WEIGHT) for f in FAULTS}}
            for ex, p in profiles.items()]
    return pl.DataFrame(rows)


def judge_reps(reps: pl.DataFrame, profiles: Mapping[str, Profile], baselines: pl.DataFrame) -> pl.DataFrame:
    """`reps` with `faults` (list, DESIGN.md order) and `form_score` (0-100) added.

    `baselines`: athlete_id, exercise and light-load metric medians (``breakdown.baseline_table``).
    Metric columns absent from either frame count as missing.
    Form score: 100 minus the profile's penalty per fault (weights in profiles.toml), floored at 0.
    """
    unknown = set(reps["exercise"].unique().to_list()) - set(profiles)
    if unknown:
        raise ValueError(f"no fault profile for exercise(s) {sorted(unknown)} (profiles.toml)")
    base = baselines.rename({c: f"baseline_{c}" for c in baselines.columns if c not in ("athlete_id", "exercise")})
    shown = [(cond.fill_null(False) & pl.col(f"enabled_{f}")).alias(f"shows_{f}") for f, cond in fault_conditions().items()]
    penalty = pl.sum_horizontal([pl.when(pl.col(f"shows_{f}")).then(pl.col(f"weight_{f}")).otherwise(0.0) for f in FAULTS])
    # eager: on a few thousand rows, the lazy optimiser costs more than it saves here
    wide = (reps.join(profile_table(profiles), on="exercise", how="left", maintain_order="left")
            .join(base, on=["athlete_id", "exercise"], how="left", maintain_order="left"))
    absent = [c for m in METRIC_COLUMNS for c in (m, f"baseline_{m}") if c not in wide.columns]
    wide = wide.with_columns(pl.lit(None, pl.Float64).alias(c) for c in absent).with_columns(shown)
    return wide.select(
        *reps.columns,
        pl.concat_list([pl.when(pl.col(f"shows_{f}")).then(pl.lit(f)) for f in FAULTS]).list.drop_nulls().alias("faults"),
        pl.max_horizontal(pl.lit(0.0), 100.0 - penalty).alias("form_score"),
    )


def rep_faults(metrics: Mapping, profile: Profile, baseline: Mapping | None = None) -> list[str]:
    """Fault names (DESIGN.md order) that one rep's metrics show; missing metrics never fire.

    `baseline`: the athlete's light-load metric medians, or None. (One-rep form of `judge_reps`.)
    """
    def frame(m: Mapping) -> pl.DataFrame:
        values = {k: float(v) for k, v in m.items() if k in METRIC_COLUMNS and v is not None}
        return pl.DataFrame({"athlete_id": [""], "exercise": [profile.exercise], **{k: [v] for k, v in values.items()}})

    base = frame(baseline) if baseline is not None else frame({}).clear()
    return judge_reps(frame(metrics), {profile.exercise: profile}, base)["faults"][0].to_list()


def form_score(metrics: Mapping, faults: list[str], profile: Profile) -> float:
    """100 minus the profile's penalty per fault (weights in profiles.toml), floored at 0.

    Default weights: rounded_back 30; squatting_the_hinge, load_drift, hips_rise_first 15;
    weight_on_toes, lockout_overextension 10; incomplete_lockout, locked_knees,
    shallow_range, uneven_hips 8; rushed_eccentric 6. ``metrics`` is accepted so that
    graded penalties can be added without changing the signature.
    """
    pen = sum(profile.weights.get(f, DEFAULT_WEIGHT) for f in set(faults))
    return float(max(0.0, 100.0 - pen))
