"""Benchmark of serving (DESIGN §7): the claimant status endpoint under gunicorn against the floor,
and the memory of a web worker.

A throw-away SQLite database of N appeals (default 1,000,000) is made by the product's bulk
generator, ``flask --app casework demo generate`` (all appeals share one access code), in a new
directory under /tmp. Two gunicorn servers are started with the product's configuration
(``-c python:casework.gunicorn_conf``: gthread, ``--workers`` workers, same settings for both):
Casework itself, and the floor, ``bench/floor_app.py``, a bare Flask app that reads the same
database. wrk, a second process on loopback, then loads in turn, with the same threads,
connections and duration, alternating, ``--runs`` times:

* the floor: ``GET /lookup/<reference>``, one indexed lookup in the appeal table, a small JSON object;
* the claimant status: ``GET /api/v1/status/<reference>`` with ``X-Access-Code``
  (target: ≥ 50 % of the floor's requests per second);
* a bare ``GET /hello`` (informative: what the server and Flask cost alone).

Each request names a reference drawn at random (wrk's Lua) from ``--sample`` references taken
from the database at random. Medians of the runs are reported: requests/s, p50 and p99 latency.

Then ``--mixed`` (10,000) mixed requests from this process to the Casework server (claimant
status in several languages, the web status page after the access-code form, an officer's queue
and appeals with an API token, ``/healthz``, the OpenAPI document, unknown pages, a few wrong
codes at the end), and the memory of each web worker from /proc (VmRSS, and VmHWM, its peak):
target < 150 MiB. Workers are not recycled during the run (``CASEWORK_MAX_REQUESTS=0``), so the
workers measured are the ones that served everything.

Needs wrk (``apt-get install -y wrk``; exit 3 without it). Run ``python bench/serve.py --help``;
see bench/README.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from pathlib import Path
from typing import NoReturn

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.machine import children, free_port, has_gunicorn, machine_info, results_folder, work_folder  # noqa: E402 - after the path is set

ACCESS_CODE = "BNCH-SRVE-TEST-CODE-ABCD-EFGH"  # every generated appeal's access code
SECRET_KEY = "bench-serve-secret-key"  # access codes are HMACed with it: generator and server share it
RATIO_TARGET, RSS_TARGET_MIB = 0.5, 150.0
# A gthread worker keeps the keep-alive connections it accepted, and wrk opens all of its
# connections at once: now and then one worker takes them all and the other sits idle, which
# halves the run whatever the endpoint. Such a run (a worker with less than this share of the
# CPU time) is made again, at most this many times, and counted in the report.
IDLE_WORKER_SHARE, IDLE_WORKER_RETRIES = 20, 2
LANGUAGES = ("en", "de", "fr", "es", "pl", "it", "pt", "ar")
TARGETS = ("floor", "status", "healthz", "hello")
LABELS = {
    "floor": "floor: bare Flask, one indexed lookup, `GET /lookup/<reference>`",
    "status": "claimant status, `GET /api/v1/status/<reference>` + `X-Access-Code`",
    "healthz": "Casework `GET /healthz`: the app's own request pipeline and one query (informative)",
    "hello": "bare Flask, `GET /hello` (informative)",
}

WRK_SCRIPT = r"""
-- bench/serve.py: every request asks for a reference drawn at random from a list.
-- Arguments: path prefix, file of "reference access-code" lines (or "-": the prefix alone).
local requests_ = {}
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_id", threads)
end

