"""The Content Security Policy in a real browser: the main pages of each user group load their
stylesheet and break no directive (Chromium reports every refused script, style or image on
the console)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import CLERK, MEDIATOR_DE, OFFICER_DE, open_as_claimant


def _watch(page) -> list[str]:
    """The console's reports of anything the policy refused, as they come."""
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)
    return refused


def _assert_styled_and_clean(page, refused: list[str], what: str) -> None:
    # The stylesheet applied: the skip link is moved off-screen until it has focus.
    expect(page.locator(".skip-link")).not_to_be_in_viewport()
    assert not refused, f"{what}: " + "\n".join(refused)


@pytest.mark.parametrize("path", ["/", "/lodge", "/track", "/sign-in", "/metrics", "/no-such-page"])
def test_public_pages_keep_the_policy(page, path):
    refused = _watch(page)
    page.goto(path)
    _assert_styled_and_clean(page, refused, path)


def test_the_claimant_status_page_keeps_the_policy(page, factory):
    appeal = factory.appeal("awaiting_claimant")
    refused = _watch(page)
    open_as_claimant(page, appeal["reference"], appeal["access_code"])
    _assert_styled_and_clean(page, refused, "the claimant's status page")


@pytest.mark.parametrize("email, path", [(OFFICER_DE, "/queue/"), (MEDIATOR_DE, "/mediations/"),
                                         (CLERK, "/referrals/")])
def test_staff_pages_keep_the_policy(staff_page, email, path):
    page = staff_page(email)
    refused = _watch(page)
    page.goto(path)
    _assert_styled_and_clean(page, refused, path)


def test_the_case_page_keeps_the_policy(staff_page, factory):
    reference = factory.appeal("under_review")["reference"]
    page = staff_page(OFFICER_DE)
    refused = _watch(page)
    page.goto(f"/appeals/{reference}")
    _assert_styled_and_clean(page, refused, "the case page")


def test_the_policy_is_enforced_and_its_refusals_seen(page):
    """The check above would pass with no policy at all were the console silent: an inline
    script put into a page is refused, and said so."""
    refused = _watch(page)
    page.goto("/")
    page.evaluate("""() => {
        const script = document.createElement("script");
        script.textContent = "document.body.dataset.ran = 'yes'";
        document.body.appendChild(script);
    }""")
    assert page.evaluate("() => document.body.dataset.ran") is None
    assert any("inline script" in text for text in refused), refused
