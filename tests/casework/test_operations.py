"""Operations over the database: the transition table for every state x action, what each
transition writes, and two clients racing on one appeal."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func
from sqlmodel import select

from casework import operations
from casework.access import SYSTEM, Actor
from casework.clock import isoformat, now
from casework.db import db, writing
from casework.errors import ValidationFailed, VersionConflict
from casework.events import verify_chain
from casework.models import Appeal, Event, User
from workflows import appeal as w

VALID_INPUT = {
    "forward": {"to_country": "FR", "to_institution_name": "CNAV"},
    "admit": {},
    "declare_inadmissible": {"reason": "Not a decision of this institution."},
    "request_information": {"from": "claimant", "items": ["Certificates"]},
    "receive_information": {},
    "decide_review": {"outcome": "refused", "reasons": "No proof of periods."},
    "accept_decision": {},
    "request_mediation": {},
    "request_tribunal": {},
    "extend_mediation": {"reason": "Documents awaited."},
    "settle": {"terms": "Periods 1979-1990 counted."},
    "end_mediation": {"reason": "No agreement."},
    "acknowledge_referral": {},
    "schedule_hearing": {"mode": "video"},
    "deliver_judgment": {"outcome": "allowed", "reasons": "Art 6 applies."},
    "remit": {"instructions": "Aggregate the Polish periods."},
    "withdraw": {},
    "assign": {},
    **{timer: {} for timer in w.TIMER_ACTIONS},
}


def _actor(session, role: str) -> Actor:
    if role == "system":
        return SYSTEM
    if role == "claimant":
        return Actor(role="claimant", label="claimant")
    user = session.exec(select(User).where(User.role == role)).first()
    return Actor.staff(user)


def _input(action: str, factory) -> dict:
    data = dict(VALID_INPUT[action])
    if action == "schedule_hearing":
        data["hearing_at"] = now() + timedelta(days=30)
    if action == "assign":
        data["user"] = factory.staff("officer", "DE").email
    return data


def _counts(session, appeal_id):
    return session.exec(select(func.count()).select_from(Event).where(Event.appeal_id == appeal_id)).one()


@pytest.mark.parametrize("state", w.STATES)
@pytest.mark.parametrize("action", w.ACTIONS)
def test_transition_table(app, factory, state, action):
    """Allowed pairs move to the table's destination and add one event; others change nothing."""
    factory.staff("tribunal")
    factory.staff("mediator", "DE")
    reference = factory.appeal(state)["reference"]
    role = w.WHO[action][0]
    rows = w.transitions_for(action, state)
    with app.app_context(), writing():
        session = db.session
        appeal = session.exec(select(Appeal).where(Appeal.reference == reference)).one()
        before_version, before_events = appeal.version, _counts(session, appeal.id)
        data = _input(action, factory)
        if rows:
            event = operations.perform_action(session, appeal, _actor(session, role), action, data)
            session.commit()
            expected = rows[0]["dest"] or state
            if action == "decide_review":
                expected = "awaiting_claimant"
            assert (event.action, event.from_state, event.to_state) == (action, state, expected)
            assert appeal.state == expected and appeal.version == before_version + 1
            assert _counts(session, appeal.id) == before_events + 1
            assert (appeal.outcome is not None) == (appeal.state == "closed")
        else:
            with pytest.raises(w.InvalidTransition):
                operations.perform_action(session, appeal, _actor(session, role), action, data)
            session.rollback()
            session.expire_all()
            appeal = session.exec(select(Appeal).where(Appeal.reference == reference)).one()
            assert (appeal.state, appeal.version) == (state, before_version)
            assert _counts(session, appeal.id) == before_events


@pytest.mark.parametrize("state", w.STATES)
def test_api_refuses_what_the_table_forbids(factory, client, state):
    """Through the API an officer's impossible action is a 409 and writes nothing."""
    appeal = factory.appeal(state)
    officer = factory.staff("officer", "DE")
    for action in w.ACTIONS:
        if "officer" not in w.WHO[action] or w.transitions_for(action, state):
            continue
        body = {"action": action, "version": appeal["version"], **_input(action, factory)}
        response = client.post(f"/api/v1/appeals/{appeal['reference']}/actions", json=body, headers=officer.headers)
        assert response.status_code == 409, (action, response.get_json())
        assert response.get_json()["error"]["code"] == "invalid_transition"
    assert factory.get(appeal["reference"])["version"] == appeal["version"]


