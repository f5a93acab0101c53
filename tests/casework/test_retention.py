"""Retention (casework/retention.py): the personal data of appeals closed more than
``RETENTION_YEARS`` ago is erased from every table and file, while the published metrics, the
hash chains and the signed case files stay as they were; a dry run says first what would go.
And the separate hashing of personal values (casework/events.py) that makes this possible still
detects any change to them."""

from __future__ import annotations

import email
import email.policy
import hashlib
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import Text, cast, func, text
from sqlalchemy import select as sa_select
from sqlmodel import SQLModel, select

from casework import generate, outbox, retention, scheduler
from casework.clock import now
from casework.db import db, writing
from casework.events import (
    ERASURE,
    GENESIS,
    erase_personal_values,
    event_hash,
    personal_digests,
    verify_chain,
)
from casework.models import Appeal, Calculation, Claimant, Document, Event, InsurancePeriod, Notice, PersonalId
from tests.casework.test_query_plans import Recorder, check
from tests.factories import PDF

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday
OLD = datetime(2015, 10, 5, 9, 0, tzinfo=UTC)  # eleven years earlier, a Monday
NINE_YEARS_AGO = datetime(2017, 10, 2, 9, 0, tzinfo=UTC)
RECENT = datetime(2025, 10, 6, 9, 0, tzinfo=UTC)
OLD_PERIOD = "from=2015-01-01&to=2016-12-31"

# What identifies the claimant of the old appeal, or was written about them: ASCII, so that
# it is found in JSON stored with escapes too.
NAME = "Zbigniew Erasable"
EMAIL = "zbigniew.erasable@example.org"
PERSONAL_ID = "71020312399"
DECISION = "ZUS-ERASABLE-77"
GROUNDS = "Periods at the Huta Erasable steelworks 1975-1990 were ignored."
LATE = "The claimant was in hospital in Gliwice (Erasable ward)."
ITEMS = "Certificate of employment from Huta Erasable"
REVIEW = "The Huta Erasable certificate is illegible."
MEDIATION = "No agreement on the Huta Erasable periods."
JUDGMENT = "The Huta Erasable periods are proven by the witness statement."
PERIOD_EVIDENCE = "Certificate of the Huta Erasable pension fund"
NEEDLES = (NAME, EMAIL, PERSONAL_ID, DECISION, GROUNDS, LATE, ITEMS, REVIEW, MEDIATION, JUDGMENT, PERIOD_EVIDENCE,
           "Erasable")
ONLY_OLD = PDF + b"% the old appeal's own scan\n"
SHARED = PDF + b"% a form both appeals attached\n"


# --- building the appeals ------------------------------------------------------------------------

def _act(factory, clock, reference, role, action, days=2):
    clock.shift(timedelta(days=days))
    return factory.act(reference, role, action)


def _old_appeal(factory, clock) -> dict:
    """Lodged late, with every kind of free text, a document of its own and one shared with a
    recent appeal; reviewed, mediated, judged by the tribunal."""
    lodged = factory.lodge(
        claimant__name=NAME, claimant__email=EMAIL, claimant__residence_country="ES",
        claimant__personal_ids=[{"country": "PL", "scheme": "PESEL", "value": PERSONAL_ID}],
        contested_decision__reference=DECISION,
        contested_decision__decision_date=(OLD - timedelta(days=200)).date().isoformat(),
        contested_decision__notified_on=None, grounds=GROUNDS, lodged_at=None,
    )
    reference = lodged["reference"]
    officer = factory.staff("officer", "DE")
    steps = [
        ("officer", {"action": "admit", "late_filing_reason": LATE}),
        ("officer", {"action": "assign", "user": officer.email}),
        ("officer", {"action": "request_information", "from": "claimant", "items": [ITEMS]}),
        ("officer", {"action": "receive_information"}),
        ("officer", {"action": "decide_review", "outcome": "refused", "reasons": REVIEW}),
        ("officer", {"action": "request_mediation"}),
        ("officer", {"action": "end_mediation", "reason": MEDIATION}),
        ("tribunal", {"action": "acknowledge_referral"}),
    ]
    for role, action in steps[:2]:
        _act(factory, clock, reference, role, action)
    # The working life at issue: one period from a certified record, one the claimant proposed,
    # and a calculation on them.
    period = {"country": "PL", "starts_on": "1975-09-01", "ends_on": "1990-12-31", "kind": "employment",
              "evidence": PERIOD_EVIDENCE}
    assert factory.client.post(f"/api/v1/appeals/{reference}/periods", json=period,
                               headers=officer.headers).status_code == 201
    proposed = {**period, "starts_on": "1991-01-01", "ends_on": "1991-06-30"}
    assert factory.client.post(f"/api/v1/status/{reference}/periods", json=proposed,
                               headers={"X-Access-Code": lodged["access_code"]}).status_code == 201
    assert factory.client.post(f"/api/v1/appeals/{reference}/calculations", json={
        "amounts": {"PL": {"theoretical": "3100.00", "independent": "3100.00"}}}, headers=officer.headers
    ).status_code == 201
    for role, action in steps[2:]:
        _act(factory, clock, reference, role, action)
    factory.upload(reference, ONLY_OLD, "Świadectwo pracy Erasable.pdf")
    factory.upload(reference, SHARED, "form.pdf")
    hearing = (OLD + timedelta(days=60)).isoformat().replace("+00:00", "Z")
    _act(factory, clock, reference, "tribunal", {"action": "schedule_hearing", "hearing_at": hearing, "mode": "video"})
    clock.move_to(OLD + timedelta(days=62))
    factory.act(reference, "tribunal", {"action": "deliver_judgment", "outcome": "allowed", "reasons": JUDGMENT})
    return lodged


