"""The staff case page: what it shows, a form for exactly the actions allowed now, actions taken
from the forms (with their mistakes named), stale forms, documents, and who may do what."""

from __future__ import annotations

import io
import re

import pytest
from sqlmodel import select

from casework.db import db
from casework.models import Document
from tests.factories import PDF, Factory
from workflows.appeal import ACTIONS


def _forms(page: str) -> list[str]:
    return re.findall(r'action="/appeals/CW-\d{4}-\d{6}/actions/(\w+)"', page)


def test_the_case_page_shows_the_appeal(client, factory):
    appeal = factory.appeal("under_review")
    factory.sign_in("officer", "DE")
    page = client.get(f"/appeals/{appeal['reference']}").get_data(as_text=True)
    for expected in ("Ana Kowalska", "Deutsche Rentenversicherung", "Under review", "Review decision",
                     "Appeal lodged", "Admitted for review", "PESEL", "Contribution periods in Poland"):
        assert expected in page, expected
    assert 'class="wf-state wf-current"' in page  # the diagram marks the current stage
    assert "Notices sent" in page and "claimant (Polski)" in page  # the claimant's notice, in Polish


@pytest.mark.parametrize("state", ["lodged", "under_review", "awaiting_claimant", "in_mediation", "closed"])
def test_there_is_a_form_for_each_allowed_action_and_no_other(client, factory, state):
    appeal = factory.appeal(state)
    factory.sign_in("officer", "DE")
    page = client.get(f"/appeals/{appeal['reference']}").get_data(as_text=True)
    assert sorted(_forms(page)) == sorted(appeal["allowed_actions"])
    assert set(_forms(page)) <= set(ACTIONS)


def test_an_officer_admits_and_decides_from_the_forms(client, factory):
    appeal = factory.appeal("lodged")
    factory.sign_in("officer", "DE")
    reference = appeal["reference"]
    admitted = client.post(f"/appeals/{reference}/actions/admit", data={"version": appeal["version"]})
    assert admitted.status_code == 303
    assert "Done: Admitted for review." in client.get(admitted.headers["Location"]).get_data(as_text=True)
    decided = client.post(f"/appeals/{reference}/actions/decide_review",
                          data={"version": appeal["version"] + 1, "outcome": "refused", "reasons": "Periods not proven."})
    assert decided.status_code == 303
    assert factory.get(reference)["state"] == "awaiting_claimant"


def test_a_form_with_mistakes_comes_back_naming_each(client, factory):
    appeal = factory.appeal("under_review")
    factory.sign_in("officer", "DE")
    response = client.post(f"/appeals/{appeal['reference']}/actions/decide_review",
                           data={"version": appeal["version"], "outcome": "maybe", "reasons": ""})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "There is a problem" in page
    assert 'href="#field-decide_review-outcome"' in page and 'href="#field-decide_review-reasons"' in page
    assert 'aria-invalid="true"' in page
    assert factory.get(appeal["reference"])["state"] == "under_review"


def test_a_late_appeal_needs_a_reason_to_be_admitted(client, factory):
    appeal = factory.appeal("lodged", contested_decision__decision_date="2020-01-06")
    factory.sign_in("officer", "DE")
    response = client.post(f"/appeals/{appeal['reference']}/actions/admit", data={"version": appeal["version"]})
    assert response.status_code == 422
    assert 'id="field-admit-late_filing_reason-error"' in response.get_data(as_text=True)


def test_a_hearing_is_entered_on_the_tribunals_clock(client, factory):
    appeal = factory.appeal("before_tribunal")
    factory.sign_in("tribunal")
    response = client.post(f"/appeals/{appeal['reference']}/actions/schedule_hearing",
                           data={"version": appeal["version"], "hearing_at": "2030-03-10T09:30", "mode": "video"})
    assert response.status_code == 303
    assert factory.get(appeal["reference"])["hearing"]["hearing_at"] == "2030-03-10T08:30:00Z"  # Luxembourg, CET


