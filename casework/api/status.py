"""Claimant endpoints: status and the claimant's own actions, opened by reference + access code."""

from __future__ import annotations

from flask import jsonify, request
from spectree import Response

from casework import operations, schemas
from casework.access import CLAIMANT, claimant_appeal
from casework.api.blueprint import bp
from casework.api.serializers import status_json
from casework.api.spec import spec
from casework.countries import LANGUAGES
from casework.db import db

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
