"""Benchmark of action throughput through the HTTP API (DESIGN §7; target: ≥ 300 actions/s on
SQLite): officers admitting appeals and deciding their review, on SQLite and on PostgreSQL.

For each database, SQLite (a file in a new directory under /tmp) and PostgreSQL (``--postgres-url``,
when reachable; ``--no-postgres`` skips it):

1. background data: ``--appeals`` (100,000) appeals made by the product's bulk generator,
   ``flask --app casework demo generate`` (five years of histories, deadlines, notices);
2. in a fresh process, untimed: an officer of each of the eight handling countries with an API
   token per client, and freshly lodged appeals to act on, lodged through
   ``POST /api/v1/appeals`` (Flask test client) with their institution: ``lodged``, the
   admissibility deadline pending;
3. in-process, single thread, in a fresh process (the Flask test client): for each appeal of its
   own set, ``admit`` then ``decide_review`` (refused, with reasons), each with the version the
   previous answer gave;
4. over real HTTP: gunicorn with the product's configuration (``-c python:casework.gunicorn_conf``,
   ``--workers`` (2) gthread workers, access log on, no worker recycled), driven by a separate load
   process of ``--clients`` (6) threads, each with its own keep-alive connection, its own appeals
   (of one handling country, so no two clients touch the same appeal) and the token of an officer
   of that country. Each client first acts on a few appeals untimed; then all start together.

Reported per database and mode: actions per second (all actions over the wall time from the
first request to the last answer), and p50/p99/max latency per action. Then, in a fresh process,
every appeal acted on is checked: exactly the events lodge → admit → decide_review, in state
``awaiting_claimant`` with the review refused, and its hash chain verifies
(``casework.events.verify_chain``, ending at the appeal's recorded head). Run
``python bench/actions.py --help``; see bench/README.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
if __name__ == "__main__":
    # Scripts of bench/ never shadow a library module: bench/ is not on the path.
    sys.path[:] = [p for p in sys.path if Path(p or os.curdir).resolve() != BENCH]
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))

from bench.machine import children, free_port, has_gunicorn, machine_info, results_folder, work_folder  # noqa: E402 - after the path is set

ACCESS_CODE = "BNCH-ACTS-TEST-CODE-ABCD-EFGH"
SECRET_KEY = "bench-actions-secret-key"
POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/bench_helper"
TARGET_PER_S = 300.0
COUNTRIES = ("DE", "FR", "ES", "PL", "IT", "PT", "NL", "BE")
BENEFITS = ("old_age_pension", "invalidity", "sickness", "unemployment", "family")
LANGUAGES = ("de", "fr", "es", "pl", "it", "pt", "en", "ar")
REASONS = "The periods claimed abroad are not proven by the records received."
LATE_REASON = "The decision reached the claimant abroad weeks after it was sent."
EXPECTED = [("lodge", None, "lodged"), ("admit", "lodged", "under_review"),
            ("decide_review", "under_review", "awaiting_claimant")]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def fmt(value: float, digits: int = 1) -> str:
    return f"{value:,.{digits}f}"


def percentile(values: list[float], q: float) -> float:
    """Nearest rank: the smallest value with at least q % of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)] if ordered else float("nan")


def summary(latencies_ms: list[float]) -> dict:
    return {"count": len(latencies_ms), "p50_ms": percentile(latencies_ms, 50), "p99_ms": percentile(latencies_ms, 99),
            "max_ms": max(latencies_ms, default=float("nan")),
            "mean_ms": statistics.fmean(latencies_ms) if latencies_ms else float("nan")}


def clean_env(**extra: str) -> dict:
    """This environment without any CASEWORK_* setting of the caller's, plus ``extra``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CASEWORK_")}
    env.update(extra)
    return env


def load_average() -> str:
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


# --- the databases -------------------------------------------------------------------------------

def postgres_reset(url: str) -> str:
    """Empty the benchmark's PostgreSQL database (its public schema); returns the server version.
    Only a database whose name starts with "bench" is ever emptied."""
    import psycopg

    name = urllib.parse.urlsplit(url).path.lstrip("/")
    if not name.startswith("bench"):
        raise SystemExit(f"refusing to empty the PostgreSQL database {name!r}: its name must start with 'bench'")
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
        return conn.execute("SHOW server_version").fetchone()[0]


def postgres_reachable(url: str) -> str | None:
    """None when PostgreSQL answers at ``url``, else why not."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure to connect means: skip it
        return str(exc).strip().splitlines()[0]
    return None


