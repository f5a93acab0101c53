"""The administrators' access review page (/admin/access): who may open it (administrators; other
staff get a 403 page, someone not signed in the sign-in page), what it lists, and its forms to
revoke a token and deactivate or activate an account: POST with a CSRF token, a message saying
what was done, and an immediate effect on the API and on open sessions."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select
from werkzeug.security import generate_password_hash

from casework.db import db
from casework.models import ApiToken, User
from tests.casework.test_query_plans import Recorder, check
from tests.factories import STAFF_PASSWORD, Factory

HTML = {"Accept": "text/html"}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def tokens_of(app, user_id: int) -> list[ApiToken]:
    with app.app_context():
        return db.session.exec(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id)).all()


def test_administrators_see_every_account(client, factory):
    officer, mediator = factory.staff("officer", "DE"), factory.staff("mediator", "FR")
    factory.appeal("under_review")
    admin = factory.sign_in("admin", None)

    response = client.get("/admin/access", headers=HTML)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for staff in (officer, mediator, admin):
        assert staff.email in page
    assert "Appeals handled by or involving DE: 1 now; may act on those DE handles: 1" in page
    assert "Mediations of FR not yet taken by a mediator, and their own: 0 now (0 their own)" in page
    assert "The access review; no appeal data" in page
    assert '<a href="/admin/access" aria-current="page">Access review</a>' in page  # in the navigation
    [token] = tokens_of(client.application, officer.user_id)
    assert f'action="/admin/access/tokens/{token.id}/revoke"' in page
    assert f'action="/admin/access/users/{officer.user_id}/deactivate"' in page
    assert f'action="/admin/access/users/{admin.user_id}/deactivate"' not in page  # not oneself
    for secret in (officer.token, mediator.token, token.token_hash):
        assert secret not in page


def test_the_page_obeys_a_strict_content_security_policy_and_reads_right_to_left(client, factory):
    factory.staff("officer", "DE")
    factory.sign_in("admin", None)
    page = client.get("/admin/access?lang=ar", headers=HTML).get_data(as_text=True)
    assert 'dir="rtl"' in page
    assert "style=" not in page and "<style" not in page and "<script" not in page and " on" + "click" not in page


@pytest.mark.parametrize("role, country", [("officer", "DE"), ("mediator", "DE"), ("tribunal", None),
                                           ("oversight", None)])
def test_other_staff_get_a_403_page_and_no_link(client, factory, role, country):
    staff = factory.sign_in(role, country)
    other = factory.staff("officer", "PL")
    [token] = tokens_of(client.application, other.user_id)
    home = client.get("/", headers=HTML).get_data(as_text=True)
    assert "/admin/access" not in home

    page = client.get("/admin/access", headers=HTML)
    assert page.status_code == 403 and "You may not do this" in page.get_data(as_text=True)
    assert other.email not in page.get_data(as_text=True)
    for url in (f"/admin/access/tokens/{token.id}/revoke", f"/admin/access/users/{other.user_id}/deactivate",
                f"/admin/access/users/{staff.user_id}/activate"):
        assert client.post(url, headers=HTML).status_code == 403
    assert tokens_of(client.application, other.user_id)[0].revoked_at is None
    assert client.get("/api/v1/appeals", headers=other.headers).status_code == 200


def test_someone_not_signed_in_is_sent_to_sign_in(client, factory):
    other = factory.staff("officer", "PL")
    response = client.get("/admin/access", headers=HTML)
    assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in?next=")
    response = client.post(f"/admin/access/users/{other.user_id}/deactivate", headers=HTML)
    assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in")
    assert client.get("/api/v1/appeals", headers=other.headers).status_code == 200


def test_revoking_a_token(app, client, factory):
    officer = factory.staff("officer", "DE")
    [token] = tokens_of(app, officer.user_id)
    factory.sign_in("admin", None)

    response = client.post(f"/admin/access/tokens/{token.id}/revoke", headers=HTML)
    assert response.status_code == 303 and response.headers["Location"] == "/admin/access"
    page = client.get("/admin/access", headers=HTML).get_data(as_text=True)
    assert f"Token {token.id} of {officer.email} is revoked: it no longer works." in page
    assert f'action="/admin/access/tokens/{token.id}/revoke"' not in page
    assert client.get("/api/v1/appeals", headers=officer.headers).status_code == 401

    client.post(f"/admin/access/tokens/{token.id}/revoke", headers=HTML)
    assert f"Token {token.id} of {officer.email} was already revoked." in \
        client.get("/admin/access", headers=HTML).get_data(as_text=True)
    assert client.post("/admin/access/tokens/999999/revoke", headers=HTML).status_code == 404
    assert client.get(f"/admin/access/tokens/{token.id}/revoke", headers=HTML).status_code == 405


def test_deactivating_and_activating_an_account(app, client, factory):
    browser = app.test_client()
    officer = factory.sign_in("officer", "DE", client=browser)
    assert browser.get("/queue/", headers=HTML).status_code == 200
    factory.sign_in("admin", None)

    response = client.post(f"/admin/access/users/{officer.user_id}/deactivate", headers=HTML)
    assert response.status_code == 303
    page = client.get("/admin/access", headers=HTML).get_data(as_text=True)
    assert f"{officer.email} is deactivated: they can no longer sign in or use their tokens." in page
    assert "Nothing while deactivated" in page and "Refused while the account is deactivated." in page
    assert f'action="/admin/access/users/{officer.user_id}/activate"' in page
    assert client.get("/api/v1/appeals", headers=officer.headers).status_code == 401
    assert browser.get("/queue/", headers=HTML).status_code == 302  # the open session ended

    client.post(f"/admin/access/users/{officer.user_id}/deactivate", headers=HTML)
    page = client.get("/admin/access", headers=HTML).get_data(as_text=True)
    assert f"{officer.email} is already deactivated." in page

    assert client.post(f"/admin/access/users/{officer.user_id}/activate", headers=HTML).status_code == 303
    assert f"{officer.email} is active again" in client.get("/admin/access", headers=HTML).get_data(as_text=True)
    assert client.get("/api/v1/appeals", headers=officer.headers).status_code == 200
    assert client.post("/admin/access/users/999999/activate", headers=HTML).status_code == 404


def test_administrators_cannot_lock_themselves_out(app, client, factory):
    admin = factory.sign_in("admin", None)
    response = client.post(f"/admin/access/users/{admin.user_id}/deactivate", headers=HTML)
    assert response.status_code == 303
    page = client.get("/admin/access", headers=HTML)
    assert page.status_code == 200
    assert "You cannot deactivate your own account; another administrator can." in page.get_data(as_text=True)


def test_the_forms_need_their_csrf_token(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    factory = Factory(app, client)
    officer = factory.staff("officer", "DE")
    [token] = tokens_of(app, officer.user_id)
    staff = factory.staff("admin", None)
    page = client.get("/sign-in").get_data(as_text=True)
    with app.app_context():
        user = db.session.get(User, staff.user_id)
        user.password_hash = generate_password_hash(STAFF_PASSWORD)
        db.session.commit()
    signed_in = client.post("/sign-in", data={"email": staff.email, "password": STAFF_PASSWORD,
                                              "csrf_token": CSRF.search(page).group(1)})
    assert signed_in.status_code == 303

    refused = client.post(f"/admin/access/tokens/{token.id}/revoke", headers=HTML)
    assert refused.status_code == 400 and "This form has expired" in refused.get_data(as_text=True)
    assert tokens_of(app, officer.user_id)[0].revoked_at is None

    review = client.get("/admin/access", headers=HTML).get_data(as_text=True)
    accepted = client.post(f"/admin/access/tokens/{token.id}/revoke", data={"csrf_token": CSRF.search(review).group(1)},
                           headers=HTML)
    assert accepted.status_code == 303
    assert tokens_of(app, officer.user_id)[0].revoked_at is not None


def test_the_page_reads_from_indexes(app, client, factory):
    factory.appeal("in_mediation")
    factory.staff("tribunal")
    factory.sign_in("admin", None)
    with app.app_context():
        recorder = Recorder(db.engine)
        with recorder.path("/admin/access"):
            assert client.get("/admin/access", headers=HTML).status_code == 200
        failures = [f for f in check(db.engine, recorder.statements) if not f.startswith("SORTED_PAGES")]
    assert not failures, "\n\n".join(failures)
