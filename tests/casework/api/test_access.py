"""Who sees and does what (DESIGN §6, casework/access.py), endpoint by endpoint.

The appeal under test is lodged with and handled by Germany (DE), involves Poland (PL), and has
nothing to do with France (FR). Each caller below is tried against every staff endpoint in the
states where visibility changes: ``lodged`` (officers only), ``in_mediation`` (the handling
country's mediators join) and ``escalated`` (the tribunal joins). A caller who may not see an
appeal gets exactly the 404 of an appeal that does not exist; a caller who may see but not act
gets 403; a missing, unknown, revoked or expired token, or a deactivated user, gets 401.
"""

from __future__ import annotations

import itertools
import json
import re
from datetime import timedelta

import pytest
from sqlmodel import select

from casework.access import hash_api_token, new_api_token
from casework.clock import now
from casework.db import db, writing
from casework.models import ApiToken, Appeal, Event, Notice, Tribunal, User
from tests.factories import lodge_body

UNKNOWN_REFERENCE = "CW-2099-999999"
_emails = itertools.count(1)

# --- callers -----------------------------------------------------------------------------------
# name -> how to build its Authorization header (see ``caller_headers``).
STAFF_CALLERS = {
    "officer_handling_DE": dict(role="officer", country="DE"),
    "officer_involved_PL": dict(role="officer", country="PL"),
    "officer_unrelated_FR": dict(role="officer", country="FR"),
    "mediator_handling_DE": dict(role="mediator", country="DE"),
    "mediator_unrelated_FR": dict(role="mediator", country="FR"),
    "tribunal_CBSST": dict(role="tribunal", tribunal="CBSST"),
    "tribunal_other": dict(role="tribunal", tribunal="OTHER"),
    "oversight": dict(role="oversight", country=None),
    "admin": dict(role="admin", country=None),
}
UNAUTHENTICATED = (
    "no_token",
    "invalid_token",
    "revoked_token",
    "expired_token",
    "inactive_user",
    "not_bearer_scheme",
    "empty_bearer",
)
CALLERS = tuple(STAFF_CALLERS) + UNAUTHENTICATED

STATES = ("lodged", "in_mediation", "escalated")

# Who may see the DE appeal, per state (everyone else: 404, unauthenticated: 401).
SEES = {
    "officer_handling_DE": set(STATES),
    "officer_involved_PL": set(STATES),
    "mediator_handling_DE": {"in_mediation"},
    "tribunal_CBSST": {"escalated"},
}

# One action per state that its rightful actor may take; everyone else who sees the appeal is
# refused with 403 (no right to act on it, or a role the workflow does not allow).
PROBE_ACTION = {
    "lodged": {"action": "admit"},
    "in_mediation": {"action": "extend_mediation", "reason": "The parties are close to an agreement."},
    "escalated": {"action": "acknowledge_referral"},
}
MAY_ACT = {
    ("lodged", "officer_handling_DE"),
    ("in_mediation", "officer_handling_DE"),
    ("in_mediation", "mediator_handling_DE"),
    ("escalated", "tribunal_CBSST"),
}


def expected_read(caller: str, state: str) -> int:
    if caller in UNAUTHENTICATED:
        return 401
    return 200 if state in SEES.get(caller, ()) else 404


def expected_act(caller: str, state: str) -> int:
    status = expected_read(caller, state)
    if status != 200:
        return status
    return 200 if (state, caller) in MAY_ACT else 403


def _add_token(app, *, role="officer", country="DE", active=True, expires_at=None) -> tuple[int, str]:
    """A fresh user of its own with a token (so revoking it leaves the factory's users alone)."""
    with app.app_context(), writing():
        user = User(email=f"access.{role}.{next(_emails)}@example.org", role=role, country=country, active=active)
        db.session.add(user)
        db.session.flush()
        token = new_api_token()
        row = ApiToken(user_id=user.id, token_hash=hash_api_token(token), expires_at=expires_at)
        db.session.add(row)
        db.session.commit()
        return row.id, token


def _revoke(app, token_id: int) -> None:
    with app.app_context(), writing():
        row = db.session.get(ApiToken, token_id)
        row.revoked_at = now()
        db.session.add(row)
        db.session.commit()


