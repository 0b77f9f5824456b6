"""Run untrusted-media work in a child process with a wall-clock and memory limit.

A Prefect task timeout cannot stop a decoder stuck inside C code in a thread,
so every decode of user media happens in a forked child that the parent kills
when its time is up. Children come from a fork server that has already
imported the heavy modules (PyAV, MediaPipe), so a child starts in milliseconds.
"""

from __future__ import annotations

import multiprocessing as mp
import multiprocessing.connection
import os
import resource
import tempfile
import traceback
from collections.abc import Callable
from typing import Any

_PRELOAD = ["hingeflow.probe", "hingeflow.pose"]
_CTX = None


class MediaProblem(ValueError):
    """What is wrong with a user's file, in words meant for them (reported without the type name)."""


class IsolatedError(RuntimeError):
    """The child failed: it raised, crashed, ran out of memory or out of time (`timed_out`)."""

    def __init__(self, message: str, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


def _context() -> mp.context.BaseContext:
    global _CTX
    if _CTX is None:
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(_PRELOAD)
        _CTX = ctx
    return _CTX


STDERR_TAIL_CHARS = 600


def _child(conn: multiprocessing.connection.Connection, fn: Callable[..., Any], args: tuple, memory_mb: int,
           stderr_path: str) -> None:
    # native libraries (MediaPipe, FFmpeg) log to fd 2; keep it for the parent's error report
    fd = os.open(stderr_path, os.O_WRONLY | os.O_APPEND)
    os.dup2(fd, 2)
    os.close(fd)
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        conn.send(("ok", fn(*args)))
    except MemoryError:
        conn.send(("error", f"ran out of memory (limit {memory_mb} MB)"))
    except MediaProblem as exc:
        conn.send(("error", str(exc)))
    except Exception as exc:  # report any failure of untrusted input to the parent, with its type
        conn.send(("error", f"{type(exc).__name__}: {exc}", traceback.format_exc(limit=3)))
    finally:
        conn.close()


def run_isolated(fn: Callable[..., Any], args: tuple, timeout_s: float, memory_mb: int = 4096) -> Any:
    """Call `fn(*args)` in a child process; return its result or raise IsolatedError.

    `fn` must be a module-level function and its result picklable.
    """
    ctx = _context()
    parent, child = ctx.Pipe(duplex=False)
    stderr_fd, stderr_path = tempfile.mkstemp(prefix="hingeflow-child-", suffix=".log")
    os.close(stderr_fd)
    proc = ctx.Process(target=_child, args=(child, fn, args, memory_mb, stderr_path), daemon=True)
    try:
        proc.start()
        child.close()
        try:
            if not parent.poll(timeout_s):
                raise IsolatedError(f"timed out after {timeout_s:g} s", timed_out=True)
            try:
                message = parent.recv()
            except EOFError:
                proc.join(5)
                raise IsolatedError(f"worker process died (exit code {proc.exitcode}){_tail(stderr_path)}") from None
        finally:
            if proc.is_alive():
                proc.kill()
            proc.join(5)
            parent.close()
    finally:
        tail = _tail(stderr_path)
        os.unlink(stderr_path)
    if message[0] == "ok":
        return message[1]
    raise IsolatedError(message[1] + tail)


def _tail(path: str) -> str:
    """Last native log lines of a child, without MediaPipe's start-up chatter."""
    try:
        with open(path, errors="replace") as f:
            lines = [ln for ln in f.read().splitlines() if ln.strip() and "inference_feedback_manager" not in ln
                     and not ln.startswith(("INFO: Created TensorFlow", "WARNING: All log messages"))]
    except OSError:
        return ""
    text = " | ".join(lines)[-STDERR_TAIL_CHARS:]
    return f" [native log: {text}]" if text else ""
