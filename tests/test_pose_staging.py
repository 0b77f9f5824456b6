"""Pose output's staging: the warehouse copy's folder, or the warehouse's bucket (moto S3)
when workers on other machines write it."""

from __future__ import annotations

import polars as pl
import pytest

from hingeflow.pose_staging import PoseStaging
from hingeflow.warehouse import Warehouse
from servers import s3_fs


def _write(staging: PoseStaging, key: str, rows: int) -> None:
    with staging.writing(key) as out:
        pl.DataFrame({"frame_idx": range(rows), "person": [True] * rows}).write_parquet(out)


def test_a_local_warehouse_stages_in_its_own_folder(tmp_path):
    wh = Warehouse(tmp_path / "wh")
    staging = PoseStaging.of(wh, str(tmp_path / "wh"))
    assert staging.remote is None and staging.local == wh.staging_dir
    staging.local.mkdir(parents=True)
    _write(staging, "v1-abc", 3)
    assert staging.exists("v1-abc") and staging.count(["v1-abc", "v2-abc"]) == 1
    assert staging.fetch("v1-abc") == staging.local_file("v1-abc")
    assert staging.read("v1-abc", ["frame_idx"])["frame_idx"].to_list() == [0, 1, 2]
    staging.drop("v1-abc")
    assert not staging.exists("v1-abc")


def test_a_remote_warehouse_stages_in_its_bucket_until_dropped(s3, tmp_path):
    wh = Warehouse(tmp_path / "copy")
    staging = PoseStaging.of(wh, "s3://staged/wh/")
    assert staging.remote == "s3://staged/wh/_staging/pose"
    fs = s3_fs()
    fs.mkdir("staged")
    assert staging.count(["v1-abc"]) == 0  # no folder in the bucket yet

    _write(staging, "v1-abc", 4)
    assert fs.exists("staged/wh/_staging/pose/v1-abc.parquet")
    assert not staging.local_file("v1-abc").exists()  # written by a worker: nothing on the flow's disk yet
    assert staging.exists("v1-abc") and staging.count(["v1-abc", "v2-abc"]) == 1
    assert staging.read("v1-abc", ["person"]).height == 4

    local = staging.fetch("v1-abc")  # the flow collects it
    assert local == staging.local_file("v1-abc") and pl.read_parquet(local).height == 4
    assert [p.name for p in local.parent.iterdir()] == ["v1-abc.parquet"]  # no download temp left

    staging.drop("v1-abc")
    assert not local.exists() and not fs.exists("staged/wh/_staging/pose/v1-abc.parquet")


def test_the_outputs_of_committed_videos_are_dropped_whatever_their_options(s3, tmp_path):
    """What a push leaves: nothing of the videos the tables hold (here v1, staged under two option
    hashes, one of them left on the flow's disk too), everything else."""
    staging = PoseStaging.of(Warehouse(tmp_path / "copy"), "s3://dropped/wh")
    s3_fs().mkdir("dropped")
    assert staging.drop_videos({"v1"}) == 0  # nothing staged yet: no folder in the bucket
    for key in ("v1-aaa", "v1-bbb", "v10-aaa", "v2-aaa"):
        _write(staging, key, 2)
    staging.fetch("v1-aaa")
    assert staging.drop_videos({"v1"}) == 3
    assert [k for k in ("v1-aaa", "v1-bbb", "v10-aaa", "v2-aaa") if staging.exists(k)] == ["v10-aaa", "v2-aaa"]
    assert not staging.local_file("v1-aaa").exists()


def test_a_failed_write_stages_nothing(s3, tmp_path):
    staging = PoseStaging.of(Warehouse(tmp_path / "copy"), "s3://failed/wh")
    s3_fs().mkdir("failed")
    with pytest.raises(RuntimeError, match="pose child died"):
        with staging.writing("v1-abc") as out:
            out.write_bytes(b"half a file")
            raise RuntimeError("pose child died")
    assert not staging.exists("v1-abc") and not out.exists()


def test_a_pose_task_on_another_machine_reuses_what_the_bucket_holds(s3, tmp_path):
    """A run that died after pose left its output in the bucket: a pose task of a later run, on a
    machine with neither the video nor the output, takes it from there without decoding."""
    from hingeflow import pipeline
    from hingeflow.settings import Settings
    from test_video_source import _candidates

    c = _candidates(tmp_path, "reused")["clip.mp4"]
    settings = Settings()
    probed = pipeline.probe(c, settings)
    staging = PoseStaging.of(Warehouse(tmp_path / "copy"), "s3://reused/wh")
    key = pipeline.staging_key(c.video_id, pipeline.pose_options(settings))
    _write(staging, key, 30)
    c.path.unlink()  # the video is nowhere: a decode would quarantine it
    s3_fs().rm(c.source.removeprefix("s3://"))
    outcome = pipeline.pose(probed, staging, settings)
    assert outcome.reason is None and outcome.key == key and outcome.staged is None
    assert outcome.summary.frames_analysed == 30 and outcome.summary.seconds == 0.0
    (collected,) = pipeline.collect([outcome], staging)
    assert collected.staged == staging.local_file(key) and collected.staged.exists()
