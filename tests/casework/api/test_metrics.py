"""The public metrics API (API.md "Metrics (public)"): no credentials, the JSON contract, the CSV
with one row per metric, the breakdowns, and a 422 naming the field for every bad parameter."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta, timezone

import pytest
import time_machine
from sqlalchemy import text

from casework import metrics
from casework.db import db
from workflows.appeal import OUTCOMES

UTC = timezone.utc
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
PERIOD = {"from": "2025-06-01", "to": "2026-02-28"}


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def _at(clock, when: datetime):
    clock.move_to(when)


def granted(factory, clock, lodged: datetime, decided: datetime, **overrides) -> str:
    """An appeal lodged, admitted the next day and granted on review."""
    _at(clock, lodged)
    reference = factory.lodge(lodged_at=None, contested_decision__notified_on=None,
                              contested_decision__decision_date=(lodged - timedelta(days=2)).date().isoformat(),
                              **overrides)["reference"]
    _at(clock, lodged + timedelta(days=1))
    factory.act(reference, "officer", {"action": "admit"})
    _at(clock, decided)
    factory.act(reference, "officer", {"action": "decide_review", "outcome": "granted", "reasons": "Proven."})
    return reference


@pytest.fixture
def six_granted(factory, clock):
    """Six appeals granted on review in 2025 (enough to publish), one still lodged."""
    for day in range(6):
        granted(factory, clock, datetime(2025, 7, 1 + day, 9, tzinfo=UTC), datetime(2025, 7, 20 + day, 9, tzinfo=UTC))
    _at(clock, datetime(2025, 9, 1, 9, tzinfo=UTC))
    factory.lodge(lodged_at=None, contested_decision__notified_on=None, contested_decision__decision_date="2025-08-30")
    _at(clock, NOW)


def test_the_report_is_public_and_follows_the_contract(client, six_granted):
    response = client.get("/api/v1/metrics", query_string=PERIOD)  # no credentials
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    body = response.get_json()
    assert set(body) == {"period", "filters", "as_of", "filed", "closed", "open", "backlog_by_age", "clearance_days",
                         "clearance_distribution", "stages", "outcomes", "changed_in_favour_pct", "escalation_pct",
                         "rating_thresholds", "suppressed"}
    assert body["period"] == PERIOD and body["as_of"] == "2026-03-01T00:00:00Z"
    assert (body["filed"], body["closed"], body["open"]) == (7, 6, None)  # one open: withheld
    assert list(body["backlog_by_age"]) == ["0-30", "31-90", "91-180", "181-365", ">365"]
    assert body["backlog_by_age"]["91-180"] is None and "backlog_by_age.91-180" in body["suppressed"]  # 180 days old
    assert set(body["clearance_days"]) == {"median", "p90", "mean"}
    assert set(body["stages"]) == {"review", "mediation", "tribunal"}
    review = body["stages"]["review"]
    assert review == {"cases": 6, "median_days": 18.0, "p90_days": 18.0, "within_deadline_pct": 100.0,
                      "rating": "green", "target": {"amount": 30, "unit": "days"}}
    assert body["stages"]["mediation"]["target"]["extension"] == {"amount": 15, "unit": "working_days"}
    assert list(body["outcomes"]) == list(OUTCOMES) and body["outcomes"]["granted"] == 6
    assert (body["changed_in_favour_pct"], body["escalation_pct"]) == (100.0, 0.0)
    assert body["clearance_days"] == {"median": 19.0, "p90": 19.0, "mean": 19.0}


def test_the_csv_has_one_row_per_metric_with_the_period_and_filters(client, six_granted):
    query = {**PERIOD, "benefit": "old_age_pension"}
    response = client.get("/api/v1/metrics.csv", query_string=query)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="casework-metrics_2025-06-01_2026-02-28_old-age-pension.csv"')
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert list(rows[0]) == ["metric", "value", "note", "from", "to", "benefit", "handling_country", "residence_country"]
    assert {(r["from"], r["to"], r["benefit"], r["handling_country"]) for r in rows} == {
        ("2025-06-01", "2026-02-28", "old_age_pension", "")}
    by_name = {r["metric"]: r for r in rows}
    body = client.get("/api/v1/metrics", query_string=query).get_json()
    assert by_name["filed"]["value"] == "7" and by_name["stages.review.median_days"]["value"] == "18.0"
    assert by_name["stages.review.rating"]["value"] == "green"
    assert by_name["open"] == {**by_name["open"], "value": "", "note": "suppressed"}
    assert by_name["stages.review.target.amount"]["value"] == "30"
    # Every figure of the JSON, once, under its dotted name.
    flat = dict(_flatten({k: v for k, v in body.items() if k not in ("period", "filters", "suppressed")}))
    assert set(by_name) == set(flat)
    for name, value in flat.items():
        expected = "" if value is None else (f"{value:.1f}" if isinstance(value, float) else str(value))
        assert by_name[name]["value"] == expected, name
        assert (by_name[name]["note"] == "suppressed") == (name in body["suppressed"]), name


def _flatten(body: dict, prefix: str = ""):
    for key, value in body.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def test_every_count_in_the_csv_matches_a_count_in_the_database(app, client, six_granted):
    rows = {r["metric"]: r["value"] for r in csv.DictReader(io.StringIO(
        client.get("/api/v1/metrics.csv", query_string=PERIOD).get_data(as_text=True)))}
    with app.app_context():
        count = lambda sql: db.session.execute(text(sql), {"s": datetime(2025, 6, 1), "e": datetime(2026, 3, 1)}).scalar()  # noqa: E731
        assert rows["filed"] == str(count("SELECT count(*) FROM appeal WHERE lodged_at >= :s AND lodged_at < :e"))
        assert rows["closed"] == str(count("SELECT count(*) FROM appeal WHERE closed_at >= :s AND closed_at < :e"))
        assert rows["outcomes.granted"] == str(count("SELECT count(*) FROM appeal WHERE closed_at >= :s "
                                                     "AND closed_at < :e AND outcome = 'granted'"))
        assert rows["stages.review.cases"] == str(count("SELECT count(*) FROM event WHERE action = 'decide_review' "
                                                        "AND occurred_at >= :s AND occurred_at < :e"))


def test_breakdowns_in_json_and_csv(client, six_granted):
    body = client.get("/api/v1/metrics/breakdown", query_string={**PERIOD, "by": "month"}).get_json()
    assert body["by"] == "month" and [r["month"] for r in body["rows"]][:2] == ["2025-06", "2025-07"]
    assert len(body["rows"]) == 9
    july = body["rows"][1]
    # Filed: September's one appeal is withheld, and July's six with it (the total is 7).
    assert (july["filed"], july["closed"], july["clearance_days"]["median"]) == (None, 6, 19.0)
    assert body["rows"][3]["filed"] is None and body["total"]["filed"] == 7
    assert "filed" in july["suppressed"]
    countries = client.get("/api/v1/metrics/breakdown", query_string={**PERIOD, "by": "country_pair"}).get_json()
    assert [(r["handling_country"], r["residence_country"]) for r in countries["rows"]] == [("DE", "ES")]
    response = client.get("/api/v1/metrics/breakdown.csv", query_string={**PERIOD, "by": "month"})
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "casework-metrics_by-month_2025-06-01_2026-02-28.csv" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert list(rows[0])[:5] == ["by", "group", "metric", "value", "note"]
    assert {r["group"] for r in rows} == {f"2025-{m:02d}" for m in range(6, 13)} | {"2026-01", "2026-02", "total"}
    assert [r["value"] for r in rows if r["group"] == "2025-07" and r["metric"] == "closed"] == ["6"]
    assert [r["note"] for r in rows if r["group"] == "2025-09" and r["metric"] == "filed"] == ["suppressed"]


@pytest.mark.parametrize("query, field", [
    ({"from": "2025-03-01", "to": "2025-02-01"}, "from"),
    ({"from": "2025-13-01"}, "from"),
    ({"to": "01/02/2025"}, "to"),
    ({"from": "1700000000"}, "from"),
    ({"from": "1850-01-01"}, "from"),
    ({"benefit": "pension"}, "benefit"),
    ({"handling_country": "XX"}, "handling_country"),
    ({"residence_country": "DEU"}, "residence_country"),
    ({"colour": "blue"}, "colour"),
])
def test_bad_parameters_are_422_naming_the_field(client, query, field):
    for url, extra in (("/api/v1/metrics", {}), ("/api/v1/metrics.csv", {}),
                       ("/api/v1/metrics/breakdown", {"by": "benefit"}), ("/api/v1/metrics/breakdown.csv", {"by": "benefit"})):
        response = client.get(url, query_string={**query, **extra})
        assert response.status_code == 422, (url, response.get_data(as_text=True))
        error = response.get_json()["error"]
        assert error["code"] == "validation_error"
        assert field in [d["field"] for d in error["details"]], (url, error)


@pytest.mark.parametrize("by", [None, "year"])
def test_a_breakdown_needs_a_known_dimension(client, by):
    response = client.get("/api/v1/metrics/breakdown", query_string={"by": by} if by else {})
    assert response.status_code == 422 and response.get_json()["error"]["details"][0]["field"] == "by"


def test_countries_in_lower_case_are_understood_and_the_default_period_is_the_last_twelve_months(client, clock):
    body = client.get("/api/v1/metrics", query_string={"handling_country": "de"}).get_json()
    assert body["filters"]["handling_country"] == "DE"
    assert body["period"] == {"from": "2025-03-03", "to": "2026-03-02"}
    assert body["as_of"] == "2026-03-02T12:00:00Z"  # the period is still running: open appeals as of now
    body = client.get("/api/v1/metrics", query_string={"to": "2024-02-29"}).get_json()
    assert body["period"] == {"from": "2023-03-01", "to": "2024-02-29"}


def test_the_tribunal_target_is_six_calendar_months_to_the_end_of_the_day(app, factory, clock):
    """Acknowledged on 31 August: the target is the end of 28 February (no 31 February)."""
    references = []
    for judged in (datetime(2026, 2, 28, 23, 59, 59, tzinfo=UTC), datetime(2026, 3, 1, 0, 0, 0, tzinfo=UTC)):
        _at(clock, datetime(2025, 8, 1, 9, tzinfo=UTC))
        reference = factory.lodge(lodged_at=None, contested_decision__notified_on=None,
                                  contested_decision__decision_date="2025-07-30")["reference"]
        for when, role, action in ((datetime(2025, 8, 4, 9, tzinfo=UTC), "officer", {"action": "admit"}),
                                   (datetime(2025, 8, 20, 9, tzinfo=UTC), "officer",
                                    {"action": "decide_review", "outcome": "refused", "reasons": "No."}),
                                   (datetime(2025, 8, 25, 9, tzinfo=UTC), "officer", {"action": "request_tribunal"}),
                                   (datetime(2025, 8, 31, 10, tzinfo=UTC), "tribunal", {"action": "acknowledge_referral"}),
                                   (judged, "tribunal", {"action": "deliver_judgment", "outcome": "allowed",
                                                         "reasons": "Yes."})):
            _at(clock, when)
            factory.act(reference, role, action)
        references.append(reference)
    with app.app_context():
        stage = metrics.tally(db.session, metrics.Scope(date(2026, 2, 1), date(2026, 3, 31)), NOW)[None].stages["tribunal"]
    assert (stage.cases, stage.within) == (2, 1)


def test_the_metrics_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/api/v1/metrics", "/api/v1/metrics.csv", "/api/v1/metrics/breakdown", "/api/v1/metrics/breakdown.csv"):
        assert "get" in paths[path], path
        names = {p["name"] for p in paths[path]["get"].get("parameters", [])}
        assert {"from", "to", "benefit", "handling_country", "residence_country"} <= names, (path, names)
    assert "by" in {p["name"] for p in paths["/api/v1/metrics/breakdown"]["get"]["parameters"]}
