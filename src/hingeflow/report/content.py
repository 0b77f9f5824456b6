"""What a coach's report says, from the warehouse tables of one athlete (pure).

`athlete_report` turns the athlete's `sets`, `reps`, `breakdown`, `week_over_week`
and `videos` rows into plain sentences per exercise: where form held, at which
load it broke and what changed (with the baseline and the measurement noise),
the faults seen with their coaching cue and drill (`reports/cues.toml`), the
week-over-week changes at equal load, and the videos the quality gate flagged.
Loads are in kg; metric values are formatted in their own units.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from hingeflow.analytics.breakdown import DEFAULT_NOISE, LABEL, format_value, per_load
from hingeflow.analytics.metrics import METRIC_COLUMNS

CUES_FILE = Path(__file__).resolve().parents[3] / "reports" / "cues.toml"

# The faults a changed metric shows up as (the rep-level counterpart of a breakdown).
METRIC_FAULTS: dict[str, tuple[str, ...]] = {
    "chord_shortening_pct": ("rounded_back",),
    "back_bend_bottom_deg": ("rounded_back",),
    "back_bulge_bottom": ("rounded_back",),
    "knee_flexion_bottom_deg": ("squatting_the_hinge",),
    "trunk_angle_bottom_deg": ("shallow_range",),
    "trunk_angle_top_deg": ("lockout_overextension", "incomplete_lockout"),
    "wrist_offset_bottom": ("load_drift",),
    "descent_s": ("rushed_eccentric",),
    "hips_rise_trunk_progress": ("hips_rise_first",),
}

# What happened, in a coach's words, when a metric departed from the baseline.
WHAT_HAPPENED: dict[str, str] = {
    "chord_shortening_pct": "the back rounded",
    "back_bend_bottom_deg": "the back rounded",
    "back_bulge_bottom": "the back rounded",
    "knee_flexion_bottom_deg": "the knees bent more and the hips sank instead of going back",
    "trunk_angle_bottom_deg": "the hinge got shallower",
    "wrist_offset_bottom": "the load drifted away from the mid-foot",
    "descent_s": "the lowering got rushed",
    "hips_rise_trunk_progress": "the hips rose before the chest",
    "form_score_mean": "the form score dropped",
}

# Metrics charted against load, most telling first.
KEY_METRICS = ("chord_shortening_pct", "trunk_angle_bottom_deg", "knee_flexion_bottom_deg", "wrist_offset_bottom",
               "trunk_angle_top_deg", "descent_s", "back_bend_bottom_deg", "hips_rise_trunk_progress")


@dataclass(frozen=True)
class Cue:
    label: str
    looks: str
    cue: str
    drill: str


def load_cues(path: Path = CUES_FILE) -> dict[str, Cue]:
    """fault name -> its label, look, cue and drill."""
    with path.open("rb") as fh:
        return {name: Cue(**body) for name, body in tomllib.load(fh).items()}


@dataclass(frozen=True)
class FaultSeen:
    fault: str
    cue: Cue
    reps: int  # reps with the fault
    of_reps: int  # reps of the exercise
    loads_kg: list[float]  # loads where it was seen
    evidence: str = ""  # the clearest flagged rep's evidence, in words
    not_assessable: int = 0  # reps where the same rule fell inside the measurement noise


@dataclass(frozen=True)
class FlaggedVideo:
    recorded_on: str
    load_kg: float
    set_index: int
    reasons: list[str]


@dataclass
class ExerciseSection:
    exercise: str
    title: str
    loads_kg: list[float]
    baseline_loads_kg: list[float]
    breakdown_load_kg: float | None
    headline: str
    details: list[str]  # further changes at the breakdown load
    noise_notes: list[str]  # changes too small to trust
    next_step: str
    faults: list[FaultSeen]
    week_over_week: list[str]
    flagged: list[FlaggedVideo]
    n_reps: int
    metrics: list[str]  # charted metrics, key first
    charts: dict[str, str] = field(default_factory=dict)  # filled by the renderer: name -> SVG
    keyframes: list = field(default_factory=list)  # filled by the renderer: report.keyframes.Thumb


@dataclass
class AthleteReport:
    athlete_id: str
    latest_week: str
    weeks: list[str]
    sections: list[ExerciseSection]
    n_reps: int
    low_confidence_reps: int


def kg(x: float) -> str:
    """A load for a sentence: "100 kg", "62.5 kg", "body weight"."""
    return "body weight" if x == 0 else f"{x:g} kg"


def title_of(exercise: str) -> str:
    return exercise.replace("_", " ").capitalize()


def _metric_words(m: str) -> str:
    return LABEL.get(m, ("", m.replace("_", " ")))[1]


def _what_happened(m: str, value: float) -> str:
    if m == "trunk_angle_top_deg":
        return "the athlete leaned back at lockout" if value < 0 else "the lockout was left unfinished"
    return WHAT_HAPPENED.get(m, f"{_metric_words(m)} changed")


def per_load_values(sets: pl.DataFrame, metrics: list[str]) -> pl.DataFrame:
    """Per load: the rep-weighted mean of the session medians (as the breakdown judges them)."""
    cols = {m: f"{m}_median" if f"{m}_median" in sets.columns else m for m in metrics}
    renamed = sets.select("exercise", "load_kg", "n_reps", *[pl.col(c).alias(m) for m, c in cols.items()])
    return per_load(renamed, metrics, ["exercise"])


def _headline(bd: dict, values: pl.DataFrame, reps: pl.DataFrame) -> tuple[str, list[str], str | None]:
    """(headline sentence, further changes, main fault) for one exercise's breakdown row."""
    loads, base_loads, load = bd["loads_kg"], bd["baseline_loads_kg"], bd["breakdown_load_kg"]
    if load is None:
        if len(loads) <= len(base_loads):
            return (f"Only {', '.join(kg(x) for x in loads)} filmed so far: nothing heavier to compare with yet.",
                    [], None)
        return (f"Form held through {kg(loads[-1])}: nothing changed beyond measurement noise from the "
                f"{' and '.join(kg(x) for x in base_loads)} baseline.", [], None)
    held = max(x for x in loads if x < load)
    base = values.filter(pl.col("load_kg").is_in(base_loads))
    at = values.filter(pl.col("load_kg") == load)
    at_load = reps.filter(pl.col("load_kg") == load)
    groups: dict[str, list[str]] = {}  # what happened -> changed metrics, most departed first
    for m in bd["changed_metrics"]:
        groups.setdefault(_what_happened(m, at[m][0]), []).append(m)
    sentences, main_fault = [], None
    for happened, ms in groups.items():
        faults = [f for m in ms for f in METRIC_FAULTS.get(m, ())]
        k = int(at_load["faults"].list.eval(pl.element().is_in(faults)).list.any().sum()) if faults else 0
        main_fault = main_fault or next((f for f in faults if at_load["faults"].list.contains(f).any()), None)
        count = f"on {k} of {at_load.height} reps" if k else f"across its {at_load.height} reps"
        measured = "; ".join(f"{_metric_words(m)} {format_value(m, at[m][0])}, baseline "
                             f"{format_value(m, base[m].drop_nulls().mean())}" for m in ms)
        sentences.append(f"{happened} ({measured}) {count}")
    head = f"Form held through {kg(held)}. At {kg(load)} {sentences[0]}."
    return head, [s[0].upper() + s[1:] + "." for s in sentences[1:]], main_fault


