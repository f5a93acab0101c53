"""Staff endpoints: lodge, read, list and act on appeals; read their events and notices."""

from __future__ import annotations

import base64
import json
from datetime import datetime

from flask import current_app, jsonify, request
from flask_babel import gettext as _
from spectree import Response
from sqlalchemy import or_
from sqlalchemy.orm import selectinload
from sqlmodel import select

from casework import operations, schemas
from casework.access import Actor, current_staff, load_visible, require_can_act, visible_filter
from casework.api.blueprint import bp
from casework.api.serializers import appeal_json, event_json, notice_json
from casework.api.spec import spec
from casework.clock import now
from casework.db import db
from casework.deadlines import schedule
from casework.documents import documents_for
from casework.errors import Forbidden, ValidationFailed
from casework.models import Appeal, Claimant, Event, Notice

_ERRORS = {f"HTTP_{code}": schemas.ErrorOut for code in (400, 401, 403, 404, 409, 415, 422)}


@bp.post("/appeals")
@spec.validate(json=schemas.LodgeIn, resp=Response(HTTP_201=schemas.LodgedAppealOut, **_ERRORS), tags=["appeals"],
               security={"bearer": []})
def lodge():
    """Lodge an appeal on a claimant's behalf; returns the access code once."""
    user = current_staff()
    if user.role != "officer":
        raise Forbidden(_("Only appeals officers lodge appeals on a claimant's behalf."))
    data = request.context.json.model_dump()
    appeal, access_code = operations.lodge_appeal(db.session, data, Actor.staff(user), current_app.config)
    db.session.commit()
    body = appeal_json(db.session, appeal, user)
    body["access_code"] = access_code
    return jsonify(body), 201


@bp.get("/appeals/<reference>")
@spec.validate(resp=Response(HTTP_200=schemas.AppealOut, **_ERRORS), tags=["appeals"], security={"bearer": []})
def show(reference: str):
    """One appeal with its deadlines and the actions the caller may take now."""
    user = current_staff()
    return jsonify(appeal_json(db.session, load_visible(reference, user), user))


def _cursor(value: str | None) -> tuple[datetime | None, int] | None:
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


def _make_cursor(appeal: Appeal) -> str:
    raw = json.dumps({"d": appeal.next_due_at.isoformat() if appeal.next_due_at else None, "i": appeal.id})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@bp.get("/appeals")
@spec.validate(query=schemas.QueueQuery, resp=Response(HTTP_200=schemas.AppealPage, **_ERRORS), tags=["appeals"],
               security={"bearer": []})
def queue():
    """The work queue: nearest pending deadline first, appeals without one last; keyset-paginated."""
    user = current_staff()
    query: schemas.QueueQuery = request.context.query
    base = select(Appeal).where(visible_filter(user)).options(
        selectinload(Appeal.claimant).selectinload(Claimant.personal_ids),
        selectinload(Appeal.decision_institution),
        selectinload(Appeal.handling_institution),
    )
    if query.state:
        base = base.where(Appeal.state == query.state)
    if query.handling_country:
        base = base.where(Appeal.handling_country == query.handling_country)
    if query.benefit:
        base = base.where(Appeal.benefit == query.benefit)
    if query.overdue:
        base = base.where(or_(Appeal.next_due_at < now(), Appeal.overdue_since.is_not(None)))
    elif query.overdue is False:
        base = base.where(Appeal.overdue_since.is_(None), or_(Appeal.next_due_at.is_(None), Appeal.next_due_at >= now()))
    after = _cursor(query.after)
    limit = query.limit
    items: list[Appeal] = []
    # Two index walks instead of one sort with NULLs last: appeals with a deadline, then without.
    if after is None or after[0] is not None:
        dated = base.where(Appeal.next_due_at.is_not(None))
        if after is not None:
            dated = dated.where(or_(Appeal.next_due_at > after[0], (Appeal.next_due_at == after[0]) & (Appeal.id > after[1])))
        items = list(db.session.exec(dated.order_by(Appeal.next_due_at, Appeal.id).limit(limit + 1)).unique())
    if len(items) <= limit:
        undated = base.where(Appeal.next_due_at.is_(None))
        if after is not None and after[0] is None:
            undated = undated.where(Appeal.id > after[1])
        items += list(db.session.exec(undated.order_by(Appeal.id).limit(limit + 1 - len(items))).unique())
    page, more = items[:limit], len(items) > limit
    ids = [appeal.id for appeal in page]
    deadlines = schedule.listed_for(db.session, ids)  # one query each for the page, not per appeal
    documents = documents_for(db.session, ids)
    return jsonify({
        "items": [appeal_json(db.session, appeal, user, deadlines.get(appeal.id, []), documents.get(appeal.id, []))
                  for appeal in page],
        "next": _make_cursor(page[-1]) if more else None,
    })


@bp.post("/appeals/<reference>/actions")
@spec.validate(json=schemas.ActionRequest, resp=Response(HTTP_200=schemas.AppealOut, **_ERRORS), tags=["appeals"],
               security={"bearer": []})
def act(reference: str):
    """Take one action on an appeal, sending the version you saw."""
    user = current_staff()
    appeal = load_visible(reference, user, lock=True)
    require_can_act(user, appeal)
    action = request.context.json.root
    data = {k: v for k, v in action.model_dump(by_alias=True).items() if v is not None}
    operations.perform_action(
        db.session, appeal, Actor.staff(user), action.action, data,
        expected_version=action.version, occurred_at=action.occurred_at,
    )
    db.session.commit()
    return jsonify(appeal_json(db.session, appeal, user))


@bp.get("/appeals/<reference>/events")
@spec.validate(resp=Response(HTTP_200=schemas.EventList, **_ERRORS), tags=["appeals"], security={"bearer": []})
def events(reference: str):
    """The appeal's full, hash-chained history."""
    appeal = load_visible(reference, current_staff())
    rows = db.session.exec(select(Event).where(Event.appeal_id == appeal.id).order_by(Event.seq)).all()
    return jsonify({"items": [event_json(e) for e in rows]})


@bp.get("/appeals/<reference>/notices")
@spec.validate(resp=Response(HTTP_200=schemas.NoticeList, **_ERRORS), tags=["appeals"], security={"bearer": []})
def notices(reference: str):
    """Every notice the appeal caused, as issued (language, subject and body stored at the time)."""
    appeal = load_visible(reference, current_staff())
    rows = db.session.exec(select(Notice).where(Notice.appeal_id == appeal.id).order_by(Notice.id)).all()
    return jsonify({"items": [notice_json(n) for n in rows]})