def test_a_stale_form_says_someone_else_acted(client, factory):
    appeal = factory.appeal("under_review")
    factory.act(appeal["reference"], "officer", {"action": "request_information", "from": "claimant", "items": "E205"})
    factory.sign_in("officer", "DE")
    response = client.post(f"/appeals/{appeal['reference']}/actions/decide_review",
                           data={"version": appeal["version"], "outcome": "granted", "reasons": "x"})
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Someone else changed this appeal" in page
    assert factory.get(appeal["reference"])["state"] == "awaiting_information"


def test_an_action_no_longer_possible_is_explained(client, factory):
    appeal = factory.appeal("lodged")
    factory.sign_in("officer", "DE")
    response = client.post(f"/appeals/{appeal['reference']}/actions/settle",
                           data={"version": appeal["version"], "terms": "x"}, follow_redirects=True)
    assert response.status_code == 200 and 'class="notice notice-error"' in response.get_data(as_text=True)


def test_an_involved_institution_reads_but_does_not_act(client, factory):
    appeal = factory.appeal("under_review")  # handled by DE, PL involved
    factory.sign_in("officer", "PL")
    page = client.get(f"/appeals/{appeal['reference']}").get_data(as_text=True)
    assert "Nothing is yours to do on this appeal now." in page and _forms(page) == []
    refused = client.post(f"/appeals/{appeal['reference']}/actions/decide_review",
                          data={"version": appeal["version"], "outcome": "granted", "reasons": "x"})
    assert refused.status_code == 403
    assert factory.get(appeal["reference"])["state"] == "under_review"


def test_an_officer_of_another_country_sees_nothing(client, factory):
    appeal = factory.appeal("under_review")
    factory.sign_in("officer", "FR")
    response = client.get(f"/appeals/{appeal['reference']}", headers={"Accept": "text/html"})
    assert response.status_code == 404 and "Page not found" in response.get_data(as_text=True)
    assert client.get("/appeals/CW-2026-999999").status_code == 404


def test_documents_are_added_and_downloaded(client, factory, app):
    appeal = factory.appeal("under_review")
    factory.sign_in("officer", "DE")
    added = client.post(f"/appeals/{appeal['reference']}/documents",
                        data={"file": (io.BytesIO(PDF), "E205 Polska.pdf")},
                        content_type="multipart/form-data")
    assert added.status_code == 303
    with app.app_context():
        document = db.session.exec(select(Document)).one()
    page = client.get(f"/appeals/{appeal['reference']}").get_data(as_text=True)
    assert "E205 Polska.pdf" in page
    download = client.get(f"/appeals/{appeal['reference']}/documents/{document.id}")
    assert download.status_code == 200 and download.data == PDF


def test_a_disguised_file_is_refused_and_nothing_stored(client, factory, app):
    appeal = factory.appeal("under_review")
    factory.sign_in("officer", "DE")
    response = client.post(f"/appeals/{appeal['reference']}/documents",
                           data={"file": (io.BytesIO(b"MZ\x90\x00 not a pdf"), "invoice.pdf")},
                           content_type="multipart/form-data", follow_redirects=True)
    assert "Only PDF, PNG and JPEG files are accepted." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.exec(select(Document)).all() == []


def test_actions_need_the_csrf_token(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    factory = Factory(app, client)
    appeal = factory.appeal("lodged")
    factory.app.config["WTF_CSRF_ENABLED"] = False
    factory.sign_in("officer", "DE")
    factory.app.config["WTF_CSRF_ENABLED"] = True
    response = client.post(f"/appeals/{appeal['reference']}/actions/admit", data={"version": appeal["version"]})
    assert response.status_code == 400
    assert factory.get(appeal["reference"])["state"] == "lodged"


def test_a_mediator_who_settles_an_open_mediation_takes_it_on_and_still_sees_it(client, factory):
    appeal = factory.appeal("in_mediation")
    factory.sign_in("mediator", "DE")
    response = client.post(f"/appeals/{appeal['reference']}/actions/settle",
                           data={"version": appeal["version"], "terms": "Periods 1979-1983 counted."})
    assert response.status_code == 303
    page = client.get(response.headers["Location"])
    assert page.status_code == 200 and "Settled in mediation" in page.get_data(as_text=True)
    assert factory.get(appeal["reference"])["mediator"] == factory.staff("mediator", "DE").email
