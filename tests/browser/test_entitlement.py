"""The calculator as its users use it: an officer enters a claimant's periods from three
countries during review and runs the calculation; the claimant reads in Portuguese, then in
Arabic (right to left, the time line mirrored), why the amount is what it is; the tribunal's case
file carries the same numbers."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import OFFICER_DE, open_as_claimant

PERIODS = (
    ("Germany", "1980-01-01", "1985-12-31", "Employment", "SED P5000, Deutsche Rentenversicherung"),
    ("Poland", "1986-01-01", "1999-12-31", "Employment", "SED P5000, ZUS"),
    ("Spain", "2000-01-01", "2000-08-31", "Employment", "SED P5000, INSS"),
)


def _enter_period(page, country, first, last, kind, evidence):
    form = page.locator("#periods details").filter(has_text="Add a period from a certified record")
    form.locator("summary").click()
    form.get_by_label("Country").select_option(label=country)
    form.get_by_label("From", exact=True).fill(first)
    form.get_by_label("To (last day included)").fill(last)
    form.get_by_label("Kind of period").select_option(label=kind)
    form.get_by_label("Where it comes from").fill(evidence)
    form.get_by_role("button", name="Add the period").click()
    expect(page.locator(".flash, [role=status]").first).to_contain_text("The period was added")


def test_an_officer_calculates_and_the_claimant_reads_why_in_portuguese_and_arabic(staff_page, new_context, factory,
                                                                                  live_server):
    appeal = factory.appeal("under_review", claimant__preferred_language="pt")
    reference = appeal["reference"]
    officer = staff_page(OFFICER_DE)
    officer.goto(f"/appeals/{reference}?lang=en")
    for period in PERIODS:
        _enter_period(officer, *period)
    rows = officer.locator("#periods table.periods tbody tr")
    expect(rows).to_have_count(3)
    expect(officer.locator("#periods svg#periods-timeline")).to_be_visible()

    officer.get_by_role("link", name="Entitlement calculation").click()
    officer.get_by_label("Theoretical amount").first.fill("1500")
    for field, value in (("#field-amounts-DE-independent", "300"), ("#field-amounts-PL-theoretical", "4000"),
                         ("#field-amounts-PL-independent", "2500")):
        officer.locator(field).fill(value)
    officer.get_by_role("button", name="Calculate and keep the result").click()
    expect(officer).to_have_url(re.compile(f"/appeals/{reference}/calculations/1$"))
    formulae = officer.locator("ul.formulae")
    expect(formulae).to_contain_text("€1,500.00 × 2,192 ÷ 7,549 days = €435.55")
    expect(formulae).to_contain_text("PLN4,000.00 × 5,113 ÷ 7,549 days = PLN2,709.23")
    expect(officer.locator(".explanation[lang=pt]")).to_contain_text("435,55")

    claimant = new_context().new_page()
    open_as_claimant(claimant, reference, appeal["access_code"], "pt")
    section = claimant.locator("#calculation")
    expect(section).to_contain_text("Alemanha")
    expect(section).to_contain_text("435,55")
    expect(section).to_contain_text("Espanha")
    expect(claimant.locator("#periods svg")).to_be_visible()
    ltr = claimant.locator("#periods svg .chart-period-employment").first.bounding_box()

    claimant.goto(f"/track/{reference}?lang=ar")
    expect(claimant.locator("html")).to_have_attribute("dir", "rtl")
    expect(claimant.locator("#calculation")).to_contain_text("ألمانيا")
    svg = claimant.locator("#periods svg").bounding_box()
    rtl = claimant.locator("#periods svg .chart-period-employment").first.bounding_box()
    # The earliest period (Germany, 1980) starts the time line: at the left in Portuguese, at the
    # right in Arabic.
    assert ltr["x"] - svg["x"] < svg["width"] / 3, (ltr, svg)
    assert rtl["x"] + rtl["width"] - svg["x"] > svg["width"] * 2 / 3, (rtl, svg)

    # The tribunal's case file carries the same numbers.
    bundle = factory.client.get(f"/api/v1/appeals/{reference}/bundle",
                                headers=factory.staff("officer", "DE").headers).get_json()["bundle"]
    (calculation,) = bundle["appeal"]["calculations"]
    due = {row["country"]: row["due_amount"] for row in calculation["result"]["countries"]}
    assert due == {"DE": "435.55", "PL": "2709.23", "ES": "0.00"}


def test_a_claimant_proposes_a_period_from_the_status_page(new_context, factory):
    appeal = factory.appeal("under_review")
    page = new_context().new_page()
    open_as_claimant(page, appeal["reference"], appeal["access_code"])
    form = page.locator("#periods details")
    form.locator("summary").click()
    form.get_by_label("Country").select_option(label="Portugal")
    form.get_by_label("From", exact=True).fill("2001-01-01")
    form.get_by_label("To (last day included)").fill("2000-12-31")
    form.get_by_label("Kind of period").select_option(label="Self-employment")
    form.get_by_role("button", name="Send the period").click()
    expect(page.locator(".error-summary")).to_contain_text("must not be before starts_on")
    form = page.locator("#periods details")
    form.get_by_label("To (last day included)").fill("2002-12-31")
    form.get_by_role("button", name="Send the period").click()
    expect(page.locator("#periods table.periods")).to_contain_text("Proposed, not yet checked")
