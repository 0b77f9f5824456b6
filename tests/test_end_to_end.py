"""Synthetic gym -> `hingeflow run` (real CLI, real Prefect, real MediaPipe) -> tables vs truth."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from hingeflow import schemas
from hingeflow.warehouse import Warehouse

HINGEFLOW = str(Path(sys.executable).with_name("hingeflow"))
# Tolerances for per-frame angles of the raw (unsmoothed) landmarks against the
# drawn skeleton; MediaPipe's joint centres sit a little off the drawn ones.
TRUNK_MAE_DEG = 4.0
KNEE_MAE_DEG = 7.0


def run_cli(*args: str) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run([HINGEFLOW, *args], check=True, capture_output=True, text=True)
    return time.perf_counter() - start, out.stdout


@pytest.fixture(scope="module")
def gym_run(tmp_path_factory):
    from hingeflow.synth.gym import make_gym

    root = tmp_path_factory.mktemp("e2e")
    gym = make_gym(root / "gym", athletes=2, weeks=1, seed=2024)
    first_s, out = run_cli("run", "--inbox", str(gym.inbox), "--warehouse", str(root / "wh"))
    return root, gym, Warehouse(root / "wh"), first_s, out


@pytest.fixture(scope="module")
def joined(gym_run) -> pl.DataFrame:
    root, gym, wh, _, _ = gym_run
    videos = wh.read(schemas.VIDEOS).with_columns((pl.col("upload") + "/" + pl.col("video")).alias("truth_video"))
    truth = pl.read_parquet(gym.truth_dir / "frames.parquet").with_columns(pl.col("frame_idx").cast(pl.Int32))
    frames = wh.read(schemas.FRAMES).join(videos.select("video_id", "truth_video", "rotation_deg"), on="video_id")
    return truth.join(frames, left_on=["video", "frame_idx"], right_on=["truth_video", "frame_idx"],
                      how="inner", suffix="_pose")


def test_every_video_lands_ok(gym_run):
    root, gym, wh, _, _ = gym_run
    manifests = pl.concat([pl.read_csv(u / "manifest.csv") for u in gym.uploads])
    videos = wh.read(schemas.VIDEOS)
    assert videos.height == manifests.height
    assert videos["status"].to_list() == ["ok"] * videos.height
    assert wh.read(schemas.QUARANTINE).height == 0


def test_person_found_in_at_least_98_percent_of_frames(joined):
    assert joined.height > 500
    rate = joined["person"].mean()
    print(f"detection rate {rate:.4f} over {joined.height} frames")
    assert rate >= 0.98


def test_trunk_and_knee_angles_match_truth(joined):
    ok = joined.filter(pl.col("person"))
    trunk = (ok["trunk_angle_deg_pose"] - ok["trunk_angle_deg"]).abs().mean()
    knee = (ok["knee_flexion_deg_pose"] - ok["knee_flexion_deg"]).abs().mean()
    print(f"per-frame MAE: trunk {trunk:.2f} deg, knee {knee:.2f} deg over {ok.height} frames")
    assert trunk <= TRUNK_MAE_DEG
    assert knee <= KNEE_MAE_DEG


def test_timestamps_match_truth(joined):
    assert np.allclose(joined["t_s_pose"].to_numpy(), joined["t_s"].to_numpy(), atol=2e-3)


def test_rotated_phone_clips_come_out_upright(gym_run, joined):
    _, _, wh, _, _ = gym_run
    videos = wh.read(schemas.VIDEOS)
    rotated = videos.filter(pl.col("rotation_deg") != 0)
    if rotated.height == 0:
        pytest.skip("this gym drew no rotated phone clip")
    assert (rotated["height"] > rotated["width"]).all()
    sub = joined.filter((pl.col("rotation_deg") != 0) & pl.col("person"))
    assert (sub["trunk_angle_deg_pose"] - sub["trunk_angle_deg"]).abs().mean() <= TRUNK_MAE_DEG


def test_rerun_adds_nothing_and_is_fast(gym_run):
    root, gym, wh, first_s, _ = gym_run
    before = {t.name: wh.read(t).height for t in (schemas.VIDEOS, schemas.FRAMES, schemas.QUARANTINE)}
    again_s, out = run_cli("run", "--inbox", str(gym.inbox), "--warehouse", str(root / "wh"))
    after = {t.name: wh.read(t).height for t in (schemas.VIDEOS, schemas.FRAMES, schemas.QUARANTINE)}
    assert "nothing new" in out
    assert after == before
    print(f"first run {first_s:.1f} s, re-run {again_s:.2f} s, ratio {again_s / first_s:.3f}")
    assert again_s < 0.05 * first_s
