"""The bad-input corpus (issue 7, item 1): everything a gym's phones and spreadsheets might upload.

The corpus is made at test time (`bad_media.py`): broken files, unusual codecs and
containers, rotations, sizes and lengths, videos without a person or with two,
and manifests with every kind of bad row. Two good clips of one athlete go through
the real flow alone (the reference run) and again in one upload with the whole
corpus. For each case the test checks the batch completed and the case was
quarantined, rejected or flagged with a reason that names the problem, or (for
valid but unusual videos) analysed correctly; and that the good athlete's rows
in every table are equal to the reference run's.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl
import pytest

import bad_media as bm
from hingeflow import schemas
from hingeflow.settings import Settings
from hingeflow.synth.kinematics import RepSpec
from hingeflow.warehouse import Warehouse

HEADER = "video,athlete_id,recorded_on,exercise,load_kg,set_index,camera_view\n"
DAY = "2026-11-16"
UPLOAD = f"gym_{DAY}"
GOOD = {  # the athlete whose output must not change: file -> (load kg, set index, clip)
    "good_60.mp4": (60, 1, bm.CORPUS_SPEC),
    "good_80.mp4": (80, 2, replace(bm.CORPUS_SPEC, load_kg=80.0,
                                   reps=(RepSpec(trunk_bottom_deg=78.0, rounding_bottom_deg=8.0),) * 2)),
}
POSE_TIMEOUT_S = 30.0  # each short clip poses in about 10 s; the 10-minute clip needs about 6 min
SETTINGS = Settings(workers=2, pose_timeout_s=POSE_TIMEOUT_S)
VOLATILE = {"processed_at", "pose_seconds", "detected_at"}  # wall-clock facts of a run
VIDEO_FILES = {  # case -> file name in the upload
    "zero-byte file": "empty.mp4",
    "random bytes named .mp4": "random.mp4",
    "truncated mid-stream": "truncated.mp4",
    "missing moov atom": "no_moov.mp4",
    "HEVC": "hevc.mp4",
    "VP9 in WebM": "vp9.webm",
    "audio only": "audio_only.mp4",
    "a single frame": "single_frame.mp4",
    "variable frame rate": "vfr.mp4",
    "rotation 90": "rot90.mp4",
    "rotation 270": "rot270.mp4",
    "4K": "uhd.mp4",
    "10-minute clip": "ten_minutes.mp4",
    "no person": "no_person.mp4",
    "two people": "two_people.mp4",
    "athlete leaves the frame": "leaving.mp4",
}


def _good_rows() -> list[str]:
    return [f"{name},steady,{DAY},romanian_deadlift,{load},{s},side\n" for name, (load, s, _) in GOOD.items()]


def _write_good(upload: Path) -> None:
    upload.mkdir(parents=True, exist_ok=True)
    for name, (_, _, spec) in GOOD.items():
        bm.encode(upload / name, bm.figure_frames(spec))


def _write_videos(upload: Path, outside: Path) -> None:
    """Every bad or unusual video of `VIDEO_FILES` into `upload`, and a file outside it."""
    p = {case: upload / name for case, name in VIDEO_FILES.items()}
    good, frames = upload / "good_60.mp4", bm.figure_frames()
    p["zero-byte file"].write_bytes(b"")
    p["random bytes named .mp4"].write_bytes(os.urandom(1 << 16))
    bm.truncated(bm.faststart(bm.encode(upload / "whole.tmp.mp4", frames), upload / "fast.tmp.mp4"),
                 p["truncated mid-stream"], keep=0.5)
    bm.without_moov(bm.encode(upload / "plain.tmp.mp4", frames), p["missing moov atom"])
    bm.encode(p["HEVC"], frames, codec="libx265", options={"x265-params": "log-level=none", "preset": "ultrafast"})
    bm.encode(p["VP9 in WebM"], frames, codec="libvpx-vp9", options={"deadline": "realtime", "cpu-used": "8"})
    bm.audio_only(p["audio only"])
    bm.encode(p["a single frame"], frames[len(frames) // 2:len(frames) // 2 + 1])
    fast = bm.figure_frames(replace(bm.CORPUS_SPEC, fps=60.0))
    keep = bm.variable_rate_indices(len(fast), 60.0)
    bm.encode(p["variable frame rate"], [fast[i] for i in keep], fps=60.0, times_s=[i / 60.0 for i in keep])
    bm.rotated(good, p["rotation 90"], 90)
    bm.rotated(good, p["rotation 270"], 270)
    bm.upscaled(good, p["4K"], 3840, 2160)
    bm.pattern_clip(p["10-minute clip"], 600.0, source="color")
    bm.pattern_clip(p["no person"], 4.0)
    bm.encode(p["two people"], bm.two_people())
    bm.encode(p["athlete leaves the frame"], bm.leaving_frame())
    for tmp in upload.glob("*.tmp.mp4"):
        tmp.unlink()
    outside.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(good, outside / "elsewhere.mp4")
    (upload / "link_out.mp4").symlink_to(outside / "elsewhere.mp4")


def make_corpus(inbox: Path, outside: Path) -> dict[str, tuple[str, int]]:
    """Write the corpus into `inbox` (the good clips' upload holds every bad video and bad row;
    two more uploads have unreadable manifests); return case -> (upload, manifest row).
    `outside`: a folder beside the inbox, for paths and links that leave it."""
    upload = inbox / UPLOAD
    _write_good(upload)
    _write_videos(upload, outside)
    rows = {case: f"{name},corpus,{DAY},romanian_deadlift,100,{i},side\n"
            for i, (case, name) in enumerate(VIDEO_FILES.items(), start=1)}
    rows |= {
        "bad types": "good_60.mp4,corpus,yesterday,romanian_deadlift,heavy,one,side\n",
        "duplicate row": _good_rows()[0],
        "unknown exercise": f"hevc.mp4,corpus,{DAY},zercher_squat,100,50,side\n",
        "file does not exist": f"gone.mp4,corpus,{DAY},romanian_deadlift,100,51,side\n",
        "../ path": f"../elsewhere.mp4,corpus,{DAY},romanian_deadlift,100,52,side\n",
        "absolute path": f"{outside / 'elsewhere.mp4'},corpus,{DAY},romanian_deadlift,100,53,side\n",
        "symlink out of the inbox": f"link_out.mp4,corpus,{DAY},romanian_deadlift,100,54,side\n",
        "athlete id with a space": f"vp9.webm,ath 1,{DAY},romanian_deadlift,100,55,side\n",
        "athlete id with a slash": f"vp9.webm,ath/1,{DAY},romanian_deadlift,100,56,side\n",
    }
    (upload / "manifest.csv").write_text(HEADER + "".join(_good_rows()) + "".join(rows.values()))
    cases = {case: (UPLOAD, i) for i, case in enumerate(rows, start=len(GOOD) + 1)}
    for case, folder, manifest in (
        ("manifest missing a column", "gym_2026-11-17", HEADER.replace("athlete_id,", "").encode()
         + b"good.mp4,2026-11-17,deadlift,100,1,side\n"),
        ("manifest not UTF-8", "gym_2026-11-18", HEADER.encode() + "good.mp4,Zoë,2026-11-18,deadlift,100,1,side\n"
         .encode("latin-1")),
    ):
        (inbox / folder).mkdir()
        shutil.copyfile(upload / "good_60.mp4", inbox / folder / "good.mp4")
        (inbox / folder / "manifest.csv").write_bytes(manifest)
        cases[case] = (folder, 0)
    return cases


def run_flow(inbox: Path, warehouse: Path):
    from flows.ingest import ingest

    return ingest(str(inbox), str(warehouse), SETTINGS)


@dataclass(frozen=True)
class CorpusRun:
    cases: dict[str, tuple[str, int]]  # case -> (upload, manifest row; 0 for the whole manifest)
    reference: Warehouse  # the good clips alone
    corpus: Warehouse  # the good clips among the corpus
    summary: object  # the corpus run's RunSummary


@pytest.fixture(scope="module")
def corpus_run(tmp_path_factory) -> CorpusRun:
    root = tmp_path_factory.mktemp("corpus")
    _write_good(root / "reference" / UPLOAD)
    (root / "reference" / UPLOAD / "manifest.csv").write_text(HEADER + "".join(_good_rows()))
    cases = make_corpus(root / "inbox", root / "outside")
    run_flow(root / "reference", root / "wh_reference")
    summary = run_flow(root / "inbox", root / "wh_corpus")
    return CorpusRun(cases, Warehouse(root / "wh_reference"), Warehouse(root / "wh_corpus"), summary)


QUARANTINED = {  # case -> (stage, words the reason must hold)
    "zero-byte file": ("manifest", "is empty (0 bytes)"),
    "random bytes named .mp4": ("probe", "not a video FFmpeg can read"),
    "truncated mid-stream": ("probe", "file is cut off: it holds"),
    "missing moov atom": ("probe", "not a video FFmpeg can read"),
    "audio only": ("probe", "no video stream (streams: audio)"),
    "a single frame": ("probe", "too short to hold a rep: 1 frame(s)"),
    "10-minute clip": ("pose", f"did not finish within the {POSE_TIMEOUT_S:g} s limit"),
    "no person": ("pose", "no person detected"),
    "bad types": ("manifest", "recorded_on 'yesterday' is not an ISO date"),
    "duplicate row": ("manifest", "duplicate of manifest row 1"),
    "unknown exercise": ("manifest", "exercise 'zercher_squat' is not one of"),
    "file does not exist": ("manifest", "video file 'gone.mp4' does not exist"),
    "../ path": ("manifest", "leaves the upload folder"),
    "absolute path": ("manifest", "is absolute"),
    "symlink out of the inbox": ("manifest", "resolves outside the upload folder"),
    "athlete id with a space": ("manifest", "athlete_id 'ath 1' must be"),
    "athlete id with a slash": ("manifest", "athlete_id 'ath/1' must be"),
    "manifest missing a column": ("manifest", "missing required column(s): athlete_id"),
    "manifest not UTF-8": ("manifest", "is not UTF-8 text"),
}
FLAGGED = {  # case -> words a gate reason must hold (the video is analysed, its reps' confidence capped)
    "two people": "several people in frame",
    "athlete leaves the frame": "no person in the last",
}
ANALYSED = {  # case -> what the videos row must say (valid videos in unusual forms are analysed as usual)
    "HEVC": {"codec": "hevc"},
    "VP9 in WebM": {"codec": "vp9"},
    "variable frame rate": {"vfr": True},
    # stored as 480 x 854 pixels, shown (and analysed) upright as the original 854 x 480
    "rotation 90": {"rotation_deg": 90, "width": 854, "height": 480},
    "rotation 270": {"rotation_deg": 270, "width": 854, "height": 480},
    "4K": {"width": 3840, "height": 2160},
}


def _row(df: pl.DataFrame, where: tuple[str, int]) -> dict | None:
    rows = df.filter((pl.col("upload") == where[0]) & (pl.col("manifest_row") == where[1])).to_dicts()
    assert len(rows) <= 1, rows
    return rows[0] if rows else None


def test_the_cases_cover_the_issue_list(corpus_run):
    assert set(corpus_run.cases) == set(QUARANTINED) | set(FLAGGED) | set(ANALYSED)
    assert len(corpus_run.cases) == 27  # 16 videos, 9 bad rows, 2 unreadable manifests


@pytest.mark.parametrize("case", sorted(QUARANTINED))
def test_quarantined_with_a_clear_reason(corpus_run, case):
    stage, words = QUARANTINED[case]
    q = _row(corpus_run.corpus.read(schemas.QUARANTINE), corpus_run.cases[case])
    assert q is not None and q["stage"] == stage and words in q["reason"], q
    assert not any(noise in q["reason"] for noise in ("[Errno", "native log", "Error:", "UnusableVideo")), q["reason"]
    video = _row(corpus_run.corpus.read(schemas.VIDEOS), corpus_run.cases[case])
    if stage in ("probe", "pose"):  # a file that was read has its videos row, quarantined with the same reason
        assert video["status"] == "quarantined" and video["reason"] == q["reason"]
    else:
        assert video is None


def _reps_of(run: CorpusRun, case: str) -> pl.DataFrame:
    video = _row(run.corpus.read(schemas.VIDEOS), run.cases[case])
    assert video is not None and video["status"] == "ok", video
    return run.corpus.read(schemas.REPS).filter(pl.col("video_id") == video["video_id"]).sort("rep_index")


@pytest.mark.parametrize("case", sorted(FLAGGED))
def test_flagged_with_a_clear_reason(corpus_run, case):
    video = _row(corpus_run.corpus.read(schemas.VIDEOS), corpus_run.cases[case])
    assert video["gate"] == "flagged" and any(FLAGGED[case] in r for r in video["gate_reasons"]), video
    reps = _reps_of(corpus_run, case)
    assert reps.height == 2 and (reps["confidence"] <= 0.5).all()


@pytest.mark.parametrize("case", sorted(ANALYSED))
def test_unusual_but_valid_videos_are_analysed_like_the_plain_one(corpus_run, case):
    video = _row(corpus_run.corpus.read(schemas.VIDEOS), corpus_run.cases[case])
    assert {k: video[k] for k in ANALYSED[case]} == ANALYSED[case]
    assert video["gate"] == "pass", video["gate_reasons"]
    reps = _reps_of(corpus_run, case)
    plain = corpus_run.corpus.read(schemas.REPS).filter(
        (pl.col("athlete_id") == "steady") & (pl.col("load_kg") == 60)).sort("rep_index")
    assert reps.height == plain.height == 2  # the clip has 2 reps
    for metric, tolerance in (("trunk_angle_bottom_deg", 3.0), ("knee_flexion_bottom_deg", 4.0)):
        assert (reps[metric] - plain[metric]).abs().max() <= tolerance, (metric, reps[metric], plain[metric])


def test_the_batch_completed_and_lost_no_row(corpus_run):
    s, wh = corpus_run.summary, corpus_run.corpus
    videos, q = wh.read(schemas.VIDEOS), wh.read(schemas.QUARANTINE)
    assert s.checks_failed == 0 and s.videos_ok == len(GOOD) + len(FLAGGED) + len(ANALYSED)
    manifest_rows = len(GOOD) + len(corpus_run.cases) - 2  # the two unreadable manifests are one row each
    in_videos = videos.select("upload", "manifest_row")
    rejected = q.filter(pl.col("stage").is_in(["manifest", "file"])).select("upload", "manifest_row")
    assert in_videos.height + rejected.height == manifest_rows + 2
    assert pl.concat([in_videos, rejected]).n_unique() == manifest_rows + 2  # each row exactly once


@pytest.mark.parametrize("table", ["videos", "frames", "reps", "sets", "breakdown", "week_over_week", "keyframes"])
def test_the_good_athlete_is_unchanged_by_the_corpus(corpus_run, table):
    def mine(wh: Warehouse) -> pl.DataFrame:
        df = wh.read(schemas.TABLES[table])
        good = wh.read(schemas.VIDEOS).filter(pl.col("athlete_id") == "steady")["video_id"]
        df = df.filter(pl.col("athlete_id") == "steady") if "athlete_id" in df.columns else \
            df.filter(pl.col("video_id").is_in(good.to_list()))
        cols = [c for c in df.columns if c not in VOLATILE]
        key = [c for c in cols if not df.schema[c].is_nested() and df.schema[c] != pl.Binary]
        return df.select(cols).sort(key, nulls_last=True)

    expected, got = mine(corpus_run.reference), mine(corpus_run.corpus)
    assert expected.height > 0 or table == "week_over_week"
    assert got.equals(expected)
