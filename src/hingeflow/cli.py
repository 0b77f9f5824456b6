"""Command line: `hingeflow run | serve | demo | synth | report | validate | forget | contracts`."""

from __future__ import annotations

import os

# Offline by design: no telemetry from Prefect.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# a fresh Prefect home migrates its database before the temporary API answers: can exceed the 20 s default
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from hingeflow.settings import Settings

if TYPE_CHECKING:
    from hingeflow.warehouse import Warehouse

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Hip-hinge footage -> pose tables, on Prefect.")
console = Console()


def _print_summary(summary, warehouse: str, local: Path, elapsed: float) -> None:
    table = Table(title=f"run {summary.run_id}", show_header=False)
    for key in ("videos_new", "videos_ok", "videos_quarantined", "videos_skipped", "rows_rejected", "frames", "reps"):
        table.add_row(key.replace("_", " "), str(getattr(summary, key)))
    for stage, s in summary.seconds.items():
        table.add_row(f"{stage} s", f"{s:.1f}")
    table.add_row("total s", f"{elapsed:.1f}")
    console.print(table)
    if local != Path(warehouse):
        console.print(f"warehouse: [bold]{warehouse}[/bold] (local copy: {local.resolve()})")
    else:
        console.print(f"warehouse: [bold]{local.resolve()}[/bold]")
    for name in ("videos", "frames", "reps", "sets", "breakdown", "week_over_week", "quarantine"):
        if (local / name).is_dir():
            console.print(f"  {name:<11} {(local / name).resolve()}")
    if (local / "reports" / "index.html").is_file():
        console.print(f"reports: [bold]{(local / 'reports' / 'index.html').resolve()}[/bold]")


def _run(inbox: str, warehouse: str, settings: Settings):
    """Run the ingest flow on `inbox` -> `warehouse` (folders or fsspec URLs)."""
    from hingeflow.locking import WarehouseBusy, warehouse_lock
    from hingeflow.storage import local_copy

    start = time.perf_counter()
    try:  # held from the first look to the last write (the flow's own lock is re-entrant here)
        with warehouse_lock(local_copy(warehouse, "warehouse", settings.work_dir), settings.lock_wait_s):
            return _run_locked(inbox, warehouse, settings, start)
    except WarehouseBusy as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(3) from None


def _run_locked(inbox: str, warehouse: str, settings: Settings, start: float):
    from hingeflow.planning import localise, plan
    from hingeflow.warehouse import Warehouse

    # Starting the orchestrator costs seconds; an unchanged inbox needs none of it.
    inbox_dir, warehouse_dir = localise(inbox, warehouse, settings)
    pending = plan(inbox_dir, Warehouse(warehouse_dir), settings)
    if not pending.new and not pending.rejections:
        _catch_up(Warehouse(warehouse_dir), warehouse)
        console.print(f"nothing new: {pending.skipped} video(s) already in {warehouse} "
                      f"({time.perf_counter() - start:.2f} s)")
        return None

    from flows.ingest import ingest
    from flows.runners import shared_api
    from hingeflow.pipeline import pose_options, staging_key
    from hingeflow.pose_staging import PoseStaging
    from hingeflow.progress import PoseProgress

    options = pose_options(settings)
    keys = [staging_key(c.video_id, options) for c in pending.new]
    staging = PoseStaging.of(Warehouse(warehouse_dir), warehouse)
    poll_s = 2.0 if staging.remote else 0.5  # a bucket listing per poll
    with shared_api(settings), PoseProgress(console, len(keys), lambda: staging.count(keys), poll_s):
        summary = ingest(inbox, warehouse, settings)
    _print_summary(summary, warehouse, warehouse_dir, time.perf_counter() - start)
    return summary


def _catch_up(wh: Warehouse, warehouse: str) -> None:
    """Finish what the last run that changed the tables left undone when it died: render the
    reports, and push a remote warehouse's local copy (the run committed here, not there)."""
    from hingeflow.planning import push
    from hingeflow.report.render import render_reports, reports_stale
    from hingeflow.storage import is_remote, unpushed

    if reports_stale(wh):
        render_reports(wh)
        console.print("reports brought up to date with the committed tables")
    if is_remote(warehouse) and unpushed(wh.root):
        sent = push(wh.root, warehouse)
        console.print(f"pushed {sent['uploaded']} file(s) (deleted {sent['deleted']}) that an earlier run "
                      f"committed here but did not send to {warehouse}")


