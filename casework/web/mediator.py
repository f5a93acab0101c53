"""A mediator's list: the mediations they run now (assigned to them, or unassigned in their
country), nearest end of mediation first, and those assigned to them that ended in the last 90
days and how. Extending, settling and ending happen on the case page each row links to.

The list is the mediators' own: other staff get a 403 page (they have lists of their own), and
someone not signed in is sent to the sign-in page.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, render_template, request
from flask_login import current_user, login_required
from sqlalchemy import func
from sqlmodel import select

from casework import queue
from casework.access import visible_filter
from casework.clock import days_left, now
from casework.db import db
from casework.deadlines import schedule
from casework.errors import ValidationFailed
from casework.models import Appeal, Event
from casework.web.cases import staff_timezone

bp = Blueprint("mediator", __name__, url_prefix="/mediations")
PAGE_SIZE = 25
ENDING_SOON = timedelta(days=7)
RECENT = timedelta(days=90)
ENDED_SHOWN = 100
_IN_MEDIATION = queue.Filters(state="in_mediation")


def _mediation_deadlines(appeals: list[Appeal], moment) -> dict[int, dict]:
    """Each appeal's running end of mediation, with days left and whether it has passed."""
    rows = schedule.listed_for(db.session, [appeal.id for appeal in appeals])
    found = {}
    for appeal_id, listed in rows.items():
        running = [row for row in listed if row.kind == "mediation" and row.status in schedule.OPEN_STATUSES]
        if running:
            row = running[-1]
            found[appeal_id] = {"row": row, "days_left": days_left(row.due_at, moment), "overdue": row.due_at < moment}
    return found


def _counts(moment) -> dict[str, int]:
    mine = select(func.count()).select_from(Appeal).where(visible_filter(current_user), Appeal.state == "in_mediation")
    return {
        "open": db.session.exec(mine).one(),
        "soon": db.session.exec(mine.where(Appeal.next_due_at >= moment, Appeal.next_due_at < moment + ENDING_SOON)).one(),
        "overdue": db.session.exec(mine.where(Appeal.next_due_at < moment)).one(),
    }


def _ended(moment) -> list[tuple[Appeal, Event]]:
    """Mediations that ended in the last 90 days on appeals the mediator may still see (those
    assigned to them), latest first, each with the step that ended it."""
    ends = db.session.exec(
        select(Appeal, Event)
        .join(Event, Event.appeal_id == Appeal.id)
        .where(visible_filter(current_user), Appeal.state != "in_mediation",
               Event.from_state == "in_mediation", Event.to_state != "in_mediation",
               Event.occurred_at >= moment - RECENT)
        .order_by(Event.occurred_at.desc(), Event.id.desc())
        .limit(ENDED_SHOWN)
    ).unique().all()
    latest: dict[int, tuple[Appeal, Event]] = {}
    for appeal, event in ends:
        latest.setdefault(appeal.id, (appeal, event))
    return list(latest.values())


@bp.get("/")
@login_required
def mediations():
    if current_user.role != "mediator":
        abort(403)
    moment = now()
    try:
        appeals, next_cursor = queue.page(db.session, current_user, _IN_MEDIATION, request.args.get("after"), PAGE_SIZE)
    except ValidationFailed:  # a cursor from nowhere: start at the first page
        appeals, next_cursor = queue.page(db.session, current_user, _IN_MEDIATION, None, PAGE_SIZE)
    return render_template(
        "mediator/mediations.html",
        appeals=appeals,
        deadlines=_mediation_deadlines(appeals, moment),
        next_cursor=next_cursor,
        first_page=not request.args.get("after"),
        counts=_counts(moment),
        ended=_ended(moment),
        ended_shown=ENDED_SHOWN,
        zone=staff_timezone(current_user),
    )
