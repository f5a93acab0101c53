"""Logs an operator can search and join: one JSON object per line, and every request under an id.

Each request gets an id (a well-formed ``X-Request-Id`` from the proxy in front, else a new one),
sent back in the ``X-Request-Id`` header, shown on error pages, and written on every log line
made while the request runs, so that a person quoting it leads to the request's line and any
traceback. One line per request says what was asked and how it ended: method, path (never the
query string), endpoint, status, duration, client address, and for staff their role and user id.
Never names, e-mail addresses, access codes, tokens or other request data: a reference alone
(part of the path) opens nothing.

Any process can use the formatter, the scheduler too::

    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=logging.INFO, handlers=[handler])
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import datetime, timezone

from flask import Flask, current_app, g, has_request_context, request
from flask.logging import default_handler

log = logging.getLogger("casework.request")

REQUEST_ID_HEADER = "X-Request-Id"
# What an id from the proxy may look like: nginx's $request_id, a UUID, a trace id. Anything
# else (too long, spaces, control characters) is replaced, so nobody writes into the logs.
_WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")


def request_id() -> str | None:
    """The current request's id (made on first use); None outside a request."""
    if not has_request_context():
        return None
    if "request_id" not in g:
        g.request_id = uuid.uuid4().hex
    return g.request_id


class JsonFormatter(logging.Formatter):
    """A record as one line of JSON: time (UTC), level, logger, message, the request id when
    logged inside a request, the record's ``fields`` (``log.info("...", extra={"fields": {...}})``)
    and the traceback of an exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        current = request_id()
        if current:
            entry["request_id"] = current
        entry.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class JsonHandler(logging.StreamHandler):
    """The handler ``configure`` installs (a class of its own, so that it can find and replace
    it). Without a stream of its own it writes to whatever ``sys.stderr`` is at the time, like
    Python's last-resort handler, so that a replaced stderr (a test's capture) is followed."""

    def __init__(self, stream=None):
        super().__init__(stream)
        self._stream = stream

    @property
    def stream(self):
        return self._stream or sys.stderr

    @stream.setter
    def stream(self, value):
        self._stream = value


def configure(level: str | int = "INFO", stream=None) -> JsonHandler:
    """Send every logger's records (the app's, the libraries') to ``stream`` (stderr) as JSON
    lines. Calling it again replaces the handler it installed before instead of adding one."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, JsonHandler)]:
        root.removeHandler(handler)
    handler = JsonHandler(stream)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    # Casework's own records at ``level``; the libraries' only when something is wrong (the
    # state machine and the migrations narrate every step at INFO, and the development server's
    # access lines would repeat the request log).
    root.setLevel(logging.WARNING)
    logging.getLogger("casework").setLevel(level)
    # Flask gives its app logger a plain-text handler when nothing else handles its records;
    # with ours on the root logger, that handler would only write every message a second time.
    logging.getLogger("casework").removeHandler(default_handler)
    return handler


def _start() -> None:
    g.request_started = time.perf_counter()
    given = request.headers.get(REQUEST_ID_HEADER, "")
    if given and current_app.config["TRUST_REQUEST_ID"] and _WELL_FORMED.fullmatch(given):
        g.request_id = given
    else:
        request_id()


def _staff() -> dict:
    """Who of the staff made the request, as far as the request already knows (a token's user,
    or the session's user once a page loaded it): never a database query just to log it."""
    user = g.get("staff_user") or g.get("_login_user")  # the latter is where Flask-Login keeps it
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "id", None):
        return {}
    return {"role": user.role, "user_id": user.id}


def _finish(response):
    response.headers[REQUEST_ID_HEADER] = request_id()
    started = g.get("request_started")
    fields = {
        "method": request.method,
        "path": request.path,
        "endpoint": request.endpoint,
        "status": response.status_code,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
        "client": request.remote_addr,
        **_staff(),
    }
    log.log(logging.ERROR if response.status_code >= 500 else logging.INFO, "request", extra={"fields": fields})
    return response


def init_app(app: Flask) -> None:
    """Request ids and the request line always; JSON logging itself unless testing (or when
    ``LOG_JSON`` says otherwise), so tests read records through pytest's own capture."""
    app.before_request(_start)
    app.after_request(_finish)
    enabled = app.config["LOG_JSON"]
    if enabled or (enabled is None and not app.testing):
        configure(app.config["LOG_LEVEL"])
