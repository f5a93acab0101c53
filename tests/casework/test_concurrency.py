"""Concurrency, with real separate processes on one database (DESIGN §3 and §7).

Three claims are tested the way production runs them, several OS processes each with its own
application, engine and connections:

1. many API clients acting on the same appeals at once: each version has exactly one winner,
   every loser gets a clean 409, no update is lost and every history still verifies;
2. two schedulers sweeping the same thousands of due deadlines at the same moment: every row
   fires exactly once between them;
3. a scheduler killed with SIGKILL half-way through a sweep: a new one finishes the rest, and
   nothing fires twice.

The PostgreSQL variants run only when ``CASEWORK_TEST_DATABASE_URL`` names a PostgreSQL database
(whose ``public`` schema each test drops and recreates: give these tests a database of their
own). Each also has a smaller SQLite variant on a file, where writers are serialised by SQLite's
write lock (``BEGIN IMMEDIATE``), which always runs.

Processes are forked (``multiprocessing``'s "fork" context) after the parent has closed its
connections; each child builds its own app with ``casework.create_app`` on the same database
URL and secret key. Children start together behind a ``multiprocessing.Barrier``. Time is frozen
with ``time_machine`` in each child (the moment is passed to it), never slept on: deadlines are
generated at ``NOW`` and swept at ``SWEEP_AT``, 120 days later.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
import traceback
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from queue import Empty

import pytest
import time_machine
from sqlalchemy import text
from sqlmodel import func, select

from casework import create_app, generate
from casework.db import db, make_engine
from casework.deadlines.schedule import FLAG_KINDS, REMINDER, TIMER_ACTION
from casework.deadlines.sweep import count_due, due_ids, sweep
from casework.events import verify_chain
from casework.models import Appeal, Deadline, Event, Notice
from tests.factories import Factory
from workflows import appeal as workflow

PG_URL = os.environ.get("CASEWORK_TEST_DATABASE_URL", "")
SECRET_KEY = "concurrency-test-secret-key"
ACCESS_CODE = "CONC-URRE-NCYT-ESTC-ODE2"
NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)  # when the appeals are generated
SWEEP_AT = NOW + timedelta(days=120)  # when the schedulers run: every open stage's limit has passed
CHILD_TIMEOUT = 300  # seconds a child may take before the test gives up on it (a hang, not slowness)

pytestmark = pytest.mark.slow

if hasattr(os, "fork"):
    FORK = multiprocessing.get_context("fork")
else:  # pragma: no cover - Casework's servers and CI are Linux
    FORK = None


# --- the database and the processes -------------------------------------------------------------

@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    """``(backend, url)``: a SQLite file, or the PostgreSQL test database emptied (schema dropped)."""
    if FORK is None:
        pytest.skip("needs os.fork to start the worker processes")
    if request.param == "sqlite":
        return "sqlite", f"sqlite:///{tmp_path / 'casework.db'}"
    if not PG_URL.startswith("postgresql"):
        pytest.skip("CASEWORK_TEST_DATABASE_URL is not set to a PostgreSQL database (postgresql://...); "
                    "the multi-process PostgreSQL variant needs one of its own (its schema is dropped)")
    # Commits need not wait for the server's disk here (thousands of one-row transactions on a
    # shared machine): what other transactions see, lock and skip is the same either way, and a
    # client killed with SIGKILL loses nothing it had committed; only a server crash could.
    url = PG_URL + ("&" if "?" in PG_URL else "?") + "options=-csynchronous_commit%3Doff"
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return "postgresql", url


def _config(url: str, instance_path: str) -> dict:
    """The settings of every process of one test (as tests/conftest.py builds them)."""
    return {
        "TESTING": True,
        "SECRET_KEY": SECRET_KEY,
        "DATABASE_URL": url,
        "INSTANCE_PATH": instance_path,
        "WTF_CSRF_ENABLED": False,
    }


def _close(app) -> None:
    """Close the app's pooled connections: done before forking, so no child shares a socket."""
    app.extensions["casework.db"].dispose()


def _child(target, queue, *args) -> None:
    """Run ``target(*args)`` in a child; its result, or the traceback of its failure, goes to
    ``queue``. A failing child breaks the barrier (its first argument, if any) so that the others
    stop waiting for it."""
    try:
        queue.put(("ok", target(*args)))
    except BaseException:  # noqa: BLE001 - reported: the parent fails the test with this traceback
        if args and hasattr(args[0], "abort"):
            args[0].abort()
        queue.put(("error", traceback.format_exc()))


