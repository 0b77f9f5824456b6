"""The flow on a Dask cluster whose workers cannot see the flow machine's files.

Two `dask worker` processes join a `dask scheduler`, each in its own mount namespace
(`unshare`) where an empty tmpfs covers pytest's temporary folder: the flow's work
folder (its inbox and warehouse copies) and the demo's files do not exist for them,
as on another machine. Inbox and warehouse are buckets on a local S3 server (moto).
The run must give the demo's tables row for row and leave nothing in the bucket's
staging.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hingeflow import storage
from hingeflow.warehouse import Warehouse
from servers import free_port, s3_fs, start_until_answering, stop
from test_runners import COMPARED, comparable

BIN = Path(sys.executable).parent
UNSHARE = shutil.which("unshare")
# run the rest of the command where `$1` is an empty tmpfs; refuse to start if `$2` is still seen
_HIDE = 'mount -t tmpfs tmpfs "$1" && test ! -e "$2" && shift 2 && exec "$@"'


def _namespaces_allowed() -> bool:
    if UNSHARE is None:
        return False
    probe = [UNSHARE, "--user", "--map-root-user", "--mount", "true"]
    return subprocess.run(probe, capture_output=True).returncode == 0


@pytest.fixture
def hidden_cluster(tmp_path, tmp_path_factory):
    """Address of a Dask scheduler with 2 single-threaded workers that see an empty folder
    where pytest keeps this session's temporary files; yields (address, worker log paths)."""
    if not _namespaces_allowed():
        pytest.skip("user and mount namespaces (unshare) are not allowed here")
    port, http = free_port(), free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False", "PREFECT_LOGGING_LEVEL": "INFO"}
    env.pop("PREFECT_API_URL", None)
    scheduler = start_until_answering(
        [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
         "--dashboard-address", f"127.0.0.1:{http}"], f"http://127.0.0.1:{http}/health",
        tmp_path / "scheduler.log", timeout_s=60, env=env)
    canary = tmp_path / "canary"
    canary.touch()
    hidden = tmp_path_factory.getbasetemp()
    logs = [tmp_path / f"worker{i}.log" for i in (1, 2)]
    workers = []
    for i, log in enumerate(logs, 1):
        cmd = [UNSHARE, "--user", "--map-root-user", "--mount", "sh", "-c", _HIDE, "sh", str(hidden), str(canary),
               str(BIN / "dask"), "worker", address, "--nthreads", "1", "--name", f"elsewhere-{i}",
               "--no-dashboard", "--local-directory", "/tmp"]
        with log.open("w") as out:
            workers.append(subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd="/"))
    try:
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
        yield address, logs
    finally:
        for proc in [*workers, scheduler]:
            stop(proc)


@pytest.mark.slow
def test_workers_without_the_flows_files_give_the_demos_tables(demo_run, s3, hidden_cluster, tmp_path):
    address, worker_logs = hidden_cluster
    _, s3_env = s3
    fs = s3_fs()
    fs.mkdir("cluster")
    fs.put(str(demo_run.inbox), "cluster/inbox", recursive=True)
    env = {**os.environ, **s3_env, "HINGEFLOW_WORK_DIR": str(tmp_path / "work"),
           "PREFECT_HOME": str(tmp_path / "prefect")}
    env.pop("PREFECT_API_URL", None)
    out = subprocess.run([str(BIN / "hingeflow"), "run", "--inbox", "s3://cluster/inbox",
                          "--warehouse", "s3://cluster/warehouse", "--runner", "dask", "--dask-address", address],
                         env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]

    ran = [log.read_text() for log in worker_logs]
    for log in ran:  # both workers probed and posed videos: read from the bucket, staged into it
        assert "Task run 'pose-" in log and "Task run 'probe-" in log, log[-3000:]
    assert not [o for o in fs.find("cluster/warehouse") if "/_staging/" in o]  # collected, pushed, dropped

    copy = Warehouse(storage.local_copy("s3://cluster/warehouse", "warehouse", tmp_path / "work"))
    local = Warehouse(demo_run.warehouse)
    for name in COMPARED:
        expected, got = comparable(local, name), comparable(copy, name)
        assert expected.height > 0 or name in ("quarantine", "week_over_week")
        assert got.equals(expected), f"{name} differs when the workers cannot see the flow's files"