def _simple(factory, clock, name: str, outcome: str = "granted") -> dict:
    """An appeal reviewed and decided within weeks (``outcome`` None: withdrawn)."""
    lodged = factory.lodge(claimant__name=name, claimant__email=None, lodged_at=None,
                           contested_decision__notified_on=None,
                           contested_decision__decision_date=(now() - timedelta(days=10)).date().isoformat())
    _act(factory, clock, lodged["reference"], "officer", {"action": "admit"})
    if outcome is None:
        _act(factory, clock, lodged["reference"], "officer", {"action": "withdraw"})
    else:
        _act(factory, clock, lodged["reference"], "officer", {"action": "decide_review", "outcome": outcome,
                                                            "reasons": f"Decided for {name}."}, days=20)
        if outcome != "granted":  # the claimant accepts the review's outcome
            _act(factory, clock, lodged["reference"], "officer", {"action": "accept_decision"})
    return lodged


@pytest.fixture
def world(app, client, factory):
    """Five appeals closed eleven years ago, one closed nine years ago, one closed and one open
    recently; their notices delivered as files (no SMTP server). Time then stands at NOW."""
    for role, country in (("officer", "DE"), ("tribunal", None), ("officer", "ES")):
        factory.staff(role, country)  # tokens issued now, before the clock goes back
    found: dict = {"old": [], "recent": []}
    with time_machine.travel(OLD, tick=False) as clock:
        found["old"].append(_old_appeal(factory, clock))
        clock.move_to(OLD)
        for n, outcome in enumerate(("granted", "refused", None, "partially_granted"), start=1):
            found["old"].append(_simple(factory, clock, f"Old Claimant {n}", outcome))
    with time_machine.travel(NINE_YEARS_AGO, tick=False) as clock:
        found["kept"] = _simple(factory, clock, "Nine Years Claimant")
    with time_machine.travel(RECENT, tick=False) as clock:
        found["recent"].append(_simple(factory, clock, "Recent Claimant", None))
        decided = (RECENT - timedelta(days=9)).date().isoformat()
        found["recent"].append(factory.lodge(claimant__name="Open Claimant", lodged_at=None,
                                             contested_decision__notified_on=None,
                                             contested_decision__decision_date=decided))
        factory.upload(found["recent"][1]["reference"], SHARED, "form.pdf")
    with time_machine.travel(NOW, tick=False):
        with app.app_context():
            assert outbox.deliver().sent > 0
        yield found


# --- looking everywhere ----------------------------------------------------------------------------

def _snapshot(app) -> dict:
    """Every row of every table."""
    engine = app.extensions["casework.db"]
    with engine.connect() as connection:
        return {table.name: [tuple(map(str, row)) for row in connection.execute(
                    sa_select(table).order_by(*table.primary_key.columns))]
                for table in SQLModel.metadata.sorted_tables}


