"""Report keyframes: which reps are shown, and that no face survives (MediaPipe's bundled face detector)."""

from __future__ import annotations

import io

import numpy as np
import polars as pl
from PIL import Image

from hingeflow import schemas
from hingeflow.report import keyframes


def test_each_video_shows_its_best_and_worst_rep_once():
    reps = pl.DataFrame({"video_id": ["a", "a", "a", "b"], "week": ["2026-W47"] * 4, "rep_index": [1, 2, 3, 1],
                         "t_bottom_s": [1.0, 2.0, 3.0, 1.5], "form_score": [80.0, 40.0, 95.0, 70.0]})
    picks = keyframes.pick_reps(reps)
    assert picks.select("video_id", "rep_index", "which").rows() == [("a", 2, "worst"), ("a", 3, "best"),
                                                                     ("b", 1, "best")]


def test_a_frame_without_head_landmarks_gives_no_keyframe():
    rgb = np.full((180, 320, 3), 128, np.uint8)
    row = {f"{n}_{a}": float("nan") for n in keyframes.LANDMARKS for a in ("x", "y")}
    assert keyframes.compose_keyframe(rgb, row, 320) is None


def _faces(detectors, rgb: np.ndarray) -> int:
    """Faces found by the short- and the full-range model together."""
    rgb = np.ascontiguousarray(rgb)
    return sum(len(d.process(rgb).detections or []) for d in detectors)


def test_no_face_is_found_in_any_keyframe_of_the_real_clips(real_run):
    """Every stored keyframe of the real dev clips: 0 faces. Control: the same frames drawn without
    the cover show faces to the same detector, so the check can fail."""
    import mediapipe as mp

    wh, clips, _, footage = real_run
    stored = wh.read(schemas.KEYFRAMES)
    videos = wh.read(schemas.VIDEOS).filter(pl.col("status") == "ok")
    assert stored["video_id"].n_unique() >= 0.8 * videos.filter(
        pl.col("video_id").is_in(wh.read(schemas.REPS)["video_id"].implode()))["video_id"].n_unique()
    frames = wh.read(schemas.FRAMES, [*keyframes.FRAME_COLUMNS, "person"])
    path_of = {r["video_id"]: str(footage / r["video"]) for r in videos.iter_rows(named=True)}
    long_side = {r["video_id"]: max(r["width"], r["height"]) for r in videos.iter_rows(named=True)}
    covered_faces = uncovered_faces = 0
    face = mp.solutions.face_detection.FaceDetection
    with face(model_selection=0, min_detection_confidence=0.5) as near, \
            face(model_selection=1, min_detection_confidence=0.5) as far:
        detector = (near, far)
        for (video_id,), kept in stored.group_by("video_id"):
            grabbed = keyframes.grab_frames(path_of[video_id], kept["frame_idx"].to_list())
            for k in kept.iter_rows(named=True):
                image = np.asarray(Image.open(io.BytesIO(k["image_webp"])).convert("RGB"))
                covered_faces += _faces(detector, image)
                row = frames.filter((pl.col("video_id") == video_id) & (pl.col("frame_idx") == k["frame_idx"]))
                plain = keyframes.compose_keyframe(grabbed[k["frame_idx"]], row.row(0, named=True),
                                                   long_side[video_id], cover=False)
                uncovered_faces += _faces(detector, np.asarray(plain))
    print(f"keyframes {stored.height}: faces found covered {covered_faces}, uncovered {uncovered_faces}")
    assert covered_faces == 0
    assert uncovered_faces >= 3
