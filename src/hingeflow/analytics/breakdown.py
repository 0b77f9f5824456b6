"""Sets aggregation, load-form breakdown and week-over-week comparison (polars, pure).

``sets_table(reps)``: one row per athlete_id x recorded_on x week x exercise x load_kg
(all sets at that load in that session pooled): n_sets, n_reps, ``<metric>_median`` and
``<metric>_iqr`` (p75 - p25) of every rep metric present, ``<fault>_rate`` (fraction of
reps with the fault) for every DESIGN.md fault, form_score_mean, confidence_mean.

``breakdown(sets, noise)``: one row per athlete_id x exercise: the baseline (the lightest
load, or the two lightest when there are at least four loads), the lowest heavier load
where a metric's median departs from the baseline by more than its measurement noise in
the direction of a fault (and stays departed at the next heavier load, when there is
one), and ``what_changed`` in words.

``week_over_week(sets, noise)``: the same athlete, exercise and load in consecutive weeks
that have it: per metric the change and ``better`` / ``worse`` / ``within noise``.
"""

from __future__ import annotations

import polars as pl

from .evidence import CHARTED_NOISE
from .faults import FAULTS
from .metrics import METRIC_COLUMNS

KEYS = ["athlete_id", "recorded_on", "week", "exercise", "load_kg"]

DEFAULT_NOISE = CHARTED_NOISE  # the metrics the breakdown judges, with their noise floors

# +1: larger is worse, -1: smaller is worse, 0: either way is worse.
DIRECTION: dict[str, int] = {
    "trunk_angle_bottom_deg": -1,  # shallower range
    "trunk_angle_top_deg": 0,  # leaning back or not finishing
    "knee_flexion_bottom_deg": 1,  # squatting the hinge
    "chord_shortening_pct": 1,
    "back_bend_bottom_deg": 1,
    "back_bulge_bottom": 1,
    "wrist_offset_bottom": 1,
    "descent_s": -1,
    "hips_rise_trunk_progress": -1,
    "form_score_mean": -1,
}

# (area, words, unit, decimals, scale) for what_changed
LABEL: dict[str, tuple[str, str, str, int, float]] = {
    "chord_shortening_pct": ("spine", "chord shortening", "%", 0, 1.0),
    "back_bend_bottom_deg": ("spine", "back bend", "°", 0, 1.0),
    "back_bulge_bottom": ("spine", "back bulge", "% of trunk", 1, 100.0),
    "trunk_angle_bottom_deg": ("range", "trunk lean at the bottom", "°", 0, 1.0),
    "trunk_angle_top_deg": ("lockout", "trunk at lockout", "°", 0, 1.0),
    "knee_flexion_bottom_deg": ("knees", "knee flexion at the bottom", "°", 0, 1.0),
    "wrist_offset_bottom": ("load path", "bar ahead of mid-foot", " thigh", 2, 1.0),
    "descent_s": ("tempo", "lowering time", " s", 2, 1.0),
    "hips_rise_trunk_progress": ("hip drive", "trunk rise when knees half extended", "", 2, 1.0),
    "form_score_mean": ("overall", "form score", "", 0, 1.0),
}


def _metric_cols(df: pl.DataFrame) -> list[str]:
    return [m for m in METRIC_COLUMNS if m in df.columns]


def sets_table(reps: pl.DataFrame) -> pl.DataFrame:
    """Per-session per-load aggregates of the reps table (see module doc)."""
    keys = [k for k in KEYS if k in reps.columns]
    metrics = _metric_cols(reps)
    aggs: list[pl.Expr] = [
        (pl.col("set_index").n_unique() if "set_index" in reps.columns else pl.lit(1)).alias("n_sets"),
        pl.len().cast(pl.Int64).alias("n_reps"),
    ]
    for m in metrics:
        c = pl.col(m).cast(pl.Float64)
        aggs += [c.median().alias(f"{m}_median"),
                 (c.quantile(0.75, "linear") - c.quantile(0.25, "linear")).alias(f"{m}_iqr")]
    if "faults" in reps.columns:
        for f in FAULTS:
            aggs.append(pl.col("faults").list.contains(f).cast(pl.Float64).mean().alias(f"{f}_rate"))
    for c in ("form_score", "confidence"):
        if c in reps.columns:
            aggs.append(pl.col(c).cast(pl.Float64).mean().alias(f"{c}_mean"))
    return reps.group_by(keys).agg(aggs).sort(keys)


