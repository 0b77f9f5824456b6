"""Planning a run: where to work (local copies of remote locations), which uploads and videos
are new (cheap: no decoding, no heavy imports), and sending a run back to a remote warehouse.

Kept apart from :mod:`hingeflow.pipeline` so that checking an unchanged inbox
costs a file scan and a hash per video, not the import of MediaPipe.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from hingeflow import schemas, storage
from hingeflow.inbox import Candidate, UploadRejection, scan_inbox
from hingeflow.pose_staging import PoseStaging
from hingeflow.settings import Settings
from hingeflow.warehouse import Warehouse, new_run_id

TABLES = tuple(schemas.TABLES.values())


@dataclass(frozen=True)
class RunPlan:
    run_id: str
    new: list[Candidate]
    rejections: list[UploadRejection]
    skipped: int  # candidates already in the warehouse


def plan(inbox: Path, warehouse: Warehouse, settings: Settings, inbox_url: str | None = None) -> RunPlan:
    """Scan the inbox and keep what the warehouse has not seen (by content hash / manifest row).

    `inbox_url`: the remote inbox that `inbox` mirrors; each new candidate then carries its
    object's URL (`Candidate.source`) for workers on machines without the mirror.
    """
    warehouse.recover(TABLES)  # finish a run that died while publishing, drop what dead runs left
    scan = scan_inbox(inbox, settings.exercises)
    known = set(warehouse.read(schemas.VIDEOS, ["video_id"])["video_id"].to_list())
    q = warehouse.read(schemas.QUARANTINE, ["upload", "manifest_row", "reason"])
    recorded = set(zip(q["upload"].to_list(), q["manifest_row"].to_list(), q["reason"].to_list()))
    new = [c for c in scan.candidates if c.video_id not in known]
    if inbox_url is not None:
        root = inbox.resolve()
        new = [replace(c, source=f"{inbox_url.rstrip('/')}/{c.path.relative_to(root).as_posix()}") for c in new]
    rejections = [
        r for r in scan.rejections
        if (r.upload, r.rejection.manifest_row, r.rejection.reason) not in recorded
    ]
    return RunPlan(new_run_id(), new, rejections, len(scan.candidates) - len(new))


def localise(inbox: str, warehouse: str, settings: Settings) -> tuple[Path, Path]:
    """(inbox folder, warehouse folder) to work on: the locations themselves, or local copies of
    remote ones, brought up to date (see :mod:`hingeflow.storage`)."""
    inbox_dir = storage.local_copy(inbox, "inbox", settings.work_dir)
    warehouse_dir = storage.local_copy(warehouse, "warehouse", settings.work_dir)
    if storage.is_remote(inbox):
        storage.pull(inbox, inbox_dir)
    if storage.is_remote(warehouse):
        storage.pull(warehouse, warehouse_dir)
        # a run that committed here and stopped before pushing superseded snapshot files that the
        # pull has just brought back from the bucket: delete them again (its push deletes them there)
        wh = Warehouse(warehouse_dir)
        for table in TABLES:
            if table.snapshot:
                wh.drop_old_snapshots(table)
    return inbox_dir, warehouse_dir


def push(warehouse_dir: Path, warehouse: str) -> dict[str, int]:
    """Send a committed run from the local copy back to a remote warehouse (nothing for a local
    one), then delete the bucket's staged pose output of every video the tables now hold."""
    if not storage.is_remote(warehouse):
        return {}
    sent = storage.push_warehouse(warehouse_dir, warehouse)
    wh = Warehouse(warehouse_dir)
    committed = set(wh.read(schemas.VIDEOS, ["video_id"])["video_id"].to_list())
    return {**sent, "unstaged": PoseStaging.of(wh, warehouse).drop_videos(committed)}
