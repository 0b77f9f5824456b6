"""Where pose output waits for its run's commit: one Parquet file of `frames` rows per
staging key (`pipeline.staging_key`).

- A **local warehouse**: `<warehouse>/_staging/frames/<key>.parquet`. Pose tasks write
  there; their machines share the flow's disk (threads, process pool, LocalCluster).
- A **remote warehouse**: pose tasks write `<warehouse URL>/_staging/pose/<key>.parquet`,
  which a worker on any machine can reach, and the flow fetches each file into its
  local `_staging/frames/` before validating (`fetch`). The bucket's copy stays until
  the run's push has sent the committed rows (`drop_videos`, also for what a run
  killed before its push left), so another machine's run that asks for the same key
  meanwhile reuses it instead of decoding again.

`storage.pull` never copies `_staging/`, so neither folder is mirrored.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from hingeflow import storage
from hingeflow.warehouse import Warehouse

REMOTE_FOLDER = "_staging/pose"


@dataclass(frozen=True)
class PoseStaging:
    """Pose output's staging place: `local` folder of the flow machine, and `remote` (a URL
    prefix) when workers must write to the warehouse's bucket instead."""

    local: Path
    remote: str | None = None

    @classmethod
    def of(cls, wh: Warehouse, warehouse: str) -> PoseStaging:
        """The staging of a warehouse location (folder or URL) whose working copy is `wh`."""
        remote = f"{warehouse.rstrip('/')}/{REMOTE_FOLDER}" if storage.is_remote(warehouse) else None
        return cls(wh.staging_dir, remote)

    def local_file(self, key: str) -> Path:
        return self.local / f"{key}.parquet"

    def _remote_file(self, key: str) -> tuple[object, str]:
        fs, root = storage.url_to_fs(self.remote)
        return fs, f"{root}/{key}.parquet"

    def exists(self, key: str) -> bool:
        """Whether pose output under `key` is staged (by any run, on any machine)."""
        if self.remote is None:
            return self.local_file(key).exists()
        fs, path = self._remote_file(key)
        return fs.exists(path)

    def count(self, keys: list[str]) -> int:
        """How many of `keys` are staged (one listing for a remote staging)."""
        if self.remote is None:
            return sum(self.local_file(k).exists() for k in keys)
        names = set(self._remote_listing())
        return sum(f"{k}.parquet" in names for k in keys)

    def _remote_listing(self) -> dict[str, str]:
        """File name -> path of everything in the remote staging (one listing; {} before the first file)."""
        fs, root = storage.url_to_fs(self.remote)
        try:
            found = fs.ls(root, detail=False, refresh=True)
        except FileNotFoundError:
            return {}
        return {p.rsplit("/", 1)[-1]: p for p in found}

    def read(self, key: str, columns: list[str]) -> pl.DataFrame:
        """`columns` of the staged file (read where the pose task wrote it)."""
        if self.remote is None:
            return pl.read_parquet(self.local_file(key), columns=columns)
        fs, path = self._remote_file(key)
        with fs.open(path, "rb") as f:
            return pl.read_parquet(f, columns=columns)

    @contextlib.contextmanager
    def writing(self, key: str) -> Iterator[Path]:
        """A local path for the pose output of `key`; on leaving the block without an error the
        file is staged (for a remote staging: uploaded, and the local file deleted)."""
        if self.remote is None:
            yield self.local_file(key)
            return
        with tempfile.TemporaryDirectory(prefix="hingeflow-pose-") as tmp:
            out = Path(tmp) / f"{key}.parquet"
            yield out
            fs, path = self._remote_file(key)
            fs.put_file(str(out), path)

    def fetch(self, key: str) -> Path:
        """The staged file on the flow's machine (downloaded once from a remote staging)."""
        local = self.local_file(key)
        if self.remote is None or local.exists():
            return local
        fs, path = self._remote_file(key)
        local.parent.mkdir(parents=True, exist_ok=True)
        tmp = local.with_name(f".{local.name}.download")
        fs.get_file(path, str(tmp))
        os.replace(tmp, local)
        return local

    def drop_videos(self, video_ids: set[str]) -> int:
        """Delete every staged output of these videos (any options), here and in the bucket: those
        that runs left for videos the tables hold now. Returns how many files went."""
        def theirs(name: str) -> bool:
            return name.endswith(".parquet") and name.split("-", 1)[0] in video_ids

        gone = 0
        for path in (self.local.glob("*.parquet") if self.local.is_dir() else []):
            if theirs(path.name):
                path.unlink(missing_ok=True)
                gone += 1
        if self.remote is not None:
            doomed = [path for name, path in self._remote_listing().items() if theirs(name)]
            if doomed:
                fs, _ = storage.url_to_fs(self.remote)
                fs.rm(doomed)
            gone += len(doomed)
        return gone

    def drop(self, key: str) -> None:
        """Delete the staged output of `key`, here and in the bucket."""
        self.local_file(key).unlink(missing_ok=True)
        if self.remote is not None:
            fs, path = self._remote_file(key)
            if fs.exists(path):
                fs.rm(path)