def per_load(sets: pl.DataFrame, metrics: list[str], keys: list[str]) -> pl.DataFrame:
    """Pool sessions: per key x load, the rep-weighted mean of the session medians."""
    w = pl.col("n_reps").cast(pl.Float64) if "n_reps" in sets.columns else pl.lit(1.0)
    aggs = []
    for m in metrics:
        v, weight = pl.col(m), w.filter(pl.col(m).is_not_null()).sum()
        aggs.append(pl.when(weight > 0).then((v * w).sum() / weight).alias(m))  # null, not NaN, when no values
    aggs.append(w.sum().alias("n_reps"))
    return sets.group_by(keys + ["load_kg"]).agg(aggs).sort(keys + ["load_kg"])


def format_value(m: str, x: float) -> str:
    _, _, unit, dec, scale = LABEL.get(m, ("", m, "", 2, 1.0))
    return f"{x * scale:.{dec}f}{unit}"


def _fmt_load(x: float) -> str:
    return f"{x:g} kg"


def _departs(m: str, value: float | None, base: float | None, noise: float) -> float:
    """Departure in noise units in the fault direction (<= 1 means within noise)."""
    if value is None or base is None:
        return 0.0
    d = DIRECTION.get(m, 0)
    ch = value - base
    ch = abs(ch) if d == 0 else d * ch
    return ch / noise if noise > 0 else 0.0


def describe(m: str, value: float, base: float, load: float) -> str:
    area, words, *_ = LABEL.get(m, ("", m, "", 2, 1.0))
    return f"{area}: {words} {format_value(m, value)} at {_fmt_load(load)} vs baseline {format_value(m, base)}"


def breakdown(sets: pl.DataFrame, noise: dict[str, float] | None = None,
              keys: tuple[str, ...] = ("athlete_id", "exercise"), persist: bool = True) -> pl.DataFrame:
    """The load-form breakdown per athlete x exercise (see module doc).

    ``noise``: metric -> noise in the metric's unit (``DEFAULT_NOISE`` fills the rest);
    only metrics named in it (or the defaults) whose ``<metric>_median`` column exists
    are judged. ``keys``: add "week" to get one breakdown per week.
    """
    nz = {**DEFAULT_NOISE, **(noise or {})}
    cols = {m: f"{m}_median" for m in nz if f"{m}_median" in sets.columns}
    if "form_score_mean" in sets.columns and "form_score_mean" in nz:
        cols["form_score_mean"] = "form_score_mean"
    keys_l = list(keys)
    renamed = sets.select(keys_l + ["load_kg"] + (["n_reps"] if "n_reps" in sets.columns else [])
                          + [pl.col(c).alias(m) for m, c in cols.items()])
    per = per_load(renamed, list(cols), keys_l)
    rows = []
    for key, g in per.group_by(keys_l, maintain_order=True):
        g = g.sort("load_kg")
        loads = g["load_kg"].to_list()
        nb = 2 if len(loads) >= 4 else 1
        base_loads = loads[:nb]
        base = {m: g.head(nb)[m].drop_nulls().mean() for m in cols}
        dep: list[dict[str, float]] = []
        for i in range(len(loads)):
            row = g.row(i, named=True)
            dep.append({m: _departs(m, row[m], base[m], nz[m]) for m in cols})
        found = None
        changed: list[tuple[float, str]] = []
        for i in range(nb, len(loads)):
            ms = [m for m in cols if dep[i][m] > 1.0
                  and (not persist or i == len(loads) - 1 or dep[i + 1][m] > 1.0)]
            if ms:
                found = i
                row = g.row(i, named=True)
                changed = sorted(((dep[i][m], m, describe(m, row[m], base[m], loads[i])) for m in ms),
                                 reverse=True)
                break
        rec = dict(zip(keys_l, key if isinstance(key, tuple) else (key,)))
        rec.update(
            baseline_loads_kg=[float(x) for x in base_loads],
            loads_kg=[float(x) for x in loads],
            breakdown_load_kg=float(loads[found]) if found is not None else None,
            changed_metrics=[m for _, m, _ in changed],
            what_changed="; ".join(d for _, _, d in changed) if changed else (
                f"no change beyond measurement noise up to {_fmt_load(loads[-1])}" if len(loads) > nb
                else "only baseline loads recorded"),
        )
        rows.append(rec)
    schema = {**{k: sets.schema[k] for k in keys_l}, "baseline_loads_kg": pl.List(pl.Float64),
              "loads_kg": pl.List(pl.Float64), "breakdown_load_kg": pl.Float64,
              "changed_metrics": pl.List(pl.String), "what_changed": pl.String}
    return pl.DataFrame(rows, schema=schema)


