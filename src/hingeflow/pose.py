"""MediaPipe pose over one video, written as a staged `frames` Parquet file.

`extract_pose` is meant to run in a child process (see :mod:`hingeflow.isolation`):
it decodes the video, runs one `solutions.pose.Pose` object in tracking (video)
mode over the kept frames, measures the back outline on the person mask, and
writes the rows atomically. Frames without a person are kept as rows with nulls.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path

import mediapipe as mp
import numpy as np
import polars as pl

from hingeflow import angles, backline, schemas
from hingeflow.decode import iter_frames, prefetch
from hingeflow.landmarks import INDEX, LANDMARKS
from hingeflow.parquet_io import write_parquet_atomic

POSE_MODEL = {0: "blazepose_lite", 1: "blazepose_full", 2: "blazepose_heavy"}
POSE_MODEL_VERSION = f"mediapipe-{mp.__version__}"
N = len(LANDMARKS)


@dataclass(frozen=True)
class PoseOptions:
    analysis_fps: float = 30.0
    max_side_px: int = 960
    model_complexity: int = 1
    segmentation: bool = True
    other_person_every_s: float = 1.0  # look for a second person about this often; 0 = never


@dataclass(frozen=True)
class PoseSummary:
    frames_analysed: int
    frames_with_person: int
    last_frame_idx: int
    seconds: float

    @property
    def detection_rate(self) -> float:
        return self.frames_with_person / self.frames_analysed if self.frames_analysed else 0.0


@dataclass
class _Buffers:
    """Per-frame outputs collected while the video plays."""

    frame_idx: list[int]
    t_s: list[float]
    xy: list[np.ndarray]  # (33, 2) upright-frame pixels
    vis: list[np.ndarray]  # (33,)
    world: list[np.ndarray]  # (33, 3) metres
    back: list[np.ndarray]  # (2 facings, 2 measures)
    other: list[bool | None]  # a second person seen; None on frames not sampled


def _landmarks(result, width: int, height: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if result.pose_landmarks is None:
        nan = np.full((N, 2), np.nan)
        return nan, np.full(N, np.nan), np.full((N, 3), np.nan)
    lm = result.pose_landmarks.landmark
    xy = np.array([(p.x * width, p.y * height) for p in lm])
    vis = np.array([p.visibility for p in lm])
    world = np.array([(p.x, p.y, p.z) for p in result.pose_world_landmarks.landmark])
    return xy, vis, world


def _back_measures(result, xy_norm: np.ndarray) -> np.ndarray:
    """Back bulge and bend for facing right (row 0) and left (row 1); NaN when unknown."""
    out = np.full((2, 2), np.nan)
    mask = result.segmentation_mask
    if mask is None or not np.isfinite(xy_norm).all():
        return out
    h, w = mask.shape
    scale = np.array([w, h])
    hip = (xy_norm[INDEX["left_hip"]] + xy_norm[INDEX["right_hip"]]) / 2 * scale
    shoulder = (xy_norm[INDEX["left_shoulder"]] + xy_norm[INDEX["right_shoulder"]]) / 2 * scale
    for row, facing in enumerate((1, -1)):
        out[row] = backline.measure_back(mask, hip, shoulder, facing)
    return out


OTHER_MIN_VIS = 0.5  # mean shoulder/hip visibility for a find to count as a person
_TORSO = ("left_shoulder", "right_shoulder", "left_hip", "right_hip")
OTHER_TILE_FRAC = 0.6  # two overlapping tiles, each 60% of the long side: small people get more pixels


def _blank_tracked(rgb: np.ndarray, xy_norm: np.ndarray) -> np.ndarray:
    """Copy of `rgb` with the tracked person's landmark box (grown by 10% of its height, 20% above
    the head) painted in the frame's mean colour; xy_norm: (33, 2) landmarks in 0-1 image units."""
    out = rgb.copy()
    if not np.isfinite(xy_norm).any():
        return out
    h, w = rgb.shape[:2]
    (x0, y0), (x1, y1) = np.nanmin(xy_norm, axis=0), np.nanmax(xy_norm, axis=0)
    g = 0.1 * (y1 - y0)
    cols = slice(int(max(0.0, x0 - g) * w), int(min(1.0, x1 + g) * w))
    rows = slice(int(max(0.0, y0 - 2 * g) * h), int(min(1.0, y1 + g) * h))
    out[rows, cols] = rgb.reshape(-1, 3).mean(axis=0).astype(np.uint8)
    return out


def _tiles(rgb: np.ndarray) -> list[np.ndarray]:
    """Two overlapping tiles along the image's long side (start and end)."""
    h, w = rgb.shape[:2]
    if w >= h:
        tw = int(w * OTHER_TILE_FRAC)
        return [np.ascontiguousarray(rgb[:, :tw]), np.ascontiguousarray(rgb[:, w - tw:])]
    th = int(h * OTHER_TILE_FRAC)
    return [np.ascontiguousarray(rgb[:th]), np.ascontiguousarray(rgb[h - th:])]


