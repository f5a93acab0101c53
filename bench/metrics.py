"""Benchmark of the published metrics (DESIGN §5, §7; issue 7).

Builds a throw-away SQLite database of N appeals (default 1,000,000) lodged over the five years
up to today, with their claimants, events and deadline rows, by bulk inserts (not through the
operations, but writing what they would write: events that follow the workflow from ``lodge``
to the appeal's current state, one deadline row per stage with ``due_at``, ``ended_at`` and
``status`` as ``schedule.Deadlines`` sets them, reminders, and the appeal row's state, outcome,
review outcome and times). Then, in a fresh process, as a request would run it (Flask test
client, the product's engine and its indexes, no ANALYZE):

* the floor: a plain full scan of the appeal table,
  ``SELECT count(*), sum(length(state)) FROM appeal``;
* the full JSON report for the last complete calendar year (target < 2 s);
* the same report filtered by benefit, by handling country and by the claimant's country of
  residence (target < 1 s each);
* informative: the CSV, the monthly breakdown and the public page for the same year;
* the process's memory (peak RSS, VmHWM; target < 300 MB).

Every timing is a median of ``--runs`` requests after one untimed warm-up request of the same
kind (the database file sits in the OS page cache either way: it was just written). A few
figures are checked against plain SQL counts. Run ``python bench/metrics.py --help``; see
bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import random
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

from bench.machine import machine_info, results_folder, work_folder  # noqa: E402 - after the path is set

BATCH = 20_000
YEARS = 5
DAY = 86400
REPORT_TARGET_S, FILTERED_TARGET_S, RSS_TARGET_MIB = 2.0, 1.0, 300.0

COUNTRIES = ("DE", "FR", "ES", "PL", "IT", "PT", "NL", "BE", "AT", "SE")
COUNTRY_WEIGHTS = (22, 16, 12, 10, 10, 7, 7, 6, 5, 5)
TIMEZONE = {"DE": "Europe/Berlin", "FR": "Europe/Paris", "ES": "Europe/Madrid", "PL": "Europe/Warsaw",
            "IT": "Europe/Rome", "PT": "Europe/Lisbon", "NL": "Europe/Amsterdam", "BE": "Europe/Brussels",
            "AT": "Europe/Vienna", "SE": "Europe/Stockholm"}
BENEFITS = ("old_age_pension", "survivor_pension", "invalidity", "sickness", "healthcare", "unemployment",
            "family", "work_accident")
BENEFIT_WEIGHTS = (30, 8, 15, 10, 12, 12, 9, 4)
LANGUAGES = ("de", "fr", "es", "pl", "it", "pt", "en", "ar")
ASSIGNMENTS = (0, 1, 1, 2, 2, 3)  # officer (re)assignments before each step: ~10 events per appeal in all


# --- measuring helpers ---------------------------------------------------------------------------

def proc_status_kib(name: str) -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    return 0


def file_mib(path: Path) -> float:
    return sum(Path(str(path) + s).stat().st_size for s in ("", "-wal", "-shm") if Path(str(path) + s).exists()) / 2**20


def fmt(value: float, digits: int = 3) -> str:
    return f"{value:,.{digits}f}"


# --- the synthetic history -----------------------------------------------------------------------

def stamp(seconds: int) -> str:
    """A time as SQLAlchemy stores DateTime on SQLite (naive UTC, microseconds)."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S.000000")


def end_of_day(seconds: int, days: int) -> int:
    """The end (23:59:59, taken as 22:59:59 UTC) of the day ``days`` days after ``seconds``'s day:
    the shape of a stored ``due_at`` (the operations add working days and holidays; the metrics
    only compare against the stored value)."""
    midnight = seconds - seconds % DAY
    return midnight + (days + 1) * DAY - 3601


