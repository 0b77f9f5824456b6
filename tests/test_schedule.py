"""Scheduled runs on a real Prefect server started on loopback.

Two paths: `hingeflow serve` (a serving process, schedule due within seconds),
and `prefect.yaml` deployed to a process work pool whose worker runs it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName
from prefect.settings import PREFECT_API_URL, temporary_settings

from flows.deployments import WEEKLY_CRON, deployment_name, weekly_deployment
from hingeflow import schemas
from hingeflow.synth.gym import make_gym
from hingeflow.warehouse import Warehouse
from servers import free_port, start_until_answering, stop

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """(API URL, environment for clients): `prefect server start` on loopback with its own database."""
    root = tmp_path_factory.mktemp("prefect-server")
    port = free_port()
    env = {**os.environ, "PREFECT_HOME": str(root), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_UI_ENABLED": "false", "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2"}
    env.pop("PREFECT_API_URL", None)
    url = f"http://127.0.0.1:{port}/api"
    proc = start_until_answering([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                                 f"{url}/health", root / "server.log", timeout_s=120, env=env)
    yield url, {**env, "PREFECT_API_URL": url, "PREFECT_RUNNER_POLL_FREQUENCY": "2"}
    stop(proc)


@pytest.fixture(scope="module")
def small_inbox(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gym")
    make_gym(out, athletes=1, weeks=1, seed=41)
    return out / "inbox"


def _wait_for_runs(url: str, name: str, timeout_s: float) -> list:
    """The flow runs of deployment `name` once one has finished (or the time is up)."""
    deadline = time.monotonic() + timeout_s
    with temporary_settings(updates={PREFECT_API_URL: url}), get_client(sync_client=True) as client:
        while True:
            runs = client.read_flow_runs(deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[name])))
            if any(r.state.is_final() for r in runs if r.state) or time.monotonic() > deadline:
                return runs
            time.sleep(2)


def _deployment(url: str, name: str):
    with temporary_settings(updates={PREFECT_API_URL: url}), get_client(sync_client=True) as client:
        return client.read_deployment_by_name(f"hingeflow-ingest/{name}")


def test_weekly_deployment_defaults():
    d = weekly_deployment("/gym/inbox", "/gym/warehouse", timezone="Europe/Berlin")
    assert d.schedules[0].schedule.cron == WEEKLY_CRON and d.schedules[0].schedule.timezone == "Europe/Berlin"
    assert d.parameters == {"inbox": "/gym/inbox", "warehouse": "/gym/warehouse"}
    assert d.concurrency_limit == 1 and d.concurrency_options.collision_strategy == "ENQUEUE"
    assert deployment_name("/a/warehouse") != deployment_name("/b/warehouse")


def test_serve_without_a_server_says_what_to_do(tmp_path):
    env = {**os.environ}
    env.pop("PREFECT_API_URL", None)
    out = subprocess.run([str(BIN / "hingeflow"), "serve", "--inbox", str(tmp_path), "--warehouse", str(tmp_path / "w")],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "prefect server start" in out.stdout


@pytest.mark.slow
def test_served_schedule_runs_and_writes_the_warehouse(server, small_inbox, tmp_path):
    url, env = server
    wh = tmp_path / "wh"
    log = (tmp_path / "serve.log").open("w")
    serving = subprocess.Popen([str(BIN / "hingeflow"), "serve", "--inbox", str(small_inbox), "--warehouse", str(wh),
                                "--every", "5"], env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    name = deployment_name(str(wh.resolve()))
    try:
        runs = _wait_for_runs(url, name, timeout_s=300)
    finally:
        serving.terminate()
        serving.wait(60)
        log.close()
    done = [r for r in runs if r.state and r.state.is_completed()]
    assert done, f"no completed scheduled run: {[r.state for r in runs]} {(tmp_path / 'serve.log').read_text()[-3000:]}"
    assert all(r.auto_scheduled for r in done)  # made by the server's scheduler, not by hand
    deployment = _deployment(url, name)
    assert deployment.global_concurrency_limit.limit == 1 and deployment.parameters["warehouse"] == str(wh.resolve())
    assert deployment.concurrency_options.collision_strategy == "ENQUEUE"
    videos = Warehouse(wh).read(schemas.VIDEOS)
    assert videos.height == 4 and (videos["status"] == "ok").all()
    assert Warehouse(wh).read(schemas.REPS).height > 0


@pytest.mark.slow
def test_prefect_yaml_deploys_to_a_work_pool_and_its_worker_runs_it(server, small_inbox, tmp_path):
    url, env = server
    wh = tmp_path / "wh"
    env = {**env, "HINGEFLOW_INBOX": str(small_inbox), "HINGEFLOW_WAREHOUSE": str(wh)}
    prefect = str(BIN / "prefect")

    def cli(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
        out = subprocess.run([prefect, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout)
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
        return out

    cli("work-pool", "create", "hingeflow", "--type", "process", "--overwrite")
    cli("--no-prompt", "deploy", "--all")
    deployment = _deployment(url, "weekly-ingest")
    schedule = deployment.schedules[0].schedule
    assert (schedule.cron, schedule.timezone) == ("0 2 * * 1", "Europe/London")
    assert deployment.parameters == {"inbox": str(small_inbox), "warehouse": str(wh)}
    assert deployment.global_concurrency_limit.limit == 1 and deployment.work_pool_name == "hingeflow"
    cli("deployment", "run", "hingeflow-ingest/weekly-ingest")
    cli("worker", "start", "--pool", "hingeflow", "--run-once", timeout=600)
    runs = _wait_for_runs(url, "weekly-ingest", timeout_s=60)
    assert any(r.state.is_completed() for r in runs if r.state), [r.state for r in runs]
    assert Warehouse(wh).read(schemas.VIDEOS).height == 4 and Warehouse(wh).read(schemas.REPS).height > 0
