"""Rate limits on guessing and lodging, the headers every response carries, what may be cached,
the session cookie over TLS, and the proxy in front (casework/ratelimits.py, casework/security.py)."""

from __future__ import annotations

import io
import re
import socket
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import time_machine

from casework.ratelimits import client_address
from tests.casework.web.test_claimant import lodge_form
from tests.factories import PDF, STAFF_PASSWORD

START = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
WRONG_CODE = "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF"
UNKNOWN_REFERENCE = "CW-2099-999999"


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def _status(client, reference: str, code: str, address: str = "127.0.0.1"):
    return client.get(f"/api/v1/status/{reference}", headers={"X-Access-Code": code},
                      environ_base={"REMOTE_ADDR": address})


def _guess_wrong(client, reference: str, times: int, address: str = "127.0.0.1") -> None:
    for _ in range(times):
        assert _status(client, reference, WRONG_CODE, address).status_code == 404


# --- access codes ------------------------------------------------------------------------------------

def test_the_eleventh_wrong_code_is_refused_with_retry_after(client, factory, clock):
    appeal = factory.appeal("under_review")
    _guess_wrong(client, appeal["reference"], 10)

    refused = _status(client, appeal["reference"], WRONG_CODE)

    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == str(15 * 60)
    assert refused.get_json() == {"error": {"code": "rate_limited", "details": None,
                                            "message": "Too many attempts. Try again in 15 minutes."}}


def test_while_refused_the_right_code_is_refused_too_until_the_window_ends(client, factory, clock):
    appeal = factory.appeal("under_review")
    _guess_wrong(client, appeal["reference"], 10)
    clock.shift(timedelta(minutes=5))

    right = _status(client, appeal["reference"], appeal["access_code"])
    assert right.status_code == 429
    assert right.headers["Retry-After"] == str(10 * 60)  # what is left of the window
    actions = client.post(f"/api/v1/status/{appeal['reference']}/actions", json={"action": "withdraw"},
                          headers={"X-Access-Code": appeal["access_code"]})
    assert actions.status_code == 429
    upload = client.post(f"/api/v1/status/{appeal['reference']}/documents", data={"file": (io.BytesIO(PDF), "a.pdf")},
                         headers={"X-Access-Code": appeal["access_code"]}, content_type="multipart/form-data")
    assert upload.status_code == 429

    clock.shift(timedelta(minutes=10))
    assert _status(client, appeal["reference"], appeal["access_code"]).status_code == 200


def test_right_codes_do_not_count(client, factory, clock):
    appeal = factory.appeal("under_review")
    for _ in range(15):
        assert _status(client, appeal["reference"], appeal["access_code"]).status_code == 200
    _guess_wrong(client, appeal["reference"], 10)
    assert _status(client, appeal["reference"], WRONG_CODE).status_code == 429


def test_a_right_code_does_not_reset_the_count(client, factory, clock):
    """Or someone holding one appeal's code could guess at the others' without end."""
    own, other = factory.appeal("under_review"), factory.appeal("lodged")
    _guess_wrong(client, other["reference"], 5)
    assert _status(client, own["reference"], own["access_code"]).status_code == 200
    _guess_wrong(client, other["reference"], 5)
    assert _status(client, own["reference"], own["access_code"]).status_code == 429


def test_unknown_references_count_like_wrong_codes_and_are_refused_alike(client, factory, clock):
    appeal = factory.appeal("under_review")
    _guess_wrong(client, UNKNOWN_REFERENCE, 5)
    _guess_wrong(client, appeal["reference"], 5)

    unknown, known = _status(client, UNKNOWN_REFERENCE, WRONG_CODE), _status(client, appeal["reference"], WRONG_CODE)

    assert unknown.status_code == known.status_code == 429
    assert unknown.get_json() == known.get_json()
    assert unknown.headers["Retry-After"] == known.headers["Retry-After"]


