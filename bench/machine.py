"""The machine the benchmarks run on, for the bench scripts: what a report says about it, a free
port, a server's worker processes."""

from __future__ import annotations

import os
import platform
import socket
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def machine_info() -> list[tuple[str, str]]:
    """CPU, memory, Python, SQLite and the product code's commit (marked when the tree is dirty)."""
    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        model = platform.processor() or "?"
    memory = next((line.split()[1] for line in open("/proc/meminfo") if line.startswith("MemTotal")), "0")
    try:
        code = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=False).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain"], capture_output=True, text=True,
                               check=False).stdout.strip()
        code += " (with uncommitted changes)" if dirty else ""
    except OSError:
        code = "?"
    return [("CPU", f"{model}, {os.cpu_count()} cores"), ("memory", f"{int(memory) / 2**20:.1f} GiB"),
            ("Python", platform.python_version()), ("SQLite", sqlite3.sqlite_version), ("product code", code)]


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def children(pid: int) -> list[int]:
    """Live processes whose parent is ``pid`` (a gunicorn master's workers), in pid order."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry.name))
    return sorted(found)


def work_folder(parser, workdir: str | None, name: str) -> Path:
    """Where a run puts its databases: ``--workdir``, else a new folder in /tmp; never inside the
    repository (a stray database there would be committed or served)."""
    work = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix=f"casework-{name}-", dir="/tmp"))
    work.mkdir(parents=True, exist_ok=True)
    if ROOT in work.resolve().parents or work.resolve() == ROOT:
        parser.error("--workdir must be outside the repository")
    return work


def results_folder() -> Path:
    """bench/results, where every script writes its report."""
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    return results


def has_gunicorn(script: str) -> bool:
    """Whether gunicorn is installed; if not, says so for ``script`` (the scripts then exit 3)."""
    try:
        import gunicorn  # noqa: F401
    except ImportError:
        print(f"{script} needs gunicorn: .venv/bin/pip install -r requirements.txt", file=sys.stderr)
        return False
    return True
