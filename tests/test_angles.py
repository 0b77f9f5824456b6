import numpy as np
import pytest

from hingeflow.angles import facing_from_feet, flexion_deg, frame_angles, near_side, trunk_angle_deg
from hingeflow.landmarks import INDEX


def test_trunk_angle_conventions():
    hip = np.array([[100.0, 200.0]] * 4)
    shoulder = np.array([[100.0, 100.0], [200.0, 200.0], [150.0, 150.0], [80.0, 100.0]])
    assert trunk_angle_deg(hip, shoulder, +1) == pytest.approx([0, 90, 45, -11.3099], abs=1e-3)
    # the same poses seen facing the other way flip only the sign of x
    mirrored = shoulder * [-1, 1] + [200, 0]
    assert trunk_angle_deg(hip, mirrored, -1) == pytest.approx([0, 90, 45, -11.3099], abs=1e-3)


def test_flexion_is_zero_for_a_straight_limb():
    a, b = np.array([[0.0, 0.0]]), np.array([[0.0, 1.0]])
    assert flexion_deg(a, b, np.array([[0.0, 2.0]])) == pytest.approx([0.0])
    assert flexion_deg(a, b, np.array([[1.0, 1.0]])) == pytest.approx([90.0])


def _pose(facing: int) -> tuple[np.ndarray, np.ndarray]:
    xy = np.full((1, 33, 2), np.nan)
    vis = np.zeros((1, 33))
    pts = {"shoulder": (150, 150), "hip": (100, 200), "knee": (120, 300), "ankle": (100, 400),
           "heel": (90, 410), "foot_index": (130, 410)}
    for side in ("left", "right"):
        for joint, (x, y) in pts.items():
            xy[0, INDEX[f"{side}_{joint}"]] = (100 + facing * (x - 100), y)
            vis[0, INDEX[f"{side}_{joint}"]] = 0.9 if side == "left" else 0.4
    return xy, vis


@pytest.mark.parametrize("facing", [1, -1])
def test_frame_angles_and_facing(facing):
    xy, vis = _pose(facing)
    assert facing_from_feet(xy, vis) == facing
    assert near_side(vis) == "left"
    out = frame_angles(xy, facing, "left")
    assert out["trunk_angle_deg"][0] == pytest.approx(45.0)
    expected_knee = 180 - np.degrees(np.arccos(np.dot([-20, -100], [-20, 100]) / (np.hypot(20, 100) ** 2)))
    assert out["knee_flexion_deg"][0] == pytest.approx(expected_knee)
    assert out["hip_flexion_deg"][0] > 45
