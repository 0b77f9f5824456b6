import hashlib
import os

import pytest

from hingeflow.inbox import resolve_video, scan_inbox, sha256_file
from hingeflow.settings import EXERCISES

HEADER = "video,athlete_id,recorded_on,exercise,load_kg,set_index\n"


def make_upload(inbox, name, rows, files):
    up = inbox / name
    up.mkdir(parents=True)
    for rel, data in files.items():
        (up / rel).parent.mkdir(parents=True, exist_ok=True)
        (up / rel).write_bytes(data)
    (up / "manifest.csv").write_text(HEADER + "".join(r + "\n" for r in rows))
    return up


def test_sha256_matches_hashlib(tmp_path):
    p = tmp_path / "x.bin"
    p.write_bytes(os.urandom(3 << 20))
    assert sha256_file(p) == hashlib.sha256(p.read_bytes()).hexdigest()


def test_symlink_out_of_upload_is_refused(tmp_path):
    secret = tmp_path / "secret.mp4"
    secret.write_bytes(b"x")
    up = tmp_path / "inbox" / "u1"
    up.mkdir(parents=True)
    (up / "link.mp4").symlink_to(secret)
    with pytest.raises(ValueError, match="outside the upload folder"):
        resolve_video(up, "link.mp4")


def test_scan_reports_missing_empty_and_duplicate_files(tmp_path):
    inbox = tmp_path / "inbox"
    rows = [f"{f},ath-1,2026-11-02,deadlift,{i * 10},1" for i, f in enumerate(["a.mp4", "b.mp4", "gone.mp4", "empty.mp4"])]
    make_upload(inbox, "u1", rows, {"a.mp4": b"AAA", "b.mp4": b"AAA", "empty.mp4": b""})
    make_upload(inbox, "u2", ["c.mp4,ath-2,2026-11-09,deadlift,10,1"], {"c.mp4": b"AAA"})
    scan = scan_inbox(inbox, EXERCISES)
    assert [(c.upload, c.row.video) for c in scan.candidates] == [("u1", "a.mp4")]
    reasons = {(r.upload, r.rejection.video): r.rejection.reason for r in scan.rejections}
    assert "same file content as manifest row 1" in reasons[("u1", "b.mp4")]
    assert "does not exist" in reasons[("u1", "gone.mp4")]
    assert "is empty" in reasons[("u1", "empty.mp4")]
    assert "same file content as u1/a.mp4" in reasons[("u2", "c.mp4")]
    assert scan.candidates[0].video_id == hashlib.sha256(b"AAA").hexdigest()


def test_folders_without_manifest_are_ignored(tmp_path):
    (tmp_path / "inbox" / "junk").mkdir(parents=True)
    assert scan_inbox(tmp_path / "inbox", EXERCISES).candidates == []
