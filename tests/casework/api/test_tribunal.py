"""The tribunal's side of the API: its referrals (longest waiting first, keyset-paginated), the
signed case file only it and the handling institution may fetch, its actions on the appeal
(acknowledge, schedule, judge, remit) as ordinary steps with events and notices, and routing of
escalations to the right tribunal."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
import time_machine
from sqlmodel import select

from casework.db import db
from casework.models import Appeal, Deadline, Notice
from casework.operations import route_tribunal
from tests.factories import CASE_FILE_CALLERS, PATH, Factory

START = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)  # a Monday
UNKNOWN_REFERENCE = "CW-2099-999999"


def _referrals(client, headers, **query):
    response = client.get("/api/v1/tribunal/referrals", headers=headers, query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _all_pages(client, headers, limit):
    references, after = [], None
    while True:
        page = _referrals(client, headers, limit=limit, **({"after": after} if after else {}))
        assert len(page["items"]) <= limit
        references += [item["reference"] for item in page["items"]]
        after = page["next"]
        if after is None:
            return references


def _notices(app, reference) -> int:
    with app.app_context():
        appeal = db.session.exec(select(Appeal).where(Appeal.reference == reference)).unique().one()
        return len(db.session.exec(select(Notice.id).where(Notice.appeal_id == appeal.id)).all())


# --- referrals ---------------------------------------------------------------------------------

@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def test_referrals_are_the_open_escalations_to_the_callers_tribunal_longest_waiting_first(client, factory, clock):
    first = factory.appeal("escalated")
    clock.shift(timedelta(days=1))
    acknowledged = factory.appeal("before_tribunal")
    clock.shift(timedelta(days=1))
    latest = factory.appeal("escalated")
    judged = factory.appeal("before_tribunal")
    factory.act(judged["reference"], "tribunal", {"action": "deliver_judgment", "outcome": "dismissed",
                                                  "reasons": "The periods were correctly assessed."})
    remitted = factory.appeal("before_tribunal")
    factory.act(remitted["reference"], "tribunal", {"action": "remit", "instructions": "Ask ZUS for the records."})
    factory.appeal("under_review")
    factory.appeal("awaiting_claimant")
    clock.shift(timedelta(days=10, hours=1))

    page = _referrals(client, factory.staff("tribunal").headers)

    assert [item["reference"] for item in page["items"]] == [
        first["reference"], acknowledged["reference"], latest["reference"]
    ]
    assert page["next"] is None
    item = page["items"][0]
    assert item == {
        "reference": first["reference"],
        "version": first["version"],
        "state": "escalated",
        "benefit": "old_age_pension",
        "handling_country": "DE",
        "escalated_at": "2026-11-02T09:00:00Z",
        "days_since_escalation": 12,
        "next_deadline": {"kind": "tribunal_acknowledgement", "due_at": item["next_deadline"]["due_at"],
                          "due_on": "2026-11-09"},
    }
    assert [i["days_since_escalation"] for i in page["items"]] == [12, 11, 10]
    assert page["items"][1]["state"] == "before_tribunal" and page["items"][1]["next_deadline"] is None


def test_referrals_page_through_ties_without_losing_or_repeating_one(client, factory, clock):
    escalated = [factory.appeal("escalated")["reference"] for _ in range(3)]  # the same instant
    clock.shift(timedelta(hours=1))
    escalated += [factory.appeal("escalated")["reference"] for _ in range(2)]
    headers = factory.staff("tribunal").headers

    for limit in (1, 2, 3, 5):
        assert _all_pages(client, headers, limit) == escalated


def test_another_tribunal_has_no_referrals_of_this_one(client, factory):
    factory.tribunal("OTHER", "BE")
    factory.appeal("escalated")
    assert _referrals(client, factory.staff("tribunal", tribunal="OTHER").headers) == {"items": [], "next": None}


@pytest.mark.parametrize(
    "caller, status",
    [
        (dict(role="officer", country="DE"), 403),
        (dict(role="mediator", country="DE"), 403),
        (dict(role="oversight", country=None), 403),
        (dict(role="admin", country=None), 403),
        (None, 401),
    ],
)
def test_only_tribunal_users_have_referrals(client, factory, caller, status):
    headers = factory.staff(**caller).headers if caller else {}
    response = client.get("/api/v1/tribunal/referrals", headers=headers)
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == {403: "forbidden", 401: "unauthorized"}[status]


def _cursor(raw) -> str:
    return base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "after",
    [
        "garbage",
        "!!!",
        base64.urlsafe_b64encode(b"not json").decode(),
        _cursor([1, 2]),
        _cursor({"e": "2026-11-02T09:00:00+00:00"}),
        _cursor({"e": "2026-11-02T09:00:00", "i": 1}),  # no offset
        _cursor({"e": "yesterday", "i": 1}),
        _cursor({"e": "2026-11-02T09:00:00+00:00", "i": "1"}),
        _cursor({"e": "2026-11-02T09:00:00+00:00", "i": -1}),
        _cursor({"e": "2026-11-02T09:00:00+00:00", "i": 2**63}),
        "A" * 201,
    ],
)
def test_a_cursor_this_api_did_not_issue_is_422(client, factory, after):
    response = client.get("/api/v1/tribunal/referrals", headers=factory.staff("tribunal").headers,
                          query_string={"after": after})
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["details"][0]["field"] == "after"


@pytest.mark.parametrize("limit", [0, 201, "many"])
def test_a_page_size_out_of_range_is_422(client, factory, limit):
    response = client.get("/api/v1/tribunal/referrals", headers=factory.staff("tribunal").headers,
                          query_string={"limit": limit})
    assert response.status_code == 422


# --- the tribunal's actions --------------------------------------------------------------------

def test_the_tribunal_acknowledges_schedules_and_judges_as_ordinary_steps(app, client, factory):
    appeal = factory.appeal("escalated")
    reference = appeal["reference"]
    tribunal = factory.staff("tribunal")
    notices = _notices(app, reference)

    acknowledged = factory.act(reference, "tribunal", {"action": "acknowledge_referral"})
    assert acknowledged["state"] == "before_tribunal"
    assert [d["status"] for d in acknowledged["deadlines"] if d["kind"] == "tribunal_acknowledgement"] == ["met"]
    hearing_at = (datetime.now(timezone.utc) + timedelta(days=30)).replace(microsecond=0)
    scheduled = factory.act(reference, "tribunal", {"action": "schedule_hearing", "mode": "in_person",
                                                    "hearing_at": hearing_at.isoformat()})
    assert scheduled["hearing"]["mode"] == "in_person"
    judged = factory.act(reference, "tribunal", {"action": "deliver_judgment", "outcome": "partially_allowed",
                                                 "reasons": "The periods 1979-1985 are proven."})
    assert (judged["state"], judged["outcome"]) == ("closed", "partially_allowed")

    events = client.get(f"/api/v1/appeals/{reference}/events", headers=tribunal.headers).get_json()["items"]
    assert [(e["action"], e["actor"]) for e in events[-3:]] == [
        ("acknowledge_referral", tribunal.email), ("schedule_hearing", tribunal.email),
        ("deliver_judgment", tribunal.email),
    ]
    assert events[-1]["payload"] == {"outcome": "partially_allowed", "reasons": "The periods 1979-1985 are proven."}
    assert _notices(app, reference) >= notices + 3  # each step tells the parties
    assert _referrals(client, tribunal.headers)["items"] == []
    # The judged case file stays with the tribunal that decided it.
    signed = client.get(f"/api/v1/appeals/{reference}/bundle", headers=tribunal.headers).get_json()
    assert signed["bundle"]["appeal"]["outcome"] == "partially_allowed"
    assert signed["bundle"]["events"][-1]["action"] == "deliver_judgment"


def test_remittal_sends_the_appeal_back_for_a_fresh_review(app, client, factory):
    appeal = factory.appeal("before_tribunal")

    remitted = factory.act(appeal["reference"], "tribunal",
                           {"action": "remit", "instructions": "Obtain the Polish insurance record."})

    assert remitted["state"] == "under_review" and remitted["review_outcome"] is None
    reviews = [d for d in remitted["deadlines"] if d["kind"] == "review"]
    assert [d["status"] for d in reviews] == ["met", "pending"]
    assert _referrals(client, factory.staff("tribunal").headers)["items"] == []
    # Back with the institution: the tribunal's steps wait until it is escalated again.
    factory.act(appeal["reference"], "tribunal", {"action": "acknowledge_referral"}, expect=409)


def test_another_tribunal_can_neither_see_nor_act(client, factory):
    factory.tribunal("OTHER", "BE")
    appeal = factory.appeal("escalated")
    other = factory.staff("tribunal", tribunal="OTHER")

    response = client.post(f"/api/v1/appeals/{appeal['reference']}/actions", headers=other.headers,
                           json={"action": "acknowledge_referral", "version": appeal["version"]})

    assert response.status_code == 404


# --- routing -----------------------------------------------------------------------------------

ROUTING = {("DE", "invalidity"): "BESST", ("*", "family"): "FAMT"}


@pytest.fixture
def routed(make_app):
    """An installation with two more tribunals and routing rules for them."""
    app = make_app(TRIBUNAL_ROUTING=ROUTING)
    factory = Factory(app, app.test_client())
    factory.tribunal("BESST", "BE")
    factory.tribunal("FAMT", "FR")
    yield factory
    app.extensions["casework.db"].dispose()


@pytest.mark.parametrize(
    "benefit, tribunal, jurisdiction, timezone_name",
    [
        ("invalidity", "BESST", "BE", "Europe/Brussels"),
        ("family", "FAMT", "FR", "Europe/Paris"),
        ("old_age_pension", "CBSST", "LU", "Europe/Luxembourg"),
    ],
)
def test_an_escalation_goes_to_the_routed_tribunal_on_its_calendar(routed, benefit, tribunal, jurisdiction,
                                                                    timezone_name):
    client = routed.client
    appeal = routed.appeal("escalated", contested_decision__benefit=benefit)
    reference = appeal["reference"]

    assert appeal["tribunal"] == tribunal
    (acknowledgement,) = [d for d in appeal["deadlines"] if d["kind"] == "tribunal_acknowledgement"]
    assert (acknowledgement["jurisdiction"], acknowledgement["timezone"]) == (jurisdiction, timezone_name)
    receiving = routed.staff("tribunal", tribunal=tribunal).headers
    assert [i["reference"] for i in _referrals(client, receiving)["items"]] == [reference]
    signed = client.get(f"/api/v1/appeals/{reference}/bundle", headers=receiving).get_json()
    assert signed["bundle"]["appeal"]["tribunal"]["code"] == tribunal
    for other in {"BESST", "FAMT", "CBSST"} - {tribunal}:
        headers = routed.staff("tribunal", tribunal=other).headers
        assert _referrals(client, headers)["items"] == []
        assert client.get(f"/api/v1/appeals/{reference}/bundle", headers=headers).status_code == 404
    routed.act(reference, "tribunal", {"action": "acknowledge_referral"}, expect=200 if tribunal == "CBSST" else 404)


class _KnownTribunals:
    """A session stand-in that knows the tribunals named."""

    def __init__(self, *codes):
        self.codes = set(codes)

    def get(self, _model, code):
        return code if code in self.codes else None


def test_routing_prefers_the_most_specific_rule():
    config = {
        "DEFAULT_TRIBUNAL": "CBSST",
        "TRIBUNAL_ROUTING": {("DE", "invalidity"): "A", ("DE", "*"): "B", ("*", "invalidity"): "C"},
    }

    def route(country, benefit):
        return route_tribunal(_KnownTribunals("A", "B", "C", "CBSST"),
                              SimpleNamespace(handling_country=country, benefit=benefit), config)

    assert route("DE", "invalidity") == "A"
    assert route("DE", "family") == "B"
    assert route("FR", "invalidity") == "C"
    assert route("FR", "family") == "CBSST"


def test_routing_rules_from_the_environment_use_text_keys():
    config = {"DEFAULT_TRIBUNAL": "CBSST", "TRIBUNAL_ROUTING": {"de:invalidity": "A", "*:family": "B"}}
    known = _KnownTribunals("A", "B", "CBSST")
    assert route_tribunal(known, SimpleNamespace(handling_country="DE", benefit="invalidity"), config) == "A"
    assert route_tribunal(known, SimpleNamespace(handling_country="PL", benefit="family"), config) == "B"


def test_a_rule_naming_an_unknown_tribunal_falls_through_and_never_blocks_an_escalation(make_app, caplog):
    app = make_app(TRIBUNAL_ROUTING={("DE", "*"): "NOPE"})
    routed = Factory(app, app.test_client())
    appeal = routed.appeal("escalated")
    assert appeal["tribunal"] == "CBSST"
    assert "names no known tribunal 'NOPE'" in caplog.text


def test_the_tribunal_stays_with_an_appeal_escalated_again_after_remittal(app, client, factory):
    appeal = factory.appeal("before_tribunal")
    reference = appeal["reference"]
    factory.act(reference, "tribunal", {"action": "remit", "instructions": "Obtain the Polish insurance record."})
    for role, action in PATH["escalated"][1:]:
        factory.act(reference, role, action)

    (item,) = _referrals(client, factory.staff("tribunal").headers)["items"]
    assert item["reference"] == reference and item["state"] == "escalated"
    with app.app_context():
        stored = db.session.exec(select(Appeal).where(Appeal.reference == reference)).unique().one()
        pending = db.session.exec(select(Deadline).where(Deadline.appeal_id == stored.id,
                                                         Deadline.kind == "tribunal_acknowledgement",
                                                         Deadline.status == "pending")).all()
    assert item["escalated_at"] == pending[0].started_at.isoformat().replace("+00:00", "Z")


# --- who receives the case file -----------------------------------------------------------------

BUNDLE_CALLERS = CASE_FILE_CALLERS


@pytest.mark.parametrize("suffix", ["", ".zip"], ids=["json", "zip"])
@pytest.mark.parametrize("caller", BUNDLE_CALLERS)
def test_only_the_receiving_tribunal_and_the_handling_institution_fetch_the_bundle(client, factory, caller, suffix):
    factory.tribunal("OTHER", "BE")
    appeal = factory.appeal("escalated")
    spec, expected = BUNDLE_CALLERS[caller]
    headers = factory.staff(**spec).headers if spec else {}

    response = client.get(f"/api/v1/appeals/{appeal['reference']}/bundle{suffix}", headers=headers)
    unknown = client.get(f"/api/v1/appeals/{UNKNOWN_REFERENCE}/bundle{suffix}", headers=headers)

    assert response.status_code == expected
    if expected == 200:
        assert response.mimetype == ("application/zip" if suffix else "application/json")
    else:
        assert (response.status_code, response.get_json()) == (unknown.status_code, unknown.get_json())


def test_before_escalation_the_tribunal_gets_no_bundle(client, factory):
    appeal = factory.appeal("awaiting_claimant")
    assert client.get(f"/api/v1/appeals/{appeal['reference']}/bundle",
                      headers=factory.staff("tribunal").headers).status_code == 404
    assert client.get(f"/api/v1/appeals/{appeal['reference']}/bundle",
                      headers=factory.staff("officer", "DE").headers).status_code == 200


def test_the_tribunal_and_document_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]

    assert "get" in paths["/api/v1/tribunal/referrals"]
    assert "get" in paths["/api/v1/appeals/{reference}/bundle"]
    assert "get" in paths["/api/v1/appeals/{reference}/bundle.zip"]
    assert "get" in paths["/api/v1/keys"] and "security" not in paths["/api/v1/keys"]["get"]
    assert "get" in paths["/api/v1/appeals/{reference}/documents/{document_id}"]
    for upload in ("/api/v1/appeals/{reference}/documents", "/api/v1/status/{reference}/documents"):
        assert "multipart/form-data" in paths[upload]["post"]["requestBody"]["content"]
        assert "413" in paths[upload]["post"]["responses"] and "415" in paths[upload]["post"]["responses"]
