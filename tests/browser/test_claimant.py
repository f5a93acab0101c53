"""A claimant's journey in the browser: lodge an appeal from the front page (with evidence),
keep the reference and access code shown once; the institution reviews it and refuses; later,
on another visit, the claimant opens the appeal with reference and code, sees what happened
and asks for mediation after a confirmation step that can be cancelled."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import expect

from tests.browser.conftest import OFFICER_DE, action_form
from tests.factories import PDF

NAME = "Ludmila Journey-Nowak"


def _lodge(page, decision_date: str) -> tuple[str, str]:
    page.goto("/")
    page.get_by_role("region", name="Lodge an appeal").get_by_role("link", name="Lodge an appeal").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Lodge an appeal")

    # Sent half-filled first: the error summary names what is missing, and keeps what was typed.
    page.get_by_label("Your full name").fill(NAME)
    page.get_by_role("button", name="Lodge the appeal").click()
    summary = page.locator(".error-summary")
    expect(summary.get_by_role("heading")).to_have_text("There is a problem")
    expect(summary.get_by_role("link", name="Explain why you think the decision is wrong.")).to_be_visible()
    expect(summary).not_to_contain_text("Enter your full name.")
    expect(page.get_by_label("Your full name")).to_have_value(NAME)
    summary.get_by_role("link", name="Explain why you think the decision is wrong.").click()
    expect(page.get_by_label("Your reasons")).to_be_focused()

    page.get_by_label("Country where you live").select_option(label="Spain")
    page.get_by_label("Language for letters about your appeal").select_option(label="Polski")
    page.get_by_label("Your e-mail address").fill("ludmila@mail.example")
    page.get_by_label("Country of the institution that decided").select_option(label="Germany")
    page.get_by_label("Name of the institution").fill("Deutsche Rentenversicherung")
    page.get_by_label("Reference of the decision").fill("DRV-2026-4711")
    page.get_by_label("What the decision is about").select_option(label="Old-age pension")
    page.get_by_label("Date of the decision").fill(decision_date)
    page.get_by_role("checkbox", name="Poland").check()
    page.get_by_label("Your reasons").fill(
        "My years of work in Gdańsk from 1979 to 1990 were not counted towards my German pension.")
    page.get_by_label("A document supporting your appeal").set_input_files(
        {"name": "zus-certificate.pdf", "mimeType": "application/pdf", "buffer": PDF})
    page.get_by_role("button", name="Lodge the appeal").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Your appeal has been lodged")
    expect(page.get_by_text("This is the only time the access code is shown.")).to_be_visible()
    expect(page.get_by_text("Your document was added to your appeal.")).to_be_visible()
    reference = page.locator("#reference").inner_text()
    code = page.locator("#access-code").inner_text()
    assert re.fullmatch(r"CW-\d{4}-\d{6}", reference), reference
    assert len(code) >= 16, code
    return reference, code


def _officer_refuses(page, reference: str) -> None:
    """The handling officer finds the new appeal in the queue, admits it and refuses it."""
    page.goto("/queue/")
    page.get_by_role("navigation", name="Appeals by stage").get_by_role("link", name=re.compile(r"^Lodged \d+$")).click()
    page.locator("table.queue tbody tr").filter(has_text=NAME).get_by_role("link", name=reference, exact=True).click()
    actions = page.get_by_role("region", name="What you can do now")
    expect(page.get_by_role("region", name="Documents").get_by_role("link", name="zus-certificate.pdf")).to_be_visible()
    admit = action_form(actions, "Admit for review")
    admit.locator("summary").click()
    admit.get_by_role("button", name="Admit for review").click()
    expect(page.locator(".status-line .tag").first).to_have_text("Under review")
    decide = action_form(actions, "Decide the review")
    decide.locator("summary").click()
    decide.get_by_label("Outcome").select_option(label="Refused")
    decide.get_by_label("Reasons").fill("No certificate of the Polish periods was received.")
    decide.get_by_role("button", name="Decide the review").click()
    expect(page.locator(".status-line .tag").first).to_have_text("Waiting for the claimant's decision")


def test_claimant_lodges_checks_later_and_requests_mediation(new_context, staff_page):
    from casework.clock import now

    lodging = new_context().new_page()
    reference, code = _lodge(lodging, (now().date() - timedelta(days=10)).isoformat())
    lodging.context.close()  # the claimant leaves; the browser forgets the appeal

    _officer_refuses(staff_page(OFFICER_DE), reference)

    # Later, on another visit: open the appeal with reference and access code.
    page = new_context().new_page()
    page.goto("/")
    page.get_by_role("region", name="Follow your appeal").get_by_role("link", name="Follow your appeal").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Follow your appeal")
    page.get_by_label("Reference").fill(reference)
    page.get_by_label("Access code").fill("WRONG-CODE-0000")
    page.get_by_role("button", name="Open my appeal").click()
    expect(page.get_by_role("alert")).to_contain_text("No appeal matches this reference and access code")
    page.get_by_label("Reference").fill(reference)
    page.get_by_label("Access code").fill(code)
    page.get_by_role("button", name="Open my appeal").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(f"Your appeal {reference}")
    expect(page.locator(".status-line .tag").first).to_have_text("Waiting for your decision")
    expect(page.locator(".progress [aria-current=step]")).to_contain_text("Your decision")
    expect(page.get_by_role("region", name="History")).to_contain_text("Admitted for review")
    letters = page.get_by_role("region", name="Letters you have received").locator("details")
    expect(letters.first).to_be_visible()
    expect(page.get_by_role("region", name="Time limits running")).to_contain_text("for you")
    todo = page.get_by_role("region", name="What you can do")
    for button in ("Accept the result", "Ask for mediation", "Ask the tribunal to decide", "Withdraw my appeal"):
        expect(todo.get_by_role("link", name=button)).to_be_visible()

    # Ask for mediation: the confirmation says what it means; cancelling changes nothing.
    todo.get_by_role("link", name="Ask for mediation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Do you want to ask for mediation?")
    expect(page.get_by_text("Mediation is free and voluntary.")).to_be_visible()
    page.get_by_role("link", name="Cancel").click()
    expect(page.locator(".status-line .tag").first).to_have_text("Waiting for your decision")

    page.get_by_role("region", name="What you can do").get_by_role("link", name="Ask for mediation").click()
    page.get_by_role("button", name="Yes, ask for mediation").click()
    expect(page.get_by_role("status")).to_contain_text("Mediation has been requested for your appeal.")
    expect(page.locator(".status-line .tag").first).to_have_text("In mediation")
    expect(page.locator(".progress [aria-current=step]")).to_contain_text("Mediation")
    expect(page.get_by_role("region", name="History")).to_contain_text("Mediation requested")
    expect(page.get_by_role("region", name="What you can do").get_by_role("link", name="Ask for mediation")).to_have_count(0)
