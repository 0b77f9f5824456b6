"""Find upload folders in an inbox, check their manifests and files, hash videos."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from hingeflow.manifest import ManifestRow, Rejection, parse_manifest

MANIFEST_NAME = "manifest.csv"
HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class Candidate:
    """A manifest row whose file exists inside its upload folder."""

    upload: str
    manifest_row: int
    row: ManifestRow
    path: Path
    video_id: str
    size_bytes: int
    source: str | None = None  # URL of the file in a remote inbox; `path` is then the flow machine's copy


@dataclass(frozen=True)
class UploadRejection:
    upload: str
    rejection: Rejection
    video_id: str | None = None


@dataclass(frozen=True)
class InboxScan:
    candidates: list[Candidate]
    rejections: list[UploadRejection]


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(HASH_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def upload_folders(inbox: Path) -> list[Path]:
    """Upload folders: direct children of the inbox holding a manifest.csv, sorted by name."""
    if not inbox.is_dir():
        raise FileNotFoundError(f"inbox {inbox} is not a folder")
    return sorted(p for p in inbox.iterdir() if p.is_dir() and (p / MANIFEST_NAME).is_file())


def resolve_video(upload_dir: Path, relative: str) -> Path:
    """Absolute path of a manifest's video; raise ValueError with a reason if unusable.

    Symlinks are followed, and the target must still lie inside the upload folder.
    """
    root = upload_dir.resolve()
    path = (upload_dir / relative).resolve()
    if not path.is_relative_to(root):
        raise ValueError(f"video path {relative!r} resolves outside the upload folder (symlink?)")
    if not path.exists():
        raise ValueError(f"video file {relative!r} does not exist")
    if not path.is_file():
        raise ValueError(f"video path {relative!r} is not a regular file")
    if path.stat().st_size == 0:
        raise ValueError(f"video file {relative!r} is empty (0 bytes)")
    return path


def scan_upload(upload_dir: Path, exercises: tuple[str, ...]) -> InboxScan:
    """Check one upload folder; every row ends up a candidate or a rejection."""
    name = upload_dir.name
    parsed = parse_manifest((upload_dir / MANIFEST_NAME).read_bytes(), exercises)
    rejections = [UploadRejection(name, r) for r in parsed.rejections]
    candidates: list[Candidate] = []
    seen: dict[str, int] = {}
    for i, row in parsed.rows:
        try:
            path = resolve_video(upload_dir, row.video)
            video_id = sha256_file(path)
        except (ValueError, OSError) as exc:
            rejections.append(UploadRejection(name, Rejection(i, row.video, str(exc))))
            continue
        if video_id in seen:
            reason = f"same file content as manifest row {seen[video_id]} (duplicate upload)"
            rejections.append(UploadRejection(name, Rejection(i, row.video, reason), video_id))
            continue
        seen[video_id] = i
        candidates.append(Candidate(name, i, row, path, video_id, path.stat().st_size))
    return InboxScan(candidates, rejections)


def scan_inbox(inbox: Path, exercises: tuple[str, ...]) -> InboxScan:
    """Check every upload folder of an inbox. Duplicate content across uploads keeps the first."""
    candidates: list[Candidate] = []
    rejections: list[UploadRejection] = []
    first: dict[str, Candidate] = {}
    for folder in upload_folders(inbox):
        scan = scan_upload(folder, exercises)
        rejections += scan.rejections
        for c in scan.candidates:
            if c.video_id in first:
                f = first[c.video_id]
                reason = f"same file content as {f.upload}/{f.row.video} (duplicate upload)"
                rejections.append(UploadRejection(c.upload, Rejection(c.manifest_row, c.row.video, reason), c.video_id))
                continue
            first[c.video_id] = c
            candidates.append(c)
    return InboxScan(candidates, rejections)
