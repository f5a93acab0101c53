"""Random action sequences (Hypothesis stateful testing) against the real API, checking after
every step the invariants no sequence may break."""

from __future__ import annotations

import tempfile
from datetime import timedelta

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlmodel import select

from casework import create_app, operations
from casework.access import SYSTEM
from casework.clock import now
from casework.db import db, writing
from casework.events import verify_chain
from casework.models import Appeal, Event, QueueEntry
from tests.factories import Factory
from tests.casework.test_operations import VALID_INPUT
from workflows import appeal as w

STAFF_ACTIONS = [a for a in w.ACTIONS if a not in w.TIMER_ACTIONS]


class AppealLifecycle(RuleBasedStateMachine):
    """One appeal, pushed around by officers, mediators, the tribunal, the claimant and timers."""

    def __init__(self):
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory()
        self.app = create_app({
            "TESTING": True, "SECRET_KEY": "stateful", "INSTANCE_PATH": self.tmp.name,
            "DATABASE_URL": f"sqlite:///{self.tmp.name}/casework.db",
        })
        self.client = self.app.test_client()
        self.factory = Factory(self.app, self.client)
        self.versions: list[int] = []

    def teardown(self):
        self.app.extensions["casework.db"].dispose()
        self.tmp.cleanup()

    @initialize(late=st.booleans())
    def lodge(self, late):
        overrides = {"lodged_at": None, "contested_decision__notified_on": None}
        overrides["contested_decision__decision_date"] = "2025-01-10" if late else (now().date() - timedelta(days=2)).isoformat()
        lodged = self.factory.lodge(**overrides)
        self.reference, self.code = lodged["reference"], lodged["access_code"]
        self.versions.append(lodged["version"])
        self.factory.staff("tribunal")
        self.factory.staff("mediator", "DE")

    def _appeal(self):
        return self.factory.get(self.reference)

    @rule(action=st.sampled_from(STAFF_ACTIONS), stale=st.booleans(), with_reason=st.booleans())
    def staff_acts(self, action, stale, with_reason):
        before = self._appeal()
        role = w.WHO[action][0]
        data = dict(VALID_INPUT[action])
        if action == "schedule_hearing":
            data["hearing_at"] = (now() + timedelta(days=20)).isoformat()
        if action == "assign":
            data["user"] = self.factory.staff("officer", "DE").email
        if action == "admit" and with_reason:
            data["late_filing_reason"] = "The claimant was in hospital."
        if action == "decide_review" and with_reason:
            data["outcome"] = "granted"
        version = (before["version"] - 1 or before["version"] + 1) if stale else before["version"]
        staff = self.factory.staff(role, "DE" if role != "tribunal" else None)
        response = self.client.post(f"/api/v1/appeals/{self.reference}/actions",
                                    json={"action": action, "version": version, **data}, headers=staff.headers)
        after = self._appeal()
        if response.status_code == 200:
            assert not stale
            assert after["version"] == before["version"] + 1
            self.versions.append(after["version"])
        else:
            assert response.status_code in (403, 404, 409, 422), response.get_json()
            assert after["version"] == before["version"] and after["state"] == before["state"]
            if stale:
                assert response.status_code in (403, 404, 409)
            elif response.status_code == 409 and action != "extend_mediation":
                assert not w.transitions_for(action, before["state"])

    @rule(action=st.sampled_from(w.CLAIMANT_ACTIONS))
    def claimant_acts(self, action):
        before = self._appeal()
        response = self.client.post(f"/api/v1/status/{self.reference}/actions", json={"action": action},
                                    headers={"X-Access-Code": self.code})
        allowed = action in w.allowed_actions(before["state"], "claimant")
        assert response.status_code == (200 if allowed else 409), response.get_json()
        if allowed:
            self.versions.append(self._appeal()["version"])

    @rule(timer=st.sampled_from(w.TIMER_ACTIONS))
    def timer_fires(self, timer):
        with self.app.app_context(), writing():
            appeal = db.session.exec(select(Appeal).where(Appeal.reference == self.reference)).one()
            if w.transitions_for(timer, appeal.state):
                operations.perform_action(db.session, appeal, SYSTEM, timer)
                db.session.commit()
                self.versions.append(appeal.version)

    @invariant()
    def consistent(self):
        if not hasattr(self, "reference"):
            return
        with self.app.app_context():
            appeal = db.session.exec(select(Appeal).where(Appeal.reference == self.reference)).one()
            assert (appeal.state == "closed") == (appeal.outcome is not None)
            if appeal.outcome:
                assert appeal.outcome in w.OUTCOMES
            events = db.session.exec(select(Event).where(Event.appeal_id == appeal.id).order_by(Event.seq)).all()
            assert verify_chain(appeal.reference, events, appeal.last_event_hash) is None
            assert events[-1].to_state == appeal.state
            assert all(a.to_state == b.from_state for a, b in zip(events, events[1:]))
            assert self.versions == sorted(set(self.versions))
            assert appeal.version == self.versions[-1]
            if appeal.state == "closed":
                assert w.allowed_actions("closed", "officer") == []
            # Each country taking part has the appeal in its officers' queue, as it stands now.
            entries = db.session.exec(select(QueueEntry).where(QueueEntry.appeal_id == appeal.id)).all()
            assert sorted(e.country for e in entries) == sorted(appeal.country_codes)
            assert all((e.next_due_at, e.state) == (appeal.next_due_at, appeal.state) for e in entries)


AppealLifecycle.TestCase.settings = settings(
    max_examples=25, stateful_step_count=20, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestAppealLifecycle = AppealLifecycle.TestCase
