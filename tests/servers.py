"""Test helpers for real local services: a free loopback port, a server process until it
answers, and the Prefect artifacts and runs of a Prefect home."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_until_answering(cmd: list[str], url: str, log: Path, timeout_s: float, env: dict | None = None
                          ) -> subprocess.Popen:
    """Start `cmd` (output to `log`) and wait until `url` answers; fail the test if it never does."""
    out = log.open("w")
    proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    out.close()  # the child keeps its own handle
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return proc
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"{Path(cmd[0]).name} did not start: {log.read_text()[-2000:]}")
            time.sleep(0.3)


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(30)


def read_artifacts(env: dict) -> list[dict]:
    """key, type, description and data of every Prefect artifact in the API that `env` points at."""
    code = ("import json\nfrom prefect.client.orchestration import get_client\n"
            "with get_client(sync_client=True) as c:\n"
            "    print(json.dumps([{'key': a.key, 'type': a.type, 'description': a.description, 'data': a.data}"
            " for a in c.read_artifacts()]))")
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def read_runs(env: dict) -> tuple[list[dict], list[dict]]:
    """(flow runs: id, flow name, the flow run of the task that started it (None for a top-level
    run); task runs: task name, flow run id) in the Prefect API that `env` points at."""
    code = ("import json\nfrom prefect.client.orchestration import get_client\n"
            "def every(read):\n"
            "    found, page = [], True\n"
            "    while page:\n"
            "        page = read(limit=200, offset=len(found))\n"
            "        found += page\n"
            "    return found\n"
            "with get_client(sync_client=True) as c:\n"
            "    tasks = every(c.read_task_runs)\n"
            "    owner = {str(t.id): str(t.flow_run_id) for t in tasks}\n"
            "    flows = [{'id': str(f.id), 'flow': c.read_flow(f.flow_id).name,\n"
            "              'parent': owner.get(str(f.parent_task_run_id))} for f in every(c.read_flow_runs)]\n"
            "    print(json.dumps([flows, [{'task': t.name.rsplit('-', 1)[0], 'flow_run': str(t.flow_run_id)}"
            " for t in tasks]]))")
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True).stdout
    flows, tasks = json.loads(out.strip().splitlines()[-1])
    return flows, tasks


S3_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def s3_fs():
    """A fresh s3fs file system on the endpoint of the `s3` fixture (no cached listings)."""
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()
    return s3fs.S3FileSystem(endpoint_url=os.environ["AWS_ENDPOINT_URL"])
