"""The claimants' pages: lodging an appeal without an account (the reference and access code shown
once), opening it with the reference and code, the status page in the reader's language, the
claimant's own actions behind a confirmation, evidence, and leaving.

Most tests run with CSRF checks off so that they can post forms directly; one builds the app
with them on and proves that a form without its token changes nothing.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlmodel import select

from casework.clock import now
from casework.db import db
from casework.documents import MAX_SIZE
from casework.models import Appeal, Document, Event
from tests.factories import PDF, PNG

DISGUISED = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200  # a Windows program
UNKNOWN_REFERENCE = "CW-2099-999999"


@pytest.fixture
def app(make_app):
    app = make_app(WTF_CSRF_ENABLED=False)
    yield app
    app.extensions["casework.db"].dispose()


def _recent() -> str:
    return (now().date() - timedelta(days=3)).isoformat()


def lodge_form(**overrides) -> dict:
    """A complete lodging form as a browser sends it; ``None`` leaves a field out."""
    form = {
        "submission": "",
        "claimant.name": "Ana Kowalska",
        "claimant.birth_date": "1958-03-14",
        "claimant.residence_country": "ES",
        "claimant.preferred_language": "pl",
        "claimant.email": "ana@example.org",
        "claimant.personal_ids.0.country": "PL",
        "claimant.personal_ids.0.scheme": "PESEL",
        "claimant.personal_ids.0.value": "58031412345",
        "claimant.personal_ids.1.country": "",
        "claimant.personal_ids.1.scheme": "",
        "claimant.personal_ids.1.value": "",
        "contested_decision.institution_country": "DE",
        "contested_decision.institution_name": "Deutsche Rentenversicherung",
        "contested_decision.reference": "DRV-2026-55",
        "contested_decision.benefit": "old_age_pension",
        "contested_decision.decision_date": _recent(),
        "contested_decision.notified_on": "",
        "involved_countries": ["PL", "FR"],
        "involved_countries_other": "United States, ma",
        "grounds": "Contribution periods in Poland 1979-1990 were not aggregated.",
        "lodged_with_country": "",
    }
    for key, value in overrides.items():
        if value is None:
            form.pop(key, None)
        else:
            form[key] = value
    return form


def _appeals(app) -> list[Appeal]:
    with app.app_context():
        return list(db.session.exec(select(Appeal)))


def _documents(app) -> list[Document]:
    with app.app_context():
        return list(db.session.exec(select(Document)))


def _stored_files(app) -> list[Path]:
    root = Path(app.instance_path) / "documents"
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def _text(response) -> str:
    return response.get_data(as_text=True)


def _open(client, appeal: dict):
    """Open an appeal in this browser session with its reference and access code."""
    response = client.post("/track", data={"reference": appeal["reference"], "access_code": appeal["access_code"]})
    assert response.status_code == 303, _text(response)
    return response


class _Fields(HTMLParser):
    """The form controls of a page, and the ids its labels point at."""

    def __init__(self):
        super().__init__()
        self.controls: list[dict] = []
        self.label_targets: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("input", "select", "textarea") and attrs.get("type") not in ("hidden", "submit"):
            self.controls.append(attrs)
        if tag == "label" and attrs.get("for"):
            self.label_targets.add(attrs["for"])


def _fields(html: str) -> _Fields:
    parser = _Fields()
    parser.feed(html)
    return parser


# --- the front page ------------------------------------------------------------------------------

def test_the_front_page_sends_claimants_to_lodge_or_follow_and_staff_to_sign_in(client):
    page = _text(client.get("/"))

    assert 'href="/lodge"' in page and "Lodge an appeal" in page
    assert 'href="/track"' in page and "Follow your appeal" in page
    assert 'href="/sign-in"' in page


# --- lodging -------------------------------------------------------------------------------------

def test_the_lodging_form_labels_every_field_and_carries_a_csrf_token(client):
    response = client.get("/lodge")
    page = _text(response)

    assert response.status_code == 200
    fields = _fields(page)
    assert len(fields.controls) > 40  # the 32 tick boxes of EU coordination countries and the fields
    unlabelled = [c.get("name") for c in fields.controls if c.get("id") not in fields.label_targets]
    assert unlabelled == []
    assert 'name="csrf_token"' in page
    assert page.count("<legend>") >= 4  # groups of fields have a legend
    assert "Article 81" in page  # lodging in another country is explained
    assert 'value="pl"' in page and 'type="file"' in page


def test_lodging_shows_the_reference_and_access_code_once_and_opens_the_appeal(app, client):
    response = client.post("/lodge", data=lodge_form())
    page = _text(response)

    assert response.status_code == 200, page
    assert response.headers["Cache-Control"] == "no-store"
    [appeal] = _appeals(app)
    reference = appeal.reference
    code = re.search(r'id="access-code">([A-Z0-9-]+)<', page).group(1)
    assert reference in page
    assert "only time the access code is shown" in page
    # The code opens the appeal; it is not kept in the session.
    status = client.get(f"/api/v1/status/{reference}", headers={"X-Access-Code": code})
    assert status.status_code == 200
    with client.session_transaction() as session:
        assert list(session["claimant_appeals"]) == [reference]
        assert code not in repr(dict(session))
    assert client.get(f"/track/{reference}").status_code == 200

    with app.app_context():
        appeal = db.session.exec(select(Appeal)).one()
        claimant = appeal.claimant
        assert (claimant.name, claimant.residence_country, claimant.preferred_language, claimant.email) == (
            "Ana Kowalska", "ES", "pl", "ana@example.org")
        assert claimant.birth_date.isoformat() == "1958-03-14"
        assert [(p.country, p.scheme, p.value) for p in claimant.personal_ids] == [("PL", "PESEL", "58031412345")]
        assert (appeal.decision_country, appeal.decision_institution.name, appeal.decision_reference, appeal.benefit) == (
            "DE", "Deutsche Rentenversicherung", "DRV-2026-55", "old_age_pension")
        assert appeal.decision_date.isoformat() == _recent()
        assert sorted(appeal.involved_countries) == ["FR", "MA", "PL", "US"]
        assert appeal.grounds.startswith("Contribution periods")
        assert (appeal.state, appeal.receiving_country, appeal.handling_country) == ("lodged", "DE", "DE")
        assert abs((appeal.lodged_at - now()).total_seconds()) < 60  # never taken from the form
        [event] = db.session.exec(select(Event).where(Event.appeal_id == appeal.id)).all()
        assert (event.action, event.actor, event.actor_role) == ("lodge", "claimant", "claimant")


def test_an_appeal_lodged_in_the_country_of_residence_is_explained_as_forwarded(app, client):
    response = client.post("/lodge", data=lodge_form(lodged_with_country="ES"))

    assert response.status_code == 200
    [appeal] = _appeals(app)
    assert (appeal.receiving_country, appeal.handling_country, appeal.decision_country) == ("ES", "ES", "DE")
    assert "sends it on to the competent institution" in _text(response)


def test_a_form_with_mistakes_comes_back_naming_each_field_and_stores_nothing(app, client):
    form = lodge_form(**{
        "claimant.name": "  ",
        "claimant.residence_country": "",
        "claimant.email": "not-an-address",
        "claimant.personal_ids.0.scheme": "",
        "contested_decision.institution_name": "",
        "contested_decision.benefit": "",
        "contested_decision.decision_date": (now().date() + timedelta(days=30)).isoformat(),
        "involved_countries_other": "Atlantis",
        "grounds": "",
    })

    response = client.post("/lodge", data=form)
    page = _text(response)

    assert response.status_code == 422
    for field in ("claimant-name", "claimant-residence_country", "claimant-email", "claimant-personal_ids-0-scheme",
                  "contested_decision-institution_name", "contested_decision-benefit",
                  "contested_decision-decision_date", "involved_countries_other", "grounds"):
        assert f'href="#field-{field}"' in page, field
        assert f'id="field-{field}-error"' in page, field
    assert "Enter your full name." in page
    assert "Choose what the decision is about." in page
    assert "must not be in the future" in page
    assert "“Atlantis”" in page
    assert 'aria-invalid="true"' in page
    # What was right is kept.
    assert 'value="58031412345"' in page and "Deutsche Rentenversicherung" not in page.split("error-summary")[0]
    assert 'value="PL" checked' in page and '<option value="DE" selected>' in page
    assert _appeals(app) == []


def test_errors_in_a_later_row_of_numbers_point_at_that_row(app, client):
    form = lodge_form(**{
        "claimant.personal_ids.0.country": "", "claimant.personal_ids.0.scheme": "",
        "claimant.personal_ids.0.value": "",
        "claimant.personal_ids.1.country": "FR", "claimant.personal_ids.1.scheme": "NIR",
    })

    page = _text(client.post("/lodge", data=form))

    assert 'href="#field-claimant-personal_ids-1-value"' in page
    assert "Number 2: Enter the number." in page
    assert '<details class="more" open>' in page  # the further rows are shown, not folded away
    assert _appeals(app) == []


def test_a_disguised_file_is_refused_and_nothing_is_stored(app, client):
    form = lodge_form(file=(io.BytesIO(DISGUISED), "evidence.pdf"))

    response = client.post("/lodge", data=form, content_type="multipart/form-data")
    page = _text(response)

    assert response.status_code == 422
    assert 'href="#field-file"' in page and "Only PDF, PNG and JPEG files are accepted." in page
    assert 'value="Ana Kowalska"' in page
    assert _appeals(app) == [] and _documents(app) == [] and _stored_files(app) == []


def test_an_appeal_lodged_with_a_pdf_has_it_on_file(app, client):
    form = lodge_form(file=(io.BytesIO(PDF), "Bescheid.pdf"))

    response = client.post("/lodge", data=form, content_type="multipart/form-data")

    assert response.status_code == 200, _text(response)
    [appeal] = _appeals(app)
    [document] = _documents(app)
    assert (document.appeal_id, document.name, document.media_type, document.uploaded_by) == (
        appeal.id, "Bescheid.pdf", "application/pdf", "claimant")
    assert "Bescheid.pdf" in _text(client.get(f"/track/{appeal.reference}"))


def test_a_file_over_the_limit_comes_back_with_the_form(app, client):
    form = lodge_form(file=(io.BytesIO(PDF + b"\0" * MAX_SIZE), "huge.pdf"))

    response = client.post("/lodge", data=form, content_type="multipart/form-data")

    assert response.status_code == 422
    assert 'href="#field-file"' in _text(response) and "larger than 10 MB" in _text(response)
    assert _appeals(app) == [] and _stored_files(app) == []


def test_a_request_far_over_the_limit_gets_a_page_that_says_so(app, client):
    form = lodge_form(file=(io.BytesIO(PDF + b"\0" * (MAX_SIZE + 200_000)), "huge.pdf"))

    response = client.post("/lodge", data=form, content_type="multipart/form-data", headers={"Accept": "text/html"})

    assert response.status_code == 413
    assert "larger than 10 MB" in _text(response) and "Go back" in _text(response)
    assert _appeals(app) == []


def test_sending_the_same_form_again_does_not_lodge_twice(app, client):
    submission = re.search(r'name="submission" value="([^"]+)"', _text(client.get("/lodge"))).group(1)
    form = lodge_form(submission=submission)

    first = client.post("/lodge", data=form)
    again = client.post("/lodge", data=form)

    [appeal] = _appeals(app)
    assert first.status_code == 200
    assert again.status_code == 303 and again.headers["Location"] == f"/track/{appeal.reference}"
    assert "already lodged" in _text(client.get(f"/track/{appeal.reference}"))


# --- opening an appeal ---------------------------------------------------------------------------

def test_the_right_reference_and_code_open_the_appeal_without_keeping_the_code(client, factory):
    appeal = factory.appeal("under_review")

    response = client.post("/track", data={"reference": appeal["reference"].lower(),
                                            "access_code": appeal["access_code"]})

    assert response.status_code == 303
    assert response.headers["Location"] == f"/track/{appeal['reference']}"
    assert appeal["access_code"] not in response.headers["Location"]
    with client.session_transaction() as session:
        assert list(session["claimant_appeals"]) == [appeal["reference"]]
        assert appeal["access_code"] not in repr(dict(session))
    assert client.get(f"/track/{appeal['reference']}").status_code == 200


def test_an_opened_appeal_lapses_after_the_session_lifetime(client, factory):
    appeal = factory.appeal("under_review")
    _open(client, appeal)
    with client.session_transaction() as session:
        session["claimant_appeals"] = {appeal["reference"]: int((now() - timedelta(hours=9)).timestamp())}

    assert client.get(f"/track/{appeal['reference']}").status_code == 303


def test_an_unknown_reference_and_a_wrong_code_get_the_same_answer(client, factory):
    appeal = factory.appeal("under_review")
    wrong_code = client.post("/track", data={"reference": appeal["reference"], "access_code": "AAAA-BBBB-CCCC"})
    unknown = client.post("/track", data={"reference": UNKNOWN_REFERENCE, "access_code": appeal["access_code"]})

    message = "No appeal matches this reference and access code. Check both and try again."
    assert wrong_code.status_code == unknown.status_code == 404
    assert message in _text(wrong_code) and message in _text(unknown)
    # Apart from the reference typed in (and the form's token), the two pages are the same.
    normalise = lambda response, ref: re.sub(r'name="csrf_token" value="[^"]*"', "", _text(response)).replace(ref, "REF")
    assert normalise(wrong_code, appeal["reference"]) == normalise(unknown, UNKNOWN_REFERENCE)
    assert appeal["access_code"] not in _text(unknown)
    with client.session_transaction() as session:
        assert not session.get("claimant_appeals")
    assert client.get(f"/track/{appeal['reference']}").status_code == 303


def test_an_empty_track_form_names_both_fields(client):
    response = client.post("/track", data={"reference": "", "access_code": ""})

    assert response.status_code == 422
    assert 'href="#field-reference"' in _text(response) and 'href="#field-access_code"' in _text(response)


def test_the_status_page_without_opening_the_appeal_first_sends_to_the_track_form(client, factory):
    appeal = factory.appeal("under_review")

    response = client.get(f"/track/{appeal['reference']}")

    assert response.status_code == 303
    assert response.headers["Location"] == f"/track?reference={appeal['reference']}"
    form = _text(client.get(response.headers["Location"]))
    assert f'value="{appeal["reference"]}"' in form
    for path in (f"/track/{appeal['reference']}/confirm/withdraw",):
        assert client.get(path).status_code == 303
    for path in (f"/track/{appeal['reference']}/actions/withdraw", f"/track/{appeal['reference']}/documents"):
        assert client.post(path, data={"version": appeal["version"]}).status_code == 303
    assert factory.get(appeal["reference"])["state"] == "under_review"


# --- the status page -----------------------------------------------------------------------------

def test_the_status_page_shows_the_stage_what_it_means_deadlines_and_notices(client, factory):
    appeal = factory.appeal("awaiting_claimant")
    _open(client, appeal)

    response = client.get(f"/track/{appeal['reference']}?lang=en")
    page = _text(response)

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "Waiting for your decision" in page
    assert re.search(r'<li class="current" aria-current="step">\s*<span class="step-label">Your decision', page)
    assert re.search(r'<li class="done"[^>]*>\s*<span class="step-label">Review', page)
    assert "Your answer to the review decision" in page and 'class="yours"' in page
    assert "on the clock of Spain, where you live" in page and "Spain (Madrid)" in page
    assert "Your appeal CW-" in page and "Review decided" in page  # history
    assert "<details class=\"notice-item\">" in page  # the notices she received
    for action in ("accept_decision", "request_mediation", "request_tribunal", "withdraw"):
        assert f"/track/{appeal['reference']}/confirm/{action}" in page
    # Nothing an officer wrote internally, nor who did what.
    assert "No proof of periods." not in page.split("Letters you have received")[0]
    assert "officer." not in page


def test_the_status_page_reads_in_polish(client, factory):
    appeal = factory.appeal("lodged")
    _open(client, appeal)

    page = _text(client.get(f"/track/{appeal['reference']}?lang=pl"))

    assert '<html lang="pl" dir="ltr">' in page
    assert "Wniesione" in page  # the stage "Lodged"
    assert "Pana/Pani odwołanie wpłynęło." in page  # what it means


def test_the_status_page_reads_right_to_left_in_arabic(client, factory):
    appeal = factory.appeal("in_mediation")
    _open(client, appeal)

    page = _text(client.get(f"/track/{appeal['reference']}?lang=ar"))

    assert '<html lang="ar" dir="rtl">' in page
    assert 'aria-current="step"' in page


def test_a_closed_appeal_shows_its_outcome_and_no_actions(client, factory):
    appeal = factory.appeal("closed")
    _open(client, appeal)

    page = _text(client.get(f"/track/{appeal['reference']}?lang=en"))

    assert "Withdrawn" in page and "The contested decision stands." in page
    assert "/confirm/" not in page and 'name="file"' not in page
    assert re.search(r'<li class="skipped">\s*<span class="step-label">Mediation', page)


# --- the claimant's actions ----------------------------------------------------------------------

def test_asking_for_mediation_is_confirmed_first_then_done(app, client, factory):
    appeal = factory.appeal("awaiting_claimant")
    _open(client, appeal)
    reference = appeal["reference"]

    confirm = client.get(f"/track/{reference}/confirm/request_mediation")
    page = _text(confirm)
    assert confirm.status_code == 200
    assert "Do you want to ask for mediation?" in page
    assert f'action="/track/{reference}/actions/request_mediation"' in page
    assert f'name="version" value="{appeal["version"]}"' in page
    assert f'href="/track/{reference}"' in page  # cancel
    assert factory.get(reference)["state"] == "awaiting_claimant"  # nothing done yet

    done = client.post(f"/track/{reference}/actions/request_mediation", data={"version": appeal["version"]})

    assert done.status_code == 303 and done.headers["Location"] == f"/track/{reference}"
    assert factory.get(reference)["state"] == "in_mediation"
    with app.app_context():
        event = db.session.exec(select(Event).order_by(Event.id.desc())).first()
        assert (event.action, event.actor_role) == ("request_mediation", "claimant")
    assert "Mediation has been requested for your appeal." in _text(client.get(f"/track/{reference}?lang=en"))


def test_a_stale_confirmation_says_so_and_changes_nothing(client, factory):
    appeal = factory.appeal("awaiting_claimant")
    _open(client, appeal)
    reference = appeal["reference"]
    factory.act(reference, "officer", {"action": "request_tribunal"})  # the institution acted meanwhile

    response = client.post(f"/track/{reference}/actions/request_mediation", data={"version": appeal["version"]})

    assert response.status_code == 303 and response.headers["Location"] == f"/track/{reference}"
    assert factory.get(reference)["state"] == "escalated"
    page = _text(client.get(f"/track/{reference}?lang=en"))
    assert "Your appeal changed while you were looking at it, so nothing was done." in page


def test_an_action_not_open_at_this_stage_is_not_offered(client, factory):
    appeal = factory.appeal("under_review")
    _open(client, appeal)
    reference = appeal["reference"]

    confirm = client.get(f"/track/{reference}/confirm/request_mediation")
    action = client.post(f"/track/{reference}/actions/request_mediation", data={"version": appeal["version"]})

    assert confirm.status_code == 303 and action.status_code == 303
    assert factory.get(reference)["state"] == "under_review"
    assert "not possible at this stage" in _text(client.get(f"/track/{reference}"))
    assert client.get(f"/track/{reference}/confirm/decide_review").status_code == 404


def test_withdrawing_closes_the_appeal(client, factory):
    appeal = factory.appeal("under_review")
    _open(client, appeal)

    assert "Do you want to withdraw your appeal?" in _text(client.get(f"/track/{appeal['reference']}/confirm/withdraw"))
    client.post(f"/track/{appeal['reference']}/actions/withdraw", data={"version": appeal["version"]})

    after = factory.get(appeal["reference"])
    assert (after["state"], after["outcome"]) == ("closed", "withdrawn")


# --- evidence ------------------------------------------------------------------------------------

def test_the_claimant_adds_evidence_from_the_status_page(app, client, factory):
    appeal = factory.appeal("under_review")
    _open(client, appeal)
    reference = appeal["reference"]

    added = client.post(f"/track/{reference}/documents", data={"file": (io.BytesIO(PNG), "certificate.png")},
                        content_type="multipart/form-data")
    refused = client.post(f"/track/{reference}/documents", data={"file": (io.BytesIO(DISGUISED), "scan.jpg")},
                          content_type="multipart/form-data")

    assert added.status_code == refused.status_code == 303
    assert added.headers["Location"] == f"/track/{reference}#documents"
    [document] = _documents(app)
    assert (document.name, document.media_type, document.uploaded_by) == ("certificate.png", "image/png", "claimant")
    assert len(_stored_files(app)) == 1
    page = _text(client.get(f"/track/{reference}?lang=en"))
    assert "certificate.png" in page and "Only PDF, PNG and JPEG files are accepted." in page


def test_documents_the_institution_added_are_not_listed_as_the_claimants(client, factory):
    appeal = factory.appeal("under_review")
    factory.upload(appeal["reference"], PDF, "internal-note.pdf")
    _open(client, appeal)

    assert "internal-note.pdf" not in _text(client.get(f"/track/{appeal['reference']}"))


def test_a_closed_appeal_takes_no_more_evidence(app, client, factory):
    appeal = factory.appeal("closed")
    _open(client, appeal)

    client.post(f"/track/{appeal['reference']}/documents", data={"file": (io.BytesIO(PDF), "late.pdf")},
                content_type="multipart/form-data")

    assert _documents(app) == []
    assert "no more documents can be added" in _text(client.get(f"/track/{appeal['reference']}?lang=en"))


# --- leaving -------------------------------------------------------------------------------------

def test_leaving_forgets_the_appeal_in_this_browser(client, factory):
    appeal = factory.appeal("under_review")
    _open(client, appeal)

    response = client.post(f"/track/{appeal['reference']}/leave")

    assert response.status_code == 303 and response.headers["Location"] == "/track"
    assert "This device has forgotten your appeal." in _text(client.get("/track?lang=en"))
    assert client.get(f"/track/{appeal['reference']}").status_code == 303
    assert factory.get(appeal["reference"])["state"] == "under_review"


# --- CSRF ----------------------------------------------------------------------------------------

def test_forms_without_their_csrf_token_are_refused_and_change_nothing(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    try:
        client = app.test_client()
        from tests.factories import Factory

        factory = Factory(app, client)
        appeal = factory.appeal("awaiting_claimant")

        lodged = client.post("/lodge", data=lodge_form())
        tracked = client.post("/track", data={"reference": appeal["reference"], "access_code": appeal["access_code"]})
        assert lodged.status_code == tracked.status_code == 400
        assert "This form has expired" in _text(lodged)
        assert len(_appeals(app)) == 1

        # With the token the page gives, the same forms work.
        token = re.search(r'name="csrf_token" value="([^"]+)"', _text(client.get("/track"))).group(1)
        opened = client.post("/track", data={"reference": appeal["reference"], "access_code": appeal["access_code"],
                                             "csrf_token": token})
        assert opened.status_code == 303
        refused = client.post(f"/track/{appeal['reference']}/actions/withdraw", data={"version": appeal["version"]})
        assert refused.status_code == 400
        assert factory.get(appeal["reference"])["state"] == "awaiting_claimant"
        confirm = _text(client.get(f"/track/{appeal['reference']}/confirm/withdraw"))
        token = re.search(r'name="csrf_token" value="([^"]+)"', confirm).group(1)
        done = client.post(f"/track/{appeal['reference']}/actions/withdraw",
                           data={"version": appeal["version"], "csrf_token": token})
        assert done.status_code == 303
        assert factory.get(appeal["reference"])["state"] == "closed"
    finally:
        app.extensions["casework.db"].dispose()
