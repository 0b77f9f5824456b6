"""Records shared by the analytics modules (the interface between them)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Signals:
    """Per-frame signals of one video, all arrays of shape (n,), aligned with `t_s`.

    Angles in degrees (DESIGN.md conventions), smoothed with a zero-lag filter;
    NaN where not observable (no person, long dropout).
    """

    t_s: np.ndarray  # seconds
    valid: np.ndarray  # bool: a person is (or was interpolated) present
    trunk_deg: np.ndarray  # hip-mid -> shoulder-mid from vertical, + forward
    knee_deg: np.ndarray  # near-side knee flexion, 0 = straight
    hip_deg: np.ndarray  # near-side hip flexion
    chord_ratio: np.ndarray  # shoulder-hip distance / the athlete's standing distance (1 = standing)
    neck_deg: np.ndarray  # head line (shoulder->ear) against trunk line (hip->shoulder); + = head dropped forward
    back_bulge: np.ndarray  # back_bulge_frac from the person mask (fraction of trunk length)
    back_bend: np.ndarray  # back_bend_deg from the person mask
    hip_back: np.ndarray  # hip horizontal travel backwards (opposite to facing) from its standing position / thigh length
    hip_down: np.ndarray  # hip vertical drop from its standing position / thigh length (+ = lower)
    wrist_offset: np.ndarray  # wrist horizontal offset from mid-foot, + forward (facing side), / thigh length
    hip_tilt: np.ndarray  # hip line from horizontal, deg, + = athlete's left hip higher (front views; meaningless side-on)
    tracked: np.ndarray  # bool: near knee or ankle seen (visibility >= LOW_VIS) and the pose plausible (see signals)
    vertical: np.ndarray  # view-independent depth signal in [0, ~1]: 0 standing, larger = lower (for front/diagonal views)
    facing: int  # +1 athlete faces image right, -1 left
    side: str  # near side used: 'left' | 'right'
    fps: float  # analysed frames per second (median)


@dataclass(frozen=True)
class Rep:
    """One repetition as indices into a Signals' arrays: start <= bottom <= end."""

    start: int
    bottom: int
    end: int