def test_one_appeal_is_protected_from_many_addresses(client, factory, clock):
    appeal, other = factory.appeal("under_review"), factory.appeal("lodged")
    for number in range(10):
        _guess_wrong(client, appeal["reference"], 1, address=f"192.0.2.{number + 1}")

    fresh = "198.51.100.7"
    assert _status(client, appeal["reference"], appeal["access_code"], fresh).status_code == 429
    # That address has failed once only: another appeal opens from it.
    assert _status(client, other["reference"], other["access_code"], fresh).status_code == 200


def test_one_address_is_refused_for_every_appeal(client, factory, clock):
    appeal = factory.appeal("under_review")
    for number in range(10):
        _guess_wrong(client, f"CW-2099-{number:06d}", 1)
    assert _status(client, appeal["reference"], appeal["access_code"]).status_code == 429
    assert _status(client, appeal["reference"], appeal["access_code"], "192.0.2.1").status_code == 200


def test_a_missing_code_is_not_a_guess(client, factory, clock):
    appeal = factory.appeal("under_review")
    for _ in range(12):
        assert client.get(f"/api/v1/status/{appeal['reference']}").status_code == 401
    assert _status(client, appeal["reference"], appeal["access_code"]).status_code == 200


def test_the_track_form_counts_and_refuses_with_a_page(client, factory, clock):
    appeal = factory.appeal("under_review")
    wrong = {"reference": appeal["reference"], "access_code": WRONG_CODE}
    for _ in range(10):
        assert client.post("/track", data=wrong).status_code == 404

    refused = client.post("/track", data={"reference": appeal["reference"], "access_code": appeal["access_code"]},
                          headers={"Accept": "text/html"})

    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == str(15 * 60)
    page = refused.get_data(as_text=True)
    assert "Too many attempts. Try again in 15 minutes." in page and "<form" in page
    # The API counts the same failures: it is one client guessing at one appeal.
    assert _status(client, appeal["reference"], appeal["access_code"]).status_code == 429


def test_the_refusal_reads_in_the_claimants_language(client, factory, clock):
    appeal = factory.appeal("under_review")
    _guess_wrong(client, appeal["reference"], 10)
    refused = client.get(f"/api/v1/status/{appeal['reference']}?lang=de", headers={"X-Access-Code": WRONG_CODE})
    assert refused.status_code == 429
    assert refused.get_json()["error"]["message"]  # translated once the msgid is (English until then)


def test_an_opened_status_page_stays_open_while_the_reference_is_refused(client, factory, clock):
    """The browser that opened the appeal proved its code already: someone else's guessing at
    the reference does not shut its owner out."""
    appeal = factory.appeal("under_review")
    assert client.post("/track", data={"reference": appeal["reference"],
                                        "access_code": appeal["access_code"]}).status_code == 303
    for number in range(10):
        _guess_wrong(client, appeal["reference"], 1, address=f"192.0.2.{number + 1}")
    assert client.get(f"/track/{appeal['reference']}").status_code == 200


def test_limits_can_be_switched_off(make_app, clock):
    app = make_app(RATELIMIT_ENABLED=False)
    client = app.test_client()
    for _ in range(12):
        assert _status(client, UNKNOWN_REFERENCE, WRONG_CODE).status_code == 404


# --- staff sign-in ------------------------------------------------------------------------------------

def _sign_in(client, email: str, password: str, address: str = "127.0.0.1"):
    return client.post("/sign-in", data={"email": email, "password": password}, environ_base={"REMOTE_ADDR": address})


def test_sign_in_is_refused_after_ten_failures_even_with_the_right_password(client, factory, clock):
    staff = factory.staff("officer", "DE")
    factory.sign_in("officer", "DE")  # sets the password; a success does not count
    client.post("/sign-out")
    for _ in range(10):
        assert _sign_in(client, staff.email, "wrong password").status_code == 422

    refused = _sign_in(client, staff.email, STAFF_PASSWORD)

    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == str(15 * 60)
    assert "Too many attempts. Try again in 15 minutes." in refused.get_data(as_text=True)
    clock.shift(timedelta(minutes=15))
    assert _sign_in(client, staff.email, STAFF_PASSWORD).status_code == 303


