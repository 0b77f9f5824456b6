"""Crash safety (issue 7, item 3): `kill -9` a real run at chosen and random points, run again,
and the warehouse equals the one an uninterrupted run made.

Each scenario starts `hingeflow run` on a fresh warehouse in its own process group and
kills the whole group (CLI, Prefect's temporary server, pose children) with SIGKILL
at a seeded random time (0-0.3 s) after the scenario's moment: a video posed while
the other is in flight, the run's first staged Parquet file, the first validation
result written, or the commit marker. Right after
the kill, raw readers must see only whole Parquet files and no duplicate rows. Then a
second `hingeflow run` must end with every table row for row equal to the reference
run's (apart from wall-clock columns), the same report pages, and nothing staged.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

import bad_media as bm
from hingeflow import schemas
from hingeflow.warehouse import Warehouse

HINGEFLOW = str(Path(sys.executable).with_name("hingeflow"))
VOLATILE = {"processed_at", "pose_seconds", "detected_at"}  # wall-clock facts of a run
COMPARED = ("videos", "frames", "reps", "sets", "breakdown", "week_over_week", "quarantine", "keyframes")
CLIPS = {  # file -> (athlete, load kg, set index, clip)
    "a_60.mp4": ("ath-a", 60, 1, bm.CORPUS_SPEC),
    "b_40.mp4": ("ath-b", 40, 1, replace(bm.CORPUS_SPEC, load_kg=40.0, facing=-1)),
}


@dataclass(frozen=True)
class Gym:
    inbox: Path
    reference: Path  # warehouse of an uninterrupted run
    seconds: float  # its wall time


def _env(home: Path) -> dict[str, str]:
    env = {**os.environ, "PREFECT_HOME": str(home)}
    env.pop("PREFECT_API_URL", None)
    return env


def _run(inbox: Path, wh: Path, home: Path) -> subprocess.CompletedProcess:
    return subprocess.run([HINGEFLOW, "run", "--inbox", str(inbox), "--warehouse", str(wh)],
                          capture_output=True, text=True, env=_env(home))


@pytest.fixture(scope="module")
def gym(tmp_path_factory) -> Gym:
    root = tmp_path_factory.mktemp("crash")
    upload = root / "inbox" / "gym_2026-11-16"
    upload.mkdir(parents=True)
    rows = ["video,athlete_id,recorded_on,exercise,load_kg,set_index,camera_view"]
    for name, (athlete, load, set_index, spec) in CLIPS.items():
        bm.encode(upload / name, bm.figure_frames(spec))
        rows.append(f"{name},{athlete},2026-11-16,romanian_deadlift,{load},{set_index},side")
    (upload / "manifest.csv").write_text("\n".join(rows) + "\n")
    start = time.perf_counter()
    out = _run(root / "inbox", root / "reference", root / "prefect")
    assert out.returncode == 0, out.stderr[-3000:]
    return Gym(root / "inbox", root / "reference", time.perf_counter() - start)


def _any(folder: Path, pattern: str) -> Callable[[], bool]:
    return lambda: folder.is_dir() and next(folder.rglob(pattern), None) is not None


MOMENTS: dict[str, Callable[[Path], Callable[[], bool]]] = {  # scenario -> (warehouse -> "now" test)
    "during pose": lambda wh: _any(wh / "_staging" / "frames", "*.parquet"),
    "during a Parquet write": lambda wh: _any(wh / "_staging" / "runs", "*.parquet"),
    "during validation": lambda wh: _any(wh / "_gx" / "gx" / "uncommitted" / "validations", "*.json"),
    "after the commit marker": lambda wh: _any(wh / "_runs", "*.json"),
}


def _kill_group_when(proc: subprocess.Popen, now: Callable[[], bool], delay_s: float, limit_s: float) -> bool:
    """SIGKILL `proc`'s process group `delay_s` after `now()` first holds; False if the run ended first."""
    deadline = time.monotonic() + limit_s
    while proc.poll() is None and time.monotonic() < deadline:
        if now():
            time.sleep(delay_s)
            if proc.poll() is not None:
                break
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.005)
    proc.wait(timeout=limit_s)
    return False


def _whole_files_only(wh: Path) -> None:
    """What a raw reader of the table folders would see right after the crash: whole Parquet files
    only, and no row twice (the warehouse's own reader, on top, sees whole runs only)."""
    for name in COMPARED:
        folder = wh / name
        for f in (folder.rglob("*") if folder.is_dir() else []):
            if f.is_file():
                assert f.name.startswith("part-") and f.suffix == ".parquet", f
                pq.read_metadata(f)  # raises on a partial file
    w = Warehouse(wh)
    videos, reps = w.read(schemas.VIDEOS), w.read(schemas.REPS)
    assert videos["video_id"].is_unique().all()
    assert reps.select("video_id", "rep_index").is_unique().all()


def comparable(wh: Path, name: str) -> pl.DataFrame:
    df = Warehouse(wh).read(schemas.TABLES[name])
    cols = [c for c in df.columns if c not in VOLATILE]
    key = [c for c in cols if not df.schema[c].is_nested() and df.schema[c] != pl.Binary]
    return df.select(cols).sort(key, nulls_last=True)


@pytest.mark.slow
@pytest.mark.parametrize("scenario", list(MOMENTS))
def test_a_killed_run_then_a_rerun_equals_an_uninterrupted_run(gym, tmp_path, scenario):
    wh = tmp_path / "wh"
    proc = subprocess.Popen([HINGEFLOW, "run", "--inbox", str(gym.inbox), "--warehouse", str(wh)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env(tmp_path / "prefect"),
                            start_new_session=True)
    moment, delay = MOMENTS[scenario](wh), random.Random(scenario).uniform(0.0, 0.3)
    assert _kill_group_when(proc, moment, delay, limit_s=10 * gym.seconds), "the run ended first"
    _whole_files_only(wh)

    out = _run(gym.inbox, wh, tmp_path / "prefect")
    assert out.returncode == 0, out.stderr[-3000:]
    for name in COMPARED:
        expected, got = comparable(gym.reference, name), comparable(wh, name)
        assert expected.height > 0 or name in ("quarantine", "week_over_week")
        assert got.equals(expected), f"{name} differs after a kill {scenario}"
    pages = lambda root: {p.name: p.read_text() for p in (root / "reports").glob("*.html")}  # noqa: E731
    assert pages(wh) == pages(gym.reference) and len(pages(wh)) == 3  # index + 2 athletes
    assert not any((wh / "_staging" / "runs").iterdir())
    if scenario == "after the commit marker":  # the re-run published and rendered: nothing is left to do
        again = _run(gym.inbox, wh, tmp_path / "prefect")
        assert again.returncode == 0 and "nothing new" in again.stdout
