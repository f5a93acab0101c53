"""The bulk generator: generated appeals obey every invariant of real ones (API.md, ``demo
generate``), and the application works on them as on any other."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

import pytest
import rfc8785
import time_machine
from sqlmodel import select

from casework import generate
from casework.db import db
from casework.deadlines import schedule
from casework.deadlines.sweep import sweep
from casework.events import event_content, verify_chain
from casework.models import Appeal, AppealCountry, Claimant, Deadline, Event, Notice
from casework.operations import STAGE_DEADLINE
from tests.factories import lodge_body
from workflows import appeal as workflow

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
CODE = "GENE-RATE-DTES-TCOD-E234"
COUNT = 800

# The running deadline of each open stage (lodged: forwarding or admissibility).
STAGE_KINDS = {**{state: {kind} for state, kind in STAGE_DEADLINE.items()},
               "lodged": {"forwarding", "admissibility"}, "awaiting_information": {"information"},
               "before_tribunal": set()}


@pytest.fixture
def generated(app):
    with time_machine.travel(NOW, tick=False), app.app_context():
        return generate.generate(COUNT, seed=11, access_code=CODE, years=1, processes=2, batch_size=500)


def _all(model, *order):
    return db.session.exec(select(model).order_by(*order)).all()


def test_generated_appeals_obey_every_invariant(app, generated):
    """One generation, every check (each reads the whole database)."""
    _counts_and_spread(app, generated)
    _histories_follow_the_state_machine_and_their_chains_verify(app, generated)
    _pending_deadlines_match_the_current_stage(app, generated)
    _the_canonical_form_is_rfc8785(app, generated)
    _claimants_and_their_notices(app, generated)
    _payloads_are_what_the_api_records(app, generated)


def _counts_and_spread(app, generated):
    assert generated.appeals == COUNT
    with app.app_context():
        appeals = _all(Appeal, Appeal.id)
        assert len(appeals) == COUNT
        assert generated.events == len(_all(Event, Event.id)) > 4 * COUNT
        assert generated.notices == len(_all(Notice, Notice.id)) > 3 * COUNT
        handling = Counter(appeal.handling_country for appeal in appeals)
        assert len(handling) >= 8 and min(handling.values()) >= 0.05 * COUNT, handling
        states = Counter(appeal.state for appeal in appeals)
        assert set(states) == set(workflow.STATES), states  # every stage is represented
        assert Counter(appeal.outcome for appeal in appeals if appeal.outcome).keys() >= {
            "granted", "refused", "settled", "withdrawn", "allowed", "dismissed"}


def _histories_follow_the_state_machine_and_their_chains_verify(app, generated):
    with app.app_context():
        events_by_appeal: dict[int, list[Event]] = {}
        for event in _all(Event, Event.appeal_id, Event.seq):
            events_by_appeal.setdefault(event.appeal_id, []).append(event)
        for appeal in _all(Appeal, Appeal.id):
            events = events_by_appeal[appeal.id]
            assert verify_chain(appeal.reference, events, appeal.last_event_hash) is None, appeal.reference
            assert events[0].action == "lodge" and events[0].from_state is None
            state, extended = "lodged", False
            handling = appeal.receiving_country
            for event in events[1:]:
                facts = {"filed_in_time": appeal.filed_in_time, "mediation_extended": extended,
                         "handling_country": handling, **event.payload}
                row = workflow.check(state, event.action, event.actor_role, facts)
                assert event.from_state == state
                state = row["dest"] or state
                assert event.to_state == state, (appeal.reference, event.seq)
                extended = extended or event.action == "extend_mediation"
                handling = event.payload.get("to_country", handling) if event.action == "forward" else handling
                assert event.occurred_at >= events[events.index(event) - 1].occurred_at
            assert appeal.state == state and appeal.handling_country == handling
            assert appeal.last_event_seq == len(events) and appeal.last_event_at == events[-1].occurred_at
            assert (appeal.outcome is not None) == (state == "closed")
            assert appeal.closed_at == (events[-1].occurred_at if state == "closed" else None)
            assert appeal.reference == f"CW-{appeal.lodged_at.year}-{appeal.id:06d}"
            escalations = [e.occurred_at for e in events if e.to_state == "escalated" and e.from_state != "escalated"]
            before = appeal.state in ("escalated", "before_tribunal")
            assert appeal.referred_at == (escalations[-1] if before else None), appeal.reference


def _pending_deadlines_match_the_current_stage(app, generated):
    with app.app_context():
        rows: dict[int, list[Deadline]] = {}
        for row in _all(Deadline, Deadline.id):
            rows.setdefault(row.appeal_id, []).append(row)
        overdue = 0
        for appeal in _all(Appeal, Appeal.id):
            mine = rows.get(appeal.id, [])
            pending = [r for r in mine if r.status == "pending" and r.kind in schedule.PUBLIC_KINDS]
            paused = [r for r in mine if r.status == "paused"]
            if appeal.state == "closed":
                assert not pending and not paused and all(r.ended_at or r.status == "missed" for r in mine)
                continue
            assert {r.kind for r in pending} <= STAGE_KINDS[appeal.state], (appeal.reference, appeal.state, pending)
            if appeal.state != "before_tribunal":
                # The stage's own limit runs, or ran out and flagged the appeal overdue.
                assert pending or appeal.overdue_since is not None, appeal.reference
            assert [r.kind for r in paused] == (["review"] if appeal.state == "awaiting_information" else [])
            assert appeal.next_due_at == (min(r.due_at for r in pending) if pending else None)
            for row in mine:
                assert row.status in ("met", "missed", "cancelled") or row.ended_at is None
                if row.kind == "reminder" and row.status == "pending":
                    assert row.parent_id is not None
            overdue += any(r.status == "pending" and r.due_at <= NOW for r in mine)
        assert overdue > 0, "some deadlines are due, so the sweep has work"
        assert overdue == generated.overdue


def _the_canonical_form_is_rfc8785(app, generated):
    with app.app_context():
        references = dict(db.session.exec(select(Appeal.id, Appeal.reference)).all())
        for event in _all(Event, Event.id)[:3000]:
            content = event_content(references[event.appeal_id], event)
            assert generate.canonical(content) == rfc8785.dumps(content)


def _claimants_and_their_notices(app, generated):
    with app.app_context():
        claimants = {c.id: c for c in _all(Claimant, Claimant.id)}
        appeals = _all(Appeal, Appeal.id)
        assert len(claimants) == len(appeals) and {a.claimant_id for a in appeals} == set(claimants)
        countries = {(c.appeal_id, c.relation) for c in _all(AppealCountry, AppealCountry.appeal_id)}
        assert all((a.id, relation) in countries for a in appeals for relation in ("deciding", "receiving", "handling"))
        languages = Counter()
        for notice in _all(Notice, Notice.id)[:5000]:
            appeal = next(a for a in appeals if a.id == notice.appeal_id) if notice.id < 50 else None
            claimant_language = notice.language
            languages[claimant_language] += 1
            assert notice.status in ("sent", "no_address") and notice.recipient_role == "claimant"
            if appeal is not None:
                assert appeal.reference in notice.subject
        assert {"de", "fr", "pl", "ar"} <= set(languages)


def test_the_application_works_on_generated_appeals(app, client, factory, generated):
    with time_machine.travel(NOW, tick=False):
        with app.app_context():
            appeals = _all(Appeal, Appeal.id)
        by_state = {}
        for appeal in appeals:
            by_state.setdefault(appeal.state, appeal)
        # The claimant opens any of them with the shared code, in their language.
        for appeal in by_state.values():
            response = client.get(f"/api/v1/status/{appeal.reference}", headers={"X-Access-Code": CODE})
            assert response.status_code == 200, response.json
            assert response.json["state"] == appeal.state
        # An officer of the handling country takes each open appeal's next step.
        steps = {"lodged": {"action": "withdraw"}, "under_review": {"action": "request_information", "from": "claimant", "items": ["Payslips"]},
                 "awaiting_information": {"action": "receive_information"},
                 "awaiting_claimant": {"action": "request_mediation"},
                 "in_mediation": {"action": "extend_mediation", "reason": "More time."},
                 "escalated": {"action": "withdraw"}, "before_tribunal": {"action": "withdraw"}}
        for state, body in steps.items():
            appeal = by_state[state]
            if state == "in_mediation" and appeal.mediation_extended:
                body = {"action": "settle", "terms": "Agreed."}
            officer = factory.staff("officer", appeal.handling_country)
            response = client.post(f"/api/v1/appeals/{appeal.reference}/actions", headers=officer.headers,
                                   json={**body, "version": appeal.version})
            assert response.status_code == 200, (state, response.json)
        # The queue lists them, nearest deadline first.
        officer = factory.staff("officer", "DE")
        page = client.get("/api/v1/appeals?overdue=true", headers=officer.headers).json
        assert page["items"] and all(item["overdue"] for item in page["items"])
        # The sweep fires what fell due while it was not running, without a failure.
        with app.app_context():
            result = sweep()
            assert result.failed == 0 and result.fired >= generated.overdue
            assert sweep().fired == 0
            for appeal in _all(Appeal, Appeal.id):
                events = db.session.exec(select(Event).where(Event.appeal_id == appeal.id).order_by(Event.seq)).all()
                assert verify_chain(appeal.reference, events, appeal.last_event_hash) is None
        # A new appeal lodged afterwards takes the next ids (sequences follow on PostgreSQL).
        response = client.post("/api/v1/appeals", headers=officer.headers, json=lodge_body(lodged_at="2026-11-19T10:00:00Z"))
        assert response.status_code == 201, response.json
        assert response.json["reference"] == f"CW-2026-{COUNT + 1:06d}"


def test_one_process_or_several_make_the_same_appeals(make_app, tmp_path):
    def generated_with(processes: int):
        app = make_app(DATABASE_URL=f"sqlite:///{tmp_path / f'p{processes}.db'}")
        with time_machine.travel(NOW, tick=False), app.app_context():
            generate.generate(200, seed=5, access_code=CODE, processes=processes, batch_size=40)
            heads = db.session.exec(select(Appeal.reference, Appeal.last_event_hash).order_by(Appeal.id)).all()
            rows = db.session.exec(select(Deadline.appeal_id, Deadline.kind, Deadline.status, Deadline.due_at)
                                   .order_by(Deadline.id)).all()
        app.extensions["casework.db"].dispose()
        return heads, rows

    assert generated_with(1) == generated_with(3)


def test_generating_twice_appends(app, factory):
    factory.appeal("under_review")
    with time_machine.travel(NOW, tick=False), app.app_context():
        for seed in (12, 13):
            assert generate.generate(10, seed=seed, access_code=CODE, processes=1).appeals == 10
        ids = db.session.exec(select(Appeal.id).order_by(Appeal.id)).all()
        assert ids == list(range(1, 22))
        assert _all(Event, Event.id)[0].appeal_id == 1  # the factory's appeal is untouched


def test_command_line(app, runner):
    with time_machine.travel(NOW, tick=False):
        result = runner.invoke(args=["demo", "generate", "--appeals", "50", "--seed", "3", "--access-code", CODE,
                                     "--processes", "1"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith("generated 50 appeals, ")
    assert f"Access code of every generated appeal: {CODE}" in result.output
    assert "Handling countries:" in result.output

    bad = runner.invoke(args=["demo", "generate", "--appeals", "0"])
    assert bad.exit_code == 2 and "--appeals" in bad.output


def _payloads_are_what_the_api_records(app, generated):
    from casework.schemas import ActionRequest

    with app.app_context():
        for event in _all(Event, Event.id)[:4000]:
            if event.action in ("lodge",) or event.action in workflow.TIMER_ACTIONS:
                continue
            body = {"action": event.action, "version": 1, **json.loads(json.dumps(event.payload))}
            if event.action == "schedule_hearing":
                body.pop("hearing_at")  # in the past now: valid when it was set
                assert event.payload["hearing_at"] > event.occurred_at.isoformat()
                continue
            ActionRequest.model_validate(body)


def test_a_bulk_load_builds_its_indexes_again(app, monkeypatch):
    """Without its indexes while it loads, and with all of them after, even when a batch fails."""
    from casework.db import schema_differences

    monkeypatch.setattr(generate, "BULK_LOAD", 10)
    with time_machine.travel(NOW, tick=False), app.app_context():
        assert generate.generate(30, seed=4, access_code=CODE, processes=1, batch_size=10).appeals == 30
        with db.engine.connect() as connection:
            assert schema_differences(connection) == []

        def fail(*_args):
            raise RuntimeError("the disk is full")

        monkeypatch.setattr(generate.Generator, "_write", fail)
        with pytest.raises(RuntimeError, match="disk is full"):
            generate.generate(40, seed=5, access_code=CODE, processes=1, batch_size=10)
        with db.engine.connect() as connection:
            assert schema_differences(connection) == []
