"""The access review (casework/access_review.py): each staff account with its working tokens and
what it can see now, in words and counts that match what the API really shows that account;
``flask access review`` as a table and as JSON; the counts read from indexes only."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from sqlmodel import select

from casework import access_review
from casework.access import hash_api_token, new_api_token, new_staff
from casework.db import db, writing
from casework.models import ApiToken, User
from tests.casework.test_query_plans import Recorder, check

START = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def world(app, client, factory, clock):
    """Appeals handled by DE: one under review involving PL, one in mediation assigned to a DE
    mediator, one in mediation not yet taken, one before the CBSST tribunal; one handled by FR
    involving DE. Staff of every role, some with extra tokens (expired, revoked, without expiry)."""
    factory.appeal("under_review")
    assigned = factory.appeal("in_mediation")
    factory.appeal("in_mediation", involved_countries=[])
    factory.appeal("before_tribunal", involved_countries=[])
    factory.lodge(lodged_at=None, contested_decision__institution_country="FR", involved_countries=["DE"],
                  contested_decision__institution_name="CNAV", contested_decision__notified_on=None,
                  contested_decision__decision_date=(START - timedelta(days=3)).date().isoformat())
    mediator = factory.staff("mediator", "DE")
    factory.act(assigned["reference"], "officer", {"action": "assign", "user": mediator.email})
    staff = {
        "officer_de": factory.staff("officer", "DE"), "officer_pl": factory.staff("officer", "PL"),
        "officer_fr": factory.staff("officer", "FR"), "officer_es": factory.staff("officer", "ES"),
        "mediator_de": mediator, "tribunal": factory.staff("tribunal"),
        "oversight": factory.staff("oversight", None), "admin": factory.staff("admin", None),
    }
    with app.app_context(), writing():
        for row in db.session.exec(select(ApiToken)).all():  # the factory's tokens, as an installation issues them
            row.expires_at = START + timedelta(days=90)
        second = new_staff(db.session, "mediator.de.second@example.org", "mediator", None, "DE")
        officer = db.session.get(User, staff["officer_de"].user_id)
        for expires_at, revoked_at in ((START + timedelta(days=10), None), (START - timedelta(seconds=1), None),
                                       (START + timedelta(days=5), START), (None, None)):
            db.session.add(ApiToken(user_id=officer.id, token_hash=hash_api_token(new_api_token()),
                                    expires_at=expires_at, revoked_at=revoked_at))
        inactive = db.session.get(User, staff["officer_es"].user_id)
        inactive.active = False
        db.session.commit()
        staff["mediator_de_second"] = second.email
    return staff


def entries_by_email(app) -> dict[str, access_review.Entry]:
    with app.test_request_context():
        return {entry.email: entry for entry in access_review.review(db.session)}


def visible_through_the_api(client, headers: dict) -> set[str]:
    items = client.get("/api/v1/appeals?limit=200", headers=headers).get_json()["items"]
    return {item["reference"] for item in items}


def test_what_each_account_can_see_in_words_and_counts(app, world):
    entries = entries_by_email(app)
    de = entries[world["officer_de"].email]
    assert de.sees == "Appeals handled by or involving DE: 5 now; may act on those DE handles: 4"
    assert de.counts == {"visible": 5, "may_act": 4}
    assert entries[world["officer_pl"].email].sees == \
        "Appeals handled by or involving PL: 2 now; may act on those PL handles: 0"
    assert entries[world["officer_fr"].email].counts == {"visible": 1, "may_act": 1}
    assert entries[world["mediator_de"].email].sees == \
        "Mediations of DE not yet taken by a mediator, and their own: 2 now (1 their own)"
    assert entries[world["mediator_de_second"]].counts == {"visible": 1, "not_taken": 1, "own": 0}
    assert entries[world["tribunal"].email].sees == "Appeals referred to CBSST: 1 now"
    assert entries[world["oversight"].email].sees == "Published metrics only; no appeal data"
    assert entries[world["admin"].email].sees == "The access review; no appeal data"
    assert entries[world["officer_es"].email].sees == (
        "Nothing while deactivated; once active again: Appeals handled by or involving ES: 0 now; "
        "may act on those ES handles: 0")
    roles = [e.role for e in entries.values()]
    assert roles == sorted(roles, key=["officer", "mediator", "tribunal", "oversight", "admin"].index)


def test_the_counts_are_what_the_api_shows(app, client, world):
    """The review's numbers are not a second opinion: they match each account's own queue."""
    entries = entries_by_email(app)
    for name in ("officer_de", "officer_pl", "officer_fr", "mediator_de", "tribunal", "oversight", "admin"):
        staff = world[name]
        counted = entries[staff.email].counts.get("visible", 0)
        assert len(visible_through_the_api(client, staff.headers)) == counted, name


def test_tokens_that_work_now(app, world):
    entries = entries_by_email(app)
    de = entries[world["officer_de"].email]
    # The factory's token (90 days), one expiring in 10 days, one without expiry; the expired
    # and the revoked ones are left out.
    assert len(de.tokens) == 3
    assert de.next_expiry == START + timedelta(days=10)
    assert de.tokens_without_expiry == 1
    assert [t.expires_at for t in de.tokens] == [START + timedelta(days=10), START + timedelta(days=90), None]
    assert de.as_json()["tokens"]["active"] == 3
    assert de.as_json()["tokens"]["next_expiry"] == "2026-11-12T09:00:00Z"
    assert len(entries[world["mediator_de_second"]].tokens) == 0


def test_the_command_prints_a_table(app, runner, world):
    result = runner.invoke(args=["access", "review"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0].split()[:5] == ["EMAIL", "ROLE", "WHERE", "ACTIVE", "CREATED"]
    assert lines[-1] == "9 accounts, 8 active, 9 working tokens"
    de = next(line for line in lines if line.startswith(world["officer_de"].email))
    assert de.split()[1:8] == ["officer", "DE", "yes", "2026-11-02", "3", "(1", "never"]
    assert "2026-11-12 09:00" in de and de.endswith("may act on those DE handles: 4")
    es = next(line for line in lines if line.startswith(world["officer_es"].email))
    assert es.split()[1:4] == ["officer", "ES", "no"] and "Nothing while deactivated" in es
    for staff in world.values():
        if hasattr(staff, "token"):
            assert staff.token not in result.output


def test_the_command_prints_json(app, runner, world):
    result = runner.invoke(args=["access", "review", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["generated_at"] == "2026-11-02T09:00:00Z"
    accounts = {account["email"]: account for account in body["accounts"]}
    assert accounts[world["tribunal"].email] == {
        "email": world["tribunal"].email, "role": "tribunal", "country": None, "tribunal": "CBSST", "active": True,
        "created_at": "2026-11-02T09:00:00Z",
        "tokens": {"active": 1, "next_expiry": "2027-01-31T09:00:00Z", "without_expiry": 0,
                   "items": [{"id": accounts[world["tribunal"].email]["tokens"]["items"][0]["id"],
                              "created_at": "2026-11-02T09:00:00Z", "expires_at": "2027-01-31T09:00:00Z"}]},
        "sees": "Appeals referred to CBSST: 1 now", "counts": {"visible": 1},
    }
    assert accounts[world["officer_es"].email]["active"] is False
    assert "token_hash" not in result.output


def test_numbers_are_written_for_the_reader(app):
    with app.test_request_context("/?lang=de"):
        assert access_review._number(1234) == "1.234"
    with app.test_request_context("/"):
        assert access_review._number(1234) == "1,234"


def test_the_counts_come_from_indexes(app, world):
    """Many officers of one country are counted once, and every count is an index lookup."""
    with app.app_context():
        for _ in range(3):
            new_staff(db.session, f"officer.de.{_}.more@example.org", "officer", None, "DE")
        db.session.commit()
    with app.test_request_context():
        recorder = Recorder(db.engine)
        with recorder.path("access review"):
            access_review.review(db.session)
        counts = [s for s in recorder.statements if "count(" in s.sql.lower()]
        # DE, PL, FR, ES: visible and may act; the DE mediation pool; two mediators; CBSST.
        assert len(counts) == 4 * 2 + 1 + 2 + 1
        failures = [f for f in check(db.engine, recorder.statements) if not f.startswith("SORTED_PAGES")]
    assert not failures, "\n\n".join(failures)


def test_revoking_and_deactivating_change_the_review(app, client, world):
    officer = world["officer_de"]
    with app.test_request_context():
        user = db.session.get(User, officer.user_id)
        assert access_review.revoke_tokens_of(db.session, user, by="test") == 3
        assert access_review.set_active(db.session, user, False, by="test")
        assert not access_review.set_active(db.session, user, False, by="test")
        db.session.commit()
        token = db.session.exec(select(ApiToken).where(ApiToken.user_id == user.id)).first()
        assert not access_review.revoke_token(db.session, token, by="test")
    entry = entries_by_email(app)[officer.email]
    assert entry.tokens == [] and not entry.active
    assert client.get("/api/v1/appeals", headers=officer.headers).status_code == 401