def _noise_notes(bd: dict, values: pl.DataFrame, metrics: list[str]) -> list[str]:
    """Changes at the heaviest judged load that stay within the measurement noise (at most 3)."""
    loads, base_loads = bd["loads_kg"], bd["baseline_loads_kg"]
    if len(loads) <= len(base_loads):
        return []
    load = bd["breakdown_load_kg"] if bd["breakdown_load_kg"] is not None else loads[-1]
    base = values.filter(pl.col("load_kg").is_in(base_loads))
    at = values.filter(pl.col("load_kg") == load)
    notes = []
    for m in metrics:
        if m in bd["changed_metrics"] or m not in DEFAULT_NOISE or at[m][0] is None:
            continue
        b = base[m].drop_nulls().mean()
        if b is None:
            continue
        change, noise = at[m][0] - b, DEFAULT_NOISE[m]
        if 0.5 * noise < abs(change) <= noise:
            notes.append(f"{_metric_words(m).capitalize()} moved from {format_value(m, b)} to "
                         f"{format_value(m, at[m][0])} at {kg(load)}: within the measurement noise "
                         f"(±{format_value(m, noise).lstrip('-')}), so not a real change.")
    return notes[:3]


def evidence_words(ev: dict, load_kg: float) -> str:
    """One rep's evidence in words: "at 120 kg: back bend 18° against your light-load 3° (limit +6°, noise ±4°)"."""
    metric = ev["metric"].removesuffix(" change")
    if metric not in METRIC_COLUMNS:  # a derived estimate: its name carries its unit
        what = f"{ev['metric']} {ev['value']:.0f} (limit {ev['threshold']:.0f}, noise ±{ev['noise']:.0f})"
    elif ev["baseline"] is not None:
        what = (f"{_metric_words(metric)} changed by {format_value(metric, ev['value'])} from your light-load "
                f"{format_value(metric, ev['baseline'])} (limit {format_value(metric, ev['threshold'])}, "
                f"noise ±{format_value(metric, ev['noise'])})")
    else:
        what = (f"{_metric_words(metric)} {format_value(metric, ev['value'])} (limit "
                f"{format_value(metric, ev['threshold'])}, noise ±{format_value(metric, ev['noise'])})")
    return f"at {kg(load_kg)}: {what}"


