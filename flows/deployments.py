"""The weekly deployment of the ingest flow, served by `hingeflow serve`.

One deployment per warehouse: its name comes from the warehouse path and it allows
one run at a time (a run due while another is busy waits in the queue), so two
runs never write one warehouse at once. The same deployment, for a work pool and
workers instead of a serving process, is described in `prefect.yaml`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from prefect import serve
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.client.schemas.schedules import CronSchedule, IntervalSchedule
from prefect.deployments.runner import RunnerDeployment
from prefect.flows import EntrypointType

from flows.ingest import ingest

WEEKLY_CRON = "0 2 * * 1"  # Mondays 02:00: the week's uploads are in, nobody waits on the machine


def deployment_name(warehouse: str) -> str:
    """`weekly-<folder>-<hash>`: stable for a warehouse, distinct for two with the same folder name."""
    digest = hashlib.sha256(warehouse.encode()).hexdigest()[:8]
    return f"weekly-{Path(warehouse).name or 'warehouse'}-{digest}"


def weekly_deployment(inbox: str, warehouse: str, cron: str = WEEKLY_CRON, timezone: str = "UTC",
                      every_s: float | None = None) -> RunnerDeployment:
    """The ingest flow for `inbox` -> `warehouse` on a cron schedule in `timezone` (or every
    `every_s` seconds), at most one run at a time, runs due meanwhile enqueued."""
    schedule = (IntervalSchedule(interval=dt.timedelta(seconds=every_s), timezone=timezone) if every_s
                else CronSchedule(cron=cron, timezone=timezone))
    return ingest.to_deployment(
        name=deployment_name(warehouse), schedules=[schedule], parameters={"inbox": inbox, "warehouse": warehouse},
        concurrency_limit=ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE),
        description=f"weekly hingeflow ingest: {inbox} -> {warehouse}", tags=["hingeflow"],
        entrypoint_type=EntrypointType.MODULE_PATH,  # importable from any working directory
    )


def serve_weekly(deployment: RunnerDeployment) -> None:
    """Register the deployment with the Prefect API and run its scheduled runs until stopped."""
    serve(deployment, print_starting_message=True)
