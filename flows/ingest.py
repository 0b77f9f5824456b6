"""Ingest flow: plan -> probe + pose (mapped over videos) -> validate -> analyse -> validate
-> keyframes -> commit -> reports (+ Prefect artifacts).

Runs on Prefect's ephemeral API by default (no server to start). Probe and pose,
the stage that needs the cores, run in a subflow on the task runner the settings
choose (`flows.runners`: threads, processes or a Dask cluster), only when the run
has new videos. The other stages read and write the flow machine's copy of the
warehouse, so they run in the flow's own process, on threads. Both bodies only
submit and map tasks. Tasks pass paths, ids and small records; decoding and pose
happen in child processes. With inbox and warehouse given as URLs, probe and pose
need no file of the flow's machine: they read each video from its URL and stage
pose output in the warehouse's bucket (`hingeflow.pose_staging`), from where the
flow collects it. Every task retries transient I/O errors with backoff.
Each validation task checks one stage's tables against `data_contracts/` and
stages the rows that meet them; the analysis reads only those rows, and
`commit` makes the run visible to readers at once. The coach reports are
rendered from the committed tables, then linked as artifacts.
"""

from __future__ import annotations

import time

from prefect import flow, task, unmapped
from prefect.artifacts import create_link_artifact, create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.tasks import exponential_backoff

from flows.runners import task_runner
from hingeflow import pipeline
from hingeflow.inbox import Candidate
from hingeflow.report.render import Rendered, render_reports, reports_stale
from hingeflow.report.run_summary import artifact_key, run_markdown
from hingeflow.locking import warehouse_lock
from hingeflow.pose_staging import PoseStaging
from hingeflow.settings import Settings
from hingeflow.storage import is_remote, local_copy
from hingeflow.warehouse import Warehouse

RETRIES = 3  # transient I/O only (see `transient_io`), after 2, 4 and 8 s (+ jitter)


def transient_io(task, task_run, state) -> bool:
    """Retry condition: an I/O error that may pass (a busy network disk or object store, a dropped
    connection); contract breaks, bad settings and bugs fail at once. Broken media never gets
    here: probe and pose report those as quarantine reasons, not exceptions."""
    exc = state.result(raise_on_failure=False)
    permanent = (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)
    return isinstance(exc, OSError) and not isinstance(exc, permanent)


def stage_task(fn, name: str):
    """A stage as a Prefect task: no result cache (the pose cache is the staged file, see
    `pipeline.staging_key`), retried with exponential backoff on transient I/O."""
    return task(fn, name=name, cache_policy=NO_CACHE, retries=RETRIES,
                retry_delay_seconds=exponential_backoff(backoff_factor=2), retry_jitter_factor=0.5,
                retry_condition_fn=transient_io)


localise_task = stage_task(pipeline.localise, "localise")
plan_task = stage_task(pipeline.plan, "plan")
probe_task = stage_task(pipeline.probe, "probe")
pose_task = stage_task(pipeline.pose, "pose")
check_ingest_task = stage_task(pipeline.check_ingest_tables, "validate-ingest-tables")
analyse_task = stage_task(pipeline.analyse_run, "analyse")
check_reps_task = stage_task(pipeline.check_run_reps, "validate-rep-tables")
keyframes_task = stage_task(pipeline.stage_keyframes, "keyframes")
commit_task = stage_task(pipeline.commit, "commit")
report_task = stage_task(render_reports, "report")
collect_task = stage_task(pipeline.collect, "collect-pose")
push_task = stage_task(pipeline.push, "push")


@task(name="artifacts", cache_policy=NO_CACHE)
def publish_artifacts(summary: pipeline.RunSummary, rendered: Rendered) -> None:
    """A markdown summary of the run and a link to each athlete's report, in the Prefect UI."""
    create_markdown_artifact(run_markdown(summary, rendered.headlines, rendered.seconds), key="hingeflow-run",
                             description="hingeflow run summary")
    for athlete_id, page in rendered.pages.items():
        create_link_artifact(page.resolve().as_uri(), link_text=f"report {athlete_id}", key=artifact_key(athlete_id),
                             description=f"coach report of {athlete_id}")


@flow(name="hingeflow-probe-pose", log_prints=True, validate_parameters=False)
def probe_and_pose(new: list[Candidate], staging: PoseStaging, settings: Settings) -> list[pipeline.PoseOutcome]:
    """Probe and pose of the run's new videos, mapped over them (called with the task runner
    `settings` chooses, see `_stages`). Workers read each video from the flow's inbox copy or
    its URL, and write pose output to `staging` (the warehouse's bucket when it is remote)."""
    probes = probe_task.map(new, unmapped(settings))
    return pose_task.map(probes, unmapped(staging), unmapped(settings)).result()


@flow(name="hingeflow-ingest", log_prints=True, task_runner=ThreadPoolTaskRunner(max_workers=2))
def ingest(inbox: str, warehouse: str, settings: Settings | None = None) -> pipeline.RunSummary:
    """Bring every new video of `inbox` into the `warehouse` tables (folders or fsspec URLs).

    Holds the warehouse's lock throughout: a second run on it waits `settings.lock_wait_s`,
    then fails with `WarehouseBusy` (saying who holds it) without touching anything.
    """
    settings = settings or Settings()
    with warehouse_lock(local_copy(warehouse, "warehouse", settings.work_dir), settings.lock_wait_s):
        return _stages(inbox, warehouse, settings)


def _stages(inbox: str, warehouse: str, settings: Settings) -> pipeline.RunSummary:
    """The flow's wiring (called inside the flow, under the warehouse lock)."""
    inbox_dir, warehouse_dir = localise_task.submit(inbox, warehouse, settings).result()
    wh = Warehouse(warehouse_dir)
    staging = PoseStaging.of(wh, warehouse)
    if settings.validate_tables:
        pipeline.preload_validation()
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        seconds[stage] = time.perf_counter() - clock
        clock = time.perf_counter()

    plan = plan_task.submit(inbox_dir, wh, settings, inbox if is_remote(inbox) else None).result()
    lap("plan")
    poses = []
    if plan.new:  # the runner (HINGEFLOW_RUNNER etc.) is read when the run starts
        poses = probe_and_pose.with_options(task_runner=task_runner(settings))(plan.new, staging, settings)
        poses = collect_task.submit(poses, staging).result()
    lap("probe_and_pose")
    steps = [check_ingest_task.submit(plan, poses, wh, settings).result()]
    lap("ingest_tables")  # gate, tables built, validated (its `validate` share is reported apart)
    if steps[0].usable:  # an unusable table stops the run; commit reports it
        analyse_task.submit(plan, wh).result()
        lap("analyse")
        steps.append(check_reps_task.submit(plan, wh, settings).result())
        lap("rep_tables")
        keyframes_task.submit(plan, poses, wh, settings).result()
        lap("keyframes")
    summary = commit_task.submit(plan, poses, steps, wh, settings, seconds).result()
    if reports_stale(wh):  # this run's reps, or an earlier run that died before its reports
        rendered = report_task.submit(wh)
        publish_artifacts.submit(summary, rendered).result()
    push_task.submit(warehouse_dir, warehouse).result()
    return summary
