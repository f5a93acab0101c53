"""Claimant endpoints: status, the claimant's own actions, their insurance periods and the latest
entitlement calculation, opened by reference + access code."""

from __future__ import annotations

from flask import jsonify, request
from flask_babel import gettext as _
from spectree import Response

from casework import operations, schemas
from casework.access import CLAIMANT, claimant_appeal
from casework.api.blueprint import bp
from casework.api.serializers import calculation_json, status_json
from casework.api.spec import spec
from casework.countries import LANGUAGES
from casework.db import db
from casework.entitlement import operations as entitlement
from casework.errors import NotFound

_ERRORS = {f"HTTP_{code}": schemas.ErrorOut for code in (400, 401, 404, 409, 413, 415, 422, 429)}
_SECURITY = {"access_code": []}


def _language(appeal) -> str:
    """An explicit ``?lang=``, else the browser's Accept-Language, else the claimant's own language."""
    chosen = request.args.get("lang")
    if chosen in LANGUAGES:
        return chosen
    if request.headers.get("Accept-Language"):
        best = request.accept_languages.best_match(LANGUAGES)
        if best:
            return best
    return appeal.claimant.preferred_language


def _open(reference: str, lock: bool = False):
    return claimant_appeal(reference, request.headers.get("X-Access-Code"), lock=lock)


@bp.get("/status/<reference>")
@spec.validate(query=schemas.StatusQuery, resp=Response(HTTP_200=schemas.StatusOut, **_ERRORS), tags=["claimants"],
               security=_SECURITY)
def status(reference: str):
    """Where the appeal stands, what happens next and by when, in the claimant's language."""
    appeal = _open(reference)
    return jsonify(status_json(db.session, appeal, _language(appeal)))


@bp.post("/status/<reference>/actions")
@spec.validate(json=schemas.ClaimantActionRequest, query=schemas.StatusQuery,
               resp=Response(HTTP_200=schemas.StatusOut, **_ERRORS), tags=["claimants"], security=_SECURITY)
def claimant_act(reference: str):
    """Withdraw, accept the review decision, or ask for mediation or the tribunal."""
    appeal = _open(reference, lock=True)
    body: schemas.ClaimantActionRequest = request.context.json
    operations.perform_action(db.session, appeal, CLAIMANT, body.action, {}, expected_version=body.version)
    db.session.commit()
    return jsonify(status_json(db.session, appeal, _language(appeal)))


@bp.get("/status/<reference>/periods")
@spec.validate(resp=Response(HTTP_200=schemas.PeriodList, **_ERRORS), tags=["claimants"],
               security=_SECURITY)
def claimant_periods(reference: str):
    """The claimant's insurance history on the appeal, as the officers have it."""
    appeal = _open(reference)
    return jsonify({"items": [entitlement.period_json(p) for p in entitlement.periods_of(db.session, appeal)]})


@bp.post("/status/<reference>/periods")
@spec.validate(json=schemas.PeriodIn, resp=Response(HTTP_201=schemas.PeriodOut, **_ERRORS),
               tags=["claimants"], security=_SECURITY)
def propose_period(reference: str):
    """Propose a period of work, insurance or residence the officers do not have; it counts once an
    officer has checked it against the other country's records."""
    appeal = _open(reference, lock=True)
    period = entitlement.enter_period(db.session, appeal, CLAIMANT, request.context.json.model_dump())
    db.session.commit()
    return jsonify(entitlement.period_json(period)), 201


@bp.get("/status/<reference>/calculation")
@spec.validate(query=schemas.StatusQuery, resp=Response(HTTP_200=schemas.CalculationOut, **_ERRORS),
               tags=["claimants"], security=_SECURITY)
def claimant_calculation(reference: str):
    """The latest calculation of the claimant's entitlement, explained in their language."""
    appeal = _open(reference)
    found = entitlement.latest_calculation(db.session, appeal)
    if found is None:
        raise NotFound(_("No calculation has been made on this appeal yet."))
    return jsonify(calculation_json(found, _language(appeal)))
