"""`hingeflow forget`: the athlete is gone from every file of the warehouse and from Prefect's artifacts;
everyone else's data is untouched."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

from hingeflow import schemas
from hingeflow.erasure import mentions, theirs
from hingeflow.warehouse import Warehouse
from servers import read_artifacts

HINGEFLOW = str(Path(sys.executable).with_name("hingeflow"))
GONE, STAYS = "ath-001", "ath-002"


def test_the_id_matches_as_a_whole_token_only():
    pattern = mentions("ath-1", ["a" * 64])
    assert pattern.search("ath-1") and pattern.search("rows of ath-1, week 47") and pattern.search('{"a":"ath-1"}')
    assert not pattern.search("ath-10") and not pattern.search("xath-1") and not pattern.search("ath-1_b")
    assert pattern.search("video " + "a" * 64 + " failed")


def test_rows_are_theirs_by_athlete_video_or_mention():
    df = pl.DataFrame({"athlete_id": ["ath-1", "ath-10", None], "video_id": ["v9", "v1", "v2"],
                       "note": ["", "", "about ath-1"]})
    assert theirs(df, "ath-1", ["v1"], mentions("ath-1", ["v1"])).to_list() == [True, True, True]
    assert theirs(df, "ath-1", [], mentions("ath-1", [])).to_list() == [True, False, True]


def _cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([HINGEFLOW, *args], env=env, capture_output=True, text=True)


def _artifacts(env: dict) -> list[str]:
    return [" ".join(str(a[k]) for k in ("key", "description", "data") if a[k]) for a in read_artifacts(env)]


def _texts(path: Path) -> list[str]:
    """Every value of a Parquet file as text, or the file's text."""
    if path.suffix == ".parquet":
        table = pq.read_table(path)
        return [str(v) for col in table.columns for v in col.to_pylist()]
    return [path.read_bytes().decode("utf-8", "replace")]


@pytest.fixture(scope="module")
def gym(tmp_path_factory):
    root = tmp_path_factory.mktemp("erase")
    env = {**os.environ, "PREFECT_HOME": str(root / "prefect")}
    env.pop("PREFECT_API_URL", None)
    assert _cli("synth", "--out", str(root / "gym"), "--athletes", "2", "--weeks", "1", "--seed", "2024",
                env=env).returncode == 0
    run = _cli("run", "--inbox", str(root / "gym" / "inbox"), "--warehouse", str(root / "wh"), env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    return root, env


@pytest.mark.slow
def test_forget_leaves_no_trace_and_keeps_everyone_else(gym):
    root, env = gym
    wh = Warehouse(root / "wh")
    videos = wh.read(schemas.VIDEOS)
    their_videos = videos.filter(pl.col("athlete_id") == GONE)["video_id"].to_list()
    assert their_videos and any(GONE in a for a in _artifacts(env))
    before = {name: wh.read(t) for name, t in schemas.TABLES.items()}
    kept_videos = videos.filter(pl.col("athlete_id") == STAYS)["video_id"].to_list()

    out = _cli("forget", "--warehouse", str(wh.root), "--athlete", GONE, env=env)
    assert out.returncode == 0, out.stderr[-2000:]

    pattern = mentions(GONE, their_videos)
    traces = [f"{p.relative_to(wh.root)}" for p in wh.root.rglob("*") if p.is_file()
              and any(pattern.search(t) for t in _texts(p))]
    assert traces == []
    assert not any(pattern.search(a) for a in _artifacts(env))
    assert any(STAYS in a for a in _artifacts(env))  # the other athlete's report link stays

    after = {name: wh.read(t) for name, t in schemas.TABLES.items()}
    for name in ("reps", "sets", "breakdown"):
        mine = [df.filter(pl.col("athlete_id") == STAYS).sort(pl.all()) for df in (before[name], after[name])]
        assert mine[0].height and mine[0].equals(mine[1]), name
    for name in ("videos", "frames", "keyframes"):
        mine = [df.filter(pl.col("video_id").is_in(kept_videos)).sort(pl.all()) for df in (before[name], after[name])]
        assert mine[0].height and mine[0].equals(mine[1]), name
    assert after["videos"].height == len(kept_videos)
    assert (wh.root / "reports" / f"{STAYS}.html").is_file() and not (wh.root / "reports" / f"{GONE}.html").exists()
    assert _cli("validate", "--warehouse", str(wh.root), env=env).returncode == 0  # tables still meet the contracts

    again = _cli("forget", "--warehouse", str(wh.root), "--athlete", GONE, env=env)
    assert again.returncode == 2 and "not in the warehouse" in again.stdout
