"""Ingest flow: plan -> probe + pose (mapped over videos) -> validate -> analyse -> validate
-> keyframes -> commit -> reports (+ Prefect artifacts).

Runs on Prefect's ephemeral API by default (no server to start). Tasks pass
paths, ids and small records; decoding and pose happen in child processes.
Each validation task checks one stage's tables against `data_contracts/` and
stages the rows that meet them; the analysis reads only those rows, and
`commit` makes the run visible to readers at once. The coach reports are
rendered from the committed tables, then linked as artifacts.
"""

from __future__ import annotations

import time
from pathlib import Path

from prefect import flow, task, unmapped
from prefect.artifacts import create_link_artifact, create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from hingeflow import pipeline
from hingeflow.report.render import Rendered, render_reports
from hingeflow.report.run_summary import artifact_key, run_markdown
from hingeflow.settings import Settings
from hingeflow.warehouse import Warehouse

plan_task = task(pipeline.plan, name="plan", cache_policy=NO_CACHE)
probe_task = task(pipeline.probe, name="probe", cache_policy=NO_CACHE)
pose_task = task(pipeline.pose, name="pose", cache_policy=NO_CACHE)
check_ingest_task = task(pipeline.check_ingest_tables, name="validate-ingest-tables",
                         cache_policy=NO_CACHE)
analyse_task = task(pipeline.analyse, name="analyse", cache_policy=NO_CACHE)
check_reps_task = task(pipeline.check_rep_tables, name="validate-rep-tables", cache_policy=NO_CACHE)
keyframes_task = task(pipeline.stage_keyframes, name="keyframes", cache_policy=NO_CACHE)
commit_task = task(pipeline.commit, name="commit", cache_policy=NO_CACHE)
report_task = task(render_reports, name="report", cache_policy=NO_CACHE)


@task(name="artifacts", cache_policy=NO_CACHE)
def publish_artifacts(summary: pipeline.RunSummary, rendered: Rendered) -> None:
    """A markdown summary of the run and a link to each athlete's report, in the Prefect UI."""
    create_markdown_artifact(run_markdown(summary, rendered.headlines, rendered.seconds), key="hingeflow-run",
                             description="hingeflow run summary")
    for athlete_id, page in rendered.pages.items():
        create_link_artifact(page.resolve().as_uri(), link_text=f"report {athlete_id}", key=artifact_key(athlete_id),
                             description=f"coach report of {athlete_id}")


@flow(name="hingeflow-ingest", log_prints=True)
def ingest(inbox: str, warehouse: str, settings: Settings | None = None) -> pipeline.RunSummary:
    """Bring every new video of `inbox` into the `warehouse` tables."""
    settings = settings or Settings()
    wh = Warehouse(Path(warehouse))
    if settings.validate_tables:
        pipeline.preload_validation()
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        seconds[stage] = time.perf_counter() - clock
        clock = time.perf_counter()

    plan = plan_task(Path(inbox), wh, settings)
    lap("plan")
    probes = probe_task.map(plan.new, unmapped(settings))
    poses = pose_task.map(probes, unmapped(wh), unmapped(settings)).result()
    lap("probe_and_pose")
    steps = [check_ingest_task(plan, poses, wh, settings)]
    lap("ingest_tables")  # gate, tables built, validated (its `validate` share is reported apart)
    if steps[0].usable:  # an unusable table stops the run; commit reports it
        reps = analyse_task(plan, wh)
        lap("analyse")
        steps.append(check_reps_task(plan, reps, wh, settings))
        lap("rep_tables")
        keyframes_task(plan, poses, wh, settings)
        lap("keyframes")
    summary = commit_task(plan, poses, steps, wh, settings, seconds)
    if summary.reps:
        publish_artifacts(summary, report_task(wh))
    return summary


def ingest_with(settings: Settings):
    """The ingest flow with a thread runner sized to `settings.workers` (each thread drives one child process)."""
    return ingest.with_options(task_runner=ThreadPoolTaskRunner(max_workers=settings.workers))