def _faults_seen(reps: pl.DataFrame, cues: dict[str, Cue]) -> list[FaultSeen]:
    """Faults of an exercise's reps, most frequent first, each with its clearest rep's evidence
    (reps stored before evidence was recorded have none)."""
    exploded = reps.select("load_kg", pl.col("faults").alias("fault")).explode("fault", empty_as_null=True)
    seen = (exploded.drop_nulls("fault").group_by("fault")
            .agg(pl.len().alias("n"), pl.col("load_kg").unique().sort())
            .sort("n", "fault", descending=[True, False]))
    clearest: dict[str, str] = {}
    held: dict[str, int] = {}
    if "fault_evidence" in reps.columns:
        ev = (reps.select("load_kg", pl.col("fault_evidence").alias("ev")).explode("ev", empty_as_null=True)
              .drop_nulls("ev").unnest("ev"))
        for r in ev.filter(pl.col("verdict") == "fault").sort("margin", descending=True).unique(
                "fault", keep="first").iter_rows(named=True):
            clearest[r["fault"]] = evidence_words(r, r["load_kg"])
        held = dict(ev.filter(pl.col("verdict") == "not_assessable").group_by("fault").len().iter_rows())
    return [FaultSeen(r["fault"], cues[r["fault"]], r["n"], reps.height, r["load_kg"],
                      clearest.get(r["fault"], ""), held.get(r["fault"], 0))
            for r in seen.iter_rows(named=True)]


def _next_step(bd: dict, main: FaultSeen | None) -> str:
    loads, load = bd["loads_kg"], bd["breakdown_load_kg"]
    if load is not None:
        held = max(x for x in loads if x < load)
        fix = f" and practise this drill: {main.cue.drill}" if main else "."
        return f"Keep the working sets at {kg(held)}{fix} Go back to {kg(load)} once a video shows the change gone."
    if len(loads) <= len(bd["baseline_loads_kg"]):
        return "Film at least one heavier set next week, so the report can show where form starts to change."
    if main:
        return f"Form held at every load filmed; tidy up {main.cue.label}: {main.cue.drill}"
    return "Form held at every load filmed: add load in small steps and keep filming from the side."


