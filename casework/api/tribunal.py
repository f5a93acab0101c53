"""The tribunal's side: the referrals waiting for it, and the signed case file of an appeal
(JSON, or a zip with its documents) with the public keys that verify it.

A tribunal acknowledges, schedules, judges and remits through the ordinary actions endpoint;
what is particular to it here is what it reads.
"""

from __future__ import annotations

import base64
import json
import tempfile
from datetime import datetime

from flask import Blueprint, current_app, jsonify, request, send_file
from flask_babel import gettext as _
from spectree import Response
from sqlalchemy import and_, func, or_
from sqlmodel import select

from casework import bundle as case_bundle
from casework import schemas, signing
from casework.access import current_staff, load_case_file
from casework.api.blueprint import bp
from casework.api.documents import streamed
from casework.api.spec import spec
from casework.clock import isoformat, now
from casework.db import db
from casework.deadlines import schedule
from casework.errors import Forbidden, ValidationFailed
from casework.models import Appeal, Deadline, Event

# Public: anyone verifying a bundle needs the keys, and they prove nothing about anyone.
published = Blueprint("api_published", __name__, url_prefix="/api/v1")

_ERRORS = {f"HTTP_{code}": schemas.ErrorOut for code in (401, 403, 404, 422)}
_SECURITY = {"bearer": []}
# Before the tribunal: referred and waiting for acknowledgement, or acknowledged. A remitted
# appeal is back with the institution and leaves the list until it is escalated again.
BEFORE_TRIBUNAL = ("escalated", "before_tribunal")
_SPOOL_BYTES = 8 * 1024 * 1024


# --- referrals -------------------------------------------------------------------------------

def _escalated_at():
    """When the appeal last reached the tribunal: its latest escalation in the history."""
    return (
        select(func.max(Event.occurred_at))
        .where(Event.appeal_id == Appeal.id, Event.to_state == "escalated", Event.from_state != "escalated")
        .correlate(Appeal)
        .scalar_subquery()
    )


def _cursor(value: str | None) -> tuple[datetime, int] | None:
    if not value:
        return None
    try:
        raw = json.loads(base64.urlsafe_b64decode(value.encode() + b"==="))
        escalated_at, last_id = datetime.fromisoformat(raw["e"]), raw["i"]
        if escalated_at.tzinfo is None or type(last_id) is not int or not 0 <= last_id < 2**63:
            raise ValueError("out of range")
        return escalated_at, last_id
    except (ValueError, KeyError, TypeError, OverflowError, RecursionError):
        raise ValidationFailed.field("after", _("is not a cursor this API returned")) from None


def _make_cursor(escalated_at: datetime, appeal_id: int) -> str:
    raw = json.dumps({"e": escalated_at.isoformat(), "i": appeal_id})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _next_deadline(rows: list[Deadline]) -> dict | None:
    pending = [row for row in rows if row.status == "pending"]
    if not pending:
        return None
    row = min(pending, key=lambda r: r.due_at)
    return {"kind": row.kind, "due_at": isoformat(row.due_at), "due_on": row.due_on.isoformat()}


def _referral(appeal: Appeal, escalated_at: datetime, deadlines: list[Deadline], moment: datetime) -> dict:
    return {
        "reference": appeal.reference,
        "version": appeal.version,
        "state": appeal.state,
        "benefit": appeal.benefit,
        "handling_country": appeal.handling_country,
        "escalated_at": isoformat(escalated_at),
        "days_since_escalation": (moment - escalated_at).days,
        "next_deadline": _next_deadline(deadlines),
    }


def _page(tribunal_code: str, after: tuple[datetime, int] | None, limit: int) -> list:
    """``(appeal id, escalated at)`` of the referrals after the cursor, one more than a page so
    that the caller knows whether another follows."""
    listed = (
        select(Appeal.id.label("id"), _escalated_at().label("escalated_at"))
        .where(Appeal.tribunal_code == tribunal_code, Appeal.state.in_(BEFORE_TRIBUNAL))
        .subquery()
    )
    query = select(listed.c.id, listed.c.escalated_at)
    if after is not None:
        query = query.where(or_(listed.c.escalated_at > after[0],
                                and_(listed.c.escalated_at == after[0], listed.c.id > after[1])))
    return list(db.session.exec(query.order_by(listed.c.escalated_at, listed.c.id).limit(limit + 1)))


@bp.get("/tribunal/referrals")
@spec.validate(query=schemas.PageQuery, resp=Response(HTTP_200=schemas.ReferralPage, **_ERRORS), tags=["tribunals"],
               security=_SECURITY)
def referrals():
    """Appeals before the caller's tribunal, longest waiting first; keyset-paginated."""
    user = current_staff()
    if user.role != "tribunal" or not user.tribunal_code:
        raise Forbidden(_("Only the staff of a tribunal can list the appeals referred to it."))
    query: schemas.PageQuery = request.context.query
    rows = _page(user.tribunal_code, _cursor(query.after), query.limit)
    rows, more = rows[: query.limit], len(rows) > query.limit
    ids = [row.id for row in rows]
    appeals = {appeal.id: appeal for appeal in db.session.exec(select(Appeal).where(Appeal.id.in_(ids))).unique()}
    deadlines = schedule.listed_for(db.session, ids)  # one query for the page
    moment = now()
    return jsonify({
        "items": [_referral(appeals[row.id], row.escalated_at, deadlines.get(row.id, []), moment) for row in rows],
        "next": _make_cursor(rows[-1].escalated_at, rows[-1].id) if more else None,
    })


# --- the signed case file --------------------------------------------------------------------

def _issuer() -> str:
    """Who issues the bundle: the configured name of the installation, else the address it was
    fetched from (where its keys are published)."""
    return current_app.config.get("BUNDLE_ISSUER") or request.url_root.rstrip("/")


@bp.get("/appeals/<reference>/bundle")
@spec.validate(resp=Response(HTTP_200=schemas.SignedBundleOut, **_ERRORS), tags=["tribunals"], security=_SECURITY)
def bundle(reference: str):
    """The signed case-file bundle: everything the tribunal needs to decide, Ed25519-signed
    over its RFC 8785 canonical JSON (verify with the keys at /api/v1/keys)."""
    appeal = load_case_file(reference, current_staff())
    return jsonify(case_bundle.issue(db.session, appeal, issuer=_issuer()))


@bp.get("/appeals/<reference>/bundle.zip")
@streamed(resp=Response("HTTP_200", HTTP_401=schemas.ErrorOut, HTTP_404=schemas.ErrorOut), tags=["tribunals"],
          security=_SECURITY)
def bundle_zip(reference: str):
    """The signed bundle as ``bundle.json`` with every document as ``documents/<sha256>``, in one zip."""
    appeal = load_case_file(reference, current_staff())
    signed = case_bundle.issue(db.session, appeal, issuer=_issuer())
    # In memory while small, on disk beyond: a case file may hold many 10 MB scans.
    archive = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)
    case_bundle.write_zip(signed, archive)
    archive.seek(0)
    response = send_file(archive, mimetype="application/zip", as_attachment=True,
                         download_name=f"{appeal.reference}-bundle.zip")
    response.cache_control.private = True
    return response


@published.get("/keys")
@spec.validate(resp=Response(HTTP_200=schemas.KeyList), tags=["tribunals"])
def keys():
    """The public keys that verify case-file bundles, the current one first; no credentials needed."""
    return jsonify({"keys": signing.published(signing.keyring().keys())})
