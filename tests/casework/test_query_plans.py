"""Every statement a request path runs is served from indexes (DESIGN §7: "every page and API
call served from indexes, no full scans on a request path, keyset pagination").

The test builds a small database through the real API (appeals in every state and in several
countries, a mediation with its mediator, referrals to the tribunal, documents, notices), then
calls each request path through the test client, or the real functions for the background work,
while recording every SQL statement SQLAlchemy sends (``before_cursor_execute`` on the app's
engine). Each recorded statement then goes to the database's planner with the parameters it ran
with:

- SQLite: ``EXPLAIN QUERY PLAN``. The product never runs ANALYZE, so SQLite plans without
  statistics, as if every table were large: the plan for this small database is the plan for
  one with a million appeals.
- PostgreSQL: ``EXPLAIN (FORMAT JSON)`` after ``SET enable_seqscan = off``, so that a sequential
  scan remains only where no index can serve the statement, and with hash and merge joins off, so
  that every join reads its inner table through an index, as lookups in a large database do.

A statement fails, named with its request path, the table and the plan line, when it:

1. reads a large table in full: SQLite ``SCAN <table>`` without an index, PostgreSQL ``Seq Scan``;
2. reads an index of a large table in full (SQLite ``SCAN <table> USING [COVERING] INDEX ix``,
   PostgreSQL an index scan without an index condition): that costs what reading the table does.
   Except in a keyset walk: a statement with ORDER BY and LIMIT whose index begins with the first
   ORDER BY column and whose plan sorts nothing (no temporary B-tree, no ``Sort`` above the scan).
   It reads rows in the order asked for and stops after LIMIT of them match, so a page costs a
   page (plus the rows its other conditions skip), not the table. PostgreSQL may also read a
   whole index to test a condition on a later column of it; that is judged on SQLite only (which
   shows it as ``SCAN ... USING INDEX``), because PostgreSQL, planning with the statistics of this
   small database, picks such scans where a large one would not (the metrics read the period's
   stage ends from ``ix_event_history`` that way, instead of ranges of ``ix_event_action``);
3. on SQLite, returns a page (the outermost query has LIMIT) by sorting what it selects (``USE
   TEMP B-TREE FOR ORDER BY`` in the outermost query): however narrow the page, every selected
   row is read and sorted first. ``SORTED_PAGES`` lists the pages that still do, each with what
   it sorts; a page not listed fails, and so does an entry no page needs any more. PostgreSQL is
   left out of this rule: it chooses between sorting and an ordered index walk by the statistics
   of this small database, which say nothing about a large one.

What the rules cannot see: an index lookup of a value most rows share reads like any other
lookup (``next_due_at IS NULL`` matches every closed appeal), so the rules do not prove that a
lookup is narrow, only that the statement has an index to use.

Large tables (``LARGE_TABLES``) grow with the appeals. Small reference tables (``institution``,
``tribunal``, ``user``: a few hundred rows at any size) may be read in full.

Request paths covered: the bearer token lookup (every API call); lodging; the officer queue, API
(``GET /api/v1/appeals``: first page, the keyset pages after it down to the appeals without a
deadline, each filter: state, benefit, handling country, overdue yes and no) and page
(``/queue/``: first and next page, each filter: state, benefit, claimant's country, overdue);
the country scoping of officers (handling, involved), a tribunal's and a mediator's queue; the
case, API and page, with its events, notices, documents (list, upload, download); actions, API
and page (admit, assign, request_tribunal, a claimant's own action); the claimant's status, API
(``X-Access-Code``) and pages (``/track``); the tribunal's referrals, API (first and next page)
and inbox ``/referrals/``; the mediator's list ``/mediations/``; the deadline sweep
(``due_ids``, ``count_due``, ``fire``, ``sweep()`` with due rows, time moved by time-machine);
the outbox (``claim``, ``deliver``, a claim finding nothing); the public metrics, API with and
without filters, breakdowns, and the ``/metrics`` page.

Left out, as whole-table by design and not on a request path: the daily audit
(``casework.scheduler.daily_job``) and ``flask audit verify``, which read every event chain; the
operator commands (``flask notices list|show|retry``, ``users``, ``tokens``, ``demo``,
``translate``, ``keys``); bulk generation (``casework/generate.py``) and ``bench/``.
"""

