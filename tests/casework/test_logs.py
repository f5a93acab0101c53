"""Structured logs (casework/logs.py): a request id on every request, one JSON line per request
with no personal data, application messages under the request id, and server errors that tell
the client nothing but the id, while the log keeps the traceback."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest

from casework.logs import JsonFormatter, JsonHandler

ACCESS_CODE = "QQQQ-WWWW-EEEE-RRRR-TTTT-YYYY"
TOKEN = "cw_not-a-real-token-but-secret-all-the-same"
EMAIL = "ana.kowalska@example.org"


@pytest.fixture
def restore_logging():
    """Leave the root logger as the test found it (an app with LOG_JSON installs a handler on it)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def logged(make_app, restore_logging):
    """An app logging JSON, and a function returning the lines it has written so far."""
    app = make_app(LOG_JSON=True, PROPAGATE_EXCEPTIONS=False)
    stream = io.StringIO()
    handler = next(h for h in logging.getLogger().handlers if isinstance(h, JsonHandler))
    handler.setStream(stream)

    @app.get("/api/v1/boom")
    def boom():
        logging.getLogger("casework.test").warning("about to fail")
        raise RuntimeError("kaboom-detail")

    app.add_url_rule("/boom", "page_boom", boom)

    @app.get("/api/v1/sql-boom")
    def sql_boom():
        from sqlalchemy import text

        from casework.db import db

        db.session.execute(text("SELECT no_such_column FROM appeal WHERE reference = :email"), {"email": EMAIL})

    def lines() -> list[dict]:
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    return app, lines


def _request_lines(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line["logger"] == "casework.request"]


# --- request ids ----------------------------------------------------------------------------------------

def test_every_response_names_its_request_id(client):
    first, second = client.get("/"), client.get("/api/v1/appeals")
    for response in (first, second):
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-Id"])
    assert first.headers["X-Request-Id"] != second.headers["X-Request-Id"]


@pytest.mark.parametrize("given, kept", [
    ("3f2a9c1e-77aa-4c1b-9d0e-1234567890ab", True),
    ("nginx.req:1234567890abcdef", True),
    ("short", False),
    ("has spaces in it 12345", False),
    ("x" * 200, False),
    ('"}{"level": "forged', False),
])
def test_a_well_formed_request_id_from_the_proxy_is_kept(client, given, kept):
    returned = client.get("/", headers={"X-Request-Id": given}).headers["X-Request-Id"]
    assert (returned == given) is kept
    if not kept:
        assert re.fullmatch(r"[0-9a-f]{32}", returned)


def test_the_request_id_header_can_be_ignored(make_app):
    client = make_app(TRUST_REQUEST_ID=False).test_client()
    given = "3f2a9c1e-77aa-4c1b-9d0e-1234567890ab"
    assert client.get("/", headers={"X-Request-Id": given}).headers["X-Request-Id"] != given


# --- the request line ------------------------------------------------------------------------------------

def test_one_line_per_request_without_the_query_string(logged):
    app, lines = logged
    response = app.test_client().get(f"/track?reference=CW-2026-000001&email={EMAIL}",
                                     environ_base={"REMOTE_ADDR": "192.0.2.7"})

    [line] = _request_lines(lines())
    assert line["request_id"] == response.headers["X-Request-Id"]
    assert line["method"] == "GET" and line["path"] == "/track" and line["endpoint"] == "claimant.track"
    assert line["status"] == 200 and line["client"] == "192.0.2.7" and line["level"] == "info"
    assert isinstance(line["duration_ms"], float) and line["time"].endswith("Z")
    assert "role" not in line and "user_id" not in line
    assert EMAIL not in json.dumps(lines())


def test_staff_are_logged_by_role_and_id_never_by_email(logged):
    from tests.factories import Factory

    app, lines = logged
    client = app.test_client()
    factory = Factory(app, client)
    officer = factory.staff("officer", "DE")
    client.get("/api/v1/appeals", headers=officer.headers)
    factory.sign_in("mediator", "DE")
    client.get("/mediations/")

    api, signed_in, page = _request_lines(lines())[-3:]
    assert (api["role"], api["user_id"]) == ("officer", officer.user_id)
    assert signed_in["path"] == "/sign-in" and signed_in["status"] == 303
    assert page["role"] == "mediator" and page["status"] == 200
    text = json.dumps(lines())
    assert officer.email not in text and officer.token not in text