def test_sign_in_counts_per_email_across_addresses(client, factory, clock):
    staff = factory.staff("officer", "DE")
    factory.sign_in("officer", "DE")
    client.post("/sign-out")
    for number in range(10):
        assert _sign_in(client, staff.email.upper(), "wrong", f"192.0.2.{number + 1}").status_code == 422
    assert _sign_in(client, staff.email, STAFF_PASSWORD, "198.51.100.7").status_code == 429
    # Unknown e-mail addresses count alike, from one address.
    for _ in range(10):
        assert _sign_in(client, "nobody@example.org", "wrong", "203.0.113.9").status_code == 422
    assert _sign_in(client, "someone.else@example.org", "wrong", "203.0.113.9").status_code == 429


def test_empty_sign_in_fields_are_not_a_guess(client):
    for _ in range(12):
        assert client.post("/sign-in", data={"email": "", "password": ""}).status_code == 422
    assert _sign_in(client, "nobody@example.org", "wrong").status_code == 422


# --- lodging ------------------------------------------------------------------------------------------

def test_the_lodging_form_limits_appeals_lodged_per_address(make_app, clock):
    app = make_app(RATELIMIT_LODGE_WEB="2 per hour")
    client = app.test_client()
    for _ in range(3):  # forms with mistakes do not count
        assert client.post("/lodge", data=lodge_form(grounds="")).status_code == 422
    for _ in range(2):
        assert client.post("/lodge", data=lodge_form()).status_code == 200

    refused = client.post("/lodge", data=lodge_form(), headers={"Accept": "text/html"})

    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    assert "Too many attempts" in refused.get_data(as_text=True)
    assert client.post("/lodge", data=lodge_form(), environ_base={"REMOTE_ADDR": "192.0.2.1"}).status_code == 200
    assert client.get("/lodge").status_code == 200
    clock.shift(timedelta(hours=1))
    assert client.post("/lodge", data=lodge_form()).status_code == 200


def test_lodging_through_the_api_is_limited_per_address(make_app, clock):
    from tests.factories import Factory, lodge_body

    app = make_app(RATELIMIT_LODGE_API="2 per hour")
    client = app.test_client()
    factory = Factory(app, client)
    factory.lodge()
    factory.lodge()

    refused = client.post("/api/v1/appeals", json=lodge_body(), headers=factory.staff("officer", "DE").headers)

    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "rate_limited"
    assert 0 < int(refused.headers["Retry-After"]) <= 3600


# --- storage ---------------------------------------------------------------------------------------------

REDIS_URL = "redis://127.0.0.1:6379/15"


def _redis_reachable() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _redis_reachable(), reason="no Redis at 127.0.0.1:6379")
def test_counts_live_in_redis_when_configured(make_app, monkeypatch):
    import redis

    prefix = f"casework-test-{uuid.uuid4().hex}"  # runs elsewhere on the same Redis count apart
    monkeypatch.setenv("CASEWORK_RATELIMIT_STORAGE_URL", REDIS_URL)
    app = make_app(RATELIMIT_KEY_PREFIX=prefix)
    store = redis.Redis.from_url(REDIS_URL)
    try:
        _guess_wrong(app.test_client(), UNKNOWN_REFERENCE, 10)
        keys = [key.decode() for key in store.scan_iter(f"*LIMITER/{prefix}/*")]
        assert len(keys) == 2 and all(0 < store.ttl(key) <= 15 * 60 for key in keys)

        # Another process (another worker, another host) sees the same counts.
        refused = _status(make_app(RATELIMIT_KEY_PREFIX=prefix).test_client(), UNKNOWN_REFERENCE, WRONG_CODE)
        assert refused.status_code == 429
        assert 0 < int(refused.headers["Retry-After"]) <= 15 * 60
    finally:
        for key in store.scan_iter(f"*LIMITER/{prefix}/*"):
            store.delete(key)


