"""Benchmark of the officers' work queue at scale (DESIGN §7; issue: "a peer system's queue took
over a minute at scale"): p99 under 100 ms, in-process, for the first and the tenth page of the
queue at 1,000,000 appeals.

A throw-away SQLite database of N appeals (default 1,000,000) is made by the product's bulk
generator, ``flask --app casework demo generate`` (five years of appeals, so only a few per cent
are still open), in a new directory under /tmp, or reused from ``--workdir``. Then, in a fresh
process, as a request runs it (``create_app`` on that database, the Flask test client, the
product's engine and pool, WAL, no ANALYZE), with officers of the largest handling country (DE)
and of the smallest, each signed in through the real sign-in form and holding an API token:

* ``GET /api/v1/appeals``, first page (default size) and tenth page (its cursor taken beforehand
  by following ``next`` nine times), for both officers;
* the same with filters (``state=under_review``, ``overdue=true``, ``benefit=invalidity``), DE;
* the officers' page ``/queue/``, first and tenth page (its "Next page" links), for both, and
  one filtered (``state=under_review``);
* the floor beside them, in the same run: ``GET /healthz`` through the same test client (the
  framework and the app alone) and one raw lookup on the unique index of ``appeal.reference``
  through the product's engine.

Every measurement is ``--runs`` requests (default 200) after ``--warmup`` untimed ones, taken in
turn (one request of each, then the next round), so the floor and the queue share the machine's
moments. p50, p99 and max are reported; target p99 < 100 ms for every queue request. The
``EXPLAIN QUERY PLAN`` of every statement the queue requests run goes to
``bench/results/worklist-plans.txt``. Run ``python bench/worklist.py --help``; see bench/README.md.
"""

import argparse
import gc
import html
import json
import math
import os
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.parse
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
if __name__ == "__main__":
    # Run as a script: bench/ must not shadow the standard library's queue (see above).
    sys.path[:] = [p for p in sys.path if Path(p or os.curdir).resolve() != BENCH]
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))

from bench.machine import machine_info, results_folder, work_folder  # noqa: E402 - after the path is set

ACCESS_CODE = "BNCH-QUEU-TEST-CODE-ABCD-EFGH"  # every generated appeal's access code
SECRET_KEY = "bench-queue-secret-key"
PASSWORD = "bench-queue-password-1"
TARGET_P99_MS = 100.0
TENTH = 10
MAX_PAGES = 500  # followed at most, looking for a filtered queue's last page
DB_NAME = "queue.db"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def fmt(value: float, digits: int = 1) -> str:
    return f"{value:,.{digits}f}"


def clean_env(**extra: str) -> dict:
    """This environment without any CASEWORK_* setting of the caller's, plus ``extra``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CASEWORK_")}
    env.update(extra)
    return env


def file_mib(path: Path) -> float:
    return sum(Path(str(path) + s).stat().st_size for s in ("", "-wal", "-shm") if Path(str(path) + s).exists()) / 2**20


def percentile(values: list[float], q: float) -> float:
    """Nearest rank: the smallest value with at least q % of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def load_average() -> str:
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


# --- the database --------------------------------------------------------------------------------

