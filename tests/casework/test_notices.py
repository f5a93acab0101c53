"""Notices in each recipient's language and on their clock, for every step of an appeal."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import time_machine
from babel.dates import format_date
from babel.support import Translations
from sqlmodel import select

from casework.countries import LANGUAGES
from casework.db import db
from casework.models import Appeal, Notice
from casework.translate import CATALOGUES

START = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
# From lodging to a tribunal judgment, through information, review, mediation and a hearing.
JOURNEY = [
    ("officer", {"action": "admit"}),
    ("officer", {"action": "request_information", "from": "claimant", "items": ["Certificate E205"]}),
    ("officer", {"action": "receive_information"}),
    ("officer", {"action": "decide_review", "outcome": "refused", "reasons": "Periods not proven."}),
    ("officer", {"action": "request_mediation"}),
    ("mediator", {"action": "end_mediation", "reason": "No agreement."}),
    ("tribunal", {"action": "acknowledge_referral"}),
    ("tribunal", {"action": "schedule_hearing", "hearing_at": "2027-03-10T09:30:00+01:00", "mode": "video"}),
    ("tribunal", {"action": "deliver_judgment", "outcome": "allowed", "reasons": "Art 6 applies."}),
]
ENGLISH_HEADINGS = ("What happened", "What it means", "What you can do", "Dates to know", "Where to get help")


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def _translate(language: str, text: str, context: str | None = None) -> str:
    translations = Translations.load(str(CATALOGUES), [language])
    return translations.pgettext(context, text) if context else translations.gettext(text)


def _notices(app, reference: str, **where) -> list[Notice]:
    with app.app_context():
        appeal = db.session.exec(select(Appeal).where(Appeal.reference == reference)).unique().one()
        query = select(Notice).where(Notice.appeal_id == appeal.id).order_by(Notice.id)
        for name, value in where.items():
            query = query.where(getattr(Notice, name) == value)
        return list(db.session.exec(query))


def test_a_polish_claimant_reads_polish_with_the_deadline_on_their_own_clock(app, factory, clock):
    """A claimant living in Portugal who prefers Polish: the German institution's deadline at
    midnight in Berlin is 23:00 the evening before in Lisbon, and the notice says so, in Polish."""
    appeal = factory.appeal("under_review", claimant__preferred_language="pl", claimant__residence_country="PT")
    decided = factory.act(appeal["reference"], "officer",
                          {"action": "decide_review", "outcome": "refused", "reasons": "Brak dowodu okresów."})
    event_seq = len(factory.client.get(f"/api/v1/appeals/{appeal['reference']}/events",
                                       headers=factory.staff("officer", "DE").headers).get_json()["items"])
    notices = _notices(app, appeal["reference"], event_seq=event_seq)
    claimant = next(n for n in notices if n.recipient_role == "claimant")
    institution = next(n for n in notices if n.recipient_role == "institution")

    response = next(d for d in decided["deadlines"] if d["kind"] == "claimant_response")
    local = datetime.fromisoformat(response["due_at"].replace("Z", "+00:00")).astimezone(ZoneInfo("Europe/Lisbon"))
    assert local.strftime("%H:%M") == "22:59"  # 23:59:59 in Berlin
    assert claimant.language == "pl"
    assert format_date(local.date(), "long", locale="pl") in claimant.body  # e.g. "2 grudnia 2026"
    assert "22:59" in claimant.body and "Lizbona" in claimant.body
    assert _translate("pl", "What happened") in claimant.body
    assert not any(heading in claimant.body for heading in ENGLISH_HEADINGS)
    assert appeal["reference"] in claimant.subject and "Your appeal" not in claimant.subject
    assert "Brak dowodu okresów." in claimant.body  # what the officer wrote, as written

    # The officers of the German institution read the same step in German, on Berlin's clock.
    assert institution.language == "de"
    berlin = local.astimezone(ZoneInfo("Europe/Berlin"))
    assert format_date(berlin.date(), "long", locale="de") in institution.body and "23:59" in institution.body
    assert _translate("de", "What happened") in institution.body


def test_an_installation_can_choose_an_institutions_language(make_app, clock):
    from tests.factories import Factory

    app = make_app(INSTITUTION_LANGUAGES={"DE": "fr"})
    reference = Factory(app, app.test_client()).lodge()["reference"]
    institution = next(n for n in _notices(app, reference) if n.recipient_role == "institution")
    assert institution.language == "fr" and _translate("fr", "What happened") in institution.body


@pytest.mark.parametrize("language", [language for language in LANGUAGES if language != "en"])
def test_every_notice_of_a_whole_journey_is_in_the_claimants_language(app, factory, clock, language):
    reference = factory.lodge(claimant__preferred_language=language, lodged_at=None)["reference"]
    for role, action in JOURNEY:
        clock.shift(timedelta(days=2))
        factory.act(reference, role, action)
    received = _notices(app, reference, recipient_role="claimant")
    assert len(received) == len(JOURNEY) + 1
    for notice in received:
        assert notice.language == language
        assert not any(heading in notice.body for heading in ENGLISH_HEADINGS), notice.body
        assert _translate(language, "Where to get help") in notice.body
    final = received[-1].body
    assert _translate(language, "The tribunal has given its judgment on your appeal.", "happened") in final
    assert "Art 6 applies." in final


def test_an_api_error_speaks_the_callers_language(client, factory):
    headers = {**factory.staff("officer", "DE").headers, "Accept-Language": "pl-PL,pl;q=0.9,en;q=0.5"}
    response = client.get("/api/v1/appeals/CW-2026-999999", headers=headers)
    assert response.status_code == 404
    assert response.get_json()["error"]["message"] == _translate("pl", "No such appeal.") != "No such appeal."
    invalid = client.post("/api/v1/appeals", json={"grounds": ""}, headers=headers).get_json()["error"]
    assert {"field": "grounds", "message": _translate("pl", "must not be empty")} in invalid["details"]
