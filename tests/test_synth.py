"""Tests of the synthetic gym: kinematics, truth, encoding, determinism (no MediaPipe)."""

from __future__ import annotations

import csv
import json
import re
import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from hingeflow.synth import ClipSpec, RepSpec, Scene, label_faults, make_gym, plan_gym, render_clip
from hingeflow.synth.clip import clip_truth
from hingeflow.synth.encode import fps_fraction, read_video, write_video
from hingeflow.synth.gym import LADDERS, MANIFEST_COLUMNS
from hingeflow.synth.kinematics import (
    BodyModel,
    Camera,
    angles_from_points,
    build_timeline,
    forward_kinematics,
)


@pytest.mark.parametrize("facing", [1, -1])
@pytest.mark.parametrize(
    "trunk,knee,rounding",
    [(0.0, 3.0, 0.0), (30.0, 10.0, 0.0), (60.0, 45.0, 5.0), (85.0, 20.0, 18.0), (-10.0, 4.0, 0.0), (55.0, 75.0, 12.0)],
)
def test_forward_kinematics_reproduces_angles(facing: int, trunk: float, knee: float, rounding: float) -> None:
    body = BodyModel(height_m=1.8)
    pose = forward_kinematics(body, np.array([trunk]), np.array([knee]), np.array([rounding]), np.zeros(1), "hang")
    cam = Camera(200.0, 400.0, 450.0, facing)
    P = {k: cam.project(getattr(pose, k)) for k in ("shoulder", "hip", "knee", "ankle")}
    a = angles_from_points(P["shoulder"], P["hip"], P["knee"], P["ankle"], facing)
    assert a["trunk_angle_deg"][0] == pytest.approx(trunk, abs=1e-6)
    assert a["knee_flexion_deg"][0] == pytest.approx(knee, abs=1e-6)
    # segment lengths preserved, feet planted
    assert np.linalg.norm(pose.knee - pose.ankle) == pytest.approx(body.m(body.shin))
    assert np.linalg.norm(pose.hip - pose.knee) == pytest.approx(body.m(body.thigh))
    assert pose.ankle[0, 0] == 0.0 and pose.toe[0, 1] == 0.0
    # facing right: the head is to the right of the hip when hinged forward
    if trunk > 20:
        assert facing * (P["shoulder"][0, 0] - P["hip"][0, 0]) > 0


def test_hips_move_back_and_com_over_midfoot() -> None:
    body = BodyModel()
    tr = np.array([0.0, 45.0, 80.0])
    pose = forward_kinematics(body, tr, np.full(3, 15.0), np.zeros(3), np.zeros(3), "hang")
    assert pose.hip[2, 0] < pose.hip[1, 0] < pose.hip[0, 0]  # hips travel back as the trunk tilts
    assert pose.wrist[1, 0] == pytest.approx(pose.midfoot[1, 0] + 0.01 * body.height_m, abs=0.02)


