"""Per-frame pose checks: a clean hinge passes at every depth; each kind of broken pose fails its check."""

from __future__ import annotations

import math

import polars as pl
import pytest

from hingeflow.plausibility import plausible
from poses import hinge_frame, mislabelled


def _video(rows_changed: dict[int, dict] | None = None) -> pl.DataFrame:
    """2 s of a clean hinge down and up (30 frames/s), some frames replaced."""
    rows = [hinge_frame("v", i, 80 * math.sin(math.pi * i / 60)) for i in range(61)]
    for i, row in (rows_changed or {}).items():
        rows[i] = row
    return pl.DataFrame(rows, infer_schema_length=None)


def _verdict(frame_30: dict) -> tuple[bool, str | None]:
    out = plausible(_video({30: frame_30})).filter(pl.col("frame_idx") == 30)
    return out["plausible"][0], out["implausible_reason"][0]


def test_a_clean_hinge_is_plausible_at_every_depth():
    out = plausible(_video())
    assert out["plausible"].all() and out["implausible_reason"].is_null().all()


def _scaled_segment(row: dict, joint: str, towards: str, factor: float) -> dict:
    """`row` with the near side's `joint` moved along the segment from `towards` so its length is x `factor`."""
    out = dict(row)
    for axis in ("x", "y"):
        base = row[f"left_{towards}_{axis}"]
        out[f"left_{joint}_{axis}"] = base + factor * (row[f"left_{joint}_{axis}"] - base)
    return out


def test_limbs_mislabelled_onto_each_other_fail():
    ok, reason = _verdict(mislabelled(hinge_frame("v", 30, 80.0)))
    assert not ok and "segment" in reason


def test_a_near_side_hidden_from_the_camera_is_not_tracked():
    row = hinge_frame("v", 30, 80.0)
    row.update({f"left_{j}_vis": 0.2 for j in ("shoulder", "hip", "knee", "ankle")})
    ok, reason = _verdict(row)
    assert not ok and reason.startswith("pose not tracked")


@pytest.mark.parametrize("factor", [0.4, 2.0])
def test_a_trunk_far_from_its_length_in_the_rest_of_the_video_fails(factor):
    ok, reason = _verdict(_scaled_segment(hinge_frame("v", 30, 80.0), "shoulder", "hip", factor))
    assert not ok and "segment's length" in reason


def test_a_video_whose_shins_are_always_too_short_for_the_trunk_fails_on_proportions():
    rows = {i: _scaled_segment(hinge_frame("v", i, 40.0), "ankle", "knee", 0.2) for i in range(61)}
    out = plausible(_video(rows))
    assert not out["plausible"].any()
    assert out["implausible_reason"].str.contains("proportion").all()


def test_left_and_right_thighs_of_very_different_length_fail():
    row = hinge_frame("v", 30, 80.0)
    for axis in ("x", "y"):  # the far thigh three times the near one; the near side is unchanged
        row[f"right_knee_{axis}"] = row[f"right_hip_{axis}"] + 3 * (row[f"right_knee_{axis}"] - row[f"right_hip_{axis}"])
    ok, reason = _verdict(row)
    assert not ok and "left and right" in reason


def test_a_shoulder_far_below_the_hip_is_out_of_order():
    ok, reason = _verdict(hinge_frame("v", 30, 140.0))  # trunk 50 deg below horizontal
    assert not ok and "out of order" in reason
