"""Every real clip (dev and holdout) through the real flow: no crash, upright, pts timestamps."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import polars as pl
import pytest

from hingeflow import schemas
from hingeflow.settings import Settings

pytestmark = pytest.mark.footage

NO_PERSON = "rotation_minus90_no_person.mp4"


def test_every_clip_is_processed_or_quarantined_with_reason(real_run):
    wh, clips, summary, _ = real_run
    videos = wh.read(schemas.VIDEOS)
    assert sorted(videos["video"].to_list()) == sorted(clips)
    by_video = {r["video"]: r for r in videos.iter_rows(named=True)}
    for name, clip in clips.items():
        row = by_video[name]
        assert row["video_id"] == clip["sha256"]
        if name.endswith(NO_PERSON):
            assert row["status"] == "quarantined" and "no person detected" in row["reason"]
            assert row["rotation_deg"] == 270 and row["codec"] == "hevc"
        else:
            assert row["status"] == "ok", (name, row["reason"])
            assert row["detection_rate"] > 0.5, name
    q = wh.read(schemas.QUARANTINE)
    assert q.filter(pl.col("video").str.ends_with(NO_PERSON)).height == 1


def test_probe_matches_the_catalogue(real_run):
    wh, clips, _, _ = real_run
    for row in wh.read(schemas.VIDEOS).iter_rows(named=True):
        clip = clips[row["video"]]
        assert (row["width"], row["height"]) == (int(clip["width"]), int(clip["height"])) or row["rotation_deg"] in (90, 270)
        assert row["duration_s"] == pytest.approx(float(clip["duration_s"]), abs=0.1), row["video"]
        assert row["codec"] == clip["codec"]


def _pts_seconds(path: Path) -> np.ndarray:
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        t = np.sort([float(p.pts * p.time_base) for p in c.demux(s) if p.pts is not None and p.size and not p.is_discard])
    return t - t[0]


@pytest.mark.parametrize("name", [
    "clips/kbdl_tby_correct_side.mp4",      # portrait, 60 fps
    "clips/bbdl_side_whitebg_stock.mp4",    # 23.976 fps
    "clips/yfgd_bad_03.mp4",                # VFR (a dropped frame)
    "clips/yfgd_bad_02.mp4",                # odd nominal rate 29.94
    "holdout/h09.mp4",                      # 29.34 fps portrait
    "holdout/h08.mp4",                      # portrait 720x1280, hard cut
])
def test_timestamps_are_frame_pts_and_frames_upright(real_run, name):
    wh, clips, _, footage = real_run
    vid = clips[name]["sha256"]
    frames = wh.read(schemas.FRAMES).filter(pl.col("video_id") == vid).sort("frame_idx")
    assert frames.height > 0
    pts = _pts_seconds(footage / name)
    assert np.allclose(frames["t_s"].to_numpy(), pts[frames["frame_idx"].to_numpy()], atol=1e-6)
    dt = np.diff(frames["t_s"].to_numpy())
    native_fps = (len(pts) - 1) / pts[-1]
    expected_dt = max(1 / Settings().analysis_fps, 1 / native_fps)  # subsampled only above 30 fps
    assert (dt > 0).all() and np.median(dt) == pytest.approx(expected_dt, rel=0.1)
    person = frames.filter(pl.col("person"))
    # upright: the head is above the hips and the hips above the ankles in image y (down)
    nose, hip, ankle = (person[f"{j}_y"].to_numpy() for j in ("nose", "left_hip", "left_ankle"))
    assert np.mean(nose < hip) > 0.6 and np.mean(hip < ankle) > 0.9
    w, h = clips[name]["width"], clips[name]["height"]
    assert person["left_hip_x"].is_between(0, int(w)).mean() > 0.9
    assert person["left_hip_y"].is_between(0, int(h)).mean() > 0.9


def test_rerun_adds_nothing(real_run, tmp_path):
    wh, _, summary, _ = real_run
    from hingeflow.pipeline import plan

    p = plan(Path(wh.root).parent / "inbox", wh, Settings())
    assert p.new == [] and p.rejections == [] and p.skipped == summary.videos_new


# ---- analytics on real clips ----

def _listed_count(text: str) -> int | None:
    """Reps listed in clips.csv: '10' -> 10; '1 complete + 1 pull ending at lockout' -> 2 (both reach lockout)."""
    import re

    numbers = [int(n) for n in re.findall(r"\d+", text)]
    return sum(numbers) if numbers else None


def _reps_by_clip(real_run) -> dict[str, pl.DataFrame]:
    wh, clips, _, _ = real_run
    videos = wh.read(schemas.VIDEOS).select("video_id", "video")
    reps = wh.read(schemas.REPS).join(videos, on="video_id")
    return {name: reps.filter(pl.col("video") == name) for name in clips}


def test_rep_counts_match_the_catalogue(real_run):
    _, clips, _, _ = real_run
    reps = _reps_by_clip(real_run)
    checked = 0
    for name, clip in clips.items():
        expected = _listed_count(clip["reps"])
        if not name.startswith("clips/") or expected is None:
            continue
        assert reps[name].height == expected, (name, clip["camera_view"])
        checked += 1
    assert checked >= 18


def _verdicts(reps: pl.DataFrame, fault: str) -> list[str]:
    """Per rep, the verdict of `fault`'s rule ("none" when the rule had nothing to judge)."""
    return [next((e["verdict"] for e in evs if e["fault"] == fault), "none") for evs in reps["fault_evidence"].to_list()]


def test_squat_style_kettlebell_set_is_flagged_or_held_back_never_cleared(real_run):
    """Squat-style reps: flagged where the evidence clears the noise, "not assessable" elsewhere,
    never clear; the correct set is almost never flagged. (The ratio threshold was read from
    this pair: a training check, see docs/validation.md.)"""
    reps = _reps_by_clip(real_run)
    squat = _verdicts(reps["clips/kbdl_tby_kneedominant_side.mp4"], "squatting_the_hinge")
    correct = _verdicts(reps["clips/kbdl_tby_correct_side.mp4"], "squatting_the_hinge")
    print(f"squat-style verdicts {squat}; correct set flagged {correct.count('fault')}/{len(correct)}")
    assert len(squat) == 10 and "clear" not in squat and squat.count("fault") >= 3
    assert correct.count("fault") <= 1


def test_front_and_diagonal_views_null_sagittal_metrics_with_reason(real_run):
    reps = _reps_by_clip(real_run)["clips/kbswing_russian_front_coach.mp4"]
    assert reps.height > 0 and reps["knee_flexion_bottom_deg"].null_count() == reps.height
    assert all(any("sagittal" in r for r in rs) for rs in reps["null_reasons"].to_list())


def test_yfgd_good_and_bad_are_separated(real_run):
    """The dataset's bad single-rep deadlifts get some fault more often than its good ones."""
    reps = _reps_by_clip(real_run)
    flagged = {name: bool((reps[name]["faults"].list.len() > 0).any()) for name in reps if "yfgd_" in name}
    good = [v for k, v in flagged.items() if "good" in k]
    bad = [v for k, v in flagged.items() if "bad" in k]
    tpr, fpr = sum(bad) / len(bad), sum(good) / len(good)
    print(f"YFGD any fault: bad flagged {sum(bad)}/{len(bad)}, good flagged {sum(good)}/{len(good)}")
    assert tpr > fpr  # better than chance
