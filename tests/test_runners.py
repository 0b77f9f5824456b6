"""The same flow on other task runners: a local process pool and a Dask LocalCluster.

Each run goes through the CLI (`hingeflow run --runner ...`) on the demo gym's
footage and must give the tables of the demo's own run (thread runner) row for
row; only the columns that record when or how long are left out.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from flows.runners import task_runner
from servers import read_runs
from hingeflow import schemas
from hingeflow.settings import Settings
from hingeflow.warehouse import Warehouse

HINGEFLOW = str(Path(sys.executable).with_name("hingeflow"))
VOLATILE = {"processed_at", "pose_seconds", "detected_at"}  # wall-clock facts of a run
COMPARED = ("videos", "frames", "reps", "sets", "breakdown", "week_over_week", "quarantine", "keyframes")


def comparable(wh: Warehouse, name: str) -> pl.DataFrame:
    """A table's rows without its wall-clock columns, in a fixed row order."""
    df = wh.read(schemas.TABLES[name])
    cols = [c for c in df.columns if c not in VOLATILE]
    key = [c for c in cols if not df.schema[c].is_nested() and df.schema[c] != pl.Binary]
    return df.select(cols).sort(key, nulls_last=True)


def test_runner_comes_from_settings():
    assert type(task_runner(Settings(runner="local"))).__name__ == "ThreadPoolTaskRunner"
    assert type(task_runner(Settings(runner="process", workers=3))).__name__ == "ProcessPoolTaskRunner"
    dask = task_runner(Settings(runner="dask", dask_address="tcp://10.1.2.3:8786"))
    assert type(dask).__name__ == "DaskTaskRunner" and dask.address == "tcp://10.1.2.3:8786"


def test_unknown_runner_is_refused(tmp_path):
    (tmp_path / "inbox").mkdir()
    out = subprocess.run([HINGEFLOW, "run", "--inbox", str(tmp_path / "inbox"), "--warehouse", str(tmp_path / "wh"),
                          "--runner", "spark"], capture_output=True, text=True)
    assert out.returncode == 2 and "--runner" in out.stderr and "'local', 'process' or 'dask'" in out.stderr


WAREHOUSE_TASKS = {"localise", "plan", "collect-pose", "validate-ingest-tables", "analyse", "validate-rep-tables",
                   "keyframes", "commit", "report", "push"}


def assert_probe_and_pose_in_a_subflow(env: dict) -> None:
    """Every ingest run's probe and pose task runs belong to its `hingeflow-probe-pose` subflow run
    (on the configured runner), its warehouse tasks to the ingest run itself (threads in the flow's
    process, where the warehouse copy is)."""
    flows, tasks = read_runs(env)
    ingests = {f["id"] for f in flows if f["flow"] == "hingeflow-ingest"}
    subflows = {f["id"]: f["parent"] for f in flows if f["flow"] == "hingeflow-probe-pose"}
    assert ingests and subflows and set(subflows.values()) <= ingests
    ran = {(t["task"], t["flow_run"]) for t in tasks}
    assert {name for name, run in ran if run in subflows} == {"probe", "pose"}
    assert {name for name, run in ran if run in ingests} >= {"plan", "analyse", "commit"}
    assert {name for name, run in ran if run in ingests} <= WAREHOUSE_TASKS | {"artifacts", "hingeflow-probe-pose"}


def test_the_demo_runs_probe_and_pose_in_a_subflow(demo_run):
    assert_probe_and_pose_in_a_subflow({**os.environ, "PREFECT_HOME": str(demo_run.root / "prefect")})


@pytest.mark.slow
@pytest.mark.parametrize("runner", ["process", "dask"])
def test_other_runners_give_the_same_tables_row_for_row(demo_run, tmp_path, runner):
    wh = tmp_path / "wh"
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_LOGGING_LEVEL": "INFO"}
    env.pop("PREFECT_API_URL", None)
    out = subprocess.run([HINGEFLOW, "run", "--inbox", str(demo_run.inbox), "--warehouse", str(wh),
                          "--runner", runner, "--workers", "2"], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    log = out.stdout + out.stderr
    if runner == "dask":  # tasks went through a Dask scheduler with two worker processes
        assert "distributed.scheduler" in log and log.count("Start Nanny at") == 2
    assert log.count("Starting temporary server") == 1  # one API server shared by the workers
    local, other = Warehouse(demo_run.warehouse), Warehouse(wh)
    for name in COMPARED:
        expected, got = comparable(local, name), comparable(other, name)
        assert expected.height > 0 or name in ("quarantine", "week_over_week")
        assert got.equals(expected), f"{name} differs on the {runner} runner"
    assert_probe_and_pose_in_a_subflow(env)
