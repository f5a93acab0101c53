"""The work queue of appeals officers: the appeals they may see, nearest deadline first,
filtered by stage, benefit, the claimant's country and overdue, a page at a time, with the count
at each stage."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user, login_required

from casework import queue
from casework.countries import is_country
from casework.clock import now
from casework.db import db
from casework.errors import ValidationFailed
from casework.models import BENEFITS
from casework.web.cases import staff_timezone
from workflows.appeal import STATES

bp = Blueprint("officer", __name__, url_prefix="/queue")
PAGE_SIZE = 25


def _filters() -> queue.Filters:
    """The filters of the query string; anything not recognised is ignored, never an error page."""
    args = request.args
    country = (args.get("country") or "").upper()
    overdue = {"yes": True, "no": False}.get(args.get("overdue", ""))
    return queue.Filters(
        state=args.get("state") if args.get("state") in STATES else None,
        benefit=args.get("benefit") if args.get("benefit") in BENEFITS else None,
        residence_country=country if is_country(country) else None,
        overdue=overdue,
    )


@bp.get("/")
@login_required
def work_queue():
    filters = _filters()
    try:
        appeals, next_cursor = queue.page(db.session, current_user, filters, request.args.get("after"), PAGE_SIZE)
    except ValidationFailed:  # a cursor from nowhere: start at the first page
        appeals, next_cursor = queue.page(db.session, current_user, filters, None, PAGE_SIZE)
    counts = queue.counts_by_state(db.session, current_user, filters)
    return render_template("officer/queue.html", appeals=appeals, next_cursor=next_cursor, filters=filters,
                           counts=counts, total=sum(counts.values()), states=STATES, benefits=BENEFITS,
                           now=now(), zone=staff_timezone(current_user))



