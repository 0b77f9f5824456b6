"""Runner benchmark: the same gym through `hingeflow run` on each task runner, side by side.

Runs, each into a fresh warehouse, in one session:
  local x1   one worker thread driving one pose child process at a time (the baseline)
  local x2   two threads, two pose child processes at once (the default)
  process x2 Prefect's process pool of two
  dask x2    a Dask LocalCluster of two single-threaded worker processes (prefect-dask)
then an unchanged re-run on the first warehouse (nothing new: should cost next to nothing).
With --s3, also the same gym from a bucket of a local S3 server (moto) into another:
  local x2 s3   the default runner on s3:// URLs (pose staged in the bucket, collected)
  remote x2 s3  an external `dask scheduler` with two `dask worker` processes that cannot
                see the flow's files (each in a mount namespace with a tmpfs over the
                bench folder, via `unshare`): videos downloaded, pose staged in the bucket

Prints wall-clock seconds of the whole command (what a user waits for, Prefect's
start-up included), the flow's pose-stage seconds, frames analysed per wall
second, and each as a ratio to `local x1`.

Usage: .venv/bin/python bench/bench_runners.py [--athletes 3 --weeks 2 --seed 0] [--out DIR] [--s3]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

HINGEFLOW = str(Path(sys.executable).with_name("hingeflow"))
RUNS = (("local", 1), ("local", 2), ("process", 2), ("dask", 2))


def timed_run(inbox: Path | str, warehouse: Path, runner: str, workers: int, env: dict,
              url: str | None = None, extra: tuple[str, ...] = ()) -> tuple[float, dict]:
    """(wall seconds, the run's summary from its commit marker; {} when nothing was new).
    `url`: the warehouse's location when `warehouse` is the flow's local copy of it."""
    before = set((warehouse / "_runs").glob("*.json")) if (warehouse / "_runs").is_dir() else set()
    start = time.perf_counter()
    subprocess.run([HINGEFLOW, "run", "--inbox", str(inbox), "--warehouse", url or str(warehouse), "--runner", runner,
                    "--workers", str(workers), *extra], check=True, capture_output=True, env=env)
    wall = time.perf_counter() - start
    new = sorted(set((warehouse / "_runs").glob("*.json")) - before)
    return wall, (json.loads(new[-1].read_text())["summary"] if new else {})


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(cmd: list[str], env: dict, url: str | None = None, timeout_s: float = 60) -> subprocess.Popen:
    """Start `cmd` quietly; with `url`, wait until it answers there."""
    proc = subprocess.Popen(cmd, env=env, cwd="/", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout_s
    while url:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{Path(cmd[0]).name} did not start") from None
            time.sleep(0.3)
    return proc


@contextlib.contextmanager
def s3_and_hidden_workers(out: Path, env: dict) -> Iterator[tuple[dict, str]]:
    """moto on loopback and a Dask scheduler with two workers that cannot see `out`;
    yields (environment with the bucket's endpoint and credentials, scheduler address)."""
    bin_dir, procs = Path(sys.executable).parent, []
    s3_port, port, http = _port(), _port(), _port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**env, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ENDPOINT_URL": f"http://127.0.0.1:{s3_port}", "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    hide = 'mount -t tmpfs tmpfs "$1" && shift && exec "$@"'
    try:
        procs.append(_start([str(bin_dir / "moto_server"), "-H", "127.0.0.1", "-p", str(s3_port)], env,
                            env["AWS_ENDPOINT_URL"]))
        procs.append(_start([str(bin_dir / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                             "--dashboard-address", f"127.0.0.1:{http}"], env, f"http://127.0.0.1:{http}/health"))
        for _ in range(2):
            procs.append(_start(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", hide, "sh", str(out),
                                 str(bin_dir / "dask"), "worker", address, "--nthreads", "1", "--no-dashboard",
                                 "--local-directory", "/tmp"], env))
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
        yield env, address
    finally:
        for proc in reversed(procs):
            proc.terminate()
            proc.wait(30)


def s3_rows(out: Path, inbox: Path, env: dict) -> list[tuple[str, float, float, int]]:
    """The `--s3` runs (see the module docstring): (name, wall s, pose s, frames)."""
    import s3fs

    from hingeflow.storage import local_copy

    rows = []
    with s3_and_hidden_workers(out, env) as (s3_env, address):
        fs = s3fs.S3FileSystem(endpoint_url=s3_env["AWS_ENDPOINT_URL"], key="bench", secret="bench")
        fs.mkdir("bench")
        fs.put(str(inbox), "bench/inbox", recursive=True)
        for name, runner, extra in (("local x2 s3", "local", ()),
                                    ("remote x2 s3", "dask", ("--dask-address", address))):
            work, url = out / f"work-{runner}", f"s3://bench/wh-{runner}"
            copy = local_copy(url, "warehouse", work)
            wall, summary = timed_run("s3://bench/inbox", copy, runner, 2, {**s3_env, "HINGEFLOW_WORK_DIR": str(work)},
                                      url, extra)
            rows.append((name, wall, summary["seconds"]["probe_and_pose"], summary["frames"]))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--athletes", type=int, default=3)
    ap.add_argument("--weeks", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--s3", action="store_true", help="also the runs on S3 URLs (moto), with workers elsewhere")
    args = ap.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-runners-"))
    env = {**os.environ, "PREFECT_HOME": str(out / "prefect"), "PREFECT_LOGGING_LEVEL": "WARNING"}
    env.pop("PREFECT_API_URL", None)
    if not (out / "gym" / "inbox").is_dir():
        subprocess.run([HINGEFLOW, "synth", "--out", str(out / "gym"), "--athletes", str(args.athletes),
                        "--weeks", str(args.weeks), "--seed", str(args.seed)], check=True, capture_output=True)
    inbox = out / "gym" / "inbox"

    rows = []
    for runner, workers in RUNS:
        wall, summary = timed_run(inbox, out / f"wh-{runner}-{workers}", runner, workers, env)
        rows.append((f"{runner} x{workers}", wall, summary["seconds"]["probe_and_pose"], summary["frames"]))
    rerun_wall, _ = timed_run(inbox, out / "wh-local-1", "local", 1, env)
    if args.s3:
        rows += s3_rows(out, inbox, env)

    base_wall, base_pose = rows[0][1], rows[0][2]
    print(f"gym: {args.athletes} athletes x {args.weeks} weeks (seed {args.seed}), {rows[0][3]} frames analysed")
    print(f"{'run':<12} {'wall s':>8} {'pose s':>8} {'frames/s':>9} {'speed-up (wall)':>16} {'speed-up (pose)':>16}")
    for name, wall, pose_s, frames in rows:
        print(f"{name:<12} {wall:8.1f} {pose_s:8.1f} {frames / wall:9.1f} {base_wall / wall:16.2f} "
              f"{base_pose / pose_s:16.2f}")
    print(f"unchanged re-run: {rerun_wall:.2f} s = {rerun_wall / base_wall:.3f} x the first run "
          f"(goal <= 0.02)")


if __name__ == "__main__":
    main()
