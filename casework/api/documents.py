"""Documents: evidence added by the institution handling an appeal or by the claimant, and its
download by those who receive the case file (the tribunal, the handling institution).

Uploads are multipart, so they live on a blueprint of their own: the JSON API's body checks
would refuse them. Credentials are still checked first, then the announced size, before a byte
of the body is read.
"""

from __future__ import annotations

import functools

from flask import Blueprint, jsonify, request, send_file
from flask_babel import gettext as _
from spectree import Response
from sqlmodel import select
from werkzeug.datastructures import FileStorage

from casework import schemas
from casework.access import CLAIMANT, claimant_appeal, current_staff, load_case_file, load_visible, require_can_act
from casework.api.spec import check_credentials, spec
from casework.db import db
from casework.documents import add_document, check_announced_size, document_json, path_for
from casework.errors import APIError, NotFound, ValidationFailed
from casework.models import Appeal, Document

bp = Blueprint("api_documents", __name__, url_prefix="/api/v1")

_ERRORS = {f"HTTP_{code}": schemas.ErrorOut for code in (401, 403, 404, 409, 413, 415, 422)}


def check_document_request() -> None:
    """Who is asking, then whether the body is a multipart upload of an acceptable size."""
    check_credentials()
    if request.method != "POST":
        return
    if request.mimetype != "multipart/form-data":
        raise APIError(_("Send the file as multipart/form-data, in the field 'file'."), status=415,
                       code="unsupported_media_type")
    check_announced_size(request.content_length)



def streamed(**documentation):
    """Document a view that streams a file, without spectree's response validation: that reads
    the whole response into memory, which a streamed file does not allow. Spectree finds the
    documentation through ``__wrapped__``, as it does for any decorator stacked on its own."""

    def decorate(view):
        @functools.wraps(view)
        def serve(*args, **kwargs):
            return view(*args, **kwargs)

        serve.__wrapped__ = spec.validate(**documentation)(view)
        return serve

    return decorate


def _added(appeal: Appeal, uploaded_by: str):
    upload = request.context.form.file
    if not isinstance(upload, FileStorage):
        raise ValidationFailed.field("file", _("must be a file, sent as multipart/form-data"))
    document = add_document(db.session, appeal, upload.stream, upload.filename, uploaded_by)
    db.session.commit()
    return jsonify(document_json(document)), 201


@bp.post("/appeals/<reference>/documents")
@spec.validate(form=schemas.DocumentUpload, resp=Response(HTTP_201=schemas.DocumentOut, **_ERRORS),
               tags=["documents"], security={"bearer": []})
def upload(reference: str):
    """Add evidence to an appeal: PDF, PNG or JPEG, at most 10 MB, recognised by its content."""
    user = current_staff()
    appeal = load_visible(reference, user)
    require_can_act(user, appeal)
    return _added(appeal, user.email)


@bp.post("/status/<reference>/documents")
@spec.validate(form=schemas.DocumentUpload,
               resp=Response(HTTP_201=schemas.DocumentOut, HTTP_429=schemas.ErrorOut, **_ERRORS),
               tags=["claimants"], security={"access_code": []})
def claimant_upload(reference: str):
    """The claimant adds evidence to their appeal (same rules as the institution's upload)."""
    appeal = claimant_appeal(reference, request.headers.get("X-Access-Code"))
    return _added(appeal, CLAIMANT.label)


@bp.get("/appeals/<reference>/documents/<int:document_id>")
@streamed(resp=Response("HTTP_200", HTTP_401=schemas.ErrorOut, HTTP_404=schemas.ErrorOut),
          tags=["documents", "tribunals"], security={"bearer": []})
def download(reference: str, document_id: int):
    """One document's bytes, as listed in the case file; its ETag is its SHA-256."""
    appeal = load_case_file(reference, current_staff())
    document = db.session.exec(
        select(Document).where(Document.id == document_id, Document.appeal_id == appeal.id)
    ).first()
    if document is None:
        raise NotFound(_("No such document."))
    response = send_file(
        path_for(document.sha256),
        mimetype=document.media_type,
        as_attachment=True,
        download_name=document.name,
        etag=document.sha256,
        conditional=True,
    )
    response.cache_control.private = True  # personal data: no shared cache keeps a copy
    return response