from __future__ import annotations

import json
import re
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from sqlalchemy import event
from sqlmodel import SQLModel, select

from casework import outbox
from casework.db import db
from casework.deadlines import sweep
from casework.models import Appeal, Event
from tests.factories import Factory

START = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)  # a Monday

LARGE_TABLES = frozenset({
    "appeal", "event", "deadline", "notice", "claimant", "personal_id", "document", "appeal_country", "api_token",
    "queue_entry",
    # The two tables whose names SQLModel spells without the underscore.
    "personalid", "apitoken",
})
SMALL_TABLES = frozenset({"institution", "tribunal", "user"})

# Pages that still sort what they select (rule 3), by a pattern of their statement, with what
# they sort. Remove an entry once its page no longer sorts: the test then insists.
SORTED_PAGES = {
    r"WHERE \(appeal\.mediator_id = \? OR appeal\.mediator_id IS NULL AND appeal\.handling_country = \?":
        "a mediator's lists (casework/web/mediator.py, queue.page for a mediator): two exact index lookups "
        "(their own mediations; the unassigned ones of their country, ix_appeal_mediation_pool) joined by OR, "
        "which no one index orders; it sorts one mediator's caseload.",
    r"^SELECT notice\.id FROM notice WHERE notice\.status = \? AND \(notice\.retry_at IS NULL":
        "the outbox claim (casework/outbox.py): sorts the notices waiting for delivery (pending, or a lapsed "
        "lease) by id, never the sent ones that make up the table.",
}

_DML = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Statement:
    path: str
    sql: str
    parameters: object


class Recorder:
    """Records the statements each request path sends to the database."""

    def __init__(self, engine):
        self.engine = engine
        self.current: str | None = None
        self.statements: list[Statement] = []
        self.paths: list[str] = []

    def _record(self, conn, cursor, statement, parameters, context, executemany):
        if _DML.match(statement):
            self.statements.append(Statement(self.current, statement, parameters[0] if executemany else parameters))

    @contextmanager
    def path(self, name: str):
        self.paths.append(name)
        self.current = name
        event.listen(self.engine, "before_cursor_execute", self._record)
        try:
            yield
        finally:
            event.remove(self.engine, "before_cursor_execute", self._record)
            self.current = None


# --- reading plans --------------------------------------------------------------------------------

_SQLITE_ROW = re.compile(r"^(SCAN|SEARCH) (\S+)(?: USING (?:COVERING )?INDEX (\S+))?")
_FROM = re.compile(r'(?:FROM|JOIN|,)\s+"?(\w+)"?(?:\s+AS\s+"?(\w+)"?)?', re.IGNORECASE)
_LIMIT = re.compile(r"\bLIMIT\b", re.IGNORECASE)
_PAGE = re.compile(r"\bLIMIT\s+\S+(\s+OFFSET\s+\S+)?\s*(FOR UPDATE.*)?$", re.IGNORECASE | re.DOTALL)


def _one_line(sql: str) -> str:
    return " ".join(sql.split())


def _tables_by_name(sql: str) -> dict[str, str]:
    """Every name a table goes by in a statement (its own, and each alias) → the table; SQLite's
    plan names the alias (``SEARCH earlier USING ...`` for ``event AS earlier``)."""
    names = {}
    for table, alias in _FROM.findall(sql):
        if table in LARGE_TABLES | SMALL_TABLES:
            names[table] = table
            if alias:
                names[alias] = table
    return names


def _orders_by_index(sql: str, table: str, index: str | None) -> bool:
    """Whether the index begins with the first column of the statement's outermost ORDER BY."""
    found = re.findall(r"ORDER BY\s+([\w.\"]+)", sql, re.IGNORECASE)
    if index is None or not found:
        return False
    first = found[-1].replace('"', "").rsplit(".", 1)[-1]
    columns = next(([c.name for c in ix.columns] for ix in SQLModel.metadata.tables[table].indexes
                    if ix.name == index), [])
    return bool(columns) and columns[0] == first


