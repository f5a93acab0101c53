"""The published figures (DESIGN §5, API.md "Metrics"), checked exactly against a fixed set of
appeals whose figures are worked out by hand below, on SQLite and (when configured) PostgreSQL.

Every appeal is made through the API (and a timer through the deadline sweep's own ``fire``),
with the clock moved by time-machine, so the events and deadline rows are the ones the
operations write. The period is the year 2025; the reports are asked for on 1 June 2026.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import pytest
import time_machine
from sqlalchemy import text
from sqlmodel import select

from casework import create_app, metrics
from casework.db import db
from casework.deadlines.sweep import fire
from casework.models import Appeal, Deadline
from tests.conftest import DATABASES, PG_URL, _reset_postgres
from tests.factories import Factory

UTC = timezone.utc
DAY = 86400


def t(year, month, day, hour=9, minute=0, second=0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def days(n: float) -> int:
    return round(n * DAY)


YEAR = metrics.Scope(date(2025, 1, 1), date(2025, 12, 31))
NOW = t(2026, 6, 1)
INSTITUTIONS = {"DE": "Deutsche Rentenversicherung", "FR": "Caisse nationale d'assurance vieillesse"}


class Timeline:
    """Appeals made step by step at given moments, as the people (and the sweep) would make them."""

    def __init__(self, app, factory: Factory, clock):
        self.app, self.factory, self.clock = app, factory, clock
        self.country: dict[str, str] = {}

    def lodge(self, at: datetime, benefit: str = "old_age_pension", residence: str = "ES", country: str = "DE") -> str:
        self.clock.move_to(at)
        lodged = self.factory.lodge(
            # Germany is involved in every appeal, so the factory's German officer sees them all.
            lodged_at=None, involved_countries=["PL"] if country == "DE" else ["DE"],
            claimant__residence_country=residence, contested_decision__benefit=benefit,
            contested_decision__institution_country=country, contested_decision__institution_name=INSTITUTIONS[country],
            contested_decision__decision_date=(at - timedelta(days=3)).date().isoformat(),
            contested_decision__notified_on=None,
        )
        self.country[lodged["reference"]] = country
        return lodged["reference"]

    def act(self, reference: str, at: datetime, action: str, role: str = "officer", **fields) -> None:
        self.clock.move_to(at)
        self.factory.act(reference, role, {"action": action, **fields}, country=self.country[reference])

    def timeout(self, reference: str, kind: str, at: datetime) -> None:
        """The sweep fires the appeal's running ``kind`` deadline at ``at`` (after it fell due)."""
        self.clock.move_to(at)
        with self.app.app_context():
            row = db.session.exec(
                select(Deadline.id).join(Appeal, Appeal.id == Deadline.appeal_id)
                .where(Appeal.reference == reference, Deadline.kind == kind, Deadline.status == "pending")
            ).one()
            assert fire(row)


REFUSED = {"outcome": "refused", "reasons": "The periods are not proven."}
GRANTED = {"outcome": "granted", "reasons": "The periods are proven."}