def _start(target, *args):
    """Start ``target(*args)`` in a forked process; returns (process, queue for its one result)."""
    queue = FORK.Queue()
    process = FORK.Process(target=_child, args=(target, queue, *args), daemon=True)
    process.start()
    return process, queue


def _outcome(process, queue, timeout: float = CHILD_TIMEOUT) -> tuple[str, object]:
    """``("ok", result)`` or ``("error", traceback)`` of a child, once it has exited."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            outcome = queue.get(timeout=0.2)
            break
        except Empty:
            if not process.is_alive() and queue.empty():
                return "error", f"worker {process.pid} died without a result (exit code {process.exitcode})"
            if time.monotonic() > deadline:
                process.kill()
                return "error", f"worker {process.pid} returned nothing within {timeout}s"
    process.join(timeout)
    if outcome[0] == "ok" and process.exitcode != 0:
        return "error", f"worker {process.pid} exited with {process.exitcode}"
    return outcome


def _result(process, queue):
    """The child's result, or the test fails with its traceback."""
    status, value = _outcome(process, queue)
    assert status == "ok", f"worker {process.pid} failed:\n{value}"
    return value


def _run_together(target, argument_lists: list[tuple]) -> list:
    """Run ``target`` in one process per argument tuple, all released together by a barrier;
    each target receives the barrier as its first argument. Returns their results in order; if
    any failed, fails with its traceback (not with the broken barrier the others then saw)."""
    barrier = FORK.Barrier(len(argument_lists))
    started = [_start(target, barrier, *arguments) for arguments in argument_lists]
    outcomes = [_outcome(process, queue) for process, queue in started]
    errors = [value for status, value in outcomes if status != "ok"]
    causes = [error for error in errors if "BrokenBarrierError" not in error] or errors
    assert not errors, f"{len(errors)} of {len(outcomes)} workers failed; first cause:\n{causes[0]}"
    return [value for _status, value in outcomes]


# --- 1. conflicting actions from many clients ----------------------------------------------------

# (clients, appeals, rounds). SQLite queues its writers on a file lock that it polls: slow with
# many of them, so its variant is smaller.
ACTIONS_SIZE = {"postgresql": (8, 20, 3), "sqlite": (4, 6, 2)}
LANGUAGES = ("pl", "de", "fr", "es", "en")

REASON = "Checked against the certified records."
# What an officer may try in each state; each client picks a different one, so clients that read
# the same version send different, conflicting actions. A closed appeal refuses them all.
OPTIONS = {
    "lodged": [{"action": "admit"}, {"action": "declare_inadmissible", "reason": REASON}, {"action": "withdraw"},
               {"action": "admit"}],
    "under_review": [{"action": "decide_review", "outcome": "refused", "reasons": REASON},
                     {"action": "request_information", "from": "claimant", "items": ["Payslips 1990-1995"]},
                     {"action": "decide_review", "outcome": "granted", "reasons": REASON},
                     {"action": "decide_review", "outcome": "refused", "reasons": REASON},
                     {"action": "withdraw"}],
    "awaiting_information": [{"action": "receive_information"}, {"action": "withdraw"},
                             {"action": "receive_information"}],
    "awaiting_claimant": [{"action": "request_mediation"}, {"action": "request_tribunal"},
                          {"action": "accept_decision"}],
    "in_mediation": [{"action": "end_mediation", "reason": REASON}, {"action": "settle", "terms": REASON}],
    "escalated": [{"action": "withdraw"}],
    "before_tribunal": [{"action": "withdraw"}],
    "closed": [{"action": "withdraw"}, {"action": "admit"}, {"action": "accept_decision"}],
}


def _lodging(index: int, decided: str) -> dict:
    """How the ``index``-th appeal's lodging differs from ``lodge_body``'s (its twin's is the same):
    lodged now, on a decision of ``decided``, by claimants of several languages."""
    return {"lodged_at": None, "contested_decision__notified_on": None,
            "contested_decision__decision_date": decided,
            "claimant__preferred_language": LANGUAGES[index % len(LANGUAGES)],
            "claimant__name": f"Claimant {index}"}


