"""The public performance page: open to everyone, charts drawn on the server with text
alternatives and the numbers in tables, filters, downloads with the same filters, definitions,
right-to-left in Arabic; and the chart drawing itself."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from html import unescape
from urllib.parse import parse_qs, urlparse

import pytest
import time_machine

from casework import charts

UTC = timezone.utc
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
CHARTS = ("chart-clearance", "chart-trend", "chart-median", "chart-stages", "chart-outcomes", "chart-backlog")


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def appeals(factory, clock):
    """Six invalidity appeals granted on review in July 2025, and one old-age appeal waiting."""
    for day in range(6):
        clock.move_to(datetime(2025, 7, 1 + day, 9, tzinfo=UTC))
        reference = factory.lodge(lodged_at=None, contested_decision__notified_on=None,
                                  contested_decision__decision_date="2025-06-28",
                                  contested_decision__benefit="invalidity")["reference"]
        clock.move_to(datetime(2025, 7, 2 + day, 9, tzinfo=UTC))
        factory.act(reference, "officer", {"action": "admit"})
        clock.move_to(datetime(2025, 7, 20 + day, 9, tzinfo=UTC))
        factory.act(reference, "officer", {"action": "decide_review", "outcome": "granted", "reasons": "Proven."})
    clock.move_to(datetime(2025, 9, 1, 9, tzinfo=UTC))
    factory.lodge(lodged_at=None, contested_decision__notified_on=None, contested_decision__decision_date="2025-08-30")
    clock.move_to(NOW)


def _page(client, **params) -> str:
    response = client.get("/metrics", query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    return response.get_data(as_text=True)


def test_the_page_is_public_with_every_chart_and_its_text_alternative(client, appeals):
    page = _page(client, year="2025")  # nobody signed in
    for ident in CHARTS:
        svg = re.search(rf'<svg class="chart" id="{ident}"[^>]*>', page)
        assert svg, ident
        assert 'role="img"' in svg.group(0)
        assert f'aria-labelledby="{ident}-title {ident}-desc"' in svg.group(0)
        assert re.search(rf'<title id="{ident}-title">[^<]+</title><desc id="{ident}-desc">[^<]{{40,}}</desc>', page), ident
    assert page.count("<figcaption>") == len(CHARTS)
    # The numbers beneath, in tables with captions and headers.
    assert page.count("<caption>") >= 5 and '<th scope="col"' in page
    assert re.search(r'<th scope="row">Granted</th><td class="num">6</td>', page)
    assert re.search(r'<th scope="row">Review by the institution</th>\s*<td>30 days</td>\s*<td class="num">6</td>', page)
    assert "<script" not in page  # nothing to run: the charts are drawn on the server


def test_withheld_figures_are_marked_in_the_tables_and_charts(client, appeals):
    page = _page(client, year="2025")
    # One appeal open at the end of 2025, 121 days old: withheld in its row and in its total.
    assert re.search(r'<th scope="row">91–180 days</th><td class="num"><span class="withheld">withheld</span>', unescape(page))
    assert "* withheld: fewer than 5 cases, or it would reveal one" in page
    assert 'class="chart-withheld">*</text>' in page


def test_filters_choose_the_figures_and_the_downloads_carry_them(client, appeals):
    page = _page(client, year="2025", benefit="invalidity", handling_country="DE")
    assert '<option value="2025" selected>' in page
    assert '<option value="invalidity" selected>' in page and '<option value="DE" selected>' in page
    assert "From January 1, 2025 to December 31, 2025" in page
    assert re.search(r"Appeals filed</dt><dd>6</dd>", page)
    links = [unescape(href) for href in re.findall(r'href="(/api/v1/metrics[^"]*)"', page)]
    assert len(links) == 10  # the report and four breakdowns, each as CSV and JSON
    for link in links:
        query = parse_qs(urlparse(link).query)
        assert (query["from"], query["to"], query["benefit"], query["handling_country"]) == (
            ["2025-01-01"], ["2025-12-31"], ["invalidity"], ["DE"]), link
        assert client.get(link).status_code == 200
    assert any(urlparse(link).path == "/api/v1/metrics.csv" for link in links)
    other = _page(client, year="2025", benefit="family")
    assert re.search(r"Appeals filed</dt><dd>0</dd>", other)
    dated = _page(client, **{"from": "2025-07-01", "to": "2025-07-31"})
    assert "From July 1, 2025 to July 31, 2025" in dated


def test_the_definitions_are_on_the_page(client, appeals):
    page = unescape(_page(client))
    for words in ("Clearance time", "The time from the day an appeal was lodged to the day it was closed",
                  "Changed in the claimant's favour", "Withdrawn appeals and appeals declared inadmissible are left out",
                  "A stage during which the appeal was withdrawn is left out", "no count from 1 to 4 is published",
                  "more counts of that table are withheld", "Green: at least 75 % of the stages",
                  "target 30 days", "target 6 months", "45 working days (extendable once by 15 working days)"):
        assert words in page, words


def test_mistakes_in_the_filters_come_back_named(client, appeals):
    response = client.get("/metrics", query_string={"from": "2025-05-01", "to": "2025-01-01", "year": "next"})
    assert response.status_code == 422
    page = unescape(response.get_data(as_text=True))
    assert '<a href="#field-year">Year: must be a year' in page
    assert 'id="field-year"' in page and 'aria-invalid="true"' in page
    assert "chart-clearance" not in page
    response = client.get("/metrics", query_string={"from": "2025-05-01", "to": "2025-01-01"})
    assert response.status_code == 422
    assert "<a href=\"#field-from\">From: must not be after the end of the period (2025-01-01)</a>" in unescape(response.get_data(as_text=True))
    response = client.get("/metrics", query_string={"residence_country": "xx"})
    assert response.status_code == 422 and "#field-residence_country" in response.get_data(as_text=True)


def test_arabic_reads_right_to_left_charts_included(client, appeals):
    page = _page(client, year="2025", lang="ar")
    assert '<html lang="ar" dir="rtl">' in page
    svg = re.search(r'<svg class="chart" id="chart-outcomes"[^>]*>', page).group(0)
    assert 'direction="rtl"' in svg


def test_everyone_finds_the_page(client):
    assert 'href="/metrics"' in client.get("/").get_data(as_text=True)
    home = client.get("/").get_data(as_text=True)
    assert "Performance figures" in home and "See the figures" in home


# --- the drawings -------------------------------------------------------------------------------

def test_scales_end_on_round_numbers():
    assert [charts.nice_maximum(v) for v in (0, 3, 7, 13, 99, 101, 2500)] == [5, 5, 10, 20, 100, 200, 5000]
    assert charts.nice_maximum(47.8, least=10) == 50


def test_right_to_left_drawings_are_mirrored():
    rows = [charts.Bar("a", 50.0)]
    ltr = str(charts.bars("x", "t", "d", rows, number=str, maximum=100))
    rtl = str(charts.bars("x", "t", "d", rows, number=str, maximum=100, rtl=True))
    width = float(re.search(r'viewBox="0 0 (\d+)', ltr).group(1))
    bar = lambda svg: re.findall(r'<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)"[^>]*class="chart-bar"', svg)[0]  # noqa: E731
    (x1, w1), (x2, w2) = bar(ltr), bar(rtl)
    assert w1 == w2 and float(x2) == pytest.approx(width - float(x1) - float(w1))
    assert 'direction="rtl"' in rtl and 'direction="ltr"' in ltr


def test_a_withheld_value_draws_no_bar_but_a_mark():
    svg = str(charts.columns("c", "t", "d", ["a", "b"], [charts.Series("s", [None, 3])], number=str,
                             withheld_note="* withheld"))
    assert svg.count('class="chart-bar"') == 1 and 'class="chart-withheld">*</text>' in svg and "* withheld" in svg
    assert "<title>b, s: 3</title>" in svg  # each bar says what it is on hover and to assistive technology
    escaped = str(charts.bars("c", "<t>", "d & e", [charts.Bar("<b>", 1)], number=str))
    assert "&lt;t&gt;" in escaped and "d &amp; e" in escaped and "&lt;b&gt;" in escaped
