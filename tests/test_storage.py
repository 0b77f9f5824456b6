"""Inbox and warehouse as S3 URLs, against a real S3-compatible server (moto in server mode)."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from hingeflow import schemas, storage
from hingeflow.warehouse import Warehouse
from servers import s3_fs as _fs

BIN = Path(sys.executable).parent


def test_locations():
    assert storage.is_remote("s3://bucket/gym") and storage.is_remote("gs://b/x")
    assert not storage.is_remote("/srv/gym") and not storage.is_remote("gym/inbox")
    assert not storage.is_remote("file:///srv/gym")
    assert storage.local_copy("file:///srv/gym", "inbox", Path("/w")) == Path("/srv/gym")
    a = storage.local_copy("s3://b/one", "warehouse", Path("/w"))
    assert a.parent == Path("/w/warehouse") and a != storage.local_copy("s3://b/two", "warehouse", Path("/w"))


def test_pull_downloads_only_what_changed_and_drops_what_is_gone(s3, tmp_path):
    fs = _fs()
    fs.mkdir("pulls")
    fs.pipe({"pulls/src/a.txt": b"one", "pulls/src/up/b.txt": b"two"})
    local = tmp_path / "copy"
    assert storage.pull("s3://pulls/src", local) == 2
    assert (local / "up" / "b.txt").read_bytes() == b"two"
    assert storage.pull("s3://pulls/src", local) == 0  # unchanged: nothing downloaded
    fs.pipe({"pulls/src/a.txt": b"changed"})
    fs.rm("pulls/src/up/b.txt")
    assert storage.pull("s3://pulls/src", local) == 1
    assert (local / "a.txt").read_bytes() == b"changed" and not (local / "up" / "b.txt").exists()


def _objects(fs, root: str) -> set[str]:
    return {p[len(root) + 1:] for p in fs.find(root)}


@pytest.mark.slow
def test_a_run_from_an_s3_inbox_into_an_s3_warehouse(s3, tmp_path):
    """Upload a small gym to the bucket, run the CLI on URLs only, read the tables from the bucket."""
    from hingeflow.synth.gym import make_gym

    endpoint, env = s3
    make_gym(tmp_path / "gym", athletes=1, weeks=1, seed=41)
    fs = _fs()
    fs.mkdir("gym")
    fs.put(str(tmp_path / "gym" / "inbox"), "gym/inbox", recursive=True)
    run_env = {**os.environ, **env, "HINGEFLOW_WORK_DIR": str(tmp_path / "work"),
               "PREFECT_HOME": str(tmp_path / "prefect")}
    cmd = [str(BIN / "hingeflow"), "run", "--inbox", "s3://gym/inbox", "--warehouse", "s3://gym/warehouse"]
    out = subprocess.run(cmd, env=run_env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]

    objects = _objects(fs, "gym/warehouse")
    assert not [o for o in objects if o.startswith("_staging/")]  # nothing private or half-pushed
    markers = [o for o in objects if o.startswith("_runs/")]
    assert len(markers) == 1 and "reports/index.html" in objects
    opts = {"aws_endpoint_url": endpoint, "aws_access_key_id": "testing", "aws_secret_access_key": "testing",
            "aws_region": "us-east-1", "aws_allow_http": "true"}
    videos = pl.read_parquet("s3://gym/warehouse/videos/**/*.parquet", storage_options=opts)
    reps = pl.read_parquet("s3://gym/warehouse/reps/**/*.parquet", storage_options=opts)
    assert videos.height == 4 and (videos["status"] == "ok").all() and reps.height > 0

    again = subprocess.run(cmd, env=run_env, capture_output=True, text=True)  # idempotent on URLs too
    assert again.returncode == 0 and "nothing new: 4 video(s)" in again.stdout, again.stdout + again.stderr[-2000:]
    assert _objects(fs, "gym/warehouse") == objects

    # a second machine (its own empty work folder) sees the same warehouse and adds nothing either
    other = subprocess.run(cmd, env={**run_env, "HINGEFLOW_WORK_DIR": str(tmp_path / "work2")},
                           capture_output=True, text=True)
    assert other.returncode == 0 and "nothing new: 4 video(s)" in other.stdout, other.stdout + other.stderr[-2000:]


# the CLI with the push to the bucket replaced by SIGKILL to its process group (the run and its
# children: the machine dies); by then the run has committed in the local copy
_KILLED_AT_PUSH = ("import os, signal, sys\n"
                   "import hingeflow.storage as storage\n"
                   "storage.push_warehouse = lambda *a, **k: os.killpg(0, signal.SIGKILL)\n"
                   "sys.argv[0] = 'hingeflow'\n"
                   "from hingeflow.cli import app\n"
                   "app()\n")


def _put_first_video(fs, upload: Path, specs: dict, bucket_inbox: str) -> None:
    """Upload folder `upload` (manifest only) to the bucket's inbox with only its manifest's first
    video, rendered now from `specs[(upload name, video)]`."""
    from hingeflow.synth.clip import render_clip

    lines = (upload / "manifest.csv").read_text().splitlines()
    first = next(csv.DictReader(lines))["video"]
    render_clip(upload / first, specs[upload.name, first])
    fs.pipe({f"{bucket_inbox}/{upload.name}/manifest.csv": ("\n".join(lines[:2]) + "\n").encode()})
    fs.put_file(str(upload / first), f"{bucket_inbox}/{upload.name}/{first}")


@pytest.mark.slow
def test_a_run_killed_between_its_local_commit_and_its_push_reaches_the_bucket_next_time(s3, tmp_path):
    """A run commits in the machine's local copy (replacing the sets of the run before it) and
    the machine dies before pushing: the bucket still shows only the earlier run. The next run
    on that machine has nothing new to decode and pushes the killed run whole: the bucket then
    holds each table once (no superseded sets), as the local copy does."""
    from hingeflow.synth.gym import make_gym, plan_gym

    endpoint, env = s3
    make_gym(tmp_path / "gym", athletes=1, weeks=2, seed=43, videos=False)  # manifests; 2 of 8 clips rendered below
    specs = {(j.upload, j.video): j.spec for j in plan_gym(athletes=1, weeks=2, seed=43).jobs}
    first_week, second_week = sorted((tmp_path / "gym" / "inbox").iterdir())
    fs = _fs()
    fs.mkdir("killed")
    run_env = {**os.environ, **env, "HINGEFLOW_WORK_DIR": str(tmp_path / "work"),
               "PREFECT_HOME": str(tmp_path / "prefect")}
    args = ["run", "--inbox", "s3://killed/inbox", "--warehouse", "s3://killed/warehouse"]
    hingeflow = [str(BIN / "hingeflow"), *args]

    _put_first_video(fs, first_week, specs, "killed/inbox")
    first = subprocess.run(hingeflow, env=run_env, capture_output=True, text=True)
    assert first.returncode == 0, first.stdout[-2000:] + first.stderr[-3000:]
    _put_first_video(fs, second_week, specs, "killed/inbox")
    killed = subprocess.run([sys.executable, "-c", _KILLED_AT_PUSH, *args], env=run_env, capture_output=True, text=True,
                            start_new_session=True, timeout=600)
    assert killed.returncode == -signal.SIGKILL, killed.stdout[-2000:] + killed.stderr[-3000:]
    assert len(fs.ls("killed/warehouse/_runs")) == 1  # the bucket knows only the first run

    again = subprocess.run(hingeflow, env=run_env, capture_output=True, text=True)
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-3000:]
    assert "nothing new: 2 video(s)" in again.stdout and "pushed" in again.stdout, again.stdout

    objects = _objects(fs, "killed/warehouse")
    assert not [o for o in objects if o.startswith("_staging/")]
    assert len([o for o in objects if o.startswith("_runs/")]) == 2 and "reports/index.html" in objects
    opts = {"aws_endpoint_url": endpoint, "aws_access_key_id": "testing", "aws_secret_access_key": "testing",
            "aws_region": "us-east-1", "aws_allow_http": "true"}
    local = Warehouse(storage.local_copy("s3://killed/warehouse", "warehouse", tmp_path / "work"))
    for table in ("videos", "reps", "sets"):  # a raw glob of the bucket reads what the machine committed, once
        remote = pl.read_parquet(f"s3://killed/warehouse/{table}/**/*.parquet", storage_options=opts)
        assert remote.height == local.read(schemas.TABLES[table]).height > 0, table
    assert len({o for o in objects if o.startswith("sets/")}) == len(local.part_files(schemas.SETS))

    # a second machine sees both runs; the first one has nothing left to push
    other = subprocess.run(hingeflow, env={**run_env, "HINGEFLOW_WORK_DIR": str(tmp_path / "w2")},
                           capture_output=True, text=True)
    assert other.returncode == 0 and "nothing new: 2 video(s)" in other.stdout, other.stdout + other.stderr[-2000:]
    last = subprocess.run(hingeflow, env=run_env, capture_output=True, text=True)
    assert last.returncode == 0 and "pushed" not in last.stdout, last.stdout
    assert _objects(fs, "killed/warehouse") == objects
