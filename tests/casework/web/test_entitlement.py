"""The insurance history and the calculator in the browser, without JavaScript: the case page's
period forms, the calculation form and its result page, and the claimant's status page."""

from __future__ import annotations

import re

import pytest

from tests.factories import Factory

DE = {"country": "DE", "starts_on": "1980-01-01", "ends_on": "1985-12-31", "kind": "employment",
      "evidence": "SED P5000 of the Deutsche Rentenversicherung"}
PL = {"country": "PL", "starts_on": "1986-01-01", "ends_on": "1999-12-31", "kind": "employment", "evidence": "SED P5000 of ZUS"}
ES = {"country": "ES", "starts_on": "2000-01-01", "ends_on": "2000-08-31", "kind": "employment", "evidence": ""}


@pytest.fixture
def officer_page(app, factory: Factory):
    browser = app.test_client()
    factory.sign_in("officer", "DE", client=browser)
    return browser


@pytest.fixture
def appeal(factory: Factory):
    return factory.appeal("under_review", claimant__preferred_language="pt")


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def _enter_three(browser, reference):
    for form in (DE, PL, ES):
        response = browser.post(f"/appeals/{reference}/periods", data=form)
        assert response.status_code == 303 and response.headers["Location"].endswith(f"/appeals/{reference}#periods")


def test_an_officer_enters_periods_runs_the_calculation_and_reads_what_the_claimant_reads(officer_page, appeal):
    reference = appeal["reference"]
    _enter_three(officer_page, reference)
    case = _text(officer_page.get(f"/appeals/{reference}"))
    assert 'id="periods-timeline"' in case and "SED P5000 of ZUS" in case
    assert "20 years and 8 months" in case  # the total, overlaps counted once

    form = _text(officer_page.get(f"/appeals/{reference}/calculation"))
    # Germany and Poland qualify alone (both amounts asked), Spain's 8 months pay nothing (none asked).
    assert 'name="amounts-DE-independent"' in form and 'name="amounts-PL-theoretical"' in form
    assert 'name="amounts-ES-theoretical"' not in form
    assert 'value="PLN"' in form  # Poland's own currency offered

    missing = officer_page.post(f"/appeals/{reference}/calculations", data={
        "amounts-DE-theoretical": "1500", "amounts-DE-independent": "300", "amounts-PL-theoretical": "4000"})
    assert missing.status_code == 422
    assert "Poland, Independent amount" in _text(missing)

    done = officer_page.post(f"/appeals/{reference}/calculations", data={
        "amounts-DE-theoretical": "1500,00", "amounts-DE-independent": "300", "amounts-PL-theoretical": "4000",
        "amounts-PL-independent": "2500", "amounts-PL-currency": "PLN"})
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/appeals/{reference}/calculations/1")
    result = _text(officer_page.get(done.headers["Location"]))
    assert "€1,500.00 × 2,192 ÷ 7,549 days = €435.55" in result  # the formula, its numbers filled in
    assert "PLN2,709.23" in result
    assert "Sozialgesetzbuch VI, § 50 Abs. 1" in result
    assert 'lang="pt"' in result and "Alemanha" in result  # what the claimant reads, in Portuguese
    assert "have changed since this calculation" not in result

    # A later change to the periods marks the stored calculation as no longer current.
    officer_page.post(f"/appeals/{reference}/periods", data={**ES, "starts_on": "2001-01-01", "ends_on": "2001-12-31"})
    assert "have changed since this calculation" in _text(officer_page.get(done.headers["Location"]))


def test_a_period_form_with_mistakes_comes_back_with_each_named(officer_page, appeal):
    reference = appeal["reference"]
    response = officer_page.post(f"/appeals/{reference}/periods", data={
        "country": "", "starts_on": "1990-05-01", "ends_on": "1990-04-30", "kind": "hobby"})
    assert response.status_code == 422
    page = _text(response)
    assert 'href="#field-period-country"' in page and 'href="#field-period-ends_on"' in page
    assert 'href="#field-period-kind"' in page
    assert 'value="1990-05-01"' in page  # what was typed stays
    assert "No period of insurance, work or residence is on file yet." in page


def test_an_officer_decides_on_what_the_claimant_proposed(app, officer_page, factory, appeal):
    reference = appeal["reference"]
    claimant = app.test_client()
    assert claimant.post("/track", data={"reference": reference, "access_code": appeal["access_code"]}).status_code == 303
    proposed = claimant.post(f"/track/{reference}/periods", data={**PL, "evidence": "My employment book"})
    assert proposed.status_code == 303 and proposed.headers["Location"].endswith(f"/track/{reference}#periods")
    wrong = claimant.post(f"/track/{reference}/periods", data={**PL, "ends_on": "1985-01-01"})
    assert wrong.status_code == 422 and 'href="#field-period-ends_on"' in _text(wrong)

    periods = factory.client.get(f"/api/v1/appeals/{reference}/periods",
                                 headers=factory.staff("officer", "DE").headers).get_json()["items"]
    (period,) = periods
    assert period["status"] == "proposed"
    case = _text(officer_page.get(f"/appeals/{reference}"))
    assert f'/appeals/{reference}/periods/{period["id"]}/decision' in case and "My employment book" in case
    no_reason = officer_page.post(f"/appeals/{reference}/periods/{period['id']}/decision", data={"decision": "reject"})
    assert no_reason.status_code == 303  # back to the page, which says why nothing happened
    assert "the claimant reads it" in _text(officer_page.get(f"/appeals/{reference}"))
    rejected = officer_page.post(f"/appeals/{reference}/periods/{period['id']}/decision",
                                 data={"decision": "reject", "note": "ZUS has no record of this employer."})
    assert rejected.status_code == 303
    status = _text(claimant.get(f"/track/{reference}?lang=en"))
    assert "ZUS has no record of this employer." in status and "Not accepted" in status


def test_the_claimant_reads_the_calculation_in_their_language(app, officer_page, appeal):
    reference = appeal["reference"]
    _enter_three(officer_page, reference)
    officer_page.post(f"/appeals/{reference}/calculations", data={
        "amounts-DE-theoretical": "1500", "amounts-DE-independent": "300", "amounts-PL-theoretical": "4000",
        "amounts-PL-independent": "2500", "amounts-PL-currency": "PLN"})
    claimant = app.test_client()
    claimant.post("/track", data={"reference": reference, "access_code": appeal["access_code"]})
    portuguese = _text(claimant.get(f"/track/{reference}?lang=pt"))
    assert 'id="calculation"' in portuguese and "Alemanha" in portuguese and "435,55" in portuguese
    assert 'id="periods-timeline"' in portuguese
    arabic = _text(claimant.get(f"/track/{reference}?lang=ar"))
    assert 'dir="rtl"' in arabic and "ألمانيا" in arabic
