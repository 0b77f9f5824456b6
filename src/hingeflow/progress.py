"""A progress bar for `hingeflow run`, read from the warehouse rather than from the runner.

Each video's pose output appears as one staged file (written atomically, see
`hingeflow.pose_staging`), so counting those files shows progress whatever runs
the tasks: threads, processes, or Dask workers on other machines.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn


class PoseProgress:
    """Context manager: a bar of `total` videos posed (`staged()` counts their staged pose
    files), then a spinner for the later stages, until the block ends."""

    def __init__(self, console: Console, total: int, staged: Callable[[], int], poll_s: float = 0.5):
        self.total, self.staged, self.poll_s = total, staged, poll_s
        self.bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), console=console, transient=True)
        self.task = self.bar.add_task("pose", total=total)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        done = 0  # highest count seen: staged files are removed again when the run commits
        while not self._stop.wait(self.poll_s):
            try:
                done = max(done, self.staged())
            except OSError:  # a bucket that did not answer this time: the bar waits for the next poll
                continue
            self.bar.update(self.task, completed=done)
            if done == self.total:
                self.bar.update(self.task, description="analyse, validate, commit, report")

    def __enter__(self) -> PoseProgress:
        self.bar.start()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.bar.stop()