@pytest.fixture
def other_tribunal(app):
    """A second tribunal, to show that a tribunal sees only the escalations routed to it."""
    with app.app_context(), writing():
        db.session.add(Tribunal(code="OTHER", name="Another tribunal", country="BE", languages=["fr"]))
        db.session.commit()


@pytest.fixture
def caller_headers(app, client, factory, other_tribunal):
    """``caller_headers(name)`` -> the request headers of that caller."""

    def build(name: str) -> dict:
        if name in STAFF_CALLERS:
            spec = STAFF_CALLERS[name]
            return factory.staff(spec["role"], spec.get("country"), tribunal=spec.get("tribunal")).headers
        if name == "no_token":
            return {}
        if name == "invalid_token":
            return {"Authorization": "Bearer cw_this-token-was-never-issued"}
        if name == "not_bearer_scheme":
            return {"Authorization": f"Basic {factory.staff('officer', 'DE').token}"}
        if name == "empty_bearer":
            return {"Authorization": "Bearer "}
        if name == "revoked_token":
            token_id, token = _add_token(app)
            headers = {"Authorization": f"Bearer {token}"}
            # The same token worked until it was revoked.
            assert client.get("/api/v1/appeals", headers=headers).status_code == 200
            _revoke(app, token_id)
            return headers
        if name == "expired_token":
            _, token = _add_token(app, expires_at=now() - timedelta(minutes=1))
            return {"Authorization": f"Bearer {token}"}
        if name == "inactive_user":
            _, token = _add_token(app, active=False)
            return {"Authorization": f"Bearer {token}"}
        raise AssertionError(name)

    return build


def _stored(app, reference: str) -> tuple:
    """What an action would change: version, state, and how many events and notices exist."""
    with app.app_context():
        appeal = db.session.exec(select(Appeal).where(Appeal.reference == reference)).unique().one()
        events = len(db.session.exec(select(Event.id).where(Event.appeal_id == appeal.id)).all())
        notices = len(db.session.exec(select(Notice.id).where(Notice.appeal_id == appeal.id)).all())
        return appeal.version, appeal.state, events, notices


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.get_json()
    body = response.get_json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["message"]
    if code:
        assert body["error"]["code"] == code
    return body


# --- the matrix ----------------------------------------------------------------------------------

READ_ENDPOINTS = {
    "show": "/api/v1/appeals/{ref}",
    "events": "/api/v1/appeals/{ref}/events",
    "notices": "/api/v1/appeals/{ref}/notices",
}


@pytest.mark.parametrize("endpoint", READ_ENDPOINTS)
@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("state", STATES)
def test_read_endpoints(client, factory, caller_headers, state, caller, endpoint):
    appeal = factory.appeal(state)
    headers = caller_headers(caller)
    url = READ_ENDPOINTS[endpoint]

    response = client.get(url.format(ref=appeal["reference"]), headers=headers)

    expected = expected_read(caller, state)
    if expected == 200:
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        if endpoint == "show":
            assert body["reference"] == appeal["reference"]
        else:
            assert body["items"], "a visible appeal has at least its lodging event and notice"
    elif expected == 404:
        # Exactly what an appeal that does not exist gets: the answer reveals nothing.
        unknown = client.get(url.format(ref=UNKNOWN_REFERENCE), headers=headers)
        assert_error(unknown, 404, "not_found")
        assert assert_error(response, 404, "not_found") == unknown.get_json()
    else:
        assert_error(response, 401, "unauthorized")


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("state", STATES)
def test_queue_lists_only_visible_appeals(client, factory, caller_headers, state, caller):
    appeal = factory.appeal(state)
    headers = caller_headers(caller)

    response = client.get("/api/v1/appeals?limit=200", headers=headers)

    expected = expected_read(caller, state)
    if expected == 401:
        assert_error(response, 401, "unauthorized")
        return
    assert response.status_code == 200, response.get_json()
    listed = [item["reference"] for item in response.get_json()["items"]]
    assert (appeal["reference"] in listed) == (expected == 200)


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("state", STATES)
def test_act(app, client, factory, caller_headers, state, caller):
    appeal = factory.appeal(state)
    headers = caller_headers(caller)
    before = _stored(app, appeal["reference"])

    response = client.post(
        f"/api/v1/appeals/{appeal['reference']}/actions",
        json={"version": appeal["version"], **PROBE_ACTION[state]},
        headers=headers,
    )

    expected = expected_act(caller, state)
    if expected == 200:
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["version"] == appeal["version"] + 1
        return
    code = {401: "unauthorized", 403: "forbidden", 404: "not_found"}[expected]
    assert_error(response, expected, code)
    if expected == 404:
        unknown = client.post(
            f"/api/v1/appeals/{UNKNOWN_REFERENCE}/actions",
            json={"version": appeal["version"], **PROBE_ACTION[state]},
            headers=headers,
        )
        assert response.get_json() == unknown.get_json()
    assert _stored(app, appeal["reference"]) == before, "a refused action wrote something"


