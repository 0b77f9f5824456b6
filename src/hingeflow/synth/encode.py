"""Video writing (I/O): H.264/yuv420p MP4 via PyAV, optional display rotation via ffmpeg.

Rotation convention (verified with ffmpeg 5.1 / ffprobe / PyAV 15):
a portrait clip is rendered upright (``h > w``), its frames are *stored* rotated
90 degrees counter-clockwise (landscape pixels, ``w' = h``), and the container
gets a display matrix meaning "turn the stored picture 90 degrees clockwise to
display it" -- what phones write.  ffprobe reports that side data as
``rotation: -90`` and PyAV's ``VideoFrame.rotation`` is ``-90`` (both
counter-clockwise-positive, the ``av_display_rotation_get`` convention).
Caveat: ffmpeg 5.1's muxer turns the *tag* ``-metadata:s:v:0 rotate=R`` into a
matrix with rotation ``+R`` (counter-clockwise), so we remux with ``rotate=270``
to obtain ``rotation=-90``.  A decoder shows the upright picture by rotating the
stored pixels by the reported angle counter-clockwise:
``np.rot90(stored, k=round(rotation / 90))`` (k=-1: clockwise); ``ffmpeg``'s
autorotate does the same.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from hingeflow.decode import upright

FPS_ALIASES: dict[float, Fraction] = {
    29.97: Fraction(30000, 1001),
    23.976: Fraction(24000, 1001),
    59.94: Fraction(60000, 1001),
}


def fps_fraction(fps: float | Fraction) -> Fraction:
    """Exact frame rate: 29.97 -> 30000/1001, 23.976 -> 24000/1001, 25 -> 25."""
    if isinstance(fps, Fraction):
        return fps
    for k, v in FPS_ALIASES.items():
        if abs(fps - k) < 1e-3:
            return v
    return Fraction(fps).limit_denominator(1001)


def store_rotated(frame: np.ndarray) -> np.ndarray:
    """Upright portrait frame -> stored pixels for ``rotate=90`` (90 deg counter-clockwise)."""
    return np.ascontiguousarray(np.rot90(frame, k=1))


def write_video(
    path: Path,
    frames: Iterable[np.ndarray],
    fps: float | Fraction,
    crf: int = 23,
    preset: str = "ultrafast",
    rotate_display: int = 0,
) -> Path:
    """Encode RGB uint8 frames (all the same even-sized shape) to ``path`` (.mp4).

    With ``rotate_display=90`` the frames must be the upright portrait frames: they
    are stored rotated (see module docstring) and tagged with rotation metadata.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rate = fps_fraction(fps)
    tmp = path.with_name(path.stem + ".tmp-enc.mp4")
    with av.open(str(tmp), mode="w") as out:
        stream = None
        for img in frames:
            if rotate_display == 90:
                img = store_rotated(img)
            elif rotate_display:
                raise ValueError("only rotate_display 0 or 90 is supported")
            if stream is None:
                stream = out.add_stream("libx264", rate=rate)
                stream.width, stream.height = img.shape[1], img.shape[0]
                stream.pix_fmt = "yuv420p"
                stream.codec_context.time_base = 1 / rate
                stream.options = {"crf": str(crf), "preset": preset, "threads": "1"}
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            for pkt in stream.encode(frame):
                out.mux(pkt)
        if stream is not None:
            for pkt in stream.encode():
                out.mux(pkt)
    if rotate_display:
        _ffmpeg_rotate(tmp, path, (360 - rotate_display) % 360)
        tmp.unlink()
    else:
        tmp.replace(path)
    return path


def _ffmpeg_rotate(src: Path, dst: Path, rotate: int) -> None:
    """Remux with ffmpeg 5.1's ``rotate`` tag (ccw degrees in the resulting matrix)."""
    exe = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"
    cmd = [exe, "-y", "-v", "error", "-i", str(src), "-c", "copy", "-map_metadata", "-1",
           "-metadata:s:v:0", f"rotate={rotate}", "-fflags", "+bitexact", str(dst)]
    subprocess.run(cmd, check=True, capture_output=True)


def read_video(path: Path, apply_rotation: bool = True) -> tuple[list[np.ndarray], Fraction, float]:
    """Decode all frames (RGB). Returns (frames, average fps, display rotation in ccw deg)."""
    frames: list[np.ndarray] = []
    rot = 0.0
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        fps = s.average_rate
        for f in c.decode(s):
            rot = float(getattr(f, "rotation", 0) or 0)
            img = f.to_ndarray(format="rgb24")
            frames.append(upright(img, int(rot)) if apply_rotation else img)
    return frames, Fraction(fps) if fps else Fraction(0), rot
