"""API tokens and staff accounts from the command line: tokens expire after ``API_TOKEN_DAYS``
(or ``--days``), can be listed (never shown again) and revoked, one by one or all of a user's;
a deactivated user can neither sign in nor use a token, and a session they have open ends at
its next request. Every refused token gets the 401 of a token never issued."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from sqlmodel import select

from casework import config
from casework.db import db
from casework.models import ApiToken, User
from tests.factories import STAFF_PASSWORD, Factory

START = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
NEVER_ISSUED = {"Authorization": "Bearer cw_this-token-was-never-issued"}


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def app(make_app):
    """The installation's default lifetime of tokens (the other tests' tokens never expire)."""
    app = make_app(API_TOKEN_DAYS=config.API_TOKEN_DAYS)
    yield app
    app.extensions["casework.db"].dispose()


def issue(runner, email: str, *args: str) -> tuple[str, list[str]]:
    result = runner.invoke(args=["tokens", "issue", email, *args])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    return lines[-1], lines


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def refused_like_a_token_never_issued(client, headers: dict) -> None:
    response = client.get("/api/v1/appeals", headers=headers)
    assert response.status_code == 401
    assert response.get_json() == client.get("/api/v1/appeals", headers=NEVER_ISSUED).get_json()


def works(client, headers: dict) -> bool:
    return client.get("/api/v1/appeals", headers=headers).status_code == 200


def token_rows(app, email: str) -> list[ApiToken]:
    with app.app_context():
        user = db.session.exec(select(User).where(User.email == email)).one()
        return db.session.exec(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)).all()


def test_the_default_lifetime_is_90_days():
    assert config.API_TOKEN_DAYS == 90


def test_a_new_token_expires_after_API_TOKEN_DAYS(app, client, runner, factory, clock):
    staff = factory.staff("officer", "DE")
    token, lines = issue(runner, staff.email)
    assert token.startswith("cw_") and " " not in token
    assert "expires 2027-01-31 09:00 UTC" in lines[-2]
    [_, row] = token_rows(app, staff.email)  # the factory's own, then the command's
    assert row.expires_at == START + timedelta(days=90)

    clock.move_to(START + timedelta(days=90) - timedelta(seconds=1))
    assert works(client, bearer(token))
    clock.move_to(START + timedelta(days=90))
    refused_like_a_token_never_issued(client, bearer(token))


def test_days_sets_another_lifetime(app, client, runner, factory, clock):
    staff = factory.staff("officer", "DE")
    token, lines = issue(runner, staff.email, "--days", "5")
    assert "expires 2026-11-07 09:00 UTC" in lines[-2]
    clock.shift(timedelta(days=5) - timedelta(seconds=1))
    assert works(client, bearer(token))
    clock.shift(timedelta(seconds=1))
    refused_like_a_token_never_issued(client, bearer(token))


@pytest.mark.parametrize("days", ["0", "-1", "soon"])
def test_days_must_be_a_positive_number(runner, factory, days):
    result = runner.invoke(args=["tokens", "issue", factory.staff("officer", "DE").email, "--days", days])
    assert result.exit_code == 2


def test_an_installation_may_issue_tokens_that_never_expire(make_app, clock):
    app = make_app(API_TOKEN_DAYS=None)
    client, runner = app.test_client(), app.test_cli_runner()
    staff = Factory(app, client).staff("officer", "DE")
    token, lines = issue(runner, staff.email)
    assert "never expires" in lines[-2]
    clock.shift(timedelta(days=3650))
    assert works(client, bearer(token))


def test_no_token_for_an_unknown_or_deactivated_user(app, runner, factory):
    assert runner.invoke(args=["tokens", "issue", "nobody@example.org"]).exit_code == 2
    staff = factory.staff("officer", "DE")
    assert runner.invoke(args=["users", "deactivate", staff.email]).exit_code == 0
    result = runner.invoke(args=["tokens", "issue", staff.email])
    assert result.exit_code == 2 and "deactivated" in result.output
    assert len(token_rows(app, staff.email)) == 1  # the factory's only


def test_the_list_shows_each_token_but_never_the_token(app, client, runner, factory, clock):
    officer, mediator = factory.staff("officer", "DE"), factory.staff("mediator", "DE")
    token, _ = issue(runner, officer.email, "--days", "5")
    [first, second] = token_rows(app, officer.email)
    assert runner.invoke(args=["tokens", "revoke", str(first.id)]).exit_code == 0
    clock.shift(timedelta(days=6))

    everyone = runner.invoke(args=["tokens", "list"])
    assert everyone.exit_code == 0, everyone.output
    lines = everyone.output.strip().splitlines()
    assert lines[0].split() == ["ID", "USER", "CREATED", "EXPIRES", "REVOKED", "STATUS"]
    assert lines[-1] == "3 tokens"
    rows = {line.split()[0]: line for line in lines[1:-1]}
    assert rows[str(first.id)].endswith("revoked") and officer.email in rows[str(first.id)]
    assert "2026-11-02 09:00 UTC" in rows[str(first.id)]  # revoked at
    assert rows[str(second.id)].endswith("expired") and "2026-11-07 09:00 UTC" in rows[str(second.id)]
    assert next(line for line in rows.values() if mediator.email in line).endswith("active")
    for secret in (officer.token, mediator.token, token, first.token_hash, second.token_hash):
        assert secret not in everyone.output

    one = runner.invoke(args=["tokens", "list", mediator.email])
    assert officer.email not in one.output and one.output.strip().endswith("\n1 token")
    assert runner.invoke(args=["tokens", "list", "nobody@example.org"]).exit_code == 2


def test_revoking_a_token_by_its_id(app, client, runner, factory, clock):
    officer = factory.staff("officer", "DE")
    token, _ = issue(runner, officer.email)
    row = token_rows(app, officer.email)[-1]
    assert works(client, bearer(token))

    result = runner.invoke(args=["tokens", "revoke", str(row.id)])
    assert result.exit_code == 0 and result.output.strip() == f"revoked token {row.id}"
    refused_like_a_token_never_issued(client, bearer(token))
    assert works(client, officer.headers)  # the user's other token is untouched

    clock.shift(timedelta(hours=1))
    again = runner.invoke(args=["tokens", "revoke", str(row.id)])
    assert again.exit_code == 0
    assert again.output.strip() == f"token {row.id} was already revoked on 2026-11-02 09:00 UTC"
    assert token_rows(app, officer.email)[-1].revoked_at == START  # the first revocation stands

    assert runner.invoke(args=["tokens", "revoke", "999999"]).exit_code == 2


def test_revoking_every_token_of_a_user(app, client, runner, factory):
    officer, other = factory.staff("officer", "DE"), factory.staff("officer", "PL")
    token, _ = issue(runner, officer.email)

    result = runner.invoke(args=["tokens", "revoke", "--user", officer.email])
    assert result.exit_code == 0 and result.output.strip() == f"revoked 2 tokens of {officer.email}"
    refused_like_a_token_never_issued(client, bearer(token))
    refused_like_a_token_never_issued(client, officer.headers)
    assert works(client, other.headers)
    assert runner.invoke(args=["tokens", "revoke", "--user", officer.email]).output.strip() == \
        f"revoked 0 tokens of {officer.email}"


@pytest.mark.parametrize("args", [[], ["1", "--user", "someone@example.org"]], ids=["neither", "both"])
def test_revoke_takes_an_id_or_a_user(runner, factory, args):
    factory.staff("officer", "DE")
    result = runner.invoke(args=["tokens", "revoke", *args])
    assert result.exit_code == 2 and "give a token ID or --user EMAIL" in result.output


def test_a_deactivated_user_cannot_sign_in_or_use_tokens_until_activated(app, client, runner, factory):
    staff = factory.sign_in("officer", "DE")
    browser = app.test_client()
    factory.sign_in("officer", "DE", client=browser)
    assert browser.get("/queue/").status_code == 200

    result = runner.invoke(args=["users", "deactivate", staff.email])
    assert result.exit_code == 0 and result.output.startswith(f"deactivated {staff.email}")
    refused_like_a_token_never_issued(client, staff.headers)
    # The session open in a browser ends at its next request: back to the sign-in page.
    response = browser.get("/queue/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in")
    signing_in = app.test_client().post("/sign-in", data={"email": staff.email, "password": STAFF_PASSWORD})
    assert signing_in.status_code == 422
    assert runner.invoke(args=["users", "deactivate", staff.email]).output.strip() == \
        f"{staff.email} was already deactivated"

    result = runner.invoke(args=["users", "activate", staff.email])
    assert result.exit_code == 0 and result.output.startswith(f"activated {staff.email}")
    assert works(client, staff.headers)
    factory.sign_in("officer", "DE", client=browser)
    assert browser.get("/queue/").status_code == 200
    assert runner.invoke(args=["users", "activate", staff.email]).output.strip() == f"{staff.email} was already active"


@pytest.mark.parametrize("command", ["activate", "deactivate"])
def test_activating_an_unknown_user_is_a_usage_error(runner, command):
    assert runner.invoke(args=["users", command, "nobody@example.org"]).exit_code == 2
