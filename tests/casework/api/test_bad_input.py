"""Bad input never writes anything, and always gets a clear answer in the one error shape.

Every case below sends one bad request to lodging (``POST /api/v1/appeals``), to an action
(``POST /api/v1/appeals/<ref>/actions``), to the claimant's actions or to the officer queue, and
checks three things: the status and error code API.md promises; that ``details`` names the field
at fault; and that the database is exactly as it was (row counts of every table, and each
appeal's version, state and timestamps).
"""

from __future__ import annotations

import base64
import copy
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable

import pytest
from sqlalchemy import func
from sqlmodel import SQLModel, select

from casework.clock import now
from casework.db import db
from casework.models import Appeal
from tests.factories import lodge_body

LODGE_URL = "/api/v1/appeals"


# --- helpers -------------------------------------------------------------------------------------

def snapshot(app) -> tuple[dict, dict]:
    """Row counts of every table, and what each appeal row says about its own history."""
    with app.app_context():
        counts = {
            table.name: db.session.exec(select(func.count()).select_from(table)).one()
            for table in SQLModel.metadata.sorted_tables
        }
        appeals = {
            appeal.reference: (appeal.version, appeal.state, appeal.outcome, appeal.updated_at, appeal.last_event_seq,
                               appeal.next_due_at, appeal.handling_country, appeal.assigned_officer_id,
                               appeal.hearing_at, appeal.late_filing_reason)
            for appeal in db.session.exec(select(Appeal)).unique().all()
        }
    return counts, appeals


