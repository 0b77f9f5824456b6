"""Make small test videos at test time (PyAV + ffmpeg), with known timing and orientation."""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def marker_frame(i: int, width: int, height: int) -> np.ndarray:
    """Upright RGB frame: grey, a red block in the top-left corner, a bar whose width encodes i."""
    img = np.full((height, width, 3), 90, np.uint8)
    img[: height // 5, : width // 5] = (255, 0, 0)
    img[-10:, : min(width, 4 * (i % (width // 4) + 1))] = 255
    return img


def write_clip(path: Path, frames: list[np.ndarray], times_s: list[float], time_base: Fraction = Fraction(1, 90000),
               rate: Fraction = Fraction(30), codec: str = "libx264", options: dict[str, str] | None = None) -> Path:
    """Encode frames with explicit presentation times (seconds) with `codec` (default H.264) into
    the container `path`'s suffix names (.mp4, .webm); `options`: the encoder's."""
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.time_base = time_base
        stream.codec_context.time_base = time_base
        if options:
            stream.options = options
        for img, t in zip(frames, times_s):
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = int(round(t / time_base))
            frame.time_base = time_base
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def constant_rate_clip(path: Path, n: int, fps: Fraction, width: int = 160, height: int = 120) -> Path:
    times = [float(i / fps) for i in range(n)]
    return write_clip(path, [marker_frame(i, width, height) for i in range(n)], times, rate=fps)


def with_display_rotation(src: Path, dst: Path, ccw_deg: int) -> Path:
    """Copy a clip, tagging it to be shown rotated counter-clockwise by `ccw_deg` (phone style).

    ffmpeg 5.1 stores the `rotate` tag as a display matrix of that many degrees
    counter-clockwise, which is what ffprobe then reports as `rotation`.
    """
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(src), "-c", "copy",
         "-metadata:s:v:0", f"rotate={ccw_deg}", str(dst)],
        check=True,
    )
    return dst


def rotated_storage(upright: np.ndarray, ccw_deg: int) -> np.ndarray:
    """Pixels to store so that rotating them counter-clockwise by `ccw_deg` shows `upright`."""
    return np.ascontiguousarray(np.rot90(upright, -(ccw_deg // 90)))
