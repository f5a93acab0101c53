"""Accessibility: axe-core (bundled with axe-playwright-python; nothing is downloaded) on the
main pages of each user group, in English and in Arabic. No serious or critical violation."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.browser.conftest import CLERK, MEDIATOR_DE, OFFICER_DE, action_form, open_as_claimant

BLOCKING = ("serious", "critical")
_axe = Axe()


def assert_accessible(page, what: str) -> None:
    """Run axe on the page as it is now; fail listing every serious or critical violation."""
    results = _axe.run(page)
    found = [v for v in results.response["violations"] if v["impact"] in BLOCKING]
    if found:
        lines = [f"{len(found)} serious or critical accessibility violation(s) on {what} ({page.url}):"]
        for violation in found:
            lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']} <{violation['helpUrl']}>")
            for node in violation["nodes"]:
                lines.append(f"    at {' > '.join(map(str, node['target']))}: {node['html'][:200]}")
                if node.get("failureSummary"):
                    lines.append("      " + node["failureSummary"].replace("\n", "\n      "))
        pytest.fail("\n".join(lines), pytrace=False)


@pytest.mark.parametrize("language", ["en", "ar"])
def test_home(page, language):
    page.goto(f"/?lang={language}")
    expect(page.locator("html")).to_have_attribute("lang", language)
    assert_accessible(page, f"the home page ({language})")


def test_sign_in_with_its_error_summary(page):
    page.goto("/sign-in")
    assert_accessible(page, "the sign-in page")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".error-summary")).to_be_visible()
    assert_accessible(page, "the sign-in page with errors")


@pytest.mark.parametrize("language", ["en", "ar"])
def test_officer_queue(staff_page, language):
    page = staff_page(OFFICER_DE)
    page.goto(f"/queue/?lang={language}")
    expect(page.locator("table.queue")).to_be_visible()
    assert_accessible(page, f"the officer's queue ({language})")


def test_case_page_with_an_action_form_open(staff_page, factory):
    reference = factory.appeal("under_review", claimant__name="Axel Checker")["reference"]
    page = staff_page(OFFICER_DE)
    page.goto(f"/appeals/{reference}")
    decide = action_form(page.get_by_role("region", name="What you can do now"), "Decide the review")
    decide.locator("summary").click()
    expect(decide.get_by_label("Reasons")).to_be_visible()
    assert_accessible(page, "the case page with the decision form open")
    decide.get_by_role("button", name="Decide the review").click()
    expect(page.locator(".error-summary")).to_be_visible()
    assert_accessible(page, "the case page with the decision form's errors")


def test_mediator_list(staff_page, factory):
    factory.appeal("in_mediation", claimant__name="Mira Mediation-Listed")  # handled in DE
    page = staff_page(MEDIATOR_DE)
    page.goto("/mediations/")
    expect(page.get_by_role("heading", level=1)).to_have_text("My mediations")
    expect(page.locator("tbody tr").first).to_be_visible()
    assert_accessible(page, "the mediator's list")


def test_tribunal_inbox(staff_page):
    page = staff_page(CLERK)
    page.goto("/referrals/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Referrals")
    expect(page.locator("tbody tr").first).to_be_visible()
    assert_accessible(page, "the tribunal's inbox")


@pytest.mark.parametrize("language", ["en", "ar"])
def test_claimant_lodge_form_and_its_errors(page, language):
    page.goto(f"/lodge?lang={language}")
    expect(page.locator("form.long-form")).to_be_visible()
    assert_accessible(page, f"the lodging form ({language})")
    page.locator("form.long-form button[type=submit]").click()
    expect(page.locator(".error-summary")).to_be_visible()
    assert_accessible(page, f"the lodging form with errors ({language})")


def test_claimant_track_page_with_a_wrong_code(page):
    page.goto("/track")
    assert_accessible(page, "the follow-your-appeal page")
    page.get_by_label("Reference").fill("CW-2026-999999")
    page.get_by_label("Access code").fill("AAAA-BBBB-CCCC-DDDD")
    page.get_by_role("button", name="Open my appeal").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert_accessible(page, "the follow-your-appeal page after a wrong code")


@pytest.mark.parametrize("language", ["en", "ar"])
def test_claimant_status_and_confirmation(page, factory, language):
    appeal = factory.appeal("awaiting_claimant", claimant__preferred_language=language)
    open_as_claimant(page, appeal["reference"], appeal["access_code"], language)
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.locator("ol.progress")).to_be_visible()
    page.locator("section[aria-labelledby=notices-heading] summary").first.click()  # a letter open
    assert_accessible(page, f"the claimant's status page ({language})")
    page.locator(f"a[href$='/confirm/request_mediation']").click()
    expect(page.locator("form.confirm-actions")).to_be_visible()
    assert_accessible(page, f"the confirmation of a request for mediation ({language})")


def test_tribunal_case_page_with_the_judgment_form_open(staff_page, factory):
    reference = factory.appeal("before_tribunal")["reference"]
    page = staff_page(CLERK)
    page.goto(f"/appeals/{reference}")
    judge = action_form(page.get_by_role("region", name="What you can do now"), "Deliver the judgment")
    judge.locator("summary").click()
    expect(judge.get_by_label("Judgment")).to_be_visible()
    hearing = action_form(page.get_by_role("region", name="What you can do now"), "Schedule a hearing")
    hearing.locator("summary").click()
    assert_accessible(page, "the tribunal's case page with the judgment and hearing forms open")


@pytest.mark.parametrize("language", ["en", "ar"])
def test_public_metrics_page_for_oversight(page, language):
    page.goto(f"/metrics?lang={language}")
    expect(page.locator("main h1")).to_be_visible()
    assert_accessible(page, f"the public performance figures ({language})")
