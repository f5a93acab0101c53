"""The deadline sweep: each timer fires once, moves the appeal as DESIGN §2 says, catches up
after downtime, and is safe with two sweepers at once. Time is moved, never slept on."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from sqlmodel import select

from casework.db import db, writing
from casework.deadlines.sweep import sweep
from casework.models import Appeal, Deadline, Notice

START = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)  # a Monday


def _due(appeal: dict, kind: str) -> datetime:
    row = [d for d in appeal["deadlines"] if d["kind"] == kind and d["status"] in ("pending", "paused")][0]
    return datetime.fromisoformat(row["due_at"].replace("Z", "+00:00"))


def _sweep(app):
    with app.app_context():
        return sweep()


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def test_review_timeout_is_a_deemed_refusal(app, factory, client, clock):
    appeal = factory.appeal("under_review")
    review_due = _due(appeal, "review")
    clock.move_to(review_due - timedelta(seconds=1))
    fired_early = _sweep(app)
    assert factory.get(appeal["reference"])["state"] == "under_review"
    assert fired_early.fired == 1  # only the staff reminder, five working days before, is due
    clock.move_to(review_due + timedelta(hours=3))
    result = _sweep(app)
    assert (result.fired, result.failed) == (1, 0)
    after = factory.get(appeal["reference"])
    assert (after["state"], after["review_outcome"]) == ("awaiting_claimant", "refused")
    review = [d for d in after["deadlines"] if d["kind"] == "review"][0]
    assert review["status"] == "missed"
    # The claimant's month runs from when the refusal is deemed and they are told, not from the missed date.
    response = [d for d in after["deadlines"] if d["kind"] == "claimant_response"][0]
    assert response["status"] == "pending" and response["due_on"] == "2027-01-04"  # 3 Jan 2027 is a Sunday
    status = client.get(f"/api/v1/status/{appeal['reference']}?lang=en",
                        headers={"X-Access-Code": appeal["access_code"]}).get_json()
    assert status["stage"] == "Waiting for your decision"
    assert status["timeline"][-1]["label"] == "No review decision in time: treated as refused"
    assert [d["kind"] for d in status["deadlines"]] == ["claimant_response"]
    assert "request_tribunal" in status["allowed_actions"]
    assert _sweep(app).fired == 0  # a second sweep finds nothing new


def test_response_timeout_makes_the_review_final(app, factory, clock):
    appeal = factory.appeal("awaiting_claimant")
    clock.move_to(_due(appeal, "claimant_response") + timedelta(minutes=1))
    _sweep(app)
    after = factory.get(appeal["reference"])
    assert (after["state"], after["outcome"]) == ("closed", "refused")


def test_information_timeout_resumes_review_with_the_paused_time_added(app, factory, clock):
    appeal = factory.appeal("under_review")
    review_due = _due(appeal, "review")
    clock.shift(timedelta(days=3))
    factory.act(appeal["reference"], "officer",
                {"action": "request_information", "from": "institution", "items": ["ZUS records"], "due_in_days": 7})
    paused = factory.get(appeal["reference"])
    assert [d["status"] for d in paused["deadlines"] if d["kind"] == "review"] == ["paused"]
    info_due = _due(paused, "information")
    clock.move_to(info_due + timedelta(minutes=5))
    _sweep(app)
    after = factory.get(appeal["reference"])
    assert after["state"] == "under_review"
    paused_for = info_due + timedelta(minutes=5) - (START + timedelta(days=3))
    assert _due(after, "review") == review_due + paused_for or _due(after, "review").time().isoformat() == "22:59:59"


def test_receiving_information_shifts_review_by_exactly_the_pause(app, factory, clock):
    weekend, weekday = factory.appeal("under_review"), factory.appeal("under_review")
    review_due = _due(weekend, "review")  # 2 Dec 2026, 23:59:59 in Berlin (a Wednesday)
    assert review_due == datetime(2026, 12, 2, 22, 59, 59, tzinfo=timezone.utc) == _due(weekday, "review")
    for appeal in (weekend, weekday):
        factory.act(appeal["reference"], "officer", {"action": "request_information", "from": "claimant", "items": ["x"]})
    clock.shift(timedelta(hours=7))
    shifted = factory.act(weekday["reference"], "officer", {"action": "receive_information"})
    # 7 hours: Thursday 3 Dec 06:59:59 in Berlin, a working day, so exactly 7 hours later.
    assert _due(shifted, "review") == review_due + timedelta(hours=7)
    clock.shift(timedelta(days=2, hours=-2))
    resumed = factory.act(weekend["reference"], "officer", {"action": "receive_information"})
    # 2 days 5 hours: Saturday 5 Dec 04:59:59 local, not a working day -> end of Monday 7 Dec.
    assert _due(resumed, "review") == datetime(2026, 12, 7, 22, 59, 59, tzinfo=timezone.utc)


def test_mediation_timeout_escalates(app, factory, clock):
    appeal = factory.appeal("in_mediation")
    clock.move_to(_due(appeal, "mediation") + timedelta(seconds=1))
    _sweep(app)
    after = factory.get(appeal["reference"])
    assert (after["state"], after["tribunal"]) == ("escalated", "CBSST")
    assert [d["kind"] for d in after["deadlines"] if d["status"] == "pending"] == ["tribunal_acknowledgement"]


def test_overdue_flag_changes_no_state_and_tells_the_institution(app, factory, clock):
    appeal = factory.appeal("escalated")
    clock.move_to(_due(appeal, "tribunal_acknowledgement") + timedelta(seconds=1))
    assert _sweep(app).fired == 1
    after = factory.get(appeal["reference"])
    assert after["state"] == "escalated" and after["overdue"] is True
    assert [d["status"] for d in after["deadlines"] if d["kind"] == "tribunal_acknowledgement"] == ["missed"]
    with app.app_context():
        kinds = db.session.exec(select(Notice.kind, Notice.recipient_role).where(Notice.kind == "overdue")).all()
        assert ("overdue", "institution") in kinds and ("overdue", "claimant") not in kinds
    acknowledged = factory.act(appeal["reference"], "tribunal", {"action": "acknowledge_referral"})
    assert acknowledged["overdue"] is False


def test_claimant_reminder_seven_days_before(app, factory, clock):
    appeal = factory.appeal("awaiting_claimant")
    due = _due(appeal, "claimant_response")
    clock.move_to(due - timedelta(days=7, hours=-1))
    assert _sweep(app).fired == 1
    assert factory.get(appeal["reference"])["state"] == "awaiting_claimant"
    with app.app_context():
        reminders = db.session.exec(select(Notice).where(Notice.kind == "reminder")).all()
        assert {n.recipient_role for n in reminders} >= {"claimant"}


def test_hearing_reminders_seven_days_and_one_day_before(app, factory, clock):
    appeal = factory.appeal("before_tribunal")
    hearing = START + timedelta(days=20)
    factory.act(appeal["reference"], "tribunal",
                {"action": "schedule_hearing", "hearing_at": hearing.isoformat(), "mode": "video"})
    clock.move_to(hearing - timedelta(days=7))
    assert _sweep(app).fired == 1
    clock.move_to(hearing - timedelta(days=1))
    assert _sweep(app).fired == 1
    with app.app_context():
        assert len({n.recipient_role for n in db.session.exec(select(Notice).where(Notice.kind == "hearing_reminder"))}) >= 2


def test_sweep_after_downtime_catches_up(app, factory, clock):
    appeals = [factory.appeal(state) for state in ("under_review", "awaiting_claimant", "in_mediation")]
    clock.shift(timedelta(days=400))  # nothing ran for over a year
    first = _sweep(app)
    states = [factory.get(a["reference"])["state"] for a in appeals]
    # under_review -> deemed refusal (its new month has also run out by the next sweep)
    assert states == ["awaiting_claimant", "closed", "escalated"]
    assert first.failed == 0
    clock.shift(timedelta(days=40))
    _sweep(app)
    assert factory.get(appeals[0]["reference"])["state"] == "closed"


def test_two_sweepers_fire_each_deadline_once(app, factory, clock):
    appeals = [factory.appeal("under_review") for _ in range(12)]
    clock.shift(timedelta(days=60))
    results = []
    barrier = threading.Barrier(2)

    def run():
        with app.app_context():
            barrier.wait()
            results.append(sweep(batch_size=5))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with app.app_context():
        missed_reviews = db.session.exec(
            select(Deadline).where(Deadline.kind == "review", Deadline.status == "missed")).all()
        assert len(missed_reviews) == 12
        timed_out = [a for a in db.session.exec(select(Appeal)).all() if a.state == "awaiting_claimant"]
        assert len(timed_out) == 12
        assert all(a.last_event_seq == 3 for a in timed_out)  # lodge, admit, review_timeout: once
    assert sum(r.failed for r in results) == 0
    assert sum(r.fired for r in results) == 12 * 2  # each review timeout and its reminder, once
    assert len(appeals) == 12


def test_a_failing_deadline_is_recorded_and_does_not_stop_the_sweep(app, factory, clock):
    broken, fine = factory.appeal("under_review"), factory.appeal("under_review")
    with app.app_context(), writing():
        # A review deadline left pending on an appeal no longer under review: the workflow refuses it.
        row = db.session.exec(select(Appeal).where(Appeal.reference == broken["reference"])).one()
        row.state, row.outcome = "closed", "withdrawn"
        db.session.commit()
    clock.shift(timedelta(days=60))
    result = _sweep(app)
    assert result.failed == 1 and result.fired >= 1
    assert factory.get(fine["reference"])["state"] == "awaiting_claimant"
    with app.app_context():
        failed = db.session.exec(select(Deadline).where(Deadline.attempts > 0)).one()
        assert failed.status == "pending" and "not possible" in failed.last_error and failed.retry_at is not None
    assert _sweep(app).failed == 0  # waits for its retry time instead of failing again at once


def test_cli_sweep_prints_summary(app, factory, runner, clock):
    factory.appeal("under_review")
    clock.shift(timedelta(days=60))
    result = runner.invoke(args=["deadlines", "sweep"])
    assert result.exit_code == 0
    assert result.output.strip().splitlines()[-1] == "fired 2, failed 0"
