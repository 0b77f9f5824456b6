"""Real MediaPipe on synthetic clips: the figure is detected and its angles match the truth.

Angles from landmarks in upright-image pixels per DESIGN.md: trunk = hip-midpoint ->
shoulder-midpoint from vertical (signed by facing); knee flexion on the near side
(the side with the higher hip+knee+ankle visibility).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from hingeflow.synth import ClipSpec, Look, RepSpec, Scene, render_clip
from hingeflow.synth.encode import read_video
from hingeflow.synth.gym import fit_camera
from hingeflow.synth.kinematics import BodyModel, angles_from_points

mp = pytest.importorskip("mediapipe")

DETECTION_MIN = 0.98
TRUNK_MAE_MAX = 4.0  # deg, pooled over all clips
KNEE_MAE_MAX = 6.0
PER_CLIP_TRUNK_MAE_MAX = 6.0
PER_CLIP_KNEE_MAE_MAX = 8.0


def _clips() -> list[tuple[str, ClipSpec]]:
    tall = BodyModel(height_m=1.88, trunk=0.295, thigh=0.25, girth=0.95)
    short = BodyModel(height_m=1.60, trunk=0.28, shin=0.24, girth=1.1)
    r = RepSpec
    return [
        ("rdl_right", ClipSpec(
            exercise="romanian_deadlift", load_kg=60, facing=1, fps=25,
            scene=Scene(width=640, height=360, noise_sigma=2.0, seed=1),
            look=Look(trousers=True, bottoms=(55, 55, 65)),
            reps=(r(trunk_bottom_deg=85, knee_bottom_deg=15, rounding_bottom_deg=3, eccentric_s=1.2),
                  r(trunk_bottom_deg=70, knee_bottom_deg=30, rounding_bottom_deg=15, trunk_top_deg=-8)))),
        ("deadlift_left_portrait", ClipSpec(
            exercise="deadlift", load_kg=100, facing=-1, fps=29.97, body=tall, portrait=True,
            scene=Scene(width=360, height=640, seed=2, wall_top=(190, 200, 210), wall_bottom=(150, 160, 170)),
            look=Look(skin=(140, 95, 65), shirt=(170, 40, 50), bottoms=(30, 40, 80), trousers=True),
            figure_height_frac=0.55,
            reps=(r(trunk_bottom_deg=55, knee_bottom_deg=60, eccentric_s=1.1, hips_rise_first=True),
                  r(trunk_bottom_deg=45, knee_bottom_deg=50, rounding_bottom_deg=10)))),
        ("swing_left", ClipSpec(
            exercise="kettlebell_swing", load_kg=24, facing=-1, fps=30, body=short,
            scene=Scene(width=640, height=360, seed=3, floor=(70, 70, 75)),
            look=Look(skin=(238, 200, 170), shirt=(40, 130, 80), trousers=True, bottoms=(20, 20, 22)),
            reps=tuple(r(trunk_bottom_deg=50, knee_bottom_deg=25, eccentric_s=0.55, concentric_s=0.5,
                         pause_bottom_s=0.0, pause_top_s=0.15) for _ in range(3)))),
        ("drill_right", ClipSpec(
            exercise="hip_hinge_drill", load_kg=0, facing=1, fps=24,
            scene=Scene(width=640, height=360, seed=4, noise_sigma=3.0),
            look=Look(shirt=(230, 140, 30), trousers=True, bottoms=(90, 85, 80), long_sleeves=True),
            reps=(r(trunk_bottom_deg=30, knee_bottom_deg=10), r(trunk_bottom_deg=80, knee_bottom_deg=20)))),
        ("good_morning_left", ClipSpec(
            exercise="good_morning", load_kg=40, facing=-1, fps=25,
            scene=Scene(width=640, height=360, seed=5),
            look=Look(shirt=(90, 60, 140), trousers=True),
            reps=(r(trunk_bottom_deg=75, knee_bottom_deg=12, eccentric_s=1.3),))),
    ]


def _measure(path: Path, facing: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    frames, _, _ = read_video(path)
    H, W = frames[0].shape[:2]
    n = len(frames)
    trunk, knee, ok = np.full(n, np.nan), np.full(n, np.nan), np.zeros(n, bool)
    with mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1) as pose:
        for i, f in enumerate(frames):
            res = pose.process(f)
            if res.pose_landmarks is None:
                continue
            lm = res.pose_landmarks.landmark
            xy = np.array([[p.x * W, p.y * H] for p in lm])
            vis = np.array([p.visibility for p in lm])
            o = 0 if vis[[23, 25, 27]].sum() >= vis[[24, 26, 28]].sum() else 1
            a = angles_from_points((xy[11] + xy[12]) / 2, (xy[23] + xy[24]) / 2, xy[25 + o], xy[27 + o], facing)
            trunk[i], knee[i], ok[i] = a["trunk_angle_deg"], a["knee_flexion_deg"], True
    return ok, trunk, knee


@pytest.mark.slow
def test_mediapipe_detects_synthetic_lifter_and_angles_match(tmp_path: Path) -> None:
    err_t: list[np.ndarray] = []
    err_k: list[np.ndarray] = []
    report = []
    for name, spec in _clips():
        spec = fit_camera(spec) if not spec.portrait else replace(spec, ankle_x_frac=0.5)
        truth = render_clip(tmp_path / f"{name}.mp4", spec)
        ok, trunk, knee = _measure(tmp_path / f"{name}.mp4", spec.facing)
        assert len(ok) == truth.n_frames
        det = ok.mean()
        et = np.abs(trunk[ok] - truth.frames["trunk_angle_deg"][ok])
        ek = np.abs(knee[ok] - truth.frames["knee_flexion_deg"][ok])
        report.append(f"{name}: det={det:.3f} trunk MAE={et.mean():.2f} knee MAE={ek.mean():.2f}")
        assert det >= DETECTION_MIN, report[-1]
        assert et.mean() <= PER_CLIP_TRUNK_MAE_MAX, report[-1]
        assert ek.mean() <= PER_CLIP_KNEE_MAE_MAX, report[-1]
        err_t.append(et)
        err_k.append(ek)
    t, k = np.concatenate(err_t), np.concatenate(err_k)
    print("\n".join(report), f"\npooled trunk MAE={t.mean():.2f} knee MAE={k.mean():.2f}")
    assert t.mean() <= TRUNK_MAE_MAX, report
    assert k.mean() <= KNEE_MAE_MAX, report
