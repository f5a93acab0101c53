"""The one error shape of the API: ``{"error": {"code", "message", "details"}}``, with the
status codes API.md promises. Bad input is never a 500."""

from __future__ import annotations

from flask import Flask, jsonify, request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

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

    def __init__(self, message: str = "Not found."):
        super().__init__(message)


class Conflict(APIError):
    status, code = 409, "invalid_transition"


class VersionConflict(APIError):
    status, code = 409, "version_conflict"

    def __init__(self, message: str = "The appeal was changed by someone else; reload it and try again."):
        super().__init__(message)


def error_response(status: int, code: str, message: str, details=None, headers=None):
    response = jsonify({"error": {"code": code, "message": message, "details": details}})
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def from_workflow(error: workflow.WorkflowError) -> APIError:
    """Translate the workflow's refusals into the API's statuses."""
    if isinstance(error, workflow.MissingInput):
        return ValidationFailed.field(error.field, error.message)
    if isinstance(error, workflow.UnknownAction):
        return ValidationFailed.field("action", error.message)
    if isinstance(error, workflow.NotPermitted):
        return Forbidden(error.message)
    return Conflict(error.message)


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
}


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz" or not request.accept_mimetypes.accept_html


def init_app(app: Flask) -> None:
    @app.errorhandler(APIError)
    def _api_error(error: APIError):
        return error_response(error.status, error.code, error.message, error.details, error.headers)

    @app.errorhandler(workflow.WorkflowError)
    def _workflow_error(error: workflow.WorkflowError):
        return _api_error(from_workflow(error))

    @app.errorhandler(StaleDataError)
    def _stale(_error):
        return _api_error(VersionConflict())

    @app.errorhandler(IntegrityError)
    def _integrity(error: IntegrityError):
        # Two steps recorded as the same event of one appeal: someone else acted first.
        if "uq_event_appeal_seq" in str(error.orig):
            return _api_error(VersionConflict())
        raise error

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        if not wants_json() or error.code is None or error.code < 400:
            return error
        return error_response(error.code, _HTTP_CODES.get(error.code, "error"), error.description or error.name)
