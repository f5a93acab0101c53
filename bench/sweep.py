"""Benchmark of the deadline sweep (DESIGN §3, §8).

Measures, in one run:

1. Scaling: ``casework.deadlines.sweep.sweep()`` firing D due ``review`` deadlines among D pending
   rows (scenario A) and among P pending rows (scenario B). Targets: time(B) / time(A) <= 1.3 and at
   least 300 fired timeouts per second.
2. The rejected alternative: one APScheduler 3 job per deadline in a SQLAlchemyJobStore (J jobs):
   time to add them, then start-up time and memory of a fresh scheduler process over that store,
   next to a fresh Casework sweep process over J pending deadline rows.

Databases are built with bulk Core inserts (not through the API) in a temporary directory under
/tmp; only the sweep itself is timed. Run ``python bench/sweep.py --help`` for the options, and see
bench/README.md.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.machine import results_folder, work_folder  # noqa: E402 - after the path is set

BATCH_ROWS = 50_000
WARM_TOTAL, WARM_DUE = 200, 100
RATIO_TARGET = 1.3
RATE_TARGET = 300.0
JOB_FUNC = "casework.deadlines.sweep:fire"  # what a per-deadline job would call: fire(deadline_id)


# --- measuring helpers -------------------------------------------------------------------------

def proc_status_kib(field: str) -> int:
    """A field of /proc/self/status in KiB (VmRSS: resident now; VmHWM: peak resident)."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def rss_mib() -> float:
    return proc_status_kib("VmRSS") / 1024


def peak_rss_mib() -> float:
    return proc_status_kib("VmHWM") / 1024


def since_spawn() -> float:
    """Seconds since the parent spawned this process (the parent passes its clock in BENCH_T0)."""
    return time.time() - float(os.environ["BENCH_T0"])


def file_mib(path: Path) -> float:
    total = 0
    for suffix in ("", "-wal", "-shm"):
        candidate = Path(str(path) + suffix)
        if candidate.exists():
            total += candidate.stat().st_size
    return total / 2**20


# --- building a database -----------------------------------------------------------------------

def _bulk_engine(path: Path):
    from sqlalchemy import create_engine, event

    engine = create_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.execute("PRAGMA cache_size=-262144")  # 256 MiB while building
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.close()

    return engine


