"""casework/gunicorn_conf.py: gunicorn serves the app with it, on a throw-away SQLite database,
and restarts (HUP) and stops (TERM) gracefully."""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("gunicorn") is None,
                       reason="gunicorn is not installed (pip install -r requirements.txt)"),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads worker processes from /proc"),
]

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def children(pid: int) -> set[int]:
    """The live processes whose parent is ``pid`` (gunicorn's workers)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(entry.name))
    return found


def workers(master: int, other_than: set[int] = frozenset()) -> set[int] | None:
    """The master's two workers, once there are exactly two and none of them is in ``other_than``."""
    pids = children(master)
    return pids if len(pids) == 2 and not pids & other_than else None


def healthz(base: str) -> int | None:
    try:
        with urllib.request.urlopen(f"{base}/healthz?probe=do-not-log-me", timeout=2) as response:
            return response.status
    except (urllib.error.URLError, OSError):
        return None


def wait_for(predicate, what: str, proc: subprocess.Popen, log: Path, seconds: float = 30.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc.poll() is not None:
            pytest.fail(f"gunicorn exited ({proc.returncode}) while waiting for {what}:\n{log.read_text()[-3000:]}")
        time.sleep(0.05)
    pytest.fail(f"timed out after {seconds} s waiting for {what}:\n{log.read_text()[-3000:]}")


def test_serves_restarts_and_stops_gracefully(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {key: value for key, value in os.environ.items() if not key.startswith("CASEWORK_")}
    env.update({
        "CASEWORK_DATABASE_URL": f"sqlite:///{tmp_path / 'casework.db'}",
        "CASEWORK_SECRET_KEY": "gunicorn-test-secret",
        "CASEWORK_INSTANCE_PATH": str(tmp_path / "instance"),
        "CASEWORK_BIND": f"127.0.0.1:{port}",
        "CASEWORK_WORKERS": "2",
        "PYTHONUNBUFFERED": "1",
    })
    log = tmp_path / "gunicorn.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:casework.gunicorn_conf", "casework:create_app()"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        assert wait_for(lambda: healthz(base) == 200, "/healthz", proc, log)
        first = wait_for(lambda: workers(proc.pid), "2 workers", proc, log)

        # Graceful restart: two new workers replace the old ones, and it serves throughout.
        proc.send_signal(signal.SIGHUP)
        second = wait_for(lambda: workers(proc.pid, first), "2 new workers after HUP", proc, log)
        assert wait_for(lambda: healthz(base) == 200, "/healthz after HUP", proc, log)
        assert len(second) == 2

        # Graceful stop: the master exits 0 and takes its workers with it.
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        assert not children(proc.pid)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    text = log.read_text()
    assert "Using worker: gthread" in text
    # The access log names the path, never the query string.
    assert '"GET /healthz HTTP/1.1" 200' in text
    assert "do-not-log-me" not in text