LODGE_EXPECTED = {
    "officer_handling_DE": 201,
    "officer_involved_PL": 201,
    "officer_unrelated_FR": 201,
    **{name: 403 for name in STAFF_CALLERS if not name.startswith("officer")},
    **{name: 401 for name in UNAUTHENTICATED},
}


@pytest.mark.parametrize("caller", CALLERS)
def test_lodge(app, client, caller_headers, caller):
    headers = caller_headers(caller)
    # An officer lodges at their own institution (a paper filing); others try the same body.
    country = STAFF_CALLERS.get(caller, {}).get("country") or "DE"
    with app.app_context():
        appeals_before = len(db.session.exec(select(Appeal.id)).all())

    response = client.post("/api/v1/appeals", json=lodge_body(lodged_with_country=country), headers=headers)

    expected = LODGE_EXPECTED[caller]
    if expected == 201:
        assert response.status_code == 201, response.get_json()
        body = response.get_json()
        assert body["access_code"]
        assert body["receiving_country"] == country
        # The lodging officer's institution takes part, so the officer sees what they lodged.
        assert client.get(f"/api/v1/appeals/{body['reference']}", headers=headers).status_code == 200
        return
    assert_error(response, expected, {401: "unauthorized", 403: "forbidden"}[expected])
    with app.app_context():
        assert len(db.session.exec(select(Appeal.id)).all()) == appeals_before


# --- finer points of staff visibility ------------------------------------------------------------

def test_involved_officer_sees_but_is_offered_no_actions(client, factory):
    appeal = factory.appeal("under_review")
    body = client.get(f"/api/v1/appeals/{appeal['reference']}", headers=factory.staff("officer", "PL").headers).get_json()
    assert body["state"] == "under_review"
    assert body["allowed_actions"] == []
    handling = client.get(f"/api/v1/appeals/{appeal['reference']}", headers=factory.staff("officer", "DE").headers)
    assert "decide_review" in handling.get_json()["allowed_actions"]


def test_forwarding_moves_the_right_to_act(client, factory):
    """Lodged with FR for a DE decision: FR handles it until it forwards it to DE, then only sees it."""
    lodged = factory.lodge(lodged_with_country="FR", lodged_at=None, contested_decision__notified_on=None,
                           contested_decision__decision_date=(now().date() - timedelta(days=3)).isoformat())
    reference = lodged["reference"]
    fr, de = factory.staff("officer", "FR"), factory.staff("officer", "DE")
    url = f"/api/v1/appeals/{reference}/actions"
    assert client.post(url, json={"action": "admit", "version": lodged["version"]}, headers=de.headers).status_code == 403

    forwarded = client.post(url, json={"action": "forward", "version": lodged["version"], "to_country": "DE",
                                       "to_institution_name": "Deutsche Rentenversicherung"}, headers=fr.headers)
    assert forwarded.status_code == 200, forwarded.get_json()
    version = forwarded.get_json()["version"]

    assert_error(client.post(url, json={"action": "admit", "version": version}, headers=fr.headers), 403, "forbidden")
    assert client.get(f"/api/v1/appeals/{reference}", headers=fr.headers).status_code == 200
    assert client.post(url, json={"action": "admit", "version": version}, headers=de.headers).status_code == 200


def test_mediator_sees_only_mediations_assigned_to_them_once_one_is_assigned(app, client, factory):
    appeal = factory.appeal("in_mediation")
    reference = appeal["reference"]
    assigned = factory.staff("mediator", "DE")
    _, token = _add_token(app, role="mediator", country="DE")  # a second DE mediator
    other = {"Authorization": f"Bearer {token}"}
    assert client.get(f"/api/v1/appeals/{reference}", headers=other).status_code == 200

    factory.act(reference, "officer", {"action": "assign", "user": assigned.email})

    assert client.get(f"/api/v1/appeals/{reference}", headers=assigned.headers).status_code == 200
    assert_error(client.get(f"/api/v1/appeals/{reference}", headers=other), 404, "not_found")
    listed = client.get("/api/v1/appeals", headers=other).get_json()["items"]
    assert reference not in [item["reference"] for item in listed]


