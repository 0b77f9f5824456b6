"""Shared fixtures: where the real footage is, a quiet offline Prefect, test media helpers."""

from __future__ import annotations

import csv
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Prefect logs "stopping temporary server" at exit, after pytest closed its streams
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
sys.path.insert(0, str(Path(__file__).parent))

REPO = Path(__file__).resolve().parents[1]
FOOTAGE = Path(os.environ.get("HINGEFLOW_FOOTAGE", REPO.parent / "shared" / "footage"))


@pytest.fixture(scope="session")
def footage() -> Path:
    """The shared real-footage folder; tests using it skip where it is absent."""
    if not (FOOTAGE / "clips.csv").is_file():
        pytest.skip(f"real footage not present at {FOOTAGE}")
    return FOOTAGE


def _exercise(text: str) -> str:
    text = text.lower()
    if "swing" in text:
        return "kettlebell_swing"
    if "good morning" in text:
        return "good_morning"
    if "dowel" in text or "drill" in text:
        return "hip_hinge_drill"
    return "deadlift"  # squat clips are contrast material; their label goes in notes


def _view(text: str) -> str:
    text = text.lower()
    return "front" if text.startswith("front") and "diag" not in text else "diagonal" if "diag" in text else "side"


@pytest.fixture(scope="session")
def real_run(footage: Path, tmp_path_factory):
    """Copy all clips into an inbox, run the flow once per session (shared by the real-footage
    test modules), return (warehouse, clip rows by video path)."""
    inbox = tmp_path_factory.mktemp("real") / "inbox"
    upload = inbox / "shared_2026-11-16"
    upload.mkdir(parents=True)
    rows = list(csv.DictReader((footage / "clips.csv").open()))
    with (upload / "manifest.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["video", "athlete_id", "recorded_on", "exercise", "load_kg", "set_index", "camera_view", "notes"])
        for i, r in enumerate(rows, start=1):
            dst = upload / r["file"]
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(footage / r["file"], dst)
            athlete = "real-" + r["source_repo"].split("/")[0][:20]
            w.writerow([r["file"], athlete, "2026-11-16", _exercise(r["exercise"]), 0, i, _view(r["camera_view"]), r["exercise"]])
    from flows.ingest import ingest
    from hingeflow.settings import Settings
    from hingeflow.warehouse import Warehouse

    settings = Settings(workers=2)
    warehouse = inbox.parent / "warehouse"
    summary = ingest(str(inbox), str(warehouse), settings)
    return Warehouse(warehouse), {r["file"]: r for r in rows}, summary, footage


@dataclass(frozen=True)
class DemoRun:
    root: Path
    inbox: Path  # the synthetic gym's uploads
    warehouse: Path  # what `hingeflow demo` made of them (local thread runner)
    truth: list[dict]  # the synthetic athletes


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> DemoRun:
    """`hingeflow demo` (3 athletes x 2 weeks, 21 clips) in a subprocess with its own Prefect home."""
    import json
    import subprocess

    root = tmp_path_factory.mktemp("demo")
    env = {**os.environ, "PREFECT_HOME": str(root / "prefect")}  # its own API database: the run's artifacts only
    hingeflow = str(Path(sys.executable).with_name("hingeflow"))
    subprocess.run([hingeflow, "demo", "--warehouse", str(root / "wh"), "--footage", str(root / "footage")],
                   check=True, capture_output=True, text=True, env=env)
    truth = json.loads((root / "footage" / "truth" / "athletes.json").read_text())["athletes"]
    return DemoRun(root, root / "footage" / "inbox", root / "wh", truth)


@pytest.fixture(scope="session")
def s3(tmp_path_factory):
    """(endpoint URL, environment with its credentials): `moto_server`, a real S3 API on loopback.
    Its variables are set in this process too (for s3fs) while the session lasts."""
    from servers import S3_ENV, free_port, start_until_answering, stop

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    proc = start_until_answering([str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1",
                                  "-p", str(port)], endpoint, tmp_path_factory.mktemp("moto") / "moto.log",
                                 timeout_s=60)
    env = {**S3_ENV, "AWS_ENDPOINT_URL": endpoint}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    yield endpoint, env
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    stop(proc)
