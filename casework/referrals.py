"""Appeals before a tribunal: referred to it and waiting for its acknowledgement, or acknowledged
and not yet judged, longest waiting first, a page at a time by keyset. The API's referrals list
and the tribunal's inbox page read them alike."""

from __future__ import annotations

import base64
import json
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, tuple_
from sqlmodel import Session, select

from casework.errors import ValidationFailed
from casework.models import Appeal, Deadline

# Before the tribunal: referred and waiting for acknowledgement, or acknowledged. A remitted
# appeal is back with the institution and leaves the list until it is escalated again.
BEFORE_TRIBUNAL = ("escalated", "before_tribunal")


def decode_cursor(value: str | None) -> tuple[datetime, int] | None:
    """The position a cursor names; 422 naming ``after`` for anything this code did not make."""
    if not value:
        return None
    try:
        raw = json.loads(base64.urlsafe_b64decode(value.encode() + b"==="))
        escalated, last_id = datetime.fromisoformat(raw["e"]), raw["i"]
        if escalated.tzinfo is None or type(last_id) is not int or not 0 <= last_id < 2**63:
            raise ValueError("out of range")
        return escalated, last_id
    except (ValueError, KeyError, TypeError, OverflowError, RecursionError):
        raise ValidationFailed.field("after", _("is not a cursor this API returned")) from None


def encode_cursor(escalated: datetime, appeal_id: int) -> str:
    raw = json.dumps({"e": escalated.isoformat(), "i": appeal_id})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def page(session: Session, tribunal_code: str, after: tuple[datetime, int] | None, limit: int) -> list:
    """``(id, escalated_at)`` of the referrals after the cursor, one more than a page so that the
    caller knows whether another follows. ``referred_at`` (set by the escalation, cleared when the
    appeal leaves the tribunal) is read in order from ``ix_appeal_referrals``: a page costs a page,
    however many referrals the tribunal has had."""
    query = select(Appeal.id.label("id"), Appeal.referred_at.label("escalated_at")).where(
        Appeal.tribunal_code == tribunal_code, Appeal.referred_at.is_not(None), Appeal.state.in_(BEFORE_TRIBUNAL))
    if after is not None:
        # A row-value comparison (its values bound with the columns' types), which both databases
        # read as one range of the index.
        query = query.where(tuple_(Appeal.referred_at, Appeal.id) > (after[0], after[1]))
    return list(session.exec(query.order_by(Appeal.referred_at, Appeal.id).limit(limit + 1)))


def next_deadline(rows: list[Deadline]) -> Deadline | None:
    """The nearest running deadline among an appeal's listed ones."""
    pending = [row for row in rows if row.status == "pending"]
    return min(pending, key=lambda r: r.due_at) if pending else None


def acknowledgement(rows: list[Deadline]) -> Deadline | None:
    """The deadline for acknowledging the latest referral (an appeal remitted and referred again
    has one per referral); it stays listed, missed, when it passed unacknowledged."""
    return next((row for row in reversed(rows) if row.kind == "tribunal_acknowledgement"), None)


def counts(session: Session, tribunal_code: str, moment: datetime) -> dict[str, int]:
    """How many referrals wait for acknowledgement, how many of those are late, how many are
    acknowledged."""
    before = and_(Appeal.tribunal_code == tribunal_code, Appeal.state.in_(BEFORE_TRIBUNAL))
    by_state = dict(session.exec(select(Appeal.state, func.count()).where(before).group_by(Appeal.state)).all())
    late = session.exec(
        select(func.count()).select_from(Appeal).where(
            before, Appeal.state == "escalated",
            or_(Appeal.overdue_since.is_not(None), Appeal.next_due_at < moment))
    ).one()
    return {"unacknowledged": by_state.get("escalated", 0), "late": late,
            "acknowledged": by_state.get("before_tribunal", 0)}
