"""Inbox and warehouse locations: local folders or fsspec URLs (`s3://bucket/gym`, `gs://...`).

The pipeline itself works on local folders. For a URL it works on a local copy:
- a remote **inbox** is mirrored before planning; only new or changed objects
  are downloaded (size + ETag/mtime as last seen, kept in the copy's index file);
- a remote **warehouse** is pulled the same way before a run (never its `_staging/`:
  each machine's own work, and in the bucket pose output on its way to a flow, see
  `hingeflow.pose_staging`), and pushed back after the run
  commits, in an order that keeps the commit protocol for anyone reading the
  bucket: the run's new part files go under `_staging/push/` first, then its
  commit marker, then the part files move into place; files the run removed
  (superseded snapshots) are deleted last. Readers of the bucket therefore never
  see a part file before its run's marker.

Credentials and endpoints come from the usual fsspec/boto settings
(`AWS_ACCESS_KEY_ID`, `AWS_ENDPOINT_URL`, ...). Only one machine should push to a
warehouse at a time: the weekly deployment allows one run per warehouse.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable
from pathlib import Path

INDEX = ".hingeflow-sync.json"  # in a local copy: relative path -> what was last synced
PRIVATE = ("_staging/",)  # never pulled or pushed: each machine's own staging and cache


def is_remote(location: str) -> bool:
    """True for a URL with a scheme other than file:// (a plain path is local)."""
    scheme = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*)://", location)
    return scheme is not None and scheme.group(1).lower() not in ("file", "local")


def url_to_fs(location: str):
    """(fsspec file system, path in it) of a URL (fsspec loads only when a remote location is used)."""
    from fsspec.core import url_to_fs as resolve

    return resolve(location)


def local_copy(location: str, kind: str, work_dir: Path) -> Path:
    """The local folder a location is worked on: the folder itself, or `<work_dir>/<kind>/<hash of URL>`."""
    if not is_remote(location):
        return Path(location.removeprefix("file://"))
    return work_dir / kind / hashlib.sha256(location.encode()).hexdigest()[:16]


def _private(rel: str) -> bool:
    return rel == INDEX or rel.startswith(PRIVATE) or Path(rel).name.startswith(".")


def _listing(fs, root: str) -> dict[str, list]:
    """Remote objects under `root`: relative path -> [size, ETag or mtime]."""
    if not fs.exists(root):
        return {}
    found = fs.find(root, detail=True)
    return {path[len(root):].lstrip("/"): [info["size"], str(info.get("ETag") or info.get("mtime") or "")]
            for path, info in found.items() if info.get("type") != "directory"}


def _read_index(local: Path) -> dict[str, dict]:
    path = local / INDEX
    return json.loads(path.read_text()) if path.is_file() else {}


def _write_index(local: Path, index: dict[str, dict]) -> None:
    local.mkdir(parents=True, exist_ok=True)
    tmp = local / f".{INDEX}.tmp"
    tmp.write_text(json.dumps(index, indent=0, sort_keys=True))
    os.replace(tmp, local / INDEX)


def _local_state(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns]


def pull(location: str, local: Path, skip: Callable[[str], bool] = _private) -> int:
    """Make `local` mirror the remote `location`: download new or changed objects, delete the
    local copies of objects that are gone (only files that came from there). Returns downloads."""
    fs, root = url_to_fs(location)
    remote = {rel: tag for rel, tag in _listing(fs, root).items() if not skip(rel)}
    index = _read_index(local)
    downloaded = 0
    for rel, tag in sorted(remote.items()):
        dst = local / rel
        seen = index.get(rel)
        if seen and seen["remote"] == tag and dst.is_file() and _local_state(dst) == seen["local"]:
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        tmp = dst.with_name(f".{dst.name}.download")
        fs.get_file(f"{root}/{rel}", str(tmp))
        os.replace(tmp, dst)
        index[rel] = {"remote": tag, "local": _local_state(dst)}
        downloaded += 1
    for rel in [r for r in index if r not in remote]:
        (local / rel).unlink(missing_ok=True)
        del index[rel]
    _write_index(local, index)
    return downloaded


def _is_part(rel: str) -> bool:
    return Path(rel).name.startswith("part-") and rel.endswith(".parquet") and not rel.startswith("_")


def _changes(local: Path, index: dict[str, dict]) -> tuple[dict[str, Path], list[str], list[str]]:
    """(the local copy's synced files: relative path -> path, those changed since the last sync,
    those deleted since) of a local copy whose sync index is `index`."""
    files = {p.relative_to(local).as_posix(): p for p in local.rglob("*") if p.is_file()}
    files = {rel: p for rel, p in files.items() if not _private(rel)}
    changed = sorted(rel for rel, p in files.items()
                     if rel not in index or index[rel]["local"] != _local_state(p))
    return files, changed, sorted(rel for rel in index if rel not in files)


def unpushed(local: Path) -> bool:
    """Whether the local copy of a remote warehouse holds changes its last push did not send (a run
    committed here and the machine stopped before pushing). Local work only: no remote call."""
    _, changed, gone = _changes(local, _read_index(local))
    return bool(changed or gone)


def push_warehouse(local: Path, location: str) -> dict[str, int]:
    """Upload what changed in a local warehouse copy since the last sync, in commit-protocol order
    (see the module docstring). Returns how many files were uploaded, published and deleted."""
    fs, root = url_to_fs(location)
    index = _read_index(local)
    files, changed, gone = _changes(local, index)
    parts = [rel for rel in changed if _is_part(rel)]
    markers = [rel for rel in changed if rel.startswith("_runs/")]
    others = [rel for rel in changed if rel not in parts and rel not in markers]
    staging = f"{root}/_staging/push"
    for rel in others:
        fs.put_file(str(files[rel]), f"{root}/{rel}")
    for rel in parts:
        fs.put_file(str(files[rel]), f"{staging}/{rel}")
    for rel in markers:  # from here on the runs count
        fs.put_file(str(files[rel]), f"{root}/{rel}")
    for rel in parts:
        fs.mv(f"{staging}/{rel}", f"{root}/{rel}")
    for rel in gone:
        if fs.exists(f"{root}/{rel}"):
            fs.rm(f"{root}/{rel}")
    if fs.exists(staging):
        fs.rm(staging, recursive=True)
    remote = _listing(fs, root)
    for rel in changed:
        index[rel] = {"remote": remote.get(rel), "local": _local_state(files[rel])}
    for rel in gone:
        del index[rel]
    _write_index(local, index)
    return {"uploaded": len(changed), "published": len(parts), "deleted": len(gone)}
