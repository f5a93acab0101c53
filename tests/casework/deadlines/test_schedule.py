"""Deadline rows as operations write them, and an installation's overrides of the rules."""

from datetime import datetime, timezone

import pytest
import time_machine

from tests.factories import Factory

MONDAY = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def at_monday():
    with time_machine.travel(MONDAY, tick=False):
        yield


def _deadline(appeal, kind):
    return [d for d in appeal["deadlines"] if d["kind"] == kind][-1]


def test_default_review_period(factory, at_monday):
    review = _deadline(factory.appeal("under_review"), "review")
    # 30 days from the day after 2 Nov 2026: Wednesday 2 Dec, 23:59:59 in Berlin.
    assert (review["due_on"], review["due_at"], review["timezone"]) == ("2026-12-02", "2026-12-02T22:59:59Z", "Europe/Berlin")


def test_installation_overrides_rules(make_app, at_monday):
    app = make_app(STAGE_PERIODS={"review": "45 days"}, FILING_WINDOWS={"DE": "2 weeks"},
                   TIMEZONES={"DE": "Europe/Busingen"})
    factory = Factory(app, app.test_client())
    appeal = factory.appeal("under_review", claimant__residence_country="DE")
    review = _deadline(appeal, "review")
    assert (review["due_on"], review["timezone"]) == ("2026-12-17", "Europe/Busingen")
    decided = factory.lodge(claimant__residence_country="DE", contested_decision__decision_date="2026-10-01",
                            contested_decision__notified_on="2026-10-01", lodged_at="2026-10-20T10:00:00Z")
    assert (decided["filing_deadline"], decided["filed_in_time"]) == ("2026-10-15", False)


def test_forwarding_counts_in_the_receiving_country(factory, at_monday):
    appeal = factory.lodge(lodged_with_country="FR", lodged_at=None)
    forwarding = _deadline(appeal, "forwarding")
    # 5 French working days from Monday 2 Nov 2026: Tue 3 .. Mon 9 Nov (Wednesday 11 Nov is Armistice Day).
    assert (forwarding["jurisdiction"], forwarding["due_on"]) == ("FR", "2026-11-09")


def test_mediation_extension_adds_fifteen_working_days_once(factory, at_monday):
    appeal = factory.appeal("in_mediation")
    first = _deadline(appeal, "mediation")
    extended = factory.act(appeal["reference"], "officer", {"action": "extend_mediation", "reason": "Records awaited."})
    later = _deadline(extended, "mediation")
    assert later["due_on"] > first["due_on"] and later["status"] == "pending"
    assert extended["mediation_extended"] is True
    again = factory.act(appeal["reference"], "officer", {"action": "extend_mediation", "reason": "Again."}, expect=409)
    assert again["error"]["code"] == "invalid_transition"


def test_withdrawal_cancels_running_deadlines(factory, at_monday):
    appeal = factory.appeal("awaiting_information")
    withdrawn = factory.act(appeal["reference"], "officer", {"action": "withdraw"})
    statuses = {d["kind"]: d["status"] for d in withdrawn["deadlines"]}
    assert statuses == {"admissibility": "met", "review": "cancelled", "information": "cancelled"}