function init(args)
  local prefix, file = args[1], args[2]
  math.randomseed(os.time() * 1000 + (thread_id or 0))
  if file == "-" then
    requests_[1] = wrk.format("GET", prefix, {["X-Access-Code"] = "%(code)s"})
  else
    for line in io.lines(file) do
      local reference, code = line:match("^(%%S+)%%s+(%%S+)$")
      if reference then
        requests_[#requests_ + 1] = wrk.format("GET", prefix .. reference, {["X-Access-Code"] = code})
      end
    end
  end
end

function request()
  return requests_[math.random(#requests_)]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %%d, "duration_us": %%d, "bytes": %%d, "connect": %%d, "read": %%d, "write": %%d, ' ..
    '"status": %%d, "timeout": %%d, "p50_us": %%d, "p90_us": %%d, "p99_us": %%d, "max_us": %%d, "mean_us": %%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
"""


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def abort(message: str, code: int = 4) -> NoReturn:
    """Stop the run: 4 when it could not be made (a server, the generator or wrk failed), 3 when a
    tool is missing, 2 when a request failed."""
    log(message)
    raise SystemExit(code)


def fmt(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


# --- processes -----------------------------------------------------------------------------------

def memory_mib(pid: int) -> dict:
    values = {}
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            key = line.split(":", 1)[0]
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(line.split()[1]) / 1024
    return values


def settled_memory(pids: list[int], seconds: float = 15) -> dict:
    """Each worker's memory once it has finished booting (its RSS no longer grows): a server
    answers as soon as one worker is ready, while the other may still be importing the app."""
    deadline = time.monotonic() + seconds
    before = {str(pid): memory_mib(pid) for pid in pids}
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = {str(pid): memory_mib(pid) for pid in pids}
        if all(now[pid]["VmRSS"] - before[pid]["VmRSS"] < 0.5 for pid in now):
            return now
        before = now
    return before


def cpu_ticks(pids: list[int]) -> list[int]:
    """User + system CPU time of each process, in clock ticks."""
    ticks = []
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            ticks.append(0)
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        ticks.append(int(fields[11]) + int(fields[12]))  # utime, stime (fields 14 and 15 of stat)
    return ticks


def cpu_split(before: list[int], after: list[int]) -> str:
    """How the workers shared the CPU time of a run, in per cent: "51/49" (see IDLE_WORKER_SHARE)."""
    used = [b - a for a, b in zip(before, after)]
    total = sum(used) or 1
    return "/".join(f"{100 * u / total:.0f}" for u in used)


def clean_env(**extra: str) -> dict:
    """This environment without any CASEWORK_* setting of the caller's, plus ``extra``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CASEWORK_")}
    env.update(extra)
    return env


def flask_cli(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flask", "--app", "casework", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)


class Server:
    """One gunicorn master started with the product's configuration."""

    def __init__(self, name: str, app: str, env: dict, work: Path, workers: int):
        self.name, self.port = name, free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = work / f"{name}-gunicorn.log"
        env = {**env, "CASEWORK_BIND": f"127.0.0.1:{self.port}", "CASEWORK_WORKERS": str(workers),
               "CASEWORK_MAX_REQUESTS": "0", "PYTHONUNBUFFERED": "1"}
        with open(self.log_path, "w") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "python:casework.gunicorn_conf", app],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        self.workers: list[int] = []
        self.exit_code: int | None = None

    def wait_ready(self, path: str, workers: int, seconds: float = 120) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                abort(f"{self.name}: gunicorn exited ({self.proc.returncode}):\n{self.tail()}")
            try:
                status, _ = get(self.base + path)
            except OSError:
                status = None
            if status == 200 and len(children(self.proc.pid)) == workers:
                self.workers = children(self.proc.pid)
                return
            time.sleep(0.1)
        abort(f"{self.name}: not ready after {seconds} s:\n{self.tail()}")

    def tail(self) -> str:
        return self.log_path.read_text()[-3000:] if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.exit_code = self.proc.returncode


def get(url: str, headers: dict | None = None, timeout: float = 30) -> tuple[int, bytes]:
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""), headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


# --- the database --------------------------------------------------------------------------------

def generate(env: dict, appeals: int, seed: int, work: Path) -> float:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "flask", "--app", "casework", "demo", "generate", "--appeals",
                           str(appeals), "--seed", str(seed), "--access-code", ACCESS_CODE],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    (work / "generate.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        if "No such command 'generate'" in proc.stderr:
            log("this checkout has no bulk generator (`flask --app casework demo generate`): it is needed here")
            raise SystemExit(3)
        abort(f"the generator failed ({proc.returncode}):\n{(proc.stdout + proc.stderr)[-3000:]}")
    return time.perf_counter() - started


def sample(path: Path, size: int) -> tuple[int, list[tuple[str, str]], str]:
    """The number of appeals, a random sample of (reference, handling country), and the floor's plan."""
    with sqlite3.connect(path) as conn:
        total = conn.execute("SELECT count(*) FROM appeal").fetchone()[0]
        rows = conn.execute("SELECT reference, handling_country FROM appeal ORDER BY random() LIMIT ?",
                            (size,)).fetchall()
        plan = "; ".join(row[3] for row in conn.execute(
            "EXPLAIN QUERY PLAN SELECT reference, state, outcome, benefit, handling_country, lodged_at "
            "FROM appeal WHERE reference = ?", (rows[0][0],)))
    return total, rows, plan


def file_mib(path: Path) -> float:
    return sum(Path(str(path) + s).stat().st_size for s in ("", "-wal", "-shm") if Path(str(path) + s).exists()) / 2**20


# --- load ----------------------------------------------------------------------------------------

def wrk(base: str, prefix: str, refs: str, script: Path, args, seconds: float) -> dict:
    command = ["wrk", "-t", str(args.wrk_threads), "-c", str(args.connections), "-d", f"{seconds:g}s",
               "--timeout", "10s", "-s", str(script), base, "--", prefix, refs]
    proc = subprocess.run(command, capture_output=True, text=True, check=False)
    line = next((line for line in proc.stdout.splitlines() if line.startswith("WRK_JSON ")), None)
    if proc.returncode != 0 or line is None:
        abort(f"wrk failed ({proc.returncode}): {' '.join(command)}\n{proc.stdout}\n{proc.stderr}")
    result = json.loads(line.removeprefix("WRK_JSON "))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    result["errors"] = sum(result[k] for k in ("connect", "read", "write", "status", "timeout"))
    return result


# --- mixed requests ------------------------------------------------------------------------------

class Client:
    """One keep-alive connection with a cookie jar, as one browser or API client."""

    def __init__(self, port: int):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, headers: dict | None = None, body: bytes | None = None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # a kept-alive connection the server closed (keepalive timeout): a new one, once
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt == 2:
                    raise
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response.status, data


def plan_mixed(count: int, refs: list[str], visible: list[str], seed: int) -> list[tuple]:
    """The mixed requests, in order: (kind, ...) items; a web visit is three requests."""
    rng = random.Random(seed)
    kinds = [("status_api", 40), ("web_visit", 12), ("healthz", 8), ("openapi", 3), ("not_found", 5),
             ("queue", 10), ("appeal", 12)]
    names, weights = zip(*kinds)
    queues = ["/api/v1/appeals", "/api/v1/appeals?state=under_review", "/api/v1/appeals?overdue=true",
              "/api/v1/appeals?benefit=invalidity&limit=20"]
    plan, total = [], 0
    wrong = 8  # below the 10 wrong codes in 15 minutes that a client may send (API.md), at the end
    while total < count - wrong:
        kind = rng.choices(names, weights)[0]
        if kind == "web_visit":
            if total + 3 > count - wrong:
                continue
            plan.append((kind, rng.choice(refs), rng.choice(LANGUAGES)))
            total += 3
            continue
        if kind == "status_api":
            plan.append((kind, rng.choice(refs), rng.choice(LANGUAGES)))
        elif kind == "queue":
            plan.append((kind, rng.choice(queues)))
        elif kind == "appeal":
            plan.append((kind, rng.choice(visible)))
        elif kind == "not_found":
            plan.append((kind, rng.choice(["/no-such-page", "/api/v1/no-such-thing", "/track/not-a-reference/x"])))
        else:
            plan.append((kind,))
        total += 1
    for i in range(wrong):
        plan.append(("wrong_code", rng.choice(refs)) if i % 2 else ("unknown_reference", f"CW-2000-{999000 + i:06d}"))
    return plan


def run_mixed(port: int, plan: list[tuple], token: str, threads: int) -> dict:
    """Send the plan from ``threads`` clients; per kind: requests, failures (unexpected status), times."""
    stats: dict[str, dict] = {}
    lock = threading.Lock()
    tail = [item for item in plan if item[0] in ("wrong_code", "unknown_reference")]
    body = [item for item in plan if item not in tail]
    items = iter(body)
    officer = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def record(kind: str, expected: int, status: int | None, seconds: float, note: str = "") -> None:
        with lock:
            row = stats.setdefault(kind, {"requests": 0, "failures": 0, "expected": expected, "seconds": [],
                                          "statuses": Counter(), "examples": []})
            row["requests"] += 1
            row["seconds"].append(seconds)
            row["statuses"][str(status)] += 1
            if status != expected:
                row["failures"] += 1
                if len(row["examples"]) < 3:
                    row["examples"].append(f"{status} {note}"[:300])

    def one(client: Client, kind: str, expected: int, method: str, path: str, headers=None, body=None):
        started = time.perf_counter()
        try:
            status, data = client.request(method, path, headers, body)
        except OSError as error:
            status, data = None, repr(error).encode()
        record(kind, expected, status, time.perf_counter() - started, f"{method} {path} {data[:200]!r}")
        return status, data

    def send(client: Client, item: tuple) -> None:
        kind = item[0]
        if kind == "status_api":
            one(client, kind, 200, "GET", f"/api/v1/status/{item[1]}",
                {"X-Access-Code": ACCESS_CODE, "Accept-Language": item[2]})
        elif kind == "web_visit":
            # The access-code form, as a browser sends it (CSRF token, session cookie), then the page.
            visitor = Client(client.port)
            headers = {"Accept-Language": item[2], "Accept": "text/html"}
            _status, page = one(visitor, "web_track_form", 200, "GET", "/track", headers)
            token_match = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page or b"")
            form = urllib.parse.urlencode({"csrf_token": token_match.group(1).decode() if token_match else "",
                                           "reference": item[1], "access_code": ACCESS_CODE}).encode()
            one(visitor, "web_track_submit", 303, "POST", "/track",
                {**headers, "Content-Type": "application/x-www-form-urlencoded"}, form)
            one(visitor, "web_status_page", 200, "GET", f"/track/{item[1]}", headers)
            visitor.conn.close()
        elif kind == "healthz":
            one(client, kind, 200, "GET", "/healthz")
        elif kind == "openapi":
            one(client, kind, 200, "GET", "/api/v1/openapi.json")
        elif kind == "not_found":
            one(client, kind, 404, "GET", item[1], {"Accept": "text/html"})
        elif kind == "queue":  # reported per filter: their costs differ
            query = item[1].partition("?")[2]
            one(client, f"queue {query}" if query else "queue", 200, "GET", item[1], officer)
        elif kind == "appeal":
            one(client, kind, 200, "GET", f"/api/v1/appeals/{item[1]}", officer)
        elif kind == "wrong_code":
            one(client, kind, 404, "GET", f"/api/v1/status/{item[1]}", {"X-Access-Code": "AAAA-BBBB-CCCC-DDDD"})
        elif kind == "unknown_reference":
            one(client, kind, 404, "GET", f"/api/v1/status/{item[1]}", {"X-Access-Code": ACCESS_CODE})

    def worker() -> None:
        client = Client(port)
        while True:
            with lock:
                item = next(items, None)
            if item is None:
                break
            send(client, item)
        client.conn.close()

    started = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    client = Client(port)
    for item in tail:
        send(client, item)
    elapsed = time.perf_counter() - started
    for row in stats.values():
        seconds = row.pop("seconds")
        row["median_ms"] = statistics.median(seconds) * 1000
        row["p99_ms"] = sorted(seconds)[max(0, int(len(seconds) * 0.99) - 1)] * 1000
        row["statuses"] = dict(row["statuses"])
    return {"kinds": stats, "seconds": elapsed, "requests": sum(r["requests"] for r in stats.values())}


# --- the report ----------------------------------------------------------------------------------

def machine() -> list[tuple[str, str]]:
    from importlib.metadata import version

    wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False).stdout
    wrk_version = (wrk_version.split("[")[0].removeprefix("wrk ").strip()) or "?"
    return [*machine_info(), ("load average (1/5/15 min, at start)", " / ".join(f"{x:.2f}" for x in os.getloadavg())),
            ("gunicorn / Flask / SQLAlchemy", f"{version('gunicorn')} / {version('flask')} / {version('sqlalchemy')}"),
            ("wrk", wrk_version)]


