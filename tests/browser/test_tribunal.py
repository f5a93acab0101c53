"""A tribunal clerk's work in the browser: the inbox of referrals, the signed case file
downloaded from it, then acknowledging and judging the appeal from its case page."""

from __future__ import annotations

import json
import re
import zipfile

from playwright.sync_api import expect

from tests.browser.conftest import CLERK, OFFICER_DE, action_form, sign_in
from tests.factories import PDF


def test_clerk_downloads_acknowledges_and_judges_an_escalated_appeal(page, staff_page, factory, live_server, tmp_path):
    from casework import bundle, signing

    appeal = factory.appeal("escalated", claimant__name="Tereza Referral-Case")
    reference = appeal["reference"]

    # The handling institution puts a certificate on the file, from the case page.
    officer = staff_page(OFFICER_DE)
    officer.goto(f"/appeals/{reference}")
    documents = officer.get_by_role("region", name="Documents")
    documents.get_by_label("Add a document").set_input_files(
        {"name": "certificate.pdf", "mimeType": "application/pdf", "buffer": PDF})
    documents.get_by_role("button", name="Add", exact=True).click()
    expect(officer.get_by_role("status")).to_contain_text("The document was added.")
    expect(officer.get_by_role("region", name="Documents").get_by_role("link", name="certificate.pdf")).to_be_visible()

    sign_in(page, CLERK)
    expect(page).to_have_url(re.compile(r"/referrals/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Referrals")
    row = page.locator("tbody tr").filter(has_text="Tereza Referral-Case")
    expect(row).to_have_count(1)
    expect(row.locator("td[data-label='Receipt']")).to_contain_text("Not yet: due by")

    # The signed case file, as JSON and as a zip with the documents, straight from the inbox.
    with page.expect_download() as download:
        row.get_by_role("link", name=f"JSON ({reference})", exact=True).click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == f"{reference}-bundle.json"
    signed = json.loads(saved.read_text())
    assert signed["bundle"]["appeal"]["reference"] == reference
    with page.expect_download() as download:
        row.get_by_role("link", name=f"zip with documents ({reference})", exact=True).click()
    archive = tmp_path / download.value.suggested_filename
    download.value.save_as(archive)
    assert zipfile.is_zipfile(archive)
    with live_server.app.app_context():
        keys = signing.keyring().public_keys()
        assert bundle.verify(signed, keys).reference == reference
        checked = bundle.verify_zip(archive, keys)
    assert checked.reference == reference and checked.documents_checked
    assert [d["name"] for d in signed["bundle"]["documents"]] == ["certificate.pdf"]

    # The case page: acknowledge the referral.
    row.get_by_role("link", name=reference, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Appeal {reference}")
    expect(page.locator(".status-line .tag").first).to_have_text("Referred to the tribunal")
    expect(page.get_by_role("link", name="Case file (JSON)")).to_be_visible()
    actions = page.get_by_role("region", name="What you can do now")
    expect(action_form(actions, "Deliver the judgment")).to_have_count(0)
    acknowledge = action_form(actions, "Acknowledge the referral")
    acknowledge.locator("summary").click()
    acknowledge.get_by_role("button", name="Acknowledge the referral").click()
    expect(page.get_by_role("status")).to_contain_text("Done")
    expect(page.locator(".status-line .tag").first).to_have_text("Before the tribunal")

    # Deliver the judgment.
    judge = action_form(actions, "Deliver the judgment")
    judge.locator("summary").click()
    judge.get_by_label("Judgment").select_option(label="Allowed by the tribunal")
    judge.get_by_label("Reasons").fill("The periods completed in Poland must be aggregated under Article 6.")
    judge.get_by_role("button", name="Deliver the judgment").click()
    expect(page.get_by_role("status")).to_contain_text("Done")
    expect(page.locator(".status-line .tag").first).to_have_text("Closed")
    expect(page.locator(".status-line .tag-dark")).to_have_text("Allowed by the tribunal")
    expect(page.get_by_role("region", name="History", exact=True)).to_contain_text("must be aggregated under Article 6")
    expect(page.get_by_role("region", name="What you can do now")).to_contain_text("Nothing is yours to do")

    # Decided: it has left the inbox.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Referrals").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Referrals")
    expect(page.locator("tbody tr").filter(has_text="Tereza Referral-Case")).to_have_count(0)