def test_tribunal_keeps_seeing_the_appeal_it_was_sent(client, factory):
    appeal = factory.appeal("before_tribunal")
    tribunal = factory.staff("tribunal")
    response = client.get(f"/api/v1/appeals/{appeal['reference']}", headers=tribunal.headers)
    assert response.status_code == 200
    assert response.get_json()["tribunal"] == "CBSST"


# --- authentication comes before anything else ---------------------------------------------------

@pytest.mark.parametrize(
    "url, body",
    [
        pytest.param("/api/v1/appeals", {"grounds": ""}, id="lodge"),
        pytest.param("/api/v1/appeals/{ref}/actions", {"action": "fly"}, id="staff_action"),
        pytest.param("/api/v1/status/{ref}/actions", {"action": "admit"}, id="claimant_action"),
    ],
)
def test_missing_credentials_are_401_even_with_a_bad_body(client, factory, url, body):
    appeal = factory.appeal("lodged")
    assert_error(client.post(url.format(ref=appeal["reference"]), json=body), 401, "unauthorized")


# --- claimants -------------------------------------------------------------------------------------

STATUS_KEYS = {"reference", "version", "state", "outcome", "outcome_label", "benefit", "benefit_label", "stage",
               "next_step", "meaning", "what_you_can_do", "deadlines", "timeline", "notices", "allowed_actions", "language"}


def test_claimant_status_with_the_right_code(client, factory):
    appeal = factory.appeal("under_review")
    response = client.get(f"/api/v1/status/{appeal['reference']}", headers={"X-Access-Code": appeal["access_code"]})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert set(body) == STATUS_KEYS
    assert body["reference"] == appeal["reference"]
    assert body["state"] == "under_review"
    assert body["allowed_actions"] == ["withdraw"]


def test_claimant_code_is_forgiving_about_case_and_dashes(client, factory):
    appeal = factory.appeal("lodged")
    typed = appeal["access_code"].lower().replace("-", " ")
    assert client.get(f"/api/v1/status/{appeal['reference']}", headers={"X-Access-Code": typed}).status_code == 200


@pytest.mark.parametrize(
    "case",
    ["another_appeals_code", "wrong_code", "unknown_reference", "unknown_reference_and_wrong_code"],
)
def test_claimant_wrong_code_or_reference_gets_the_same_404(client, factory, case):
    mine = factory.appeal("lodged")
    other = factory.appeal("lodged", claimant__name="Jan Nowak")
    reference, code = {
        "another_appeals_code": (mine["reference"], other["access_code"]),
        "wrong_code": (mine["reference"], "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF"),
        "unknown_reference": (UNKNOWN_REFERENCE, mine["access_code"]),
        "unknown_reference_and_wrong_code": (UNKNOWN_REFERENCE, "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF"),
    }[case]
    baseline = client.get(f"/api/v1/status/{UNKNOWN_REFERENCE}", headers={"X-Access-Code": "nothing"})
    assert_error(baseline, 404, "not_found")

    response = client.get(f"/api/v1/status/{reference}", headers={"X-Access-Code": code})

    assert response.get_json() == baseline.get_json()
    assert_error(response, 404, "not_found")
    actions = client.post(f"/api/v1/status/{reference}/actions", json={"action": "withdraw"},
                          headers={"X-Access-Code": code})
    assert actions.get_json() == baseline.get_json()


@pytest.mark.parametrize("headers", [{}, {"X-Access-Code": ""}], ids=["no_header", "empty_header"])
@pytest.mark.parametrize("method", ["GET", "POST"], ids=["status", "claimant_action"])
def test_claimant_without_code_gets_401(app, client, factory, headers, method):
    appeal = factory.appeal("lodged")
    before = _stored(app, appeal["reference"])
    if method == "GET":
        response = client.get(f"/api/v1/status/{appeal['reference']}", headers=headers)
    else:
        response = client.post(f"/api/v1/status/{appeal['reference']}/actions", json={"action": "withdraw"},
                               headers=headers)
    assert_error(response, 401, "unauthorized")
    assert _stored(app, appeal["reference"]) == before