def build_db(path: Path, total: int, due: int) -> dict:
    """N appeals under review (French decision, handled in Germany), each with one pending ``review``
    deadline; ``due`` of them, spread evenly over the id range, are past their due time.

    Each appeal gets its claimant and its three appeal_country rows, so the rows the sweep reads
    per fire (appeal + claimant + institutions + countries + deadlines) look like production's.
    No event rows: the timer appends event 2 after ``last_event_hash``, whatever its value.
    """
    from sqlalchemy import insert
    from sqlmodel import SQLModel

    from casework.deadlines import calendar
    from casework.models import Appeal, AppealCountry, Claimant, Deadline, Institution

    started = time.perf_counter()
    remove_db(path)
    engine = _bulk_engine(path)
    SQLModel.metadata.create_all(engine)

    moment = datetime.now(UTC).replace(microsecond=0)
    period = calendar.Period(30, "days")
    dues: dict[int, calendar.Due] = {}

    def review_due(days_ago: int) -> tuple[datetime, calendar.Due]:
        """The review deadline of an appeal admitted ``days_ago`` days ago, as schedule.start computes it."""
        if days_ago not in dues:
            started_at = (moment - timedelta(days=days_ago)).replace(hour=9, minute=0, second=0)
            dues[days_ago] = calendar.compute_due(started_at, period, "DE", tz="Europe/Berlin")
        due_ = dues[days_ago]
        return datetime.fromisoformat(due_.rule["event_at"]), due_

    # The due rows, spread evenly among all rows (every total/due-th appeal).
    due_index = {int(k * total / due) for k in range(due)} if due else set()
    assert len(due_index) == due

    languages = ("de", "fr", "en", "pl")
    hash_code = "ab" * 32
    hash_event = "cd" * 32
    grounds = "The insurance periods completed in Germany were not taken into account (Art. 6 Reg. 883/2004)."

    def rows(first: int, last: int):
        claimants, appeals, countries, deadlines = [], [], [], []
        for i in range(first, last):
            ident = i + 1
            if i in due_index:
                days_ago = 33 + i % 25  # admitted 33..57 days ago: the 30 days have run out
            else:
                days_ago = i % 26  # admitted 0..25 days ago: due in the future
            started_at, due_ = review_due(days_ago)
            assert (due_.due_at <= moment) == (i in due_index)
            lodged_at = started_at - timedelta(days=20)
            decision_date = (lodged_at - timedelta(days=40)).date()
            claimants.append({
                "id": ident, "name": f"Claimant {ident}", "birth_date": date(1950 + i % 20, 1 + i % 12, 1 + i % 28),
                "residence_country": "DE", "preferred_language": languages[i % 4],
                "email": f"claimant{ident}@example.org", "created_at": lodged_at,
            })
            appeals.append({
                "id": ident, "reference": f"CW-2026-{ident:06d}", "version": 1, "claimant_id": ident,
                "access_code_hash": hash_code, "benefit": "old_age_pension",
                "decision_country": "FR", "decision_institution_id": 1, "decision_reference": f"FR-{ident}",
                "decision_date": decision_date, "notified_on": decision_date + timedelta(days=3), "grounds": grounds,
                "receiving_country": "DE", "handling_country": "DE", "handling_institution_id": 2,
                "tribunal_code": None, "lodged_at": lodged_at, "filing_deadline": decision_date + timedelta(days=65),
                "filed_in_time": True, "late_filing_reason": None, "state": "under_review", "outcome": None,
                "review_outcome": None, "mediation_extended": False, "hearing_at": None, "hearing_mode": None,
                "assigned_officer_id": None, "mediator_id": None, "next_due_at": due_.due_at, "overdue_since": None,
                "last_event_seq": 1, "last_event_hash": hash_event, "last_event_at": started_at,
                "created_at": lodged_at, "updated_at": started_at, "closed_at": None,
            })
            countries += [
                {"appeal_id": ident, "country": "DE", "relation": "handling"},
                {"appeal_id": ident, "country": "DE", "relation": "receiving"},
                {"appeal_id": ident, "country": "FR", "relation": "deciding"},
            ]
            deadlines.append({
                "id": ident, "appeal_id": ident, "kind": "review", "parent_id": None, "status": "pending",
                "due_at": due_.due_at, "due_on": due_.due_on, "timezone": due_.timezone,
                "jurisdiction": due_.jurisdiction,
                "rule": {**due_.rule, "kind": "review", "timer": "review_timeout", "audience": "staff"},
                "started_at": started_at, "paused_at": None, "fired_at": None, "ended_at": None, "attempts": 0,
                "last_error": None, "retry_at": None,
            })
        return claimants, appeals, countries, deadlines

    with engine.begin() as conn:
        conn.execute(insert(Institution.__table__), [
            {"id": 1, "country": "FR", "name": "Caisse nationale d'assurance vieillesse"},
            {"id": 2, "country": "DE", "name": "Deutsche Rentenversicherung Bund"},
        ])
    for first in range(0, total, BATCH_ROWS):
        claimants, appeals, countries, deadlines = rows(first, min(total, first + BATCH_ROWS))
        with engine.begin() as conn:
            conn.execute(insert(Claimant.__table__), claimants)
            conn.execute(insert(Appeal.__table__), appeals)
            conn.execute(insert(AppealCountry.__table__), countries)
            conn.execute(insert(Deadline.__table__), deadlines)
    with engine.connect() as conn:
        # No ANALYZE: the product never runs it, so the planner works without statistics here too.
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return {"build_s": time.perf_counter() - started, "size_mib": file_mib(path)}


def copy_db(source: Path, target: Path, sync: bool = True) -> None:
    remove_db(target)
    shutil.copyfile(source, target)
    if sync:
        os.sync()  # no write-back of the copy during the timed sweep


def remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


# --- scenario A / B: the sweep itself ----------------------------------------------------------

def _app(db_path: Path, instance: Path, notices: bool):
    from casework import create_app

    return create_app({
        "DATABASE_URL": f"sqlite:///{db_path}",
        "SECRET_KEY": "bench-secret",
        "INSTANCE_PATH": str(instance),
        "NOTICES_ENABLED": notices,
    })


