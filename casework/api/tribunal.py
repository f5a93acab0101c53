"""The tribunal's side: the referrals waiting for it, and the signed case file of an appeal
(JSON, or a zip with its documents) with the public keys that verify it.

A tribunal acknowledges, schedules, judges and remits through the ordinary actions endpoint;
what is particular to it here is what it reads.
"""

from __future__ import annotations

import tempfile
from datetime import datetime

from flask import Blueprint, current_app, jsonify, request, send_file
from flask_babel import gettext as _
from spectree import Response
from sqlmodel import select

from casework import bundle as case_bundle
from casework import referrals as referral_list
from casework import schemas, signing
from casework.access import current_staff, load_case_file
from casework.api.blueprint import bp
from casework.api.documents import streamed
from casework.api.spec import spec
from casework.clock import isoformat, now
from casework.db import db
from casework.deadlines import schedule
from casework.errors import Forbidden
from casework.models import Appeal, Deadline

# Public: anyone verifying a bundle needs the keys, and they prove nothing about anyone.
published = Blueprint("api_published", __name__, url_prefix="/api/v1")

_ERRORS = {f"HTTP_{code}": schemas.ErrorOut for code in (401, 403, 404, 422)}
_SECURITY = {"bearer": []}
_SPOOL_BYTES = 8 * 1024 * 1024


# --- referrals -------------------------------------------------------------------------------

def _next_deadline(rows: list[Deadline]) -> dict | None:
    row = referral_list.next_deadline(rows)
    if row is None:
        return None
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


@bp.get("/tribunal/referrals")
@spec.validate(query=schemas.PageQuery, resp=Response(HTTP_200=schemas.ReferralPage, **_ERRORS), tags=["tribunals"],
               security=_SECURITY)
def referrals():
    """Appeals before the caller's tribunal, longest waiting first; keyset-paginated."""
    user = current_staff()
    if user.role != "tribunal" or not user.tribunal_code:
        raise Forbidden(_("Only the staff of a tribunal can list the appeals referred to it."))
    query: schemas.PageQuery = request.context.query
    rows = referral_list.page(db.session, user.tribunal_code, referral_list.decode_cursor(query.after), query.limit)
    rows, more = rows[: query.limit], len(rows) > query.limit
    ids = [row.id for row in rows]
    appeals = {appeal.id: appeal for appeal in db.session.exec(select(Appeal).where(Appeal.id.in_(ids))).unique()}
    deadlines = schedule.listed_for(db.session, ids)  # one query for the page
    moment = now()
    return jsonify({
        "items": [_referral(appeals[row.id], row.escalated_at, deadlines.get(row.id, []), moment) for row in rows],
        "next": referral_list.encode_cursor(rows[-1].escalated_at, rows[-1].id) if more else None,
    })


# --- the signed case file --------------------------------------------------------------------

def _issuer() -> str:
    """Who issues the bundle: the configured name of the installation, else the address it was
    fetched from (where its keys are published)."""
    return current_app.config.get("BUNDLE_ISSUER") or request.url_root.rstrip("/")


def signed_bundle(appeal: Appeal) -> dict:
    """The appeal's case file as it stands, signed; the API and the tribunal's pages serve it alike."""
    return case_bundle.issue(db.session, appeal, issuer=_issuer())


def zip_download(appeal: Appeal):
    """The signed bundle as ``bundle.json`` with every document as ``documents/<sha256>``, in one
    zip, as a download."""
    # In memory while small, on disk beyond: a case file may hold many 10 MB scans.
    archive = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)
    case_bundle.write_zip(signed_bundle(appeal), archive)
    archive.seek(0)
    response = send_file(archive, mimetype="application/zip", as_attachment=True,
                         download_name=f"{appeal.reference}-bundle.zip")
    response.cache_control.private = True
    return response


@bp.get("/appeals/<reference>/bundle")
@spec.validate(resp=Response(HTTP_200=schemas.SignedBundleOut, **_ERRORS), tags=["tribunals"], security=_SECURITY)
def bundle(reference: str):
    """The signed case-file bundle: everything the tribunal needs to decide, Ed25519-signed
    over its RFC 8785 canonical JSON (verify with the keys at /api/v1/keys)."""
    return jsonify(signed_bundle(load_case_file(reference, current_staff())))


@bp.get("/appeals/<reference>/bundle.zip")
@streamed(resp=Response("HTTP_200", HTTP_401=schemas.ErrorOut, HTTP_404=schemas.ErrorOut), tags=["tribunals"],
          security=_SECURITY)
def bundle_zip(reference: str):
    """The signed bundle as ``bundle.json`` with every document as ``documents/<sha256>``, in one zip."""
    return zip_download(load_case_file(reference, current_staff()))


@published.get("/keys")
@spec.validate(resp=Response(HTTP_200=schemas.KeyList), tags=["tribunals"])
def keys():
    """The public keys that verify case-file bundles, the current one first; no credentials needed."""
    return jsonify({"keys": signing.published(signing.keyring().keys())})
