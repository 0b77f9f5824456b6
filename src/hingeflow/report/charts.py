"""Static SVG charts for the coach report (matplotlib, Agg; data in, SVG text out).

Every chart is an inline `<svg>` string: no scripts, no fonts or images fetched,
text kept as text (`svg.fonttype = none`) so it stays small and prints sharply.
Loads on the x axis are in kg; metric values in the metric's own unit.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from hingeflow.analytics.breakdown import DEFAULT_NOISE, LABEL  # noqa: E402

plt.rcParams.update({
    "svg.fonttype": "none", "svg.hashsalt": "hingeflow", "font.size": 9, "font.family": "sans-serif",
    "axes.spines.top": False, "axes.spines.right": False, "axes.titlesize": 10, "axes.titleweight": "bold",
})
SIZE = (4.4, 3.1)  # inches; the page scales the SVG to its column width
# Fixed margins instead of a layout engine: a layout pass redraws the figure (~40% of the time).
MARGINS = {"left": 0.15, "right": 0.97, "top": 0.91, "bottom": 0.3}  # the legend sits under the axis
INK, BASE, NOISE, BREAK = "#1f4e79", "#9ecae1", "#fdd0a2", "#c0392b"


def _figure(size: tuple[float, float] = SIZE) -> tuple[plt.Figure, plt.Axes]:
    fig, ax = plt.subplots(figsize=size)
    fig.subplots_adjust(**MARGINS)
    return fig, ax


def _legend(ax: plt.Axes, ncols: int = 3) -> None:
    """The legend in a row under the x axis label, never over the data."""
    ax.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=ncols)


def _svg(fig: plt.Figure) -> str:
    """The figure as inline SVG text (no XML prolog), then closed."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def axis_label(metric: str) -> str:
    _, words, unit, _, scale = LABEL.get(metric, ("", metric.replace("_", " "), "", 2, 1.0))
    unit = unit.strip()
    return f"{words} ({unit})" if unit else words


def metric_vs_load(metric: str, reps: pl.DataFrame, per_load: pl.DataFrame, baseline_loads: list[float],
                   breakdown_load: float | None) -> str:
    """One metric against load: every rep (dots), the per-load value (line), the athlete's
    baseline band (spread of the baseline reps, p25-p75), the measurement-noise band
    (baseline value +- noise) and the breakdown load (red dashed line)."""
    scale = LABEL.get(metric, ("", "", "", 2, 1.0))[4]
    fig, ax = _figure()
    pts = reps.select("load_kg", pl.col(metric).cast(pl.Float64)).drop_nulls()
    line = per_load.select("load_kg", metric).drop_nulls().sort("load_kg")
    base_reps = pts.filter(pl.col("load_kg").is_in(baseline_loads))[metric]
    if base_reps.len():
        base = float(line.filter(pl.col("load_kg").is_in(baseline_loads))[metric].mean() or base_reps.median())
        noise = DEFAULT_NOISE.get(metric, 0.0)
        ax.axhspan((base - noise) * scale, (base + noise) * scale, color=NOISE, alpha=0.5, lw=0,
                   label="measurement noise")
        ax.axhspan(float(base_reps.quantile(0.25)) * scale, float(base_reps.quantile(0.75)) * scale,
                   color=BASE, alpha=0.7, lw=0, label="baseline (light loads)")
    jitter = np.random.default_rng(0).uniform(-0.8, 0.8, pts.height)
    ax.scatter(pts["load_kg"].to_numpy() + jitter, pts[metric].to_numpy() * scale, s=9, color=INK, alpha=0.35,
               lw=0, label="reps")
    ax.plot(line["load_kg"], line[metric] * scale, "-o", color=INK, ms=4, lw=1.6, label="per load")
    if breakdown_load is not None:
        ax.axvline(breakdown_load, color=BREAK, ls="--", lw=1.4, label=f"breakdown {breakdown_load:g} kg")
    ax.set_xlabel("load (kg)")
    ax.set_ylabel(axis_label(metric))
    ax.set_title(axis_label(metric).split(" (")[0].capitalize())
    _legend(ax)
    return _svg(fig)


def fault_rates(sets: pl.DataFrame, faults: list[str], labels: dict[str, str]) -> str:
    """Share of reps with each fault, per set (session x load): a heat map, darker = more reps."""
    rows = sets.sort("recorded_on", "load_kg")
    cols = [f"{rows['recorded_on'][i]:%d %b}\n{rows['load_kg'][i]:g} kg" for i in range(rows.height)]
    grid = np.array([[rows[f"{f}_rate"][i] or 0.0 for i in range(rows.height)] for f in faults]) if faults else \
        np.zeros((1, rows.height))
    fig = plt.figure(figsize=(8.8, 0.32 * max(len(faults), 1) + 1.5))
    ax = fig.add_axes((0.2, 0.32, 0.68, 0.56))
    im = ax.imshow(grid, cmap="Reds", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(rows.height), cols, fontsize=7)
    ax.set_yticks(range(max(len(faults), 1)), [labels[f] for f in faults] or ["no fault seen"], fontsize=8)
    for (r, c), v in np.ndenumerate(grid):
        if v > 0:
            ax.text(c, r, f"{v:.0%}", ha="center", va="center", fontsize=7, color="white" if v > 0.5 else "black")
    ax.set_title("Faults per set (share of reps)")
    fig.colorbar(im, cax=fig.add_axes((0.9, 0.3, 0.02, 0.58)), format=matplotlib.ticker.PercentFormatter(1.0))
    return _svg(fig)


def week_over_week(sets: pl.DataFrame) -> str:
    """Form score per load, one bar per week: the same load compared across weeks."""
    weeks = sorted(set(sets["week"]))
    loads = sorted(set(sets["load_kg"]))
    fig, ax = _figure()
    width = 0.8 / max(len(weeks), 1)
    shades = plt.get_cmap("Blues")(np.linspace(0.45, 0.9, max(len(weeks), 1)))
    for i, week in enumerate(weeks):
        per = sets.filter(pl.col("week") == week).group_by("load_kg").agg(pl.col("form_score_mean").mean())
        score = dict(zip(per["load_kg"], per["form_score_mean"]))
        xs = [j + (i - (len(weeks) - 1) / 2) * width for j, load in enumerate(loads) if load in score]
        ax.bar(xs, [score[load] for load in loads if load in score], width * 0.95, color=shades[i], label=week)
    ax.set_xticks(range(len(loads)), [f"{x:g}" for x in loads])
    ax.set_ylim(0, 105)
    ax.set_xlabel("load (kg)")
    ax.set_ylabel("form score (0-100)")
    ax.set_title("Week over week at equal load")
    _legend(ax, ncols=max(len(weeks), 1))
    return _svg(fig)


def tempo(reps: pl.DataFrame) -> str:
    """Lowering (eccentric) and lifting (concentric) time per load: median of the reps, in s."""
    per = (reps.group_by("load_kg").agg(pl.col("eccentric_s").median(), pl.col("concentric_s").median())
           .sort("load_kg"))
    fig, ax = _figure()
    x = np.arange(per.height)
    ax.bar(x - 0.2, per["eccentric_s"].fill_null(0), 0.38, color=INK, label="lowering")
    ax.bar(x + 0.2, per["concentric_s"].fill_null(0), 0.38, color=BASE, label="lifting")
    ax.set_xticks(x, [f"{v:g}" for v in per["load_kg"]])
    ax.set_xlabel("load (kg)")
    ax.set_ylabel("seconds (median rep)")
    ax.set_title("Tempo")
    _legend(ax, ncols=2)
    return _svg(fig)
