"""The insurance history and the calculator through the API: an officer enters periods from three
countries and runs the calculation during review; the claimant proposes a period and reads why
the amount is what it is in their language; the tribunal's case file carries the same numbers.
Impossible input is refused with the field named, and never gives a figure."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import func, select

from casework.clock import now
from casework.db import db
from casework.models import Calculation, InsurancePeriod
from tests.factories import Factory

PERIODS = [
    {"country": "DE", "starts_on": "1980-01-01", "ends_on": "1985-12-31", "kind": "employment",
     "evidence": "SED P5000, Deutsche Rentenversicherung"},
    {"country": "PL", "starts_on": "1986-01-01", "ends_on": "1999-12-31", "kind": "employment",
     "evidence": "SED P5000, ZUS"},
    {"country": "ES", "starts_on": "2000-01-01", "ends_on": "2000-08-31", "kind": "employment",
     "evidence": "SED P5000, INSS"},
]
AMOUNTS = {"DE": {"theoretical": "1500.00", "independent": "300.00"},
           "PL": {"theoretical": 4000, "independent": "2500", "currency": "PLN"}}


def _periods_url(reference):
    return f"/api/v1/appeals/{reference}/periods"


def _enter(factory: Factory, reference: str, body: dict, country="DE", expect=201) -> dict:
    response = factory.client.post(_periods_url(reference), json=body, headers=factory.staff("officer", country).headers)
    assert response.status_code == expect, response.get_json()
    return response.get_json()


def _calculate(factory: Factory, reference: str, body: dict, expect=201, lang: str | None = None) -> dict:
    response = factory.client.post(f"/api/v1/appeals/{reference}/calculations" + (f"?lang={lang}" if lang else ""),
                                   json=body, headers=factory.staff("officer", "DE").headers)
    assert response.status_code == expect, response.get_json()
    return response.get_json()


@pytest.fixture
def reviewed(factory):
    """An old-age pension appeal under review in Germany with periods in three countries."""
    appeal = factory.appeal("under_review", claimant__preferred_language="pt")
    for body in PERIODS:
        _enter(factory, appeal["reference"], body)
    return appeal


def test_an_officer_enters_three_countries_runs_the_calculation_and_the_claimant_reads_it(factory, reviewed):
    reference = reviewed["reference"]
    calculation = _calculate(factory, reference, {"amounts": AMOUNTS})
    assert calculation["number"] == 1 and calculation["run_role"] == "officer"
    assert calculation["language"] == "pt"  # the claimant's, unless ?lang= asks for another
    result = calculation["result"]
    assert result["total"] == {"months": 248, "days": 0, "total_days": 7549}
    by = {row["country"]: row for row in result["countries"]}
    assert (by["DE"]["due_amount"], by["DE"]["basis"], by["DE"]["ratio"]) == (
        "435.55", "pro_rata", {"days": 2192, "of_days": 7549})
    assert (by["PL"]["due_amount"], by["PL"]["currency"]) == ("2709.23", "PLN")
    assert (by["ES"]["due_amount"], by["ES"]["basis"], by["ES"]["qualifies_with_aggregation"]) == (
        "0.00", "short_period", True)
    assert by["DE"]["rule"]["source"] == "Sozialgesetzbuch VI, § 50 Abs. 1" and by["DE"]["rule"]["version"]
    assert [p["country"] for p in calculation["periods"]] == ["DE", "PL", "ES"]

    # The claimant, with their access code, reads the same numbers and why, in Portuguese.
    status = factory.client.get(f"/api/v1/status/{reference}/calculation",
                                headers={"X-Access-Code": reviewed["access_code"]})
    assert status.status_code == 200
    read = status.get_json()
    assert read["result"] == result and read["language"] == "pt"
    text = " ".join(read["explanation"])
    assert "435,55" in text and "2709,23" in text.replace("\u00a0", "")  # pt_PT: comma decimals
    assert "Alemanha" in text and "Polónia" in text and "Espanha" in text
    assert "Article" not in text and "your " not in text  # written in Portuguese, not English
    arabic = factory.client.get(f"/api/v1/status/{reference}/calculation?lang=ar",
                                headers={"X-Access-Code": reviewed["access_code"]}).get_json()
    assert "ألمانيا" in " ".join(arabic["explanation"]) and arabic["result"] == result

    # The tribunal's case file carries the same numbers, inputs and explanation.
    bundle = factory.client.get(f"/api/v1/appeals/{reference}/bundle",
                                headers=factory.staff("officer", "DE").headers).get_json()["bundle"]
    assert bundle["format"] == "casework-bundle/3"
    (filed,) = bundle["appeal"]["calculations"]
    assert filed["result"] == result and filed["explanation"] == read["explanation"]
    assert filed["run_by"] == factory.staff("officer", "DE").email
    assert filed["inputs"]["amounts"]["PL"] == {"currency": "PLN", "theoretical": "4000.00", "independent": "2500.00"}
    assert [p["evidence"] for p in bundle["appeal"]["insurance_periods"]] == [p["evidence"] for p in PERIODS]


def test_a_claimant_proposes_a_period_that_counts_once_an_officer_confirms_it(factory, reviewed):
    reference, code = reviewed["reference"], reviewed["access_code"]
    proposed = factory.client.post(f"/api/v1/status/{reference}/periods", headers={"X-Access-Code": code}, json={
        "country": "PT", "starts_on": "2001-01-01", "ends_on": "2002-12-31", "kind": "self_employment",
        "evidence": "My own shop's tax returns"})
    assert proposed.status_code == 201
    period = proposed.get_json()
    assert (period["status"], period["entered_role"]) == ("proposed", "claimant")
    first = _calculate(factory, reference, {"amounts": AMOUNTS})
    assert "PT" not in {row["country"] for row in first["result"]["countries"]}  # not counted yet

    headers = factory.staff("officer", "DE").headers
    decided = factory.client.post(f"{_periods_url(reference)}/{period['id']}/decision", json={"decision": "confirm"},
                                  headers=headers)
    assert decided.status_code == 200 and decided.get_json()["status"] == "confirmed"
    # Portugal: 2 years < its 15 alone; the 22 years 8 months together meet them.
    second = _calculate(factory, reference, {"amounts": {**AMOUNTS, "PT": {"theoretical": "800"}}})
    pt = {row["country"]: row for row in second["result"]["countries"]}["PT"]
    assert (second["number"], pt["basis"], pt["ratio"]) == (2, "pro_rata", {"days": 730, "of_days": 8279})
    # The first calculation is kept as it was run.
    again = factory.client.get(f"/api/v1/appeals/{reference}/calculations/1", headers=headers).get_json()
    assert again["result"] == first["result"]
    listed = factory.client.get(f"/api/v1/appeals/{reference}/calculations", headers=headers).get_json()
    assert [c["number"] for c in listed["items"]] == [2, 1]

    # Rejecting or withdrawing needs a reason the claimant reads.
    other = factory.client.post(f"/api/v1/status/{reference}/periods", headers={"X-Access-Code": code}, json={
        "country": "FR", "starts_on": "2003-01-01", "ends_on": "2003-06-30", "kind": "employment"}).get_json()
    refused = factory.client.post(f"{_periods_url(reference)}/{other['id']}/decision", json={"decision": "reject"},
                                  headers=headers)
    assert refused.status_code == 422 and refused.get_json()["error"]["details"][0]["field"] == "note"
    rejected = factory.client.post(f"{_periods_url(reference)}/{other['id']}/decision", headers=headers,
                                   json={"decision": "reject", "note": "The CNAV has no record of this job."})
    assert rejected.get_json()["status"] == "rejected"
    twice = factory.client.post(f"{_periods_url(reference)}/{other['id']}/decision", json={"decision": "confirm"},
                                headers=headers)
    assert twice.status_code == 409
    seen = factory.client.get(f"/api/v1/status/{reference}/periods", headers={"X-Access-Code": code}).get_json()
    assert {p["id"]: (p["status"], p["decision_note"]) for p in seen["items"]}[other["id"]] == (
        "rejected", "The CNAV has no record of this job.")


@pytest.mark.parametrize(("body", "field"), [
    ({**PERIODS[0], "ends_on": "1979-12-31"}, "ends_on"),  # end before start
    ({**PERIODS[0], "country": "XX"}, "country"),  # not a country
    ({**PERIODS[0], "kind": "hobby"}, "kind"),
    ({**PERIODS[0], "starts_on": "1980-02-30"}, "starts_on"),
    ({**PERIODS[0], "starts_on": "1950-01-01"}, "starts_on"),  # before the claimant was born (1958)
    ({**PERIODS[0], "evidence": "x" * 2001}, "evidence"),
    ({k: v for k, v in PERIODS[0].items() if k != "kind"}, "kind"),
])
def test_impossible_periods_are_refused_naming_the_field(factory, reviewed, body, field):
    response = factory.client.post(_periods_url(reviewed["reference"]), json=body,
                                   headers=factory.staff("officer", "DE").headers)
    assert response.status_code == 422
    assert field in [d["field"] for d in response.get_json()["error"]["details"]]


def test_a_period_in_the_future_is_refused(factory, reviewed):
    tomorrow = (now() + timedelta(days=1)).date().isoformat()
    body = {**PERIODS[0], "starts_on": "2020-01-01", "ends_on": tomorrow}
    response = factory.client.post(_periods_url(reviewed["reference"]), json=body,
                                   headers=factory.staff("officer", "DE").headers)
    assert response.status_code == 422
    assert response.get_json()["error"]["details"] == [{"field": "ends_on", "message": "must not be in the future"}]


@pytest.mark.parametrize(("amounts", "field", "words"), [
    ({**AMOUNTS, "DE": {"theoretical": "-1", "independent": "300"}}, "amounts.DE.theoretical", "at least 0"),
    ({**AMOUNTS, "DE": {"theoretical": "1.234", "independent": "300"}}, "amounts.DE.theoretical", "decimal places"),
    ({**AMOUNTS, "DE": {"theoretical": "NaN", "independent": "300"}}, "amounts.DE.theoretical", "amount"),
    ({**AMOUNTS, "DE": {"theoretical": "lots", "independent": "300"}}, "amounts.DE.theoretical", "amount"),
    ({**AMOUNTS, "DE": {"theoretical": "1500", "independent": "300", "currency": "XYZ"}}, "amounts.DE.currency", "ISO 4217"),
    ({**AMOUNTS, "ZZ": {"theoretical": "1"}}, "amounts.ZZ", "country"),
    ({"DE": AMOUNTS["DE"]}, "amounts.PL.theoretical", "pays a share"),  # Poland's share needs its amount
    ({**AMOUNTS, "FR": {"theoretical": "1"}}, "amounts.FR", "no confirmed periods"),
])
def test_impossible_or_missing_amounts_are_refused_and_nothing_is_stored(factory, reviewed, app, amounts, field, words):
    response = factory.client.post(f"/api/v1/appeals/{reviewed['reference']}/calculations", json={"amounts": amounts},
                                   headers=factory.staff("officer", "DE").headers)
    assert response.status_code == 422, response.get_json()
    details = response.get_json()["error"]["details"]
    assert [d["field"] for d in details] == [field] and words in details[0]["message"]
    with app.app_context():
        assert db.session.exec(select(func.count()).select_from(Calculation)).one() == 0


def test_who_may_enter_periods_and_run_calculations(factory, reviewed):
    reference = reviewed["reference"]
    # An officer of an involved country sees the history but does not handle the appeal.
    involved = factory.staff("officer", "PL").headers
    assert factory.client.get(_periods_url(reference), headers=involved).status_code == 200
    assert factory.client.post(_periods_url(reference), json=PERIODS[0], headers=involved).status_code == 403
    assert factory.client.post(f"/api/v1/appeals/{reference}/calculations", json={"amounts": AMOUNTS},
                               headers=involved).status_code == 403
    # An unrelated country's officer does not even see it.
    assert factory.client.get(_periods_url(reference), headers=factory.staff("officer", "FR").headers).status_code == 404
    assert factory.client.get(_periods_url(reference)).status_code == 401
    # The claimant's code opens only their own appeal's history.
    other = factory.appeal("under_review")
    assert factory.client.get(f"/api/v1/status/{reference}/periods",
                              headers={"X-Access-Code": other["access_code"]}).status_code == 404
    # No calculation yet for that one.
    assert factory.client.get(f"/api/v1/status/{other['reference']}/calculation",
                              headers={"X-Access-Code": other["access_code"]}).status_code == 404


def test_a_closed_appeal_s_history_and_another_benefit_s_calculation_are_refused(factory, app):
    closed = factory.appeal("closed")
    assert factory.client.post(_periods_url(closed["reference"]), json=PERIODS[0],
                               headers=factory.staff("officer", "DE").headers).status_code == 409
    sickness = factory.appeal("under_review", contested_decision__benefit="sickness")
    _enter(factory, sickness["reference"], PERIODS[0])
    response = _calculate(factory, sickness["reference"], {"amounts": {}}, expect=409)
    assert "old-age pensions" in response["error"]["message"]
    empty = factory.appeal("under_review")
    refused = _calculate(factory, empty["reference"], {"amounts": {}}, expect=422)
    assert refused["error"]["details"][0]["field"] == "periods"
    with app.app_context():
        assert db.session.exec(select(func.count()).select_from(InsurancePeriod)).one() == 1


@pytest.mark.parametrize("suffix", ["/calculations/9223372036854775808", "/calculations/2147483648", "/calculations/0",
                                    "/documents/99999999999999999999", "/periods/9223372036854775808/decision"])
def test_a_number_no_row_can_have_is_not_found_not_an_overflow(factory, reviewed, suffix):
    # Schemathesis found these: a 500 from the driver (SQLite) or the INTEGER column (PostgreSQL).
    method = factory.client.post if suffix.endswith("decision") else factory.client.get
    response = method(f"/api/v1/appeals/{reviewed['reference']}{suffix}", headers=factory.staff("officer", "DE").headers,
                      **({"json": {"decision": "confirm"}} if suffix.endswith("decision") else {}))
    assert response.status_code == 404


def test_two_calculations_numbered_alike_are_a_conflict_not_a_500(factory, reviewed, monkeypatch):
    # The appeal's row lock keeps runs apart; should two ever reach the database with the same
    # number, the second is a 409, as two steps recorded as the same event are.
    import sqlalchemy

    from casework.entitlement import operations

    class OneBehind:
        count = staticmethod(sqlalchemy.func.count)

        @staticmethod
        def max(column):
            return sqlalchemy.func.max(column) - 1  # every run takes number 1

    _calculate(factory, reviewed["reference"], {"amounts": AMOUNTS})
    monkeypatch.setattr(operations, "func", OneBehind)
    refused = _calculate(factory, reviewed["reference"], {"amounts": AMOUNTS}, expect=409)
    assert refused["error"]["code"] == "version_conflict"