def _count(db_path: Path, sql: str) -> int:
    with sqlite3.connect(db_path) as conn:
        return conn.execute(sql).fetchone()[0]


class _OverBudget(Exception):
    """Raised from sweep()'s progress callback to stop a run that exceeds its time budget."""


def run_sweep(db_path: Path, instance: Path, *, total: int, due: int, notices: bool,
              budget: float | None = None, profile: Path | None = None) -> dict:
    """Time one sweep() over a prepared database, then check every due row fired exactly once.

    With a ``budget`` (seconds), a sweep still running after it is stopped between two rows (each
    row is committed on its own, so the database stays consistent); its time for all due rows is
    then extrapolated from the rate so far (per-row cost is flat within one run)."""
    from casework.deadlines.sweep import sweep

    app = _app(db_path, instance, notices)
    complete = True
    with app.app_context():
        gc.collect()
        profiler = None
        if profile is not None:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        started, cpu_started = time.perf_counter(), time.process_time()

        def progress(_rows: int) -> None:
            if budget is not None and time.perf_counter() - started > budget:
                raise _OverBudget

        try:
            result = sweep(progress=progress)
        except _OverBudget:
            result, complete = None, False
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
        if profiler is not None:
            profiler.disable()
            _write_profile(profiler, profile)
        # Exactly once: a second sweep finds nothing left to fire (skipped for a stopped run).
        again = sweep() if complete else None
    app.extensions["casework.db"].dispose()

    fired_rows = _count(db_path, "SELECT count(*) FROM deadline WHERE kind='review' AND status='missed' AND fired_at IS NOT NULL")
    fired = result.fired if complete else fired_rows
    problems = []
    if complete:
        if result.fired != due:
            problems.append(f"fired {result.fired}, expected {due}")
        if result.failed or result.skipped:
            problems.append(f"failed {result.failed}, skipped {result.skipped}: {result.errors[:3]}")
        if again.fired or again.failed:
            problems.append(f"second sweep fired {again.fired}, failed {again.failed}")
    checks = {
        "review rows fired": (fired_rows, fired),
        "review rows pending": ("SELECT count(*) FROM deadline WHERE kind='review' AND status='pending'", total - fired),
        "timeout events": ("SELECT count(*) FROM event WHERE action='review_timeout' AND seq=2", fired),
        "appeals with one timeout": ("SELECT count(DISTINCT appeal_id) FROM event WHERE action='review_timeout'", fired),
        "appeals awaiting claimant": ("SELECT count(*) FROM appeal WHERE state='awaiting_claimant'", fired),
        "claimant deadlines started": ("SELECT count(*) FROM deadline WHERE kind='claimant_response' AND status='pending'", fired),
    }
    for label, (sql, expected) in checks.items():
        found = sql if isinstance(sql, int) else _count(db_path, sql)
        if found != expected:
            problems.append(f"{label}: {found}, expected {expected}")
    rate = fired / seconds if seconds else 0.0
    return {
        "fired": fired,
        "complete": complete,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "rate": rate,
        "est_seconds": seconds if complete else (due / rate if rate else float("inf")),
        "notices": _count(db_path, "SELECT count(*) FROM notice"),
        "problems": problems,
    }


def _write_profile(profiler, path: Path) -> None:
    import io
    import pstats

    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(60)
    stats.sort_stats("tottime").print_stats(40)
    path.write_text(out.getvalue())


# --- the alternative: one APScheduler job per deadline ------------------------------------------

def _aps_engine(path: Path):
    """The job store's engine, on the same SQLite footing as Casework's (WAL, synchronous=NORMAL);
    with SQLite's defaults every add_job would also wait for an fsync."""
    from sqlalchemy import create_engine, event

    engine = create_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


def _aps_scheduler(path: Path, cls=None):
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    cls = cls or BackgroundScheduler
    return cls(
        jobstores={"default": SQLAlchemyJobStore(engine=_aps_engine(path))},
        job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        timezone="UTC",
    )