def generate(env: dict, appeals: int, seed: int, processes: int | None, work: Path) -> float:
    """The product's bulk generator, as an operator runs it."""
    started = time.perf_counter()
    command = [sys.executable, "-m", "flask", "--app", "casework", "demo", "generate", "--appeals", str(appeals),
               "--seed", str(seed), "--access-code", ACCESS_CODE]
    if processes:
        command += ["--processes", str(processes)]
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    (work / "generate.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise SystemExit(f"the generator failed ({proc.returncode}):\n{(proc.stdout + proc.stderr)[-3000:]}")
    return time.perf_counter() - started


def facts(path: Path) -> dict:
    """What the database holds: appeals, events, and the open appeals per handling country."""
    with sqlite3.connect(path) as conn:
        one = lambda sql: conn.execute(sql).fetchone()[0]
        countries = {}
        for country, total, open_, dated in conn.execute(
                "SELECT handling_country, count(*), sum(state != 'closed'), sum(next_due_at IS NOT NULL) "
                "FROM appeal GROUP BY handling_country ORDER BY count(*) DESC"):
            countries[country] = {"handled": total, "open": open_, "with_deadline": dated}
        states = dict(conn.execute("SELECT state, count(*) FROM appeal GROUP BY state ORDER BY count(*) DESC"))
        return {"appeals": one("SELECT count(*) FROM appeal"), "events": one("SELECT max(id) FROM event"),
                "deadlines": one("SELECT max(id) FROM deadline"), "states": states, "countries": countries,
                "size_mib": file_mib(path)}


# --- measuring, in a fresh process ---------------------------------------------------------------

def child(path: Path, instance: Path, big: str, small: str, runs: int, warmup: int, seed: int, budget: float) -> dict:
    """Everything timed, in one process, as the product serves a request."""
    from sqlalchemy import event as sa_event
    from sqlmodel import select

    from casework import create_app
    from casework.access import issue_api_token, new_staff
    from casework.db import db, schema_differences, writing
    from casework.models import User

    app = create_app({"DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": SECRET_KEY, "INSTANCE_PATH": str(instance)})
    engine = app.extensions["casework.db"]
    with engine.connect() as conn:
        # A database kept from an earlier run may have been made by other code under the same
        # migration revision: measuring it would measure tables the product no longer has.
        differences = schema_differences(conn)
    if differences:
        raise SystemExit(f"the database's tables differ from the models ({len(differences)} differences, first: "
                         f"{differences[0]}): it was made by other code; generate a new one")
    # As a gunicorn worker does once the app is built (casework/gunicorn_conf.py post_worker_init).
    gc.collect()
    gc.freeze()
    rng = random.Random(seed)
    out: dict = {"officers": {}, "notes": [], "failures": []}

    # Officers of the two countries: an API token each, and a browser session through the form.
    tokens, browsers = {}, {}
    for country in (big, small):
        email = f"bench.queue.{country.lower()}@example.org"
        with app.app_context(), writing():
            user = db.session.exec(select(User).where(User.email == email)).first()
            if user is None:
                user = new_staff(db.session, email, "officer", PASSWORD, country)
            tokens[country] = issue_api_token(db.session, user)
            db.session.commit()
        browser = app.test_client()
        form = browser.get("/sign-in").get_data(as_text=True)
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)
        data = {"email": email, "password": PASSWORD}
        if match:
            data["csrf_token"] = html.unescape(match.group(1))
        signed = browser.post("/sign-in", data=data)
        if signed.status_code != 303:
            raise SystemExit(f"sign-in as {email} failed: {signed.status_code}")
        browsers[country] = browser
    api = app.test_client()

    with engine.connect() as conn:
        references = [row[0] for row in conn.exec_driver_sql(
            "SELECT reference FROM appeal WHERE id IN (SELECT abs(random()) % (SELECT max(id) FROM appeal) + 1 "
            "FROM appeal LIMIT 2000)")]
        for country in (big, small):
            visible, dated = conn.exec_driver_sql(
                "SELECT count(*), sum(a.next_due_at IS NOT NULL) FROM appeal a WHERE a.id IN "
                "(SELECT appeal_id FROM appeal_country WHERE country = ?)", (country,)).one()
            out["officers"][country] = {"visible": visible, "with_deadline": dated or 0}

    def api_get(country: str, url: str):
        headers = {"Authorization": f"Bearer {tokens[country]}", "Accept": "application/json"}
        return lambda: api.get(url, headers=headers)

    def web_get(country: str, url: str):
        return lambda: browsers[country].get(url)

    def api_next(response, url: str) -> str | None:
        cursor = response.get_json()["next"]
        if cursor is None:
            return None
        base, _, query = url.partition("?")
        args = [(k, v) for k, v in urllib.parse.parse_qsl(query) if k != "after"] + [("after", cursor)]
        return f"{base}?{urllib.parse.urlencode(args)}"

    def web_next(response, _url: str) -> str | None:
        found = re.search(r'href="(/queue/\?[^"]*after=[^"]*)"', response.get_data(as_text=True))
        return html.unescape(found.group(1)) if found else None

    def walk(first_url: str, fetch, follow, upto: int) -> list[str]:
        """The URLs of the first ``upto`` pages (fewer when there are fewer), following the pages'
        own links (untimed)."""
        urls = [first_url]
        while len(urls) < upto:
            response = fetch(urls[-1])()
            if response.status_code != 200:
                raise SystemExit(f"{urls[-1]}: {response.status_code}")
            url = follow(response, urls[-1])
            if url is None:
                break
            urls.append(url)
        return urls

    # (key, label, request, role): "floor", "queue" (the target applies) or "info" (a queue
    # request beyond the target's first and tenth page)
    measurements: list[tuple[str, str, object, str]] = []

    def sql_lookup():
        with engine.connect() as conn:
            return conn.exec_driver_sql(
                "SELECT id, reference, state, handling_country, next_due_at FROM appeal WHERE reference = ?",
                (rng.choice(references),)).one()

    measurements.append(("healthz", "floor: `GET /healthz` (framework + app, one trivial query)",
                         lambda: api.get("/healthz"), "floor"))
    measurements.append(("sql", "floor: one raw lookup on the unique index of `appeal.reference` (product engine)",
                         sql_lookup, "floor"))
    # (kind, officer's country, query, label, also time the last page)
    pages = [
        ("api", big, "", "API queue", False), ("api", small, "", "API queue", False),
        ("api", big, "state=under_review", "API queue", True), ("api", big, "overdue=true", "API queue", True),
        ("api", big, "benefit=invalidity", "API queue", False),
        ("api", big, "state=under_review&benefit=invalidity", "API queue", True),
        ("web", big, "", "page `/queue/`", False), ("web", small, "", "page `/queue/`", False),
        ("web", big, "state=under_review", "page `/queue/`", False),
    ]
    for kind, country, query, what, last in pages:
        base = "/api/v1/appeals" if kind == "api" else "/queue/"
        first = f"{base}?{query}" if query else base
        fetch = (lambda u, c=country: api_get(c, u)) if kind == "api" else (lambda u, c=country: web_get(c, u))
        follow = api_next if kind == "api" else web_next
        name = f"{kind}_{country.lower()}" + (f"_{query.replace('&', '_').replace('=', '-')}" if query else "")
        filt = f" `{query}`" if query else ""
        measurements.append((f"{name}_p1", f"{what}, officer {country}{filt}, first page", fetch(first), "queue"))
        urls = walk(first, fetch, follow, MAX_PAGES if last else TENTH)
        if len(urls) >= TENTH:
            measurements.append((f"{name}_p10", f"{what}, officer {country}{filt}, tenth page", fetch(urls[TENTH - 1]),
                                 "queue"))
        else:
            out["notes"].append(f"{what}, officer {country}{filt}: only {len(urls)} page(s), no tenth page to time")
        if last and len(urls) >= MAX_PAGES:
            out["notes"].append(f"{what}, officer {country}{filt}: more than {MAX_PAGES} pages, the last not timed")
        elif last and len(urls) == TENTH:
            out["notes"].append(f"{what}, officer {country}{filt}: its tenth page is its last")
        elif last and len(urls) > 1:
            measurements.append((f"{name}_last", f"{what}, officer {country}{filt}, last page (page {len(urls)}; "
                                 "informative)", fetch(urls[-1]), "info"))

    times: dict[str, list[float]] = {key: [] for key, *_ in measurements}
    statuses: dict[str, dict[int, int]] = {key: {} for key, *_ in measurements}

    def one(key: str, call) -> float:
        started = time.perf_counter()
        result = call()
        seconds = time.perf_counter() - started
        status = getattr(result, "status_code", 200)
        statuses[key][status] = statuses[key].get(status, 0) + 1
        if status != 200 and len(out["failures"]) < 20:
            out["failures"].append(f"{key}: {status}")
        return seconds

    warmed = dict.fromkeys(times, 0.0)
    for _ in range(warmup):
        for key, _label, call, _role in measurements:
            if warmed[key] < budget / 4:  # a request of seconds is warm after one or two
                started = time.perf_counter()
                one(key, call)
                warmed[key] += time.perf_counter() - started
    for key in statuses:
        statuses[key] = {}
    # Python's cyclic garbage collector pauses whichever request allocates when it runs: recorded
    # here, as it may explain a p99 far above the p50.
    pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
    gc_started = [0.0]

    def on_gc(phase: str, info: dict) -> None:
        if phase == "start":
            gc_started[0] = time.perf_counter()
        else:
            pauses[info["generation"]].append((time.perf_counter() - gc_started[0]) * 1000)

    gc.callbacks.append(on_gc)
    began = time.perf_counter()
    spent = dict.fromkeys(times, 0.0)
    for _ in range(runs):
        for key, _label, call, _role in measurements:
            if spent[key] >= budget:
                continue  # this one has had its share of the time: fewer requests, reported as such
            seconds = one(key, call)
            spent[key] += seconds
            times[key].append(seconds * 1000)
    out["measuring_s"] = time.perf_counter() - began
    gc.callbacks.remove(on_gc)
    out["gc"] = {str(generation): {"count": len(values), "total_ms": sum(values), "max_ms": max(values, default=0.0),
                                   "mean_ms": statistics.fmean(values) if values else 0.0}
                 for generation, values in pauses.items()}

    out["measurements"] = {
        key: {"label": label, "role": role, "queue": role == "queue", "statuses": statuses[key], "runs_ms": times[key],
              "runs": len(times[key]), "p50_ms": percentile(times[key], 50), "p99_ms": percentile(times[key], 99), "max_ms": max(times[key]),
              "mean_ms": statistics.fmean(times[key])}
        for key, label, _call, role in measurements
    }
    out["page_sizes"] = {"api": 50, "web": 25}

    # The statements each queue request runs, and SQLite's plan for each.
    plans = []
    for key, label, call, role in measurements:
        if role == "floor":
            continue
        recorded: list[tuple[str, tuple]] = []

        def record(conn, cursor, statement, parameters, context, executemany, recorded=recorded):
            if not executemany and statement.lstrip().upper().startswith(("SELECT", "WITH")):
                recorded.append((statement, parameters))

        sa_event.listen(engine, "before_cursor_execute", record)
        try:
            call()
        finally:
            sa_event.remove(engine, "before_cursor_execute", record)
        plans.append(f"=== {label} ({key}): {len(recorded)} statements")
        with engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            for statement, parameters in recorded:
                plans.append(" ".join(statement.split()))
                plans.append(f"  parameters: {parameters}")
                for row in raw.execute("EXPLAIN QUERY PLAN " + statement, parameters):
                    plans.append(f"    {row[3]}")
                plans.append("")
    out["plans"] = "\n".join(plans)
    return out


