"""The mediators' list (/mediations): the mediations a mediator runs now and those of theirs that
ended lately, nearest end of mediation first, with counts; extending once, settling and a stale
form on the case page it links to; who may open it (other staff: 403; nobody signed in: the
sign-in page)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
import time_machine

from casework.access import new_staff
from casework.db import db, writing
from tests.factories import Factory

START = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)  # a Monday
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def sign_in(factory: Factory, client, role: str = "mediator", country: str | None = "DE", tribunal: str | None = None):
    """Sign ``client`` in through the sign-in page as the factory's staff user of that role."""
    return factory.sign_in(role, country, tribunal, client=client)


def post_form(client, reference: str, action: str, **fields):
    """Submit an action's form from the case page, with the page's CSRF token."""
    page = client.get(f"/appeals/{reference}").get_data(as_text=True)
    token = TOKEN.search(page).group(1)
    return client.post(f"/appeals/{reference}/actions/{action}", data={"csrf_token": token, **fields})


def forms_on(client, reference: str) -> list[str]:
    page = client.get(f"/appeals/{reference}").get_data(as_text=True)
    return re.findall(r'action="/appeals/CW-\d{4}-\d{6}/actions/(\w+)"', page)


def in_mediation_in(factory: Factory, country: str, **overrides) -> str:
    """An appeal decided by ``country``'s institution, taken to mediation by its officer (Germany is
    involved, so that the factory's German officer can read it)."""
    lodged = factory.lodge(lodged_at=None, contested_decision__institution_country=country,
                           contested_decision__institution_name=f"Institution {country}",
                           contested_decision__notified_on=None,
                           contested_decision__decision_date=(START - timedelta(days=3)).date().isoformat(),
                           involved_countries=["DE"], **overrides)
    for action in ({"action": "admit"}, {"action": "decide_review", "outcome": "refused", "reasons": "Not proven."},
                   {"action": "request_mediation"}):
        factory.act(lodged["reference"], "officer", action, country=country)
    return lodged["reference"]


def assign(factory: Factory, reference: str, email: str) -> None:
    factory.act(reference, "officer", {"action": "assign", "user": email})


def other_mediator(factory: Factory, country: str = "DE") -> str:
    with factory.app.app_context(), writing():
        email = f"second.mediator.{country.lower()}@example.org"
        new_staff(db.session, email, "mediator", None, country)
        db.session.commit()
    return email


def _rows(page: str, section: str) -> list[str]:
    """The references listed in one section of the page ("open-heading" or "ended-heading")."""
    start = page.index(f'id="{section}"')
    end = page.find("</section>", start)
    return re.findall(r'<th scope="row"[^>]*><a href="/appeals/(CW-\d{4}-\d{6})"', page[start:end])


# --- the list ------------------------------------------------------------------------------------

def test_a_mediator_sees_the_mediations_of_their_country_and_those_assigned_to_them(app, client, factory, clock):
    unassigned = factory.appeal("in_mediation")["reference"]
    mine = factory.appeal("in_mediation")["reference"]
    someone_elses = factory.appeal("in_mediation")["reference"]
    reviewing = factory.appeal("under_review")["reference"]
    escalated = factory.appeal("escalated")["reference"]
    french = in_mediation_in(factory, "FR")
    mediator = sign_in(factory, client)
    assign(factory, mine, mediator.email)
    assign(factory, someone_elses, other_mediator(factory))

    page = client.get("/mediations/").get_data(as_text=True)

    assert sorted(_rows(page, "open-heading")) == sorted([unassigned, mine])
    for absent in (someone_elses, reviewing, escalated, french):
        assert absent not in page
    assert "Ana Kowalska" in page and "Old-age pension" in page and "Germany, Poland" in page
    assert "No, can be extended once" in page
    assert '<strong class="figure">2</strong> appeals in mediation' in page


def test_a_mediator_of_another_country_sees_none_of_them(app, client, factory, clock):
    references = [factory.appeal("in_mediation")["reference"] for _ in range(2)]
    french = in_mediation_in(factory, "FR")
    other = app.test_client()
    sign_in(factory, other, country="FR")

    page = other.get("/mediations/").get_data(as_text=True)

    assert _rows(page, "open-heading") == [french]
    assert not any(reference in page for reference in references)
    assert other.get(f"/appeals/{references[0]}").status_code == 404


def test_nearest_end_of_mediation_first_with_days_left_and_overdue_in_red(client, factory, clock):
    first = factory.appeal("in_mediation")["reference"]
    clock.shift(timedelta(days=20))
    later = factory.appeal("in_mediation")["reference"]
    sign_in(factory, client)

    page = client.get("/mediations/").get_data(as_text=True)
    assert _rows(page, "open-heading") == [first, later]
    assert "days left" in page and "Overdue" not in page

    # 45 working days in Germany: the first ends on 6 January, the second on 26 January. On 20
    # January, the first is past (nothing has swept it yet) and the second ends within 7 days.
    clock.shift(timedelta(days=59))
    sign_in(factory, client)  # the session of two months ago has expired
    page = client.get("/mediations/").get_data(as_text=True)
    assert re.search(rf'<tr class="overdue">\s*<th scope="row"[^>]*><a href="/appeals/{first}"', page)
    assert 'class="tag tag-red">Overdue' in page
    assert '<li class="alert"><strong class="figure">1</strong> is overdue' in page
    assert '<strong class="figure">1</strong> ends within 7 days' in page


