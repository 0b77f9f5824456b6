"""Task runners chosen by configuration (`Settings.runner`), never by flow code: the runner
of the probe-and-pose subflow (`flows.ingest.probe_and_pose`); the warehouse stages run on
threads in the flow's process whatever this says.

- ``local``: a thread pool; each thread drives a child process for probe/pose, so
  `workers` threads keep `workers` cores busy (MediaPipe and PyAV release the GIL).
- ``process``: a process pool of `workers` processes (Prefect's `ProcessPoolTaskRunner`).
- ``dask``: `prefect-dask`'s `DaskTaskRunner`, on the cluster at `dask_address`, or on a
  `LocalCluster` of `workers` single-threaded worker processes when no address is given.

Pose tasks start their own child processes (a time limit per decode), so Dask worker
processes must not be daemonic: set ``distributed.worker.daemon: false`` in the
cluster's Dask configuration (done here for the LocalCluster).

Tasks in other processes report to the Prefect API of the flow. Without a server
(`PREFECT_API_URL` unset) each such process would start its own temporary one,
which costs seconds per worker: `shared_api` starts one for all of them.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import dask
from prefect.events.worker import EventsWorker
from prefect.logging.handlers import APILogWorker
from prefect.server.api.server import SubprocessASGIServer
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner
from prefect_dask import DaskTaskRunner

from hingeflow.settings import Settings

STARTUP_TIMEOUT_S = 120  # a fresh API database migrates first: over Prefect's 20 s default on a busy 2-core machine


def task_runner(settings: Settings) -> TaskRunner:
    """The task runner that `settings` asks for."""
    if settings.runner == "process":
        return ProcessPoolTaskRunner(max_workers=settings.workers)
    if settings.runner == "dask":
        dask.config.set({"distributed.worker.daemon": False})
        if settings.dask_address:
            return DaskTaskRunner(address=settings.dask_address)
        return DaskTaskRunner(cluster_kwargs={"n_workers": settings.workers, "threads_per_worker": 1,
                                              "processes": True, "dashboard_address": None})
    return ThreadPoolTaskRunner(max_workers=settings.workers)


@contextlib.contextmanager
def shared_api(settings: Settings) -> Iterator[str | None]:
    """For runners with worker processes and no configured Prefect server: one temporary
    API server on loopback for the flow and every worker (yields its URL, else None)."""
    if settings.runner == "local" or PREFECT_API_URL.value():
        yield None
        return
    server = SubprocessASGIServer()
    server.start(timeout=STARTUP_TIMEOUT_S)
    before = os.environ.get("PREFECT_API_URL")
    os.environ["PREFECT_API_URL"] = server.api_url  # inherited by worker processes started later
    try:
        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            yield server.api_url
    finally:
        if before is None:
            os.environ.pop("PREFECT_API_URL", None)
        else:
            os.environ["PREFECT_API_URL"] = before
        APILogWorker.drain_all(timeout=10)  # send the run's last logs while the server still listens
        EventsWorker.drain_all(timeout=10)
        server.stop()