def _location(value: str, must_exist: bool) -> str:
    """A folder path or an fsspec URL, as given; a local inbox must be an existing folder."""
    from hingeflow.storage import is_remote

    if not is_remote(value) and must_exist and not Path(value).is_dir():
        raise typer.BadParameter(f"{value} is not a folder")
    return value


@app.command()
def run(
    inbox: str = typer.Option(..., help="folder of upload folders, or an fsspec URL (s3://bucket/inbox)"),
    warehouse: str = typer.Option(..., help="Parquet warehouse folder (created if missing), or an fsspec URL"),
    runner: str = typer.Option(None, help="local (threads driving child processes), process (a process pool) "
                               "or dask (a Dask cluster; default: HINGEFLOW_RUNNER or local)"),
    workers: int = typer.Option(None, min=1, help="videos processed at once (default: HINGEFLOW_WORKERS or 2)"),
    dask_address: str = typer.Option(None, help="scheduler of an existing Dask cluster, e.g. tcp://10.0.0.5:8786 "
                                     "(default: HINGEFLOW_DASK_ADDRESS; none: a local cluster of WORKERS processes)"),
    analysis_fps: float = typer.Option(None, min=1, help="frames/s analysed (default: HINGEFLOW_ANALYSIS_FPS or 30)"),
) -> None:
    """Ingest new videos from INBOX into WAREHOUSE (idempotent)."""
    overrides = {"runner": runner, "workers": workers, "dask_address": dask_address, "analysis_fps": analysis_fps}
    try:
        settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise typer.BadParameter(first["msg"], param_hint=f"--{str(first['loc'][0]).replace('_', '-')}") from None
    _run(_location(inbox, must_exist=True), _location(warehouse, must_exist=False), settings)


@app.command()
def serve(
    inbox: str = typer.Option(..., help="folder of upload folders, or an fsspec URL"),
    warehouse: str = typer.Option(..., help="Parquet warehouse folder (created if missing), or an fsspec URL"),
    cron: str = typer.Option("0 2 * * 1", help="when to run, a cron line (default: Mondays 02:00)"),
    timezone: str = typer.Option("UTC", help="time zone of the cron line, e.g. Europe/Berlin"),
    every: float = typer.Option(None, min=1, help="run every EVERY seconds instead of the cron line"),
) -> None:
    """Serve the weekly deployment: runs INBOX -> WAREHOUSE on schedule, one run at a time.

    Needs a Prefect server (PREFECT_API_URL), e.g. `prefect server start` on this machine.
    The runner and other settings come from HINGEFLOW_* variables.
    """
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        console.print("[red]schedules need a Prefect server: start one (`prefect server start`) and set "
                      "PREFECT_API_URL, e.g. http://127.0.0.1:4200/api[/red]")
        raise typer.Exit(2)
    from flows.deployments import serve_weekly, weekly_deployment
    from hingeflow.storage import is_remote

    inbox, warehouse = (x if is_remote(x) else str(Path(x).resolve()) for x in (inbox, warehouse))
    deployment = weekly_deployment(inbox, warehouse, cron, timezone, every)
    console.print(f"serving {deployment.name}: {inbox} -> {warehouse}, "
                  + (f"every {every:g} s" if every else f"cron '{cron}' ({timezone})"))
    serve_weekly(deployment)


@app.command()
def synth(
    out: Path = typer.Option(..., help="output folder: inbox/ and truth/ are written inside"),
    athletes: int = typer.Option(3, min=1),
    weeks: int = typer.Option(2, min=1),
    seed: int = typer.Option(0),
) -> None:
    """Render a synthetic gym: footage + manifests + truth tables, deterministic for a seed."""
    from hingeflow.synth.gym import make_gym

    start = time.perf_counter()
    summary = make_gym(out, athletes=athletes, weeks=weeks, seed=seed)
    console.print(summary)
    console.print(f"synthesised in {time.perf_counter() - start:.1f} s: inbox {out / 'inbox'}, truth {out / 'truth'}")


