"""Records shared by the analytics modules (the interface between them)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

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


PER_VIDEO = ("facing", "side", "fps")  # the Signals fields that are not per-frame arrays


@dataclass(frozen=True)
class SignalsBatch:
    """Per-frame signals of several videos laid end to end (the reps of a chunk are found and
    measured on these at once).

    `frames`: each per-frame `Signals` field (t_s, valid, trunk_deg, ...) -> the videos'
    arrays concatenated; video v's frame i is at `offset[v] + i`. Per video: `offset`
    (V + 1,) its first frame (and one past the last video's end), `fps`, and `views`, its
    camera view ('side', 'front', 'diagonal'; None or '' = side).
    """

    frames: dict[str, np.ndarray]
    offset: np.ndarray
    fps: np.ndarray
    views: tuple[str | None, ...]

    @classmethod
    def of(cls, sigs: Sequence[Signals], views: Sequence[str | None]) -> SignalsBatch:
        """The videos' signals `sigs[v]`, seen from camera view `views[v]`."""
        names = [f.name for f in fields(Signals) if f.name not in PER_VIDEO]
        if not sigs:
            return cls({nm: np.empty(0, dtype=bool if nm in ("valid", "tracked") else float) for nm in names},
                       np.zeros(1, dtype=np.int64), np.empty(0), ())
        lengths = [len(s.t_s) for s in sigs]
        frames = {nm: np.concatenate([getattr(s, nm) for s in sigs]) for nm in names}
        for flag in ("valid", "tracked"):
            frames[flag] = frames[flag].astype(bool, copy=False)
        return cls(frames=frames,
                   offset=np.concatenate(([0], np.cumsum(lengths))).astype(np.int64),
                   fps=np.array([s.fps for s in sigs], dtype=np.float64), views=tuple(views))

    def video_of(self, frame: np.ndarray) -> np.ndarray:
        """Video index of each (global) frame index."""
        return np.searchsorted(self.offset, frame, side="right") - 1


@dataclass(frozen=True)
class RepBatch:
    """Reps of the videos of a `SignalsBatch`, in video and time order.

    Per rep, arrays of shape (R,): `video` (index into the batch's videos) and `start`,
    `bottom`, `end`: global frame indices into `signals.frames`, start <= bottom <= end
    inside the rep's video.
    """

    signals: SignalsBatch
    video: np.ndarray
    start: np.ndarray
    bottom: np.ndarray
    end: np.ndarray

    @classmethod
    def of(cls, signals: SignalsBatch, reps: Sequence[Sequence[Rep]]) -> RepBatch:
        """`reps[v]`: reps of video v as indices into its own signals, clamped into the video
        (start and end into its frames, bottom between them)."""
        counts = [len(r) for r in reps]
        video = np.repeat(np.arange(len(reps), dtype=np.int64), counts)
        raw = np.array([(r.start, r.bottom, r.end) for rr in reps for r in rr], dtype=np.int64).reshape(-1, 3)
        first, last = signals.offset[video], signals.offset[video + 1] - 1
        start = np.clip(first + raw[:, 0], first, last)
        end = np.clip(first + raw[:, 2], first, last)
        bottom = np.maximum(start, np.minimum(first + raw[:, 1], end))
        return cls(signals, video, start, bottom, end)

    @property
    def size(self) -> int:
        """Number of reps."""
        return int(self.video.size)

    def take(self, reps: np.ndarray) -> RepBatch:
        """The reps at the positions `reps`, on the same signals."""
        return RepBatch(self.signals, self.video[reps], self.start[reps], self.bottom[reps], self.end[reps])

    def per_video(self, video: int) -> list[Rep]:
        """The reps of one video as `Rep`s of indices into its own signals."""
        at = self.video == video
        base = int(self.signals.offset[video])
        return [Rep(a - base, b - base, c - base)
                for a, b, c in zip(self.start[at].tolist(), self.bottom[at].tolist(), self.end[at].tolist())]