def _rows_of(app, references: list[str]) -> dict:
    """Every row that belongs to these appeals (theirs, their claimants', events, notices...)."""
    with app.app_context():
        session = db.session
        appeals = session.exec(select(Appeal).where(Appeal.reference.in_(references)).order_by(Appeal.id)).all()
        ids = [a.id for a in appeals]
        claimants = [a.claimant_id for a in appeals]
        rows = {
            "appeal": [a.model_dump() for a in appeals],
            "claimant": [c.model_dump() for c in session.exec(select(Claimant).where(Claimant.id.in_(claimants)))],
            "personal_id": [p.model_dump() for p in session.exec(
                select(PersonalId).where(PersonalId.claimant_id.in_(claimants)))],
        }
        for model in (Event, Notice, Document, InsurancePeriod, Calculation):
            rows[model.__name__] = [r.model_dump() for r in session.exec(
                select(model).where(model.appeal_id.in_(ids)).order_by(model.id))]
        db.session.close()
        return rows


def _found_in_tables(app, needle: str) -> list[str]:
    """Every column of every table whose text holds ``needle``."""
    engine = app.extensions["casework.db"]
    found = []
    with engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            for column in table.columns:
                count = connection.execute(sa_select(func.count()).select_from(table)
                                           .where(cast(column, Text).like(f"%{needle}%"))).scalar()
                if count:
                    found.append(f"{table.name}.{column.name} ({count} rows)")
    return found


def _text_of(path: Path) -> str:
    data = path.read_bytes()
    if path.suffix == ".eml":  # bodies are encoded (base64 or quoted-printable): read them decoded
        message = email.message_from_bytes(data, policy=email.policy.default)
        parts = [str(value) for _key, value in message.items()]
        parts += [part.get_content() for part in message.walk() if part.get_content_maintype() == "text"]
        return "\n".join(parts)
    return data.decode("utf-8", errors="replace")


def _found_in_files(app, needle: str) -> list[str]:
    return [str(path) for path in Path(app.instance_path).rglob("*") if path.is_file() and needle in _text_of(path)]


def _events(app, reference: str) -> tuple[list[Event], Appeal]:
    with app.app_context():
        appeal = db.session.exec(select(Appeal).where(Appeal.reference == reference)).one()
        events = db.session.exec(select(Event).where(Event.appeal_id == appeal.id).order_by(Event.seq)).all()
        db.session.close()
        return events, appeal


def _metrics(client) -> list:
    return [client.get(f"/api/v1/metrics?{query}").get_json()
            for query in (OLD_PERIOD, OLD_PERIOD + "&residence_country=ES", OLD_PERIOD + "&benefit=old_age_pension",
                          "from=2015-01-01&to=2026-11-01")]


def _document_path(app, content: bytes) -> Path:
    sha256 = hashlib.sha256(content).hexdigest()
    return Path(app.instance_path) / "documents" / sha256[:2] / sha256


# --- the dry run -------------------------------------------------------------------------------------

