"""A candidate's bytes on a worker: the flow's inbox copy when this machine has it, else a
temporary download from the remote inbox, checked against the content hash (moto S3)."""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from pathlib import Path

import pytest

from hingeflow import pipeline
from hingeflow.inbox import Candidate, scan_inbox
from hingeflow.settings import EXERCISES, Settings
from hingeflow.video_source import SourceChanged, video_file
from media import constant_rate_clip
from servers import s3_fs

HEADER = "video,athlete_id,recorded_on,exercise,load_kg,set_index\n"


def _candidates(tmp_path: Path, bucket: str) -> dict[str, Candidate]:
    """A local upload (a playable clip and a broken file), its copy in `bucket`, and the
    candidates as the plan makes them for that remote inbox: video name -> candidate."""
    up = tmp_path / "inbox" / "gym_2026-11-16"
    up.mkdir(parents=True)
    constant_rate_clip(up / "clip.mp4", 30, Fraction(30))
    (up / "broken.mp4").write_bytes(bytes(range(256)) * 64)
    (up / "manifest.csv").write_text(HEADER + "clip.mp4,ath-1,2026-11-16,deadlift,60,1\n"
                                     "broken.mp4,ath-1,2026-11-16,deadlift,70,2\n")
    fs = s3_fs()
    fs.mkdir(bucket)
    fs.put(str(tmp_path / "inbox"), f"{bucket}/inbox", recursive=True)
    scan = scan_inbox(tmp_path / "inbox", EXERCISES)
    return {c.row.video: dataclasses.replace(c, source=f"s3://{bucket}/inbox/{c.upload}/{c.row.video}")
            for c in scan.candidates}


def test_a_local_inbox_is_read_in_place(tmp_path):
    up = tmp_path / "inbox" / "gym_2026-11-16"
    up.mkdir(parents=True)
    constant_rate_clip(up / "clip.mp4", 10, Fraction(30))
    (up / "manifest.csv").write_text(HEADER + "clip.mp4,ath-1,2026-11-16,deadlift,60,1\n")
    (c,) = scan_inbox(tmp_path / "inbox", EXERCISES).candidates
    with video_file(c) as path:
        assert path == c.path


def test_a_machine_without_the_inbox_copy_downloads_the_video_for_the_block(s3, tmp_path):
    c = _candidates(tmp_path, "fetch")["clip.mp4"]
    expected = c.path.read_bytes()
    c.path.unlink()  # this machine has no copy of the inbox
    with video_file(c) as path:
        assert path != c.path and path.read_bytes() == expected
    assert not path.exists() and not path.parent.exists()  # the download lives only as long as the block


def test_the_inbox_copy_is_used_when_it_holds_the_planned_bytes(s3, tmp_path):
    c = _candidates(tmp_path, "mirror")["clip.mp4"]
    s3_fs().rm(c.source.removeprefix("s3://"))  # a download would fail now
    with video_file(c) as path:
        assert path == c.path
    c.path.write_bytes(b"stale copy")  # a copy that does not hash to video_id is not used
    with pytest.raises(SourceChanged, match="clip.mp4 was removed from the inbox"):
        with video_file(c):
            pass


def test_an_object_replaced_after_the_plan_is_refused(s3, tmp_path):
    c = _candidates(tmp_path, "replaced")["clip.mp4"]
    c.path.unlink()
    s3_fs().pipe(c.source.removeprefix("s3://"), b"other bytes")
    with pytest.raises(SourceChanged, match="clip.mp4 changed in the inbox after the run was planned"):
        with video_file(c):
            pass


def test_probe_on_a_worker_quarantines_with_the_manifest_name(s3, tmp_path):
    """Probe reads the download, and quarantines a broken video for the reason it gives on the
    flow's machine (no temporary path in it)."""
    found = _candidates(tmp_path, "probe")
    settings = Settings()
    on_the_flow_machine = pipeline.probe(found["broken.mp4"], settings).reason
    for c in found.values():
        c.path.unlink()
    ok = pipeline.probe(found["clip.mp4"], settings)
    assert ok.reason is None and ok.probe.frame_count == 30
    broken = pipeline.probe(found["broken.mp4"], settings)
    assert broken.reason.startswith("cannot read video") and broken.reason == on_the_flow_machine
    assert "hingeflow-video-" not in broken.reason, broken.reason
    gone = dataclasses.replace(found["clip.mp4"], source=found["clip.mp4"].source + ".deleted")
    assert pipeline.probe(gone, settings).reason == "clip.mp4 was removed from the inbox after the run was planned"