class Appeal:
    """One appeal's history, built step by step as the operations would record it."""

    def __init__(self, ident: int, lodged_at: int, now_s: int, rng: random.Random):
        self.id, self.rng, self.now = ident, rng, now_s
        self.state, self.outcome, self.review_outcome = "lodged", None, None
        self.at = lodged_at
        self.lodged_at = lodged_at
        self.closed_at = None
        self.events: list[tuple] = []
        self.deadlines: list[list] = []  # [kind, status, due_at, started_at, ended_at, paused_at, fired_at]
        self.open: list[list] = []
        self.mediation_extended = False
        self.tribunal = None
        self._event("lodge", None, "lodged", "officer", lodged_at)

    # -- recording --
    def _event(self, action, from_state, to_state, role, at):
        self.events.append((action, from_state, to_state, role, at))

    def _start(self, kind: str, days: int, at: int, remind: int = 7):
        row = [kind, "pending", end_of_day(at, days), at, None, None, None]
        self.deadlines.append(row)
        self.open.append(row)
        if days > remind:
            reminder = ["reminder", "pending", row[2] - remind * DAY, at, None, None, None]
            self.deadlines.append(reminder)
            self.open.append(reminder)
            if reminder[2] <= self.now:
                reminder[1], reminder[6] = "missed", reminder[2]  # fired by the sweep on its day
        return row

    def _end_stage(self, at: int, cancelled: bool = False, keep_paused: bool = False):
        still = []
        for row in self.open:
            if keep_paused and row[1] == "paused":
                still.append(row)
                continue
            if row[0] == "reminder":
                if row[1] == "pending":
                    row[1] = "cancelled"
                row[4] = at
            elif cancelled:
                row[1], row[4] = "cancelled", at
            else:
                row[1], row[4] = ("met" if at <= row[2] else "missed"), at
        self.open = still

    def step(self, after_days: float, action: str, to_state: str, role: str = "officer") -> bool:
        """Take ``action`` ``after_days`` from the previous step, unless that is after now. Before
        it, officers may be (re)assigned: steps that change nothing but the history, and that the
        metrics' lookups have to walk past."""
        at = self.at + int(after_days * DAY)
        if at > self.now:
            return False
        for moment in sorted(self.rng.randint(self.at, at) for _ in range(self.rng.choice(ASSIGNMENTS))):
            self._event("assign", self.state, self.state, "officer", moment)
        self._event(action, self.state, to_state, role, at)
        self.at, self.state = at, to_state
        return True

    def close(self, outcome: str):
        self.outcome, self.closed_at = outcome, self.at

    # -- the stages --
    def run(self):
        r = self.rng
        self._start("admissibility", 14, self.at)
        if r.random() < 0.05 and self.step(r.uniform(1, 5), "forward", "lodged"):
            self._end_stage(self.at)
            self._start("admissibility", 14, self.at)
        roll = r.random()
        if roll < 0.04:
            if self.step(r.uniform(3, 25), "declare_inadmissible", "closed"):
                self._end_stage(self.at)
                self.close("inadmissible")
            return
        if roll < 0.06:
            if self.step(r.uniform(1, 20), "withdraw", "closed", "claimant"):
                self._end_stage(self.at, cancelled=True)
                self.close("withdrawn")
            return
        if not self.step(r.uniform(1, 14), "admit", "under_review"):
            return
        self._end_stage(self.at)
        self.remitted = False
        while True:  # a remitted appeal is reviewed again (once, here)
            if not self.review():
                return
            if not self.awaiting():
                return
            if self.state == "in_mediation" and not self.mediation():
                return
            if self.state != "escalated" or not self.tribunal_stage():
                return

    def review(self) -> bool:
        """Under review until decided (True when the appeal goes on to the claimant)."""
        r = self.rng
        review = self._start("review", 30, self.at)
        if r.random() < 0.15:
            if not self.step(r.uniform(2, 15), "request_information", "awaiting_information"):
                return False
            # The review clock stops and its reminder goes; the information deadline runs.
            review[1], review[5] = "paused", self.at
            for row in self.open:
                if row[0] == "reminder" and row[1] == "pending":
                    row[1], row[4] = "cancelled", self.at
            self.open = [review]
            self._start("information", 30, self.at)
            paused_at = self.at
            timeout = r.random() < 0.2
            if not self.step(31 if timeout else r.uniform(3, 28),
                             "information_timeout" if timeout else "receive_information", "under_review",
                             "system" if timeout else "officer"):
                return False
            self._end_stage(self.at, keep_paused=True)
            review[2] += self.at - paused_at  # the paused time is added back
            review[1], review[5] = "pending", None
            self.open = [review]
        roll = r.random()
        if roll < 0.03:
            if self.step(r.uniform(2, 25), "withdraw", "closed", "claimant"):
                self._end_stage(self.at, cancelled=True)
                self.close("withdrawn")
            return False
        if roll < 0.09:  # nobody decided: the sweep fires the deemed refusal
            if self.at + 31 * DAY > self.now or review[2] + 600 > self.now:
                return False
            self.at = review[2] + r.randint(60, 3600)
            review[6] = self.at
            self._event("review_timeout", self.state, "awaiting_claimant", "system", self.at)
            self.state, self.review_outcome = "awaiting_claimant", "refused"
            self._end_stage(self.at)
        else:
            outcome = r.choices(("granted", "partially_granted", "refused"), (35, 15, 50))[0]
            to_state = "closed" if outcome == "granted" else "awaiting_claimant"
            if not self.step(r.lognormvariate(3.0, 0.45), "decide_review", to_state):
                return False
            self.review_outcome = outcome
            self._end_stage(self.at)
            if outcome == "granted":
                self.close("granted")
                return False
        self._start("claimant_response", 30, self.at)
        return True

    def awaiting(self) -> bool:
        r = self.rng
        roll = r.random()
        if roll < 0.45:
            if self.step(r.uniform(1, 28), "accept_decision", "closed", "claimant"):
                self._end_stage(self.at)
                self.close(self.review_outcome)
            return False
        if roll < 0.60:
            if self.at + 31 * DAY <= self.now:
                self.at += 31 * DAY
                self._event("response_timeout", self.state, "closed", "system", self.at)
                self.state = "closed"
                self._end_stage(self.at)
                self.close(self.review_outcome)
            return False
        if roll < 0.63:
            if self.step(r.uniform(1, 20), "withdraw", "closed", "claimant"):
                self._end_stage(self.at, cancelled=True)
                self.close("withdrawn")
            return False
        mediation = roll < 0.80
        action, to_state = ("request_mediation", "in_mediation") if mediation else ("request_tribunal", "escalated")
        if not self.step(r.uniform(1, 25), action, to_state, "claimant"):
            return False
        self._end_stage(self.at)
        if mediation:
            self._start("mediation", 63, self.at)
        else:
            self._start("tribunal_acknowledgement", 7, self.at, remind=3)
        return True

    def mediation(self) -> bool:
        r = self.rng
        mediation = self.open[0]
        if r.random() < 0.2 and self.step(r.uniform(20, 50), "extend_mediation", "in_mediation", "mediator"):
            mediation[2] += 21 * DAY
        roll = r.random()
        if roll < 0.42:
            if self.step(r.uniform(10, 80), "settle", "closed", "mediator"):
                self._end_stage(self.at)
                self.close("settled")
            return False
        if roll < 0.50:
            if self.step(r.uniform(5, 60), "withdraw", "closed", "claimant"):
                self._end_stage(self.at, cancelled=True)
                self.close("withdrawn")
            return False
        if roll < 0.65:
            if mediation[2] + 600 > self.now:
                return False
            self.at = mediation[2] + r.randint(60, 3600)
            mediation[6] = self.at
            self._event("mediation_timeout", self.state, "escalated", "system", self.at)
            self.state = "escalated"
        elif not self.step(r.uniform(10, 85), "end_mediation", "escalated", "mediator"):
            return False
        self._end_stage(self.at)
        self._start("tribunal_acknowledgement", 7, self.at, remind=3)
        return True

    def tribunal_stage(self) -> bool:
        """Before the tribunal; True when it remits the appeal (a new review follows)."""
        r = self.rng
        self.tribunal = "CBSST"
        if r.random() < 0.03:
            if self.step(r.uniform(1, 10), "withdraw", "closed", "claimant"):
                self._end_stage(self.at, cancelled=True)
                self.close("withdrawn")
            return False
        if not self.step(r.uniform(1, 9), "acknowledge_referral", "before_tribunal", "tribunal"):
            return False
        self._end_stage(self.at)
        if r.random() < 0.6 and not self.step(r.uniform(10, 60), "schedule_hearing", "before_tribunal", "tribunal"):
            return False
        roll = r.random()
        if roll < 0.05:
            if self.step(r.uniform(10, 90), "withdraw", "closed", "claimant"):
                self._end_stage(self.at, cancelled=True)
                self.close("withdrawn")
            return False
        if roll < 0.15 and not self.remitted:
            self.remitted = True
            if not self.step(r.uniform(30, 200), "remit", "under_review", "tribunal"):
                return False
            self.review_outcome = None
            self._end_stage(self.at)
            return True
        outcome = r.choices(("allowed", "partially_allowed", "dismissed"), (30, 20, 50))[0]
        if self.step(r.lognormvariate(4.9, 0.45), "deliver_judgment", "closed", "tribunal"):
            self._end_stage(self.at)
            self.close(outcome)
        return False