def sqlite_plan(connection, statement: Statement) -> list[tuple[int, str]]:
    """``(parent, detail)`` of each row of the plan; parent 0 is the statement's outermost query."""
    cursor = connection.cursor()
    try:
        return [(row[1], row[3]) for row in cursor.execute("EXPLAIN QUERY PLAN " + statement.sql, statement.parameters)]
    finally:
        cursor.close()


def sqlite_problems(plan: list[tuple[int, str]], sql: str) -> list[str]:
    names = _tables_by_name(sql)
    sorts = any("USE TEMP B-TREE FOR ORDER BY" == detail for _parent, detail in plan)
    problems, reads_large = [], False
    for _parent, line in plan:
        found = _SQLITE_ROW.match(line)
        table = names.get(found.group(2)) if found else None
        if table not in LARGE_TABLES:
            continue
        reads_large = True
        if found.group(1) == "SEARCH":
            continue
        if "USING" not in line:
            problems.append(f"full scan of {table}: {line}")
        elif sorts or not _LIMIT.search(sql) or not _orders_by_index(sql, table, found.group(3)):
            problems.append(f"full scan of an index of {table} (not a keyset walk): {line}")
    if reads_large and _PAGE.search(sql) and (0, "USE TEMP B-TREE FOR ORDER BY") in plan:
        problems.append("sorts everything it selects to return one page: USE TEMP B-TREE FOR ORDER BY")
    return problems


def postgres_plan(connection, statement: Statement) -> dict:
    cursor = connection.cursor()
    try:
        cursor.execute("EXPLAIN (FORMAT JSON) " + statement.sql, statement.parameters)
        raw = cursor.fetchone()[0]
    finally:
        cursor.close()
    return (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]


def _nodes(node: dict, above: tuple = ()):
    yield node, above
    for child in node.get("Plans", []):
        yield from _nodes(child, above + (node,))


def postgres_problems(plan: dict, sql: str) -> list[str]:
    problems = []
    for node, above in _nodes(plan):
        kind, table = node["Node Type"], node.get("Relation Name")
        if table not in LARGE_TABLES:
            continue
        if kind == "Seq Scan":
            problems.append(f"full scan of {table}: Seq Scan on {table}")
        elif kind in ("Index Scan", "Index Only Scan", "Bitmap Index Scan") and "Index Cond" not in node:
            keyset = (any(n["Node Type"] == "Limit" for n in above)
                      and not any(n["Node Type"] in ("Sort", "Incremental Sort") for n in above)
                      and _orders_by_index(sql, table, node.get("Index Name")))
            if not keyset:
                problems.append(f"full scan of an index of {table} (not a keyset walk): "
                                f"{kind} using {node.get('Index Name')}")
    return problems


def _pg_lines(plan: dict) -> list[str]:
    lines = []
    for node, above in _nodes(plan):
        text = "  " * len(above) + node["Node Type"]
        for key, label in (("Relation Name", "on"), ("Index Name", "using"), ("Index Cond", "cond"),
                           ("Sort Key", "by")):
            if key in node:
                text += f" {label} {node[key]}"
        lines.append(text)
    return lines


def check(engine, statements: list[Statement]) -> list[str]:
    """The failures, each naming the request path, the problem with its table and plan line, the
    statement and its whole plan."""
    failures, excused, seen = [], set(), set()
    postgres = engine.dialect.name == "postgresql"
    raw = engine.raw_connection()
    try:
        if postgres:
            cursor = raw.cursor()
            cursor.execute("SET enable_seqscan = off")
            cursor.execute("SET enable_hashjoin = off")
            cursor.execute("SET enable_mergejoin = off")
            cursor.close()
        for statement in statements:
            sql = _one_line(statement.sql)
            if (statement.path, sql) in seen:
                continue
            seen.add((statement.path, sql))
            if postgres:
                plan = postgres_plan(raw, statement)
                lines, problems = _pg_lines(plan), postgres_problems(plan, statement.sql)
            else:
                plan = sqlite_plan(raw, statement)
                lines, problems = [detail for _parent, detail in plan], sqlite_problems(plan, statement.sql)
            for problem in problems:
                if problem.startswith("sorts"):
                    known = [pattern for pattern in SORTED_PAGES if re.search(pattern, sql)]
                    if known:
                        excused.update(known)
                        continue
                failures.append(f"{statement.path}: {problem}\n    statement: {sql}\n    plan:\n      "
                                + "\n      ".join(lines))
    finally:
        raw.rollback()
        raw.close()
    if not postgres:
        failures += [f"SORTED_PAGES lists a page that no longer sorts, remove it: {pattern}"
                     for pattern in SORTED_PAGES if pattern not in excused]
    return failures


