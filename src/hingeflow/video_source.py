"""A candidate video's bytes on the machine that probes or poses it.

For a local inbox that is `Candidate.path`. For a remote inbox `path` is the flow
machine's mirror and `Candidate.source` the object's URL: a task uses the mirror
when its machine has it (the flow's own machine, or a disk shared with it), and
otherwise downloads the object into a temporary folder for the task's length.
Either way the bytes must still hash to `video_id`, so a task never poses content
other than what the run planned.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from hingeflow import storage
from hingeflow.inbox import Candidate, sha256_file


class SourceChanged(Exception):
    """The inbox object no longer holds the bytes the run planned (replaced after the plan)."""


def _holds(path: Path, candidate: Candidate) -> bool:
    """Whether `path` is a file with the candidate's size and content hash."""
    return (path.is_file() and path.stat().st_size == candidate.size_bytes
            and sha256_file(path) == candidate.video_id)


@contextlib.contextmanager
def video_file(candidate: Candidate) -> Iterator[Path]:
    """A local path holding the candidate's bytes, valid inside the `with` block (see module doc).

    Raises `SourceChanged` when the downloaded object's hash is not `video_id`.
    """
    if candidate.source is None or _holds(candidate.path, candidate):
        yield candidate.path
        return
    fs, remote = storage.url_to_fs(candidate.source)
    with tempfile.TemporaryDirectory(prefix="hingeflow-video-") as tmp:
        local = Path(tmp) / candidate.path.name
        try:
            fs.get_file(remote, str(local))
        except FileNotFoundError:
            raise SourceChanged(f"{candidate.row.video} was removed from the inbox after the run was planned") from None
        if not _holds(local, candidate):
            raise SourceChanged(f"{candidate.row.video} changed in the inbox after the run was planned "
                                f"(its bytes no longer hash to {candidate.video_id[:12]}...)")
        yield local
