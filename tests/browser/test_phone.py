"""Readable on a phone: at 390 CSS pixels no page is wider than the screen (wide tables scroll
inside their own box), and the main heading and first action are on the first screen."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import CLERK, MEDIATOR_DE, OFFICER_DE, open_as_claimant

PHONE = {"width": 390, "height": 844}


def assert_fits(page, what: str) -> None:
    expect(page.locator("main h1")).to_be_in_viewport()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{what} is {width}px wide on a {PHONE['width']}px phone"


@pytest.mark.parametrize("path", ["/", "/sign-in", "/lodge", "/track", "/?lang=ar", "/lodge?lang=ar"])
def test_public_pages_fit_a_phone(new_context, path):
    page = new_context(viewport=PHONE).new_page()
    page.goto(path)
    assert_fits(page, path)


def test_claimant_status_fits_a_phone(new_context, factory):
    appeal = factory.appeal("awaiting_claimant")
    page = new_context(viewport=PHONE).new_page()
    open_as_claimant(page, appeal["reference"], appeal["access_code"])
    assert_fits(page, "the status page")
    page.goto(f"/track/{appeal['reference']}?lang=ar")
    assert_fits(page, "the Arabic status page")


@pytest.mark.parametrize("email, path", [(OFFICER_DE, "/queue/"), (MEDIATOR_DE, "/mediations/"), (CLERK, "/referrals/")])
def test_staff_lists_fit_a_phone(staff_page, email, path):
    page = staff_page(email, viewport=PHONE)
    page.goto(path)
    assert_fits(page, path)


def test_case_page_fits_a_phone(staff_page, factory):
    reference = factory.appeal("under_review")["reference"]
    page = staff_page(OFFICER_DE, viewport=PHONE)
    page.goto(f"/appeals/{reference}")
    page.locator("details.action summary").first.click()
    assert_fits(page, "the case page")