STAFF_ENDPOINTS = [
    pytest.param("GET", "/api/v1/appeals/{ref}", id="show"),
    pytest.param("GET", "/api/v1/appeals", id="queue"),
    pytest.param("POST", "/api/v1/appeals/{ref}/actions", id="act"),
    pytest.param("GET", "/api/v1/appeals/{ref}/events", id="events"),
    pytest.param("GET", "/api/v1/appeals/{ref}/notices", id="notices"),
    pytest.param("POST", "/api/v1/appeals", id="lodge"),
]


@pytest.mark.parametrize("as_bearer", [False, True], ids=["x_access_code", "code_as_bearer_token"])
@pytest.mark.parametrize("method, url", STAFF_ENDPOINTS)
def test_claimant_code_does_not_open_staff_endpoints(app, client, factory, method, url, as_bearer):
    appeal = factory.appeal("lodged")
    code = appeal["access_code"]
    headers = {"Authorization": f"Bearer {code}"} if as_bearer else {"X-Access-Code": code}
    before = _stored(app, appeal["reference"])
    target = url.format(ref=appeal["reference"])
    if method == "GET":
        response = client.get(target, headers=headers)
    elif target.endswith("/actions"):
        response = client.post(target, json={"action": "withdraw", "version": appeal["version"]}, headers=headers)
    else:
        response = client.post(target, json=lodge_body(), headers=headers)
    assert_error(response, 401, "unauthorized")
    assert _stored(app, appeal["reference"]) == before


# What officers write for each other, and who they are, never reaches the claimant's status page.
INTERNAL_TEXTS = {
    "request_information.items": "INTERNAL-ITEMS: ask DRV archive for 1979-1990 ledger",
    "extend_mediation.reason": "INTERNAL-EXTEND: mediator on leave next week",
    "end_mediation.reason": "INTERNAL-END: institution will not move",
    "declare_inadmissible.reason": "INTERNAL-INADMISSIBLE: duplicate of an earlier file",
}


@pytest.fixture
def busy_appeal(client, factory):
    """An appeal that went through every officer-written step up to the tribunal, plus a closed
    inadmissible one; returns the claimant's status pages and everyone who acted."""
    officer, mediator, tribunal = factory.staff("officer", "DE"), factory.staff("mediator", "DE"), factory.staff("tribunal")
    appeal = factory.appeal("under_review")
    reference = appeal["reference"]
    steps = [
        ("officer", {"action": "assign", "user": officer.email}),
        ("officer", {"action": "request_information", "from": "claimant",
                     "items": [INTERNAL_TEXTS["request_information.items"]]}),
        ("officer", {"action": "receive_information"}),
        ("officer", {"action": "decide_review", "outcome": "refused", "reasons": "Periods not proven."}),
        ("officer", {"action": "assign", "user": mediator.email}),
        ("officer", {"action": "request_mediation"}),
        ("mediator", {"action": "extend_mediation", "reason": INTERNAL_TEXTS["extend_mediation.reason"]}),
        ("mediator", {"action": "end_mediation", "reason": INTERNAL_TEXTS["end_mediation.reason"]}),
        ("tribunal", {"action": "acknowledge_referral"}),
    ]
    for role, action in steps:
        factory.act(reference, role, action)

    inadmissible = factory.appeal("lodged", claimant__name="Jan Nowak", claimant__email="jan@example.org")
    factory.act(inadmissible["reference"], "officer",
                {"action": "declare_inadmissible", "reason": INTERNAL_TEXTS["declare_inadmissible.reason"]})

    pages = {}
    for key, item in (("busy", appeal), ("inadmissible", inadmissible)):
        response = client.get(f"/api/v1/status/{item['reference']}", headers={"X-Access-Code": item["access_code"]})
        assert response.status_code == 200, response.get_json()
        pages[key] = response.get_json()
    # The texts really were recorded, so their absence below means something.
    events = client.get(f"/api/v1/appeals/{reference}/events", headers=officer.headers).get_json()["items"]
    assert INTERNAL_TEXTS["extend_mediation.reason"] in json.dumps(events)
    return pages, [officer, mediator, tribunal]


