"""The analytics stage's wiring: batches of videos measured in threads give the same reps."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from test_signals import _shifted, hinge_frames, slow_reps

from hingeflow.analytics import stage


def _gym(n_videos: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(frames, videos): `n_videos` synthetic side-view videos of two athletes, each with its own
    depth, pace, length, side and place in the image, at rising loads."""
    rng = np.random.default_rng(7)
    frames, rows = [], []
    for i in range(n_videos):
        n = int(rng.integers(240, 420))
        trunk = slow_reps(n, period_s=float(rng.uniform(2.5, 4.0)), depth=float(rng.uniform(50, 80)))
        df = hinge_frames(trunk, knee_deg=float(rng.uniform(10, 30)), near="left" if i % 3 else "right",
                          facing=1 if i % 2 else -1)
        frames.append(_shifted(df, float(rng.uniform(-100, 100))).with_columns(pl.lit(f"v{i:02d}").alias("video_id")))
        rows.append({"video_id": f"v{i:02d}", "status": "ok", "athlete_id": f"a{i % 2}",
                     "recorded_on": dt.date(2026, 11, 16), "week": "2026-W47", "exercise": "romanian_deadlift",
                     "load_kg": 40.0 + 10 * (i // 4), "set_index": 1 + i % 2, "camera_view": "side"})
    return pl.concat(frames, how="diagonal_relaxed"), pl.DataFrame(rows)


def test_threaded_batches_give_the_reps_of_one_batch(monkeypatch):
    """Many small batches in two threads equal all videos in one batch on one thread, row for row."""
    frames, videos = _gym(14)
    monkeypatch.setattr(stage, "BATCH_FRAMES", 10**9)
    one_batch = stage.analyse(frames, videos, pl.DataFrame(), threads=1)
    monkeypatch.setattr(stage, "BATCH_FRAMES", 1000)
    monkeypatch.setattr(stage, "MIN_BATCH_FRAMES", 1)
    lengths = frames.group_by("video_id", maintain_order=True).len()["len"].to_list()
    assert len(stage.batches(lengths, 2, 1000, 1)) >= 4
    threaded = stage.analyse(frames, videos, pl.DataFrame(), threads=2)
    assert one_batch["video_id"].n_unique() == videos.height and one_batch.height >= 2 * videos.height
    assert_frame_equal(threaded, one_batch)


def test_frames_in_any_row_order_give_the_same_reps(monkeypatch):
    """Frames rows shuffled, and videos listed in another order than the frames: the batches
    take the videos in the frames' order (each batch reads one slice of the table), the reps
    do not change and come out in the order the videos are listed."""
    frames, videos = _gym(8)
    monkeypatch.setattr(stage, "BATCH_FRAMES", 1000)
    monkeypatch.setattr(stage, "MIN_BATCH_FRAMES", 1)
    in_order = stage.analyse(frames, videos, pl.DataFrame(), threads=2)
    shuffled = frames.sample(fraction=1.0, shuffle=True, seed=11)
    reversed_videos = videos.reverse()
    found = stage.video_frames(shuffled, reversed_videos["video_id"].to_list())
    runs = [found.rows[v] for v in reversed_videos["video_id"]]
    assert any(a[1] != b[0] for a, b in zip(runs, runs[1:]))  # in the listed order, the runs do not follow each other
    read = []  # per batch: do its videos' runs follow each other?
    inputs = stage.VideoFrames.inputs

    def spy(self, video_ids):
        runs = [self.rows[v] for v in video_ids]
        read.append(all(a[1] == b[0] for a, b in zip(runs, runs[1:])))
        return inputs(self, video_ids)

    monkeypatch.setattr(stage.VideoFrames, "inputs", spy)
    got = stage.analyse(shuffled, reversed_videos, pl.DataFrame(), threads=2)
    assert len(read) >= 4 and all(read)
    assert got["video_id"].unique(maintain_order=True).to_list() == reversed_videos["video_id"].to_list()
    key = ["video_id", "rep_index"]
    assert in_order.height >= 2 * videos.height
    assert_frame_equal(got.sort(key), in_order.sort(key))


def test_frames_of_other_videos_and_rows_out_of_frame_order(monkeypatch):
    """The frames table may hold videos that are not analysed (not ok, or not listed) between
    the listed ones, and a video whose rows are one run but not in frame order: the reps equal
    those of the listed videos' frames alone, in order."""
    frames, videos = _gym(6)
    monkeypatch.setattr(stage, "BATCH_FRAMES", 1000)
    monkeypatch.setattr(stage, "MIN_BATCH_FRAMES", 1)
    alone = stage.analyse(frames, videos, pl.DataFrame(), threads=2)
    others = frames.filter(pl.col("video_id") == "v01").with_columns(pl.lit("x1").alias("video_id"))
    mixed = pl.concat([frames.filter(pl.col("video_id") <= "v02"), others, frames.filter(pl.col("video_id") > "v02")])
    quarantined = videos.head(1).with_columns(pl.lit("x1").alias("video_id"), pl.lit("quarantined").alias("status"))
    skipped = pl.concat([videos, quarantined])
    found = stage.video_frames(mixed, videos["video_id"].to_list())
    assert "x1" not in found.rows and sorted(found.rows) == sorted(videos["video_id"].to_list())
    assert_frame_equal(stage.analyse(mixed, skipped, pl.DataFrame(), threads=2), alone)
    # one video's run reversed: read in frame order all the same
    v3 = pl.col("video_id") == "v03"
    flipped = pl.concat([frames.filter(~v3), frames.filter(v3).reverse()])
    key = ["video_id", "rep_index"]
    assert_frame_equal(stage.analyse(flipped, videos, pl.DataFrame(), threads=2).sort(key), alone.sort(key))
    # one video's rows in two runs, each in frame order, with another video between them
    v4 = frames.filter(pl.col("video_id") == "v04")
    split = pl.concat([frames.filter(pl.col("video_id") < "v04"), v4.head(100),
                       frames.filter(pl.col("video_id") == "v05"), v4.slice(100)])
    assert_frame_equal(stage.analyse(split, videos, pl.DataFrame(), threads=2).sort(key), alone.sort(key))


@pytest.mark.parametrize("n", [0, 1, 7, 8, 16, 100, 130, 1000])
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_equal_videos_are_cut_into_even_batches_in_whole_rounds(n, threads):
    plan = stage.batches([600] * n, threads, max_frames=60_000, min_frames=5_000)
    assert [i for b in plan for i in b] == list(range(n))
    sizes = [len(b) for b in plan]
    assert all(s > 0 for s in sizes) and (not sizes or max(sizes) - min(sizes) <= 1)
    total = 600 * n
    if threads > 1 and total >= 5_000 * threads:  # enough frames: whole rounds of `threads` batches
        assert len(plan) % threads == 0
    if threads == 1 or total < 10_000:  # one thread, or too few frames to share
        assert len(plan) == -(-total // 60_000)


def test_uneven_videos_get_near_equal_frame_totals_and_a_long_one_its_own_batch():
    rng = np.random.default_rng(3)
    lengths = rng.integers(100, 3000, 400).tolist()
    plan = stage.batches(lengths, 2, max_frames=60_000, min_frames=5_000)
    totals = [sum(lengths[i] for i in b) for b in plan]
    assert len(plan) % 2 == 0 and max(totals) - min(totals) <= max(lengths)
    assert max(totals) <= 60_000 + max(lengths)
    long = [500, 500, 200_000, 500, 500]  # a 2-hour clip among short ones
    plan = stage.batches(long, 2, max_frames=60_000, min_frames=5_000)
    assert range(2, 3) in plan and [i for b in plan for i in b] == list(range(5))