def test_chord_shortens_when_spine_rounds() -> None:
    body = BodyModel()
    r = np.array([0.0, 10.0, 20.0, 30.0])
    pose = forward_kinematics(body, np.full(4, 70.0), np.full(4, 15.0), r, np.zeros(4), "hang")
    chord = np.linalg.norm(pose.shoulder - pose.hip, axis=1) / body.m(body.trunk)
    assert chord[0] == pytest.approx(1.0)
    assert np.all(np.diff(chord) < 0)
    # the arc bulges to the back/up side of the chord (a C-shaped back)
    mid = pose.spine[:, pose.spine.shape[1] // 2]
    chord_mid = (pose.shoulder + pose.hip) / 2
    fwd = np.array([np.cos(np.radians(70)), -np.sin(np.radians(70))])
    bulge = (mid - chord_mid) @ fwd
    assert bulge[0] == pytest.approx(0.0, abs=1e-9) and np.all(bulge[1:] < 0)
    t = clip_truth(ClipSpec(reps=(RepSpec(rounding_bottom_deg=16.0),), fps=25))
    assert t.frames["chord_ratio"].min() == pytest.approx(np.sin(np.radians(8)) / np.radians(8), abs=1e-3)


def test_timeline_reps_and_hips_rise_first() -> None:
    reps = [RepSpec(trunk_bottom_deg=80, knee_bottom_deg=20, eccentric_s=1.0, concentric_s=1.0),
            RepSpec(trunk_bottom_deg=60, knee_bottom_deg=40, hips_rise_first=True, concentric_s=1.0)]
    tl = build_timeline(reps, 50.0)
    assert len(tl.reps) == 2
    (s1, b1, e1), (s2, b2, e2) = tl.reps
    assert s1 < b1 < e1 <= s2 < b2 < e2 <= tl.t_s[-1]
    ib = int(round(b1 * 50))
    assert tl.trunk_deg[ib] == pytest.approx(80.0) and tl.knee_deg[ib] == pytest.approx(20.0)
    assert tl.trunk_deg[0] == 0.0
    # rep 2 concentric: halfway through, the knees are much closer to the top than the trunk
    k = int(round((e2 - 0.5) * 50))
    knee_p = (tl.knee_deg[k] - reps[1].knee_top_deg) / (40 - reps[1].knee_top_deg)
    trunk_p = tl.trunk_deg[k] / 60
    assert knee_p < 0.2 and trunk_p > 0.6


def test_clip_truth_matches_spec() -> None:
    reps = (RepSpec(trunk_bottom_deg=75, knee_bottom_deg=25, rounding_bottom_deg=12, trunk_top_deg=-9),)
    t = clip_truth(ClipSpec(exercise="romanian_deadlift", reps=reps, fps=30, facing=-1))
    r = t.reps[0]
    assert r["trunk_angle_bottom_deg"] == pytest.approx(75.0, abs=0.01)
    assert r["knee_flexion_bottom_deg"] == pytest.approx(25.0, abs=0.01)
    assert r["spine_rounding_bottom_deg"] == pytest.approx(12.0, abs=0.01)
    assert set(r["faults"]) == {"rounded_back", "lockout_overextension"}
    assert t.frames["trunk_angle_deg"].min() == pytest.approx(-9.0, abs=0.01)
    assert np.allclose(np.diff(t.frames["t_s"]), 1 / 30)


def test_label_faults() -> None:
    clean = RepSpec(trunk_bottom_deg=75, knee_bottom_deg=18, drift_frac=0.05)
    assert label_faults("romanian_deadlift", clean) == []
    bad = RepSpec(trunk_bottom_deg=40, knee_bottom_deg=50, drift_frac=0.4, eccentric_s=0.4, trunk_top_deg=14)
    assert set(label_faults("romanian_deadlift", bad)) == {
        "squatting_the_hinge", "load_drift", "rushed_eccentric", "shallow_range", "incomplete_lockout"}
    assert "locked_knees" in label_faults("good_morning", RepSpec(knee_bottom_deg=2, knee_top_deg=1))


@pytest.mark.parametrize("fps,exact", [(24, Fraction(24)), (25, Fraction(25)), (29.97, Fraction(30000, 1001)),
                                       (23.976, Fraction(24000, 1001)), (50, Fraction(50)), (60, Fraction(60))])
def test_encode_fps_and_size(tmp_path: Path, fps: float, exact: Fraction) -> None:
    assert fps_fraction(fps) == exact
    frames = [np.full((48, 64, 3), i * 20, np.uint8) for i in range(7)]
    p = write_video(tmp_path / "a.mp4", frames, fps)
    out, rate, rot = read_video(p)
    assert len(out) == 7 and out[0].shape == (48, 64, 3) and rot == 0
    assert rate == exact
    assert abs(int(out[3].mean()) - 60) <= 3


def _probe_rotation(p: Path) -> float:
    r = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream_side_data=rotation", "-of", "json",
                        str(p)], capture_output=True, text=True, check=True)
    sd = json.loads(r.stdout)["streams"][0].get("side_data_list", [{}])
    return float(sd[0].get("rotation", 0))


def test_portrait_clip_rotation_metadata(tmp_path: Path) -> None:
    # an upright portrait frame: red top quarter, blue left quarter
    img = np.zeros((64, 32, 3), np.uint8)
    img[:16, :, 0] = 255
    img[:, :8, 2] = 255
    p = write_video(tmp_path / "p.mp4", [img] * 5, 30, rotate_display=90)
    assert _probe_rotation(p) == -90  # phone convention: display = stored turned 90 deg clockwise
    stored, _, rot = read_video(p, apply_rotation=False)
    assert stored[0].shape == (32, 64, 3) and rot == -90  # landscape pixels in the file
    up, _, _ = read_video(p)
    assert up[0].shape == (64, 32, 3)
    assert up[0][:16, 12:, 0].mean() > 200 and up[0][20:, 12:, 0].mean() < 50  # red on top
    assert up[0][20:, :6, 2].mean() > 200 and up[0][20:, 12:, 2].mean() < 50  # blue on the left
    # ffmpeg's autorotate agrees
    png = tmp_path / "f.png"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(p), "-frames:v", "1", str(png)], check=True)
    import cv2

    a = cv2.imread(str(png))[:, :, ::-1]
    assert a.shape == (64, 32, 3) and a[:16, 12:, 0].mean() > 200


def test_render_clip_frame_count_and_portrait(tmp_path: Path) -> None:
    spec = ClipSpec(exercise="kettlebell_swing", load_kg=24, reps=(RepSpec(eccentric_s=0.5, concentric_s=0.5),),
                    scene=Scene(width=180, height=320, noise_sigma=3.0), portrait=True, fps=24, facing=-1,
                    figure_height_frac=0.55, ankle_x_frac=0.55)
    t = render_clip(tmp_path / "c.mp4", spec)
    frames, rate, rot = read_video(tmp_path / "c.mp4")
    assert len(frames) == t.n_frames and rate == 24 and rot == -90
    assert frames[0].shape == (320, 180, 3)
    # the athlete is drawn where the truth says: skin/clothes differ from the wall at the hip
    hip = t.joints_px["hip"][0].round().astype(int)
    wall = frames[0][10, 10].astype(int)
    assert np.abs(frames[0][hip[1], hip[0]].astype(int) - wall).sum() > 40
    # deterministic bytes (video_id is the file's sha256)
    render_clip(tmp_path / "d.mp4", spec)
    assert (tmp_path / "c.mp4").read_bytes() == (tmp_path / "d.mp4").read_bytes()