def generate(env: dict, appeals: int, seed: int, work: Path, name: str) -> float:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "flask", "--app", "casework", "demo", "generate", "--appeals",
                           str(appeals), "--seed", str(seed), "--access-code", ACCESS_CODE],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    (work / f"generate-{name}.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise SystemExit(f"the generator failed ({proc.returncode}):\n{(proc.stdout + proc.stderr)[-3000:]}")
    return time.perf_counter() - started


# --- children: fresh processes -------------------------------------------------------------------

def make_app(url: str, instance: str, **config):
    from casework import create_app

    return create_app({"DATABASE_URL": url, "SECRET_KEY": SECRET_KEY, "INSTANCE_PATH": instance, **config})


def child_setup(url: str, instance: str, plan_path: str, sets: dict, clients: int) -> dict:
    """Officers with tokens, and the appeals to act on, lodged through the API (untimed)."""
    from sqlmodel import select

    from casework import demo
    from casework.access import issue_api_token, new_staff
    from casework.db import db, writing
    from casework.models import User

    # Thousands of lodgings from one address in a minute would meet the lodging rate limit (an
    # officer's 500 an hour): set-up only, as if many officers had lodged them over time.
    app = make_app(url, instance, RATELIMIT_ENABLED=False)
    client = app.test_client()
    officers: dict[str, list[str]] = {}
    with app.app_context(), writing():
        for country in COUNTRIES:
            email = f"bench.actions.{country.lower()}@example.org"
            user = db.session.exec(select(User).where(User.email == email)).first()
            if user is None:
                user = new_staff(db.session, email, "officer", None, country)
            # one token per client thread of that country (and one for the in-process loop)
            officers[country] = [issue_api_token(db.session, user) for _ in range(clients // len(COUNTRIES) + 2)]
        db.session.commit()
    decided = (date.today() - timedelta(days=10)).isoformat()
    counter = [0]

    def lodge(country: str) -> dict:
        counter[0] += 1
        n = counter[0]
        other = COUNTRIES[(COUNTRIES.index(country) + 1 + n % 7) % len(COUNTRIES)]
        body = {
            "claimant": {"name": f"Bench Claimant {n}", "birth_date": "1961-04-12", "residence_country": other,
                         "preferred_language": LANGUAGES[n % len(LANGUAGES)], "email": f"bench{n}@mail.example",
                         "personal_ids": [{"country": country, "scheme": "national-insurance",
                                           "value": f"{country}{n:010d}"}]},
            "contested_decision": {"institution_country": country, "institution_name": demo.INSTITUTIONS[country][0],
                                   "reference": f"{country}-BENCH-{n}", "benefit": BENEFITS[n % len(BENEFITS)],
                                   "decision_date": decided},
            "involved_countries": [other],
            "grounds": "Insurance periods completed abroad were not aggregated.",
        }
        response = client.post("/api/v1/appeals", json=body, headers={"Authorization": f"Bearer {officers[country][0]}"})
        if response.status_code != 201:
            raise SystemExit(f"lodging failed: {response.status_code} {response.get_data(as_text=True)[:500]}")
        appeal = response.get_json()
        if appeal["handling_country"] != country or appeal["state"] != "lodged":
            raise SystemExit(f"lodged appeal not as expected: {appeal['handling_country']} {appeal['state']}")
        return {"reference": appeal["reference"], "version": appeal["version"], "country": country,
                "late": not appeal["filed_in_time"]}

    started = time.perf_counter()
    plan: dict = {"clients": [], "inprocess": {}}
    for i in range(clients):
        country = COUNTRIES[i % len(COUNTRIES)]
        token = officers[country][1 + i // len(COUNTRIES)]
        plan["clients"].append({"country": country, "token": token,
                                "warmup": [lodge(country) for _ in range(sets["warmup_http"])],
                                "appeals": [lodge(country) for _ in range(sets["http"])]})
    # The in-process loop takes its appeals from every country in turn, each with its officer's token.
    plan["inprocess"] = {
        "tokens": {country: tokens[0] for country, tokens in officers.items()},
        "warmup": [lodge(COUNTRIES[i % len(COUNTRIES)]) for i in range(sets["warmup_inprocess"])],
        "appeals": [lodge(COUNTRIES[i % len(COUNTRIES)]) for i in range(sets["inprocess"])],
    }
    lodge_s = time.perf_counter() - started
    Path(plan_path).write_text(json.dumps(plan))
    return {"lodged": counter[0], "lodge_s": lodge_s}


def action_bodies(appeal: dict) -> list[dict]:
    admit = {"action": "admit"}
    if appeal["late"]:
        admit["late_filing_reason"] = LATE_REASON
    return [admit, {"action": "decide_review", "outcome": "refused", "reasons": REASONS}]


def child_inprocess(url: str, instance: str, plan_path: str) -> dict:
    """admit + decide_review on each appeal of the in-process set, one thread, Flask test client."""
    plan = json.loads(Path(plan_path).read_text())["inprocess"]
    app = make_app(url, instance)
    client = app.test_client()
    latencies: dict[str, list[float]] = {"admit": [], "decide_review": []}
    statuses: dict[str, int] = {}
    failures: list[str] = []

    def act(appeal: dict, timed: bool) -> None:
        headers = {"Authorization": f"Bearer {plan['tokens'][appeal['country']]}"}
        version = appeal["version"]
        for body in action_bodies(appeal):
            started = time.perf_counter()
            response = client.post(f"/api/v1/appeals/{appeal['reference']}/actions", json={**body, "version": version},
                                   headers=headers)
            seconds = time.perf_counter() - started
            statuses[str(response.status_code)] = statuses.get(str(response.status_code), 0) + 1
            if response.status_code != 200:
                if len(failures) < 20:
                    failures.append(f"{appeal['reference']} {body['action']}: {response.status_code} "
                                    f"{response.get_data(as_text=True)[:300]}")
                return
            version = response.get_json()["version"]
            if timed:
                latencies[body["action"]].append(seconds * 1000)

    for appeal in plan["warmup"]:
        act(appeal, False)
    began = time.perf_counter()
    for appeal in plan["appeals"]:
        act(appeal, True)
    wall = time.perf_counter() - began
    return {"wall_s": wall, "latencies_ms": latencies, "statuses": statuses, "failures": failures}


def child_load(base: str, plan_path: str) -> dict:
    """The load process: one thread per client, each with its keep-alive connection and its appeals."""
    plan = json.loads(Path(plan_path).read_text())["clients"]
    parts = urllib.parse.urlsplit(base)
    ready = threading.Barrier(len(plan) + 1)
    results: list[dict] = [{} for _ in plan]

    def run(index: int, client: dict) -> None:
        latencies: dict[str, list[float]] = {"admit": [], "decide_review": []}
        statuses: dict[str, int] = {}
        failures: list[str] = []
        headers = {"Authorization": f"Bearer {client['token']}", "Content-Type": "application/json",
                   "Accept": "application/json"}
        conn = None
        first = last = None

        def act(appeal: dict, timed: bool) -> None:
            nonlocal conn, first, last
            version = appeal["version"]
            for body in action_bodies(appeal):
                payload = json.dumps({**body, "version": version}).encode()
                started = time.perf_counter()
                try:
                    conn.request("POST", f"/api/v1/appeals/{appeal['reference']}/actions", body=payload, headers=headers)
                    response = conn.getresponse()
                    data = response.read()
                    status = response.status
                except (OSError, http.client.HTTPException) as exc:
                    status, data = 0, repr(exc).encode()
                    conn.close()
                    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
                ended = time.perf_counter()
                statuses[str(status)] = statuses.get(str(status), 0) + 1
                if timed:
                    first = started if first is None else first
                    last = ended
                if status != 200:
                    if len(failures) < 20:
                        failures.append(f"{appeal['reference']} {body['action']}: {status} {data[:300]!r}")
                    return
                version = json.loads(data)["version"]
                if timed:
                    latencies[body["action"]].append((ended - started) * 1000)

        try:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
            for appeal in client["warmup"]:
                act(appeal, False)
            conn.close()
        finally:
            ready.wait()
        # A new connection after the wait: the idle one may have outlived the server's keep-alive.
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        for appeal in client["appeals"]:
            act(appeal, True)
        conn.close()
        results[index] = {"latencies_ms": latencies, "statuses": statuses, "failures": failures,
                          "first": first, "last": last, "country": client["country"]}

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(plan)]
    for thread in threads:
        thread.start()
    ready.wait()
    for thread in threads:
        thread.join()
    firsts = [r["first"] for r in results if r.get("first") is not None]
    lasts = [r["last"] for r in results if r.get("last") is not None]
    merged: dict[str, list[float]] = {"admit": [], "decide_review": []}
    statuses: dict[str, int] = {}
    failures: list[str] = []
    for r in results:
        for action, values in r.get("latencies_ms", {}).items():
            merged[action] += values
        for status, n in r.get("statuses", {}).items():
            statuses[status] = statuses.get(status, 0) + n
        failures += r.get("failures", [])
    per_client = [{"country": r.get("country"), "actions": sum(len(v) for v in r.get("latencies_ms", {}).values()),
                   "seconds": (r["last"] - r["first"]) if r.get("first") is not None else None} for r in results]
    return {"wall_s": (max(lasts) - min(firsts)) if firsts else 0.0, "latencies_ms": merged, "statuses": statuses,
            "failures": failures[:40], "per_client": per_client}


def child_verify(url: str, instance: str, plan_path: str) -> dict:
    """Every appeal acted on: exactly lodge → admit → decide_review, and its hash chain verifies."""
    from sqlmodel import select

    from casework.db import db
    from casework.events import verify_chain
    from casework.models import Appeal, Event

    plan = json.loads(Path(plan_path).read_text())
    appeals = [a for c in plan["clients"] for a in c["warmup"] + c["appeals"]]
    appeals += plan["inprocess"]["warmup"] + plan["inprocess"]["appeals"]
    app = make_app(url, instance)
    problems: list[str] = []
    checked = 0
    with app.app_context():
        for item in appeals:
            appeal = db.session.exec(select(Appeal).where(Appeal.reference == item["reference"])).unique().one()
            events = db.session.exec(select(Event).where(Event.appeal_id == appeal.id).order_by(Event.seq)).all()
            found = [(e.action, e.from_state, e.to_state) for e in events]
            broken = verify_chain(appeal.reference, events, head=appeal.last_event_hash)
            checked += 1
            if found != EXPECTED:
                problems.append(f"{appeal.reference}: events {found}")
            elif appeal.state != "awaiting_claimant" or appeal.review_outcome != "refused":
                problems.append(f"{appeal.reference}: state {appeal.state}, review outcome {appeal.review_outcome}")
            if broken is not None:
                problems.append(f"{appeal.reference}: chain broken at {broken.seq}: {broken.reason}")
            db.session.expunge_all()
    return {"checked": checked, "problems": len(problems), "examples": problems[:20]}


def spawn(*args: str) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", *args], cwd=ROOT, capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        raise SystemExit(f"child {args[0]} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- the server ----------------------------------------------------------------------------------

class Server:
    """gunicorn started with the product's configuration, as an operator would."""

    def __init__(self, env: dict, log_path: Path, workers: int):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path, self.workers = log_path, workers
        env = {**env, "CASEWORK_BIND": f"127.0.0.1:{self.port}", "CASEWORK_WORKERS": str(workers),
               "CASEWORK_MAX_REQUESTS": "0", "PYTHONUNBUFFERED": "1"}
        with open(log_path, "w") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "python:casework.gunicorn_conf",
                                          "casework:create_app()"], cwd=ROOT, env=env, stdout=out,
                                         stderr=subprocess.STDOUT)
        self.exit_code: int | None = None

    def wait_ready(self, seconds: float = 120) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"gunicorn exited ({self.proc.returncode}):\n{self.log_path.read_text()[-3000:]}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                conn.request("GET", "/healthz")
                status = conn.getresponse().status
                conn.close()
            except OSError:
                status = None
            if status == 200 and len(children(self.proc.pid)) == self.workers:
                return
            time.sleep(0.2)
        raise SystemExit(f"gunicorn not ready after {seconds} s:\n{self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.exit_code = self.proc.returncode

    def log_statuses(self) -> dict:
        """Answers by status as the access log recorded them, and tracebacks in the error log."""
        text = self.log_path.read_text(errors="replace")
        statuses: dict[str, int] = {}
        for match in re.finditer(r'" (\d{3}) \S+ \d+ms$', text, re.MULTILINE):
            statuses[match.group(1)] = statuses.get(match.group(1), 0) + 1
        return {"statuses": statuses, "tracebacks": text.count("Traceback (most recent call last)")}


# --- one database --------------------------------------------------------------------------------

def run_database(name: str, url: str, args, work: Path) -> dict:
    instance = work / f"instance-{name}"
    env = clean_env(CASEWORK_DATABASE_URL=url, CASEWORK_SECRET_KEY=SECRET_KEY, CASEWORK_INSTANCE_PATH=str(instance))
    out: dict = {"name": name}
    log(f"{name}: generating {args.appeals:,} background appeals")
    out["generate_s"] = generate(env, args.appeals, args.seed, work, name)
    log(f"{name}: generated in {out['generate_s']:.0f} s; lodging the appeals to act on through the API")
    plan_path = work / f"plan-{name}.json"
    sets = {"http": args.per_client, "warmup_http": args.warmup, "inprocess": args.inprocess,
            "warmup_inprocess": args.warmup * 3}
    out["setup"] = spawn("setup", url, str(instance), str(plan_path), json.dumps(sets), str(args.clients))
    log(f"{name}: lodged {out['setup']['lodged']:,} appeals in {out['setup']['lodge_s']:.0f} s "
        f"({out['setup']['lodged'] / out['setup']['lodge_s']:.0f}/s); in-process loop")
    out["inprocess"] = spawn("inprocess", url, str(instance), str(plan_path))
    actions = sum(len(v) for v in out["inprocess"]["latencies_ms"].values())
    log(f"{name}: in-process {actions:,} actions in {out['inprocess']['wall_s']:.1f} s "
        f"({actions / out['inprocess']['wall_s']:.0f}/s); starting gunicorn")
    server = Server(env, work / f"gunicorn-{name}.log", args.workers)
    try:
        server.wait_ready()
        out["load_start"] = load_average()
        out["http"] = spawn("load", server.base, str(plan_path))
        out["load_end"] = load_average()
    finally:
        server.stop()
    out["server"] = {"exit_code": server.exit_code, **server.log_statuses()}
    actions = sum(len(v) for v in out["http"]["latencies_ms"].values())
    log(f"{name}: over HTTP {actions:,} actions in {out['http']['wall_s']:.1f} s "
        f"({actions / max(out['http']['wall_s'], 1e-9):.0f}/s); verifying")
    out["verify"] = spawn("verify", url, str(instance), str(plan_path))
    log(f"{name}: {out['verify']['checked']:,} appeals checked, {out['verify']['problems']} problems")
    return out


# --- the report ----------------------------------------------------------------------------------

def render(report: dict) -> str:
    a = report["args"]
    lines = [
        f"# Action throughput benchmark ({'quick' if a['quick'] else 'full'} run)", "",
        f"`{report['command']}`, {report['started']}, {report['elapsed_s']:.0f} s in all "
        f"(load average at start {report['load_start']}, at end {report['load_end']})", "",
        "| machine | |", "|---|---|", *(f"| {k} | {v} |" for k, v in report["machine"]), "",
        f"Each database: {a['appeals']:,} background appeals from `flask --app casework demo generate`, then "
        f"appeals lodged through `POST /api/v1/appeals` (untimed) to act on, each handled by its institution's "
        f"country. One action pair per appeal: `admit`, then `decide_review` (refused, with reasons), with the "
        f"version the previous answer returned, by an officer of the handling country with an API token.", "",
        f"- **HTTP**: gunicorn with `casework/gunicorn_conf.py`, {a['workers']} workers (gthread), access log on, "
        f"no worker recycled; a separate load process of {a['clients']} client threads, each with its own "
        f"keep-alive connection and {a['per_client']} appeals of one handling country (after {a['warmup']} untimed); "
        "all start together. actions/s = every action over the wall time from the first request to the last answer.",
        f"- **in-process**: the same loop on {a['inprocess']} other appeals through the Flask test client, one "
        "thread, a fresh process (no HTTP, no server).", "",
        "| database | mode | actions | wall s | actions/s | p50 ms | p99 ms | max ms | target | result |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    missed, rates = [], {}
    for db_ in report["databases"]:
        for mode, label in (("http", "HTTP, gunicorn"), ("inprocess", "in-process, test client")):
            run = db_[mode]
            every = run["latencies_ms"]["admit"] + run["latencies_ms"]["decide_review"]
            rate = len(every) / run["wall_s"] if run["wall_s"] else 0.0
            rates[(db_["name"], mode)] = rate
            s = summary(every)
            target, verdict = "", ""
            if db_["name"] == "sqlite" and mode == "http":
                ok = rate >= TARGET_PER_S
                target, verdict = f"≥ {TARGET_PER_S:.0f}/s", "PASS" if ok else "FAIL"
                if not ok:
                    missed.append(f"SQLite over HTTP {rate:.0f}/s")
            lines.append(f"| {db_['label']} | {label} | {len(every):,} | {run['wall_s']:.1f} | **{rate:,.0f}** | "
                         f"{fmt(s['p50_ms'])} | {fmt(s['p99_ms'])} | {fmt(s['max_ms'])} | {target} | {verdict} |")
    lines += ["", "Latency per action:", "",
              "| database | mode | action | count | p50 ms | p99 ms | max ms | mean ms |",
              "|---|---|---|---:|---:|---:|---:|---:|"]
    for db_ in report["databases"]:
        for mode in ("http", "inprocess"):
            for action in ("admit", "decide_review"):
                s = summary(db_[mode]["latencies_ms"][action])
                lines.append(f"| {db_['label']} | {mode} | `{action}` | {s['count']:,} | {fmt(s['p50_ms'])} | "
                             f"{fmt(s['p99_ms'])} | {fmt(s['max_ms'])} | {fmt(s['mean_ms'])} |")
    lines += ["", "Ratios, from runs made side by side on this machine:", ""]
    for db_ in report["databases"]:
        name = db_["name"]
        lines.append(f"- {db_['label']}: HTTP / in-process = {rates[(name, 'http')] / rates[(name, 'inprocess')]:.2f}")
    if ("postgresql", "http") in rates:
        lines.append(f"- PostgreSQL / SQLite: HTTP {rates[('postgresql', 'http')] / rates[('sqlite', 'http')]:.2f}, "
                     f"in-process {rates[('postgresql', 'inprocess')] / rates[('sqlite', 'inprocess')]:.2f}")
    lines += ["", "| database | background generated in | appeals lodged (untimed) | load average during HTTP run "
              "| server's answers (access log) | tracebacks | gunicorn exit | appeals checked | problems |",
              "|---|---:|---:|---|---|---:|---:|---:|---:|"]
    failed = 0
    for db_ in report["databases"]:
        setup, server, verify = db_["setup"], db_["server"], db_["verify"]
        bad = sum(n for mode in ("http", "inprocess") for status, n in db_[mode]["statuses"].items() if status != "200")
        five = sum(n for status, n in server["statuses"].items() if status.startswith("5"))
        failed += bad + five + verify["problems"] + server["tracebacks"]
        lines.append(f"| {db_['label']} | {db_['generate_s']:.0f} s | {setup['lodged']:,} in {setup['lodge_s']:.0f} s "
                     f"| {db_['load_start']} → {db_['load_end']} | "
                     f"{', '.join(f'{k}: {v:,}' for k, v in sorted(server['statuses'].items()))} | "
                     f"{server['tracebacks']} | {server['exit_code']} | {verify['checked']:,} | {verify['problems']} |")
    lines.append("")
    for db_ in report["databases"]:
        examples = db_["http"]["failures"] + db_["inprocess"]["failures"] + db_["verify"]["examples"]
        if examples:
            lines += [f"Problems on {db_['label']}:", "", *(f"- `{e}`" for e in examples[:20]), ""]
    for note in report["notes"]:
        lines += [f"Note: {note}", ""]
    lines += [f"Checks: every appeal acted on has exactly lodge → admit → decide_review and a hash chain that "
              f"verifies, no failed request and no 5xx: {'PASS' if not failed else 'FAIL'}. "
              f"Target ≥ {TARGET_PER_S:.0f} actions/s on SQLite over HTTP: "
              f"{'PASS' if not missed else 'FAIL (' + '; '.join(missed) + ')'}.", ""]
    report["ok"] = not missed
    report["failed"] = failed
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--appeals", type=int, help="background appeals to generate per database (default 100,000)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 10,000 background appeals, 40 appeals per client, 200 in-process "
                             "(a few minutes for both databases); explicit options still apply")
    parser.add_argument("--clients", type=int, default=6, help="concurrent client threads over HTTP (default 6)")
    parser.add_argument("--per-client", type=int, help="appeals each client acts on, timed (default 250)")
    parser.add_argument("--inprocess", type=int, help="appeals acted on in-process, timed (default 1,000)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed appeals per client first (default 3; "
                                                              "three times as many in-process)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--postgres-url", default=POSTGRES_URL,
                        help=f"PostgreSQL database to use, emptied first; its name must start with 'bench' "
                             f"(default {POSTGRES_URL})")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--strict", action="store_true", help="exit 1 when the target is missed")
    parser.add_argument("--workdir", help="where the SQLite database and logs go (default: a new directory under /tmp)")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite database and the logs")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "setup":
            url, instance, plan, sets, clients = rest
            result = child_setup(url, instance, plan, json.loads(sets), int(clients))
        elif kind == "inprocess":
            result = child_inprocess(*rest)
        elif kind == "load":
            result = child_load(*rest)
        else:
            result = child_verify(*rest)
        print(json.dumps(result, default=str))
        return 0
    defaults = ({"appeals": 10_000, "per_client": 40, "inprocess": 200} if args.quick else
                {"appeals": 100_000, "per_client": 250, "inprocess": 1_000})
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if not has_gunicorn("bench/actions.py"):
        return 3

    began = time.perf_counter()
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    load_start = load_average()
    info = machine_info()
    work = work_folder(parser, args.workdir, "actions")
    results = results_folder()
    notes: list[str] = []
    targets = []
    sqlite_path = work / "actions.db"
    for suffix in ("", "-wal", "-shm"):  # a fresh database every run
        Path(str(sqlite_path) + suffix).unlink(missing_ok=True)
    shutil.rmtree(work / "instance-sqlite", ignore_errors=True)
    targets.append(("sqlite", "SQLite", f"sqlite:///{sqlite_path}"))
    if not args.no_postgres:
        why = postgres_reachable(args.postgres_url)
        if why is None:
            version = postgres_reset(args.postgres_url)
            info.append(("PostgreSQL", f"{version} (same host)"))
            shutil.rmtree(work / "instance-postgresql", ignore_errors=True)
            targets.append(("postgresql", "PostgreSQL", args.postgres_url))
        else:
            notes.append(f"PostgreSQL at {args.postgres_url} is not reachable ({why}): skipped.")
            log(notes[-1])
    try:
        databases = []
        for name, label, url in targets:
            databases.append({**run_database(name, url, args, work), "label": label})
        report = {"args": vars(args), "command": "python bench/actions.py " + " ".join(sys.argv[1:]),
                  "started": started, "machine": info, "load_start": load_start, "load_end": load_average(),
                  "databases": databases, "notes": notes, "elapsed_s": time.perf_counter() - began}
        text = render(report)
        print(text)
        name = "actions-quick" if args.quick else "actions"
        (results / f"{name}.md").write_text(text)
        (results / f"{name}.json").write_text(json.dumps(report, indent=1, default=str))
        if report["failed"]:
            return 2
        return 1 if args.strict and not report["ok"] else 0
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