def test_an_unreachable_storage_lets_requests_through(make_app, caplog):
    app = make_app(RATELIMIT_STORAGE_URL="redis://127.0.0.1:1/0")  # nothing listens on port 1
    client = app.test_client()
    assert _status(client, UNKNOWN_REFERENCE, WRONG_CODE).status_code == 404
    assert "rate limit storage unreachable" in caplog.text


# --- the client's address ---------------------------------------------------------------------------------

@pytest.mark.parametrize("address, counted", [
    ("192.0.2.10", "192.0.2.10"),
    ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),  # one IPv6 client holds a whole /64
    ("::ffff:192.0.2.10", "192.0.2.10"),
])
def test_the_address_that_limits_count(app, address, counted):
    with app.test_request_context(environ_base={"REMOTE_ADDR": address}):
        assert client_address() == counted


def test_forwarded_addresses_are_believed_only_when_configured(make_app, clock):
    forwarded = {"X-Forwarded-For": "192.0.2.55"}
    direct = make_app().test_client()
    for number in range(10):
        direct.get(f"/api/v1/status/CW-2099-{number:06d}", headers={"X-Access-Code": WRONG_CODE, **forwarded})
    # Without ProxyFix the header is ignored: every guess counted against the peer, 127.0.0.1.
    assert _status(direct, UNKNOWN_REFERENCE, WRONG_CODE).status_code == 429

    proxied = make_app(PROXY_FIX_X_FOR=1).test_client()
    for number in range(10):
        response = proxied.get(f"/api/v1/status/CW-2098-{number:06d}",
                               headers={"X-Access-Code": WRONG_CODE, "X-Forwarded-For": "192.0.2.55"})
        assert response.status_code == 404
    assert proxied.get(f"/api/v1/status/{UNKNOWN_REFERENCE}",
                       headers={"X-Access-Code": WRONG_CODE, **forwarded}).status_code == 429
    assert proxied.get(f"/api/v1/status/{UNKNOWN_REFERENCE}",
                       headers={"X-Access-Code": WRONG_CODE, "X-Forwarded-For": "192.0.2.56"}).status_code == 404


# --- headers ----------------------------------------------------------------------------------------------

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}


@pytest.fixture
def failing_app(make_app):
    """An app with one route that fails, as a bug would: exceptions become a 500, not a test error."""
    app = make_app(PROPAGATE_EXCEPTIONS=False)

    @app.get("/api/v1/boom")
    def boom():
        raise RuntimeError("boom: SELECT * FROM claimant WHERE email = 'ana@example.org'")

    app.add_url_rule("/boom", "page_boom", boom)
    return app


def _assert_security_headers(response):
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (name, response.status_code, response.request.path)
    assert "Strict-Transport-Security" not in response.headers


@pytest.mark.parametrize("path, status", [
    ("/", 200),
    ("/track", 200),
    ("/api/v1/metrics", 200),
    ("/static/casework.css", 200),
    ("/api/v1/appeals", 401),
    ("/no-such-page", 404),
    ("/api/v1/status/CW-2099-999999", 401),
])
def test_every_response_carries_the_security_headers(client, path, status):
    response = client.get(path, headers={"Accept": "text/html"})
    assert response.status_code == status
    _assert_security_headers(response)


def test_a_server_error_carries_them_too(failing_app):
    response = failing_app.test_client().get("/api/v1/boom")
    assert response.status_code == 500
    _assert_security_headers(response)


def test_hsts_only_over_tls(client):
    assert "Strict-Transport-Security" not in client.get("/").headers
    for path in ("/", "/api/v1/metrics", "/no-such-page"):
        response = client.get(path, base_url="https://localhost")
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_the_session_cookie_is_secure_over_tls_and_httponly_and_lax(app, factory):
    staff = factory.sign_in("officer", "DE")
    for base_url, secure in (("http://localhost", False), ("https://localhost", True)):
        client = app.test_client()
        response = client.post("/sign-in", data={"email": staff.email, "password": STAFF_PASSWORD}, base_url=base_url)
        assert response.status_code == 303
        cookie = client.get_cookie("session")
        assert cookie.secure is secure and cookie.http_only and cookie.same_site == "Lax"