def _read_bytes(root: Path) -> dict[str, bytes]:
    files = sorted(root.rglob("manifest.csv")) + sorted((root / "truth").glob("*"))
    return {str(f.relative_to(root)): f.read_bytes() for f in files}


def test_make_gym_deterministic_and_faults_follow_load(tmp_path: Path) -> None:
    a = make_gym(tmp_path / "a", athletes=4, weeks=2, seed=3, videos=False)
    b = make_gym(tmp_path / "b", athletes=4, weeks=2, seed=3, videos=False)
    c = make_gym(tmp_path / "c", athletes=4, weeks=2, seed=4, videos=False)
    ba, bb, bc = _read_bytes(tmp_path / "a"), _read_bytes(tmp_path / "b"), _read_bytes(tmp_path / "c")
    assert ba.keys() == bb.keys() and ba == bb
    assert ba != bc
    assert a.n_clips == b.n_clips and len(a.uploads) == 2
    # manifests: exact columns, ids, dates a week apart, relative paths
    dates = []
    for up in a.uploads:
        with open(up / "manifest.csv", newline="") as fh:
            rd = csv.DictReader(fh)
            assert tuple(rd.fieldnames or ()) == MANIFEST_COLUMNS
            rows = list(rd)
        assert rows
        for r in rows:
            assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", r["athlete_id"])
            assert not r["video"].startswith("/") and r["video"].endswith(".mp4")
            assert up.name.endswith(r["recorded_on"])
        dates.append(rows[0]["recorded_on"])
    assert dates == ["2026-11-02", "2026-11-09"]
    reps = pl.read_parquet(tmp_path / "a" / "truth" / "reps.parquet")
    frames = pl.read_parquet(tmp_path / "a" / "truth" / "frames.parquet")
    assert {"video", "frame_idx", "t_s", "trunk_angle_deg", "knee_flexion_deg", "hip_flexion_deg",
            "spine_rounding_deg", "chord_ratio", "wrist_offset_frac"} <= set(frames.columns)
    assert reps.schema["faults"] == pl.List(pl.String)
    ath = json.loads((tmp_path / "a" / "truth" / "athletes.json").read_text())["athletes"]
    for at in ath:
        for ex, bd in at["breakdown_kg"].items():
            r = reps.filter((pl.col("athlete_id") == at["athlete_id"]) & (pl.col("exercise") == ex))
            light = r.filter(pl.col("load_kg") <= bd)
            heavy = r.filter(pl.col("load_kg") > bd + LADDERS[ex][1])
            assert light.height > 0
            assert all(len(f) == 0 for f in light["faults"].to_list()), (at["athlete_id"], ex)
            assert light["spine_rounding_bottom_deg"].max() < 6
            if heavy.height:
                assert heavy["spine_rounding_bottom_deg"].mean() > light["spine_rounding_bottom_deg"].mean() + 6
                assert all("rounded_back" in f for f in heavy["faults"].to_list())


def test_make_gym_writes_decodable_videos(tmp_path: Path) -> None:
    s = make_gym(tmp_path, athletes=2, weeks=1, seed=1, workers=2)
    vids = pl.read_parquet(tmp_path / "truth" / "videos.parquet")
    assert vids.height == s.n_clips and s.n_clips >= 6
    for row in vids.iter_rows(named=True):
        path = tmp_path / "inbox" / row["video"]
        frames, rate, rot = read_video(path)
        assert len(frames) == row["n_frames"]
        assert frames[0].shape[:2] == (row["height"], row["width"])
        assert float(rate) == pytest.approx(row["fps"], rel=1e-6)
        assert rot == row["rotation_deg"]
    assert plan_gym(2, 1, 1).jobs[0].row["video"] == pl.read_csv(s.uploads[0] / "manifest.csv")["video"][0]


def test_plan_keeps_every_figure_in_frame() -> None:
    plan = plan_gym(athletes=8, weeks=3, seed=5)
    fps_seen = set()
    for job in plan.jobs:
        t = clip_truth(job.spec)
        fps_seen.add(round(t.fps, 3))
        for name in ("head", "shoulder", "hip", "knee", "ankle", "wrist", "toe", "heel"):
            p = t.joints_px[name]
            assert (p[:, 0] > 0).all() and (p[:, 0] < t.width).all(), (job.video, name)
            assert (p[:, 1] > 0).all() and (p[:, 1] <= t.height).all(), (job.video, name)
        assert 5 <= t.n_frames / t.fps <= 16  # short clips
        assert 3 <= len(t.reps) <= 5
    assert {23.976, 24.0, 25.0, 29.97, 30.0, 50.0, 60.0} <= fps_seen
