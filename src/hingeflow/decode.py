"""Decode a video into upright RGB frames at an analysis rate, with pts timestamps."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import av
import numpy as np

from hingeflow.isolation import MediaProblem
from hingeflow.probe import normalise_rotation

T = TypeVar("T")
_DONE = object()


@dataclass(frozen=True)
class DecodedFrame:
    frame_idx: int  # index in decode order, counting every frame of the stream
    t_s: float  # presentation time in seconds from the stream's first frame
    rgb: np.ndarray  # H x W x 3 uint8, upright, downscaled to max_side_px


def scaled_size(width: int, height: int, max_side_px: int) -> tuple[int, int]:
    """(width, height) scaled so the long side is at most max_side_px; even numbers."""
    scale = min(1.0, max_side_px / max(width, height))
    return max(2, int(round(width * scale / 2)) * 2), max(2, int(round(height * scale / 2)) * 2)


class Subsampler:
    """Keeps frames about 1/analysis_fps apart, judged on timestamps (VFR and 29.97 safe).

    A frame is kept when it reaches the next slot of a fixed time grid; after a
    gap the grid restarts at the frame, so kept frames never bunch up.
    """

    TOLERANCE = 0.05  # of a step: absorbs timestamp rounding (e.g. 30000/1001 fps)

    def __init__(self, analysis_fps: float) -> None:
        self.step = 1.0 / analysis_fps
        self.next_t: float | None = None

    def keep(self, t: float) -> bool:
        if self.next_t is not None and t < self.next_t - self.TOLERANCE * self.step:
            return False
        self.next_t = t + self.step if self.next_t is None else max(self.next_t + self.step, t + 0.5 * self.step)
        return True


def keep_mask(t_s: np.ndarray, analysis_fps: float) -> np.ndarray:
    """Boolean mask of the frames a :class:`Subsampler` keeps."""
    sampler = Subsampler(analysis_fps)
    return np.array([sampler.keep(float(t)) for t in t_s], dtype=bool)


def upright(rgb: np.ndarray, rotation_deg: int) -> np.ndarray:
    """Apply a counter-clockwise display rotation to stored pixels."""
    k = normalise_rotation(rotation_deg) // 90
    return np.ascontiguousarray(np.rot90(rgb, k)) if k else rgb


class DamagedVideo(MediaProblem):
    """The decoder met data it cannot read part-way through the video."""


def iter_frames(path: str, analysis_fps: float, max_side_px: int) -> Iterator[DecodedFrame]:
    """Yield upright, downscaled RGB frames about 1/analysis_fps apart.

    Timestamps come from each frame's pts (never from a nominal frame rate); a
    frame without pts gets the previous time plus one nominal frame interval.
    """
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        nominal_dt = 1.0 / float(stream.average_rate) if stream.average_rate else 1.0 / 30.0
        sampler = Subsampler(analysis_fps)
        t0: float | None = None
        last_t = -nominal_dt
        size: tuple[int, int] | None = None
        try:
            for idx, frame in enumerate(container.decode(stream)):
                t_abs = float(frame.pts * frame.time_base) if frame.pts is not None else None
                if t0 is None:
                    t0 = t_abs if t_abs is not None else 0.0
                t = (t_abs - t0) if t_abs is not None else last_t + nominal_dt
                last_t = t
                if not sampler.keep(t):
                    continue
                if size is None:
                    size = scaled_size(frame.width, frame.height, max_side_px)
                rgb = frame.to_ndarray(format="rgb24", width=size[0], height=size[1])
                yield DecodedFrame(idx, t, upright(rgb, getattr(frame, "rotation", 0) or 0))
        except av.error.FFmpegError as exc:
            raise DamagedVideo(f"video data is damaged after {max(last_t, 0.0):.1f} s "
                               f"({exc.strerror or type(exc).__name__})") from None


def prefetch(items: Iterable[T], depth: int = 4) -> Iterator[T]:
    """Iterate `items` in a background thread, up to `depth` ahead.

    PyAV releases the GIL while decoding, so the next frames decode on another
    core while the caller runs pose on the current one. Exceptions re-raise here.
    """
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                q.put(item)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            q.put(exc)
        finally:
            q.put(_DONE)

    thread = threading.Thread(target=produce, name="decode-prefetch", daemon=True)
    thread.start()
    try:
        while (item := q.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                q.get_nowait()
            except queue.Empty:
                thread.join(0.01)