def test_an_https_installation_without_secure_cookies_is_warned(make_app, caplog):
    make_app(PREFERRED_URL_SCHEME="https")
    assert "SESSION_COOKIE_SECURE is off" in caplog.text
    caplog.clear()
    make_app(PREFERRED_URL_SCHEME="https", SESSION_COOKIE_SECURE=True)
    assert "SESSION_COOKIE_SECURE" not in caplog.text


def test_the_session_cookie_can_be_secure_always(make_app):
    app = make_app(SESSION_COOKIE_SECURE=True)
    with app.test_request_context():
        assert app.session_interface.get_cookie_secure(app) is True


# --- caching ---------------------------------------------------------------------------------------------

def test_pages_and_data_with_personal_data_are_never_stored(client, factory):
    appeal = factory.appeal("under_review")
    officer = factory.staff("officer", "DE")
    claimant = factory.app.test_client()
    claimant.post("/track", data={"reference": appeal["reference"], "access_code": appeal["access_code"]})
    responses = {
        "claimant status page": claimant.get(f"/track/{appeal['reference']}"),
        "claimant track form": claimant.get("/track"),
        "lodging form": claimant.get("/lodge"),
        "claimant status API": claimant.get(f"/api/v1/status/{appeal['reference']}",
                                            headers={"X-Access-Code": appeal["access_code"]}),
        "appeal API": client.get(f"/api/v1/appeals/{appeal['reference']}", headers=officer.headers),
        "sign-in page": client.get("/sign-in"),
    }
    factory.sign_in("officer", "DE")
    responses["work queue"] = client.get("/queue/")
    responses["case page"] = client.get(f"/appeals/{appeal['reference']}")
    for name, response in responses.items():
        assert response.status_code == 200, name
        assert response.headers["Cache-Control"] == "no-store", name


def test_public_pages_may_be_cached(client):
    for path in ("/", "/metrics", "/api/v1/metrics", "/api/v1/keys", "/static/casework.css"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "no-store" not in response.headers.get("Cache-Control", ""), path


# --- the pages themselves ------------------------------------------------------------------------------------

INLINE = [
    re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),  # a script without src: inline
    re.compile(r"<style\b", re.I),
    re.compile(r"\sstyle\s*=", re.I),
    re.compile(r"\son[a-z]+\s*=", re.I),  # onclick=, onload=…
    re.compile(r"javascript:", re.I),
]


def test_no_page_has_inline_script_or_style(client, factory):
    appeal = factory.appeal("awaiting_claimant")
    mediation = factory.appeal("in_mediation")
    escalated = factory.appeal("escalated")
    claimant = factory.app.test_client()
    claimant.post("/track", data={"reference": appeal["reference"], "access_code": appeal["access_code"]})
    pages = {
        "/": client.get("/"),
        "/lodge": client.get("/lodge"),
        "/lodge (with mistakes)": client.post("/lodge", data=lodge_form(grounds="")),
        "/track": client.get("/track"),
        "/sign-in": client.get("/sign-in"),
        "/metrics": client.get("/metrics"),
        "/no-such-page": client.get("/no-such-page", headers={"Accept": "text/html"}),
        "status": claimant.get(f"/track/{appeal['reference']}"),
        "confirm": claimant.get(f"/track/{appeal['reference']}/confirm/request_mediation"),
    }
    for role, country, path in (("officer", "DE", "/queue/"), ("officer", "DE", f"/appeals/{appeal['reference']}"),
                                ("mediator", "DE", "/mediations/"), ("tribunal", None, "/referrals/")):
        staff = factory.app.test_client()
        factory.sign_in(role, country, client=staff)
        pages[f"{role} {path}"] = staff.get(path)
    assert mediation and escalated
    for name, response in pages.items():
        html = response.get_data(as_text=True)
        assert "<html" in html, name
        for pattern in INLINE:
            assert not pattern.search(html), (name, pattern.pattern, pattern.search(html))