def assert_error(response, status: int, code: str, field: str | None = None, mention: str | None = None) -> dict:
    """The one error shape, with ``field`` named in ``details`` (exactly, or as the head of a path
    such as ``items.list[...]``) and ``mention`` somewhere in them."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    body = response.get_json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "details"}, error
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"], error
    if field is not None:
        assert isinstance(error["details"], list) and error["details"], error
        named = [detail["field"] for detail in error["details"]]
        assert any(name == field or name.startswith(field + ".") for name in named), (field, named)
    if mention is not None:
        assert mention in json.dumps(error["details"]), (mention, error["details"])
    return error


def _set(body: dict, path: str, value: Any) -> None:
    """``_set(body, "claimant.personal_ids.0.country", "XX")``; a value of ``DROP`` removes the key."""
    *parents, last = path.split(".")
    target = body
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if value is DROP:
        del target[last]
    elif isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value


DROP = object()


def iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def days_ago(days: int) -> str:
    return (now().date() - timedelta(days=days)).isoformat()


# --- the appeals the cases act on ------------------------------------------------------------------

@pytest.fixture
def appeals(factory) -> dict[str, dict]:
    """``appeals[name]`` brings an appeal to that state on first use; ``late`` is lodged after its
    filing window closed (decision notified 200 days ago, lodged yesterday)."""

    class Appeals(dict):
        def __missing__(self, name):
            if name == "late":
                appeal = factory.lodge(
                    contested_decision__decision_date=days_ago(200),
                    contested_decision__notified_on=days_ago(200),
                    lodged_at=iso(now() - timedelta(days=1)),
                )
                assert appeal["filed_in_time"] is False
            else:
                appeal = factory.appeal(name)
            self[name] = appeal
            return appeal

    return Appeals()


# --- raw bodies: not JSON, not an object ---------------------------------------------------------

VALID_JSON = json.dumps({"action": "withdraw", "version": 1}).encode()


@dataclass
class Raw:
    id: str
    data: bytes
    content_type: str | None
    status: int
    code: str
    field: str | None = None
    marks: tuple = ()


RAW_CASES = [
    Raw("malformed_json", b"{bad json", "application/json", 400, "malformed_json"),
    Raw("truncated_json", b'{"action": "withdraw", "version": 1', "application/json", 400, "malformed_json"),
    Raw("trailing_garbage", b'{"action": "withdraw"} and more', "application/json", 400, "malformed_json"),
    Raw("empty_body", b"", "application/json", 400, "malformed_json"),
    Raw("invalid_utf8", b'{"grounds": "\xff\xfe"}', "application/json", 400, "malformed_json"),
    Raw("text_plain", VALID_JSON, "text/plain", 415, "unsupported_media_type"),
    Raw("form_urlencoded", b"action=withdraw&version=1", "application/x-www-form-urlencoded", 415,
        "unsupported_media_type"),
    Raw("xml", b"<appeal/>", "application/xml", 415, "unsupported_media_type"),
    Raw("no_content_type", VALID_JSON, None, 415, "unsupported_media_type"),
    Raw("json_array", b'[{"action": "withdraw", "version": 1}]', "application/json", 422, "validation_error", "body"),
    Raw("empty_array", b"[]", "application/json", 422, "validation_error", "body"),
    Raw("json_string", b'"withdraw"', "application/json", 422, "validation_error", "body"),
    Raw("json_number", b"42", "application/json", 422, "validation_error", "body"),
    Raw("json_false", b"false", "application/json", 422, "validation_error", "body"),
    Raw("json_null", b"null", "application/json", 422, "validation_error", "body"),
    Raw("deeply_nested", b"[" * 100_000 + b"]" * 100_000, "application/json", 400, "malformed_json"),
]


@pytest.fixture(params=["lodge", "act"])
def post_target(request, factory, appeals):
    """``(url, headers)`` of each JSON endpoint a raw body is sent to."""
    officer = factory.staff("officer", "DE")
    if request.param == "lodge":
        return LODGE_URL, officer.headers
    return f"/api/v1/appeals/{appeals['under_review']['reference']}/actions", officer.headers


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=c.marks) for c in RAW_CASES])
def test_raw_body(app, client, post_target, case):
    url, headers = post_target
    headers = dict(headers)
    if case.content_type:
        headers["Content-Type"] = case.content_type
    before = snapshot(app)

    response = client.post(url, data=case.data, headers=headers)

    assert_error(response, case.status, case.code, case.field)
    assert snapshot(app) == before


def test_too_large_body_is_413(app, client, post_target):
    url, headers = post_target
    before = snapshot(app)
    body = lodge_body(grounds="x" * (app.config["MAX_CONTENT_LENGTH"] + 1))
    assert_error(client.post(url, json=body, headers=headers), 413, "too_large")
    assert snapshot(app) == before


# --- lodging ---------------------------------------------------------------------------------------

NUL_REASON = ("NUL characters pass the schemas' text types (schemas.Text/ShortText): accepted and stored on "
              "SQLite, a 500 (psycopg DataError) on PostgreSQL")


@dataclass
class Lodge:
    id: str
    changes: dict[str, Any]
    field: str | None
    mention: str | None = None
    marks: tuple = ()


LODGE_CASES = [
    # missing required fields
    Lodge("missing_claimant", {"claimant": DROP}, "claimant"),
    Lodge("missing_contested_decision", {"contested_decision": DROP}, "contested_decision"),
    Lodge("missing_grounds", {"grounds": DROP}, "grounds"),
    Lodge("missing_claimant_name", {"claimant.name": DROP}, "claimant.name"),
    Lodge("missing_residence_country", {"claimant.residence_country": DROP}, "claimant.residence_country"),
    Lodge("missing_institution_country", {"contested_decision.institution_country": DROP},
          "contested_decision.institution_country"),
    Lodge("missing_institution_name", {"contested_decision.institution_name": DROP},
          "contested_decision.institution_name"),
    Lodge("missing_benefit", {"contested_decision.benefit": DROP}, "contested_decision.benefit"),
    Lodge("missing_decision_date", {"contested_decision.decision_date": DROP}, "contested_decision.decision_date"),
    Lodge("missing_personal_id_value", {"claimant.personal_ids.0.value": DROP}, "claimant.personal_ids.0.value"),
    # wrong types
    Lodge("claimant_not_an_object", {"claimant": "Ana Kowalska"}, "claimant"),
    Lodge("grounds_not_a_string", {"grounds": 5}, "grounds"),
    Lodge("grounds_null", {"grounds": None}, "grounds"),
    Lodge("involved_countries_not_a_list", {"involved_countries": "PL"}, "involved_countries"),
    Lodge("personal_ids_not_a_list", {"claimant.personal_ids": {"country": "PL"}}, "claimant.personal_ids"),
    Lodge("decision_date_impossible", {"contested_decision.decision_date": "2026-02-30"},
          "contested_decision.decision_date"),
    Lodge("decision_date_words", {"contested_decision.decision_date": "last week"}, "contested_decision.decision_date"),
    Lodge("lodged_at_words", {"lodged_at": "yesterday"}, "lodged_at"),
    # empty and oversized text
    Lodge("claimant_name_empty", {"claimant.name": ""}, "claimant.name"),
    Lodge("claimant_name_blank", {"claimant.name": "   "}, "claimant.name"),
    Lodge("claimant_name_too_long", {"claimant.name": "A" * 201}, "claimant.name"),
    Lodge("grounds_blank", {"grounds": " \n\t "}, "grounds"),
    Lodge("grounds_too_long", {"grounds": "x" * 20_001}, "grounds"),
    Lodge("too_many_involved_countries", {"involved_countries": ["PL"] * 31}, "involved_countries"),
    Lodge("email_invalid", {"claimant.email": "ana at example"}, "claimant.email"),
    # countries: ISO 3166-1 alpha-2, upper case, real countries only
    Lodge("residence_country_unknown", {"claimant.residence_country": "XX"}, "claimant.residence_country"),
    Lodge("residence_country_lower_case", {"claimant.residence_country": "de"}, "claimant.residence_country"),
    Lodge("residence_country_alpha3", {"claimant.residence_country": "DEU"}, "claimant.residence_country"),
    Lodge("residence_country_grouping", {"claimant.residence_country": "EU"}, "claimant.residence_country"),
    Lodge("institution_country_unknown", {"contested_decision.institution_country": "XX"},
          "contested_decision.institution_country"),
    Lodge("lodged_with_country_unknown", {"lodged_with_country": "ZZ"}, "lodged_with_country"),
    Lodge("involved_country_unknown", {"involved_countries": ["PL", "XX"]}, "involved_countries.1"),
    Lodge("personal_id_country_unknown", {"claimant.personal_ids.0.country": "QO"}, "claimant.personal_ids.0.country"),
    # languages and benefits
    Lodge("language_unknown", {"claimant.preferred_language": "xx"}, "claimant.preferred_language"),
    Lodge("language_name", {"claimant.preferred_language": "polish"}, "claimant.preferred_language"),
    Lodge("benefit_unknown", {"contested_decision.benefit": "pension"}, "contested_decision.benefit"),
    # dates and times
    Lodge("lodged_at_future", {"lodged_at": iso(now() + timedelta(days=1))}, "lodged_at"),
    Lodge("lodged_at_without_offset", {"lodged_at": "2026-09-20T10:00:00"}, "lodged_at"),
    Lodge("lodged_at_date_only", {"lodged_at": "2026-09-20"}, "lodged_at"),
    Lodge("lodged_at_before_decision_date", {"lodged_at": "2026-08-31T10:00:00Z"}, "lodged_at"),
    Lodge("decision_date_future", {"contested_decision.decision_date": (now().date() + timedelta(days=2)).isoformat(),
                                   "contested_decision.notified_on": DROP, "lodged_at": DROP},
          "contested_decision.decision_date"),
    Lodge("notified_on_future", {"contested_decision.notified_on": (now().date() + timedelta(days=2)).isoformat()},
          "contested_decision.notified_on"),
    Lodge("notified_on_before_decision_date", {"contested_decision.notified_on": "2026-08-31"},
          "contested_decision", mention="notified_on"),
    Lodge("birth_date_future", {"claimant.birth_date": (now().date() + timedelta(days=2)).isoformat()},
          "claimant.birth_date"),
    Lodge("times_out_of_range", {"contested_decision.decision_date": "0001-01-01", "contested_decision.notified_on": DROP,
                                 "lodged_at": "0001-01-01T10:00:00+14:00"}, None),
    Lodge("claimant_name_with_nul", {"claimant.name": "Ana\u0000Kowalska"}, "claimant.name"),
    Lodge("grounds_with_nul", {"grounds": "Periods\u0000 not aggregated."}, "grounds"),
    # unknown fields (extra="forbid"), including ones that would set what only the system sets
    Lodge("extra_top_level_field", {"note": "urgent"}, "note"),
    Lodge("extra_state_field", {"state": "closed"}, "state"),
    Lodge("extra_reference_field", {"reference": "CW-2026-000001"}, "reference"),
    Lodge("extra_access_code_field", {"access_code": "AAAA-BBBB"}, "access_code"),
    Lodge("extra_claimant_field", {"claimant.nationality": "PL"}, "claimant.nationality"),
    Lodge("extra_decision_field", {"contested_decision.amount": 1200}, "contested_decision.amount"),
    Lodge("extra_personal_id_field", {"claimant.personal_ids.0.issued_on": "2000-01-01"},
          "claimant.personal_ids.0.issued_on"),
]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=c.marks) for c in LODGE_CASES])
def test_lodge_rejects(app, client, factory, appeals, case):
    appeals["under_review"]  # something already on file, so "nothing written" is not "nothing at all"
    body = copy.deepcopy(lodge_body())
    for path, value in case.changes.items():
        _set(body, path, value)
    before = snapshot(app)

    response = client.post(LODGE_URL, json=body, headers=factory.staff("officer", "DE").headers)

    assert_error(response, 422, "validation_error", case.field, case.mention)
    assert snapshot(app) == before


def test_the_unmodified_lodging_body_is_accepted(client, factory):
    """The control for the cases above: each of them changes only what it names."""
    response = client.post(LODGE_URL, json=lodge_body(), headers=factory.staff("officer", "DE").headers)
    assert response.status_code == 201, response.get_json()


# --- actions ---------------------------------------------------------------------------------------

@dataclass
class Act:
    id: str
    state: str
    body: Callable[[int, Any], dict]  # (version, factory) -> body
    status: int
    code: str
    field: str | None = None
    actor: str = "officer"
    marks: tuple = ()


def _email(role: str, country: str | None):
    return lambda f: f.staff(role, country).email


V = 422, "validation_error"
CONFLICT = 409, "invalid_transition"
STALE = 409, "version_conflict"

ACT_CASES = [
    # the envelope: action and version
    Act("missing_action", "under_review", lambda v, f: {"version": v}, *V, "action"),
    Act("unknown_action", "under_review", lambda v, f: {"action": "fly", "version": v}, *V, "action"),
    Act("action_empty", "under_review", lambda v, f: {"action": "", "version": v}, *V, "action"),
    Act("action_null", "under_review", lambda v, f: {"action": None, "version": v}, *V, "action"),
    Act("action_not_a_string", "under_review", lambda v, f: {"action": 7, "version": v}, *V, "action"),
    Act("action_wrong_case", "under_review", lambda v, f: {"action": "WITHDRAW", "version": v}, *V, "action"),
    Act("missing_version", "under_review", lambda v, f: {"action": "withdraw"}, *V, "version"),
    Act("version_null", "under_review", lambda v, f: {"action": "withdraw", "version": None}, *V, "version"),
    Act("version_words", "under_review", lambda v, f: {"action": "withdraw", "version": "latest"}, *V, "version"),
    Act("version_fraction", "under_review", lambda v, f: {"action": "withdraw", "version": v + 0.5}, *V, "version"),
    Act("version_object", "under_review", lambda v, f: {"action": "withdraw", "version": {"v": v}}, *V, "version"),
    Act("stale_version", "under_review", lambda v, f: {"action": "withdraw", "version": v - 1}, *STALE),
    Act("version_ahead", "under_review", lambda v, f: {"action": "withdraw", "version": v + 1}, *STALE),
    Act("stale_version_of_a_valid_decision", "under_review",
        lambda v, f: {"action": "decide_review", "version": 1, "outcome": "granted", "reasons": "Proven."}, *STALE),
    # unknown fields (extra="forbid"), also another action's fields and system-set ones
    Act("extra_field", "under_review", lambda v, f: {"action": "withdraw", "version": v, "note": "x"}, *V, "note"),
    Act("another_actions_field", "under_review",
        lambda v, f: {"action": "withdraw", "version": v, "reasons": "x"}, *V, "reasons"),
    Act("extra_state_field", "under_review",
        lambda v, f: {"action": "withdraw", "version": v, "state": "under_review"}, *V, "state"),
    # occurred_at: aware, not in the future, not before the previous event
    Act("occurred_at_future", "under_review",
        lambda v, f: {"action": "withdraw", "version": v, "occurred_at": iso(now() + timedelta(hours=1))},
        *V, "occurred_at"),
    Act("occurred_at_before_previous_event", "under_review",
        lambda v, f: {"action": "withdraw", "version": v, "occurred_at": "2020-01-01T00:00:00Z"}, *V, "occurred_at"),
    Act("occurred_at_without_offset", "under_review",
        lambda v, f: {"action": "withdraw", "version": v,
                      "occurred_at": (now() - timedelta(seconds=1)).replace(tzinfo=None).isoformat()},
        *V, "occurred_at"),
    Act("occurred_at_words", "under_review",
        lambda v, f: {"action": "withdraw", "version": v, "occurred_at": "this morning"}, *V, "occurred_at"),
    # timer actions are the sweep's alone, whatever the state
    Act("timer_review_timeout", "under_review", lambda v, f: {"action": "review_timeout", "version": v}, *CONFLICT),
    Act("timer_information_timeout", "awaiting_information",
        lambda v, f: {"action": "information_timeout", "version": v}, *CONFLICT),
    Act("timer_response_timeout", "awaiting_claimant",
        lambda v, f: {"action": "response_timeout", "version": v}, *CONFLICT),
    Act("timer_mediation_timeout", "in_mediation", lambda v, f: {"action": "mediation_timeout", "version": v},
        *CONFLICT),
    # actions the state does not allow
    Act("admit_twice", "under_review", lambda v, f: {"action": "admit", "version": v}, *CONFLICT),
    Act("decide_review_while_lodged", "lodged",
        lambda v, f: {"action": "decide_review", "version": v, "outcome": "granted", "reasons": "Proven."}, *CONFLICT),
    Act("withdraw_closed", "closed", lambda v, f: {"action": "withdraw", "version": v}, *CONFLICT),
    Act("assign_closed", "closed",
        lambda v, f: {"action": "assign", "version": v, "user": _email("officer", "DE")(f)}, *CONFLICT),
    # guards that want an input: 422 naming it
    Act("admit_late_without_reason", "late", lambda v, f: {"action": "admit", "version": v},
        *V, "late_filing_reason"),
    Act("admit_late_with_blank_reason", "late",
        lambda v, f: {"action": "admit", "version": v, "late_filing_reason": "   "}, *V, "late_filing_reason"),
    Act("admit_late_with_null_reason", "late",
        lambda v, f: {"action": "admit", "version": v, "late_filing_reason": None}, *V, "late_filing_reason"),
    Act("forward_to_same_country", "lodged",
        lambda v, f: {"action": "forward", "version": v, "to_country": "DE", "to_institution_name": "DRV"},
        *V, "to_country"),
    Act("forward_to_unknown_country", "lodged",
        lambda v, f: {"action": "forward", "version": v, "to_country": "XX", "to_institution_name": "?"},
        *V, "to_country"),
    Act("forward_without_institution", "lodged",
        lambda v, f: {"action": "forward", "version": v, "to_country": "PL"}, *V, "to_institution_name"),
    Act("declare_inadmissible_without_reason", "lodged",
        lambda v, f: {"action": "declare_inadmissible", "version": v}, *V, "reason"),
    # decide_review
    Act("decide_review_without_reasons", "under_review",
        lambda v, f: {"action": "decide_review", "version": v, "outcome": "refused"}, *V, "reasons"),
    Act("decide_review_blank_reasons", "under_review",
        lambda v, f: {"action": "decide_review", "version": v, "outcome": "refused", "reasons": "  "}, *V, "reasons"),
    Act("decide_review_reasons_with_nul", "under_review",
        lambda v, f: {"action": "decide_review", "version": v, "outcome": "refused", "reasons": "No\u0000proof."},
        *V, "reasons"),
    Act("decide_review_unknown_outcome", "under_review",
        lambda v, f: {"action": "decide_review", "version": v, "outcome": "maybe", "reasons": "x"}, *V, "outcome"),
    Act("decide_review_judgment_outcome", "under_review",
        lambda v, f: {"action": "decide_review", "version": v, "outcome": "allowed", "reasons": "x"}, *V, "outcome"),
    # request_information: 7 to 90 days, from claimant or institution, at least one item
    *[
        Act(f"request_information_due_in_{days}_days", "under_review",
            lambda v, f, days=days: {"action": "request_information", "version": v, "from": "claimant",
                                     "items": "Certificates", "due_in_days": days}, *V, "due_in_days")
        for days in (0, 3, 6, 91, 100, -7)
    ],
    Act("request_information_due_in_words", "under_review",
        lambda v, f: {"action": "request_information", "version": v, "from": "claimant", "items": "Certificates",
                      "due_in_days": "ten"}, *V, "due_in_days"),
    Act("request_information_from_unknown", "under_review",
        lambda v, f: {"action": "request_information", "version": v, "from": "neighbour", "items": "x"}, *V, "from"),
    Act("request_information_without_from", "under_review",
        lambda v, f: {"action": "request_information", "version": v, "items": "x"}, *V, "from"),
    Act("request_information_without_items", "under_review",
        lambda v, f: {"action": "request_information", "version": v, "from": "claimant"}, *V, "items"),
    Act("request_information_empty_items", "under_review",
        lambda v, f: {"action": "request_information", "version": v, "from": "claimant", "items": []}, *V, "items"),
    Act("request_information_blank_item", "under_review",
        lambda v, f: {"action": "request_information", "version": v, "from": "claimant", "items": ["ok", " "]},
        *V, "items"),
    # assign: an active officer or mediator of the handling country
    Act("assign_unknown_user", "under_review",
        lambda v, f: {"action": "assign", "version": v, "user": "nobody@example.org"}, *V, "user"),
    Act("assign_not_an_email", "under_review", lambda v, f: {"action": "assign", "version": v, "user": "nobody"},
        *V, "user"),
    Act("assign_officer_of_another_country", "under_review",
        lambda v, f: {"action": "assign", "version": v, "user": _email("officer", "PL")(f)}, *V, "user"),
    Act("assign_mediator_of_another_country", "under_review",
        lambda v, f: {"action": "assign", "version": v, "user": _email("mediator", "FR")(f)}, *V, "user"),
    Act("assign_oversight_user", "under_review",
        lambda v, f: {"action": "assign", "version": v, "user": _email("oversight", None)(f)}, *V, "user"),
    Act("assign_without_user", "under_review", lambda v, f: {"action": "assign", "version": v}, *V, "user"),
    # mediation and tribunal fields
    Act("settle_without_terms", "in_mediation", lambda v, f: {"action": "settle", "version": v}, *V, "terms"),
    Act("schedule_hearing_unknown_mode", "before_tribunal",
        lambda v, f: {"action": "schedule_hearing", "version": v, "hearing_at": iso(now() + timedelta(days=30)),
                      "mode": "carrier_pigeon"}, *V, "mode", actor="tribunal"),
    Act("schedule_hearing_without_offset", "before_tribunal",
        lambda v, f: {"action": "schedule_hearing", "version": v,
                      "hearing_at": (now() + timedelta(days=30)).replace(tzinfo=None).isoformat(), "mode": "video"},
        *V, "hearing_at", actor="tribunal"),
    Act("schedule_hearing_out_of_range", "before_tribunal",
        lambda v, f: {"action": "schedule_hearing", "version": v, "hearing_at": "9999-12-31T23:59:59-14:00",
                      "mode": "video"}, *V, "hearing_at", actor="tribunal"),
    Act("deliver_judgment_review_outcome", "before_tribunal",
        lambda v, f: {"action": "deliver_judgment", "version": v, "outcome": "granted", "reasons": "x"},
        *V, "outcome", actor="tribunal"),
    Act("remit_without_instructions", "before_tribunal", lambda v, f: {"action": "remit", "version": v},
        *V, "instructions", actor="tribunal"),
]


def _post_action(client, factory, appeal: dict, body: dict, actor: str = "officer"):
    staff = factory.staff(actor, "DE" if actor != "tribunal" else None)
    return client.post(f"/api/v1/appeals/{appeal['reference']}/actions", json=body, headers=staff.headers)


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=c.marks) for c in ACT_CASES])
def test_action_rejects(app, client, factory, appeals, case):
    appeal = appeals[case.state]
    version = factory.get(appeal["reference"])["version"]
    body = case.body(version, factory)  # may create the staff it names, before the snapshot
    before = snapshot(app)

    response = _post_action(client, factory, appeal, body, case.actor)

    assert_error(response, case.status, case.code, case.field)
    assert snapshot(app) == before


@pytest.mark.parametrize(
    "state, body, actor",
    [
        pytest.param("late", {"action": "admit", "late_filing_reason": "In hospital."}, "officer",
                     id="admit_late_with_reason"),
        pytest.param("under_review", {"action": "request_information", "from": "claimant", "items": "x",
                                      "due_in_days": 7}, "officer", id="request_information_due_in_7_days"),
        pytest.param("under_review", {"action": "request_information", "from": "institution", "items": ["x", "y"],
                                      "due_in_days": 90}, "officer", id="request_information_due_in_90_days"),
        pytest.param("under_review", {"action": "withdraw", "occurred_at": "now"}, "officer",
                     id="occurred_at_just_now"),
        pytest.param("under_review", {"action": "assign", "user": "officer"}, "officer", id="assign_handling_officer"),
        pytest.param("before_tribunal", {"action": "schedule_hearing", "hearing_at": "2099-01-05T09:30:00+01:00",
                                         "mode": "video"}, "tribunal", id="schedule_hearing"),
    ],
)
def test_the_controls_are_accepted(client, factory, appeals, state, body, actor):
    """The boundaries just inside the rules above, so each rejection is about what it names."""
    appeal = appeals[state]
    body = dict(body, version=factory.get(appeal["reference"])["version"])
    if body.get("occurred_at") == "now":
        body["occurred_at"] = iso(now())
    if body.get("user") == "officer":
        body["user"] = factory.staff("officer", "DE").email
    response = _post_action(client, factory, appeal, body, actor)
    assert response.status_code == 200, response.get_json()


def test_snapshot_notices_a_write(app, client, factory, appeals):
    """The control for "nothing written": one valid action changes what ``snapshot`` sees."""
    appeal = appeals["under_review"]
    before_counts, before_appeals = snapshot(app)
    response = _post_action(client, factory, appeal, {"action": "withdraw", "version": appeal["version"]})
    assert response.status_code == 200, response.get_json()
    after_counts, after_appeals = snapshot(app)
    assert after_counts["event"] == before_counts["event"] + 1
    assert after_counts["notice"] > before_counts["notice"]
    assert after_appeals[appeal["reference"]][:2] == (appeal["version"] + 1, "closed")


def test_unknown_reference_with_a_valid_body_is_404_and_writes_nothing(app, client, factory, appeals):
    appeals["under_review"]
    before = snapshot(app)
    response = client.post("/api/v1/appeals/CW-2099-999999/actions", json={"action": "withdraw", "version": 1},
                           headers=factory.staff("officer", "DE").headers)
    assert_error(response, 404, "not_found")
    assert snapshot(app) == before


@pytest.mark.parametrize(
    "url, headers",
    [
        pytest.param("/api/v1/appeals/CW-2026-%00", "officer", id="staff_show"),
        pytest.param("/api/v1/appeals/CW-2026-%00/events", "officer", id="staff_events"),
        pytest.param("/api/v1/status/CW-2026-%00", "claimant", id="claimant_status"),
    ],
)
def test_reference_with_nul_is_404(request, database_url, client, factory, appeals, url, headers):
    """A reference no appeal can have is an unknown reference, on every database."""
    appeal = appeals["lodged"]
    headers = factory.staff("officer", "DE").headers if headers == "officer" else {"X-Access-Code": appeal["access_code"]}
    assert_error(client.get(url, headers=headers), 404, "not_found")


# --- the claimant's actions --------------------------------------------------------------------------

@pytest.mark.parametrize(
    "body, status, code, field_name",
    [
        pytest.param({"action": "withdraw", "version": 1}, *STALE, None, id="stale_version"),
        pytest.param({"action": "withdraw", "note": "sorry"}, *V, "note", id="extra_field"),
        pytest.param({"action": "withdraw", "version": "latest"}, *V, "version", id="version_words"),
        pytest.param({}, *V, "action", id="missing_action"),
        pytest.param({"action": "decide_review", "outcome": "granted", "reasons": "x"}, *V, "action",
                     id="staff_action"),
    ],
)
def test_claimant_action_rejects(app, client, appeals, body, status, code, field_name):
    appeal = appeals["under_review"]
    before = snapshot(app)
    response = client.post(f"/api/v1/status/{appeal['reference']}/actions", json=body,
                           headers={"X-Access-Code": appeal["access_code"]})
    assert_error(response, status, code, field_name)
    assert snapshot(app) == before


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=c.marks) for c in RAW_CASES if c.status != 422])
def test_claimant_action_raw_body(app, client, appeals, case):
    appeal = appeals["under_review"]
    headers = {"X-Access-Code": appeal["access_code"]}
    if case.content_type:
        headers["Content-Type"] = case.content_type
    before = snapshot(app)
    response = client.post(f"/api/v1/status/{appeal['reference']}/actions", data=case.data, headers=headers)
    assert_error(response, case.status, case.code, case.field)
    assert snapshot(app) == before


# --- the officer queue ---------------------------------------------------------------------------------

def _cursor(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "query, field_name",
    [
        pytest.param("limit=0", "limit", id="limit_0"),
        pytest.param("limit=-1", "limit", id="limit_negative"),
        pytest.param("limit=201", "limit", id="limit_201"),
        pytest.param("limit=500", "limit", id="limit_500"),
        pytest.param("limit=ten", "limit", id="limit_words"),
        pytest.param("after=not-a-cursor", "after", id="after_garbage"),
        pytest.param("after=" + _cursor("not json"), "after", id="after_not_json"),
        pytest.param("after=" + _cursor('{"d": null}'), "after", id="after_without_id"),
        pytest.param("after=" + _cursor('{"d": "soon", "i": 1}'), "after", id="after_bad_date"),
        pytest.param("after=" + _cursor('{"d": null, "i": "one"}'), "after", id="after_bad_id"),
        pytest.param("after=" + _cursor("[1, 2]"), "after", id="after_a_list"),
        pytest.param("after=" + "A" * 201, "after", id="after_too_long"),
        pytest.param("after=" + _cursor('{"d": null, "i": 1e999}'), "after", id="after_infinite_id"),
        pytest.param("after=" + _cursor('{"d": null, "i": 100000000000000000000000}'), "after", id="after_huge_id"),
        pytest.param("state=pending", "state", id="state_unknown"),
        pytest.param("benefit=pension", "benefit", id="benefit_unknown"),
        pytest.param("handling_country=XX", "handling_country", id="handling_country_unknown"),
        pytest.param("handling_country=de", "handling_country", id="handling_country_lower_case"),
        pytest.param("overdue=perhaps", "overdue", id="overdue_not_boolean"),
        pytest.param("sort=due", "sort", id="unknown_parameter"),
    ],
)
def test_queue_rejects(app, client, factory, appeals, query, field_name):
    appeals["under_review"]
    before = snapshot(app)
    response = client.get(f"/api/v1/appeals?{query}", headers=factory.staff("officer", "DE").headers)
    assert_error(response, 422, "validation_error", field_name)
    assert snapshot(app) == before


@pytest.mark.parametrize("query", ["limit=1", "limit=200", "overdue=false", "state=under_review&benefit=old_age_pension"])
def test_queue_controls_are_accepted(client, factory, appeals, query):
    appeals["under_review"]
    response = client.get(f"/api/v1/appeals?{query}", headers=factory.staff("officer", "DE").headers)
    assert response.status_code == 200, response.get_json()