# --- the request paths ----------------------------------------------------------------------------

@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def _lodged_in(factory: Factory, country: str, **overrides) -> dict:
    """An appeal decided and handled by ``country``'s institution, with Germany involved (so the
    factory's German officer reads it)."""
    return factory.lodge(lodged_at=None, contested_decision__institution_country=country,
                         contested_decision__institution_name=f"Institution {country}",
                         contested_decision__notified_on=None,
                         contested_decision__decision_date=(START - timedelta(days=3)).date().isoformat(),
                         involved_countries=["DE"], **overrides)


def _build(factory: Factory) -> dict:
    """Appeals in every state, in three handling countries, with a mediator, a tribunal referral,
    a document and their notices."""
    appeals = {state: factory.appeal(state) for state in
               ("lodged", "under_review", "awaiting_information", "awaiting_claimant", "in_mediation", "escalated",
                "before_tribunal", "closed")}
    french = _lodged_in(factory, "FR", contested_decision__benefit="invalidity", claimant__residence_country="FR")
    factory.act(french["reference"], "officer", {"action": "admit"}, country="FR")
    _lodged_in(factory, "PL", claimant__residence_country="PL")
    factory.upload(appeals["under_review"]["reference"])
    return appeals


def _visit(app, client, factory: Factory, clock, recorder: Recorder) -> None:
    appeals = _build(factory)
    officer, mediator = factory.staff("officer", "DE"), factory.staff("mediator", "DE")
    tribunal = factory.staff("tribunal")
    reference = appeals["under_review"]["reference"]
    path = recorder.path

    # The API: lodging, the queue and its filters, the case, actions.
    with path("POST /api/v1/appeals"):
        lodged = factory.lodge(lodged_at=None, contested_decision__notified_on=None,
                               contested_decision__decision_date=(START - timedelta(days=2)).date().isoformat())
    with path("GET /api/v1/appeals (first page)"):
        after = client.get("/api/v1/appeals?limit=2", headers=officer.headers).get_json()["next"]
    with path("GET /api/v1/appeals?after= (next pages, to those without a deadline)"):
        while after:
            after = client.get(f"/api/v1/appeals?limit=2&after={after}", headers=officer.headers).get_json()["next"]
    for query in ("state=under_review", "benefit=invalidity", "handling_country=FR", "overdue=true", "overdue=false"):
        with path(f"GET /api/v1/appeals?{query}"):
            assert client.get(f"/api/v1/appeals?{query}", headers=officer.headers).status_code == 200
    for name, staff in (("officer of France", factory.staff("officer", "FR")),
                        ("officer of Poland, involved", factory.staff("officer", "PL")),
                        ("tribunal", tribunal), ("mediator", mediator)):
        with path(f"GET /api/v1/appeals ({name})"):
            assert client.get("/api/v1/appeals", headers=staff.headers).status_code == 200
    for suffix in ("", "/events", "/notices"):
        with path(f"GET /api/v1/appeals/<ref>{suffix}"):
            assert client.get(f"/api/v1/appeals/{reference}{suffix}", headers=officer.headers).status_code == 200
    with path("POST /api/v1/appeals/<ref>/documents"):
        document = factory.upload(reference)
    with path("GET /api/v1/appeals/<ref>/documents/<id>"):
        assert client.get(f"/api/v1/appeals/{reference}/documents/{document['id']}",
                          headers=officer.headers).status_code == 200
    with path("POST /api/v1/appeals/<ref>/actions (admit)"):
        factory.act(lodged["reference"], "officer", {"action": "admit"})
    with path("POST /api/v1/appeals/<ref>/actions (assign)"):
        factory.act(appeals["in_mediation"]["reference"], "officer", {"action": "assign", "user": mediator.email})
    with path("POST /api/v1/appeals/<ref>/actions (request_tribunal)"):
        factory.act(appeals["awaiting_claimant"]["reference"], "officer", {"action": "request_tribunal"})

    # The insurance history and the calculator.
    period = {"country": "DE", "starts_on": "1980-01-01", "ends_on": "1989-12-31", "kind": "employment"}
    with path("POST /api/v1/appeals/<ref>/periods"):
        assert client.post(f"/api/v1/appeals/{reference}/periods", json=period,
                           headers=officer.headers).status_code == 201
    with path("POST /api/v1/appeals/<ref>/calculations"):
        assert client.post(f"/api/v1/appeals/{reference}/calculations", headers=officer.headers, json={
            "amounts": {"DE": {"theoretical": "1000", "independent": "900"}}}).status_code == 201
    for suffix in ("/periods", "/calculations", "/calculations/1"):
        with path(f"GET /api/v1/appeals/<ref>{suffix}"):
            assert client.get(f"/api/v1/appeals/{reference}{suffix}", headers=officer.headers).status_code == 200

    # The claimant.
    code = {"X-Access-Code": appeals["under_review"]["access_code"]}
    with path("POST /api/v1/status/<ref>/periods"):
        assert client.post(f"/api/v1/status/{reference}/periods", json={**period, "country": "PL"},
                           headers=code).status_code == 201
    for suffix in ("/periods", "/calculation"):
        with path(f"GET /api/v1/status/<ref>{suffix}"):
            assert client.get(f"/api/v1/status/{reference}{suffix}", headers=code).status_code == 200
    with path("GET /api/v1/status/<ref>"):
        assert client.get(f"/api/v1/status/{reference}", headers=code).status_code == 200
    closing = appeals["lodged"]
    with path("POST /api/v1/status/<ref>/actions (withdraw)"):
        version = factory.get(closing["reference"])["version"]
        assert client.post(f"/api/v1/status/{closing['reference']}/actions",
                           json={"action": "withdraw", "version": version},
                           headers={"X-Access-Code": closing["access_code"]}).status_code == 200
    claimant = app.test_client()
    with path("POST /track"):
        opened = claimant.post("/track", data={"reference": reference, "access_code": code["X-Access-Code"]})
        assert opened.status_code == 303
    with path("GET /track/<ref>"):
        assert claimant.get(f"/track/{reference}").status_code == 200

    # The tribunal.
    with path("GET /api/v1/tribunal/referrals (first page)"):
        after = client.get("/api/v1/tribunal/referrals?limit=1", headers=tribunal.headers).get_json()["next"]
    assert after
    with path("GET /api/v1/tribunal/referrals?after= (next page)"):
        next_page = client.get(f"/api/v1/tribunal/referrals?limit=1&after={after}", headers=tribunal.headers)
        assert next_page.status_code == 200

    # The staff pages.
    staff = app.test_client()
    factory.sign_in("officer", "DE", client=staff)
    with path("GET /queue/"):
        page = staff.get("/queue/").get_data(as_text=True)
    for query in ("state=under_review", "benefit=invalidity", "country=FR", "overdue=yes", "overdue=no"):
        with path(f"GET /queue/?{query}"):
            assert staff.get(f"/queue/?{query}").status_code == 200
    with path("GET /appeals/<ref>"):
        assert staff.get(f"/appeals/{reference}").status_code == 200
    for suffix in ("/calculation", "/calculations/1"):
        with path(f"GET /appeals/<ref>{suffix}"):
            assert staff.get(f"/appeals/{reference}{suffix}").status_code == 200
    with path("POST /appeals/<ref>/actions/<action> (request_information)"):
        version = factory.get(reference)["version"]
        assert staff.post(f"/appeals/{reference}/actions/request_information",
                          data={"version": version, "from": "institution", "items": "ZUS records"}).status_code == 303
    mediator_page = app.test_client()
    factory.sign_in("mediator", "DE", client=mediator_page)
    with path("GET /mediations/"):
        assert mediator_page.get("/mediations/").status_code == 200
    inbox = app.test_client()
    factory.sign_in("tribunal", None, client=inbox)
    with path("GET /referrals/"):
        assert inbox.get("/referrals/").status_code == 200

    # A later page of the officer's queue, by its own Next link.
    found = re.search(r'href="(/queue/\?[^"]*after=[^"]+)"', page)
    with path("GET /queue/?after= (next page)"):
        assert staff.get(found.group(1).replace("&amp;", "&")).status_code == 200

    # The background work, once time has moved on: deadlines fall due, notices wait.
    clock.shift(timedelta(days=120))
    with app.app_context():
        with path("sweep: due_ids, count_due"):
            due = sweep.due_ids(10)
            assert sweep.count_due() >= len(due) > 0
        with path("sweep: fire"):
            assert sweep.fire(due[0])
        with path("sweep()"):
            assert sweep.sweep().fired > 0
        with path("outbox: claim"):
            claimed = outbox.claim(5)
        assert claimed
        with path("outbox: deliver"):
            assert outbox.deliver().sent > 0
        with path("outbox: claim, nothing left"):
            assert outbox.claim(5) == []

    # The public figures, over the period in which all of the above happened.
    for query in ("", "?benefit=old_age_pension&handling_country=DE&residence_country=ES",
                  "?from=2026-01-01&to=2027-12-31&benefit=invalidity"):
        with path(f"GET /api/v1/metrics{query}"):
            assert client.get(f"/api/v1/metrics{query}").status_code == 200
    for by in ("month", "country_pair"):
        with path(f"GET /api/v1/metrics/breakdown?by={by}"):
            assert client.get(f"/api/v1/metrics/breakdown?by={by}").status_code == 200
    with path("GET /metrics"):
        assert client.get("/metrics").status_code == 200


