"""Probe a video with PyAV: duration, frame rate (incl. 29.97 and VFR), size, codec, rotation.

`probe_video` runs in a child process (see :mod:`hingeflow.isolation`); it
demuxes every packet (cheap) and decodes only the first frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from hingeflow.isolation import MediaProblem

VFR_TOLERANCE = 0.10  # (longest - shortest frame interval) / median above which a stream is VFR


@dataclass(frozen=True)
class ProbeResult:
    duration_s: float
    fps: float  # measured average from packet timestamps, frames/s
    nominal_fps: float | None  # the container's declared average rate
    frame_count: int
    vfr: bool
    width: int  # upright (displayed) size, px
    height: int
    rotation_deg: int  # display rotation, counter-clockwise, one of 0, 90, 180, 270
    codec: str


class UnusableVideo(MediaProblem):
    """The file is readable but cannot be analysed (no video stream, no frames...)."""


def normalise_rotation(deg: float) -> int:
    """Round a display rotation to a multiple of 90 in [0, 360)."""
    return int(round(deg / 90.0)) * 90 % 360


def upright_size(width: int, height: int, rotation_deg: int) -> tuple[int, int]:
    """Displayed (width, height) after applying a display rotation."""
    return (height, width) if rotation_deg in (90, 270) else (width, height)


def frame_rate_stats(pts_s: np.ndarray) -> tuple[float, bool]:
    """Average fps and a VFR flag from sorted frame times in seconds."""
    if pts_s.size < 2:
        return float("nan"), False
    d = np.diff(pts_s)
    d = d[d > 0]
    if d.size == 0:
        return float("nan"), False
    fps = (pts_s.size - 1) / float(pts_s[-1] - pts_s[0])
    spread = float(d.max() - d.min()) / float(np.median(d))
    return fps, spread > VFR_TOLERANCE


def _open(path: str) -> av.container.InputContainer:
    """Open a media file; a file FFmpeg cannot parse raises UnusableVideo (the cause in words)."""
    try:
        return av.open(path)
    except av.error.InvalidDataError:
        raise UnusableVideo("not a video FFmpeg can read (unknown format, or the file's index is missing: "
                            "an interrupted recording or upload?)") from None


def cut_off_reason(packets: int, indexed: int, seconds: float, fps: float) -> str | None:
    """Why a file whose index lists `indexed` frames but holds only `packets` is unusable, or None
    when it holds them all (`indexed` 0: the container keeps no count, e.g. WebM)."""
    if indexed <= 0 or packets >= indexed:
        return None
    listed = f" of {indexed / fps:.1f}" if np.isfinite(fps) and fps > 0 else ""
    return (f"file is cut off: it holds {packets} of the {indexed} frames its index lists "
            f"({seconds:.1f}{listed} s); upload it again")


def probe_video(path: str) -> ProbeResult:
    """Read a video's properties; raise UnusableVideo or av.FFmpegError if it cannot be used."""
    with _open(path) as container:
        if not container.streams.video:
            kinds = ", ".join(sorted({s.type for s in container.streams})) or "none"
            raise UnusableVideo(f"no video stream (streams: {kinds})")
        stream = container.streams.video[0]
        codec = stream.codec_context.name
        first = next(container.decode(stream), None)
        if first is None:
            raise UnusableVideo("no frame could be decoded")
    with _open(path) as container:
        stream = container.streams.video[0]
        # packets an edit list marks as discarded (decoder priming) are never shown; all packets
        # with data count against the index (the demuxer ends with an empty flush packet)
        times: list[float] = []
        packets = 0
        for packet in container.demux(stream):
            if packet.size > 0:
                packets += 1
                if packet.pts is not None and not packet.is_discard:
                    times.append(float(packet.pts * packet.time_base))
        if not times:
            raise UnusableVideo("video stream holds no frames")
        pts_s = np.sort(np.asarray(times))
        rotation = normalise_rotation(getattr(first, "rotation", 0) or 0)
        fps, vfr = frame_rate_stats(pts_s)
        if not np.isfinite(fps):
            fps = float(stream.average_rate or 0) or float("nan")
        nominal = float(stream.average_rate) if stream.average_rate else None
        duration = float(pts_s[-1] - pts_s[0]) + (1.0 / fps if np.isfinite(fps) and fps > 0 else 0.0)
        cut = cut_off_reason(packets, stream.frames, duration, fps)
        if cut:
            raise UnusableVideo(cut)
        width, height = upright_size(first.width, first.height, rotation)
        return ProbeResult(duration, fps, nominal, int(pts_s.size), vfr, width, height, rotation, codec)