def test_the_dry_run_counts_what_would_go_and_changes_nothing(app, runner, world):
    old = [a["reference"] for a in world["old"]]
    before = _snapshot(app)
    with app.app_context():
        found = retention.report(db.session)
        with_notices = db.session.exec(select(func.count()).select_from(Notice)
                                       .join(Appeal, Appeal.id == Notice.appeal_id)
                                       .where(Appeal.reference.in_(old))).one()
        with_events = db.session.exec(select(func.count()).select_from(Event)
                                      .join(Appeal, Appeal.id == Event.appeal_id)
                                      .where(Appeal.reference.in_(old))).one()
        db.session.close()

    assert (found.years, found.cutoff) == (10, datetime(2016, 11, 2, 9, 0, tzinfo=UTC))
    assert (found.appeals, found.claimants, found.personal_ids) == (5, 5, 5)
    # Two documents; one file is also a recent appeal's, so only the other goes.
    assert (found.documents, found.files, found.bytes) == (2, 1, len(ONLY_OLD))
    assert (found.notices, found.events, found.legacy_events) == (with_notices, with_events, 0)
    assert found.oldest_closed_at.date() < datetime(2016, 1, 1).date()
    assert set(found.sample) <= set(old) and len(found.sample) == 5
    assert world["kept"]["reference"] not in found.sample
    with app.app_context():
        due = retention.candidates(db.session, NOW)
        assert len(due) == 5 and due == sorted(due, key=lambda row: (row[1], row[0]))
        assert retention.candidates(db.session, NOW, limit=2) == due[:2]
        assert retention.candidates(db.session, NOW, limit=2, after=due[1]) == due[2:4]
        assert retention.candidates(db.session, NOW, after=due[-1]) == []
        assert len(retention.candidates(db.session, NOW, years=9)) == 6  # the one closed nine years ago too
        assert retention.candidates(db.session, NOW, years=20) == []
        db.session.close()

    result = runner.invoke(args=["retention", "report"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[-1] == "would erase 5 appeals (dry run: nothing was changed)"
    assert "1 stored files" in result.output and f"{len(ONLY_OLD)} bytes" in result.output

    # Declining the confirmation erases nothing either.
    declined = runner.invoke(args=["retention", "erase"], input="n\n")
    assert declined.exit_code == 1
    assert "Erase the personal data of 5 appeals closed before 2016-11-02?" in declined.output
    assert _snapshot(app) == before
    assert _document_path(app, ONLY_OLD).exists()


# --- the erasure ---------------------------------------------------------------------------------------

def test_erasure_removes_the_personal_data_and_keeps_metrics_chains_and_bundles(app, client, factory, runner, world,
                                                                                 tmp_path):
    old = world["old"][0]
    reference = old["reference"]
    others = [a["reference"] for a in world["recent"]] + [world["kept"]["reference"]]
    metrics_before = _metrics(client)
    untouched_before = _rows_of(app, others)
    status = client.get(f"/api/v1/status/{reference}", headers={"X-Access-Code": old["access_code"]})
    assert status.status_code == 200
    assert all(_found_in_tables(app, needle) for needle in NEEDLES)  # they were there
    assert _found_in_files(app, NAME) and _found_in_files(app, EMAIL)  # in the outbox's .eml files
    own_notices = [n["id"] for n in client.get(f"/api/v1/appeals/{reference}/notices",
                                              headers=factory.staff("officer", "DE").headers).get_json()["items"]]

    result = runner.invoke(args=["retention", "erase", "--yes"])

    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == "erased 5 appeals"

    # Gone from every column of every table, and from every file.
    for needle in NEEDLES:
        assert _found_in_tables(app, needle) == [], needle
        assert _found_in_files(app, needle) == [], needle
    assert not _document_path(app, ONLY_OLD).exists()
    assert _document_path(app, SHARED).exists()  # the recent appeal still has it
    assert not any((Path(app.instance_path) / "outbox" / f"notice-{i:09d}.eml").exists() for i in own_notices)
    if app.extensions["casework.db"].dialect.name == "sqlite":
        # Not even in the free space of the database file, nor in its write-ahead log.
        database = Path(app.config["DATABASE_URL"].removeprefix("sqlite:///"))
        stored = b"".join(p.read_bytes() for p in (database, Path(f"{database}-wal")) if p.exists())
        assert not [n for n in NEEDLES if n.encode() in stored]

    events, appeal = _events(app, reference)
    assert appeal.erased_at == NOW and appeal.grounds == retention.ERASED and appeal.decision_reference == ""
    assert appeal.late_filing_reason == retention.ERASED  # that there was one stays known
    assert appeal.access_code_hash == retention.UNUSABLE_ACCESS_CODE
    assert (appeal.state, appeal.outcome, appeal.handling_country, appeal.benefit) == (
        "closed", "allowed", "DE", "old_age_pension")
    with app.app_context():
        claimant = db.session.get(Claimant, appeal.claimant_id)
        assert (claimant.name, claimant.birth_date, claimant.email) == (retention.ERASED, None, None)
        assert (claimant.residence_country, claimant.preferred_language) == ("ES", "pl")  # metrics read these
        assert db.session.exec(select(PersonalId).where(PersonalId.claimant_id == claimant.id)).all() == []
        assert db.session.exec(select(Document).where(Document.appeal_id == appeal.id)).all() == []
        notices = db.session.exec(select(Notice).where(Notice.appeal_id == appeal.id)).all()
        assert notices and all((n.subject, n.body, n.recipient) == (retention.ERASED, "", "") for n in notices)
        assert {n.status for n in notices} <= {"sent", "no_address"}  # as they were
        db.session.close()

    # The history: every step still there, the personal values gone, the erasure recorded last.
    erasure = events[-1]
    assert (erasure.action, erasure.from_state, erasure.to_state, erasure.actor, erasure.actor_role) == (
        ERASURE, "closed", "closed", "system", "system")
    assert erasure.payload == {"claimants": 1, "personal_ids": 1, "documents": 2, "files": 1,
                               "notices": len(notices), "events": len(events) - 1, "insurance_periods": 2,
                               "calculations": 1}
    assert [e.action for e in events[:-1]] == ["lodge", "admit", "assign", "request_information", "receive_information",
                                               "decide_review", "request_mediation", "end_mediation",
                                               "acknowledge_referral", "schedule_hearing", "deliver_judgment"]
    for event in events[:-1]:
        assert event.personal_salt is None and event.actor == event.actor_role
        assert not set(event.personal_digests["payload"]) & set(event.payload)
    assert events[1].payload == {} and events[-2].payload == {"outcome": "allowed"}
    assert verify_chain(reference, events, appeal.last_event_hash) is None
    audit = runner.invoke(args=["audit", "verify"])
    assert audit.exit_code == 0 and "every event hash chain is intact" in audit.output
    officer = factory.staff("officer", "DE")
    listed = client.get(f"/api/v1/appeals/{reference}/events", headers=officer.headers).get_json()
    assert listed["items"][-1]["action"] == ERASURE

    # What was published, and everything about the other appeals, is as it was.
    assert _metrics(client) == metrics_before
    assert _rows_of(app, others) == untouched_before

    # The claimant's access code no longer opens it.
    assert client.get(f"/api/v1/status/{reference}", headers={"X-Access-Code": old["access_code"]}).status_code == 404

    # The signed case file of the erased appeal still verifies, chain and all.
    tribunal = factory.staff("tribunal")
    signed = client.get(f"/api/v1/appeals/{reference}/bundle", headers=tribunal.headers).get_json()
    assert signed["bundle"]["appeal"]["claimant"]["name"] == retention.ERASED
    assert signed["bundle"]["appeal"]["claimant"]["personal_ids"] == []
    assert signed["bundle"]["appeal"]["review_decision"]["reasons"] is None
    assert signed["bundle"]["documents"] == []
    saved = tmp_path / "erased-bundle.json"
    saved.write_text(json.dumps(signed, ensure_ascii=False), encoding="utf-8")
    verified = runner.invoke(args=["bundle", "verify", str(saved)])
    assert verified.exit_code == 0, verified.output
    assert f"{len(events)} events, hash chain intact" in verified.output

    # A second run finds nothing to do and changes nothing.
    before_again = _snapshot(app)
    again = runner.invoke(args=["retention", "erase", "--yes"])
    assert again.exit_code == 0 and again.output.strip().splitlines()[-1] == "erased 0 appeals"
    assert _snapshot(app) == before_again


def test_a_claimant_with_an_appeal_still_open_keeps_their_data(app, factory, world):
    """Their old appeal is erased; they themselves are erased with their last appeal."""
    kept = world["recent"][1]["reference"]
    with app.app_context(), writing():
        old = db.session.exec(select(Appeal).where(Appeal.reference == world["old"][1]["reference"])).one()
        recent = db.session.exec(select(Appeal).where(Appeal.reference == kept)).one()
        recent.claimant_id = old.claimant_id
        db.session.commit()
        result = retention.erase()
        db.session.expire_all()
        claimant = db.session.get(Claimant, old.claimant_id)
        assert result.erased == 5 and result.counts["claimants"] == 4
        assert (claimant.name, claimant.birth_date.isoformat()) == ("Old Claimant 1", "1958-03-14")
        assert len(db.session.exec(select(PersonalId).where(PersonalId.claimant_id == claimant.id)).all()) == 1
        assert db.session.get(Appeal, old.id).erased_at == NOW  # the appeal itself is erased
        db.session.close()


def test_an_appeal_whose_chain_is_broken_is_not_erased(app, world):
    reference = world["old"][2]["reference"]
    with app.extensions["casework.db"].begin() as connection:
        appeal_id = connection.execute(text("SELECT id FROM appeal WHERE reference = :r"), {"r": reference}).scalar()
        connection.execute(text("UPDATE event SET to_state = 'closed' WHERE appeal_id = :a AND seq = 2"),
                           {"a": appeal_id})
    with app.app_context():
        result = retention.erase()
        appeal = db.session.get(Appeal, appeal_id)
        assert (result.erased, result.failed) == (4, 1)
        assert f"{reference}: event chain broken at event 2" in result.errors[0]
        assert appeal.erased_at is None and db.session.get(Claimant, appeal.claimant_id).name == "Old Claimant 2"
        db.session.close()


def test_the_scheduler_job_erases_and_logs_the_counts(app, world, caplog):
    caplog.set_level(logging.INFO, logger="casework.scheduler")
    scheduler.retention_job(app)
    assert "retention: erased 5 appeals (claimants 5, personal ids 5, documents 2, files 1," in caplog.text
    caplog.clear()
    scheduler.retention_job(app)
    assert "retention: erased 0 appeals" in caplog.text


def test_retention_can_be_switched_off(make_app, runner):
    app = make_app(RETENTION_YEARS=None)
    try:
        result = app.test_cli_runner().invoke(args=["retention", "erase", "--yes"])
        assert result.output.strip().splitlines()[-1] == "erased 0 appeals"
        assert "switched off" in result.output
    finally:
        app.extensions["casework.db"].dispose()


def test_the_daily_erasure_reads_only_its_work_from_indexes(app, runner, world):
    """EXPLAIN of every statement of the dry run and of the erasure: no full scan of a large
    table or index (the rules of tests/casework/test_query_plans.py)."""
    engine = app.extensions["casework.db"]
    recorder = Recorder(engine)
    with recorder.path("retention report"):
        assert runner.invoke(args=["retention", "report"]).exit_code == 0
    with recorder.path("retention erase"):
        assert runner.invoke(args=["retention", "erase", "--yes"]).exit_code == 0
    with app.app_context(), recorder.path("candidates after a keyset"):
        retention.candidates(db.session, NOW, limit=10, after=(1, OLD))
        db.session.close()
    # (Its list of request pages known to sort is the request-path test's business.)
    failures = [f for f in check(engine, recorder.statements) if not f.startswith("SORTED_PAGES")]
    assert not failures, "\n\n".join(failures)
    statements = " ".join(s.sql for s in recorder.statements)
    assert "erased_at IS NULL" in statements


# --- erasure on generated appeals --------------------------------------------------------------------

def test_generated_appeals_are_erased_with_their_chains_intact(app, client, runner):
    """Bulk-generated appeals hash their personal values the same way: their old ones erase."""
    with time_machine.travel(NOW, tick=False):
        with app.app_context():
            generate.generate(60, seed=3, access_code="GENE-RATE-DTES-TCOD-E234", years=14, processes=1)
        metrics_before = [client.get(f"/api/v1/metrics?from={year}-01-01&to={year}-12-31").get_json()
                          for year in range(2012, 2017)]
        result = runner.invoke(args=["retention", "erase", "--yes"])
        assert result.exit_code == 0, result.output
        erased = int(result.output.strip().splitlines()[-1].split()[1])
        assert erased > 5
        assert runner.invoke(args=["audit", "verify"]).exit_code == 0
        assert [client.get(f"/api/v1/metrics?from={year}-01-01&to={year}-12-31").get_json()
                for year in range(2012, 2017)] == metrics_before
        with app.app_context():
            names = db.session.exec(select(Claimant.name).join(Appeal, Appeal.claimant_id == Claimant.id)
                                    .where(Appeal.erased_at.is_not(None))).all()
            assert len(names) == erased and set(names) == {retention.ERASED}
            db.session.close()


# --- the separate hashing still detects changes -------------------------------------------------------

def _copy(event: Event) -> Event:
    """A detached copy (its JSON values copied too), to change without touching the database."""
    fields = {column.name: getattr(event, column.name) for column in Event.__table__.columns}
    return Event(**{**fields, "payload": json.loads(json.dumps(fields["payload"])),
                    "personal_digests": json.loads(json.dumps(fields["personal_digests"]))})


def _with(events: list[Event], index: int, **changes) -> list[Event]:
    """Copies of ``events``, the one at ``index`` changed."""
    copies = [_copy(event) for event in events]
    for key, value in changes.items():
        setattr(copies[index], key, value)
    return copies


def test_changing_a_personal_value_or_a_digest_breaks_verification(app, factory):
    appeal = factory.appeal("awaiting_claimant")  # decide_review (event 3) with reasons
    events, row = _events(app, appeal["reference"])
    reference, head = appeal["reference"], row.last_event_hash
    assert verify_chain(reference, events, head) is None
    decided = events[2]
    assert decided.action == "decide_review" and set(decided.personal_digests["payload"]) == {"reasons"}

    changes = {
        "a personal value": dict(payload={**decided.payload, "reasons": "Granted after all."}),
        "the actor": dict(actor="someone.else@example.org"),
        "a personal value removed, its salt kept": dict(payload={"outcome": "refused"}),
        "a digest": dict(personal_digests={**decided.personal_digests, "payload": {"reasons": "0" * 64}}),
        "a personal value declared public": dict(personal_digests={**decided.personal_digests, "payload": {}}),
        "the salt": dict(personal_salt="f" * 32),
        "a public value": dict(payload={**decided.payload, "outcome": "granted"}),
        "malformed digests": dict(personal_digests=["not", "a", "mapping"]),
    }
    for name, change in changes.items():
        broken = verify_chain(reference, _with(events, 2, **change), head)
        assert broken is not None and broken.seq == 3, name
        assert broken.reason.startswith("content does not match its hash"), (name, broken.reason)
    assert "payload.reasons does not match its digest" in verify_chain(
        reference, _with(events, 2, **changes["a personal value"]), head).reason

    # Once erased (values and salt gone, the erasure recorded), the digests still hold the chain.
    erased = [_copy(event) for event in events]
    assert all(erase_personal_values(event) for event in erased)
    salt = "a" * 32
    erasure = Event(appeal_id=row.id, seq=len(erased) + 1, action=ERASURE, from_state="awaiting_claimant",
                    to_state="awaiting_claimant", actor="system", actor_role="system", occurred_at=NOW,
                    recorded_at=NOW, payload={"events": len(erased)}, personal_salt=salt,
                    personal_digests=personal_digests("system", {"events": len(erased)}, salt),
                    prev_hash=erased[-1].hash, hash="")
    erasure.hash = event_hash(reference, erasure, erasure.prev_hash)
    assert verify_chain(reference, erased + [erasure], erasure.hash) is None
    assert erased[2].payload == {"outcome": "refused"} and erased[2].actor == "officer"

    after = {
        "a digest": dict(personal_digests={**erased[2].personal_digests, "payload": {"reasons": "0" * 64}}),
        "a value put back": dict(payload={"outcome": "refused", "reasons": "Invented later."}),
        "an actor named again": dict(actor="someone.else@example.org"),
    }
    for name, change in after.items():
        broken = verify_chain(reference, _with(erased, 2, **change) + [erasure], erasure.hash)
        assert broken is not None and broken.seq == 3, name
    # Values stripped without an erasure on record are noticed as well.
    broken = verify_chain(reference, erased, erased[-1].hash)
    assert broken == type(broken)(1, "personal values were removed, but no erasure is recorded after them")


def test_events_recorded_before_separate_hashing_still_verify_and_keep_their_text(app, factory, world):
    """An event without digests (recorded before migration 0002) is hashed over every field as
    recorded; erasure leaves its text (removing it would break the chain) and counts it."""
    reference = world["old"][1]["reference"]
    with app.app_context(), writing():
        appeal = db.session.exec(select(Appeal).where(Appeal.reference == reference)).one()
        events = db.session.exec(select(Event).where(Event.appeal_id == appeal.id).order_by(Event.seq)).all()
        prev = GENESIS
        for event in events:  # the whole history rewritten as the old code hashed it
            event.personal_salt = event.personal_digests = None
            event.prev_hash, event.hash = prev, event_hash(reference, event, prev)
            prev = event.hash
        appeal.last_event_hash = prev
        db.session.commit()
        assert verify_chain(reference, events, prev) is None
        decided = [e for e in events if e.action == "decide_review"][0]
        db.session.close()
    with app.app_context():
        found = retention.report(db.session)
        db.session.rollback()
        assert found.legacy_events == len(events)
        result = retention.erase()
        assert result.erased == 5 and result.counts["legacy_events"] == len(events)
        db.session.expire_all()
        events = db.session.exec(select(Event).where(Event.appeal_id == appeal.id).order_by(Event.seq)).all()
        assert events[-1].action == ERASURE and events[-1].personal_digests is not None
        assert events[decided.seq - 1].payload["reasons"] == "Decided for Old Claimant 1."
        assert verify_chain(reference, events, db.session.get(Appeal, appeal.id).last_event_hash) is None
        assert db.session.get(Claimant, appeal.claimant_id).name == retention.ERASED
        db.session.close()
