"""One synthetic clip: explicit parameters (``ClipSpec``) -> frames + truth.

``plan_clip`` / ``clip_truth`` are pure; ``render_clip`` writes the video.
Truth angles are recomputed from the *drawn* 2D joint centres (upright-image
pixels) per DESIGN.md: trunk signed by facing (0 upright, + forward lean,
- lean-back), knee flexion = 180 - angle(hip, knee, ankle), hip flexion =
180 - angle(shoulder, hip, knee).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .encode import fps_fraction, write_video
from .kinematics import (
    BodyModel,
    Camera,
    Pose2D,
    RepSpec,
    Timeline,
    angles_from_points,
    build_timeline,
    forward_kinematics,
    frame_joints,
)
from .render import Load, Look, Scene, background, plate_diameter_m, render_frame

EXERCISES = ("deadlift", "romanian_deadlift", "kettlebell_swing", "good_morning", "hip_hinge_drill")
ARM_MODE = {
    "deadlift": "hang",
    "romanian_deadlift": "hang",
    "good_morning": "back",
    "kettlebell_swing": "swing",
    "hip_hinge_drill": "chest",
}
LOAD_KIND = {
    "deadlift": "barbell",
    "romanian_deadlift": "barbell",
    "good_morning": "barbell",
    "kettlebell_swing": "kettlebell",
    "hip_hinge_drill": "none",
}

# Thresholds used to LABEL the truth faults from the generating parameters.
SQUAT_KNEE_DEG = {"romanian_deadlift": 35.0, "good_morning": 35.0, "hip_hinge_drill": 35.0,
                  "kettlebell_swing": 45.0, "deadlift": 1e9}
SHALLOW_TRUNK_DEG = {"romanian_deadlift": 45.0, "good_morning": 45.0, "hip_hinge_drill": 40.0,
                     "kettlebell_swing": 30.0, "deadlift": 30.0}
ROUNDED_DEG = 10.0
OVEREXT_DEG = -8.0
INCOMPLETE_DEG = 12.0
LOCKED_KNEE_DEG = 5.0
DRIFT_FRAC = 0.3
RUSHED_ECC_S = 0.7
# A fault whose generating amount lies past its label threshold by less than this band is
# "borderline": labelled, but not scored (the analysis may fairly call it not assessable).
# The bands are the measurement noise the analysis works with (coaching-criteria: spinal
# MDC 1-8 deg, 2D knee error ~5-7 deg; trunk at lockout ~4 deg; bar path ~0.1 thigh;
# lowering time ~0.15 s).
BORDERLINE_BAND = {"rounded_back": 5.0, "lockout_overextension": 4.0, "incomplete_lockout": 4.0,
                   "squatting_the_hinge": 5.0, "load_drift": 0.1, "rushed_eccentric": 0.15}


def label_faults(exercise: str, r: RepSpec) -> list[str]:
    """DESIGN.md fault names that a rep generated with ``r`` exhibits (truth labels)."""
    f: list[str] = []
    if r.knee_bottom_deg > SQUAT_KNEE_DEG.get(exercise, 1e9):
        f.append("squatting_the_hinge")
    if r.rounding_bottom_deg >= ROUNDED_DEG:
        f.append("rounded_back")
    if r.trunk_top_deg <= OVEREXT_DEG:
        f.append("lockout_overextension")
    if r.trunk_top_deg >= INCOMPLETE_DEG:
        f.append("incomplete_lockout")
    if exercise != "deadlift" and r.knee_bottom_deg < LOCKED_KNEE_DEG:
        f.append("locked_knees")
    if LOAD_KIND[exercise] == "barbell" and ARM_MODE[exercise] == "hang" and r.drift_frac >= DRIFT_FRAC:
        f.append("load_drift")
    if exercise != "kettlebell_swing" and r.eccentric_s < RUSHED_ECC_S:
        f.append("rushed_eccentric")
    if r.trunk_bottom_deg < SHALLOW_TRUNK_DEG.get(exercise, 0.0):
        f.append("shallow_range")
    if r.hips_rise_first:
        f.append("hips_rise_first")
    return f


def borderline_faults(exercise: str, r: RepSpec) -> list[str]:
    """The labelled faults of ``r`` that lie within their BORDERLINE_BAND of the label threshold."""
    past = {"rounded_back": r.rounding_bottom_deg - ROUNDED_DEG,
            "lockout_overextension": OVEREXT_DEG - r.trunk_top_deg,
            "incomplete_lockout": r.trunk_top_deg - INCOMPLETE_DEG,
            "squatting_the_hinge": r.knee_bottom_deg - SQUAT_KNEE_DEG.get(exercise, 1e9),
            "load_drift": r.drift_frac - DRIFT_FRAC,
            "rushed_eccentric": RUSHED_ECC_S - r.eccentric_s}
    return [f for f in label_faults(exercise, r) if f in past and past[f] < BORDERLINE_BAND[f]]


@dataclass(frozen=True)
class ClipSpec:
    """Everything needed to render one clip deterministically.

    ``scene.width/height`` are the *upright* frame size; ``portrait=True`` requires
    height > width and stores the clip rotated with display-rotation metadata.
    ``figure_height_frac``: standing height / frame height; ``ankle_x_frac``: ankle
    column / width; ``fps`` may be 23.976 or 29.97 (exact NTSC rates used).
    """

    exercise: str = "romanian_deadlift"
    reps: tuple[RepSpec, ...] = (RepSpec(),)
    load_kg: float = 60.0
    body: BodyModel = BodyModel()
    look: Look = Look()
    scene: Scene = Scene()
    fps: float = 30.0
    facing: int = 1
    figure_height_frac: float = 0.72
    ankle_x_frac: float = 0.5
    portrait: bool = False
    lead_in_s: float = 0.5
    tail_s: float = 0.5
    near_plate: bool = False


@dataclass
class ClipTruth:
    """Per-frame and per-rep truth for one clip (upright-image pixels)."""

    fps: float
    width: int
    height: int
    facing: int
    frames: dict[str, np.ndarray]  # columns of the frames truth table
    reps: list[dict[str, object]]
    joints_px: dict[str, np.ndarray] = field(default_factory=dict)  # name -> (n, 2)

    @property
    def n_frames(self) -> int:
        return len(self.frames["frame_idx"])


def _camera(spec: ClipSpec) -> Camera:
    H, W = spec.scene.height, spec.scene.width
    scale = spec.figure_height_frac * H / spec.body.height_m
    return Camera(scale, spec.ankle_x_frac * W, spec.scene.floor_v * H, spec.facing)


def plan_clip(spec: ClipSpec) -> tuple[Timeline, Pose2D, Camera]:
    """Pure: timeline, world-frame pose for every frame and the camera."""
    fps = float(fps_fraction(spec.fps))
    tl = build_timeline(list(spec.reps), fps, spec.lead_in_s, spec.tail_s)
    mode = ARM_MODE[spec.exercise]
    swing = None
    if mode == "swing":
        swing = tl.progress * -25.0 + (1 - tl.progress) * 80.0 * tl.swing_w
    bw = 75.0
    load_frac = 0.0 if mode in ("back", "chest") else min(spec.load_kg / bw, 2.5) * 0.5
    min_y = 0.0
    if LOAD_KIND[spec.exercise] == "barbell" and mode == "hang":
        min_y = plate_diameter_m(max(spec.load_kg - 20.0, 0.0) / 2) / 2
    pose = forward_kinematics(spec.body, tl.trunk_deg, tl.knee_deg, tl.rounding_deg, tl.drift_frac,
                              mode, swing, load_frac, min_y)
    return tl, pose, _camera(spec)


def clip_truth(spec: ClipSpec) -> ClipTruth:
    """Pure: truth tables computed from the drawn joint centres."""
    tl, pose, cam = plan_clip(spec)
    names = ("ankle", "heel", "toe", "knee", "hip", "shoulder", "elbow", "wrist", "neck", "head", "midfoot")
    J = {k: cam.project(getattr(pose, k)) for k in names}
    ang = angles_from_points(J["shoulder"], J["hip"], J["knee"], J["ankle"], spec.facing)
    chord = np.linalg.norm(J["shoulder"] - J["hip"], axis=1)
    trunk_px = spec.body.m(spec.body.trunk) * cam.scale_px_per_m
    thigh_px = spec.body.m(spec.body.thigh) * cam.scale_px_per_m
    n = len(tl.t_s)
    frames = {
        "frame_idx": np.arange(n, dtype=np.int64),
        "t_s": tl.t_s,
        "trunk_angle_deg": ang["trunk_angle_deg"],
        "knee_flexion_deg": ang["knee_flexion_deg"],
        "hip_flexion_deg": ang["hip_flexion_deg"],
        "spine_rounding_deg": tl.rounding_deg.copy(),
        "chord_ratio": chord / trunk_px,
        "wrist_offset_frac": spec.facing * (J["wrist"][:, 0] - J["midfoot"][:, 0]) / thigh_px,
    }
    reps: list[dict[str, object]] = []
    for i, ((t0, tb, t1), r) in enumerate(zip(tl.reps, spec.reps)):
        m = (tl.t_s >= t0) & (tl.t_s <= t1)
        ib = int(np.argmin(np.abs(tl.t_s - tb)))
        reps.append({
            "rep_index": i + 1,
            "t_start_s": float(t0),
            "t_bottom_s": float(tb),
            "t_end_s": float(t1),
            "trunk_angle_bottom_deg": float(frames["trunk_angle_deg"][m].max()) if m.any() else float("nan"),
            "knee_flexion_bottom_deg": float(frames["knee_flexion_deg"][ib]),
            "spine_rounding_bottom_deg": float(frames["spine_rounding_deg"][ib]),
            "faults": label_faults(spec.exercise, r),
            "borderline": borderline_faults(spec.exercise, r),
        })
    return ClipTruth(float(fps_fraction(spec.fps)), spec.scene.width, spec.scene.height, spec.facing,
                     frames, reps, J)


def iter_frames(spec: ClipSpec) -> Iterator[np.ndarray]:
    """Render the upright RGB frames of a clip (deterministic for the spec)."""
    _, pose, cam = plan_clip(spec)
    bg = background(spec.scene)
    load = Load(LOAD_KIND[spec.exercise], spec.load_kg if LOAD_KIND[spec.exercise] != "none" else 0.0,
                near_plate=spec.near_plate)
    rng = np.random.default_rng(spec.scene.seed + 7919)
    noises = None
    if spec.scene.noise_sigma > 0:
        shape = (spec.scene.height, spec.scene.width, 3)
        noises = [np.round(rng.normal(0.0, spec.scene.noise_sigma, shape)).astype(np.int16) for _ in range(4)]
    for i in range(len(pose.hip)):
        yield render_frame(bg, frame_joints(pose, i), spec.body, spec.look, cam, load,
                           None if noises is None else noises[i % len(noises)])


def render_clip(path: Path, spec: ClipSpec) -> ClipTruth:
    """Render and encode the clip to ``path`` (mp4); returns its truth."""
    if spec.portrait and spec.scene.height <= spec.scene.width:
        raise ValueError("portrait clips need scene.height > scene.width")
    write_video(Path(path), iter_frames(spec), spec.fps, rotate_display=90 if spec.portrait else 0)
    return clip_truth(spec)
