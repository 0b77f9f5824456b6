"""Faults and form score of reps (polars, vectorised over reps); a rep's confidence comes with
its metrics (``metrics.confidence``, re-exported here).

Fault names are DESIGN.md's; each is one rule in ``fault_evidence``: a polars
expression giving the rep's evidence (value, threshold, noise, margin, verdict; see
``evidence``), and a rep shows the fault only when the verdict is "fault". Thresholds come from each rep's exercise ``Profile`` (profiles.toml, with
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

from .evidence import DELTA_NOISE, EVIDENCE, Test, first_available, noise_columns, strongest
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


def _noise(name: str) -> pl.Expr:
    """The rep's noise of a metric (``evidence.noise_columns``)."""
    return pl.col(f"noise_{name}")


def flexion_increase_deg() -> pl.Expr:
    """Estimated increase of spinal flexion at the bottom vs the baseline (deg), or null.

    Mean of the mask measures' changes, each converted to spine degrees with the
    profile's calibration slope (back bend, back bulge); either alone when only one exists.
    """
    bend = _delta("back_bend_bottom_deg") / _p("bend_per_flexion_deg")
    bulge = _delta("back_bulge_bottom") / _p("bulge_per_flexion_deg")
    return pl.when(bend.is_not_null() & bulge.is_not_null()).then((bend + bulge) / 2).otherwise(
        pl.coalesce(bend, bulge))


def flexion_noise_deg() -> pl.Expr:
    """Noise of ``flexion_increase_deg`` (deg): the two measures' noises in spine degrees, combined."""
    bend = _noise("back_bend_bottom_deg") / _p("bend_per_flexion_deg")
    bulge = _noise("back_bulge_bottom") / _p("bulge_per_flexion_deg")
    both = _delta("back_bend_bottom_deg").is_not_null() & _delta("back_bulge_bottom").is_not_null()
    one = pl.when(_delta("back_bend_bottom_deg").is_not_null()).then(bend).otherwise(bulge)
    return DELTA_NOISE * pl.when(both).then((bend ** 2 + bulge ** 2).sqrt() / 2).otherwise(one)


def _absolute(metric: str, threshold: str, direction: int, **kw) -> Test:
    return Test(metric, _metric(metric), _p(threshold), direction, _noise(metric), **kw)


def _relative(metric: str, threshold: str, direction: int, **kw) -> Test:
    """The change of `metric` against the athlete's light-load baseline."""
    return Test(f"{metric} change", _delta(metric), _p(threshold), direction, DELTA_NOISE * _noise(metric),
                baseline=_baseline(metric), **kw)


