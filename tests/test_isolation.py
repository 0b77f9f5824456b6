import os
import time

import pytest

from hingeflow.isolation import IsolatedError, run_isolated


def _sleep(seconds: float) -> str:
    time.sleep(seconds)
    return "done"


def _boom() -> None:
    raise ValueError("bad media")


def _die() -> None:
    os._exit(3)


def _hog(mb: int) -> int:
    return len(bytearray(mb * 1024 * 1024))


def test_result_comes_back():
    assert run_isolated(_sleep, (0.0,), timeout_s=30) == "done"


def test_hung_child_is_killed_at_its_time_limit():
    start = time.perf_counter()
    with pytest.raises(IsolatedError, match="timed out after 1 s"):
        run_isolated(_sleep, (60.0,), timeout_s=1)
    assert time.perf_counter() - start < 10


def test_child_exception_is_reported_with_its_type():
    with pytest.raises(IsolatedError, match="ValueError: bad media"):
        run_isolated(_boom, (), timeout_s=30)


def test_child_crash_is_reported():
    with pytest.raises(IsolatedError, match="died"):
        run_isolated(_die, (), timeout_s=30)


def test_memory_limit_is_enforced():
    with pytest.raises(IsolatedError, match="out of memory"):
        run_isolated(_hog, (3000,), timeout_s=30, memory_mb=2048)


def _native_log_then_die() -> None:
    os.write(2, b"decoder: corrupt macroblock 7\n")
    os._exit(4)


def test_native_stderr_tail_is_in_the_reason():
    with pytest.raises(IsolatedError, match="corrupt macroblock 7"):
        run_isolated(_native_log_then_die, (), timeout_s=30)
