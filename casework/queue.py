"""The officers' work queue: the appeals a member of staff may see, nearest pending deadline
first (appeals without one last), a page at a time by keyset, so the hundredth page costs what
the first does. The API and the officers' page read it alike.

An officer sees the appeals their country takes part in; their queue walks that country's
``queue_entry`` rows, which carry each appeal's nearest deadline and stage (``sync`` keeps
them). Other roles' queues walk indexes of the appeal table itself."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import and_, func, or_
from sqlalchemy.orm import selectinload
from sqlmodel import Session, select

from casework.access import visible_filter
from casework.clock import now
from casework.errors import ValidationFailed
from casework.models import Appeal, Claimant, QueueEntry, User


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


def sync(session: Session, appeal: Appeal) -> None:
    """Copy the appeal's nearest deadline and stage into the queues of the countries taking part
    (after a step has set them; in the step's transaction)."""
    countries = {c.country for c in appeal.countries}
    entries = {entry.country: entry for entry in session.exec(select(QueueEntry).where(QueueEntry.appeal_id == appeal.id))}
    for country in countries:
        entry = entries.pop(country, None)
        if entry is None:
            session.add(QueueEntry(appeal_id=appeal.id, country=country, next_due_at=appeal.next_due_at, state=appeal.state))
        elif (entry.next_due_at, entry.state) != (appeal.next_due_at, appeal.state):
            entry.next_due_at, entry.state = appeal.next_due_at, appeal.state
    for entry in entries.values():
        session.delete(entry)


def _officer_country(user: User) -> str | None:
    return user.country if user.role == "officer" and user.country else None


def _filtered(user: User, filters: Filters, *, counting: bool = False):
    """The appeals ``user`` may see that ``filters`` select, and the columns the queue sorts by."""
    country = _officer_country(user)
    if country:
        query = select(Appeal).join(QueueEntry, and_(QueueEntry.appeal_id == Appeal.id, QueueEntry.country == country))
        due, ident, state = QueueEntry.next_due_at, QueueEntry.appeal_id, QueueEntry.state
    else:
        query = select(Appeal).where(visible_filter(user))
        due, ident, state = Appeal.next_due_at, Appeal.id, Appeal.state
    if filters.state:
        query = query.where(state == filters.state)
    if filters.handling_country:
        query = query.where(Appeal.handling_country == filters.handling_country)
    if filters.benefit:
        query = query.where(Appeal.benefit == filters.benefit)
    if filters.residence_country:
        query = query.join(Claimant, Claimant.id == Appeal.claimant_id).where(
            Claimant.residence_country == filters.residence_country)
    if filters.overdue:
        query = query.where(or_(due < now(), Appeal.overdue_since.is_not(None)))
    elif filters.overdue is False:
        query = query.where(Appeal.overdue_since.is_(None), or_(due.is_(None), due >= now()))
    return query, due, ident, state


def page(session: Session, user: User, filters: Filters, after: str | None, limit: int) -> tuple[list[Appeal], str | None]:
    """One page of the queue and the cursor of the next (None on the last)."""
    base, due, ident, _state = _filtered(user, filters)
    base = base.options(
        selectinload(Appeal.claimant).selectinload(Claimant.personal_ids),
        selectinload(Appeal.decision_institution),
        selectinload(Appeal.handling_institution),
    )
    position = decode_cursor(after)
    items: list[Appeal] = []
    # Two index walks instead of one sort with NULLs last: appeals with a deadline, then without.
    if position is None or position[0] is not None:
        dated = base.where(due.is_not(None))
        if position is not None:
            dated = dated.where(or_(due > position[0], (due == position[0]) & (ident > position[1])))
        items = list(session.exec(dated.order_by(due, ident).limit(limit + 1)).unique())
    if len(items) <= limit:
        undated = base.where(due.is_(None))
        if position is not None and position[0] is None:
            undated = undated.where(ident > position[1])
        items += list(session.exec(undated.order_by(ident).limit(limit + 1 - len(items))).unique())
    shown = items[:limit]
    return shown, encode_cursor(shown[-1]) if len(items) > limit else None


def counts_by_state(session: Session, user: User, filters: Filters) -> dict[str, int]:
    """How many of the appeals the filters select are at each stage (the state filter aside).
    Without other filters, an officer's counts are one range of the country's queue index."""
    country = _officer_country(user)
    rest = {**filters.__dict__, "state": None}
    if country and not any(rest.values()):
        rows = session.exec(select(QueueEntry.state, func.count()).where(QueueEntry.country == country)
                            .group_by(QueueEntry.state))
    else:
        query, _due, _ident, state = _filtered(user, Filters(**rest))
        grouped = query.with_only_columns(state.label("state")).subquery()
        rows = session.exec(select(grouped.c.state, func.count()).group_by(grouped.c.state))
    return {state: count for state, count in rows}
