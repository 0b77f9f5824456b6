"""Erasure: remove one athlete from everything a warehouse holds.

What goes:
- every table row of the athlete: rows whose `athlete_id` is theirs, rows whose
  `video_id` is one of their videos, and rows of the log tables (quality,
  quarantined rows, quarantine) whose text names the athlete or one of those videos;
- their coach report page (the index and the others are re-rendered);
- their pose outputs waiting in `_staging/frames/`;
- Great Expectations results and data docs that mention them (rebuilt afterwards).

Table files change through the commit protocol: the athlete-free rows of each
touched partition are written as a new run's part, and the run's marker lists
the old files as replaced, so readers see either the old files or the new ones,
never both and never a half-written file. Nothing about the athlete is written:
not into the marker, not into a log. The caller holds the warehouse lock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from hingeflow import schemas
from hingeflow.parquet_io import write_parquet_atomic
from hingeflow.warehouse import Warehouse, new_run_id

ID_CHARS = "A-Za-z0-9_-"  # what an athlete id may contain (manifest rule)


@dataclass(frozen=True)
class Erased:
    """What `forget` removed (counts and paths only: no names)."""

    videos: int
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows removed
    files: list[Path] = field(default_factory=list)  # reports, staged pose outputs, GX results


def mentions(athlete_id: str, video_ids: list[str]) -> re.Pattern[str]:
    """The athlete id as a whole token (so `ath-1` does not match `ath-10`), or any of the video ids."""
    alternatives = [re.escape(athlete_id), *map(re.escape, video_ids)]
    return re.compile(f"(?:^|[^{ID_CHARS}])(?:{'|'.join(alternatives)})(?:$|[^{ID_CHARS}])")


def theirs(df: pl.DataFrame, athlete_id: str, video_ids: list[str], pattern: re.Pattern[str]) -> pl.Series:
    """Per row: does it belong to or mention the athlete (bool)?"""
    checks = []
    if "athlete_id" in df.columns:
        checks.append(pl.col("athlete_id") == athlete_id)
    if "video_id" in df.columns:
        checks.append(pl.col("video_id").is_in(video_ids))
    text = [c for c, t in df.schema.items() if t == pl.String and c not in ("athlete_id", "video_id")]
    checks += [pl.col(c).str.contains(pattern.pattern) for c in text]
    if not checks:
        return pl.Series([False] * df.height)
    return df.select(pl.any_horizontal(checks).fill_null(False)).to_series()


def _rewrite_tables(wh: Warehouse, athlete_id: str, video_ids: list[str], pattern: re.Pattern[str],
                    run_id: str) -> tuple[dict[str, int], list[str]]:
    """Stage the athlete-free rows of every touched partition; (rows removed per table, files replaced)."""
    removed: dict[str, int] = {}
    replaced: list[str] = []
    stage = wh.run_staging_dir / run_id
    for table in schemas.TABLES.values():
        by_folder: dict[Path, list[Path]] = {}
        for part in wh.part_files(table):
            by_folder.setdefault(part.parent, []).append(part)
        for folder, parts in by_folder.items():
            frames = [pl.read_parquet(p) for p in parts]
            drop = [theirs(df, athlete_id, video_ids, pattern) for df in frames]
            if not any(d.any() for d in drop):
                continue
            kept = pl.concat([df.filter(~d) for df, d in zip(frames, drop)], how="diagonal_relaxed")
            removed[table.name] = sum(int(d.sum()) for d in drop)
            rel_folder = Path(table.name) / folder.name if folder != wh.table_dir(table) else Path(table.name)
            if kept.height or table.snapshot:
                write_parquet_atomic(kept.to_arrow(), stage / rel_folder / f"part-{run_id}.parquet", table.order)
            replaced += [p.relative_to(wh.root).as_posix() for p in parts]
    return removed, replaced


def _other_files(wh: Warehouse, athlete_id: str, video_ids: list[str], pattern: re.Pattern[str],
                 page: str) -> list[Path]:
    """Delete the athlete's report, staged pose outputs, and GX results / docs that mention them."""
    gone = [wh.root / "reports" / page] if (wh.root / "reports" / page).is_file() else []
    gone += [p for v in video_ids for p in wh.staging_dir.glob(f"{v}-*.parquet")] if wh.staging_dir.is_dir() else []
    for folder in (wh.root / "_gx", wh.root / "data_docs"):
        for p in (folder.rglob("*") if folder.is_dir() else []):
            if p.is_file() and pattern.search(p.read_bytes().decode("utf-8", "replace")):
                gone.append(p)
    for p in gone:
        p.unlink(missing_ok=True)
    return gone


def forget(wh: Warehouse, athlete_id: str) -> Erased:
    """Remove `athlete_id` from the warehouse (see the module docstring); ValueError if unknown."""
    from hingeflow.report.render import page_name, render_reports

    wh.recover(tuple(schemas.TABLES.values()))
    videos = wh.read(schemas.VIDEOS, ["video_id", "athlete_id"])
    video_ids = sorted(set(videos.filter(pl.col("athlete_id") == athlete_id)["video_id"].to_list()))
    reps = wh.read(schemas.REPS, ["athlete_id"])
    if not video_ids and athlete_id not in set(reps["athlete_id"].to_list()):
        raise ValueError(f"athlete {athlete_id!r} is not in the warehouse")
    pattern = mentions(athlete_id, video_ids)
    run_id = new_run_id()
    removed, replaced = _rewrite_tables(wh, athlete_id, video_ids, pattern, run_id)
    wh.commit(run_id, {"run_id": run_id, "erasure": True, "rows_removed": sum(removed.values())},
              replace_files=replaced)
    files = _other_files(wh, athlete_id, video_ids, pattern, page_name(athlete_id))
    if wh.read(schemas.REPS, ["athlete_id"]).height:
        render_reports(wh)  # the index and the other athletes' pages, without them
    else:
        (wh.root / "reports" / "index.html").unlink(missing_ok=True)
    if (wh.root / "_gx").is_dir():
        from hingeflow.gx_project import open_for_warehouse

        open_for_warehouse(wh.root).build_docs()
    return Erased(len(video_ids), removed, files)
