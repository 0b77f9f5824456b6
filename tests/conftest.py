"""Shared fixtures: where the real footage is, a quiet offline Prefect, test media helpers."""

from __future__ import annotations

import os
import sys
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
