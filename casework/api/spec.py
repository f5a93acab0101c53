"""The OpenAPI document and request validation, both from the pydantic models in
``casework.schemas`` (spectree). Validation failures become the API's one error shape."""

from __future__ import annotations

from flask import request
from werkzeug.exceptions import HTTPException
from spectree import SecurityScheme, SecuritySchemeData, SpecTree

from casework.access import ACCESS_CODE_REQUIRED, current_staff
from casework.errors import APIError, Unauthorized, ValidationFailed
from workflows.appeal import ACTIONS

_JSON_TYPES = ("application/json",)


def _field(loc: tuple) -> str:
    parts = [str(p) for p in loc]
    # A discriminated union reports the tag first ("decide_review.reasons"): the field is "reasons".
    if len(parts) > 1 and parts[0] in ACTIONS:
        parts = parts[1:]
    return ".".join(parts)


def validation_details(errors: list[dict]) -> list[dict]:
    details = []
    for error in errors:
        field = _field(error.get("loc", ()))
        if error.get("type", "").startswith("union_tag") or (not field and "action" in error.get("msg", "")):
            field = "action"
        details.append({"field": field or "body", "message": error.get("msg", "invalid")})
    return details


_NOT_JSON = object()


def _body():
    try:
        return request.get_json(silent=False)
    except HTTPException as error:
        if error.code == 413:
            raise  # too large is its own answer
        return _NOT_JSON
    except (ValueError, RecursionError):  # malformed, truncated, wrongly encoded or absurdly nested
        return _NOT_JSON


def check_body() -> None:
    """400 for malformed JSON, 415 for a body that is not JSON, before any field is looked at."""
    if request.method not in ("POST", "PUT", "PATCH"):
        return
    if request.mimetype not in _JSON_TYPES:
        raise APIError("The request body must be JSON (Content-Type: application/json).", status=415,
                       code="unsupported_media_type")
    body = _body()
    if body is _NOT_JSON:
        raise APIError("The request body is not valid JSON.", status=400, code="malformed_json")
    if not isinstance(body, dict):
        raise ValidationFailed.field("body", "must be a JSON object")


def check_credentials() -> None:
    """Who is asking comes before what they sent: no credentials is a 401 whatever the body."""
    if request.path.startswith("/api/v1/status/"):
        if not request.headers.get("X-Access-Code"):
            raise Unauthorized(ACCESS_CODE_REQUIRED)
    elif request.path.startswith("/api/v1/"):
        current_staff()


def check_request() -> None:
    """Runs before spectree reads the body (a blueprint ``before_request``)."""
    check_credentials()
    check_body()


def _before(req, resp, req_validation_error, instance, *args):
    if req_validation_error is not None:
        details = validation_details(req_validation_error.errors())
        message = "; ".join(f"{d['field']}: {d['message']}" for d in details)
        raise ValidationFailed(message, details=details)


spec = SpecTree(
    "flask",
    title="Casework API",
    version="1.0",
    description="Appeals against cross-border social security decisions: lodging, review, mediation, "
    "tribunal, deadlines, claimant status.",
    # Spectree leaves routes under its own path out of the document, so it lives at /apidoc and
    # /api/v1/openapi.json serves the same document.
    path="apidoc",
    page_templates={},
    annotations=False,
    before=_before,
    validation_error_status=422,
    security_schemes=[
        SecurityScheme(name="bearer", data=SecuritySchemeData(type="http", scheme="bearer")),
        SecurityScheme(name="access_code", data=SecuritySchemeData(type="apiKey", name="X-Access-Code", field_in="header")),
    ],
)
