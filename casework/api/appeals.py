"""Staff endpoints: lodge, read, list and act on appeals; read their events and notices."""

from __future__ import annotations


from flask import current_app, jsonify, request
from flask_babel import gettext as _
from spectree import Response
from sqlmodel import select

from casework import operations, queue, ratelimits, schemas
from casework.access import Actor, current_staff, load_visible, require_can_act
from casework.api.blueprint import bp
from casework.api.serializers import appeal_json, event_json, notice_json
from casework.api.spec import spec
from casework.db import db
from casework.deadlines import schedule
from casework.documents import documents_for
from casework.errors import Forbidden
from casework.models import Event, Notice

_ERRORS = {f"HTTP_{code}": schemas.ErrorOut for code in (400, 401, 403, 404, 409, 413, 415, 422)}
_LODGE_ERRORS = {**_ERRORS, "HTTP_429": schemas.ErrorOut}


@bp.post("/appeals")
@ratelimits.lodging("RATELIMIT_LODGE_API")
@spec.validate(json=schemas.LodgeIn, resp=Response(HTTP_201=schemas.LodgedAppealOut, **_LODGE_ERRORS), tags=["appeals"],
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


@bp.get("/appeals")
@spec.validate(query=schemas.QueueQuery, resp=Response(HTTP_200=schemas.AppealPage, **_ERRORS), tags=["appeals"],
               security={"bearer": []})
def list_appeals():
    """The work queue: nearest pending deadline first, appeals without one last; keyset-paginated."""
    user = current_staff()
    query: schemas.QueueQuery = request.context.query
    filters = queue.Filters(state=query.state, handling_country=query.handling_country, benefit=query.benefit,
                            overdue=query.overdue)
    page, next_cursor = queue.page(db.session, user, filters, query.after, query.limit)
    ids = [appeal.id for appeal in page]
    deadlines = schedule.listed_for(db.session, ids)  # one query each for the page, not per appeal
    documents = documents_for(db.session, ids)
    return jsonify({
        "items": [appeal_json(db.session, appeal, user, deadlines.get(appeal.id, []), documents.get(appeal.id, []))
                  for appeal in page],
        "next": next_cursor,
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