def _client(barrier, config: dict, token: str, references: list[str], rounds: int, number: int) -> list[tuple]:
    """One API client (the ``number``-th): for each round and appeal, read the appeal and send an
    action with the version it read. Returns ``(reference, version sent, body, status, error code, version returned)``."""
    app = create_app(config)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    log = []
    for round_ in range(rounds):
        for reference in references:
            barrier.wait(CHILD_TIMEOUT)  # every client reads and acts on this appeal at the same moment
            seen = client.get(f"/api/v1/appeals/{reference}", headers=headers)
            assert seen.status_code == 200, seen.get_data(as_text=True)
            appeal = seen.get_json()
            options = OPTIONS[appeal["state"]]
            body = {**options[(number + round_) % len(options)], "version": appeal["version"]}
            response = client.post(f"/api/v1/appeals/{reference}/actions", json=body, headers=headers)
            answer = response.get_json(silent=True) or {}
            log.append((reference, appeal["version"], body, response.status_code,
                        (answer.get("error") or {}).get("code"), answer.get("version")))
    _close(app)
    return log


def _transition_exists(state: str, action: str) -> bool:
    return any(row["trigger"] == action and state in ([row["source"]] if isinstance(row["source"], str) else row["source"])
               for row in workflow.TRANSITIONS)


def _history(reference: str):
    appeal = db.session.exec(select(Appeal).where(Appeal.reference == reference)).one()
    events = db.session.exec(select(Event).where(Event.appeal_id == appeal.id).order_by(Event.seq)).all()
    notices = db.session.exec(select(Notice).where(Notice.appeal_id == appeal.id)).all()
    deadlines = db.session.exec(select(Deadline).where(Deadline.appeal_id == appeal.id)).all()
    return appeal, events, notices, deadlines


def test_conflicting_actions_from_many_clients(database, tmp_path):
    """8 client processes act at once on the same 20 appeals, 3 rounds (SQLite: 4 on 6, 2 rounds).

    For each appeal in turn, all start together (a barrier); each reads the appeal and sends a
    different action than the others with the version it read
    (admit / declare_inadmissible / withdraw on a lodged appeal, decide_review / request_information
    under review, ...). Then, per appeal:

    * every answer is 200 or a 409 ``version_conflict`` / ``invalid_transition``, never a 500
      (with TESTING on, a server error is raised in the client process and fails the test with
      its traceback);
    * the winners sent the versions 1, 2, ..., final-1, each exactly once, and each got the next
      version back: one winner per version;
    * the events after lodging are the winners' actions in that order (no lost update, no step of
      a loser recorded); the final version is 1 + their number, seqs are consecutive and
      ``verify_chain`` holds up to the appeal's head;
    * a ``version_conflict`` loser sent a version that a winner had used; an ``invalid_transition``
      loser sent an action the state at its version does not allow;
    * the notices and deadline rows are exactly those of a twin appeal (same lodging) to which
      the winning actions are replayed one after the other: no notice of a loser, none missing.
    """
    backend, url = database
    config = _config(url, str(tmp_path / "instance"))
    app = create_app(config)
    factory = Factory(app, app.test_client())
    officer = factory.staff("officer", "DE")
    clients, appeals, rounds = ACTIONS_SIZE[backend]
    decided = (datetime.now(UTC).date() - timedelta(days=3)).isoformat()
    references = [factory.lodge(**_lodging(i, decided))["reference"] for i in range(appeals)]
    _close(app)

    started = time.monotonic()
    logs = _run_together(_client, [(config, officer.token, references, rounds, n) for n in range(clients)])
    elapsed = time.monotonic() - started
    answers = [entry for log in logs for entry in log]
    assert len(answers) == clients * appeals * rounds

    statuses = Counter((status, code) for _ref, _v, _body, status, code, _rv in answers)
    assert set(statuses) <= {(200, None), (409, "version_conflict"), (409, "invalid_transition")}, statuses
    assert statuses[(409, "version_conflict")] > 0, f"no two clients ever collided: {statuses}"

    by_reference = defaultdict(list)
    for entry in answers:
        by_reference[entry[0]].append(entry)
    with app.app_context():
        for index, reference in enumerate(references):
            appeal, events, notices, deadlines = _history(reference)
            winners = sorted((e for e in by_reference[reference] if e[3] == 200), key=lambda e: e[1])
            assert [w[1] for w in winners] == list(range(1, appeal.version)), (reference, winners)
            assert all(w[5] == w[1] + 1 for w in winners)
            assert appeal.version == 1 + (len(events) - 1) == appeal.last_event_seq  # lodging is event 1
            assert [e.seq for e in events] == list(range(1, len(events) + 1))
            assert [e.action for e in events[1:]] == [w[2]["action"] for w in winners], reference
            assert verify_chain(appeal.reference, events, head=appeal.last_event_hash) is None, reference
            state_at = {e.seq: e.to_state for e in events}  # version v is the state after event v
            for _ref, version, body, status, code, _rv in by_reference[reference]:
                if code == "version_conflict":
                    assert version < appeal.version, (reference, version, body)
                elif code == "invalid_transition":
                    assert not _transition_exists(state_at[version], body["action"]), (reference, version, body)
            assert {n.event_seq for n in notices} <= {e.seq for e in events}
            assert all(n.kind == events[n.event_seq - 1].action for n in notices)

            # The twin: the same lodging and the winners' actions, one at a time.
            twin = factory.lodge(**_lodging(index, decided))["reference"]
            for winner in winners:
                factory.act(twin, "officer", {k: v for k, v in winner[2].items() if k != "version"})
            twin_appeal, twin_events, twin_notices, twin_deadlines = _history(twin)
            assert (twin_appeal.state, twin_appeal.outcome, twin_appeal.version) == (
                appeal.state, appeal.outcome, appeal.version)
            assert [e.action for e in twin_events] == [e.action for e in events]

            def notice_key(n):
                return n.event_seq, n.kind, n.recipient_role, n.language

            assert Counter(map(notice_key, notices)) == Counter(map(notice_key, twin_notices)), reference
            assert Counter((d.kind, d.status) for d in deadlines) == Counter(
                (d.kind, d.status) for d in twin_deadlines), reference
    _close(app)
    print(f"\n[{backend}] {clients} clients, {len(answers)} actions in {elapsed:.1f}s: {dict(statuses)}")