def spawn(*args: str) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", *args], cwd=ROOT, capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        raise SystemExit(f"the measuring process failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- the report ----------------------------------------------------------------------------------

def render(report: dict) -> str:
    a, db_, m = report["args"], report["db"], report["measured"]
    rows = m["measurements"]
    healthz, sql = rows["healthz"]["p50_ms"], rows["sql"]["p50_ms"]
    if db_["generate_s"] is not None:
        built = f"generated in {db_['generate_s']:.0f} s"
    else:
        built = "reused from an earlier run (`--workdir`)"
        if db_.get("generated_earlier_s"):
            built += f", where the generator took {db_['generated_earlier_s']:.0f} s (its `generate.log`)"
    lines = [
        f"# Officer queue benchmark ({'quick' if a['quick'] else 'full'} run)", "",
        f"`{report['command']}`, {report['started']}, {report['elapsed_s']:.0f} s in all "
        f"(load average at start {report['load_start']}, at end {report['load_end']})", "",
        "| machine | |", "|---|---|", *(f"| {k} | {v} |" for k, v in report["machine"]), "",
        f"Database: {db_['appeals']:,} appeals made by `flask --app casework demo generate` (lodged over the five "
        f"years up to now), {db_['events']:,} events, {db_['deadlines']:,} deadline rows, "
        f"{db_['size_mib']:,.0f} MiB on disk; {built}.", "",
        "Open appeals (state other than `closed`) per handling country, and those with a pending deadline "
        "(the dated part of the queue):", "",
        "| handling country | appeals handled | open | open % | with a pending deadline |",
        "|---|---:|---:|---:|---:|",
    ]
    for country, row in db_["countries"].items():
        lines.append(f"| {country} | {row['handled']:,} | {row['open']:,} | {100 * row['open'] / row['handled']:.1f} % | "
                     f"{row['with_deadline']:,} |")
    total_open = sum(row["open"] for row in db_["countries"].values())
    lines += [f"| all | {db_['appeals']:,} | {total_open:,} | {100 * total_open / db_['appeals']:.1f} % | "
              f"{sum(row['with_deadline'] for row in db_['countries'].values()):,} |", ""]
    officers = "; ".join(f"{country}: {row['visible']:,} appeals visible (the country takes part in them), "
                         f"{row['with_deadline']:,} of them with a pending deadline"
                         for country, row in m["officers"].items())
    lines += [
        f"Officers: {officers}. The queue lists every visible appeal, nearest pending deadline first, then those "
        f"without one (closed ones included) by id; API pages of {m['page_sizes']['api']}, web pages of "
        f"{m['page_sizes']['web']}. The tenth page's cursor was taken beforehand from the pages' own `next` links.", "",
        f"In one fresh process (`create_app`, Flask test client, the product's engine, WAL, no ANALYZE): "
        f"{a['runs']} requests of each after {a['warmup']} untimed ones, taken in turn (one of each, then the next "
        f"round); {m['measuring_s']:.0f} s of measuring. A measurement whose timed requests reached "
        f"`--budget` ({a['budget']:g} s) got no more (marked `*`: its p99 is over fewer requests).", "",
        "| measurement | requests | p50 ms | p99 ms | max ms | p50 × healthz | target | result |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    missed = []
    for row in rows.values():
        target, verdict = "", ""
        if row["queue"]:
            ok = row["p99_ms"] < TARGET_P99_MS
            target, verdict = f"p99 < {TARGET_P99_MS:.0f} ms", "PASS" if ok else "FAIL"
            if not ok:
                missed.append(row["label"])
        p99 = f"**{fmt(row['p99_ms'])}**" if row["queue"] else fmt(row["p99_ms"])
        runs = f"{row['runs']}" + ("" if row["runs"] == a["runs"] else "*")
        lines.append(f"| {row['label']} | {runs} | {fmt(row['p50_ms'])} | {p99} | {fmt(row['max_ms'])} | "
                     f"{row['p50_ms'] / healthz:.1f} | {target} | {verdict} |")
    lines += [""]
    for note in m["notes"]:
        lines.append(f"- {note}")
    if m["notes"]:
        lines.append("")
    bad = {key: row["statuses"] for key, row in rows.items() if set(map(str, row["statuses"])) - {"200"}}
    requests = sum(row["runs"] for row in rows.values())
    collections = "; ".join(f"generation {g}: {c['count']:,} collections, mean {fmt(c['mean_ms'])} ms, "
                            f"max {fmt(c['max_ms'])} ms" for g, c in m["gc"].items())
    lines += [f"Python's garbage collector during the {requests:,} timed requests: {collections}.", ""]
    lines += [f"Requests answered other than 200: {bad or 'none'}.", "",
              f"Floor: `/healthz` p50 {fmt(healthz, 2)} ms, raw indexed lookup p50 {fmt(sql, 3)} ms. "
              f"Plans of the queue statements: `bench/results/{report['name']}-plans.txt`.", ""]
    queue = [row for row in rows.values() if row["queue"]]
    worst = max(queue, key=lambda row: row["p99_ms"])
    verdict = "PASS" if not missed else f"FAIL, {len(missed)} of {len(queue)} measurements over"
    lines += [f"Target p99 < {TARGET_P99_MS:.0f} ms for every queue request: {verdict}; the slowest p99 is "
              f"{fmt(worst['p99_ms'])} ms ({worst['label']}).", ""]
    report["ok"] = not missed
    report["failed_requests"] = sum(n for row in rows.values() for status, n in row["statuses"].items() if str(status) != "200")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--appeals", type=int, help="appeals to generate (default 1,000,000)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 50,000 appeals, 50 requests of each (about a minute); explicit options still apply")
    parser.add_argument("--runs", type=int, help="timed requests per measurement (default 200)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed requests per measurement first (default 5)")
    parser.add_argument("--budget", type=float, default=60,
                        help="seconds of timed requests per measurement at most; one that takes longer gets fewer "
                             "requests, reported as such (default 60)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--processes", type=int, help="generator worker processes (default: one per CPU)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--workdir", help="where the database is made (default: a new directory under /tmp); "
                                          f"a {DB_NAME} already there is reused")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        path, instance, big, small, runs, warmup, seed, budget = args.child
        print(json.dumps(child(Path(path), Path(instance), big, small, int(runs), int(warmup), int(seed), float(budget)),
                         default=str))
        return 0
    defaults = {"appeals": 50_000, "runs": 50} if args.quick else {"appeals": 1_000_000, "runs": 200}
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)

    began = time.perf_counter()
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    load_start = load_average()
    work = work_folder(parser, args.workdir, "queue")
    results = results_folder()
    path = work / DB_NAME
    instance = work / "instance"
    env = clean_env(CASEWORK_DATABASE_URL=f"sqlite:///{path}", CASEWORK_SECRET_KEY=SECRET_KEY,
                    CASEWORK_INSTANCE_PATH=str(instance))
    reused_from_s = None
    try:
        if path.exists():
            log(f"reusing the database in {path}")
            generate_s = None
            earlier = work / "generate.log"  # the generator's summary, when it was made here
            if earlier.exists() and (found := re.search(r"generated [\d,]+ appeals.* in ([\d.]+) s", earlier.read_text())):
                reused_from_s = float(found.group(1))
        else:
            log(f"generating {args.appeals:,} appeals into {path}")
            generate_s = generate(env, args.appeals, args.seed, args.processes, work)
            log(f"generated in {generate_s:.0f} s")
        db_facts = facts(path)
        db_facts["generate_s"] = generate_s
        db_facts["generated_earlier_s"] = reused_from_s
        if db_facts["appeals"] != args.appeals:
            log(f"note: the database holds {db_facts['appeals']:,} appeals (not {args.appeals:,})")
        countries = db_facts["countries"]
        big = "DE" if "DE" in countries else next(iter(countries))
        small = min(countries, key=lambda c: countries[c]["handled"])
        log(f"{db_facts['appeals']:,} appeals, {sum(c['open'] for c in countries.values()):,} open; officers of "
            f"{big} and {small}; measuring in a fresh process ({args.runs} requests of each)")
        measured = spawn(str(path), str(instance), big, small, str(args.runs), str(args.warmup), str(args.seed),
                         str(args.budget))
        name = "worklist-quick" if args.quick else "worklist"
        plans = measured.pop("plans")
        report = {"args": vars(args), "command": "python bench/worklist.py " + " ".join(sys.argv[1:]),
                  "started": started, "machine": machine_info(), "load_start": load_start, "load_end": load_average(),
                  "db": db_facts, "measured": measured, "name": name, "elapsed_s": time.perf_counter() - began}
        text = render(report)
        print(text)
        (results / f"{name}.md").write_text(text)
        (results / f"{name}-plans.txt").write_text(plans + "\n")
        (results / f"{name}.json").write_text(json.dumps(report, indent=1, default=str))
        if report["failed_requests"]:
            return 2
        return 1 if args.strict and not report["ok"] else 0
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
