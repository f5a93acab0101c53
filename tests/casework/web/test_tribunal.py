"""The tribunal's inbox (/referrals): the appeals referred to the clerk's tribunal and not yet
decided or sent back, longest waiting first, with receipt, hearing and case file; the tribunal's
actions on the case page it links to; the signed case file downloaded with the browser session;
who may open what (other staff: 403 on the inbox, 404 on a case file; nobody signed in: the
sign-in page)."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import datetime, timedelta, timezone

import pytest
import time_machine

from casework import bundle, signing
from tests.casework.web.test_mediator import TOKEN, forms_on, post_form, sign_in
from tests.factories import JPEG, PDF

START = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)  # a Monday


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def _listed(page: str) -> list[str]:
    return re.findall(r'<th scope="row"[^>]*><a href="/appeals/(CW-\d{4}-\d{6})"', page)


def _inbox(client) -> str:
    response = client.get("/referrals/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _public_keys(app):
    with app.app_context():
        return signing.keyring().public_keys()


# --- the inbox -----------------------------------------------------------------------------------

def test_the_inbox_lists_open_referrals_to_the_tribunal_longest_waiting_first(client, factory, clock):
    first = factory.appeal("escalated")["reference"]
    clock.shift(timedelta(days=1))
    acknowledged = factory.appeal("before_tribunal")["reference"]
    clock.shift(timedelta(days=1))
    latest = factory.appeal("escalated")["reference"]
    judged = factory.appeal("before_tribunal")["reference"]
    factory.act(judged, "tribunal", {"action": "deliver_judgment", "outcome": "dismissed", "reasons": "Correct."})
    remitted = factory.appeal("before_tribunal")["reference"]
    factory.act(remitted, "tribunal", {"action": "remit", "instructions": "Ask ZUS for the records."})
    mediating = factory.appeal("in_mediation")["reference"]
    clock.shift(timedelta(days=3))
    sign_in(factory, client, "tribunal", None)

    page = _inbox(client)

    assert _listed(page) == [first, acknowledged, latest]
    for absent in (judged, remitted, mediating):
        assert absent not in page
    assert "Cross-Border Social Security Tribunal" in page
    assert "5 days ago" in page and "3 days ago" in page
    assert "Ana Kowalska" in page and "handled in Germany" in page
    assert '<strong class="figure">2</strong> wait for acknowledgement' in page
    assert '<strong class="figure">1</strong> is before the tribunal' in page
    for reference in (first, acknowledged, latest):
        assert f'href="/appeals/{reference}"' in page
        assert f'href="/appeals/{reference}/bundle.json"' in page
        assert f'href="/appeals/{reference}/bundle.zip"' in page


def test_receipt_shows_its_deadline_and_turns_red_when_late(client, factory, clock):
    waiting = factory.appeal("escalated")["reference"]
    acknowledged = factory.appeal("before_tribunal")["reference"]
    sign_in(factory, client, "tribunal", None)

    page = _inbox(client)
    # 5 working days in Luxembourg from Monday 2 November 2026: Monday 9 November.
    assert "Not yet: due by November 9, 2026" in page
    assert "Acknowledged" in page and "Overdue" not in page

    clock.shift(timedelta(days=8))
    sign_in(factory, client, "tribunal", None)
    page = _inbox(client)
    assert re.search(rf'<tr class="overdue">\s*<th scope="row"[^>]*><a href="/appeals/{waiting}"', page)
    assert not re.search(rf'<tr class="overdue">\s*<th scope="row"[^>]*><a href="/appeals/{acknowledged}"', page)
    assert 'class="tag tag-red">Overdue' in page
    assert '<li class="alert"><strong class="figure">1</strong> is late for acknowledgement' in page


def test_a_hearing_shows_on_the_tribunals_clock(client, factory, clock):
    reference = factory.appeal("before_tribunal")["reference"]
    factory.act(reference, "tribunal", {"action": "schedule_hearing", "hearing_at": "2027-03-10T08:30:00Z",
                                        "mode": "video"})
    sign_in(factory, client, "tribunal", None)
    page = _inbox(client)
    assert "March 10, 2027, 9:30" in page and "by video" in page  # Luxembourg: UTC+1 in March


def test_another_tribunals_clerk_sees_none_of_them(app, client, factory, clock):
    references = [factory.appeal("escalated")["reference"], factory.appeal("before_tribunal")["reference"]]
    factory.tribunal("OTHER", "FR")
    other = app.test_client()
    sign_in(factory, other, "tribunal", None, tribunal="OTHER")

    page = _inbox(other)

    assert _listed(page) == []
    assert "No appeal is waiting for the tribunal." in page
    assert not any(reference in page for reference in references)
    assert other.get(f"/appeals/{references[0]}").status_code == 404


def test_the_inbox_pages_through_many_referrals(client, factory, clock, monkeypatch):
    from casework.web import tribunal as inbox_page

    monkeypatch.setattr(inbox_page, "PAGE_SIZE", 2)
    references = []
    for _ in range(3):
        references.append(factory.appeal("escalated")["reference"])
        clock.shift(timedelta(hours=1))
    sign_in(factory, client, "tribunal", None)

    first = _inbox(client)
    assert _listed(first) == references[:2]
    after = re.search(r'href="/referrals/\?after=([^"]+)"', first).group(1)
    second = client.get(f"/referrals/?after={after}").get_data(as_text=True)
    assert _listed(second) == references[2:]
    assert "First page" in second
    assert client.get("/referrals/?after=not-a-cursor").status_code == 200


# --- acting from the case page -------------------------------------------------------------------

def test_the_tribunal_acknowledges_schedules_and_judges_from_the_case_page(client, factory, clock):
    appeal = factory.appeal("escalated")
    reference, version = appeal["reference"], appeal["version"]
    sign_in(factory, client, "tribunal", None)
    assert forms_on(client, reference) == ["acknowledge_referral"]

    acknowledged = post_form(client, reference, "acknowledge_referral", version=version)
    assert acknowledged.status_code == 303
    assert "Done: Tribunal confirmed receipt of the referral." in client.get(acknowledged.headers["Location"]).get_data(as_text=True)
    assert sorted(forms_on(client, reference)) == ["deliver_judgment", "remit", "schedule_hearing"]

    # Entered as the browser sends datetime-local: no offset, the tribunal's (Luxembourg's) clock.
    scheduled = post_form(client, reference, "schedule_hearing", version=version + 1,
                          hearing_at="2027-03-10T09:30", mode="in_person")
    assert scheduled.status_code == 303
    assert factory.get(reference)["version"] == version + 2
    page = client.get(f"/appeals/{reference}").get_data(as_text=True)
    assert "Local time: Luxembourg Time." in page
    assert "March 10, 2027, 9:30" in page
    assert "in person" in _inbox(client)
    signed = json.loads(client.get(f"/appeals/{reference}/bundle.json").data)
    assert signed["bundle"]["appeal"]["hearing"] == {"hearing_at": "2027-03-10T08:30:00Z", "mode": "in_person"}

    judged = post_form(client, reference, "deliver_judgment", version=version + 2,
                       outcome="partially_allowed", reasons="The periods 1979-1985 count.")
    assert judged.status_code == 303
    after = factory.get(reference)
    assert (after["state"], after["outcome"]) == ("closed", "partially_allowed")
    assert reference not in _inbox(client)


def test_the_tribunal_sends_an_appeal_back_from_the_case_page(client, factory, clock):
    appeal = factory.appeal("before_tribunal")
    sign_in(factory, client, "tribunal", None)

    response = post_form(client, appeal["reference"], "remit", version=appeal["version"],
                         instructions="Ask ZUS for the contribution records.")

    assert response.status_code == 303
    assert factory.get(appeal["reference"])["state"] == "under_review"
    assert appeal["reference"] not in _inbox(client)


def test_a_judgment_without_reasons_names_the_missing_field(client, factory, clock):
    appeal = factory.appeal("before_tribunal")
    sign_in(factory, client, "tribunal", None)

    response = post_form(client, appeal["reference"], "deliver_judgment", version=appeal["version"],
                         outcome="allowed", reasons="")

    assert response.status_code == 422
    assert 'href="#field-deliver_judgment-reasons"' in response.get_data(as_text=True)


def test_a_stale_form_says_someone_acted_first(client, factory, clock):
    appeal = factory.appeal("before_tribunal")
    reference, seen = appeal["reference"], appeal["version"]
    sign_in(factory, client, "tribunal", None)
    # Two forms opened on the same version: the hearing is set first, then the stale judgment form.
    assert post_form(client, reference, "schedule_hearing", version=seen, hearing_at="2027-03-10T09:30",
                     mode="video").status_code == 303

    response = post_form(client, reference, "deliver_judgment", version=seen, outcome="dismissed",
                         reasons="The decision was right.")

    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Someone else changed this appeal while you were looking at it" in page
    assert factory.get(reference)["state"] == "before_tribunal"


# --- the case file -------------------------------------------------------------------------------

@pytest.fixture
def case_file(factory):
    """An escalated appeal with three documents on file."""
    appeal = factory.appeal("escalated")
    uploads = [factory.upload(appeal["reference"], content, name)
               for content, name in ((PDF, "decision.pdf"), (JPEG, "certificate.jpg"), (PDF, "letter.pdf"))]
    return {"reference": appeal["reference"], "uploads": uploads}


@pytest.mark.parametrize("role, country", [("tribunal", None), ("officer", "DE")])
def test_the_case_file_downloads_as_signed_json_that_verifies(app, client, factory, case_file, role, country):
    sign_in(factory, client, role, country)
    reference = case_file["reference"]

    response = client.get(f"/appeals/{reference}/bundle.json")

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{reference}-bundle.json"'
    assert "private" in response.headers["Cache-Control"]
    verified = bundle.verify(json.loads(response.data), _public_keys(app))
    assert verified.reference == reference
    assert verified.documents == 3


def test_the_case_file_zip_holds_the_bundle_and_every_document(app, client, factory, case_file):
    sign_in(factory, client, "tribunal", None)
    reference = case_file["reference"]

    response = client.get(f"/appeals/{reference}/bundle.zip")

    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert f'filename={reference}-bundle.zip' in response.headers["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        names = sorted(archive.namelist())
    expected = {"bundle.json"} | {f"documents/{upload['sha256']}" for upload in case_file["uploads"]}
    assert names == sorted(expected)
    verified = bundle.verify_zip(io.BytesIO(response.data), _public_keys(app))
    assert verified.documents_checked and verified.documents == 3


@pytest.mark.parametrize("role, country, tribunal", [
    ("officer", "PL", None),  # involved: sees the appeal, not the file
    ("officer", "FR", None),
    ("mediator", "DE", None),
    ("tribunal", None, "OTHER"),
    ("oversight", None, None),
])
def test_anyone_else_gets_the_same_404_as_for_an_unknown_appeal(client, factory, case_file, role, country, tribunal):
    if tribunal:
        factory.tribunal(tribunal, "FR")
    sign_in(factory, client, role, country, tribunal=tribunal)
    reference = case_file["reference"]
    for suffix in ("json", "zip"):
        assert client.get(f"/appeals/{reference}/bundle.{suffix}").status_code == 404
        assert client.get(f"/appeals/CW-2099-999999/bundle.{suffix}").status_code == 404


def test_the_case_page_offers_the_case_file_only_to_those_who_may_fetch_it(app, client, factory, case_file):
    reference = case_file["reference"]
    sign_in(factory, client, "tribunal", None)
    page = client.get(f"/appeals/{reference}").get_data(as_text=True)
    assert f'href="/appeals/{reference}/bundle.json"' in page and f'href="/appeals/{reference}/bundle.zip"' in page

    involved = app.test_client()
    sign_in(factory, involved, "officer", "PL")
    page = involved.get(f"/appeals/{reference}").get_data(as_text=True)
    assert "Signed case file" not in page and "/bundle." not in page


def test_the_case_file_needs_a_signed_in_session(client, case_file):
    for suffix in ("json", "zip"):
        response = client.get(f"/appeals/{case_file['reference']}/bundle.{suffix}")
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/sign-in?next=")


# --- who may open the inbox ----------------------------------------------------------------------

@pytest.mark.parametrize("role, country", [("officer", "DE"), ("mediator", "DE"), ("admin", None)])
def test_other_staff_are_refused_the_inbox(client, factory, role, country):
    sign_in(factory, client, role, country)
    response = client.get("/referrals/")
    assert response.status_code == 403
    assert "You may not do this" in response.get_data(as_text=True)


def test_someone_not_signed_in_is_sent_to_sign_in(client):
    response = client.get("/referrals/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in?next=")


def test_tribunal_staff_start_at_the_inbox_and_the_menu_leads_there(client, factory):
    sign_in(factory, client, "tribunal", None)
    assert client.get("/work").headers["Location"] == "/referrals/"
    page = _inbox(client)
    assert re.search(r'<a href="/referrals/" aria-current="page">Referrals</a>', page)
    assert 'href="/queue/"' not in page and 'href="/mediations/"' not in page


def test_officers_keep_their_queue(client, factory, clock):
    reference = factory.appeal("under_review")["reference"]
    sign_in(factory, client, "officer", "DE")
    assert client.get("/work").headers["Location"] == "/queue/"
    page = client.get("/queue/").get_data(as_text=True)
    assert reference in page
    assert re.search(r'<a href="/queue/" aria-current="page">Appeals</a>', page)
    assert 'href="/referrals/"' not in page


def test_the_inbox_in_arabic_is_right_to_left(client, factory, clock):
    factory.appeal("escalated")
    sign_in(factory, client, "tribunal", None)
    page = client.get("/referrals/?lang=ar").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in page
    assert TOKEN.search(page)  # the sign-out form still carries its token