def render(report: dict) -> str:
    a, db_, load, mem, mixed = report["args"], report["db"], report["load"], report["memory"], report["mixed"]
    floor_rps = load["floor"]["rps"]
    made = ("an existing database, `--reuse`" if db_["generate_s"] is None
            else f"made in {db_['generate_s']:.0f} s")
    database = (f"Database: {db_['appeals']:,} appeals from `flask --app casework demo generate` ({made}), "
                f"{db_['size_mib']:,.0f} MiB on disk, in /tmp. Requests draw at random from {db_['sampled']:,} "
                f"references sampled at random. The floor's lookup: `{db_['floor_plan']}`.")
    setup = (f"Servers: gunicorn with `casework/gunicorn_conf.py` ({report['server']['worker_class']}, "
             f"{a['workers']} workers × {report['server']['threads']} threads, access log on, workers not "
             "recycled), one for Casework and one for the floor (`bench/floor_app.py`). Load: wrk from a second "
             f"process over loopback, {a['wrk_threads']} threads, {a['connections']} connections, "
             f"{a['duration']:g} s per run after a {a['warmup']:g} s warm-up of each; floor → status → healthz → hello, "
             f"{a['runs']} times; medians of the runs.")
    lines = [
        f"# Serving benchmark ({'quick' if a['quick'] else 'full'} run)", "",
        f"`{report['command']}`, {report['started']}, {report['elapsed_s']:.0f} s in all", "",
        "| machine | |", "|---|---|", *(f"| {k} | {v} |" for k, v in report["machine"]), "",
        database, "", setup, "",
        "| endpoint | req/s | runs: req/s (workers' CPU split, %) | p50 ms | p99 ms | × floor | target | result |",
        "|---|---:|---|---:|---:|---:|---:|---|",
    ]
    for target in TARGETS:
        row = load[target]
        ratio = row["rps"] / floor_rps
        rps = fmt(row["rps"])
        runs = ", ".join(fmt(r["rps"]) + (f" ({r['cpu_split']})" if r.get("cpu_split") else "") for r in row["runs"])
        if target == "status":
            verdict = "PASS" if ratio >= RATIO_TARGET else "FAIL"
            lines.append(f"| {LABELS[target]} | **{rps}** | {runs} | {row['p50_ms']:.2f} | {row['p99_ms']:.2f} | "
                         f"**{ratio:.2f}** | ≥ {RATIO_TARGET:.2f} | {verdict} |")
        else:
            lines.append(f"| {LABELS[target]} | {rps} | {runs} | {row['p50_ms']:.2f} | {row['p99_ms']:.2f} | "
                         f"{ratio:.2f} | | |")
    errors = ", ".join(f"{t} {load[t]['errors']}" for t in TARGETS)
    discarded = ", ".join(f"{t} {len(load[t].get('discarded', []))}" for t in TARGETS)
    replaced = "" if mem["same_workers"] else "; **the workers were replaced during the run**"
    lines += [
        "", (f"Failed wrk requests (socket errors, timeouts, status ≥ 400), warm-ups and runs made again included: "
        f"{errors}."), "",
        (f"Runs made again because one worker took all of wrk's connections and the other sat idle (less than "
         f"{IDLE_WORKER_SHARE} % of the CPU time; a gthread worker keeps the connections it accepts): {discarded}."),
        "",
        f"## Memory of the web workers after {mixed['requests']:,} mixed requests", "",
        (f"The mixed requests ({mixed['seconds']:.0f} s, {a['mixed_clients']} clients with keep-alive, from this "
         "process) came after the load above, to the same Casework workers "
         f"(pids {', '.join(map(str, mem['casework_workers']))}{replaced})."), "",
        "| process | VmRSS at start | after wrk | after mixed | VmHWM (peak) | target | result |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for pid in mem["casework_workers"]:
        start = mem["start"].get(str(pid), {}).get("VmRSS")
        loaded = mem["after_load"].get(str(pid), {}).get("VmRSS")
        end = mem["after_mixed"][str(pid)]
        if start is None or loaded is None:  # a worker that was not there from the start
            start_text, loaded_text = "?", "?"
        else:
            start_text, loaded_text = f"{start:.0f} MiB", f"{loaded:.0f} MiB"
        verdict = "PASS" if end["VmHWM"] < RSS_TARGET_MIB else "FAIL"
        lines.append(f"| Casework worker {pid} | {start_text} | {loaded_text} | {end['VmRSS']:.0f} MiB | "
                     f"**{end['VmHWM']:.0f} MiB** | < {RSS_TARGET_MIB:.0f} MiB | {verdict} |")
    for pid, values in mem["floor"].items():
        lines.append(f"| floor worker {pid} (informative) | | {values['VmRSS']:.0f} MiB | | {values['VmHWM']:.0f} MiB | | |")
    lines += ["", "| mixed requests | requests | expected | unexpected | median ms | p99 ms |",
              "|---|---:|---:|---:|---:|---:|"]
    for kind, row in sorted(mixed["kinds"].items(), key=lambda item: -item[1]["requests"]):
        lines.append(f"| {kind} | {row['requests']:,} | {row['expected']} | {row['failures']} | "
                     f"{row['median_ms']:.1f} | {row['p99_ms']:.1f} |")
    failures = [f"{kind}: {row['statuses']} e.g. {row['examples']}" for kind, row in mixed["kinds"].items()
                if row["failures"]]
    codes = report["exit_codes"]
    lines += ["", "Unexpected answers: " + ("; ".join(failures) if failures else "none") + ".", "",
              f"Servers stopped with SIGTERM: Casework exit {codes['casework']}, floor exit {codes['floor']}.", ""]
    ratio = load["status"]["rps"] / floor_rps
    peak = max((mem["after_mixed"][str(pid)]["VmHWM"] for pid in mem["casework_workers"]), default=float("inf"))
    status_ok, memory_ok = ratio >= RATIO_TARGET, peak < RSS_TARGET_MIB
    lines += [(f"Targets: claimant status ≥ {RATIO_TARGET:.0%} of the floor's throughput: "
              f"{'PASS' if status_ok else 'FAIL'} ({ratio:.0%}); every web worker's peak RSS < "
              f"{RSS_TARGET_MIB:.0f} MiB: {'PASS' if memory_ok else 'FAIL'} ({peak:.0f} MiB at most)."), ""]
    report["ok"] = status_ok and memory_ok
    report["failed_requests"] = (sum(load[t]["errors"] for t in TARGETS)
                                 + sum(row["failures"] for row in mixed["kinds"].values()))
    return "\n".join(lines)


# --- main ----------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--appeals", type=int, help="appeals to generate (default 1,000,000)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 20,000 appeals, 2 runs of 5 s after 2 s warm-ups, 4,000 mixed requests "
                             "(under 2 minutes); options given explicitly still apply")
    parser.add_argument("--runs", type=int, help="wrk runs per endpoint (default 3)")
    parser.add_argument("--duration", type=float, help="seconds per wrk run (default 15)")
    parser.add_argument("--warmup", type=float, help="seconds of untimed load per endpoint first (default 3)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per server (default 2)")
    parser.add_argument("--sample", type=int, default=10_000, help="references to draw from (default 10,000)")
    parser.add_argument("--mixed", type=int, help="mixed requests before the memory reading (default 10,000)")
    parser.add_argument("--mixed-clients", type=int, default=4, help="concurrent clients sending them (default 4)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--workdir", help="where to build the database (default: a new directory under /tmp)")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--reuse", action="store_true",
                        help="use the database already in --workdir (made by an earlier --keep run) instead of generating")
    args = parser.parse_args()
    defaults = ({"appeals": 20_000, "runs": 2, "duration": 5, "warmup": 2, "mixed": 4_000} if args.quick else
                {"appeals": 1_000_000, "runs": 3, "duration": 15, "warmup": 3, "mixed": 10_000})
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.reuse and not args.workdir:
        parser.error("--reuse needs --workdir")
    if shutil.which("wrk") is None:
        print("bench/serve.py needs wrk, the HTTP load generator: apt-get install -y wrk", file=sys.stderr)
        return 3
    if not has_gunicorn("bench/serve.py"):
        return 3

    began = time.perf_counter()
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    info = machine()
    work = work_folder(parser, args.workdir, "serve")
    results = results_folder()
    path = work / "casework.db"
    env = clean_env(CASEWORK_DATABASE_URL=f"sqlite:///{path}", CASEWORK_SECRET_KEY=SECRET_KEY,
                    CASEWORK_INSTANCE_PATH=str(work / "instance"))
    servers: list[Server] = []
    try:
        if args.reuse and path.exists():
            log(f"using the database in {path}")
            generate_s = None
        else:
            if path.exists():
                parser.error(f"{path} exists: choose another --workdir, or --reuse it")
            log(f"generating {args.appeals:,} appeals into {path}")
            generate_s = generate(env, args.appeals, args.seed, work)
            log(f"generated in {generate_s:.0f} s")
        total, rows, floor_plan = sample(path, args.sample)
        refs = [reference for reference, _country in rows]
        country = Counter(country for _reference, country in rows).most_common(1)[0][0]
        visible = [reference for reference, handling in rows if handling == country]
        refs_file = work / "references.txt"
        refs_file.write_text("".join(f"{reference} {ACCESS_CODE}\n" for reference in refs))
        script = work / "load.lua"
        script.write_text(WRK_SCRIPT % {"code": ACCESS_CODE})
        log(f"{total:,} appeals; {len(refs):,} references sampled; officer of {country} ({len(visible):,} of them)")

        # An officer of the most common handling country, with an API token.
        email = f"bench.officer.{country.lower()}@example.org"
        flask_cli(env, "users", "add", email, "--role", "officer", "--country", country,
                  "--password", "bench-serve-password-1")  # fails harmlessly when it exists (--reuse)
        issued = flask_cli(env, "tokens", "issue", email)
        if issued.returncode != 0:
            abort(f"tokens issue failed:\n{issued.stdout}{issued.stderr}")
        token = issued.stdout.strip().splitlines()[-1].strip()

        casework = Server("casework", "casework:create_app()", env, work, args.workers)
        servers.append(casework)
        floor = Server("floor", "bench.floor_app:app", clean_env(FLOOR_DATABASE=str(path)), work, args.workers)
        servers.append(floor)
        casework.wait_ready("/healthz", args.workers)
        floor.wait_ready("/hello", args.workers)
        memory = {"start": settled_memory(casework.workers)}
        server_info = {"worker_class": "?", "threads": "?"}
        text = casework.log_path.read_text()
        if match := re.search(r"(\d+) workers × (\d+) threads \((\w+)\)", text):
            server_info = {"threads": int(match.group(2)), "worker_class": match.group(3)}
        log(f"servers ready: Casework {casework.base} (workers {casework.workers}), floor {floor.base}")

        # Each endpoint answers as expected before it is loaded.
        probe = refs[0]
        checks = {
            "floor": get(f"{floor.base}/lookup/{probe}"),
            "status": get(f"{casework.base}/api/v1/status/{probe}", {"X-Access-Code": ACCESS_CODE}),
            "healthz": get(f"{casework.base}/healthz"),
            "hello": get(f"{floor.base}/hello"),
        }
        for target, (status, body) in checks.items():
            if status != 200:
                abort(f"{target}: {status} for the probe request: {body[:500]!r}", 2)

        endpoints = {
            "floor": (floor, "/lookup/", str(refs_file)),
            "status": (casework, "/api/v1/status/", str(refs_file)),
            "healthz": (casework, "/healthz", "-"),
            "hello": (floor, "/hello", "-"),
        }
        load = {target: {"runs": [], "discarded": [], "errors": 0} for target in TARGETS}
        for target in TARGETS:
            server, prefix, file = endpoints[target]
            warm = wrk(server.base, prefix, file, script, args, args.warmup)
            load[target]["errors"] += warm["errors"]
            log(f"warm-up {target}: {warm['rps']:,.0f} req/s")
        for run in range(args.runs):
            for target in TARGETS:
                server, prefix, file = endpoints[target]
                for attempt in range(1 + IDLE_WORKER_RETRIES):
                    before = cpu_ticks(server.workers)
                    result = wrk(server.base, prefix, file, script, args, args.duration)
                    result["cpu_split"] = cpu_split(before, cpu_ticks(server.workers))
                    load[target]["errors"] += result["errors"]
                    log(f"run {run + 1}/{args.runs} {target}: {result['rps']:,.0f} req/s, "
                        f"p50 {result['p50_us'] / 1000:.2f} ms, p99 {result['p99_us'] / 1000:.2f} ms, "
                        f"{result['errors']} errors, workers' CPU {result['cpu_split']} %")
                    idle = min(int(share) for share in result["cpu_split"].split("/")) < IDLE_WORKER_SHARE
                    if not idle or attempt == IDLE_WORKER_RETRIES:
                        break
                    load[target]["discarded"].append(result)
                    log("  one worker sat idle (it accepted none of wrk's connections): run again")
                load[target]["runs"].append(result)
        for target in TARGETS:
            runs = load[target]["runs"]
            load[target].update(rps=statistics.median(r["rps"] for r in runs),
                                p50_ms=statistics.median(r["p50_us"] for r in runs) / 1000,
                                p99_ms=statistics.median(r["p99_us"] for r in runs) / 1000)
        memory["after_load"] = {str(pid): memory_mib(pid) for pid in children(casework.proc.pid)}
        memory["floor"] = {str(pid): memory_mib(pid) for pid in children(floor.proc.pid)}

        log(f"{args.mixed:,} mixed requests")
        mixed = run_mixed(casework.port, plan_mixed(args.mixed, refs, visible or refs, args.seed), token,
                          args.mixed_clients)
        now_workers = children(casework.proc.pid)
        memory["after_mixed"] = {str(pid): memory_mib(pid) for pid in now_workers}
        memory["casework_workers"] = now_workers
        memory["same_workers"] = now_workers == casework.workers
        log(f"mixed: {mixed['requests']:,} requests in {mixed['seconds']:.0f} s; worker VmHWM "
            + ", ".join(f"{v['VmHWM']:.0f} MiB" for v in memory["after_mixed"].values()))
        for server in servers:
            server.stop()
        report = {
            "args": vars(args), "command": "python bench/serve.py " + " ".join(sys.argv[1:]), "started": started,
            "machine": info, "server": server_info,
            "db": {"appeals": total, "generate_s": generate_s, "size_mib": file_mib(path), "sampled": len(refs),
                   "officer_country": country, "floor_plan": floor_plan},
            "load": load, "memory": memory, "mixed": mixed,
            "exit_codes": {server.name: server.exit_code for server in servers},
            "elapsed_s": time.perf_counter() - began,
        }
        text = render(report)
        print(text)
        name = "serve-quick" if args.quick else "serve"
        (results / f"{name}.md").write_text(text)
        (results / f"{name}.json").write_text(json.dumps(report, indent=1, default=str))
        if report["failed_requests"]:
            return 2
        return 1 if args.strict and not report["ok"] else 0
    finally:
        for server in servers:
            server.stop()
        if not args.keep and not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
