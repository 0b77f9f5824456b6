"""The Parquet warehouse: where tables live, how a run's files become visible.

Layout (hive partitions, one file per partition per run, rows sorted by the
table's `sort_by`):
    <root>/videos/week=2026-W45/part-<run_id>.parquet
    <root>/frames/week=2026-W45/part-<run_id>.parquet
    <root>/quarantine/part-<run_id>.parquet
    <root>/sets/part-<run_id>.parquet          snapshot: the newest run's file only
    <root>/_runs/<run_id>.json                 commit marker: the run's files and the files it replaces
    <root>/_staging/runs/<run_id>/<table>/...  a run's files before they are published
    <root>/_staging/frames/<key>.parquet       pose output waiting to be committed

A run commits in three steps, so that a raw glob over `<root>/<table>/**` never
sees a file of an uncommitted run:
1. stage: :meth:`Warehouse.write_part` writes each file under `_staging/runs/<run_id>/`;
2. mark: :meth:`Warehouse.write_marker` writes `_runs/<run_id>.json` (atomically) listing
   the staged files and the snapshot files they supersede; from here on the run counts;
3. publish: :meth:`Warehouse.publish` moves the staged files into place (`os.replace`),
   deletes the superseded files and the run's staging folder.
:meth:`Warehouse.recover` (called when a run starts) finishes step 3 for a run
that died after step 2 and deletes what a run left before step 2.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import pyarrow as pa

from hingeflow.parquet_io import write_parquet_atomic, write_text_atomic
from hingeflow.schemas import Table

PART_GLOB = "part-*.parquet"


def _run_of(part: Path) -> str:
    return part.stem.removeprefix("part-")


def new_run_id() -> str:
    """Sortable unique id: UTC time plus 8 random hex digits."""
    return f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


def _read_parts(table: Table, files: list[Path], columns: list[str] | None) -> pl.DataFrame:
    """Rows of `table` from its part `files` (partition column restored from the paths), in
    contract types; columns missing from older files read as nulls."""
    empty = pl.from_arrow(table.schema.empty_table())
    if not files:
        return empty.select(columns or table.names)
    stored = {k: v for k, v in empty.schema.items() if k != table.partition_by}
    lf = pl.scan_parquet(files, schema=stored, missing_columns="insert", extra_columns="ignore",
                         hive_partitioning=table.partition_by is not None)
    return lf.select(columns or table.names).collect()


@dataclass(frozen=True)
class Recovery:
    """What :meth:`Warehouse.recover` did: runs it published, files of dead runs it deleted."""

    published: list[str] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class Warehouse:
    root: Path

    def table_dir(self, table: Table) -> Path:
        return self.root / table.name

    @property
    def runs_dir(self) -> Path:
        return self.root / "_runs"

    @property
    def staging_dir(self) -> Path:
        """Pose outputs waiting to be committed (a cache keyed by content hash + options)."""
        return self.root / "_staging" / "frames"

    @property
    def run_staging_dir(self) -> Path:
        """Parent of each run's staged part files."""
        return self.root / "_staging" / "runs"

    def marker(self, run_id: str) -> Path:
        return self.runs_dir / f"{run_id}.json"

    def committed_runs(self) -> set[str]:
        if not self.runs_dir.is_dir():
            return set()
        return {p.stem for p in self.runs_dir.glob("*.json")}

    def _staged_runs(self) -> list[str]:
        base = self.run_staging_dir
        return sorted(p.name for p in base.iterdir() if p.is_dir()) if base.is_dir() else []

    def _published(self, table: Table) -> list[Path]:
        base = self.table_dir(table)
        return sorted(base.rglob(PART_GLOB)) if base.is_dir() else []

    def part_files(self, table: Table) -> list[Path]:
        """Committed part files of a table (for a snapshot table: the newest run's only).

        Includes the staged files of a run that committed but has not been published yet
        (it died between marking and publishing), so reads always see whole runs.
        """
        runs = self.committed_runs()
        pending = runs.intersection(self._staged_runs())
        hidden = {rel for run in pending for rel in json.loads(self.marker(run).read_text()).get("replaces", [])}
        found = {p.relative_to(self.root): p for p in self._published(table)
                 if _run_of(p) in runs and p.relative_to(self.root).as_posix() not in hidden}
        for run in sorted(pending):
            stage = self.run_staging_dir / run
            for p in sorted((stage / table.name).rglob(PART_GLOB)):
                found.setdefault(p.relative_to(stage), p)
        files = [found[k] for k in sorted(found)]
        if table.snapshot and files:
            newest = max(_run_of(p) for p in files)  # run ids sort by time
            files = [p for p in files if _run_of(p) == newest]
        return files

    def drop_old_snapshots(self, table: Table) -> list[Path]:
        """Delete a snapshot table's published files that the newest committed run superseded."""
        keep = set(self.part_files(table))
        runs = self.committed_runs()
        old = [p for p in self._published(table) if p not in keep and _run_of(p) in runs]
        for p in old:
            p.unlink()
        return old

    def read(self, table: Table, columns: list[str] | None = None) -> pl.DataFrame:
        """All committed rows of a table (partition columns restored), or an empty frame.

        Columns the contract gained after older parts were written read as nulls there
        (additive schema evolution); columns the contract no longer has are ignored.
        """
        return _read_parts(table, self.part_files(table), columns)

    def read_staged(self, table: Table, run_id: str, columns: list[str] | None = None) -> pl.DataFrame:
        """The rows a run has staged for `table` so far (not visible to readers until it commits)."""
        stage = self.run_staging_dir / run_id / table.name
        return _read_parts(table, sorted(stage.rglob(PART_GLOB)) if stage.is_dir() else [], columns)

    def unstage(self, run_id: str, tables: Iterable[Table]) -> list[Path]:
        """Delete what a run staged for `tables` (a run that will commit only its validation results)."""
        stage = self.run_staging_dir / run_id
        removed = [p for t in tables if (stage / t.name).is_dir() for p in (stage / t.name).rglob(PART_GLOB)]
        for p in removed:
            p.unlink()
        return removed

    def write_part(self, table: Table, data: pa.Table, run_id: str) -> list[Path]:
        """Stage a run's rows as one sorted file per partition; the partition column lives in the path.

        Returns where the files will be once the run is published. An empty snapshot is
        still written (it replaces the previous one); other empty tables write nothing.
        """
        if data.num_rows == 0 and not table.snapshot:
            return []
        if table.order:
            data = data.sort_by([(c, "ascending", "at_end") for c in table.order])
        self.table_dir(table).mkdir(parents=True, exist_ok=True)  # raw globs find the folder from the start
        stage = self.run_staging_dir / run_id
        written = []
        for rel, body in self._partitions(table, data, run_id):
            write_parquet_atomic(body, stage / rel, table.order)
            written.append(self.root / rel)
        return written

    @staticmethod
    def _partitions(table: Table, data: pa.Table, run_id: str) -> list[tuple[Path, pa.Table]]:
        """(path relative to the root, rows without the partition column) per partition, order kept."""
        name = f"part-{run_id}.parquet"
        if table.partition_by is None:
            return [(Path(table.name) / name, data)]
        schema = table.without_partition().schema
        parts = pl.from_arrow(data).partition_by(table.partition_by, as_dict=True, maintain_order=True)
        return [(Path(table.name) / f"{table.partition_by}={value}" / name,
                 part.drop(table.partition_by).to_arrow().cast(schema))
                for (value,), part in parts.items()]

    def write_marker(self, run_id: str, summary: dict, replaces: Iterable[Table] = (),
                     replace_files: Iterable[str] = ()) -> Path:
        """Commit a run: record its staged files and the files they supersede (every published
        file of the snapshot tables `replaces`, plus `replace_files`, paths relative to the root)."""
        stage = self.run_staging_dir / run_id
        files = sorted(p.relative_to(stage).as_posix() for p in stage.rglob(PART_GLOB)) if stage.is_dir() else []
        old = sorted({p.relative_to(self.root).as_posix() for t in replaces for p in self._published(t)}
                     | set(replace_files))
        body = {"run_id": run_id, "files": files, "replaces": old, "summary": summary}
        return write_text_atomic(json.dumps(body, indent=2, default=str), self.marker(run_id))

    def publish(self, run_id: str) -> list[Path]:
        """Move a committed run's staged files into place, then delete what they supersede.

        Safe to repeat after a crash at any point: files already moved are skipped.
        """
        body = json.loads(self.marker(run_id).read_text())
        stage = self.run_staging_dir / run_id
        moved = []
        for rel in body.get("files", []):
            src, dst = stage / rel, self.root / rel
            if src.exists():
                dst.parent.mkdir(parents=True, exist_ok=True)
                os.replace(src, dst)
                moved.append(dst)
        for rel in body.get("replaces", []):
            (self.root / rel).unlink(missing_ok=True)
        shutil.rmtree(stage, ignore_errors=True)
        return moved

    def commit(self, run_id: str, summary: dict, replaces: Iterable[Table] = (),
               replace_files: Iterable[str] = ()) -> Path:
        """Make a run's staged files visible: write its marker, then publish them.

        Safe to retry: once the marker exists, a repeated commit only finishes publishing.
        """
        path = self.marker(run_id)
        if not path.exists():
            self.write_marker(run_id, summary, replaces, replace_files)
        self.publish(run_id)
        return path

    def discard_uncommitted(self, tables: Iterable[Table]) -> list[Path]:
        """Delete files left by runs that never committed (crashed runs) and stray temp files."""
        runs = self.committed_runs()
        removed = []
        for run in self._staged_runs():
            if run not in runs:
                stage = self.run_staging_dir / run
                removed += [p for p in stage.rglob("*") if p.is_file()]
                shutil.rmtree(stage)
        for table in tables:  # parts written in place by runs of older versions, temp files
            base = self.table_dir(table)
            stray = [p for p in base.rglob(PART_GLOB) if _run_of(p) not in runs] if base.is_dir() else []
            stray += list(base.rglob(".*.tmp")) if base.is_dir() else []
            for p in stray:
                p.unlink()
            removed += stray
        if self.runs_dir.is_dir():
            for p in self.runs_dir.glob(".*.tmp"):
                p.unlink()
                removed.append(p)
        return removed

    def recover(self, tables: Iterable[Table]) -> Recovery:
        """Finish publishing runs that committed before dying; discard what uncommitted runs left."""
        runs = self.committed_runs()
        published = [run for run in self._staged_runs() if run in runs]
        for run in published:
            self.publish(run)
        return Recovery(published, self.discard_uncommitted(tables))