def build(path: Path, total: int, seed: int, now_s: int, log) -> dict:
    """The database: schema from the models (tables first, indexes after the bulk load)."""
    from sqlalchemy import create_engine
    from sqlmodel import SQLModel

    import casework.models  # noqa: F401 - register the tables

    started = time.perf_counter()
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    engine = create_engine(f"sqlite:///{path}")
    indexes = [index for table in SQLModel.metadata.sorted_tables for index in table.indexes]
    saved = {}
    for table in SQLModel.metadata.sorted_tables:
        saved[table] = set(table.indexes)
        table.indexes.clear()
    try:
        SQLModel.metadata.create_all(engine)
    finally:
        for table, table_indexes in saved.items():
            table.indexes.update(table_indexes)
    engine.dispose()

    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-524288")
    conn.execute("PRAGMA temp_store=MEMORY")
    institutions = [(i + 1, country, f"Institution {country}") for i, country in enumerate(COUNTRIES)]
    conn.executemany("INSERT INTO institution (id, country, name) VALUES (?, ?, ?)", institutions)
    institution_id = {country: i + 1 for i, country in enumerate(COUNTRIES)}

    rng = random.Random(seed)
    first_s = now_s - YEARS * 365 * DAY
    counts = {"appeals": 0, "events": 0, "deadlines": 0}
    event_id = deadline_id = 0
    hash_ = "ab" * 32
    grounds = "Insurance periods completed in another Member State were not aggregated (Art. 6 Reg. 883/2004)."
    appeal_sql = ("INSERT INTO appeal (id, reference, version, claimant_id, access_code_hash, benefit, decision_country, "
                  "decision_institution_id, decision_reference, decision_date, notified_on, grounds, receiving_country, "
                  "handling_country, handling_institution_id, tribunal_code, lodged_at, filing_deadline, filed_in_time, "
                  "state, outcome, review_outcome, mediation_extended, next_due_at, last_event_seq, last_event_hash, "
                  "last_event_at, created_at, updated_at, closed_at) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    event_sql = ("INSERT INTO event (id, appeal_id, seq, action, from_state, to_state, actor, actor_role, occurred_at, "
                 "recorded_at, payload, hash, prev_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
    deadline_sql = ("INSERT INTO deadline (id, appeal_id, kind, status, due_at, due_on, timezone, jurisdiction, rule, "
                    "started_at, paused_at, fired_at, ended_at, attempts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)")
    claimant_sql = ("INSERT INTO claimant (id, name, birth_date, residence_country, preferred_language, email, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)")
    for first in range(0, total, BATCH):
        claimants, appeals, events, deadlines = [], [], [], []
        for ident in range(first + 1, min(total, first + BATCH) + 1):
            lodged_s = first_s + rng.randrange(YEARS * 365 * DAY)
            country = rng.choices(COUNTRIES, COUNTRY_WEIGHTS)[0]
            residence = country if rng.random() < 0.3 else rng.choices(COUNTRIES, COUNTRY_WEIGHTS)[0]
            benefit = rng.choices(BENEFITS, BENEFIT_WEIGHTS)[0]
            history = Appeal(ident, lodged_s, now_s, rng)
            history.run()
            lodged = stamp(lodged_s)
            decided_on = (datetime.fromtimestamp(lodged_s, UTC) - timedelta(days=rng.randint(5, 40))).date()
            claimants.append((ident, f"Claimant {ident}", date(1940 + ident % 45, 1 + ident % 12, 1 + ident % 28).isoformat(),
                              residence, LANGUAGES[ident % len(LANGUAGES)], f"claimant{ident}@example.org", lodged))
            prev = "0" * 64
            for seq, (action, from_state, to_state, role, at) in enumerate(history.events, start=1):
                event_id += 1
                when = stamp(at)
                payload = '{"outcome": "%s"}' % history.review_outcome if action == "decide_review" else "{}"
                events.append((event_id, ident, seq, action, from_state, to_state,
                               "system" if role == "system" else f"{role}@example.org", role, when, when, payload,
                               hash_, prev))
                prev = hash_
            pending = []
            for kind, status, due_s, started_s, ended_s, paused_s, fired_s in history.deadlines:
                deadline_id += 1
                due = datetime.fromtimestamp(due_s, UTC)
                if status == "pending" and kind != "reminder":
                    pending.append(due_s)
                deadlines.append((deadline_id, ident, kind, status, stamp(due_s), due.date().isoformat(),
                                  TIMEZONE[country], country, '{"kind": "%s"}' % kind, stamp(started_s),
                                  stamp(paused_s) if paused_s else None, stamp(fired_s) if fired_s else None,
                                  stamp(ended_s) if ended_s else None))
            last = history.events[-1][4]
            appeals.append((
                ident, f"CW-{datetime.fromtimestamp(lodged_s, UTC).year}-{ident:07d}", len(history.events), ident,
                "cd" * 32, benefit, country, institution_id[country], f"{country}-{ident}", decided_on.isoformat(),
                decided_on.isoformat(), grounds, country, country, institution_id[country], history.tribunal, lodged,
                (decided_on + timedelta(days=60)).isoformat(), 1, history.state, history.outcome,
                history.review_outcome, int(history.mediation_extended), stamp(min(pending)) if pending else None,
                len(history.events), hash_, stamp(last), lodged, stamp(last),
                stamp(history.closed_at) if history.closed_at else None,
            ))
        conn.executemany(claimant_sql, claimants)
        conn.executemany(appeal_sql, appeals)
        conn.executemany(event_sql, events)
        conn.executemany(deadline_sql, deadlines)
        conn.commit()
        counts["appeals"] += len(appeals)
        counts["events"] += len(events)
        counts["deadlines"] += len(deadlines)
        if (first // BATCH) % 10 == 0:
            log(f"  {counts['appeals']:,} appeals, {counts['events']:,} events, {counts['deadlines']:,} deadlines")
    conn.close()
    loaded = time.perf_counter()
    log(f"loaded in {loaded - started:.0f} s; creating {len(indexes)} indexes")
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.exec_driver_sql("PRAGMA cache_size=-524288")
        for index in indexes:
            index.create(connection)
    engine.dispose()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")  # as the product runs it
    conn.close()
    return {**counts, "build_s": time.perf_counter() - started, "index_s": time.perf_counter() - loaded,
            "size_mib": file_mib(path)}


# --- measuring, in a fresh process ---------------------------------------------------------------

def child(path: Path, instance: Path, year: int, runs: int) -> dict:
    """Everything timed, in one process, as the product serves it."""
    from sqlalchemy import text

    from casework import create_app
    from casework.db import db

    app = create_app({"DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": "bench", "INSTANCE_PATH": str(instance)})
    client = app.test_client()
    out: dict = {"rss_after_start_mib": proc_status_kib("VmRSS") / 1024}

    def timed(label: str, call) -> dict:
        call()  # warm-up: first use of the query shapes, templates, locale data
        seconds = []
        for _ in range(runs):
            started = time.perf_counter()
            result = call()
            seconds.append(time.perf_counter() - started)
        out[label] = {"median_s": statistics.median(seconds), "runs_s": seconds}
        return result

    def scan(sql: str):
        def call():
            with app.app_context():
                return db.session.execute(text(sql)).one()
        return call

    def get(url: str):
        def call():
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code, response.get_data(as_text=True)[:500])
            return response
        return call

    period = f"from={year}-01-01&to={year}-12-31"
    # SQLite answers the suggested floor from the small index on state; NOT INDEXED reads the table.
    timed("scan_index", scan("SELECT count(*), sum(length(state)) FROM appeal"))
    timed("scan", scan("SELECT count(*), sum(length(state)) FROM appeal NOT INDEXED"))
    report = timed("report", get(f"/api/v1/metrics?{period}")).get_json()
    timed("report_benefit", get(f"/api/v1/metrics?{period}&benefit=invalidity"))
    timed("report_handling_country", get(f"/api/v1/metrics?{period}&handling_country=FR"))
    timed("report_residence_country", get(f"/api/v1/metrics?{period}&residence_country=ES"))
    timed("report_all_filters", get(f"/api/v1/metrics?{period}&benefit=invalidity&handling_country=FR&residence_country=ES"))
    timed("csv", get(f"/api/v1/metrics.csv?{period}"))
    timed("breakdown_month", get(f"/api/v1/metrics/breakdown?by=month&{period}"))
    timed("breakdown_handling_country", get(f"/api/v1/metrics/breakdown?by=handling_country&{period}"))
    timed("page", get(f"/metrics?year={year}"))
    out["peak_rss_mib"] = proc_status_kib("VmHWM") / 1024
    out["rss_end_mib"] = proc_status_kib("VmRSS") / 1024

    # A few figures against plain SQL counts over the same rows.
    start, end = f"{year}-01-01 00:00:00", f"{year + 1}-01-01 00:00:00"
    with sqlite3.connect(path) as conn:
        one = lambda sql, *args: conn.execute(sql, args).fetchone()[0]  # noqa: E731
        expected = {
            "filed": one("SELECT count(*) FROM appeal WHERE lodged_at >= ? AND lodged_at < ?", start, end),
            "closed": one("SELECT count(*) FROM appeal WHERE closed_at >= ? AND closed_at < ?", start, end),
            "outcomes.settled": one("SELECT count(*) FROM appeal WHERE closed_at >= ? AND closed_at < ? "
                                    "AND outcome = 'settled'", start, end),
            "open": one("SELECT count(*) FROM appeal WHERE lodged_at < ? AND (closed_at IS NULL OR closed_at >= ?)",
                        end, end),
            "stages.mediation.cases": one("SELECT count(*) FROM event WHERE action IN ('settle', 'end_mediation', "
                                          "'mediation_timeout') AND occurred_at >= ? AND occurred_at < ?", start, end),
        }
    found = {"filed": report["filed"], "closed": report["closed"], "outcomes.settled": report["outcomes"]["settled"],
             "open": report["open"], "stages.mediation.cases": report["stages"]["mediation"]["cases"]}
    out["checks"] = {name: {"report": found[name], "sql": expected[name]} for name in expected}
    out["body"] = report
    with app.app_context():
        out["plans"] = query_plans(db.session, year)
    return out


def query_plans(session, year: int) -> str:
    """EXPLAIN QUERY PLAN of every statement the yearly report runs (for bench/results)."""
    from datetime import date as date_

    from sqlalchemy import event as sa_event

    from casework import metrics

    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    engine = session.get_bind()
    sa_event.listen(engine, "before_cursor_execute", record)
    try:
        metrics.report(session, metrics.Scope(date_(year, 1, 1), date_(year, 12, 31)))
    finally:
        sa_event.remove(engine, "before_cursor_execute", record)
    lines = []
    raw = session.connection().connection.dbapi_connection
    for statement, parameters in statements:
        lines.append(statement.strip())
        for row in raw.execute("EXPLAIN QUERY PLAN " + statement, parameters):
            lines.append(f"    {row[3]}")
        lines.append("")
    return "\n".join(lines)


def spawn(*args: str) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"child failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def render(report: dict) -> str:
    a, built, m = report["args"], report["built"], report["measured"]
    scan = m["scan"]["median_s"]
    lines = [
        f"# Metrics benchmark ({'quick' if a['quick'] else 'full'} run)", "",
        f"`{report['command']}`, {report['started']}", "",
        "| machine | |", "|---|---|", *(f"| {k} | {v} |" for k, v in report["machine"]), "",
        f"Database: {built['appeals']:,} appeals lodged over the {YEARS} years up to today, {built['events']:,} events, "
        f"{built['deadlines']:,} deadline rows (and one claimant per appeal); {fmt(built['size_mib'], 0)} MiB on disk; "
        f"built in {fmt(built['build_s'], 0)} s (indexes {fmt(built['index_s'], 0)} s). Reports cover {a['year']}.",
        "", f"Each time is the median of {a['runs']} requests after one warm-up request, in one process "
        "(Flask test client; the product's engine, WAL, no ANALYZE).", "",
        "| measurement | median s | runs s | × full scan | target | result |", "|---|---:|---|---:|---:|---|",
    ]
    targets = {"report": REPORT_TARGET_S, "report_benefit": FILTERED_TARGET_S,
               "report_handling_country": FILTERED_TARGET_S, "report_residence_country": FILTERED_TARGET_S}
    labels = {
        "scan": "floor: full scan of the appeal table, `SELECT count(*), sum(length(state)) FROM appeal NOT INDEXED`",
        "scan_index": "the same without `NOT INDEXED` (SQLite reads the index on `state` instead)",
        "report": f"JSON report, {a['year']}",
        "report_benefit": "… filtered by benefit (invalidity)",
        "report_handling_country": "… filtered by handling country (FR)",
        "report_residence_country": "… filtered by claimant's residence (ES)",
        "report_all_filters": "… all three filters (informative)",
        "csv": "CSV report (informative)",
        "breakdown_month": "breakdown by month (informative)",
        "breakdown_handling_country": "breakdown by handling country (informative)",
        "page": f"public page `/metrics?year={a['year']}` (report + months; informative)",
    }
    results = []
    for key, label in labels.items():
        row = m[key]
        target = targets.get(key)
        ok = None if target is None else row["median_s"] < target
        results.append(ok)
        lines.append(f"| {label} | {fmt(row['median_s'])} | {', '.join(fmt(s) for s in row['runs_s'])} | "
                     f"{fmt(row['median_s'] / scan, 1) if key != 'scan' else '1.0'} | "
                     f"{'< ' + str(target) + ' s' if target else ''} | "
                     f"{'' if ok is None else ('PASS' if ok else 'FAIL')} |")
    rss_ok = m["peak_rss_mib"] < RSS_TARGET_MIB
    lines += [
        f"| peak RSS of the measuring process (VmHWM) | {fmt(m['peak_rss_mib'], 0)} MiB | | | < {RSS_TARGET_MIB:.0f} MiB | "
        f"{'PASS' if rss_ok else 'FAIL'} |", "",
        "Checks against plain SQL over the same rows: " + ", ".join(
            f"{name} {c['report']:,} = {c['sql']:,}" if c["report"] == c["sql"] else f"**{name} {c['report']} ≠ {c['sql']}**"
            for name, c in m["checks"].items()) + ".", "",
        "The report itself:", "", "```json", json.dumps(m["body"], indent=1)[:6000], "```", "",
    ]
    report["ok"] = all(ok is not False for ok in results) and rss_ok
    report["checks_ok"] = all(c["report"] == c["sql"] for c in m["checks"].values())
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--appeals", type=int, default=1_000_000, help="appeals to generate (default 1,000,000)")
    parser.add_argument("--quick", action="store_true", help="50,000 appeals, 3 runs (under a minute)")
    parser.add_argument("--runs", type=int, default=5, help="timed requests per measurement (default 5)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--workdir", help="where to build the database (default: a new directory under /tmp)")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        path, instance, year, runs = args.child
        print(json.dumps(child(Path(path), Path(instance), int(year), int(runs)), default=str))
        return 0
    if args.quick:
        args.appeals, args.runs = 50_000, 3
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    args.year = today.year - 1
    work = work_folder(parser, args.workdir, "metrics")
    log = lambda message: print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)  # noqa: E731
    results = results_folder()
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    try:
        path = work / "metrics.db"
        log(f"building {args.appeals:,} appeals in {path}")
        built = build(path, args.appeals, args.seed, int(today.timestamp()), log)
        log(f"built in {built['build_s']:.0f} s ({built['size_mib']:.0f} MiB)")
        instance = work / "instance"
        instance.mkdir(exist_ok=True)
        measured = spawn(str(path), str(instance), str(args.year), str(args.runs))
        report = {"args": vars(args), "command": "python bench/metrics.py " + " ".join(sys.argv[1:]),
                  "started": started, "machine": machine_info(), "built": built, "measured": measured}
        text = render(report)
        print(text)
        name = "metrics-quick" if args.quick else "metrics"
        (results / f"{name}.md").write_text(text)
        (results / f"{name}-plans.txt").write_text(measured.pop("plans"))
        (results / f"{name}.json").write_text(json.dumps(report, indent=1, default=str))
        if not report["checks_ok"]:
            return 2
        return 1 if args.strict and not report["ok"] else 0
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
