"""Validating a run's tables against their contracts before they are written.

`check` runs one table's Great Expectations suite and splits its rows: rows
that pass go on to the analysts' table, rows that break a row-level rule go to
`quarantined_rows` with the checks they failed, and every check gives one
`quality` row. A table whose columns differ from the contract is unusable: none
of it is written and the run is reported failed (`ContractBroken`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from hingeflow import schemas
from hingeflow.expectations import CheckResult, no_rejected_rows, offending_keys, reference_param, split_rows
from hingeflow.schemas import EXERCISES_PARAM
from hingeflow.settings import Settings
from hingeflow.warehouse import Warehouse, new_run_id


class ContractBroken(RuntimeError):
    """A table of the run was unusable (its columns differ from the contract)."""


@dataclass(frozen=True)
class Checked:
    """A table after validation."""

    table: schemas.Table
    kept: pl.DataFrame  # rows to write
    quarantined: pl.DataFrame  # `quarantined_rows` rows
    quality: pl.DataFrame  # `quality` rows
    unusable: bool

    def failures(self) -> list[str]:
        """One line per failed check: table, check, count and a few offending keys."""
        bad = self.quality.filter(~pl.col("success"))
        return [f"{r['check']} failed on {r['unexpected_count'] if r['unexpected_count'] is not None else '?'} "
                f"of {r['element_count'] if r['element_count'] is not None else '?'} rows"
                + (f" (e.g. {'; '.join(r['offending_keys'][:3])})" if r["offending_keys"] else "")
                + (f": {r['error']}" if r["error"] else "")
                for r in bad.iter_rows(named=True)]


def parameters(settings: Settings, video_ids: list[str]) -> dict[str, list]:
    """The run-time value sets the suites refer to: configured exercises, known video ids."""
    return {EXERCISES_PARAM: list(settings.exercises), reference_param("videos", "video_id"): sorted(video_ids)}


def quality_rows(table: schemas.Table, results: list[CheckResult], run_id: str, now: dt.datetime) -> pl.DataFrame:
    """`quality` rows of one table's check results."""
    rows = [{"run_id": run_id, "validated_at": now, "table": table.name, "check": r.check.name,
             "expectation": r.check.type, "column": r.check.column, "success": r.success, "scope": r.check.scope,
             "element_count": r.element_count, "unexpected_count": r.unexpected_count,
             "offending_keys": offending_keys(r), "error": r.error} for r in results]
    return pl.DataFrame(rows, schema=pl.from_arrow(schemas.QUALITY.schema.empty_table()).schema)


def settle(table: schemas.Table, df: pl.DataFrame, results: list[CheckResult], run_id: str,
           now: dt.datetime) -> Checked:
    """Split `df` by the check results (pure): kept rows, quarantined rows, quality rows."""
    quality = quality_rows(table, results, run_id, now)
    unusable = any(not r.success and r.check.scope == "table" for r in results)
    if unusable:
        kept, rejected = df.clear(), no_rejected_rows()
    else:
        kept, rejected = split_rows(table, df, results)
        unusable = df.height > 0 and kept.height == 0
    quarantined = rejected.select(pl.lit(run_id).alias("run_id"), pl.lit(table.name).alias("table"),
                                  "row_key", "checks", "row_json", pl.lit(now).alias("quarantined_at"))
    return Checked(table, kept, quarantined, quality, unusable)


def check(context, table: schemas.Table, df: pl.DataFrame, parameters: dict[str, list], run_id: str,
          now: dt.datetime) -> Checked:
    """Validate `df` as `table` with the GX `context` (`gx_project.WarehouseContext`) and split it."""
    return settle(table, df, context.validate(table, df, parameters, run_id), run_id, now)


@dataclass(frozen=True)
class WarehouseReport:
    lines: list[str]  # one per table, then one per failed check
    docs: Path  # data docs index page
    failed: bool


def validate_warehouse(warehouse: Warehouse, settings: Settings) -> WarehouseReport:
    """Check every committed table as stored (nothing is moved): `quality` rows under a new
    run id (committed), data docs rebuilt."""
    from hingeflow.gx_project import open_for_warehouse

    context = open_for_warehouse(warehouse.root)
    run_id, now = new_run_id(), dt.datetime.now(dt.UTC)
    videos = warehouse.read(schemas.VIDEOS)
    params = parameters(settings, videos["video_id"].to_list())
    lines, failures, quality = [], [], []
    for name in schemas.VALIDATED:
        table = schemas.TABLES[name]
        df = videos if name == "videos" else warehouse.read(table)
        done = check(context, table, df, params, run_id, now)
        quality.append(done.quality)
        bad = done.failures()
        lines.append(f"{name}: {df.height} rows, {done.quality.height} checks, {len(bad)} failed")
        failures += [f"  {line}" for line in bad]
    warehouse.write_part(schemas.QUALITY, schemas.to_arrow(schemas.QUALITY, pl.concat(quality)), run_id)
    warehouse.commit(run_id, {"run_id": run_id, "kind": "validate", "checks_failed": len(failures)})
    return WarehouseReport(lines + failures, context.build_docs(), bool(failures))