def _other_person(finder, rgb: np.ndarray, xy_norm: np.ndarray) -> bool:
    """True when a second MediaPipe pose (static-image mode) finds a person outside the tracked one."""
    for tile in _tiles(_blank_tracked(rgb, xy_norm)):
        result = finder.process(tile)
        if result.pose_landmarks is not None:
            lm = result.pose_landmarks.landmark
            if np.mean([lm[INDEX[n]].visibility for n in _TORSO]) > OTHER_MIN_VIS:
                return True
    return False


def run_pose(path: str, width: int, height: int, options: PoseOptions) -> _Buffers:
    """Decode and run MediaPipe; width/height are the upright original size in pixels."""
    buf = _Buffers([], [], [], [], [], [], [])
    size = np.array([width, height], dtype=np.float64)
    next_sample_t = 0.0
    search = options.other_person_every_s > 0
    finder_ctx = (mp.solutions.pose.Pose(static_image_mode=True, model_complexity=options.model_complexity)
                  if search else contextlib.nullcontext())
    with finder_ctx as finder, mp.solutions.pose.Pose(
        static_image_mode=False,
        model_complexity=options.model_complexity,
        enable_segmentation=options.segmentation,
        smooth_landmarks=False,  # raw landmarks; analytics filters them without lag
    ) as pose:
        for frame in prefetch(iter_frames(path, options.analysis_fps, options.max_side_px)):
            result = pose.process(frame.rgb)
            xy, vis, world = _landmarks(result, width, height)
            buf.frame_idx.append(frame.frame_idx)
            buf.t_s.append(frame.t_s)
            buf.xy.append(xy)
            buf.vis.append(vis)
            buf.world.append(world)
            buf.back.append(_back_measures(result, xy / size) if options.segmentation else np.full((2, 2), np.nan))
            other = None
            if finder is not None and frame.t_s >= next_sample_t:
                other = _other_person(finder, frame.rgb, xy / size)
                next_sample_t = frame.t_s + options.other_person_every_s
            buf.other.append(other)
    return buf


def frames_table(video_id: str, buf: _Buffers) -> pl.DataFrame:
    """Rows of the `frames` contract from collected per-frame outputs."""
    n = len(buf.frame_idx)
    xy = np.stack(buf.xy) if n else np.empty((0, N, 2))
    vis = np.stack(buf.vis) if n else np.empty((0, N))
    world = np.stack(buf.world) if n else np.empty((0, N, 3))
    back = np.stack(buf.back) if n else np.empty((0, 2, 2))
    person = np.isfinite(vis[:, 0])
    facing = angles.facing_from_feet(xy[person], vis[person]) if person.any() else 1
    side = angles.near_side(vis[person]) if person.any() else "left"
    cols: dict[str, object] = {
        "video_id": [video_id] * n,
        "frame_idx": np.asarray(buf.frame_idx, dtype=np.int32),
        "t_s": np.asarray(buf.t_s, dtype=np.float64),
        "person": person,
    }
    for j, name in enumerate(LANDMARKS):
        cols[f"{name}_x"], cols[f"{name}_y"] = xy[:, j, 0], xy[:, j, 1]
        cols[f"{name}_vis"] = vis[:, j]
        cols[f"{name}_wx"], cols[f"{name}_wy"], cols[f"{name}_wz"] = world[:, j, 0], world[:, j, 1], world[:, j, 2]
    cols["facing"] = np.where(person, facing, 0).astype(np.int8)
    cols["near_side"] = [side if p else None for p in person]
    cols.update(angles.frame_angles(xy, facing, side))
    row = 0 if facing > 0 else 1
    cols["back_bulge_frac"] = back[:, row, 0]
    cols["back_bend_deg"] = back[:, row, 1]
    cols["other_person"] = pl.Series(buf.other, dtype=pl.Boolean)
    df = pl.DataFrame(cols)
    df = df.with_columns(pl.when(pl.col("facing") == 0).then(None).otherwise(pl.col("facing")).alias("facing"))
    return df.fill_nan(None)


def extract_pose(path: str, out_path: str, video_id: str, width: int, height: int, options: PoseOptions) -> PoseSummary:
    """Run pose over a video and write its frames to `out_path` (atomic). Child-process entry point."""
    start = time.perf_counter()
    buf = run_pose(path, width, height, options)
    df = frames_table(video_id, buf)
    write_parquet_atomic(schemas.to_arrow(schemas.FRAMES.without_partition(), df), Path(out_path))
    with_person = int(df["person"].sum()) if df.height else 0
    last = max(buf.frame_idx) if buf.frame_idx else -1
    return PoseSummary(df.height, with_person, last, time.perf_counter() - start)
