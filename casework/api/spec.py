"""The OpenAPI document and request validation, both from the pydantic models in
``casework.schemas`` (spectree). Validation failures become the API's one error shape."""

from __future__ import annotations

from decimal import Decimal

from flask import request
from flask_babel import gettext as _, lazy_gettext
from werkzeug.exceptions import HTTPException
from spectree import SecurityScheme, SecuritySchemeData, SpecTree
from spectree.model_adapter.pydantic_adapter import PydanticModelAdapter

from casework.access import ACCESS_CODE_REQUIRED, current_staff
from casework.errors import APIError, Unauthorized, ValidationFailed
from casework.schemas import ErrorOut
from workflows.appeal import ACTIONS

_JSON_TYPES = ("application/json",)


def _field(loc: tuple) -> str:
    parts = [str(p) for p in loc]
    # A discriminated union reports the tag first ("decide_review.reasons"): the field is "reasons".
    if len(parts) > 1 and parts[0] in ACTIONS:
        parts = parts[1:]
    # A mapping's key that is wrong ("amounts.ZZ.[key]"): the field is the entry itself.
    if parts and parts[-1] == "[key]":
        parts = parts[:-1]
    return ".".join(parts)


# Pydantic's error types, in words the caller reads in their own language ("%(name)s" from the
# error's context). Our own validators raise ValueError with an already translated message.
_MESSAGES = {
    "missing": lazy_gettext("is required"),
    "extra_forbidden": lazy_gettext("is not a field of this request"),
    "string_type": lazy_gettext("must be text"),
    "string_too_short": lazy_gettext("must not be empty"),
    "string_too_long": lazy_gettext("must be at most %(max_length)s characters long"),
    "int_type": lazy_gettext("must be a whole number"),
    "int_parsing": lazy_gettext("must be a whole number"),
    "int_from_float": lazy_gettext("must be a whole number"),
    "greater_than_equal": lazy_gettext("must be at least %(ge)s"),
    "less_than_equal": lazy_gettext("must be at most %(le)s"),
    "literal_error": lazy_gettext("must be one of: %(expected)s"),
    "enum": lazy_gettext("must be one of: %(expected)s"),
    "bool_type": lazy_gettext("must be true or false"),
    "bool_parsing": lazy_gettext("must be true or false"),
    "list_type": lazy_gettext("must be a list"),
    "too_long": lazy_gettext("must have at most %(max_length)s items"),
    "too_short": lazy_gettext("must have at least %(min_length)s items"),
    "dict_type": lazy_gettext("must be an object"),
    "model_type": lazy_gettext("must be an object"),
    "model_attributes_type": lazy_gettext("must be an object"),
    "date_type": lazy_gettext("must be a date (YYYY-MM-DD)"),
    "date_parsing": lazy_gettext("must be a date (YYYY-MM-DD)"),
    "date_from_datetime_parsing": lazy_gettext("must be a date (YYYY-MM-DD)"),
    "date_from_datetime_inexact": lazy_gettext("must be a date (YYYY-MM-DD)"),
    "datetime_type": lazy_gettext("must be a date and time with its offset (e.g. 2026-09-20T10:00:00Z)"),
    "datetime_parsing": lazy_gettext("must be a date and time with its offset (e.g. 2026-09-20T10:00:00Z)"),
    "datetime_from_date_parsing": lazy_gettext("must be a date and time with its offset (e.g. 2026-09-20T10:00:00Z)"),
    "timezone_aware": lazy_gettext("must give its offset from UTC (e.g. Z or +01:00)"),
    "union_tag_invalid": lazy_gettext("must be one of: %(expected_tags)s"),
    "union_tag_not_found": lazy_gettext("is required"),
    "decimal_parsing": lazy_gettext("must be an amount (e.g. 1234.56)"),
    "decimal_type": lazy_gettext("must be an amount (e.g. 1234.56)"),
    "finite_number": lazy_gettext("must be an amount (e.g. 1234.56)"),
    "decimal_max_places": lazy_gettext("must have at most %(decimal_places)s decimal places"),
    "decimal_max_digits": lazy_gettext("must have at most %(max_digits)s digits"),
}
_INVALID = lazy_gettext("is not valid")


def _message(error: dict) -> str:
    context = error.get("ctx") or {}
    if error.get("type") in ("value_error", "assertion_error") and "error" in context:
        return str(context["error"])
    template = _MESSAGES.get(error.get("type", ""), _INVALID)
    values = {key: value for key, value in context.items() if isinstance(value, (str, int, float))}
    values |= {key: str(value) for key, value in context.items() if isinstance(value, Decimal)}
    for key in ("expected", "expected_tags"):  # pydantic joins the choices with an English "or"
        if isinstance(values.get(key), str):
            values[key] = values[key].replace(" or ", ", ")
    try:
        return str(template) % values
    except (KeyError, ValueError, TypeError):
        return str(_INVALID)


def validation_details(errors: list[dict]) -> list[dict]:
    details = []
    for error in errors:
        field = _field(error.get("loc", ()))
        if error.get("type", "").startswith("union_tag") or (not field and "action" in error.get("msg", "")):
            field = "action"
        details.append({"field": field or "body", "message": _message(error)})
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
        raise APIError(_("The request body must be JSON (Content-Type: application/json)."), status=415,
                       code="unsupported_media_type")
    body = _body()
    if body is _NOT_JSON:
        raise APIError(_("The request body is not valid JSON."), status=400, code="malformed_json")
    if not isinstance(body, dict):
        raise ValidationFailed.field("body", _("must be a JSON object"))


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


class _ModelAdapter(PydanticModelAdapter):
    """Spectree serializes a request's validation errors as JSON before ``_before`` replaces
    them with the API's own error: without the input they quote, which need not serialize (a
    multipart upload under another field name than ``file`` is a file object; a part with no
    name, a ``None`` key beside text ones)."""

    def validation_errors(self, err):
        return err.errors(include_context=False, include_input=False)


spec = SpecTree(
    "flask",
    title="Casework API",
    version="1.0",
    description="Appeals against cross-border social security decisions: lodging, review, mediation, "
    "tribunal, deadlines, claimant status.",
    # Spectree leaves routes under its own path out of the document, so it lives at /apidoc and
    # /api/v1/openapi.json serves the same document.
    path="apidoc",
    # Only the operations this module documents: the web pages (sign-in, the claimant's forms)
    # answer HTML and are no part of the JSON API, so they stay out of its document.
    mode="strict",
    page_templates={},
    annotations=False,
    before=_before,
    model_adapter=_ModelAdapter(),
    validation_error_status=422,
    # Every 422 is the API's one error shape (``_before``), so the document says so, also where
    # spectree adds a 422 by itself.
    validation_error_model=ErrorOut,
    security_schemes=[
        SecurityScheme(name="bearer", data=SecuritySchemeData(type="http", scheme="bearer")),
        SecurityScheme(name="access_code", data=SecuritySchemeData(type="apiKey", name="X-Access-Code", field_in="header")),
    ],
)