def test_every_request_path_is_served_from_indexes(app, client, factory, clock, monkeypatch):
    monkeypatch.setattr("casework.web.officer.PAGE_SIZE", 3)  # so that the queue page has a next one
    engine = app.extensions["casework.db"]
    recorder = Recorder(engine)
    _visit(app, client, factory, clock, recorder)
    silent = [name for name in recorder.paths if not any(s.path == name for s in recorder.statements)]
    assert not silent, f"request paths that ran no statement: {silent}"
    failures = check(engine, recorder.statements)
    assert not failures, "\n\n".join(failures)


def test_the_check_tells_full_scans_from_keyset_walks(app):
    """The rules on statements whose plans are known, so that the test above cannot pass by
    reading plans wrongly."""
    engine = app.extensions["casework.db"]
    recorder = Recorder(engine)
    with app.app_context():
        queries = {
            "full table": select(Appeal.id).where(Appeal.grounds == "none"),
            "whole index, no LIMIT": select(Appeal.id).order_by(Appeal.lodged_at),
            "keyset walk": select(Appeal.id).order_by(Appeal.next_due_at, Appeal.id).limit(5),
            "lookup": select(Event.id).where(Event.appeal_id == 1).order_by(Event.seq),
            "sorted page": select(Event.id).where(Event.appeal_id == 1).order_by(Event.recorded_at).limit(5),
        }
        for name, query in queries.items():
            with recorder.path(name):
                db.session.exec(query).all()
    failures = check(engine, recorder.statements)
    failed = {failure.split(":", 1)[0]: failure for failure in failures if not failure.startswith("SORTED_PAGES")}
    assert "full scan of appeal" in failed["full table"]
    assert "full scan of an index of appeal" in failed["whole index, no LIMIT"]
    assert "keyset walk" not in failed and "lookup" not in failed
    if engine.dialect.name == "sqlite":
        assert "sorts everything it selects" in failed["sorted page"]