def test_lodging_keeps_original_date_when_forwarded(factory):
    lodged = factory.lodge(lodged_with_country="ES")
    assert lodged["handling_country"] == "ES" and [d["kind"] for d in lodged["deadlines"]] == ["forwarding"]
    forwarded = factory.act(lodged["reference"], "officer",
                            {"action": "forward", "to_country": "DE", "to_institution_name": "DRV Bund"}, country="ES")
    assert forwarded["handling_country"] == "DE"
    assert forwarded["lodged_at"] == lodged["lodged_at"] == "2026-09-20T10:00:00Z"
    assert forwarded["filing_deadline"] == lodged["filing_deadline"]
    assert [(d["kind"], d["status"]) for d in forwarded["deadlines"]][-1] == ("admissibility", "pending")


@time_machine.travel("2026-12-20T12:00:00Z", tick=False)
def test_filing_window_decides_filed_in_time(factory):
    # DE decision notified 4 Sep 2026 to a claimant living in Spain: 3 months, to 4 Dec 2026.
    in_time = factory.lodge(lodged_at="2026-12-04T22:00:00Z")  # 23:00 in Berlin, still 4 Dec
    late = factory.lodge(lodged_at="2026-12-04T23:30:00Z")  # already 5 Dec in Berlin
    assert in_time["filing_deadline"] == late["filing_deadline"] == "2026-12-04"
    assert (in_time["filed_in_time"], late["filed_in_time"]) == (True, False)
    resident = factory.lodge(claimant__residence_country="DE")  # 1 month: 4 Oct 2026 is a Sunday -> 5 Oct
    assert resident["filing_deadline"] == "2026-10-05"


def test_us_notification_presumed_five_days_after_decision(factory):
    appeal = factory.lodge(contested_decision__institution_country="US",
                           contested_decision__institution_name="Social Security Administration",
                           contested_decision__notified_on=None, contested_decision__decision_date="2026-09-01")
    assert appeal["contested_decision"]["notified_on"] == "2026-09-06"


def test_occurred_at_counts_deadlines_and_cannot_precede_history(app, factory):
    appeal = factory.appeal("lodged")
    with app.app_context(), writing():
        session = db.session
        row = session.exec(select(Appeal).where(Appeal.reference == appeal["reference"])).one()
        officer = _actor(session, "officer")
        with pytest.raises(ValidationFailed):
            operations.perform_action(session, row, officer, "admit", {}, occurred_at=row.lodged_at - timedelta(days=1))
        session.rollback()
        session.expire_all()
        row = session.exec(select(Appeal).where(Appeal.reference == appeal["reference"])).one()
        when = row.lodged_at + timedelta(hours=1)
        event = operations.perform_action(session, row, officer, "admit", {}, occurred_at=when)
        session.commit()
        assert event.occurred_at == when
        review = [d for d in factory.get(appeal["reference"])["deadlines"] if d["kind"] == "review"][0]
        assert review["status"] == "pending"
        # 30 days from the day after admission, at the end of the day in Berlin.
        assert review["due_on"] >= (when + timedelta(days=30)).date().isoformat()


def test_stale_version_is_refused(app, factory):
    appeal = factory.appeal("lodged")
    with app.app_context(), writing():
        session = db.session
        row = session.exec(select(Appeal).where(Appeal.reference == appeal["reference"])).one()
        with pytest.raises(VersionConflict):
            operations.perform_action(session, row, _actor(session, "officer"), "admit", {},
                                      expected_version=appeal["version"] - 1)


