"""The officers' work queue page: their appeals only, nearest deadline first, filters, counts per
stage, and pages that follow one another without gaps or repeats."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
import time_machine

START = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def _references(page: str) -> list[str]:
    return re.findall(r'<th scope="row" class="nowrap"[^>]*><a href="/appeals/(CW-\d{4}-\d{6})"', page)


def test_the_queue_lists_the_officers_appeals_nearest_deadline_first(client, factory, clock):
    later = factory.appeal("under_review")  # review: 30 days
    clock.shift(timedelta(hours=1))
    sooner = factory.appeal("lodged")  # admissibility: 10 working days
    elsewhere = factory.lodge(contested_decision__institution_country="FR", involved_countries=["ES"])
    factory.sign_in("officer", "DE")
    page = client.get("/queue/").get_data(as_text=True)
    listed = _references(page)
    assert listed == [sooner["reference"], later["reference"]]
    assert elsewhere["reference"] not in page


def test_filters_and_counts_per_stage(client, factory, clock):
    factory.appeal("lodged")
    factory.appeal("under_review", contested_decision__benefit="invalidity")
    factory.appeal("under_review", claimant__residence_country="PT")
    factory.sign_in("officer", "DE")
    page = client.get("/queue/?state=under_review").get_data(as_text=True)
    assert len(_references(page)) == 2
    assert re.search(r'Under review <span class="count">2</span>', page)
    assert re.search(r'Lodged <span class="count">1</span>', page)
    assert len(_references(client.get("/queue/?benefit=invalidity").get_data(as_text=True))) == 1
    assert len(_references(client.get("/queue/?country=pt").get_data(as_text=True))) == 1
    # Nonsense filters are ignored, never an error page.
    assert len(_references(client.get("/queue/?state=nope&benefit=x&country=ZZZ&after=garbage").get_data(as_text=True))) == 3


def test_overdue_appeals_are_marked_and_filtered(client, factory, clock):
    overdue = factory.appeal("lodged")
    clock.shift(timedelta(days=20))  # the admissibility deadline (10 working days) has passed
    fresh = factory.appeal("lodged")
    factory.sign_in("officer", "DE")
    page = client.get("/queue/?overdue=yes").get_data(as_text=True)
    assert _references(page) == [overdue["reference"]]
    assert 'class="overdue"' in page and "Overdue" in page
    assert _references(client.get("/queue/?overdue=no").get_data(as_text=True)) == [fresh["reference"]]


def test_pages_follow_one_another(client, factory, clock, monkeypatch):
    monkeypatch.setattr("casework.web.officer.PAGE_SIZE", 2)
    made = []
    for _ in range(5):
        made.append(factory.appeal("lodged")["reference"])
        clock.shift(timedelta(minutes=5))
    factory.sign_in("officer", "DE")
    seen, url = [], "/queue/"
    while url:
        page = client.get(url).get_data(as_text=True)
        seen += _references(page)
        found = re.search(r'class="button secondary" href="(/queue/\?[^"]*after=[^"]+)"', page)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert seen == made


def test_the_queue_needs_a_signed_in_member_of_staff(client):
    response = client.get("/queue/")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
