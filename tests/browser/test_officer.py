"""An appeals officer's day in the browser: sign in, find the appeal in the queue by its stage,
open it, admit it, and decide the review, with the error summary of a half-filled form."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import OFFICER_DE, action_form, sign_in


def test_officer_finds_admits_and_decides_an_appeal(page, factory):
    appeal = factory.appeal("lodged", claimant__name="Oskar Queue-Walker", claimant__residence_country="ES")
    reference = appeal["reference"]

    sign_in(page, OFFICER_DE)
    expect(page).to_have_url(re.compile(r"/queue/"))
    expect(page.get_by_role("heading", level=1, name="Appeals")).to_be_visible()

    # Filter by stage: the "Lodged" chip, then narrow by the claimant's country of residence.
    stages = page.get_by_role("navigation", name="Appeals by stage")
    stages.get_by_role("link", name=re.compile(r"^Lodged \d+$")).click()
    expect(page).to_have_url(re.compile(r"state=lodged"))
    expect(stages.get_by_role("link", name=re.compile(r"^Lodged"))).to_have_attribute("aria-current", "true")
    page.get_by_label("Claimant's country of residence").fill("ES")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"country=ES"))
    rows = page.locator("table.queue tbody tr")
    expect(rows.first).to_be_visible()
    for stage in rows.locator("td:nth-child(4)").all_inner_texts():
        assert stage == "Lodged"
    row = rows.filter(has_text="Oskar Queue-Walker")
    expect(row).to_have_count(1)
    row.get_by_role("link", name=reference, exact=True).click()

    # The case page: who appeals what, and only the actions allowed now.
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Appeal {reference}")
    expect(page.locator(".status-line .tag").first).to_have_text("Lodged")
    actions = page.get_by_role("region", name="What you can do now")
    expect(action_form(actions, "Admit for review")).to_be_visible()
    expect(action_form(actions, "Decide the review")).to_have_count(0)  # not before it is admitted
    expect(page.get_by_role("region", name="Claimant")).to_contain_text("Oskar Queue-Walker")

    # Admit: open the form, submit it.
    admit = action_form(actions, "Admit for review")
    expect(admit.get_by_role("button", name="Admit for review")).to_be_hidden()
    admit.locator("summary").click()
    admit.get_by_role("button", name="Admit for review").click()
    expect(page.get_by_role("status")).to_contain_text("Done")
    expect(page.locator(".status-line .tag").first).to_have_text("Under review")

    # Decide the review: first without the reasons, which the error summary names.
    decide = action_form(actions, "Decide the review")
    decide.locator("summary").click()
    decide.get_by_label("Outcome").select_option(label="Refused")
    decide.get_by_role("button", name="Decide the review").click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    expect(summary.get_by_role("heading")).to_have_text("There is a problem")
    expect(summary.get_by_role("link")).to_have_count(1)
    expect(summary.get_by_role("link")).to_contain_text("Reasons")
    expect(page.locator(".status-line .tag").first).to_have_text("Under review")
    # The summary's link leads to the field in trouble, which kept the outcome chosen.
    decide = action_form(actions, "Decide the review")
    expect(decide).to_have_attribute("open", "")
    summary.get_by_role("link").click()
    expect(decide.get_by_label("Reasons")).to_be_focused()
    expect(decide.get_by_label("Reasons")).to_have_attribute("aria-invalid", "true")
    expect(decide.get_by_label("Outcome")).to_have_value("refused")

    decide.get_by_label("Reasons").fill("The Spanish contribution periods are not proven by any certificate.")
    decide.get_by_role("button", name="Decide the review").click()
    expect(page.get_by_role("status")).to_contain_text("Done")
    expect(page.locator(".status-line .tag").first).to_have_text("Waiting for the claimant's decision")
    expect(page.get_by_role("region", name="History", exact=True)).to_contain_text(
        "The Spanish contribution periods are not proven by any certificate.")


def test_an_officer_works_without_javascript(new_context, factory):
    """Every page works without JavaScript: sign in, open the appeal, admit it (the action forms
    are native ``<details>``, the forms plain POSTs)."""
    reference = factory.appeal("lodged", claimant__name="Nils No-Script")["reference"]
    page = new_context(java_script_enabled=False).new_page()
    sign_in(page, OFFICER_DE)
    page.goto(f"/appeals/{reference}")
    admit = action_form(page.get_by_role("region", name="What you can do now"), "Admit for review")
    admit.locator("summary").click()
    admit.get_by_role("button", name="Admit for review").click()
    expect(page.get_by_role("status")).to_contain_text("Done")
    expect(page.locator(".status-line .tag").first).to_have_text("Under review")