@pytest.mark.parametrize("actions", [("admit", "admit"), ("admit", "declare_inadmissible"), ("admit",) * 6])
def test_two_clients_same_version_exactly_one_wins(app, factory, actions):
    appeal = factory.appeal("lodged")
    officer = factory.staff("officer", "DE")
    barrier = threading.Barrier(len(actions))
    results = []

    def post(action):
        body = {"action": action, "version": appeal["version"], **VALID_INPUT[action]}
        client = app.test_client()
        barrier.wait()
        response = client.post(f"/api/v1/appeals/{appeal['reference']}/actions", json=body, headers=officer.headers)
        results.append((response.status_code, (response.get_json().get("error") or {}).get("code")))

    threads = [threading.Thread(target=post, args=(a,)) for a in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [(200, None)] + [(409, "version_conflict")] * (len(actions) - 1)
    with app.app_context():
        row = db.session.exec(select(Appeal).where(Appeal.reference == appeal["reference"])).one()
        events = db.session.exec(select(Event).where(Event.appeal_id == row.id).order_by(Event.seq)).all()
        assert len(events) == 2 and row.version == appeal["version"] + 1
        assert verify_chain(row.reference, events, row.last_event_hash) is None


def test_event_history_is_a_verifiable_chain(app, factory, runner):
    appeal = factory.appeal("before_tribunal")
    with app.app_context():
        row = db.session.exec(select(Appeal).where(Appeal.reference == appeal["reference"])).one()
        events = db.session.exec(select(Event).where(Event.appeal_id == row.id).order_by(Event.seq)).all()
        assert [e.action for e in events] == ["lodge", "admit", "decide_review", "request_tribunal", "acknowledge_referral"]
        assert verify_chain(row.reference, events, row.last_event_hash) is None
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "intact" in result.output
    with app.app_context(), writing():
        event = db.session.exec(select(Event).where(Event.appeal_id == row.id, Event.seq == 3)).one()
        event.payload = {**event.payload, "reasons": "Altered afterwards."}
        db.session.commit()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"{appeal['reference']}: chain broken at event 3" in result.output


def test_events_endpoint_returns_the_chain(factory, client):
    appeal = factory.appeal("awaiting_claimant")
    officer = factory.staff("officer", "DE")
    items = client.get(f"/api/v1/appeals/{appeal['reference']}/events", headers=officer.headers).get_json()["items"]
    assert [i["seq"] for i in items] == [1, 2, 3]
    assert items[0]["prev_hash"] == "0" * 64 and items[1]["prev_hash"] == items[0]["hash"]
    assert items[0]["from_state"] is None and items[0]["to_state"] == "lodged"
    assert items[2]["payload"] == {"outcome": "refused", "reasons": "No proof of periods."}
    assert items[0]["occurred_at"].endswith("Z")


def test_review_outcome_granted_closes(factory):
    appeal = factory.appeal("under_review")
    done = factory.act(appeal["reference"], "officer",
                       {"action": "decide_review", "outcome": "granted", "reasons": "Periods counted."})
    assert (done["state"], done["outcome"], done["allowed_actions"]) == ("closed", "granted", [])
    assert all(d["status"] != "pending" for d in done["deadlines"])


def test_accept_decision_keeps_review_outcome(factory, client):
    appeal = factory.appeal("under_review")
    factory.act(appeal["reference"], "officer",
                {"action": "decide_review", "outcome": "partially_granted", "reasons": "Some periods counted."})
    status = client.post(f"/api/v1/status/{appeal['reference']}/actions", json={"action": "accept_decision"},
                         headers={"X-Access-Code": appeal["access_code"]})
    assert status.status_code == 200
    assert (status.get_json()["state"], status.get_json()["outcome"]) == ("closed", "partially_granted")


def test_escalation_routes_to_default_tribunal_in_luxembourg(factory):
    appeal = factory.appeal("escalated")
    assert appeal["tribunal"] == "CBSST"
    ack = [d for d in appeal["deadlines"] if d["kind"] == "tribunal_acknowledgement"][0]
    assert (ack["jurisdiction"], ack["timezone"]) == ("LU", "Europe/Luxembourg")


def test_assign_officer_and_mediator(factory):
    appeal = factory.appeal("in_mediation")
    mediator = factory.staff("mediator", "DE")
    done = factory.act(appeal["reference"], "officer", {"action": "assign", "user": mediator.email})
    assert done["mediator"] == mediator.email and done["state"] == "in_mediation"
    foreign = factory.staff("officer", "FR")
    factory.act(appeal["reference"], "officer", {"action": "assign", "user": foreign.email}, expect=422)


def test_queue_is_sorted_by_nearest_deadline_and_paginates(factory, client):
    references = [factory.appeal(state)["reference"] for state in ("under_review", "lodged", "closed", "escalated")]
    officer = factory.staff("officer", "DE")
    seen, after = [], None
    while True:
        url = "/api/v1/appeals?limit=1" + (f"&after={after}" if after else "")
        page = client.get(url, headers=officer.headers).get_json()
        seen += [(item["reference"], min((d["due_at"] for d in item["deadlines"] if d["status"] == "pending"),
                                         default=None)) for item in page["items"]]
        after = page["next"]
        if not after:
            break
    assert sorted(r for r, _ in seen) == sorted(references)
    dated = [due for _, due in seen if due]
    assert dated == sorted(dated)
    assert seen[-1][1] is None  # the closed appeal, without a pending deadline, comes last
    only = client.get("/api/v1/appeals?state=escalated", headers=officer.headers).get_json()["items"]
    assert [i["reference"] for i in only] == [references[3]]


def test_queue_overdue_filter(factory, client):
    overdue = factory.lodge()  # lodged 20 Sep 2026: its admissibility limit has passed
    fresh = factory.appeal("lodged")
    officer = factory.staff("officer", "DE")
    listed = client.get("/api/v1/appeals?overdue=true", headers=officer.headers).get_json()["items"]
    assert [i["reference"] for i in listed] == [overdue["reference"]]
    assert listed[0]["overdue"] is True
    rest = client.get("/api/v1/appeals?overdue=false", headers=officer.headers).get_json()["items"]
    assert [i["reference"] for i in rest] == [fresh["reference"]]


def test_claimant_status_and_actions(factory, client):
    appeal = factory.appeal("awaiting_claimant")
    headers = {"X-Access-Code": appeal["access_code"]}
    status = client.get(f"/api/v1/status/{appeal['reference']}?lang=en", headers=headers).get_json()
    assert status["state"] == "awaiting_claimant"
    assert status["allowed_actions"] == ["accept_decision", "request_mediation", "request_tribunal", "withdraw"]
    assert [d["kind"] for d in status["deadlines"]] == ["claimant_response"]
    assert status["timeline"][0]["label"] == "Appeal lodged"
    moved = client.post(f"/api/v1/status/{appeal['reference']}/actions", json={"action": "request_tribunal"},
                        headers=headers)
    assert moved.get_json()["state"] == "escalated"
    assert client.post(f"/api/v1/status/{appeal['reference']}/actions", json={"action": "request_tribunal"},
                       headers=headers).status_code == 409


def test_lodging_returns_access_code_once(factory, client):
    lodged = factory.lodge()
    assert len(lodged["access_code"].replace("-", "")) == 24  # 120 bits in base32
    again = factory.get(lodged["reference"])
    assert "access_code" not in again
    with factory.app.app_context():
        row = db.session.exec(select(Appeal).where(Appeal.reference == lodged["reference"])).one()
        assert lodged["access_code"] not in row.access_code_hash and len(row.access_code_hash) == 64


def test_healthz_and_openapi(client):
    assert client.get("/healthz").get_json() == {"status": "ok", "database": "ok"}
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    assert "/api/v1/appeals/{reference}/actions" in document["paths"]
    assert isoformat(now()).endswith("Z")


def test_withdrawal_during_mediation_tells_the_mediator(app, factory, client):
    appeal = factory.appeal("in_mediation")
    factory.act(appeal["reference"], "officer", {"action": "withdraw"})
    officer = factory.staff("officer", "DE")
    items = client.get(f"/api/v1/appeals/{appeal['reference']}/notices", headers=officer.headers).get_json()["items"]
    withdrawal = [n["recipient_role"] for n in items if n["kind"] == "withdraw"]
    assert "mediator" in withdrawal and "claimant" in withdrawal
