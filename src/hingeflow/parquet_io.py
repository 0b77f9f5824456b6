"""Atomic file writes: readers never see a half-written file."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

COMPRESSION = "zstd"
ROW_GROUP_ROWS = 65_536  # min/max statistics per row group: small enough to prune, large enough to scan fast


def _write_atomic(path: Path, write: Callable[[Path], None]) -> Path:
    """Run `write` on a hidden temp file in `path`'s folder, fsync it, then rename it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    try:
        write(tmp)
        with tmp.open("rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_parquet_atomic(table: pa.Table, path: Path, sorted_by: Sequence[str] = ()) -> Path:
    """Write a Parquet file atomically, with min/max statistics for every column and row group.

    `sorted_by` names the columns the rows are already ordered by (ascending, nulls
    last); it is recorded as the file's `sorting_columns` metadata.
    """
    sorting = None
    if sorted_by:
        sorting = pq.SortingColumn.from_ordering(table.schema, [(c, "ascending") for c in sorted_by],
                                                 null_placement="at_end")

    def write(tmp: Path) -> None:
        pq.write_table(table, tmp, compression=COMPRESSION, row_group_size=ROW_GROUP_ROWS,
                       write_statistics=True, sorting_columns=sorting)

    return _write_atomic(path, write)


def write_text_atomic(text: str, path: Path) -> Path:
    """Write a small text file (a commit marker) atomically."""
    return _write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
