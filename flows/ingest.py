"""Ingest flow: plan -> probe + pose (mapped over videos) -> validate -> analyse -> validate -> commit.

Runs on Prefect's ephemeral API by default (no server to start). Tasks pass
paths, ids and small records; decoding and pose happen in child processes.
Each validation task checks one stage's tables against `data_contracts/` and
stages the rows that meet them; the analysis reads only those rows, and
`commit` makes the run visible to readers at once.
"""

from __future__ import annotations

import time
from pathlib import Path

from prefect import flow, task, unmapped
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from hingeflow import pipeline
from hingeflow.settings import Settings
from hingeflow.warehouse import Warehouse

plan_task = task(pipeline.plan, name="plan", cache_policy=NO_CACHE)
probe_task = task(pipeline.probe, name="probe", cache_policy=NO_CACHE)
pose_task = task(pipeline.pose, name="pose", cache_policy=NO_CACHE)
check_ingest_task = task(pipeline.check_ingest_tables, name="validate-ingest-tables",
                         cache_policy=NO_CACHE)
analyse_task = task(pipeline.analyse, name="analyse", cache_policy=NO_CACHE)
check_reps_task = task(pipeline.check_rep_tables, name="validate-rep-tables", cache_policy=NO_CACHE)
commit_task = task(pipeline.commit, name="commit", cache_policy=NO_CACHE)


@flow(name="hingeflow-ingest", log_prints=True)
def ingest(inbox: str, warehouse: str, settings: Settings | None = None) -> pipeline.RunSummary:
    """Bring every new video of `inbox` into the `warehouse` tables."""
    settings = settings or Settings()
    wh = Warehouse(Path(warehouse))
    if settings.validate_tables:
        pipeline.preload_validation()
    t0 = time.perf_counter()
    plan = plan_task(Path(inbox), wh, settings)
    t1 = time.perf_counter()
    probes = probe_task.map(plan.new, unmapped(settings))
    poses = pose_task.map(probes, unmapped(wh), unmapped(settings)).result()
    t2 = time.perf_counter()
    steps = [check_ingest_task(plan, poses, wh, settings)]
    t3 = time.perf_counter()
    t4 = t3
    if steps[0].usable:  # an unusable table stops the run; commit reports it
        reps = analyse_task(plan, wh)
        t4 = time.perf_counter()
        steps.append(check_reps_task(plan, reps, wh, settings))
    seconds = {"plan": t1 - t0, "probe_and_pose": t2 - t1, "analyse": t4 - t3}
    return commit_task(plan, poses, steps, wh, settings, seconds)


def ingest_with(settings: Settings):
    """The ingest flow with a thread runner sized to `settings.workers` (each thread drives one child process)."""
    return ingest.with_options(task_runner=ThreadPoolTaskRunner(max_workers=settings.workers))
