"""The CLI's pose progress bar: counts staged pose files, never goes back."""

from __future__ import annotations

import io
import time

from rich.console import Console

from hingeflow.pose_staging import PoseStaging
from hingeflow.progress import PoseProgress


def _wait_for(check, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_bar_counts_staged_pose_files_and_keeps_the_highest_count(tmp_path):
    staging = PoseStaging(tmp_path)
    keys = [f"v{i}" for i in range(3)]
    files = [staging.local_file(k) for k in keys]
    with PoseProgress(Console(file=io.StringIO()), 3, lambda: staging.count(keys), poll_s=0.01) as progress:
        task = progress.bar.tasks[0]
        assert task.total == 3 and task.completed == 0
        files[0].touch()
        files[1].touch()
        assert _wait_for(lambda: task.completed == 2)
        files[0].unlink()  # a commit removes staged files again
        time.sleep(0.1)
        assert task.completed == 2
        files[2].touch()
        files[0].touch()
        assert _wait_for(lambda: task.completed == 3)
        assert _wait_for(lambda: task.description.startswith("analyse"))