def test_claimant_requests_log_no_access_code(logged):
    app, lines = logged
    client = app.test_client()
    client.get("/api/v1/status/CW-2026-000001", headers={"X-Access-Code": ACCESS_CODE})
    client.post("/track", data={"reference": "CW-2026-000001", "access_code": ACCESS_CODE})
    assert [line["status"] for line in _request_lines(lines())] == [404, 404]
    assert ACCESS_CODE not in json.dumps(lines())


def test_application_messages_carry_the_request_id(logged):
    app, lines = logged
    response = app.test_client().get("/api/v1/boom")
    warning = next(line for line in lines() if line["logger"] == "casework.test")
    assert warning["message"] == "about to fail" and warning["level"] == "warning"
    assert warning["request_id"] == response.headers["X-Request-Id"]


# --- server errors --------------------------------------------------------------------------------------------

def test_a_server_error_tells_the_client_only_the_request_id(logged):
    app, lines = logged
    response = app.test_client().get(f"/api/v1/boom?email={EMAIL}",
                                     headers={"X-Access-Code": ACCESS_CODE, "Authorization": f"Bearer {TOKEN}"})

    assert response.status_code == 500
    request_id = response.headers["X-Request-Id"]
    assert response.get_json() == {"error": {"code": "internal_error", "details": {"request_id": request_id},
                                             "message": "Something went wrong on our side. Try again later."}}
    body = response.get_data(as_text=True)
    assert "kaboom" not in body and "Traceback" not in body

    logged_lines = lines()
    failure = next(line for line in logged_lines if "exception" in line)
    assert failure["request_id"] == request_id and failure["level"] == "error"
    assert "Traceback" in failure["exception"] and "RuntimeError: kaboom-detail" in failure["exception"]
    [request_line] = _request_lines(logged_lines)
    assert request_line["status"] == 500 and request_line["level"] == "error" and request_line["path"] == "/api/v1/boom"
    text = json.dumps(logged_lines)
    for secret in (ACCESS_CODE, TOKEN, EMAIL):
        assert secret not in text


def test_a_database_error_logs_the_statement_never_its_values(logged):
    app, lines = logged
    response = app.test_client().get("/api/v1/sql-boom")
    assert response.status_code == 500
    failure = next(line for line in lines() if "exception" in line)
    assert "no_such_column" in failure["exception"] and "parameters hidden" in failure["exception"]
    assert EMAIL not in json.dumps(lines()) and EMAIL not in response.get_data(as_text=True)


def test_a_server_error_page_gives_the_code_to_quote(logged):
    app, _lines = logged
    response = app.test_client().get("/boom", headers={"Accept": "text/html"})
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert response.headers["X-Request-Id"] in page
    assert "kaboom" not in page and "RuntimeError" not in page
    assert response.headers["Cache-Control"] == "no-store"


# --- the formatter and its set-up -------------------------------------------------------------------------------

def test_the_formatter_works_outside_a_request_too():
    """As the scheduler uses it: no request, so no request id; fields and tracebacks all the same."""
    try:
        raise ValueError("sweep failed")
    except ValueError:
        import sys

        record = logging.LogRecord("casework.scheduler", logging.ERROR, __file__, 1, "fired %d, failed %d", (3, 1),
                                   sys.exc_info())
    record.fields = {"job": "deadline-sweep"}
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "fired 3, failed 1" and line["logger"] == "casework.scheduler"
    assert line["job"] == "deadline-sweep" and "request_id" not in line
    assert "ValueError: sweep failed" in line["exception"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"])


def test_tests_keep_pythons_logging_unless_asked(make_app, restore_logging):
    make_app()
    assert not any(isinstance(h, JsonHandler) for h in logging.getLogger().handlers)
    make_app(LOG_JSON=True)
    make_app(LOG_JSON=True)  # a second app replaces the handler, never adds another
    assert sum(isinstance(h, JsonHandler) for h in logging.getLogger().handlers) == 1
