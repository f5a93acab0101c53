"""The demo data a newcomer starts with: every stage, work for every demo user, real histories."""

from __future__ import annotations

from collections import Counter

from sqlmodel import select

from casework import demo
from casework.access import visible_filter
from casework.db import db
from casework.events import verify_chain
from casework.models import Appeal, Event, User
from workflows.appeal import STATES


def test_the_demo_gives_every_user_work_and_keeps_every_invariant(app):
    with app.app_context():
        lines = demo.ensure()
        assert len(lines) == 40 and demo.ensure() == lines  # seeded once
        appeals = db.session.exec(select(Appeal)).unique().all()
        assert set(Counter(a.state for a in appeals)) == set(STATES)
        for user in db.session.exec(select(User).where(User.role.in_(("officer", "mediator", "tribunal")))):
            visible = db.session.exec(select(Appeal.id).where(visible_filter(user))).all()
            assert visible, f"{user.email} has nothing to do in the demo"
        for appeal in appeals:
            events = db.session.exec(select(Event).where(Event.appeal_id == appeal.id).order_by(Event.seq)).all()
            assert verify_chain(appeal.reference, events, appeal.last_event_hash) is None
