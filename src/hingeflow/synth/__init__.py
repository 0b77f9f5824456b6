"""Synthetic gym footage with known hip-hinge kinematics (for end-to-end tests and demos).

* ``kinematics`` (pure): body model, rep timelines, forward kinematics, DESIGN.md angles.
* ``render`` (pure): one RGB frame of a side-view lifter drawn with cv2.
* ``encode`` (I/O): H.264 MP4 via PyAV, portrait clips with display-rotation metadata.
* ``clip``: ``ClipSpec`` -> ``render_clip(path, spec) -> ClipTruth``.
* ``gym``: ``make_gym(out_dir, athletes, weeks, seed)`` -> inbox + manifests + truth.
"""

from .clip import EXERCISES, ClipSpec, ClipTruth, clip_truth, iter_frames, label_faults, render_clip
from .gym import MANIFEST_COLUMNS, GymSummary, make_gym, plan_gym
from .kinematics import BodyModel, RepSpec, angles_from_points
from .render import Look, Scene

__all__ = [
    "EXERCISES", "MANIFEST_COLUMNS", "BodyModel", "ClipSpec", "ClipTruth", "GymSummary", "Look",
    "RepSpec", "Scene", "angles_from_points", "clip_truth", "iter_frames", "label_faults",
    "make_gym", "plan_gym", "render_clip",
]