def test_mediations_assigned_to_the_mediator_that_ended_lately_are_listed_with_how_they_ended(client, factory, clock):
    settled, failed, old = (factory.appeal("in_mediation")["reference"] for _ in range(3))
    mediator = sign_in(factory, client)
    for reference in (settled, failed, old):
        assign(factory, reference, mediator.email)
    factory.act(old, "mediator", {"action": "settle", "terms": "Periods 1979-1990 counted."})
    clock.shift(timedelta(days=30))
    factory.act(settled, "mediator", {"action": "settle", "terms": "Pension recalculated."})
    factory.act(failed, "mediator", {"action": "end_mediation", "reason": "No agreement."})
    clock.shift(timedelta(days=61))
    sign_in(factory, client)

    page = client.get("/mediations/").get_data(as_text=True)

    assert _rows(page, "open-heading") == []
    assert "You have no appeal in mediation." in page
    assert sorted(_rows(page, "ended-heading")) == sorted([settled, failed])
    assert old not in page  # ended 91 days ago
    assert "Settled in mediation" in page and "Mediation ended without agreement" in page
    assert "Referred to the tribunal" in page  # where the failed one is now


def test_the_list_pages_through_many_mediations(app, client, factory, clock, monkeypatch):
    from casework.web import mediator as mediator_page

    monkeypatch.setattr(mediator_page, "PAGE_SIZE", 2)
    references = []
    for _ in range(3):
        references.append(factory.appeal("in_mediation")["reference"])
        clock.shift(timedelta(hours=1))
    sign_in(factory, client)

    first = client.get("/mediations/").get_data(as_text=True)
    assert _rows(first, "open-heading") == references[:2]
    after = re.search(r'href="/mediations/\?after=([^"]+)"', first).group(1)
    second = client.get(f"/mediations/?after={after}").get_data(as_text=True)
    assert _rows(second, "open-heading") == references[2:]
    assert "First page" in second
    assert '<strong class="figure">3</strong> appeals in mediation' in second
    assert client.get("/mediations/?after=not-a-cursor").status_code == 200


# --- acting from the case page -------------------------------------------------------------------

def test_a_mediator_extends_once_and_then_the_form_is_gone(client, factory, clock):
    appeal = factory.appeal("in_mediation")
    reference = appeal["reference"]
    sign_in(factory, client)
    assert sorted(forms_on(client, reference)) == ["end_mediation", "extend_mediation", "settle"]
    due_before = factory.get(reference)["deadlines"][-1]["due_on"]

    response = post_form(client, reference, "extend_mediation", version=appeal["version"],
                         reason="The Polish records are on their way.")

    assert response.status_code == 303
    assert "Done: Mediation extended." in client.get(response.headers["Location"]).get_data(as_text=True)
    assert sorted(forms_on(client, reference)) == ["end_mediation", "settle"]
    assert factory.get(reference)["deadlines"][-1]["due_on"] > due_before
    assert "Yes, already extended" in client.get("/mediations/").get_data(as_text=True)


def test_an_assigned_mediator_settles_from_the_case_page(client, factory, clock):
    appeal = factory.appeal("in_mediation")
    reference = appeal["reference"]
    mediator = sign_in(factory, client)
    assign(factory, reference, mediator.email)

    response = post_form(client, reference, "settle", version=appeal["version"] + 1,
                         terms="The periods 1979-1990 count; the pension is recalculated.")

    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Done: Settled in mediation." in page
    after = factory.get(reference)
    assert (after["state"], after["outcome"]) == ("closed", "settled")
    assert _rows(client.get("/mediations/").get_data(as_text=True), "ended-heading") == [reference]


def test_settling_without_terms_names_the_missing_field(client, factory, clock):
    appeal = factory.appeal("in_mediation")
    sign_in(factory, client)

    response = post_form(client, appeal["reference"], "settle", version=appeal["version"], terms="")

    assert response.status_code == 422
    assert 'href="#field-settle-terms"' in response.get_data(as_text=True)
    assert factory.get(appeal["reference"])["state"] == "in_mediation"


def test_a_stale_form_says_someone_acted_first(client, factory, clock):
    appeal = factory.appeal("in_mediation")
    reference, seen = appeal["reference"], appeal["version"]
    sign_in(factory, client)
    # Two forms opened on the same version: the first one sent wins, the second is told why not.
    assert post_form(client, reference, "extend_mediation", version=seen, reason="Records awaited.").status_code == 303

    response = post_form(client, reference, "end_mediation", version=seen, reason="No agreement.")

    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Someone else changed this appeal while you were looking at it" in page
    assert factory.get(reference)["state"] == "in_mediation"


# --- who may open it -----------------------------------------------------------------------------

@pytest.mark.parametrize("role, country", [("officer", "DE"), ("tribunal", None), ("oversight", None)])
def test_other_staff_are_refused_the_mediators_list(client, factory, role, country):
    sign_in(factory, client, role, country)
    response = client.get("/mediations/")
    assert response.status_code == 403
    assert "You may not do this" in response.get_data(as_text=True)


def test_someone_not_signed_in_is_sent_to_sign_in(client):
    response = client.get("/mediations/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in?next=")


def test_a_mediator_starts_at_their_list_and_the_menu_leads_there(client, factory):
    sign_in(factory, client)
    assert client.get("/work").headers["Location"] == "/mediations/"
    page = client.get("/mediations/").get_data(as_text=True)
    assert re.search(r'<a href="/mediations/" aria-current="page">My mediations</a>', page)
    assert 'href="/queue/"' not in page


def test_the_list_in_arabic_is_right_to_left(client, factory, clock):
    factory.appeal("in_mediation")
    sign_in(factory, client)
    page = client.get("/mediations/?lang=ar").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in page
