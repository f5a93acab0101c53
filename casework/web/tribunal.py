"""The tribunal's inbox: appeals referred to the clerk's tribunal and not yet decided or sent
back, longest waiting first, with whether receipt was acknowledged in time and the hearing if one
is set; and the signed case file to download with the browser session, for the tribunal and for
the institution handling the appeal. Acknowledging, scheduling, judging and remitting happen on
the case page each row links to.

The inbox is the tribunals' own: other staff get a 403 page, and someone not signed in is sent to
the sign-in page. A case file someone may not fetch is the same 404 as an unknown reference.
"""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, render_template, request
from flask_login import current_user, login_required
from sqlmodel import select

from casework import referrals
from casework.access import load_case_file
from casework.api.tribunal import signed_bundle, zip_download
from casework.clock import days_left, now
from casework.db import db
from casework.deadlines import schedule
from casework.errors import ValidationFailed
from casework.models import Appeal, Tribunal
from casework.web.cases import staff_timezone

bp = Blueprint("tribunal", __name__, url_prefix="/referrals")
case_files = Blueprint("case_files", __name__, url_prefix="/appeals")
PAGE_SIZE = 25


def _acknowledgement(appeal: Appeal, rows: list, moment) -> dict | None:
    """The deadline for confirming receipt of the latest referral, and where it stands."""
    row = referrals.acknowledgement(rows)
    if row is None:
        return None
    waiting = appeal.state == "escalated"
    return {
        "row": row,
        "waiting": waiting,
        "days_left": days_left(row.due_at, moment),
        "overdue": waiting and (row.status == "missed" or row.due_at < moment),
        "late": row.status == "missed",  # acknowledged, but after the deadline
    }


def _inbox_page(tribunal_code: str, after: str | None) -> tuple[list[dict], str | None]:
    try:
        position = referrals.decode_cursor(after)
    except ValidationFailed:  # a cursor from nowhere: start at the first page
        position = None
    rows = referrals.page(db.session, tribunal_code, position, PAGE_SIZE)
    rows, more = rows[:PAGE_SIZE], len(rows) > PAGE_SIZE
    ids = [row.id for row in rows]
    appeals = {appeal.id: appeal for appeal in db.session.exec(select(Appeal).where(Appeal.id.in_(ids))).unique()}
    deadlines = schedule.listed_for(db.session, ids)  # one query for the page
    moment = now()
    items = [{
        "appeal": appeals[row.id],
        "escalated_at": row.escalated_at,
        "days_waiting": (moment - row.escalated_at).days,
        "acknowledgement": _acknowledgement(appeals[row.id], deadlines.get(row.id, []), moment),
    } for row in rows]
    return items, referrals.encode_cursor(rows[-1].escalated_at, rows[-1].id) if more else None


@bp.get("/")
@login_required
def inbox():
    if current_user.role != "tribunal" or not current_user.tribunal_code:
        abort(403)
    items, next_cursor = _inbox_page(current_user.tribunal_code, request.args.get("after"))
    return render_template(
        "tribunal/inbox.html",
        tribunal=db.session.get(Tribunal, current_user.tribunal_code),
        items=items,
        next_cursor=next_cursor,
        first_page=not request.args.get("after"),
        counts=referrals.counts(db.session, current_user.tribunal_code, now()),
        zone=staff_timezone(current_user),
    )


@case_files.get("/<reference>/bundle.json")
@login_required
def bundle_json(reference: str):
    """The signed case file as a JSON file to save (verify it with ``flask bundle verify``)."""
    appeal = load_case_file(reference, current_user)
    response = jsonify(signed_bundle(appeal))
    response.headers["Content-Disposition"] = f'attachment; filename="{appeal.reference}-bundle.json"'
    response.cache_control.private = True
    return response


@case_files.get("/<reference>/bundle.zip")
@login_required
def bundle_zip(reference: str):
    """The signed case file with every document, in one zip."""
    return zip_download(load_case_file(reference, current_user))
