"""Staff sign-in and sign-out: hashed passwords, one answer for every wrong pair, sessions that
expire, CSRF on the form, and no open redirect."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from casework.db import db
from casework.models import User
from tests.factories import STAFF_PASSWORD, Factory


def test_the_sign_in_page_is_labelled(client):
    page = client.get("/sign-in").get_data(as_text=True)
    assert '<label for="field-email">' in page and '<label for="field-password">' in page
    assert 'autocomplete="current-password"' in page


def test_signing_in_leads_to_the_roles_work_and_out_again(client, factory):
    staff = factory.sign_in("officer", "DE")
    assert client.get("/work").headers["Location"].endswith("/queue/")
    page = client.get("/queue/").get_data(as_text=True)
    assert staff.email in page
    assert client.post("/sign-out").status_code == 303
    assert client.get("/queue/").status_code == 302  # back to the sign-in page


@pytest.mark.parametrize("email, password", [
    ("officer.nobody@example.org", STAFF_PASSWORD),  # unknown e-mail
    (None, "wrong password"),  # the staff member's e-mail, wrong password
])
def test_a_wrong_pair_gets_one_answer(client, factory, app, email, password):
    factory.sign_in("officer", "DE")
    client.post("/sign-out")
    email = email or factory.staff("officer", "DE").email
    response = client.post("/sign-in", data={"email": email, "password": password})
    assert response.status_code == 422
    assert "The e-mail address or the password is not right." in response.get_data(as_text=True)
    assert client.get("/queue/").status_code == 302


def test_empty_fields_are_named(client):
    page = client.post("/sign-in", data={"email": "", "password": ""})
    assert page.status_code == 422
    text = page.get_data(as_text=True)
    assert "Enter your e-mail address." in text and "Enter your password." in text
    assert 'href="#field-email"' in text  # the error summary links to the field


def test_a_deactivated_user_is_signed_out(client, factory, app):
    staff = factory.sign_in("officer", "DE")
    with app.app_context():
        user = db.session.get(User, staff.user_id)
        user.active = False
        db.session.commit()
    assert client.get("/queue/").status_code == 302


def test_passwords_are_stored_hashed(app, factory):
    staff = factory.sign_in("officer", "DE")
    with app.app_context():
        stored = db.session.exec(select(User.password_hash).where(User.id == staff.user_id)).one()
    assert stored.startswith("scrypt:") and STAFF_PASSWORD not in stored


@pytest.mark.parametrize("target, expected", [("/appeals/CW-2026-000001", "/appeals/CW-2026-000001"),
                                              ("//evil.example/", "/work"), ("https://evil.example/", "/work")])
def test_after_sign_in_only_a_local_page_is_next(client, factory, target, expected):
    staff = factory.staff("officer", "DE")
    factory.sign_in("officer", "DE")
    client.post("/sign-out")
    response = client.post(f"/sign-in?next={target}", data={"email": staff.email, "password": STAFF_PASSWORD})
    assert response.headers["Location"] == expected


def test_sessions_expire(make_app):
    app = make_app(PERMANENT_SESSION_LIFETIME=timedelta(hours=8))
    client = app.test_client()
    Factory(app, client).sign_in("officer", "DE")
    cookie = client.get_cookie("session")
    assert cookie is not None and cookie.expires is not None and cookie.http_only
    assert cookie.same_site == "Lax"


def test_a_form_without_its_csrf_token_is_refused(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    staff = Factory(app, client).staff("officer", "DE")
    response = client.post("/sign-in", data={"email": staff.email, "password": STAFF_PASSWORD},
                           headers={"Accept": "text/html"})
    assert response.status_code == 400
    assert "This form has expired" in response.get_data(as_text=True)
    # The API, authenticated per request by its token, needs no CSRF token.
    assert client.get("/api/v1/appeals", headers=Factory(app, client).staff("officer", "DE").headers).status_code == 200


def test_the_language_chosen_before_signing_in_stays(client, factory):
    client.get("/sign-in?lang=pl")
    factory.sign_in("officer", "DE")
    page = client.get("/queue/").get_data(as_text=True)
    assert '<html lang="pl" dir="ltr">' in page