def fault_evidence() -> dict[str, pl.Expr]:
    """Fault name (DESIGN.md order) -> the rep's evidence struct (``evidence.EVIDENCE``), null without a value.

    Where a rule has a baseline-relative and an absolute form, the relative one is
    used when the athlete has a light-load baseline (it removes the camera's and the
    build's offset of 2D lines).
    """
    knee_b, trunk_b = "knee_flexion_bottom_deg", "trunk_angle_bottom_deg"
    d_w = _delta("wrist_offset_bottom")
    tilt_rel = _relative("hip_tilt_bottom_deg", "uneven_hip_tilt_deg", 1)
    tilt_abs = _absolute("hip_tilt_bottom_deg", "uneven_hip_tilt_deg", 1)
    return {
        "squatting_the_hinge": strongest([
            _absolute(knee_b, "squat_knee_bottom_deg", 1),
            # CC checkpoint 1: hips dropping instead of travelling back, with bent knees
            _absolute("hip_back_vs_down", "squat_back_vs_down_max", -1,
                      guard=_metric(knee_b) > _p("squat_ratio_min_knee_deg"))], "squatting_the_hinge"),
        "rounded_back": first_available([
            Test("spine flexion change (deg)", flexion_increase_deg(), _p("rounded_flexion_delta_deg"), 1,
                 flexion_noise_deg()),
            _relative("chord_shortening_pct", "rounded_chord_delta_pct", 1),
            _absolute("back_bend_bottom_deg", "rounded_bend_abs_deg", 1),
            _absolute("chord_shortening_pct", "rounded_chord_delta_pct", 1)], "rounded_back"),
        "lockout_overextension": first_available([
            _relative("trunk_angle_top_deg", "overext_trunk_delta_deg", -1),
            _absolute("trunk_angle_top_deg", "overext_trunk_top_deg", -1)], "lockout_overextension"),
        "incomplete_lockout": _absolute("trunk_angle_top_deg", "incomplete_trunk_top_deg", 1).evidence(
            "incomplete_lockout"),
        "locked_knees": _absolute(knee_b, "locked_knee_max_deg", -1).evidence("locked_knees"),
        # the bar must end up ahead of the toes; with a baseline it must also have moved forward
        "load_drift": _absolute("wrist_offset_bottom", "drift_abs", 1,
                                guard=d_w.is_null() | (d_w >= _p("drift_delta"))).evidence("load_drift"),
        "weight_on_toes": _absolute("hip_back_bottom", "toes_hip_back_min", -1,
                                    guard=_metric(trunk_b) >= _p("toes_min_trunk_deg")).evidence("weight_on_toes"),
        "shallow_range": _absolute(trunk_b, "shallow_trunk_bottom_deg", -1).evidence("shallow_range"),
        "rushed_eccentric": _absolute("descent_s", "rushed_descent_s", -1).evidence("rushed_eccentric"),
        "hips_rise_first": _absolute("hips_rise_trunk_progress", "hips_rise_trunk_progress_max", -1).evidence(
            "hips_rise_first"),
        # relative to the athlete's light-load tilt where known: a camera a little off-front
        # adds a constant perspective tilt to every rep; either direction is uneven
        "uneven_hips": first_available([
            Test(tilt_rel.metric, tilt_rel.value.abs(), tilt_rel.threshold, 1, tilt_rel.noise, tilt_rel.baseline),
            Test(tilt_abs.metric, tilt_abs.value.abs(), tilt_abs.threshold, 1, tilt_abs.noise)], "uneven_hips"),
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


def judge_reps(reps: pl.DataFrame, profiles: Mapping[str, Profile], baselines: pl.DataFrame,
               spreads: pl.DataFrame | None = None) -> pl.DataFrame:
    """`reps` with `faults` (list, DESIGN.md order), `fault_evidence` and `form_score` (0-100) added.

    `baselines`: athlete_id, exercise and light-load metric medians (``breakdown.baseline_table``);
    `spreads`: athlete_id, exercise and light-load `spread_<metric>` (``evidence.light_spread_table``),
    the noise of videos too short to have a spread of their own. Metric columns absent
    from the frames count as missing. `fault_evidence` holds one struct per enabled rule
    that had a value (``evidence.EVIDENCE``); `faults` the rules whose verdict is "fault".
    Form score: 100 minus the profile's penalty per fault (weights in profiles.toml), floored at 0.
    """
    unknown = set(reps["exercise"].unique().to_list()) - set(profiles)
    if unknown:
        raise ValueError(f"no fault profile for exercise(s) {sorted(unknown)} (profiles.toml)")
    keys = ["athlete_id", "exercise"]
    base = baselines.rename({c: f"baseline_{c}" for c in baselines.columns if c not in keys})
    # eager: on a few thousand rows, the lazy optimiser costs more than it saves here
    wide = (reps.join(profile_table(profiles), on="exercise", how="left", maintain_order="left")
            .join(base, on=keys, how="left", maintain_order="left"))
    if spreads is not None and spreads.height:
        wide = wide.join(spreads, on=keys, how="left", maintain_order="left")
    absent = [c for m in METRIC_COLUMNS for c in (m, f"baseline_{m}") if c not in wide.columns]
    wide = wide.with_columns(pl.lit(None, pl.Float64).alias(c) for c in absent)
    if "video_id" not in wide.columns:  # without videos, each rep is its own (no spread)
        wide = wide.with_row_index("video_id")
    wide = wide.with_columns(noise_columns(set(wide.columns)))
    # one evidence column per fault, then gathered into each rep's list in FAULTS order (through a
    # long table: polars' concat_list of struct columns costs ~30x more on ten thousand reps)
    cols = [f"ev_{f}" for f in FAULTS]
    wide = wide.with_row_index("_rep").with_columns(
        pl.when(pl.col(f"enabled_{f}")).then(ev).alias(f"ev_{f}") for f, ev in fault_evidence().items())
    lists = (wide.select("_rep", *cols).unpivot(on=cols, index="_rep", value_name="ev").drop_nulls("ev")
             .group_by("_rep").agg(pl.col("ev").alias("fault_evidence")))
    wide = (wide.join(lists, on="_rep", how="left", maintain_order="left")
            .with_columns(pl.col("fault_evidence").fill_null(pl.lit([], pl.List(EVIDENCE)))))
    shown = (pl.col("fault_evidence").list.eval(pl.element().filter(pl.element().struct.field("verdict") == "fault")
                                                .struct.field("fault")))
    wide = wide.with_columns(shown.alias("faults"))
    penalty = pl.sum_horizontal([pl.when(pl.col("faults").list.contains(f)).then(pl.col(f"weight_{f}")).otherwise(0.0)
                                 for f in FAULTS])
    return wide.select(*reps.columns, "faults", "fault_evidence",
                       pl.max_horizontal(pl.lit(0.0), 100.0 - penalty).alias("form_score"))


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