def build(tl: Timeline) -> dict[str, str]:
    """The fixed set. Durations in the comments are what the figures below are worked out from."""
    r = {}
    # A: declared inadmissible, 10 days after lodging.
    r["A"] = tl.lodge(t(2025, 3, 3))
    tl.act(r["A"], t(2025, 3, 13), "declare_inadmissible", reason="Not a decision of an institution.")
    # B (invalidity): granted on review. Clearance 21 d; review 20 d, within 30 days.
    r["B"] = tl.lodge(t(2025, 1, 6), benefit="invalidity")
    tl.act(r["B"], t(2025, 1, 7), "admit")
    tl.act(r["B"], t(2025, 1, 27), "decide_review", **GRANTED)
    # C (invalidity): no review decision in time; the sweep fires the deemed refusal after the
    # deadline (5 March, 23:59:59 in Berlin); the claimant accepts. Review 30 d 21 h, missed;
    # clearance 36.5 d.
    r["C"] = tl.lodge(t(2025, 2, 3), benefit="invalidity")
    tl.act(r["C"], t(2025, 2, 3, 12), "admit")
    tl.timeout(r["C"], "review", t(2025, 3, 6))
    tl.act(r["C"], t(2025, 3, 11, 21), "accept_decision")
    # D: withdrawn while the review waits for information: the review is left out. Clearance 50 d.
    r["D"] = tl.lodge(t(2025, 4, 1))
    tl.act(r["D"], t(2025, 4, 2), "admit")
    tl.act(r["D"], t(2025, 4, 10), "request_information", **{"from": "claimant", "items": ["Certificates"]})
    tl.act(r["D"], t(2025, 5, 21), "withdraw")
    # E (invalidity): partly granted (review 20 d), mediation settled after 52.25 d, within its
    # 45 working days. Clearance 80.25 d.
    r["E"] = tl.lodge(t(2025, 5, 5), benefit="invalidity")
    tl.act(r["E"], t(2025, 5, 6), "admit")
    tl.act(r["E"], t(2025, 5, 26), "decide_review", outcome="partially_granted", reasons="Part of the periods.")
    tl.act(r["E"], t(2025, 6, 2), "request_mediation")
    tl.act(r["E"], t(2025, 7, 24, 15), "settle", terms="The periods from 1990 count.")
    # F (invalidity): refused (review 20 d), the tribunal allows after 90 d. Clearance 120 d.
    r["F"] = tl.lodge(t(2025, 1, 13), benefit="invalidity")
    tl.act(r["F"], t(2025, 1, 14), "admit")
    tl.act(r["F"], t(2025, 2, 3), "decide_review", **REFUSED)
    tl.act(r["F"], t(2025, 2, 10), "request_tribunal")
    tl.act(r["F"], t(2025, 2, 12), "acknowledge_referral", role="tribunal")
    tl.act(r["F"], t(2025, 5, 13), "deliver_judgment", role="tribunal", outcome="allowed", reasons="Aggregation.")
    # G (invalidity), lodged in 2024: the tribunal dismisses after 198 d, past its 6 months.
    # Clearance 228 d.
    r["G"] = tl.lodge(t(2024, 11, 4), benefit="invalidity")
    tl.act(r["G"], t(2024, 11, 5), "admit")
    tl.act(r["G"], t(2024, 11, 25), "decide_review", **REFUSED)
    tl.act(r["G"], t(2024, 12, 2), "request_tribunal")
    tl.act(r["G"], t(2024, 12, 4), "acknowledge_referral", role="tribunal")
    tl.act(r["G"], t(2025, 6, 20), "deliver_judgment", role="tribunal", outcome="dismissed", reasons="Correct.")
    # H: closed at 23:59:59 on the last day of the period (it counts). Clearance 30 d; review
    # 29 d 14:59:59, within (due 2 January 2026: 1 January is a holiday).
    r["H"] = tl.lodge(t(2025, 12, 1, 23, 59, 59))
    tl.act(r["H"], t(2025, 12, 2), "admit")
    tl.act(r["H"], t(2025, 12, 31, 23, 59, 59), "decide_review", **GRANTED)
    # I: closed at midnight after the period (it does not count, and is open at its end, 42 d old).
    r["I"] = tl.lodge(t(2025, 11, 20, 0, 0, 0))
    tl.act(r["I"], t(2025, 11, 21), "admit")
    tl.act(r["I"], t(2026, 1, 1, 0, 0, 0), "decide_review", **GRANTED)
    # J and K: waiting for admission, lodged a second apart: 30 and 31 whole days old at the end.
    r["J"] = tl.lodge(t(2025, 12, 1, 0, 0, 1))
    r["K"] = tl.lodge(t(2025, 12, 1, 0, 0, 0))
    # L, lodged in 2024: before the tribunal for 226 d until it remits (2025); reviewed again in
    # 24 d; mediation fails after 91 d, past its deadline; before the tribunal again at the end.
    r["L"] = tl.lodge(t(2024, 6, 3))
    tl.act(r["L"], t(2024, 6, 4), "admit")
    tl.act(r["L"], t(2024, 6, 24), "decide_review", **REFUSED)
    tl.act(r["L"], t(2024, 7, 1), "request_tribunal")
    tl.act(r["L"], t(2024, 7, 3), "acknowledge_referral", role="tribunal")
    tl.act(r["L"], t(2025, 2, 14), "remit", role="tribunal", instructions="Examine the Polish periods.")
    tl.act(r["L"], t(2025, 3, 10), "decide_review", **REFUSED)
    tl.act(r["L"], t(2025, 3, 17), "request_mediation")
    tl.act(r["L"], t(2025, 6, 16), "end_mediation", reason="No agreement.")
    tl.act(r["L"], t(2025, 6, 18), "acknowledge_referral", role="tribunal")
    # M: the review waits for information at the end (303 d old).
    r["M"] = tl.lodge(t(2025, 3, 3))
    tl.act(r["M"], t(2025, 3, 4), "admit")
    tl.act(r["M"], t(2025, 3, 20), "request_information", **{"from": "institution", "items": ["Insurance record"]})
    # O: refused (review 20 d), withdrawn during mediation: the mediation is left out. Clearance 70 d.
    r["O"] = tl.lodge(t(2025, 6, 2))
    tl.act(r["O"], t(2025, 6, 3), "admit")
    tl.act(r["O"], t(2025, 6, 23), "decide_review", **REFUSED)
    tl.act(r["O"], t(2025, 6, 30), "request_mediation")
    tl.act(r["O"], t(2025, 8, 11), "withdraw")
    # P: refused (review 20 d), remitted after 30 d before the tribunal, granted on the second
    # review after 11.5 d. Two reviews in the period. Clearance 71.5 d.
    r["P"] = tl.lodge(t(2025, 2, 10))
    tl.act(r["P"], t(2025, 2, 11), "admit")
    tl.act(r["P"], t(2025, 3, 3), "decide_review", **REFUSED)
    tl.act(r["P"], t(2025, 3, 10), "request_tribunal")
    tl.act(r["P"], t(2025, 3, 12), "acknowledge_referral", role="tribunal")
    tl.act(r["P"], t(2025, 4, 11), "remit", role="tribunal", instructions="Count the periods.")
    tl.act(r["P"], t(2025, 4, 22, 21), "decide_review", **GRANTED)
    # Q: handled in France, claimant in Portugal: refused 44 d 23 h after admission (late), accepted.
    # Clearance 55 d.
    r["Q"] = tl.lodge(t(2025, 7, 1), residence="PT", country="FR")
    tl.act(r["Q"], t(2025, 7, 1, 10), "admit")
    tl.act(r["Q"], t(2025, 8, 15), "decide_review", **REFUSED)
    tl.act(r["Q"], t(2025, 8, 25), "accept_decision")
    # R: claimant in Portugal, withdrawn 2.5 d after lodging.
    r["R"] = tl.lodge(t(2025, 9, 1), residence="PT")
    tl.act(r["R"], t(2025, 9, 3, 21), "withdraw")
    # Ten waiting for admission: five lodged on 15 April (260 d old at the end), five on 15 October (77 d).
    for i in range(5):
        r[f"april{i}"] = tl.lodge(t(2025, 4, 15))
        r[f"october{i}"] = tl.lodge(t(2025, 10, 15))
    return r


