"""Two people open the same appeal; one acts first. The other's form is stale: submitting it
says clearly that someone else changed the appeal and shows it as it is now (no error page,
and nothing done on the strength of what the second person saw)."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import OFFICER_DE, action_form


def test_a_stale_form_says_someone_else_changed_the_appeal(staff_page, factory):
    reference = factory.appeal("lodged", claimant__name="Greta Two-Tabs")["reference"]
    first = staff_page(OFFICER_DE)
    second = staff_page(OFFICER_DE)
    for page in (first, second):
        page.goto(f"/appeals/{reference}")
        expect(page.locator(".status-line .tag").first).to_have_text("Lodged")

    # The first officer admits the appeal.
    actions = first.get_by_role("region", name="What you can do now")
    admit = action_form(actions, "Admit for review")
    admit.locator("summary").click()
    admit.get_by_role("button", name="Admit for review").click()
    expect(first.locator(".status-line .tag").first).to_have_text("Under review")

    # The second, still looking at the lodged appeal, declares it inadmissible.
    actions = second.get_by_role("region", name="What you can do now")
    inadmissible = action_form(actions, "Declare inadmissible")
    inadmissible.locator("summary").click()
    inadmissible.get_by_label("Reason").fill("Lodged with the wrong institution.")
    inadmissible.get_by_role("button", name="Declare inadmissible").click()

    alert = second.get_by_role("alert")
    expect(alert).to_contain_text("Someone else changed this appeal while you were looking at it")
    expect(second.get_by_role("heading", level=1)).to_have_text(f"Appeal {reference}")
    expect(second.locator(".status-line .tag").first).to_have_text("Under review")  # as it is now
    expect(action_form(second.get_by_role("region", name="What you can do now"), "Decide the review")).to_be_visible()
    assert factory.get(reference)["state"] == "under_review"