def test_claimant_status_shows_no_staff_identity(busy_appeal):
    pages, staff = busy_appeal
    for page in pages.values():
        text = json.dumps(page, ensure_ascii=False)
        for person in staff:
            assert person.email not in text
        assert "@example.org" not in text.replace("ana@example.org", "").replace("jan@example.org", "")
        assert not re.search(r"(institution|mediation):[A-Z]{2}", text)  # internal notice addresses


# Texts the claimant must be told (why the appeal is inadmissible, what they must supply) reach
# them in their notices; nothing staff wrote appears in the timeline or the stage texts.
TOLD_TO_CLAIMANT = {"declare_inadmissible.reason", "request_information.items"}


@pytest.mark.parametrize("field", INTERNAL_TEXTS)
def test_claimant_status_shows_staff_text_only_in_notices(busy_appeal, field):
    pages, _ = busy_appeal
    marker = INTERNAL_TEXTS[field].split(":")[0]
    for page in pages.values():
        outside_notices = {key: value for key, value in page.items() if key != "notices"}
        assert marker not in json.dumps(outside_notices, ensure_ascii=False)
    if field in TOLD_TO_CLAIMANT:
        assert any(marker in json.dumps(page["notices"], ensure_ascii=False) for page in pages.values())


def test_claimant_status_shape_hides_event_internals(busy_appeal):
    pages, _ = busy_appeal
    page = pages["busy"]
    assert set(page) == STATUS_KEYS
    assert page["state"] == "before_tribunal"
    for entry in page["timeline"]:
        assert set(entry) == {"at", "label"}
    assert len(page["timeline"]) == 9  # lodge..acknowledge_referral, without the two silent assignments
    for notice in page["notices"]:
        assert notice["recipient_role"] == "claimant"
        assert "recipient" not in notice
    # Nothing of the other claimant's appeal.
    assert "Jan Nowak" not in json.dumps(page, ensure_ascii=False)


@pytest.mark.parametrize(
    "state, action, to_state",
    [
        ("lodged", "withdraw", "closed"),
        ("awaiting_claimant", "accept_decision", "closed"),
        ("awaiting_claimant", "request_mediation", "in_mediation"),
        ("awaiting_claimant", "request_tribunal", "escalated"),
    ],
)
def test_claimant_actions_allowed(client, factory, state, action, to_state):
    appeal = factory.appeal(state)
    response = client.post(f"/api/v1/status/{appeal['reference']}/actions", json={"action": action},
                           headers={"X-Access-Code": appeal["access_code"]})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert set(body) == STATUS_KEYS
    assert body["state"] == to_state
    events = client.get(f"/api/v1/appeals/{appeal['reference']}/events",
                        headers=factory.staff("officer", "DE").headers).get_json()["items"]
    assert events[-1]["action"] == action
    assert events[-1]["actor"] == "claimant"


@pytest.mark.parametrize(
    "state, action",
    [
        ("lodged", "admit"),
        ("lodged", "declare_inadmissible"),
        ("lodged", "forward"),
        ("under_review", "decide_review"),
        ("under_review", "review_timeout"),
        ("awaiting_claimant", "response_timeout"),
        ("in_mediation", "settle"),
        ("in_mediation", "end_mediation"),
        ("escalated", "acknowledge_referral"),
        ("lodged", "assign"),
        ("lodged", "fly"),
        ("lodged", ""),
        ("lodged", None),
        ("lodged", 3),
    ],
)
def test_claimant_cannot_fire_staff_or_timer_actions(app, client, factory, state, action):
    appeal = factory.appeal(state)
    before = _stored(app, appeal["reference"])
    response = client.post(f"/api/v1/status/{appeal['reference']}/actions", json={"action": action},
                           headers={"X-Access-Code": appeal["access_code"]})
    body = assert_error(response, 422, "validation_error")
    assert "action" in [detail["field"] for detail in body["error"]["details"]]
    assert _stored(app, appeal["reference"]) == before


def test_claimant_action_not_possible_in_state_is_409(app, client, factory):
    appeal = factory.appeal("under_review")
    before = _stored(app, appeal["reference"])
    response = client.post(f"/api/v1/status/{appeal['reference']}/actions", json={"action": "accept_decision"},
                           headers={"X-Access-Code": appeal["access_code"]})
    assert_error(response, 409, "invalid_transition")
    assert _stored(app, appeal["reference"]) == before