@app.command()
def demo(
    warehouse: Path = typer.Option(Path("demo/warehouse"), help="where the tables go"),
    footage: Path = typer.Option(Path("demo/footage"), help="where synthetic footage goes"),
    athletes: int = typer.Option(3, min=1),
    weeks: int = typer.Option(2, min=1),
    seed: int = typer.Option(0),
) -> None:
    """Synthesise a small gym's footage, then run the whole flow on it."""
    from hingeflow.synth.gym import make_gym

    if not (footage / "inbox").is_dir():
        start = time.perf_counter()
        make_gym(footage, athletes=athletes, weeks=weeks, seed=seed)
        console.print(f"synthesised footage in {time.perf_counter() - start:.1f} s: {footage.resolve()}")
    _run(str(footage / "inbox"), str(warehouse), Settings())


@app.command()
def contracts(out: Path = typer.Option(None, help="data_contracts folder (default: the repository's)")) -> None:
    """Rewrite data_contracts/ (GX suites, SCHEMA.md) from the table contracts in schemas.py."""
    from hingeflow import gx_project, schema_doc

    out = out or gx_project.contracts_dir()
    gx_project.write_project(out / "gx")
    (out / "SCHEMA.md").write_text(schema_doc.render())
    console.print(f"wrote {out / 'gx'} and {out / 'SCHEMA.md'}")


@app.command()
def validate(warehouse: Path = typer.Option(..., exists=True, file_okay=False)) -> None:
    """Check every committed table against its contract; results go to `quality` and the data docs."""
    from hingeflow.validation import validate_warehouse
    from hingeflow.warehouse import Warehouse

    start = time.perf_counter()
    report = validate_warehouse(Warehouse(warehouse), Settings())
    for line in report.lines:
        console.print(line)
    console.print(f"data docs: {report.docs} ({time.perf_counter() - start:.1f} s)")
    if report.failed:
        raise typer.Exit(1)


@app.command()
def report(warehouse: Path = typer.Option(..., exists=True, file_okay=False),
           athlete: list[str] = typer.Option(None, help="athlete id (repeatable); default: every athlete")) -> None:
    """Re-render the coach reports from the warehouse tables (no pose, no video needed)."""
    from hingeflow.report.render import render_reports
    from hingeflow.warehouse import Warehouse

    try:
        done = render_reports(Warehouse(warehouse), athlete or None)
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    for athlete_id, page in done.pages.items():
        console.print(f"  {athlete_id:<16} {page.resolve()}")
    console.print(f"index: [bold]{done.index.resolve()}[/bold] ({len(done.pages)} report(s) in {done.seconds:.1f} s)")


def _forget_artifacts(pattern) -> int:
    """Delete the Prefect artifacts (report links, run summaries) that `pattern` finds; returns how many."""
    from prefect.client.orchestration import get_client

    gone = 0
    with get_client(sync_client=True) as client:
        for artifact in client.read_artifacts():
            text = " ".join(str(x) for x in (artifact.key, artifact.description, artifact.data) if x)
            if pattern.search(text):
                client.delete_artifact(artifact.id)
                gone += 1
    return gone


@app.command()
def forget(warehouse: Path = typer.Option(..., exists=True, file_okay=False),
           athlete: str = typer.Option(..., help="athlete id to erase"),
           artifacts: bool = typer.Option(True, help="also delete Prefect artifacts that name the athlete "
                                          "(in the API that PREFECT_API_URL / PREFECT_HOME points at)")) -> None:
    """Erase an athlete everywhere the warehouse reaches: table rows, report, caches, validation results.

    Remove their uploads from the inbox as well, or the next run brings them back.
    """
    from hingeflow.erasure import forget as erase
    from hingeflow.locking import WarehouseBusy, warehouse_lock
    from hingeflow.warehouse import Warehouse

    start = time.perf_counter()
    try:
        with warehouse_lock(warehouse):
            done = erase(Warehouse(warehouse), athlete)
    except WarehouseBusy as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(3) from None
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    console.print(f"erased {done.videos} video(s): "
                  + ", ".join(f"{n} {table} row(s)" for table, n in sorted(done.rows.items()))
                  + f"; {len(done.files)} other file(s)")
    if artifacts:
        from hingeflow.erasure import mentions

        console.print(f"deleted {_forget_artifacts(mentions(athlete, []))} Prefect artifact(s)")
    console.print(f"done in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    app()
