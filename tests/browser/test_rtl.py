"""Arabic pages are right-to-left: the document says so (``dir="rtl" lang="ar"``) and the
layout mirrors: what starts at the left of the header in English starts at its right in Arabic."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import OFFICER_DE, VIEWPORT, open_as_claimant

WIDTH = VIEWPORT["width"]
NEAR = 24  # px: "at the edge" allows for the header's padding


def _box(page, selector: str) -> dict:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not displayed"
    return box


def _edges(page) -> dict:
    """Where the header's pieces sit: the brand, the navigation and the focused skip link."""
    page.keyboard.press("Tab")  # the skip link is the first thing to focus, and then shows itself
    expect(page.locator(".skip-link")).to_be_focused()
    return {name: _box(page, selector) for name, selector in
            (("bar", ".site-header .bar"), ("brand", ".brand"), ("nav", ".site-header .nav"), ("skip", ".skip-link"))}


def assert_mirrored(page, path: str) -> None:
    page.goto(f"{path}?lang=en")
    html = page.locator("html")
    expect(html).to_have_attribute("dir", "ltr")
    expect(html).to_have_attribute("lang", "en")
    en = _edges(page)
    right = lambda box: box["x"] + box["width"]  # noqa: E731
    assert en["brand"]["x"] - en["bar"]["x"] < NEAR, en             # brand at the bar's left edge
    assert right(en["bar"]) - right(en["nav"]) < NEAR, en           # navigation at its right edge
    assert en["nav"]["x"] > right(en["brand"]), en                  # …after the brand
    assert en["skip"]["x"] < WIDTH / 4, en                          # skip link at the left

    page.goto(f"{path}?lang=ar")
    expect(html).to_have_attribute("dir", "rtl")
    expect(html).to_have_attribute("lang", "ar")
    ar = _edges(page)
    assert right(ar["bar"]) - right(ar["brand"]) < NEAR, ar         # brand at the bar's right edge
    assert ar["nav"]["x"] - ar["bar"]["x"] < NEAR, ar               # navigation at its left edge
    assert right(ar["nav"]) < ar["brand"]["x"], ar                  # …before the brand
    assert ar["skip"]["x"] > WIDTH * 3 / 4, ar                      # skip link at the right
    # Mirror images: the brand is as far from the right in Arabic as from the left in English.
    assert abs((WIDTH - right(ar["brand"])) - en["brand"]["x"]) < 2, (en["brand"], ar["brand"])
    assert page.evaluate("getComputedStyle(document.querySelector('main h1')).direction") == "rtl"


def test_arabic_staff_queue_is_right_to_left(staff_page):
    page = staff_page(OFFICER_DE)
    assert_mirrored(page, "/queue/")
    # The table reads from the right: the reference column is the rightmost.
    first_cell = _box(page, "table.queue tbody tr th")
    last_cell = _box(page, "table.queue tbody tr td:last-child")
    assert first_cell["x"] > last_cell["x"], (first_cell, last_cell)


def test_arabic_home_page_is_right_to_left(page):
    assert_mirrored(page, "/")


def test_arabic_claimant_status_page_is_right_to_left(page, factory):
    appeal = factory.appeal("awaiting_claimant", claimant__preferred_language="ar")
    open_as_claimant(page, appeal["reference"], appeal["access_code"], language="ar")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    assert_mirrored(page, f"/track/{appeal['reference']}")
    # The progress line runs from the right: its first stage is the rightmost.
    steps = page.locator("ol.progress > li")
    first, last = steps.first.bounding_box(), steps.last.bounding_box()
    assert first["x"] > last["x"], (first, last)
    # The main column (where the appeal stands) is on the right, the summary aside on the left.
    main, aside = _box(page, ".main-column"), _box(page, ".side-column")
    assert main["x"] > aside["x"], (main, aside)
    # Letters in Arabic are marked as such, right to left.
    letter = page.locator("section[aria-labelledby=notices-heading] pre").first
    expect(letter).to_have_attribute("lang", "ar")
    expect(letter).to_have_attribute("dir", "rtl")
