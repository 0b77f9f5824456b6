import numpy as np
import pytest

from hingeflow.backline import measure_back


def trunk_mask(facing: int, bulge_px: float, arch: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A horizontal trunk 200 px long, 40 px thick; its back outline bulges up by bulge_px."""
    mask = np.zeros((300, 400), np.float32)
    xs = np.arange(100, 301)
    sign = -1 if arch else 1
    top = 130 - sign * bulge_px * np.sin(np.pi * (xs - 100) / 200)
    for x, t in zip(xs, top):
        mask[int(round(t)):171, x] = 1
    hip, shoulder = (np.array([100.0, 150.0]), np.array([300.0, 150.0]))
    return (mask, hip, shoulder) if facing > 0 else (mask, shoulder, hip)


@pytest.mark.parametrize("facing", [1, -1])
def test_straight_back_measures_zero(facing):
    bulge, bend = measure_back(*trunk_mask(facing, 0.0), facing)
    assert bulge == pytest.approx(0.0, abs=0.01) and bend == pytest.approx(0.0, abs=2)


@pytest.mark.parametrize("facing", [1, -1])
def test_rounding_grows_bulge_and_bend(facing):
    small = measure_back(*trunk_mask(facing, 10.0), facing)
    large = measure_back(*trunk_mask(facing, 25.0), facing)
    assert 0 < small[0] < large[0]
    assert 0 < small[1] < large[1]
    # the baseline joins the outline's sampled ends (12% and 88% along the chord)
    assert large[0] == pytest.approx(25 * (1 - np.sin(0.12 * np.pi)) / 200, abs=0.01)


def test_arched_back_is_negative():
    bulge, bend = measure_back(*trunk_mask(1, 15.0, arch=True), 1)
    assert bulge < 0 and bend < 0


def test_no_mask_is_nan():
    mask = np.zeros((300, 400), np.float32)
    assert np.isnan(measure_back(mask, np.array([100.0, 150.0]), np.array([300.0, 150.0]), 1)).all()