@dataclass
class World:
    app: object
    client: object
    factory: Factory
    refs: dict[str, str]

    def tally(self, scope=YEAR, dimension=None):
        with self.app.app_context():
            return metrics.tally(db.session, scope, NOW, dimension)

    def get(self, url: str, **params):
        with time_machine.travel(NOW, tick=False):
            response = self.client.get(url, query_string=params)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response


@pytest.fixture(scope="module", params=DATABASES)
def world(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp("metrics")
    if request.param == "postgresql":
        _reset_postgres(PG_URL)
        url = PG_URL
    else:
        url = f"sqlite:///{folder / 'casework.db'}"
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret-key", "DATABASE_URL": url,
                      "INSTANCE_PATH": str(folder / "instance"), "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    factory = Factory(app, client)
    with time_machine.travel(t(2024, 6, 1), tick=False) as clock:
        refs = build(Timeline(app, factory, clock))
    yield World(app, client, factory, refs)
    app.extensions["casework.db"].dispose()


# Clearance times (lodging → closing) of the twelve appeals closed in 2025, sorted:
# R 2.5, A 10, B 21, H 30, C 36.5, D 50, Q 55, O 70, P 71.5, E 80.25, F 120, G 228 days.
CLEARANCE = [2.5, 10, 21, 30, 36.5, 50, 55, 70, 71.5, 80.25, 120, 228]


# --- the raw figures ---------------------------------------------------------------------------

def test_filed_closed_and_open_at_the_end_of_the_period(world):
    tally = world.tally()[None]
    # Lodged in 2025: A B C D E F H I J K M O P Q R and the ten waiting (G and L in 2024).
    assert tally.filed == 25
    assert tally.closed == 12  # not I, closed at midnight after the period
    # Open at 2026-01-01 00:00: I (closed at that very moment), J, K, L, M and the ten waiting.
    assert tally.open == 15
    assert tally.backlog == {"0-30": 1,  # J: 30 days 23:59:59
                             "31-90": 7,  # K exactly 31 days, I 42 days, the five of October 77 days
                             "91-180": 0,
                             "181-365": 6,  # M 303 days, the five of April 260 days
                             ">365": 1}  # L 576 days


def test_clearance_median_and_p90_interpolate_like_percentile_cont(world):
    tally = world.tally()[None]
    assert tally.clearance_sum_s == days(sum(CLEARANCE)) == days(774.75)
    # Twelve values (even): the median is halfway between the 6th and 7th, D 50 and Q 55.
    assert tally.clearance_median_s == days(52.5)
    # p90: position 0.9 × 11 = 9.9, between E 80.25 (9th from 0) and F 120: 80.25 + 0.9 × 39.75.
    assert tally.clearance_p90_s == pytest.approx(days(116.025), abs=1e-6)
    report = world.get("/api/v1/metrics", **{"from": "2025-01-01", "to": "2025-12-31"}).get_json()
    assert report["clearance_days"] == {"median": 52.5, "p90": 116.0, "mean": 64.6}  # 774.75 / 12 = 64.5625

    # Five invalidity appeals closed (odd): B 21, C 36.5, E 80.25, F 120, G 228.
    invalidity = world.tally(metrics.Scope(date(2025, 1, 1), date(2025, 12, 31), benefit="invalidity"))[None]
    assert invalidity.clearance_median_s == days(80.25)
    assert invalidity.clearance_p90_s == pytest.approx(days(120 + 0.6 * 108), abs=1e-6)  # position 3.6
    body = world.get("/api/v1/metrics", **{"from": "2025-01-01", "to": "2025-12-31", "benefit": "invalidity"}).get_json()
    # Rounded half up: 80.25 → 80.3; 485.75 / 5 = 97.15 → 97.2.
    assert body["clearance_days"] == {"median": 80.3, "p90": 184.8, "mean": 97.2}


def test_period_boundaries_are_utc_days_to_the_second(world):
    refs = world.refs
    with world.app.app_context():
        closed = dict(db.session.exec(select(Appeal.reference, Appeal.closed_at)
                                      .where(Appeal.reference.in_([refs["H"], refs["I"]]))).all())
    assert closed[refs["H"]] == t(2025, 12, 31, 23, 59, 59) and closed[refs["I"]] == t(2026, 1, 1, 0, 0, 0)
    new_year = world.tally(metrics.Scope(date(2026, 1, 1), date(2026, 1, 1)))[None]
    assert (new_year.filed, new_year.closed, new_year.outcomes["granted"]) == (0, 1, 1)  # I
    assert new_year.clearance_median_s == days(42)
    assert new_year.stages["review"].cases == 1  # I's review ended then
    assert new_year.open == 14  # L, M, J, K and the ten waiting
    last_day = world.tally(metrics.Scope(date(2025, 12, 31), date(2025, 12, 31)))[None]
    assert (last_day.closed, last_day.outcomes["granted"], last_day.clearance_median_s) == (1, 1, days(30))  # H
    first_day = world.tally(metrics.Scope(date(2025, 12, 1), date(2025, 12, 1)))[None]
    assert first_day.filed == 3  # K at 00:00:00, J at 00:00:01, H at 23:59:59


def test_open_appeals_are_counted_as_they_stood_at_the_end_of_the_period(world):
    # At midnight after 30 June 2025: E (closed in July), O (August), L, M and the five of April
    # were open; D, F, G had closed; Q was lodged on 1 July.
    june = world.tally(metrics.Scope(date(2025, 6, 1), date(2025, 6, 30)))[None]
    assert june.open == 9
    # O 28 days old; E 56 and the five of April 76; M 119; L 392.
    assert june.backlog == {"0-30": 1, "31-90": 6, "91-180": 1, "181-365": 0, ">365": 1}
    # A period still running counts the open appeals now: Q, lodged at 09:00 on 1 July, is open at 09:30.
    with world.app.app_context():
        running = metrics.tally(db.session, metrics.Scope(date(2025, 1, 1), date(2026, 12, 31)), t(2025, 7, 1, 9, 30))
    assert running[None].open == 10


def test_stages_run_from_the_event_that_starts_them_to_the_one_that_ends_them(world):
    stages = world.tally()[None].stages
    review = stages["review"]
    # B E F O P(1st) 20 d, P(2nd) 11.5 d, L(2nd) 24 d, H 29 d 14:59:59, C 30 d 21 h (deemed refusal),
    # Q 44 d 23 h. Not D (withdrawn during it), M (not ended), G and L's first (2024), I (2026).
    assert review.cases == 10
    assert (review.within, review.with_deadline) == (8, 10)  # C and Q missed theirs
    assert review.median_s == days(20)
    # p90: position 8.1, between C and Q.
    c, q = days(30) + 21 * 3600, days(44) + 23 * 3600
    assert review.p90_s == pytest.approx(c + 0.1 * (q - c), abs=1e-3)
    assert review.escalated == 5  # E, O, L (to mediation), F, P (to the tribunal)

    mediation = stages["mediation"]
    # E settled after 52.25 d (within), L ended without agreement after 91 d (missed); O withdrawn.
    assert (mediation.cases, mediation.within, mediation.with_deadline) == (2, 1, 2)
    assert mediation.median_s == days((52.25 + 91) / 2)
    assert mediation.p90_s == pytest.approx(days(52.25 + 0.9 * 38.75), abs=1e-6)

    tribunal = stages["tribunal"]
    # P remitted after 30 d and F allowed after 90 d (within 6 months); G judged after 198 d and L
    # remitted after 226 d (past them).
    assert (tribunal.cases, tribunal.within, tribunal.with_deadline) == (4, 2, 4)
    assert tribunal.median_s == days((90 + 198) / 2)
    assert tribunal.p90_s == pytest.approx(days(198 + 0.7 * 28), abs=1e-6)


def test_outcomes_changed_in_favour_and_escalation(world):
    tally = world.tally()[None]
    assert tally.outcomes == {"inadmissible": 1, "granted": 3, "partially_granted": 0, "refused": 2, "settled": 1,
                              "allowed": 1, "partially_allowed": 0, "dismissed": 1, "withdrawn": 3}
    # Favourable B H P (granted), E (settled), F (allowed) of 12 − 3 withdrawn − 1 inadmissible.
    assert (tally.favourable, tally.decided) == (5, 8)
    assert tally.clearance_bands == {**dict.fromkeys((b[0] for b in metrics.CLEARANCE_BANDS), 0),
                                     "0-30": 4, "31-60": 3, "61-90": 3, "91-120": 1, "211-240": 1}


def test_filters_by_benefit_and_by_country(world):
    invalidity = world.tally(metrics.Scope(date(2025, 1, 1), date(2025, 12, 31), benefit="invalidity"))[None]
    assert (invalidity.filed, invalidity.closed, invalidity.open) == (4, 5, 0)  # G was lodged in 2024
    assert (invalidity.stages["review"].cases, invalidity.stages["tribunal"].cases) == (4, 2)
    france = world.tally(metrics.Scope(date(2025, 1, 1), date(2025, 12, 31), handling_country="FR"))[None]
    assert (france.filed, france.closed, france.outcomes["refused"], france.clearance_median_s) == (1, 1, 1, days(55))
    assert (france.stages["review"].cases, france.stages["review"].within) == (1, 0)
    portugal = world.tally(metrics.Scope(date(2025, 1, 1), date(2025, 12, 31), residence_country="PT"))[None]
    assert (portugal.filed, portugal.closed, portugal.clearance_median_s) == (2, 2, days((55 + 2.5) / 2))
    nobody = world.tally(metrics.Scope(date(2025, 1, 1), date(2025, 12, 31), handling_country="IT"))[None]
    assert (nobody.filed, nobody.closed, nobody.open, nobody.clearance_median_s) == (0, 0, 0, None)


# --- what is published --------------------------------------------------------------------------

def _withheld_stage() -> dict:
    return {"cases": None, "median_days": None, "p90_days": None, "within_deadline_pct": None, "rating": None}


def test_the_published_report_withholds_small_cells_and_what_would_reveal_them(world):
    body = world.get("/api/v1/metrics", **{"from": "2025-01-01", "to": "2025-12-31"}).get_json()
    targets = metrics.targets()
    assert body == {
        "period": {"from": "2025-01-01", "to": "2025-12-31"},
        "filters": {"benefit": None, "handling_country": None, "residence_country": None},
        "as_of": "2026-01-01T00:00:00Z",
        "filed": 25, "closed": 12, "open": 15,
        # J (1) and L (1) are withheld; both are ones, so a total of 2 would give them away: the
        # smallest other count (6) goes too.
        "backlog_by_age": {"0-30": None, "31-90": 7, "91-180": 0, "181-365": None, ">365": None},
        "clearance_days": {"median": 52.5, "p90": 116.0, "mean": 64.6},
        "clearance_distribution": {**dict.fromkeys((b[0] for b in metrics.CLEARANCE_BANDS), 0),
                                   "0-30": None, "31-60": None, "61-90": None, "91-120": None, "211-240": None},
        "stages": {
            "review": {"cases": 10, "median_days": 20.0, "p90_days": 32.3, "within_deadline_pct": 80.0,
                       "rating": "green", "target": targets["review"]},
            "mediation": {**_withheld_stage(), "target": targets["mediation"]},
            "tribunal": {**_withheld_stage(), "target": targets["tribunal"]},
        },
        "outcomes": {"inadmissible": None, "granted": None, "partially_granted": 0, "refused": None,
                     "settled": None, "allowed": None, "partially_allowed": 0, "dismissed": None, "withdrawn": None},
        "changed_in_favour_pct": 62.5,  # 5 of 8: each part keeps two or more withheld cells
        "escalation_pct": 50.0,
        "rating_thresholds": {"green": 75.0, "amber": 55.0},
        "suppressed": [
            "backlog_by_age.0-30", "backlog_by_age.181-365", "backlog_by_age.>365",
            "clearance_distribution.0-30", "clearance_distribution.31-60", "clearance_distribution.61-90",
            "clearance_distribution.91-120", "clearance_distribution.211-240",
            *(f"stages.{stage}.{name}" for stage in ("mediation", "tribunal")
              for name in ("cases", "median_days", "p90_days", "within_deadline_pct", "rating")),
            "outcomes.inadmissible", "outcomes.granted", "outcomes.refused", "outcomes.settled", "outcomes.allowed",
            "outcomes.dismissed", "outcomes.withdrawn",
        ],
    }
    assert targets["review"] == {"amount": 30, "unit": "days"}
    assert targets["tribunal"] == {"amount": 6, "unit": "months"}


def test_a_total_that_would_reveal_its_cells_is_withheld_too(world):
    body = world.get("/api/v1/metrics", **{"from": "2025-01-01", "to": "2025-12-31", "benefit": "invalidity"}).get_json()
    # Five appeals closed, one of each of five outcomes: with the total, each would be known to
    # be 1. No other outcome is above 0, so the total goes, and with it the favourable share
    # (3 of 5 would give away the three ones behind it). The statistics rest on 5: published.
    assert body["filed"] is None and body["closed"] is None and body["open"] == 0
    assert body["outcomes"] == {"inadmissible": 0, "granted": None, "partially_granted": 0, "refused": None,
                                "settled": None, "allowed": None, "partially_allowed": 0, "dismissed": None,
                                "withdrawn": 0}
    assert body["changed_in_favour_pct"] is None and "changed_in_favour_pct" in body["suppressed"]
    assert body["clearance_days"] == {"median": 80.3, "p90": 184.8, "mean": 97.2}
    assert body["escalation_pct"] is None  # four review decisions
    assert body["suppressed"][:2] == ["filed", "closed"]


def test_breakdowns_protect_each_column_against_its_total(world):
    body = world.get("/api/v1/metrics/breakdown", by="benefit", **{"from": "2025-01-01", "to": "2025-12-31"}).get_json()
    rows = {row["benefit"]: row for row in body["rows"]}
    assert list(rows) == list(metrics.BENEFITS)
    # Filed: invalidity 4 is withheld; with the total 25 the only other count (21) would give it
    # away, so it is withheld as well.
    assert (rows["invalidity"]["filed"], rows["old_age_pension"]["filed"], body["total"]["filed"]) == (None, None, 25)
    assert rows["sickness"]["filed"] == 0
    # Closed: invalidity (5) goes as in its own report; then old-age (7) with it.
    assert (rows["invalidity"]["closed"], rows["old_age_pension"]["closed"], body["total"]["closed"]) == (None, None, 12)
    assert rows["old_age_pension"]["open"] == 15 and rows["invalidity"]["open"] == 0
    # Reviews: invalidity 4 (B C E F), old-age 6 (H L P P Q O) withheld with it; the total stands.
    assert rows["invalidity"]["stages"]["review"]["cases"] is None
    assert rows["old_age_pension"]["stages"]["review"]["cases"] is None
    assert body["total"]["stages"]["review"]["cases"] == 10
    assert {"filed", "closed", "stages.review.cases"} <= set(rows["old_age_pension"]["suppressed"])
    assert rows["invalidity"]["clearance_days"]["median"] == 80.3

    months = world.get("/api/v1/metrics/breakdown", by="month", **{"from": "2025-01-01", "to": "2025-12-31"}).get_json()
    assert [row["month"] for row in months["rows"]] == [f"2025-{m:02d}" for m in range(1, 13)]
    filed = [row["filed"] for row in months["rows"]]
    # Lodged per month: 2 2 2 6 1 1 1 0 1 5 1 3; every count from 1 to 4 withheld.
    assert filed == [None, None, None, 6, None, None, None, 0, None, 5, None, None]
    assert "open" not in months["rows"][0]
    pairs = world.get("/api/v1/metrics/breakdown", by="country_pair", **{"from": "2025-01-01", "to": "2025-12-31"}).get_json()
    assert [(row["handling_country"], row["residence_country"]) for row in pairs["rows"]] == [
        ("DE", "ES"), ("DE", "PT"), ("FR", "PT")]


def test_an_independent_count_gives_the_same_figures(world):
    """The figures again, another way: each appeal's history through the staff API, counted in
    Python, and plain SQL over the tables."""
    start, end = YEAR.start_at, YEAR.end_at
    closed, outcomes, review_days, within = [], {}, [], []
    for reference in world.refs.values():
        country = "FR" if reference == world.refs["Q"] else "DE"
        appeal = world.factory.get(reference, country=country)
        headers = world.factory.staff("officer", country).headers
        events = world.client.get(f"/api/v1/appeals/{reference}/events", headers=headers).get_json()["items"]
        moments = [datetime.fromisoformat(e["occurred_at"].replace("Z", "+00:00")) for e in events]
        if appeal["state"] == "closed" and start <= moments[-1] < end:
            closed.append((moments[-1] - moments[0]).total_seconds())
            outcomes[appeal["outcome"]] = outcomes.get(appeal["outcome"], 0) + 1
        reviews = iter(d for d in appeal["deadlines"] if d["kind"] == "review")
        began = None
        for event, moment in zip(events, moments, strict=True):
            if event["action"] in ("admit", "remit"):
                began, deadline = moment, next(reviews)
            elif event["action"] in ("decide_review", "review_timeout"):
                if start <= moment < end:
                    review_days.append((moment - began).total_seconds())
                    within.append(moment <= datetime.fromisoformat(deadline["due_at"].replace("Z", "+00:00")))
    tally = world.tally()[None]
    assert len(closed) == tally.closed and sum(closed) == tally.clearance_sum_s
    assert statistics.median(closed) == tally.clearance_median_s
    assert statistics.quantiles(closed, n=10, method="inclusive")[-1] == pytest.approx(tally.clearance_p90_s)
    assert {k: v for k, v in tally.outcomes.items() if v} == outcomes
    assert len(review_days) == tally.stages["review"].cases and sum(within) == tally.stages["review"].within
    assert statistics.median(review_days) == tally.stages["review"].median_s
    with world.app.app_context():
        one = lambda sql: db.session.execute(text(sql), {"s": start.replace(tzinfo=None), "e": end.replace(tzinfo=None)}).scalar()  # noqa: E731
        assert one("SELECT count(*) FROM appeal WHERE lodged_at >= :s AND lodged_at < :e") == tally.filed
        assert one("SELECT count(*) FROM appeal WHERE lodged_at < :e AND (closed_at IS NULL OR closed_at >= :e)") == tally.open
        assert one("SELECT count(*) FROM event WHERE action IN ('settle', 'end_mediation', 'mediation_timeout') "
                   "AND occurred_at >= :s AND occurred_at < :e") == tally.stages["mediation"].cases


# --- the rules themselves -----------------------------------------------------------------------

def _counts(**cells) -> dict:
    return {name: metrics._Figure("count", value) for name, value in cells.items()}


def test_one_withheld_cell_takes_the_next_smallest_with_it():
    figures = _counts(total=20, a=3, b=10, c=7, d=0)
    assert metrics.withhold(figures, [("total", ["a", "b", "c", "d"])]) == {"a", "c"}


def test_withheld_ones_alone_would_be_known_so_another_cell_goes():
    figures = _counts(total=13, a=1, b=1, c=5, d=6)
    assert metrics.withhold(figures, [("total", ["a", "b", "c", "d"])]) == {"a", "b", "c"}
    figures = _counts(total=9, a=1, b=8)  # nothing can hide the 1 but the total
    assert metrics.withhold(figures, [("total", ["a", "b"])]) == {"a", "b"}
    figures = _counts(total=7, a=2, b=5)
    assert metrics.withhold(figures, [("total", ["a", "b"])]) == {"a", "b"}


def test_a_statistic_over_fewer_than_five_cases_is_withheld_and_its_rating_with_it():
    figures = {"n": metrics._Figure("count", 4), "median": metrics._Figure("days", 100.0, 4),
               "share": metrics._Figure("share", (4, 4), 4), "rating": metrics._Figure("rating", (4, 4), 4, "share"),
               "big": metrics._Figure("share", (1, 5), 5)}
    assert metrics.withhold(figures, []) == {"n", "median", "share", "rating"}


@pytest.mark.parametrize("part, whole, expected", [(75, 100, "green"), (7499, 10000, "amber"), (55, 100, "amber"),
                                                   (5499, 10000, "red"), (0, 5, "red"), (5, 5, "green")])
def test_ratings_use_the_exact_share(part, whole, expected):
    assert metrics.rating(part, whole) == expected


def test_percentiles_interpolate_like_postgresql():
    values = dict(enumerate([10, 20, 40, 80]))
    assert metrics._lerp(0.5 * 3, values) == 30.0
    assert metrics._lerp(0.9 * 3, values) == pytest.approx(68.0)
    assert metrics._lerp(0.0, {0: 7}) == 7.0


def test_the_default_period_is_the_twelve_months_up_to_today():
    assert metrics.Scope.default(date(2026, 11, 26)) == metrics.Scope(date(2025, 11, 27), date(2026, 11, 26))
    assert metrics.Scope.default(date(2028, 2, 29)).from_on == date(2027, 3, 1)
    scope = metrics.Scope(date(2025, 1, 1), date(2025, 12, 31))
    assert (scope.start_at, scope.end_at) == (t(2025, 1, 1, 0), t(2026, 1, 1, 0))
    assert scope.as_of(t(2025, 6, 1)) == t(2025, 6, 1) and scope.as_of(NOW) == scope.end_at
