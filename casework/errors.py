"""The one error shape of the API: ``{"error": {"code", "message", "details"}}``, with the
status codes API.md promises. Bad input is never a 500."""

from __future__ import annotations

import math

from flask import Flask, jsonify, request
from flask_babel import gettext as _, lazy_gettext, ngettext
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from casework.i18n import ROLE_LABELS, STATE_LABELS
from casework.logs import request_id
from workflows import appeal as workflow


class APIError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, details=None, status: int | None = None, code: str | None = None, headers=None):
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers or {}
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code


class ValidationFailed(APIError):
    status, code = 422, "validation_error"

    @classmethod
    def field(cls, field: str, message: str) -> "ValidationFailed":
        return cls(f"{field}: {message}", details=[{"field": field, "message": message}])


class Unauthorized(APIError):
    status, code = 401, "unauthorized"


class Forbidden(APIError):
    status, code = 403, "forbidden"


class NotFound(APIError):
    status, code = 404, "not_found"

    def __init__(self, message: str = lazy_gettext("Not found.")):
        super().__init__(message)


class Conflict(APIError):
    status, code = 409, "invalid_transition"


class RateLimited(APIError):
    """Too many attempts: the client waits ``retry_after`` seconds (sent as ``Retry-After``)."""

    status, code = 429, "rate_limited"

    def __init__(self, retry_after: float):
        seconds = max(1, math.ceil(retry_after))
        message = ngettext("Too many attempts. Try again in %(num)d minute.",
                           "Too many attempts. Try again in %(num)d minutes.", math.ceil(seconds / 60))
        super().__init__(message, headers={"Retry-After": str(seconds)})


class VersionConflict(APIError):
    status, code = 409, "version_conflict"

    def __init__(self, message: str = lazy_gettext("The appeal was changed by someone else; reload it and try again.")):
        super().__init__(message)


def error_response(status: int, code: str, message: str, details=None, headers=None):
    response = jsonify({"error": {"code": code, "message": str(message), "details": details}})
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def workflow_message(error: workflow.WorkflowError) -> str:
    """The workflow's refusal in the reader's language, stages and roles by their names."""
    params = dict(error.params)
    if params.get("state") in STATE_LABELS:
        params["state"] = str(STATE_LABELS[params["state"]])
    if params.get("role") in ROLE_LABELS:
        params["role"] = str(ROLE_LABELS[params["role"]])
    return _(error.template, **params)


def from_workflow(error: workflow.WorkflowError) -> APIError:
    """Translate the workflow's refusals into the API's statuses."""
    message = workflow_message(error)
    if isinstance(error, workflow.MissingInput):
        return ValidationFailed.field(error.field, message)
    if isinstance(error, workflow.UnknownAction):
        return ValidationFailed.field("action", message)
    if isinstance(error, workflow.NotPermitted):
        return Forbidden(message)
    return Conflict(message)


# What werkzeug's own refusals say, in the reader's language.
_HTTP_MESSAGES = {
    400: lazy_gettext("The request could not be understood."),
    401: lazy_gettext("Credentials are required."),
    403: lazy_gettext("You may not do this."),
    404: lazy_gettext("Not found."),
    405: lazy_gettext("This method is not allowed here."),
    413: lazy_gettext("The request is too large."),
    415: lazy_gettext("This media type is not supported."),
    429: lazy_gettext("Too many requests; try again later."),
}

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
}


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz" or not request.accept_mimetypes.accept_html


def _page(status: int, message: str):
    """The same refusal as a page, for a browser."""
    from casework.web.pages import problem

    return problem(status, message)


def api_error_response(error: APIError):
    """An APIError as the API's JSON, or as a page for a browser, with its headers either way."""
    if not wants_json():
        page, status = _page(error.status, str(error.message))
        return page, status, error.headers
    return error_response(error.status, error.code, error.message, error.details, error.headers)


def _server_error(status: int):
    """A failure on our side says so and gives the request id to quote; never the exception,
    SQL or data from the request (those go to the log, under the same id)."""
    message = _("Something went wrong on our side. Try again later.")
    if not wants_json():
        return _page(status, message)
    return error_response(status, _HTTP_CODES.get(status, "server_error"), message, {"request_id": request_id()})


def init_app(app: Flask) -> None:
    app.register_error_handler(APIError, api_error_response)

    @app.errorhandler(workflow.WorkflowError)
    def _workflow_error(error: workflow.WorkflowError):
        return api_error_response(from_workflow(error))

    @app.errorhandler(StaleDataError)
    def _stale(_error):
        return api_error_response(VersionConflict())

    @app.errorhandler(IntegrityError)
    def _integrity(error: IntegrityError):
        # Two steps recorded as the same event (or two calculations as the same number) of one
        # appeal: someone else acted first.
        # (PostgreSQL names the constraint, SQLite its columns.)
        if any(name in str(error.orig) for name in ("uq_event_appeal_seq", "event.appeal_id, event.seq",
                                                    "uq_calculation_appeal_number",
                                                    "calculation.appeal_id, calculation.number")):
            from casework.db import db

            db.session.rollback()  # what the response reads next (the request log's user) needs a usable session
            return api_error_response(VersionConflict())
        raise error

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        if error.code >= 500:
            return _server_error(error.code)
        if not wants_json():
            return _page(error.code, str(_HTTP_MESSAGES.get(error.code, error.description or error.name)))
        message = _HTTP_MESSAGES.get(error.code, error.description or error.name)
        return error_response(error.code, _HTTP_CODES.get(error.code, "error"), message)
