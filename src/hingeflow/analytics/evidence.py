"""Each fault decision with its evidence, and no flag where the evidence is inside the noise.

A fault rule compares one value with one threshold. The evidence of a rep's rule is
(fault, metric, value, threshold, baseline, noise, margin, verdict):

- ``value``: what was compared, in the metric's unit; for athlete-relative rules the
  change against the athlete's light-load baseline (``baseline`` holds that median);
- ``noise``: the measurement noise of ``value`` for this rep, estimated from the data
  (``noise_columns``): the robust spread (1.4826 x MAD) of the metric over the reps of
  the same video when it has at least ``MIN_SPREAD_REPS``, else over the athlete's
  light-load reps of the exercise, never below the metric's floor
  (``NOISE_FLOOR``; the breakdown uses the same floors). A change against a
  baseline carries the baseline's noise as well (x ``DELTA_NOISE``);
- ``margin``: how far past the threshold the value lies, in noise units (positive =
  on the fault side);
- ``verdict``: ``fault`` when margin >= ``K_NOISE``, ``not_assessable`` when the value
  is past the threshold by less than that, ``clear`` otherwise.

Only ``fault`` verdicts become the rep's ``faults``. Rules whose metric is missing
(a view that cannot see it, tracking lost) leave no evidence: sagittal faults never
come from views that cannot measure them, because their metrics are null there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import polars as pl

K_NOISE = 1.0  # a flag needs the value past its threshold by at least one noise unit
MIN_SPREAD_REPS = 3  # reps needed before a spread is trusted as a noise estimate
MAD_TO_SD = 1.4826
# a change against a baseline median of n >= 3 light reps: sqrt(1 + 1.25^2 / 3) ~ 1.22
DELTA_NOISE = 1.22
# Measurement noise floors of the charted metrics, in each metric's unit: a rep's noise is
# never taken below these, and the breakdown calls changes within them noise. Sources:
# coaching-criteria "Load and form" (spinal MDC 1-8 deg), "Measurement accuracy" (2D
# knee MAE ~7 deg); chord/bulge/wrist from the spread of repeated light-load reps on the
# synthetic gym (tuning seeds).
CHARTED_NOISE: dict[str, float] = {
    "trunk_angle_bottom_deg": 5.0,
    "trunk_angle_top_deg": 4.0,
    "knee_flexion_bottom_deg": 5.0,
    "chord_shortening_pct": 3.0,
    "back_bend_bottom_deg": 4.0,
    "back_bulge_bottom": 0.02,
    "wrist_offset_bottom": 0.1,
    "descent_s": 0.15,
    "hips_rise_trunk_progress": 0.2,
}
# floors of metrics the breakdown does not chart (same units as the metric): the hip
# path measures share the wrist's 0.1 thigh; the back/down ratio of two such lengths
# ~0.2; the front-view hip line tilt as noisy as the trunk line at lockout
EXTRA_FLOOR: dict[str, float] = {"hip_back_bottom": 0.1, "hip_back_vs_down": 0.2, "hip_tilt_bottom_deg": 4.0}
NOISE_FLOOR: dict[str, float] = {**CHARTED_NOISE, **EXTRA_FLOOR}

VERDICTS = ("fault", "not_assessable", "clear")
EVIDENCE = pl.Struct({"fault": pl.String, "metric": pl.String, "value": pl.Float64, "threshold": pl.Float64,
                      "baseline": pl.Float64, "noise": pl.Float64, "margin": pl.Float64, "verdict": pl.String})


def spread(expr: pl.Expr, over: str | list[str]) -> pl.Expr:
    """Robust standard deviation (1.4826 x MAD) of `expr` within each group; null below MIN_SPREAD_REPS values."""
    dev = (expr - expr.median().over(over)).abs()
    return pl.when(expr.count().over(over) >= MIN_SPREAD_REPS).then(dev.median().over(over) * MAD_TO_SD)


def light_spread_table(pool: pl.DataFrame, n_loads: int = 1) -> pl.DataFrame:
    """Per athlete_id x exercise: `spread_<metric>` over the reps at its lightest load(s).

    The within-set scatter of an athlete's own easy reps: the noise a single-rep video
    inherits when it has no spread of its own.
    """
    keys = ["athlete_id", "exercise"]
    metrics = [m for m in NOISE_FLOOR if m in pool.columns]
    light = pool.filter(pl.col("load_kg").rank("dense").over(keys) <= n_loads)
    return light.group_by(keys).agg(
        pl.when(pl.col(m).is_finite().sum() >= MIN_SPREAD_REPS)
        .then((pl.col(m) - pl.col(m).median()).abs().median() * MAD_TO_SD).alias(f"spread_{m}")
        for m in metrics)


def noise_columns(present: set[str]) -> list[pl.Expr]:
    """`noise_<metric>` per rep: max(floor, the video's spread, else the athlete's light-load spread).

    `present`: columns of the frame (a `spread_<metric>` column joined from
    ``light_spread_table`` is used when present).
    """
    out = []
    for m, floor in NOISE_FLOOR.items():
        v = pl.when(pl.col(m).is_finite()).then(pl.col(m))
        light = pl.col(f"spread_{m}") if f"spread_{m}" in present else pl.lit(None, pl.Float64)
        est = pl.coalesce(spread(v, "video_id"), light)
        out.append(pl.max_horizontal(pl.lit(floor), est).alias(f"noise_{m}"))
    return out


@dataclass(frozen=True)
class Test:
    """One comparison: `value` against `threshold`; `direction` +1 = a fault at or above it, -1 at or below.

    `guard` must hold for the test to count at all (else the verdict is clear).
    """

    metric: str
    value: pl.Expr
    threshold: pl.Expr
    direction: int
    noise: pl.Expr
    baseline: pl.Expr = field(default_factory=lambda: pl.lit(None, pl.Float64))
    guard: pl.Expr = field(default_factory=lambda: pl.lit(True))

    def margin(self) -> pl.Expr:
        """Signed distance past the threshold in noise units (null without a value)."""
        return self.direction * (self.value - self.threshold) / self.noise

    def verdict(self) -> pl.Expr:
        m = self.margin()
        return (pl.when(~self.guard.fill_null(False)).then(pl.lit("clear"))
                .when(m >= K_NOISE).then(pl.lit("fault"))
                .when(m >= 0).then(pl.lit("not_assessable"))
                .otherwise(pl.lit("clear")))

    def evidence(self, fault: str) -> pl.Expr:
        """The evidence struct; null when there is no value to judge."""
        s = pl.struct(pl.lit(fault).alias("fault"), pl.lit(self.metric).alias("metric"),
                      self.value.cast(pl.Float64).alias("value"), self.threshold.cast(pl.Float64).alias("threshold"),
                      self.baseline.cast(pl.Float64).alias("baseline"), self.noise.cast(pl.Float64).alias("noise"),
                      self.margin().cast(pl.Float64).alias("margin"), self.verdict().alias("verdict"))
        return pl.when(self.value.is_not_null() & self.value.is_finite()).then(s)


def first_available(tests: list[Test], fault: str) -> pl.Expr:
    """The evidence of the first test that has a value (fallback chains: baseline, then absolute)."""
    chain = pl.when(tests[0].value.is_not_null()).then(tests[0].evidence(fault))
    for t in tests[1:]:
        chain = chain.when(t.value.is_not_null()).then(t.evidence(fault))
    return chain


def strongest(tests: list[Test], fault: str) -> pl.Expr:
    """Of alternative tests (either shows the fault), the evidence with the larger margin."""
    a, b = tests
    ma, mb = a.margin().fill_null(-math.inf), b.margin().fill_null(-math.inf)
    # a failed guard makes a test clear: it must not win over a test that holds
    ma = pl.when(a.guard.fill_null(False)).then(ma).otherwise(-math.inf)
    mb = pl.when(b.guard.fill_null(False)).then(mb).otherwise(-math.inf)
    return pl.when(b.value.is_null() | (ma >= mb)).then(a.evidence(fault)).otherwise(b.evidence(fault))