def child_aps_add(path: Path, count: int) -> dict:
    """Add one DateTrigger job per deadline through the scheduler's API (one transaction each)."""
    from apscheduler.triggers.date import DateTrigger

    remove_db(path)
    scheduler = _aps_scheduler(path)
    scheduler.start(paused=True)
    base = datetime.now(UTC) + timedelta(days=1)
    started = time.perf_counter()
    for ident in range(1, count + 1):
        scheduler.add_job(
            JOB_FUNC,
            trigger=DateTrigger(run_date=base + timedelta(seconds=ident * 25), timezone="UTC"),
            args=[ident],
            id=f"deadline-{ident}",
        )
    seconds = time.perf_counter() - started
    scheduler.shutdown(wait=False)
    return {"add_s": seconds, "rss_mib": rss_mib(), "size_mib": file_mib(path)}


def child_aps_start(path: Path) -> dict:
    """A fresh scheduler process over the filled store: start(paused=True); then resume() and its
    first scheduling pass; then get_jobs(), which unpickles every job (what a MemoryJobStore, a
    jobs listing or a restart with replace_existing would hold)."""
    import threading

    from apscheduler.schedulers.background import BackgroundScheduler

    first_pass = threading.Event()

    class Timed(BackgroundScheduler):
        def _process_jobs(self):
            wait = super()._process_jobs()
            if self.state == 1:  # STATE_RUNNING
                first_pass.set()
            return wait

    scheduler = _aps_scheduler(path, Timed)
    imported = since_spawn()
    started = time.perf_counter()
    scheduler.start(paused=True)
    out = {
        "import_s": imported,
        "start_s": time.perf_counter() - started,
        "ready_since_spawn_s": since_spawn(),
        "rss_after_start_mib": rss_mib(),
    }
    started = time.perf_counter()
    scheduler.resume()
    first_pass.wait(120)
    out["first_pass_s"] = time.perf_counter() - started
    out["running_since_spawn_s"] = since_spawn()
    out["rss_after_first_pass_mib"] = rss_mib()
    started = time.perf_counter()
    jobs = scheduler.get_jobs()
    out["get_jobs_s"] = time.perf_counter() - started
    out["jobs_loaded"] = len(jobs)
    out["rss_after_get_jobs_mib"] = rss_mib()
    out["peak_rss_mib"] = peak_rss_mib()
    scheduler.shutdown(wait=False)
    return out


def child_sweep(warm: Path, db_path: Path, instance: Path, total: int, due: int, notices: bool,
                budget: float | None, profile: Path | None) -> dict:
    """One timed sweep in a fresh process, as production runs it (the scheduler process or the
    CLI), after a warm-up sweep on a tiny database (templates, locale data, holiday tables)."""
    warm_run = db_path.with_name(db_path.stem + "-warmup.db")
    copy_db(warm, warm_run, sync=False)
    run_sweep(warm_run, instance, total=WARM_TOTAL, due=WARM_DUE, notices=notices)
    remove_db(warm_run)
    out = run_sweep(db_path, instance, total=total, due=due, notices=notices, budget=budget, profile=profile)
    out["peak_rss_mib"] = peak_rss_mib()
    return out


def child_casework_start(path: Path, instance: Path, expected_pending: int) -> dict:
    """A fresh Casework sweep process: create_app, then one sweep() that finds nothing due."""
    from casework.deadlines.sweep import sweep

    imported = since_spawn()
    started = time.perf_counter()
    app = _app(path, instance, True)
    with app.app_context():
        result = sweep()
    out = {
        "import_s": imported,
        "start_s": time.perf_counter() - started,
        "ready_since_spawn_s": since_spawn(),
        "rss_after_start_mib": rss_mib(),
        "peak_rss_mib": peak_rss_mib(),
        "fired": result.fired,
        "pending": _count(path, "SELECT count(*) FROM deadline WHERE status='pending'"),
    }
    assert out["pending"] == expected_pending, out
    return out


def spawn(*args: str) -> dict:
    """Run this script as a child in a fresh interpreter; returns its JSON report plus wall time."""
    env = dict(os.environ, BENCH_T0=repr(time.time()))
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--child", *args], check=False, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"child {args} failed:\n{proc.stdout}\n{proc.stderr}")
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    report["process_wall_s"] = wall
    return report


def spawn_sweep(warm: Path, db_path: Path, instance: Path, total: int, due: int, notices: bool,
                budget: float | None, profile: Path | None = None) -> dict:
    return spawn("sweep", str(warm), str(db_path), str(instance), str(total), str(due), "on" if notices else "off",
                 str(budget or 0), str(profile) if profile else "-")


