"""Render the coach reports into the warehouse: one HTML page per athlete plus an index (I/O).

Pages are self-contained: the style sheet is inlined, charts are inline SVG and
keyframes inline images, so a report opens offline and makes no network request.
Templates live in `reports/` at the repository root.
"""

from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

import jinja2
import polars as pl

from hingeflow import schemas
from hingeflow.parquet_io import write_text_atomic
from hingeflow.report import charts
from hingeflow.report.content import AthleteReport, ExerciseSection, per_load_values, athlete_report, kg, load_cues
from hingeflow.warehouse import Warehouse

TEMPLATES = Path(__file__).resolve().parents[3] / "reports"
SOURCE_TABLES = ("sets", "reps", "breakdown", "week_over_week", "videos", "keyframes")
REPORTS_DIR = "reports"  # under the warehouse
STAMP = ".rendered-from"  # under REPORTS_DIR: fingerprint of the tables the pages were last rendered from


@dataclass(frozen=True)
class Thumb:
    src: str | None  # data: URI of the WebP image; None when the rep has no keyframe
    caption: str
    reason: str | None = None  # why there is no image


def thumbs(keyframes: pl.DataFrame, reps: pl.DataFrame) -> list[Thumb]:
    """Per load (lightest first), the stored keyframes of its best and worst rep by form score."""
    shown = keyframes.join(reps.select("video_id", "rep_index", "load_kg", "form_score"),
                           on=["video_id", "rep_index"])
    out = []
    for (load,), g in shown.sort("load_kg").group_by("load_kg", maintain_order=True):
        g = g.sort("form_score", "rep_index")
        picks = [("best", g.row(-1, named=True))] + ([("worst", g.row(0, named=True))] if g.height > 1 else [])
        for which, row in picks:
            caption = f"{kg(load)}, {which} rep (score {row['form_score']:.0f})"
            if row["image_webp"] is None:
                out.append(Thumb(None, caption, row["reason"] or "no keyframe"))
                continue
            data = base64.b64encode(row["image_webp"]).decode()
            out.append(Thumb(f"data:image/webp;base64,{data}", caption))
    return out


@dataclass(frozen=True)
class Rendered:
    index: Path
    pages: dict[str, Path]  # athlete_id -> page
    headlines: dict[str, list[str]]  # athlete_id -> "Exercise: headline" per exercise
    seconds: float


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["kgfmt"] = kg
    return env


def add_charts(section: ExerciseSection, sets: pl.DataFrame, reps: pl.DataFrame) -> None:
    """Fill `section.charts` (name -> SVG) from the exercise's sets and reps."""
    if len(section.loads_kg) > 1:  # a metric against load needs loads to compare
        per = per_load_values(sets, section.metrics)
        for m in section.metrics:
            section.charts[m] = charts.metric_vs_load(m, reps, per, section.baseline_loads_kg,
                                                      section.breakdown_load_kg)
    if sets["week"].n_unique() > 1:
        section.charts["week_over_week"] = charts.week_over_week(sets)
    section.charts["tempo"] = charts.tempo(reps)
    faults = [f.fault for f in section.faults]
    section.charts["faults"] = charts.fault_rates(sets, faults, {f.fault: f.cue.label for f in section.faults})


def with_charts(report: AthleteReport, tables: dict[str, pl.DataFrame]) -> AthleteReport:
    """`report` with the charts of each of its sections filled in."""
    for s in report.sections:
        mine = (pl.col("athlete_id") == report.athlete_id) & (pl.col("exercise") == s.exercise)
        reps = tables["reps"].filter(mine)
        add_charts(s, tables["sets"].filter(mine), reps)
        s.keyframes = thumbs(tables["keyframes"], reps)
    return report


def page_name(athlete_id: str) -> str:
    return f"{athlete_id}.html"


def source_fingerprint(warehouse: Warehouse) -> str:
    """sha256 of the names of the committed part files the reports read: it changes whenever
    one of those tables does (every run names its files after itself)."""
    parts = sorted(f"{name}/{p.parent.name}/{p.name}" for name in SOURCE_TABLES
                   for p in warehouse.part_files(schemas.TABLES[name]))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def reports_stale(warehouse: Warehouse) -> bool:
    """True when the warehouse has reps and its reports were not all rendered from its current
    tables: a run committed and then died (or was killed) before rendering them."""
    stamp = warehouse.root / REPORTS_DIR / STAMP
    if not warehouse.part_files(schemas.REPS):
        return False
    return not stamp.is_file() or stamp.read_text().strip() != source_fingerprint(warehouse)


def render_reports(warehouse: Warehouse, athletes: list[str] | None = None) -> Rendered:
    """Write `<warehouse>/reports/<athlete>.html` for `athletes` (default: every athlete with reps)
    and the index of all athletes; returns the paths and the seconds spent. Rendering every page
    records the tables' fingerprint (`STAMP`), so `reports_stale` can tell when they are behind."""
    start = time.perf_counter()
    fingerprint = source_fingerprint(warehouse)
    tables = {name: warehouse.read(schemas.TABLES[name]) for name in SOURCE_TABLES}
    everyone = sorted(set(tables["reps"]["athlete_id"].to_list()))
    unknown = sorted(set(athletes or []) - set(everyone))
    if unknown:
        raise ValueError(f"no reps in the warehouse for athlete(s): {', '.join(unknown)}")
    env, css = _environment(), (TEMPLATES / "report.css").read_text()
    out = warehouse.root / REPORTS_DIR
    cues = load_cues()
    reports = {a: athlete_report(a, tables, cues) for a in everyone}
    pages = {}
    for athlete_id in athletes or everyone:
        html = env.get_template("athlete.html.j2").render(r=with_charts(reports[athlete_id], tables), css=css)
        pages[athlete_id] = write_text_atomic(html, out / page_name(athlete_id))
    index = env.get_template("index.html.j2").render(
        athletes=[{"file": page_name(a), **vars(r)} for a, r in reports.items()], css=css,
        latest_week=max((r.latest_week for r in reports.values()), default=""))
    headlines = {a: [f"{s.title}: {s.headline}" for s in reports[a].sections] for a in pages}
    index_page = write_text_atomic(index, out / "index.html")
    if athletes is None:
        write_text_atomic(fingerprint + "\n", out / STAMP)
    return Rendered(index_page, pages, headlines, time.perf_counter() - start)
