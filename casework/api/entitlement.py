"""The insurance history of an appeal and the entitlement calculations run on it, for staff:
officers enter and check periods and run calculations. The claimant's side (proposing a period,
reading the latest calculation) is with their other endpoints, in ``casework/api/status.py``."""

from __future__ import annotations

from flask import jsonify, request
from flask_babel import gettext as _
from spectree import Response

from casework import schemas
from casework.access import Actor, current_staff, load_visible, require_can_act
from casework.api.blueprint import bp
from casework.api.serializers import calculation_json
from casework.api.spec import spec
from casework.countries import LANGUAGES
from casework.db import db
from casework.entitlement import operations
from casework.errors import Forbidden, NotFound
from casework.models import Appeal, User

_ERRORS = {f"HTTP_{code}": schemas.ErrorOut for code in (400, 401, 403, 404, 409, 413, 415, 422)}
_STAFF = {"bearer": []}


def _staff_language(appeal: Appeal) -> str:
    """``?lang=``, else the claimant's language: the explanation is written for them."""
    chosen = request.args.get("lang")
    return chosen if chosen in LANGUAGES else appeal.claimant.preferred_language


def _officer_acting(reference: str) -> tuple[User, Appeal]:
    user = current_staff()
    appeal = load_visible(reference, user, lock=True)
    require_can_act(user, appeal)
    if user.role != "officer":
        raise Forbidden(_("Only appeals officers enter periods and run calculations."))
    return user, appeal


@bp.get("/appeals/<reference>/periods")
@spec.validate(resp=Response(HTTP_200=schemas.PeriodList, **_ERRORS), tags=["entitlement"], security=_STAFF)
def periods(reference: str):
    """The appeal's insurance history: every period entered or proposed, and what became of it."""
    appeal = load_visible(reference, current_staff())
    return jsonify({"items": [operations.period_json(p) for p in operations.periods_of(db.session, appeal)]})


@bp.post("/appeals/<reference>/periods")
@spec.validate(json=schemas.PeriodIn, resp=Response(HTTP_201=schemas.PeriodOut, **_ERRORS), tags=["entitlement"],
               security=_STAFF)
def enter_period(reference: str):
    """Enter a period from another institution's certified record (counted at once)."""
    user, appeal = _officer_acting(reference)
    period = operations.enter_period(db.session, appeal, Actor.staff(user), request.context.json.model_dump())
    db.session.commit()
    return jsonify(operations.period_json(period)), 201


@bp.post("/appeals/<reference>/periods/<int:period_id>/decision")
@spec.validate(json=schemas.PeriodDecisionIn, resp=Response(HTTP_200=schemas.PeriodOut, **_ERRORS),
               tags=["entitlement"], security=_STAFF)
def decide_period(reference: str, period_id: int):
    """Confirm or reject a period the claimant proposed, or withdraw a confirmed one."""
    user, appeal = _officer_acting(reference)
    body: schemas.PeriodDecisionIn = request.context.json
    period = operations.decide_period(db.session, appeal, Actor.staff(user), period_id, body.decision, body.note)
    db.session.commit()
    return jsonify(operations.period_json(period))


@bp.get("/appeals/<reference>/calculations")
@spec.validate(query=schemas.StatusQuery, resp=Response(HTTP_200=schemas.CalculationList, **_ERRORS),
               tags=["entitlement"], security=_STAFF)
def calculations(reference: str):
    """Every calculation run on the appeal, newest first."""
    appeal = load_visible(reference, current_staff())
    language = _staff_language(appeal)
    return jsonify({"items": [calculation_json(c, language) for c in operations.calculations_of(db.session, appeal)]})


@bp.post("/appeals/<reference>/calculations")
@spec.validate(json=schemas.CalculationIn, query=schemas.StatusQuery,
               resp=Response(HTTP_201=schemas.CalculationOut, **_ERRORS), tags=["entitlement"], security=_STAFF)
def run_calculation(reference: str):
    """Run the calculator on the confirmed periods with the amounts given, and keep the result."""
    user, appeal = _officer_acting(reference)
    calculation = operations.run_calculation(db.session, appeal, Actor.staff(user),
                                             request.context.json.model_dump())
    db.session.commit()
    return jsonify(calculation_json(calculation, _staff_language(appeal))), 201


@bp.get("/appeals/<reference>/calculations/<int:number>")
@spec.validate(query=schemas.StatusQuery, resp=Response(HTTP_200=schemas.CalculationOut, **_ERRORS),
               tags=["entitlement"], security=_STAFF)
def calculation(reference: str, number: int):
    """One calculation, as it was run."""
    appeal = load_visible(reference, current_staff())
    found = operations.calculation_numbered(db.session, appeal, number)
    if found is None:
        raise NotFound(_("No such calculation on this appeal."))
    return jsonify(calculation_json(found, _staff_language(appeal)))