# --- report ------------------------------------------------------------------------------------

def code_version() -> str:
    """Which product code is measured (read-only git commands): others may commit during a run,
    and each timed run is a fresh process that imports the code as it is then."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], check=False, cwd=ROOT, capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "casework", "templates", "workflows"], check=False, cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"
    return (head or "?") + (" + uncommitted changes in casework/templates/workflows" if dirty else " (clean)")


def _proc_field(path: str, prefix: str, parse) -> str:
    try:
        with open(path) as handle:
            for line in handle:
                if line.startswith(prefix):
                    return parse(line)
    except OSError:
        pass
    return "?"


def machine_info() -> list[tuple[str, str]]:
    from importlib.metadata import version

    cpu = _proc_field("/proc/cpuinfo", "model name", lambda v: v.split(":", 1)[1].strip())
    mem = _proc_field("/proc/meminfo", "MemTotal", lambda v: f"{int(v.split()[1]) / 2**20:.1f} GiB")
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    code = code_version()
    return [
        ("date (UTC)", datetime.now(UTC).strftime("%Y-%m-%d %H:%M")),
        ("product code", code),
        ("nproc", str(os.cpu_count())),
        ("CPU", cpu),
        ("memory", mem),
        ("load average (1/5/15 min, at start)", load),
        ("Python", platform.python_version()),
        ("SQLite", sqlite3.sqlite_version),
        ("SQLAlchemy / SQLModel", f"{version('sqlalchemy')} / {version('sqlmodel')}"),
        ("APScheduler", version("apscheduler")),
        ("platform", platform.platform()),
    ]


def fmt(value: float, digits: int = 2) -> str:
    return f"{value:,.{digits}f}"


def render(report: dict) -> str:
    a = report["args"]
    lines = ["# Deadline sweep benchmark", ""]
    lines.append(f"Command: `{report['command']}`" + ("  (quick smoke run: scaled down ~20x)" if a["quick"] else ""))
    lines += ["", "## Machine", "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in report["machine"]]
    lines += [
        "",
        "The machine is shared and has 2 cores: timings are noisy (expect ±10–20% between runs).",
        "",
        "## 1. Sweep cost vs. number of pending deadlines",
        "",
        ("Only `sweep()` inside `app.app_context()` is timed, wall clock (CPU time of the process next to it: "
        "the gap is I/O wait or other load on the machine). Each run is a fresh process, as in production (the "
        "scheduler process, or `flask deadlines sweep`), on a fresh copy of the database, after a warm-up sweep "
        "of a tiny one. SQLite file with the product's engine and PRAGMAs (WAL, synchronous=NORMAL). Each fired "
        "row runs `review_timeout` through `operations.perform_action` in its own transaction (event, "
        "claimant-response deadline + reminder, notices). Runs alternate A/B to spread drift; medians are used."),
        "",
        "| scenario | variant | pending rows | due | runs | fired (each run) | wall s (each run) | CPU s (each run) | wall s for all due (median) | fired/s (median) | notices per fired row | DB build s | DB MiB |",
        "|---|---|---:|---:|---:|---|---|---|---:|---:|---:|---:|---:|",
    ]
    stopped = False
    for s in report["scenarios"]:
        est = statistics.median(r["est_seconds"] for r in s["runs"])
        fired = ", ".join(f"{r['fired']:,}" + ("" if r["complete"] else "*") for r in s["runs"])
        secs = ", ".join(fmt(r["seconds"]) + ("" if r["complete"] else "*") for r in s["runs"])
        cpu = ", ".join(fmt(r["cpu_seconds"]) for r in s["runs"])
        stopped = stopped or not all(r["complete"] for r in s["runs"])
        per = statistics.mean(r["notices"] / r["fired"] for r in s["runs"] if r["fired"]) if any(r["fired"] for r in s["runs"]) else 0
        lines.append(
            f"| {s['name']} | {s['variant']} | {s['total']:,} | {s['due']:,} | {len(s['runs'])} | {fired} | {secs} | {cpu} | "
            f"{fmt(est)} | {fmt(s['due'] / est, 1)} | {fmt(per, 1)} | {fmt(s['build_s'], 1)} | {fmt(s['size_mib'], 0)} |"
        )
    lines += [
        "",
        ("*notices on* is Casework as deployed, and the variant the targets apply to; *notices off* sets "
        "`NOTICES_ENABLED=False`."),
    ]
    if stopped:
        lines += ["", (f"\\* stopped at the time budget (`--budget {a['budget']:.0f}` s) between two rows; "
                      "\"seconds for all due\" is then extrapolated from that run's rate (the cost per row is flat "
                      "within a run).")]
    lines += ["", "| check | value | target | result |", "|---|---:|---:|---|"]
    for t in report["targets"]:
        lines.append(f"| {t['label']} | {t['value']} | {t['target']} | **{t['result']}** |")
    problems = [p for s in report["scenarios"] for r in s["runs"] for p in r["problems"]]
    lines += ["", "Exactly once: " + ("in every run each fired row fired once (one `review_timeout` event per "
                                     "appeal, state and rows consistent); every complete run fired exactly the due "
                                     "rows and a second sweep right after fired nothing." if not problems else
                                     "**FAILED**: " + "; ".join(problems))]
    alt = report["alternative"]
    if alt:
        cw, add, aps = alt["casework"], alt["aps_add"], alt["aps_start"]
        n = a["jobs"]
        lines += [
            "",
            f"## 2. Alternative: one APScheduler job per deadline ({n:,} deadlines)",
            "",
            ("Casework: a fresh process runs `create_app()` + one `sweep()` over "
            f"{n:,} pending deadline rows (none due). APScheduler: `BackgroundScheduler` with a "
            "`SQLAlchemyJobStore` on a SQLite file (WAL, synchronous=NORMAL, like Casework's), one "
            f"`DateTrigger` job per deadline calling `{JOB_FUNC}(deadline_id)`; a fresh process builds the "
            "scheduler and calls `start(paused=True)`, then `resume()` (first scheduling pass), then "
            "`get_jobs()`. Wall times are from spawning the interpreter; RSS is VmRSS of the child."),
            "",
            "| | Casework: deadline rows + one sweep | APScheduler: one job per deadline |",
            "|---|---:|---:|",
            f"| writing {n:,} timers | {fmt(alt['casework_build_s'], 1)} s (bulk insert of appeals + rows; in production each row is written by its operation's own transaction) | {fmt(add['add_s'], 1)} s (`add_job`, one transaction per job; {fmt(n / add['add_s'], 0)} jobs/s) |",
            f"| store size on disk | {fmt(alt['casework_size_mib'], 1)} MiB (whole database: appeals, claimants, deadlines) | {fmt(add['size_mib'], 1)} MiB (apscheduler_jobs only) |",
            f"| imports (interpreter start + import) | {fmt(cw['import_s'])} s | {fmt(aps['import_s'])} s |",
            f"| start-up call | {fmt(cw['start_s'], 3)} s (`create_app` + `sweep()`, nothing due) | {fmt(aps['start_s'], 3)} s (`start(paused=True)`) |",
            f"| ready, wall time since spawn | {fmt(cw['ready_since_spawn_s'])} s | {fmt(aps['ready_since_spawn_s'])} s (paused); {fmt(aps['running_since_spawn_s'])} s after `resume()` + first pass ({fmt(aps['first_pass_s'], 3)} s) |",
            f"| RSS when ready | {fmt(cw['rss_after_start_mib'], 1)} MiB | {fmt(aps['rss_after_start_mib'], 1)} MiB (paused); {fmt(aps['rss_after_first_pass_mib'], 1)} MiB after first pass |",
            f"| loading every timer into memory | never (the sweep reads due ids in batches of `SWEEP_BATCH_SIZE`) | `get_jobs()`: {fmt(aps['get_jobs_s'], 2)} s for {aps['jobs_loaded']:,} jobs, RSS {fmt(aps['rss_after_get_jobs_mib'], 1)} MiB |",
            f"| peak RSS of the process | {fmt(cw['peak_rss_mib'], 1)} MiB | {fmt(aps['peak_rss_mib'], 1)} MiB |",
            f"| whole child process wall time | {fmt(cw['process_wall_s'])} s | {fmt(aps['process_wall_s'])} s (includes `get_jobs()`) |",
            "",
            ("Note: APScheduler 3's `SQLAlchemyJobStore` does not load jobs at `start()`; each scheduling pass "
            "queries the due jobs and the next run time (indexed on `next_run_time`). Jobs are unpickled when "
            "they come due or when listed (`get_jobs()`), which is where its cost per deadline shows."),
        ]
    lines.append("")
    return "\n".join(lines)


# --- main --------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--due", type=int, default=10_000, help="due deadlines in both scenarios (default 10,000)")
    parser.add_argument("--pending", type=int, default=1_000_000, help="pending deadlines in scenario B (default 1,000,000)")
    parser.add_argument("--jobs", type=int, default=100_000, help="deadlines for the APScheduler comparison (default 100,000)")
    parser.add_argument("--quick", action="store_true", help="scale everything down ~20x (smoke run)")
    parser.add_argument("--runs", type=int, default=3, help="sweep runs per scenario, alternating A,B,B,A,A,B… (default 3)")
    parser.add_argument("--no-notices-off", action="store_true", help="skip the extra runs with NOTICES_ENABLED=False")
    parser.add_argument("--budget", type=float, default=180.0,
                        help="stop a sweep run after this many seconds and extrapolate from its rate (default 180; 0: none)")
    parser.add_argument("--no-alternative", action="store_true", help="skip the APScheduler comparison")
    parser.add_argument("--profile", action="store_true",
                        help="one extra scenario-B sweep under cProfile (bench/results/sweep-profile.txt)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a performance target is missed (default: only on wrong results)")
    parser.add_argument("--workdir", help="where to put the temporary databases (default: a new directory under /tmp)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary databases")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        kind, *rest = args.child
        if kind == "aps-add":
            out = child_aps_add(Path(rest[0]), int(rest[1]))
        elif kind == "aps-start":
            out = child_aps_start(Path(rest[0]))
        elif kind == "sweep":
            warm, db_path, inst, total, due, notices, budget, profile = rest
            out = child_sweep(Path(warm), Path(db_path), Path(inst), int(total), int(due), notices == "on",
                              float(budget) or None, Path(profile) if profile != "-" else None)
        elif kind == "casework-start":
            out = child_casework_start(Path(rest[0]), Path(rest[1]), int(rest[2]))
        else:
            raise SystemExit(f"unknown child {kind}")
        print(json.dumps(out))
        return 0

    if args.quick:
        args.due, args.pending, args.jobs = max(1, args.due // 20), max(1, args.pending // 20), max(1, args.jobs // 20)
    args.budget = args.budget or None
    if args.pending < args.due:
        parser.error("--pending must be at least --due")
    command = "python bench/sweep.py " + " ".join(sys.argv[1:])
    machine = machine_info()
    work = work_folder(parser, args.workdir, "bench")
    instance = work / "instance"
    instance.mkdir(exist_ok=True)
    results_dir = results_folder()
    log = lambda message: print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
    log(f"workdir {work}; due={args.due:,} pending(B)={args.pending:,} jobs={args.jobs:,}")

    try:
        # Each timed sweep runs in a fresh process that first sweeps this tiny database (warm-up).
        warm = work / "warmup.db"
        build_db(warm, WARM_TOTAL, WARM_DUE)

        templates = {}
        for name, total in (("A", args.due), ("B", args.pending)):
            path = work / f"template-{name}.db"
            log(f"building {name}: {total:,} pending, {args.due:,} due")
            templates[name] = (path, total, build_db(path, total, args.due))
            log(f"built {name} in {templates[name][2]['build_s']:.1f} s ({templates[name][2]['size_mib']:.0f} MiB)")

        # (label, notices, binding for the targets)
        variants = [("notices on", True, True)]
        if not args.no_notices_off:
            variants.append(("notices off", False, False))
        scenarios = []
        counter = 0
        for label, notices, binding in variants:
            pair = []
            for name in ("A", "B"):
                path, total, built = templates[name]
                pair.append({"name": f"{name}: {args.due:,} due among {total:,}", "key": name, "variant": label,
                             "notices": notices, "binding": binding,
                             "total": total, "due": args.due, "build_s": built["build_s"],
                             "size_mib": built["size_mib"], "runs": []})
            scenarios += pair
            for run in range(args.runs):
                for s in (pair if run % 2 == 0 else list(reversed(pair))):
                    path, total, _ = templates[s["key"]]
                    counter += 1
                    target = work / f"run-{counter}.db"
                    copy_db(path, target)
                    r = spawn_sweep(warm, target, instance, total, args.due, notices, args.budget)
                    remove_db(target)
                    s["runs"].append(r)
                    note = "" if r["complete"] else f" STOPPED at the budget; all {args.due:,} would take ~{r['est_seconds']:.0f} s"
                    if r["problems"]:
                        note += f" PROBLEMS {r['problems']}"
                    log(f"{s['name']} [{label}] run {run + 1}: fired {r['fired']:,} in {r['seconds']:.2f} s "
                        f"({r['rate']:.1f}/s){note}")

        if args.profile:
            # One extra run of B under cProfile (notices on); not in the table.
            path, total, _ = templates["B"]
            target = work / "run-profile.db"
            copy_db(path, target)
            profile = results_dir / ("sweep-quick-profile.txt" if args.quick else "sweep-profile.txt")
            r = spawn_sweep(warm, target, instance, total, args.due, True, args.budget, profile)
            remove_db(target)
            log(f"profiled B: {r['fired']} fired in {r['seconds']:.2f} s under cProfile -> {profile}")

        def median(key: str, label: str) -> float:
            s = next(s for s in scenarios if s["key"] == key and s["variant"] == label)
            return statistics.median(r["est_seconds"] for r in s["runs"])

        targets = []
        for label, _notices, binding in variants:
            ratio = median("B", label) / median("A", label)
            rate = args.due / max(median("A", label), median("B", label))
            for t in (
                {"label": f"time B / time A ({label})", "value": fmt(ratio), "target": f"≤ {RATIO_TARGET}",
                 "ok": ratio <= RATIO_TARGET},
                {"label": f"fired/s, slower of A and B ({label})", "value": fmt(rate, 0),
                 "target": f"≥ {RATE_TARGET:.0f}", "ok": rate >= RATE_TARGET},
            ):
                t["binding"] = binding
                t["result"] = ("PASS" if t["ok"] else "FAIL") + ("" if binding else " (informative)")
                targets.append(t)

        alternative = None
        if not args.no_alternative:
            cw_db = work / "casework-startup.db"
            log(f"building Casework store with {args.jobs:,} pending rows")
            cw_built = build_db(cw_db, args.jobs, 0)
            cw = spawn("casework-start", str(cw_db), str(instance), str(args.jobs))
            log(f"Casework sweep process ready in {cw['ready_since_spawn_s']:.2f} s, RSS {cw['rss_after_start_mib']:.0f} MiB")
            aps_db = work / "apscheduler.db"
            log(f"adding {args.jobs:,} APScheduler jobs")
            add = spawn("aps-add", str(aps_db), str(args.jobs))
            log(f"added in {add['add_s']:.1f} s")
            aps = spawn("aps-start", str(aps_db))
            log(f"APScheduler ready in {aps['ready_since_spawn_s']:.2f} s, RSS {aps['rss_after_start_mib']:.0f} MiB; "
                f"get_jobs {aps['get_jobs_s']:.1f} s, RSS {aps['rss_after_get_jobs_mib']:.0f} MiB")
            alternative = {"casework": cw, "casework_build_s": cw_built["build_s"],
                           "casework_size_mib": cw_built["size_mib"], "aps_add": add, "aps_start": aps}

        code_at_end = code_version()
        if code_at_end != dict(machine)["product code"]:
            machine.append(("product code at the end", f"{code_at_end} — **the code changed during the run**"))
            log(f"warning: the product code changed during the run (now {code_at_end})")
        report = {"args": vars(args), "command": command, "machine": machine, "scenarios": scenarios,
                  "targets": targets, "alternative": alternative}
        text = render(report)
        print(text)
        (results_dir / ("sweep-quick.md" if args.quick else "sweep.md")).write_text(text)
        (results_dir / ("sweep-quick.json" if args.quick else "sweep.json")).write_text(json.dumps(report, indent=1, default=str))
        problems = [p for s in scenarios for r in s["runs"] for p in r["problems"]]
        if problems:
            return 2
        if args.strict and not all(t["ok"] for t in targets if t["binding"]):
            return 1
        return 0
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