# --- 2 and 3. the deadline sweep -------------------------------------------------------------------

# Enough appeals for the due rows wanted (about 1.8 due rows per generated appeal at SWEEP_AT).
SWEEP_ROWS = {"postgresql": 5_000, "sqlite": 500}
KILL_ROWS = {"postgresql": 600, "sqlite": 400}


def _generate(app, rows_wanted: int, seed: int) -> None:
    """Recent, mostly open appeals generated at ``NOW``, until at least ``rows_wanted`` deadline
    rows are due at ``SWEEP_AT``."""
    appeals = rows_wanted * 10 // 17
    while True:
        with time_machine.travel(NOW, tick=False), app.app_context():
            generate.generate(appeals, seed=seed, access_code=ACCESS_CODE, years=20 / 365, processes=1)
        with time_machine.travel(SWEEP_AT, tick=False), app.app_context():
            if count_due() >= rows_wanted:
                return
        seed, appeals = seed + 1, max(rows_wanted // 10, 50)


class Snapshot:
    """What the database holds before a sweep, to compare with what it holds after."""

    def __init__(self, app):
        with time_machine.travel(SWEEP_AT, tick=False), app.app_context():
            session = db.session
            self.due = set(due_ids(10**9))
            assert len(self.due) == count_due()
            self.paused = set(session.exec(select(Deadline.id).where(Deadline.status == "paused")))
            self.appeals = {a.id: (a.version, a.last_event_seq)
                            for a in session.exec(select(Appeal).execution_options(yield_per=5000))}


def _sweeper(barrier, config: dict, moment: datetime, batch_size: int | None) -> dict:
    """One scheduler process: sweep at the frozen ``moment``; returns its SweepResult and when it ran."""
    app = create_app(config)
    with time_machine.travel(moment, tick=False), app.app_context():
        if barrier is not None:
            barrier.wait(CHILD_TIMEOUT)
        began = time.monotonic()  # system-wide clock (not frozen): comparable between processes
        result = sweep(batch_size=batch_size)
        ended = time.monotonic()
    _close(app)
    return {"fired": result.fired, "failed": result.failed, "skipped": result.skipped,
            "errors": result.errors[:5], "began": began, "ended": ended}


def _fired_count(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(
            select(func.count()).select_from(Deadline).where(Deadline.fired_at == SWEEP_AT)).scalar_one()


def _wait_until_its_session_ended(engine) -> None:
    """Wait until PostgreSQL has ended the killed sweeper's session (it notices the closed socket
    within moments and rolls back its open transaction, releasing its row locks); until then a new
    sweeper would skip the rows it held, leaving them to the next sweep, as designed. SQLite's lock
    went with the process."""
    if engine.dialect.name != "postgresql":
        return
    deadline = time.monotonic() + 30
    query = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
    while True:
        with engine.connect() as connection:
            if connection.execute(query).scalar_one() == 0:
                return
        assert time.monotonic() < deadline, "the killed sweeper's database session is still open after 30s"
        time.sleep(0.05)


def _check_fired_exactly_once(app, before: Snapshot, fired_by_sweepers: int) -> None:
    """Every row due at the start fired once, in all ``fired_by_sweepers`` (the sum the sweepers
    report), and nothing was done twice:

    * each formerly due row has ``fired_at`` = the sweep's moment and is no longer pending; the
      only other rows fired are review clocks that were paused at the start (an information
      timeout resumed them, and they were due at once); the sweepers' sum is exactly that count;
    * each timer row fired made exactly one event of its timer action (``review_timeout``, ...),
      none twice for one appeal; each appeal's seq moved by its timer rows, its version by those
      plus its overdue flags; no reminder or overdue notice was issued twice to one recipient;
    * no row is left pending and due, no row recorded a failure, and every chain verifies.
    """
    with time_machine.travel(SWEEP_AT, tick=False), app.app_context():
        session = db.session
        fired = session.exec(select(Deadline).where(Deadline.fired_at == SWEEP_AT)).all()
        fired_ids = {row.id for row in fired}
        assert before.due <= fired_ids, f"{len(before.due - fired_ids)} due rows never fired"
        assert fired_ids - before.due <= before.paused, "a row fired that was neither due nor paused"
        assert fired_by_sweepers == len(fired), (fired_by_sweepers, len(fired))
        assert not [row.id for row in fired if row.status == "pending"]
        assert count_due() == 0
        assert session.exec(select(func.count()).select_from(Deadline).where(Deadline.attempts > 0)).one() == 0

        timer_rows, flag_rows, reminder_rows = Counter(), Counter(), Counter()
        for row in fired:
            if row.kind in TIMER_ACTION:
                timer_rows[(row.appeal_id, TIMER_ACTION[row.kind])] += 1
            elif row.kind in FLAG_KINDS:
                flag_rows[row.appeal_id] += 1
            elif row.kind == REMINDER:
                reminder_rows[row.appeal_id] += 1
        assert max(timer_rows.values(), default=1) == 1  # one timer of a kind per appeal per sweep
        timer_events = Counter(session.exec(
            select(Event.appeal_id, Event.action).where(Event.recorded_at == SWEEP_AT)).all())
        assert timer_events == timer_rows, "timer events do not match the timer rows fired"
        assert sum(timer_events.values()) == sum(timer_rows.values())

        after = {a.id: (a.version, a.last_event_seq) for a in session.exec(select(Appeal))}
        assert after.keys() == before.appeals.keys()
        for appeal_id, (version, seq) in after.items():
            old_version, old_seq = before.appeals[appeal_id]
            timers = sum(n for (a, _action), n in timer_rows.items() if a == appeal_id)
            assert seq - old_seq == timers, appeal_id
            assert version - old_version == timers + flag_rows[appeal_id], appeal_id

        sent = Counter(session.exec(
            select(Notice.appeal_id, Notice.kind, Notice.recipient_role, Notice.recipient)
            .where(Notice.created_at == SWEEP_AT, Notice.kind.in_(("reminder", "overdue")))).all())
        for (appeal_id, kind, _role, _to), count in sent.items():
            assert count <= (reminder_rows if kind == "reminder" else flag_rows)[appeal_id], (appeal_id, kind)

        events = defaultdict(list)
        for event in session.exec(select(Event).order_by(Event.appeal_id, Event.seq).execution_options(yield_per=5000)):
            events[event.appeal_id].append(event)
        for appeal in session.exec(select(Appeal)):
            assert verify_chain(appeal.reference, events[appeal.id], head=appeal.last_event_hash) is None, appeal.reference


def test_two_schedulers_sweep_the_same_due_deadlines(database, tmp_path):
    """Two scheduler processes sweep the same due deadlines at the same frozen moment.

    On PostgreSQL at least 5,000 rows are due (reminders, review timeouts, admissibility and
    forwarding flags, information timeouts, ...), generated at ``NOW`` and swept 120 days
    later; the sweepers start together behind a barrier, with small batches so that they walk the
    same rows side by side (``FOR UPDATE SKIP LOCKED``). On SQLite (500 rows) the write lock
    serialises them. Both must finish without a failure, their ``fired`` sum to exactly the rows
    that fired, and each row fires once (see ``_check_fired_exactly_once``)."""
    backend, url = database
    config = _config(url, str(tmp_path / "instance"))
    app = create_app(config)
    _generate(app, SWEEP_ROWS[backend], seed=3)
    before = Snapshot(app)
    assert len(before.due) >= SWEEP_ROWS[backend]
    _close(app)

    first, second = _run_together(_sweeper, [(config, SWEEP_AT, 20), (config, SWEEP_AT, 20)])
    split = f"{backend}: {len(before.due)} due; fired {first['fired']} + {second['fired']}, " \
            f"skipped {first['skipped']} + {second['skipped']}"
    assert first["failed"] == second["failed"] == 0, (first["errors"], second["errors"])
    overlap = min(first["ended"], second["ended"]) - max(first["began"], second["began"])
    print(f"\n[{split}; ran side by side for {overlap:.1f}s of "
          f"{max(first['ended'], second['ended']) - min(first['began'], second['began']):.1f}s]")
    _check_fired_exactly_once(app, before, first["fired"] + second["fired"])
    if backend == "postgresql":
        # Loosely: with thousands of rows both get some. One firing all would mean the second
        # started after the first had finished (not a failure of exactly-once, but no test of it).
        assert overlap > 0, f"the sweepers did not run at the same time ({split})"
    _close(app)


def test_a_scheduler_killed_half_way_is_finished_by_the_next(database, tmp_path):
    """A scheduler process is killed with SIGKILL half-way through a sweep; a new one finishes.

    The parent polls the database (the count of rows fired at the sweep's moment) until at
    least a quarter of the due rows have fired, then kills the sweeper, possibly in the middle of
    a row's transaction (which the database rolls back). Some rows must still be due. A new
    scheduler process then sweeps: it fires exactly the rows the first left, and in all every
    due row fired once, with no duplicate event or notice and every chain intact."""
    backend, url = database
    config = _config(url, str(tmp_path / "instance"))
    app = create_app(config)
    _generate(app, KILL_ROWS[backend], seed=5)
    before = Snapshot(app)
    engine = app.extensions["casework.db"]
    _close(app)

    process, queue = _start(_sweeper, None, config, SWEEP_AT, 10)
    deadline = time.monotonic() + CHILD_TIMEOUT
    fired_before_kill = 0
    while fired_before_kill < len(before.due) // 4:
        assert process.is_alive(), f"the sweeper ended before it was killed: {queue.get(timeout=5)}"
        assert time.monotonic() < deadline, f"only {fired_before_kill} rows fired in {CHILD_TIMEOUT}s"
        time.sleep(0.01)
        fired_before_kill = _fired_count(engine)
    os.kill(process.pid, signal.SIGKILL)
    process.join(30)
    assert process.exitcode == -signal.SIGKILL
    _wait_until_its_session_ended(engine)

    left_by_first = _fired_count(engine)  # what the killed sweeper committed, all told
    with time_machine.travel(SWEEP_AT, tick=False), app.app_context():
        still_due = count_due()
    engine.dispose()
    assert 0 < still_due, "the first sweeper finished before it was killed: nothing was left to test"
    assert left_by_first < len(before.due)

    restarted = _result(*_start(_sweeper, None, config, SWEEP_AT, 10))
    assert restarted["failed"] == 0, restarted["errors"]
    assert restarted["fired"] > 0
    print(f"\n[{backend}: {len(before.due)} due; {left_by_first} fired before SIGKILL "
          f"(polled {fired_before_kill}), {restarted['fired']} by the restarted sweeper]")
    _check_fired_exactly_once(app, before, left_by_first + restarted["fired"])
    _close(app)
