"""The markdown summary of a run, as the Prefect artifact shows it (pure).

Only pseudonymous athlete ids appear; no names, file names or footage.
"""

from __future__ import annotations

import re

from hingeflow.pipeline import RunSummary

COUNTS = ("videos_new", "videos_ok", "videos_quarantined", "videos_skipped", "rows_rejected", "frames", "reps",
          "rows_quarantined", "checks_failed")


def artifact_key(athlete_id: str) -> str:
    """A Prefect artifact key for an athlete's report (lowercase letters, digits and dashes)."""
    return "report-" + re.sub(r"[^a-z0-9-]+", "-", athlete_id.lower()).strip("-")


def run_markdown(summary: RunSummary, headlines: dict[str, list[str]], report_seconds: float) -> str:
    """Counts, seconds per stage and each athlete's report headlines."""
    lines = [f"# hingeflow run {summary.run_id}", "", "| count | value |", "|---|---|"]
    lines += [f"| {key.replace('_', ' ')} | {getattr(summary, key)} |" for key in COUNTS]
    lines += ["", "| stage | seconds |", "|---|---|"]
    lines += [f"| {stage} | {s:.1f} |" for stage, s in {**summary.seconds, "report": report_seconds}.items()]
    lines += ["", f"## Reports ({len(headlines)} athletes)"]
    for athlete_id, heads in headlines.items():
        lines += ["", f"**{athlete_id}**", *(f"- {h}" for h in heads)]
    return "\n".join(lines) + "\n"
