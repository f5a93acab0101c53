"""The officers' work queue: the appeals a member of staff may see, nearest pending deadline
first (appeals without one last), a page at a time by keyset, so the hundredth page costs what
the first does. The API and the officers' page read it alike."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, or_
from sqlalchemy.orm import selectinload
from sqlmodel import Session, select

from casework.access import visible_filter
from casework.clock import now
from casework.errors import ValidationFailed
from casework.models import Appeal, Claimant, User


@dataclass(frozen=True)
class Filters:
    state: str | None = None
    handling_country: str | None = None
    benefit: str | None = None
    residence_country: str | None = None
    overdue: bool | None = None


def decode_cursor(value: str | None) -> tuple[datetime | None, int] | None:
    """The position a cursor names; 422 naming ``after`` for anything this code did not make."""
    if not value:
        return None
    try:
        raw = json.loads(base64.urlsafe_b64decode(value.encode() + b"==="))
        due = datetime.fromisoformat(raw["d"]) if raw["d"] else None
        last_id = raw["i"]
        if type(last_id) is not int or not 0 <= last_id < 2**63 or (due is not None and due.tzinfo is None):
            raise ValueError("out of range")
        return due, last_id
    except (ValueError, KeyError, TypeError, OverflowError, RecursionError):
        raise ValidationFailed.field("after", _("is not a cursor this API returned")) from None


def encode_cursor(appeal: Appeal) -> str:
    raw = json.dumps({"d": appeal.next_due_at.isoformat() if appeal.next_due_at else None, "i": appeal.id})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _filtered(user: User, filters: Filters):
    query = select(Appeal).where(visible_filter(user))
    if filters.state:
        query = query.where(Appeal.state == filters.state)
    if filters.handling_country:
        query = query.where(Appeal.handling_country == filters.handling_country)
    if filters.benefit:
        query = query.where(Appeal.benefit == filters.benefit)
    if filters.residence_country:
        query = query.join(Claimant, Claimant.id == Appeal.claimant_id).where(
            Claimant.residence_country == filters.residence_country)
    if filters.overdue:
        query = query.where(or_(Appeal.next_due_at < now(), Appeal.overdue_since.is_not(None)))
    elif filters.overdue is False:
        query = query.where(Appeal.overdue_since.is_(None), or_(Appeal.next_due_at.is_(None), Appeal.next_due_at >= now()))
    return query


def page(session: Session, user: User, filters: Filters, after: str | None, limit: int) -> tuple[list[Appeal], str | None]:
    """One page of the queue and the cursor of the next (None on the last)."""
    base = _filtered(user, filters).options(
        selectinload(Appeal.claimant).selectinload(Claimant.personal_ids),
        selectinload(Appeal.decision_institution),
        selectinload(Appeal.handling_institution),
    )
    position = decode_cursor(after)
    items: list[Appeal] = []
    # Two index walks instead of one sort with NULLs last: appeals with a deadline, then without.
    if position is None or position[0] is not None:
        dated = base.where(Appeal.next_due_at.is_not(None))
        if position is not None:
            dated = dated.where(or_(Appeal.next_due_at > position[0],
                                    (Appeal.next_due_at == position[0]) & (Appeal.id > position[1])))
        items = list(session.exec(dated.order_by(Appeal.next_due_at, Appeal.id).limit(limit + 1)).unique())
    if len(items) <= limit:
        undated = base.where(Appeal.next_due_at.is_(None))
        if position is not None and position[0] is None:
            undated = undated.where(Appeal.id > position[1])
        items += list(session.exec(undated.order_by(Appeal.id).limit(limit + 1 - len(items))).unique())
    shown = items[:limit]
    return shown, encode_cursor(shown[-1]) if len(items) > limit else None


def counts_by_state(session: Session, user: User, filters: Filters) -> dict[str, int]:
    """How many of the appeals the filters select are at each stage (the state filter aside)."""
    query = _filtered(user, Filters(**{**filters.__dict__, "state": None})).subquery()
    rows = session.exec(select(query.c.state, func.count()).group_by(query.c.state))
    return {state: count for state, count in rows}
