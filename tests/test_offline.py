"""Privacy: a whole run makes no network connection beyond loopback, with telemetry left at our defaults.

Every Python process of the run (CLI, Prefect's server, fork-server children,
validation) loads a `sitecustomize` that refuses and records any connection or
name lookup that is not loopback.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

BLOCKER = textwrap.dedent("""
    import ipaddress, os, socket

    _LOG = os.environ["HINGEFLOW_NET_LOG"]
    with open(_LOG + ".loaded", "a") as f:  # which processes run guarded
        f.write(f"{os.getpid()}\\n")
    _LOCAL_NAMES = {None, "", "localhost", "0.0.0.0", "::"}


    def _loopback(host):
        if host in _LOCAL_NAMES:
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False


    def _refuse(what):
        with open(_LOG, "a") as f:
            f.write(f"{os.getpid()} {what}\\n")
        raise OSError(101, f"network blocked by the test: {what}")


    def _guard(real):
        def call(self, address):
            if self.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address[0]):
                _refuse(f"connect {address}")
            return real(self, address)
        return call


    socket.socket.connect = _guard(socket.socket.connect)
    socket.socket.connect_ex = _guard(socket.socket.connect_ex)
    _getaddrinfo = socket.getaddrinfo


    def getaddrinfo(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if not _loopback(name):
            _refuse(f"lookup {name}")
        return _getaddrinfo(host, *args, **kwargs)


    socket.getaddrinfo = getaddrinfo
""")
TELEMETRY = ("DO_NOT_TRACK", "PREFECT_SERVER_ANALYTICS_ENABLED", "GX_ANALYTICS_ENABLED", "PREFECT_API_URL")


@pytest.fixture()
def offline_env(tmp_path) -> tuple[dict, Path]:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCKER)
    log = tmp_path / "net.log"
    env = {k: v for k, v in os.environ.items() if k not in TELEMETRY}  # our own defaults must hold
    env.update(PYTHONPATH=os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")])),
               HINGEFLOW_NET_LOG=str(log), PREFECT_HOME=str(tmp_path / "prefect"))
    return env, log


def test_the_blocker_stops_a_real_connection(offline_env):
    env, log = offline_env
    code = "import socket; socket.create_connection(('203.0.113.7', 443), timeout=2)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode != 0 and "network blocked by the test" in out.stderr
    assert "203.0.113.7" in log.read_text()


@pytest.mark.slow
def test_a_demo_run_needs_no_network(offline_env, tmp_path):
    env, log = offline_env
    hingeflow = str(Path(sys.executable).with_name("hingeflow"))
    out = subprocess.run([hingeflow, "demo", "--warehouse", str(tmp_path / "wh"), "--footage", str(tmp_path / "gym"),
                          "--athletes", "1", "--weeks", "1"], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    assert (tmp_path / "wh" / "reports" / "index.html").is_file()
    assert not log.exists(), f"connections attempted: {log.read_text()}"
    guarded = set(Path(f"{log}.loaded").read_text().split())
    assert len(guarded) >= 3  # at least the CLI, Prefect's temporary server and the fork server