def _week_over_week(wow: pl.DataFrame) -> list[str]:
    """The latest week's changes at equal load, worse first; one line when all stayed within noise."""
    if wow.is_empty():
        return []
    latest = wow.filter(pl.col("week") == wow["week"].max())
    moved = latest.filter(pl.col("verdict") != "within noise").sort("verdict", "load_kg", descending=[True, False])
    lines = [f"At {kg(r['load_kg'])}, {_metric_words(r['metric'])} {r['verdict']} than {r['prev_week']}: "
             f"{format_value(r['metric'], r['prev_value'])} → {format_value(r['metric'], r['value'])}"
             for r in moved.iter_rows(named=True)]
    still = sorted(set(latest["load_kg"]) - set(moved["load_kg"]))
    if still:
        lines.append(f"At {', '.join(kg(x) for x in still)}: every measure within noise of "
                     f"{latest['prev_week'][0]}.")
    return lines


def _flagged(videos: pl.DataFrame) -> list[FlaggedVideo]:
    bad = videos.filter(pl.col("gate") == "flagged").sort("recorded_on", "load_kg", "set_index")
    return [FlaggedVideo(str(r["recorded_on"]), r["load_kg"], r["set_index"], list(r["gate_reasons"] or []))
            for r in bad.iter_rows(named=True)]


def exercise_section(exercise: str, sets: pl.DataFrame, reps: pl.DataFrame, bd: dict, wow: pl.DataFrame,
                     videos: pl.DataFrame, cues: dict[str, Cue]) -> ExerciseSection:
    """One exercise of one athlete; every frame is already filtered to it."""
    metrics = [m for m in (*bd["changed_metrics"], *KEY_METRICS) if f"{m}_median" in sets.columns
               and sets[f"{m}_median"].drop_nulls().len() > 0]
    metrics = list(dict.fromkeys(metrics))
    values = per_load_values(sets, list(dict.fromkeys([*metrics, *bd["changed_metrics"]])))
    head, details, main = _headline(bd, values, reps)
    faults = _faults_seen(reps, cues)
    main_seen = next((f for f in faults if f.fault == main), faults[0] if faults else None)
    return ExerciseSection(
        exercise=exercise, title=title_of(exercise), loads_kg=bd["loads_kg"],
        baseline_loads_kg=bd["baseline_loads_kg"], breakdown_load_kg=bd["breakdown_load_kg"],
        headline=head, details=details, noise_notes=_noise_notes(bd, values, metrics),
        next_step=_next_step(bd, main_seen), faults=faults, week_over_week=_week_over_week(wow),
        flagged=_flagged(videos), n_reps=reps.height, metrics=metrics[:3],
    )


def athlete_report(athlete_id: str, tables: dict[str, pl.DataFrame], cues: dict[str, Cue]) -> AthleteReport:
    """The report of `athlete_id` from the warehouse `tables` (sets, reps, breakdown,
    week_over_week, videos; any athletes)."""
    mine = {name: tables[name].filter(pl.col("athlete_id") == athlete_id)
            for name in ("sets", "reps", "breakdown", "week_over_week", "videos")}
    reps = mine["reps"]
    sections = []
    for bd in mine["breakdown"].sort("exercise").iter_rows(named=True):
        ex = pl.col("exercise") == bd["exercise"]
        sections.append(exercise_section(bd["exercise"], mine["sets"].filter(ex), reps.filter(ex), bd,
                                         mine["week_over_week"].filter(ex), mine["videos"].filter(ex), cues))
    weeks = sorted(set(reps["week"].to_list()))
    return AthleteReport(athlete_id=athlete_id, latest_week=weeks[-1] if weeks else "", weeks=weeks,
                         sections=sections, n_reps=reps.height,
                         low_confidence_reps=int((reps["confidence"] < 0.5).sum()))
