"""Awkward and broken videos made at test time (PyAV, ffmpeg): the bad-input corpus's media.

The person in them is the synthetic athlete (`hingeflow.synth`), so MediaPipe finds a
real pose where there should be one. Every function writes one file and returns its path.
"""

from __future__ import annotations

import subprocess
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import numpy as np

from hingeflow.synth.clip import ClipSpec, iter_frames
from hingeflow.synth.kinematics import RepSpec
from hingeflow.synth.render import Look, background
from media import with_display_rotation, write_clip

CORPUS_SPEC = ClipSpec(reps=(RepSpec(), RepSpec()), lead_in_s=0.6, tail_s=0.6)  # two reps, about 6.5 s


def figure_frames(spec: ClipSpec = CORPUS_SPEC) -> list[np.ndarray]:
    """The spec's upright RGB frames."""
    return list(iter_frames(spec))


def encode(path: Path, frames: list[np.ndarray], fps: float = 30.0, codec: str = "libx264",
           times_s: list[float] | None = None, options: dict[str, str] | None = None) -> Path:
    """`media.write_clip` at `fps` (times i / fps unless `times_s` says otherwise), one encoder thread."""
    times_s = times_s if times_s is not None else [i / fps for i in range(len(frames))]
    return write_clip(path, frames, times_s, rate=Fraction(fps).limit_denominator(1001), codec=codec,
                      options={"threads": "1", **(options or {})})


def ffmpeg(*args: str) -> None:
    """Run ffmpeg quietly; raise on failure."""
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def faststart(src: Path, dst: Path) -> Path:
    """Copy of `src` with the index (moov box) before the media data, as phones and web uploads have it."""
    ffmpeg("-i", str(src), "-c", "copy", "-movflags", "+faststart", str(dst))
    return dst


def truncated(src: Path, dst: Path, keep: float) -> Path:
    """The first `keep` (0-1) of `src`'s bytes: an upload cut off mid-stream."""
    data = src.read_bytes()
    dst.write_bytes(data[:int(len(data) * keep)])
    return dst


def without_moov(src: Path, dst: Path) -> Path:
    """`src` cut just before its top-level moov box (written last, as by a phone whose recording
    was interrupted): the media data is intact but the index that says how to read it is gone."""
    data = src.read_bytes()
    at = 0
    while at + 8 <= len(data):
        size = int.from_bytes(data[at:at + 4], "big")
        if data[at + 4:at + 8] == b"moov":
            dst.write_bytes(data[:at])
            return dst
        if size < 8:
            break
        at += size
    raise ValueError(f"{src} has no top-level moov box")


def audio_only(path: Path, seconds: float = 2.0) -> Path:
    """An AAC sound track (silence) in an MP4 container, no video stream."""
    ffmpeg("-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", str(seconds), "-c:a", "aac", str(path))
    return path


def pattern_clip(path: Path, seconds: float, source: str = "testsrc2", size: str = "320x240", fps: int = 30) -> Path:
    """A clip of an ffmpeg test source without a person: `testsrc2` (moving colour pattern) or
    `color` (an even grey, cheap to make at any length), H.264."""
    spec = f"{source}=size={size}:rate={fps}" + (":c=gray" if source == "color" else "")
    ffmpeg("-f", "lavfi", "-i", spec, "-t", str(seconds),
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(path))
    return path


def upscaled(src: Path, dst: Path, width: int, height: int) -> Path:
    """`src` scaled to width x height (H.264)."""
    ffmpeg("-i", str(src), "-vf", f"scale={width}:{height}", "-c:v", "libx264", "-preset", "ultrafast",
           "-pix_fmt", "yuv420p", str(dst))
    return dst


def rotated(src: Path, dst: Path, ccw_deg: int) -> Path:
    """`src`'s pixels stored turned clockwise by `ccw_deg`, tagged to be shown turned back counter-
    clockwise by `ccw_deg` (a phone's display matrix), so a player shows the original upright."""
    turn = {90: "transpose=1", 270: "transpose=2"}[ccw_deg]  # clockwise, counter-clockwise
    stored = dst.with_name(dst.stem + ".stored.mp4")
    ffmpeg("-i", str(src), "-vf", turn, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
           str(stored))
    with_display_rotation(stored, dst, ccw_deg)
    stored.unlink()
    return dst


def _figure_mask(img: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """Pixels where a rendered frame differs from its empty background (the figure and its load)."""
    return np.abs(img.astype(np.int16) - bg).max(axis=2) > 12


def two_people(spec: ClipSpec = CORPUS_SPEC) -> list[np.ndarray]:
    """The athlete at 30% of the width and a second lifter (other clothes, facing the other way,
    a different rhythm) at 75%, drawn over one background."""
    a = replace(spec, ankle_x_frac=0.3)
    b = replace(spec, ankle_x_frac=0.75, facing=-1, look=Look(shirt=(170, 60, 40), bottoms=(30, 30, 30)),
                reps=(RepSpec(eccentric_s=1.6, concentric_s=1.2),) * 2, lead_in_s=0.2)
    bg = background(spec.scene).astype(np.int16)
    out = []
    for fa, fb in zip(iter_frames(a), iter_frames(b)):
        img = fa.copy()
        m = _figure_mask(fb, bg)
        img[m] = fb[m]
        out.append(img)
    return out


def leaving_frame(spec: ClipSpec = CORPUS_SPEC, walk_s: float = 1.0, empty_s: float = 2.0) -> list[np.ndarray]:
    """The athlete's clip, then the figure sliding out of the picture to the right over `walk_s`,
    then `empty_s` of the empty background."""
    frames = figure_frames(spec)
    bg = background(spec.scene)
    last, fps = frames[-1], float(spec.fps)
    m = _figure_mask(last, bg.astype(np.int16))
    ys, xs = np.nonzero(m)
    width = bg.shape[1]
    for k in range(1, int(walk_s * fps) + 1):
        dx = int(round(k / (walk_s * fps) * (width - xs.min())))
        img = bg.copy()
        keep = xs + dx < width
        img[ys[keep], xs[keep] + dx] = last[ys[keep], xs[keep]]
        frames.append(img)
    frames += [bg.copy() for _ in range(int(empty_s * fps))]
    return frames


def variable_rate_indices(n_source: int, fps: float) -> list[int]:
    """Indices of the frames a phone's variable-rate encoder keeps out of `n_source` frames at
    `fps`: runs of every frame, every second frame and every third frame in turn."""
    keep, i, step = [], 0, [1, 2, 3]
    while i < n_source:
        for _ in range(int(fps // 2)):  # half a second at each spacing
            if i >= n_source:
                break
            keep.append(i)
            i += step[0]
        step = step[1:] + step[:1]
    return keep
