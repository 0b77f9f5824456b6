"""One run per warehouse: the lock, with real parallel processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from hingeflow import schemas
from hingeflow.locking import LOCK_NAME, WarehouseBusy, warehouse_lock
from hingeflow.warehouse import Warehouse

HINGEFLOW = str(Path(sys.executable).with_name("hingeflow"))


def _holder(root: Path, seconds: float) -> subprocess.Popen:
    """A process that takes the lock, says so, and keeps it for `seconds`."""
    code = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from hingeflow.locking import warehouse_lock
        with warehouse_lock(Path({str(root)!r})):
            print("held", flush=True)
            time.sleep({seconds})
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_holder_is_refused_with_who_holds_it(tmp_path):
    proc = _holder(tmp_path, 30)
    try:
        with pytest.raises(WarehouseBusy, match=f"busy \\(run by pid {proc.pid} on "):
            with warehouse_lock(tmp_path):
                pass
    finally:
        proc.kill()
        proc.wait()


def test_a_waiting_run_gets_the_lock_when_the_holder_finishes(tmp_path):
    proc = _holder(tmp_path, 1.0)
    start = time.monotonic()
    with warehouse_lock(tmp_path, wait_s=30):
        waited = time.monotonic() - start
    proc.wait()
    assert 0.3 < waited < 30


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    proc = _holder(tmp_path, 60)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with warehouse_lock(tmp_path):  # the kernel released it with the process
        assert (tmp_path / LOCK_NAME).read_text().startswith('{"pid": ' + str(os.getpid()))


@pytest.mark.slow
def test_two_runs_at_once_one_refuses_and_the_tables_stay_whole(tmp_path):
    from hingeflow.synth.gym import make_gym

    make_gym(tmp_path / "gym", athletes=1, weeks=1, seed=41)
    inbox, wh = tmp_path / "gym" / "inbox", tmp_path / "wh"
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "prefect")}
    cmd = [HINGEFLOW, "run", "--inbox", str(inbox), "--warehouse", str(wh)]
    first = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not ((wh / LOCK_NAME).is_file() and (wh / LOCK_NAME).read_text()):  # the first run holds it
        assert first.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    second = subprocess.run(cmd, env=env, capture_output=True, text=True)
    out, err = first.communicate(timeout=600)
    assert first.returncode == 0, err[-2000:]
    said = " ".join(second.stdout.split())  # rich wraps long lines
    assert second.returncode == 3 and "is busy (run by pid" in said, second.stdout + second.stderr[-2000:]
    videos = Warehouse(wh).read(schemas.VIDEOS)
    assert videos.height == 4 and videos["video_id"].n_unique() == 4
    assert len(Warehouse(wh).committed_runs()) == 1
    third = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert third.returncode == 0 and "nothing new: 4 video(s)" in third.stdout


def test_the_lock_is_reentrant_within_a_process(tmp_path):
    with warehouse_lock(tmp_path):
        with warehouse_lock(tmp_path):  # the flow inside the CLI's hold
            pass
        proc = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
            from pathlib import Path
            from hingeflow.locking import WarehouseBusy, warehouse_lock
            try:
                with warehouse_lock(Path({str(tmp_path)!r})):
                    print("got it")
            except WarehouseBusy:
                print("busy")
        """)], capture_output=True, text=True)
        assert proc.stdout.strip() == "busy"  # still held after the inner release
    with warehouse_lock(tmp_path):  # and released after the outer one
        pass
