"""The Parquet warehouse: where tables live, how a run's files become visible.

Layout (hive partitions, one file per partition per run):
    <root>/videos/week=2026-W45/part-<run_id>.parquet
    <root>/frames/week=2026-W45/part-<run_id>.parquet
    <root>/quarantine/part-<run_id>.parquet
    <root>/_runs/<run_id>.json           commit marker, written last
    <root>/_staging/frames/<key>.parquet pose output waiting to be committed

A run's part files count only once its commit marker exists; files of a run
that died before committing are removed by :func:`Warehouse.discard_uncommitted`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow as pa

from hingeflow.parquet_io import write_parquet_atomic
from hingeflow.schemas import Table


def _run_of(part: Path) -> str:
    return part.stem.removeprefix("part-")


def new_run_id() -> str:
    """Sortable unique id: UTC time plus 8 random hex digits."""
    return f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


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
        return self.root / "_staging" / "frames"

    def staged_frames(self, key: str) -> Path:
        return self.staging_dir / f"{key}.parquet"

    def committed_runs(self) -> set[str]:
        if not self.runs_dir.is_dir():
            return set()
        return {p.stem for p in self.runs_dir.glob("*.json")}

    def part_files(self, table: Table) -> list[Path]:
        """Committed part files of a table (for a snapshot table: the newest run's only)."""
        runs = self.committed_runs()
        base = self.table_dir(table)
        if not base.is_dir():
            return []
        files = sorted(p for p in base.rglob("part-*.parquet") if p.stem.removeprefix("part-") in runs)
        if table.snapshot and files:
            newest = max(_run_of(p) for p in files)  # run ids sort by time
            files = [p for p in files if _run_of(p) == newest]
        return files

    def drop_old_snapshots(self, table: Table) -> list[Path]:
        """Delete a snapshot table's files that the newest committed run superseded."""
        keep = set(self.part_files(table))
        base = self.table_dir(table)
        runs = self.committed_runs()
        old = [p for p in base.rglob("part-*.parquet") if p not in keep and _run_of(p) in runs] if base.is_dir() else []
        for p in old:
            p.unlink()
        return old

    def read(self, table: Table, columns: list[str] | None = None) -> pl.DataFrame:
        """All committed rows of a table (partition columns restored), or an empty frame.

        Columns the contract gained after older parts were written read as nulls there
        (additive schema evolution); columns the contract no longer has are ignored.
        """
        files = self.part_files(table)
        empty = pl.from_arrow(table.schema.empty_table())
        if not files:
            return empty.select(columns or table.names)
        stored = {k: v for k, v in empty.schema.items() if k != table.partition_by}
        lf = pl.scan_parquet(files, schema=stored, missing_columns="insert", extra_columns="ignore",
                             hive_partitioning=table.partition_by is not None)
        return lf.select(columns or table.names).collect()

    def write_part(self, table: Table, data: pa.Table, run_id: str) -> list[Path]:
        """Write a run's rows as one file per partition; partition column lives in the path."""
        if data.num_rows == 0:
            return []
        base = self.table_dir(table)
        if table.partition_by is None:
            return [write_parquet_atomic(data, base / f"part-{run_id}.parquet")]
        df = pl.from_arrow(data)
        written = []
        for (value,), part in df.partition_by(table.partition_by, as_dict=True, maintain_order=True).items():
            body = part.drop(table.partition_by).to_arrow().cast(table.without_partition().schema)
            path = base / f"{table.partition_by}={value}" / f"part-{run_id}.parquet"
            written.append(write_parquet_atomic(body, path))
        return written

    def commit(self, run_id: str, summary: dict) -> Path:
        """Make a run's part files visible by writing its marker (atomically)."""
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        path = self.runs_dir / f"{run_id}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(summary, indent=2, default=str))
        os.replace(tmp, path)
        return path

    def discard_uncommitted(self, tables: Iterable[Table]) -> list[Path]:
        """Delete part files left by runs that never committed (crashed runs)."""
        runs = self.committed_runs()
        removed = []
        for table in tables:
            base = self.table_dir(table)
            if not base.is_dir():
                continue
            for p in base.rglob("part-*.parquet"):
                if p.stem.removeprefix("part-") not in runs:
                    p.unlink()
                    removed.append(p)
            for p in base.rglob(".*.tmp"):
                p.unlink()
                removed.append(p)
        return removed
