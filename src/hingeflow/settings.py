"""Run settings, read from arguments or `HINGEFLOW_*` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

EXERCISES: tuple[str, ...] = (
    "deadlift",
    "romanian_deadlift",
    "kettlebell_swing",
    "good_morning",
    "hip_hinge_drill",
)
CAMERA_VIEWS: tuple[str, ...] = ("side", "front", "diagonal")


class Settings(BaseSettings):
    """Knobs of a pipeline run. Times in seconds, rates in frames per second."""

    model_config = SettingsConfigDict(env_prefix="HINGEFLOW_", extra="ignore")

    analysis_fps: float = Field(
        30.0, gt=0,
        description="frames/s kept for pose; at 15 the tracker loses fast limbs (10-17 deg errors measured)",
    )
    max_side_px: int = Field(960, ge=160, description="frames are downscaled so the long side is at most this before pose")
    workers: int = Field(2, ge=1, description="pose worker processes running at once")
    probe_timeout_s: float = Field(30.0, gt=0)
    min_duration_s: float = Field(0.5, ge=0, description="shorter videos are quarantined: too short to hold a rep "
                                  "(the quickest hinge, a kettlebell swing, takes about 1 s)")
    pose_timeout_s: float = Field(1800.0, gt=0, description="wall-clock limit of one video's pose child process")
    worker_memory_mb: int = Field(4096, ge=256, description="address-space limit of a pose child process")
    model_complexity: int = Field(1, ge=0, le=2)
    min_detection_rate: float = Field(0.05, ge=0, le=1, description="below this a video is quarantined as 'no person'")
    extra_exercises: tuple[str, ...] = ()
    validate_tables: bool = Field(True, description="check every table against its contract (Great Expectations)")
    work_dir: Path = Field(Path.home() / ".cache" / "hingeflow",
                           description="local copies of remote inboxes and warehouses (fsspec URLs)")
    lock_wait_s: float = Field(0.0, ge=0, description="how long a run waits for a warehouse another run holds")
    runner: Literal["local", "process", "dask"] = Field(
        "local", description="where tasks run: local threads, local processes, or a Dask cluster (prefect-dask)")
    dask_address: str | None = Field(
        None, description="scheduler of an existing Dask cluster (tcp://host:8786); none: a LocalCluster per run")

    @property
    def exercises(self) -> tuple[str, ...]:
        return EXERCISES + tuple(self.extra_exercises)
