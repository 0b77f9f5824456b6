"""One run per warehouse: an exclusive lock on `<warehouse>/.lock` for the length of a run.

`fcntl.flock` locks belong to the open file, so the kernel drops them when the
holder dies, even by kill -9: a crashed run never leaves a stale lock. The
holder writes who it is into the file, so a refused run can say who is busy.
The lock is re-entrant within a process: the CLI takes it before its first look
at the warehouse and the flow it then runs takes it again, so no other run can
slip in between.
For a remote warehouse the lock is on this machine's local copy; runs from other
machines are kept apart by the deployment's one-run limit.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

LOCK_NAME = ".lock"
_HELD: dict[Path, int] = {}  # warehouses this process holds -> how many times
_HELD_GUARD = threading.Lock()


class WarehouseBusy(RuntimeError):
    """Another run holds the warehouse."""


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return "another run"
    return f"run by pid {info.get('pid')} on {info.get('host')} since {info.get('since')}" if info else "another run"


@contextlib.contextmanager
def warehouse_lock(root: Path, wait_s: float = 0.0, poll_s: float = 0.2) -> Iterator[Path]:
    """Hold the warehouse's lock; wait up to `wait_s` seconds for it, then raise `WarehouseBusy`."""
    root.mkdir(parents=True, exist_ok=True)
    key = root.resolve()
    with _HELD_GUARD:
        again = _HELD.get(key, 0) > 0
        if again:
            _HELD[key] += 1
    if again:  # this process holds it already
        try:
            yield root / LOCK_NAME
        finally:
            with _HELD_GUARD:
                _HELD[key] -= 1
        return
    path = root / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + wait_s
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise WarehouseBusy(f"warehouse {root} is busy ({_holder(path)}); try again when it "
                                        "has finished") from None
                time.sleep(poll_s)
        info = {"pid": os.getpid(), "host": socket.gethostname(), "since": dt.datetime.now(dt.UTC).isoformat()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        with _HELD_GUARD:
            _HELD[key] = 1
        try:
            yield path
        finally:
            with _HELD_GUARD:
                del _HELD[key]
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