def week_over_week(sets: pl.DataFrame, noise: dict[str, float] | None = None) -> pl.DataFrame:
    """Same athlete x exercise x load in consecutive recorded weeks: change per metric.

    Columns: athlete_id, exercise, load_kg, metric, week, prev_week, value, prev_value,
    change, noise, verdict ('better' | 'worse' | 'within noise'). For metrics where either
    direction is a fault (trunk at lockout) 'better' means closer to upright (0).
    """
    nz = {**DEFAULT_NOISE, "form_score_mean": 10.0, **(noise or {})}
    cols = {m: f"{m}_median" for m in nz if f"{m}_median" in sets.columns}
    if "form_score_mean" in sets.columns:
        cols["form_score_mean"] = "form_score_mean"
    keys = ["athlete_id", "exercise", "week"]
    renamed = sets.select(keys + ["load_kg"] + (["n_reps"] if "n_reps" in sets.columns else [])
                          + [pl.col(c).alias(m) for m, c in cols.items()])
    per = per_load(renamed, list(cols), keys)
    long = per.unpivot(index=keys + ["load_kg"], on=list(cols), variable_name="metric", value_name="value")
    long = long.drop_nulls("value").sort(["athlete_id", "exercise", "load_kg", "metric", "week"])
    g = ["athlete_id", "exercise", "load_kg", "metric"]
    long = long.with_columns(pl.col("week").shift(1).over(g).alias("prev_week"),
                             pl.col("value").shift(1).over(g).alias("prev_value")).drop_nulls("prev_value")
    noise_e = pl.col("metric").replace_strict(nz, default=None, return_dtype=pl.Float64)
    dir_e = pl.col("metric").replace_strict(DIRECTION, default=0, return_dtype=pl.Int64)
    worse = (pl.when(dir_e == 0).then(pl.col("value").abs() - pl.col("prev_value").abs())
             .otherwise(dir_e.cast(pl.Float64) * (pl.col("value") - pl.col("prev_value"))))
    return (long.with_columns((pl.col("value") - pl.col("prev_value")).alias("change"), noise_e.alias("noise"),
                              worse.alias("_worse"))
            .with_columns(pl.when(pl.col("_worse") > pl.col("noise")).then(pl.lit("worse"))
                          .when(pl.col("_worse") < -pl.col("noise")).then(pl.lit("better"))
                          .otherwise(pl.lit("within noise")).alias("verdict"))
            .select(["athlete_id", "exercise", "load_kg", "metric", "week", "prev_week", "value",
                     "prev_value", "change", "noise", "verdict"]))


def baseline_table(reps: pl.DataFrame, n_loads: int = 1) -> pl.DataFrame:
    """Per athlete_id x exercise, the metric medians over the reps at its lightest ``n_loads`` loads.

    The light-load reference that ``faults.judge_reps`` compares rounding, drift, lockout
    and hip tilt with.
    """
    keys = ["athlete_id", "exercise"]
    light = reps.filter(pl.col("load_kg").rank("dense").over(keys) <= n_loads)
    return light.group_by(keys).agg([pl.col(m).cast(pl.Float64).median() for m in _metric_cols(reps)])


def baseline_metrics(reps: pl.DataFrame, n_loads: int = 1) -> dict[tuple[str, str], dict[str, float]]:
    """``baseline_table`` as (athlete_id, exercise) -> {metric: median}."""
    med = baseline_table(reps, n_loads)
    metrics = med.columns[2:]
    return {(row[0], row[1]): dict(zip(metrics, row[2:])) for row in med.iter_rows()}
