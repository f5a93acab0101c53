"""The insurance-history chart (casework/entitlement/timeline.py): lanes, bars in proportion to
their dates, proposed and dropped periods, overlaps and who counts them, right-to-left mirroring,
year labels, escaping, and well-formed SVG."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET

from markupsafe import Markup

from casework.entitlement.timeline import WIDTH, timeline

SVG = "{http://www.w3.org/2000/svg}"
NAMES = {"DE": "Germany", "AT": "Austria", "PL": "Poland", "ES": "Spain", "PT": "Portugal"}
KINDS = {"employment": "employment", "residence": "residence", "voluntary": "voluntary",
         "credited_care": "care", "self_employment": "self-employment", "other_credited": "credited"}


def period(id: int, country: str, starts_on: str, ends_on: str, kind: str = "employment",
           status: str = "confirmed") -> dict:
    return {"id": id, "country": country, "starts_on": starts_on, "ends_on": ends_on, "kind": kind, "status": status}


def draw(periods, overlaps=(), language="en", **kwargs) -> Markup:
    options = {"title": "Insurance periods", "description": "Periods by country", "kind_labels": KINDS,
               "country_label": lambda code: NAMES.get(code, code), "overlap_label": "Counted once",
               "status_labels": {"proposed": "proposed"}} | kwargs
    return timeline(periods, overlaps, language=language, **options)


def parse(markup: Markup) -> ET.Element:
    return ET.fromstring(str(markup))


def classes(element: ET.Element) -> set[str]:
    return set(element.get("class", "").split())


def rects(svg: ET.Element, css: str) -> list[ET.Element]:
    return [r for r in svg.iter(f"{SVG}rect") if css in classes(r)]


def texts(svg: ET.Element, css: str) -> list[ET.Element]:
    return [t for t in svg.iter(f"{SVG}text") if css in classes(t)]


def title(element: ET.Element) -> str:
    return element.find(f"{SVG}title").text


def bar(svg: ET.Element, needle: str) -> ET.Element:
    (found,) = [r for r in rects(svg, "chart-period-bar") if r.find(f"{SVG}title") is not None
                and needle in title(r)]
    return found


def box(element: ET.Element) -> tuple[float, float, float, float]:
    return tuple(float(element.get(name)) for name in ("x", "y", "width", "height"))


HISTORY = [
    period(1, "DE", "1990-01-01", "1995-12-31"),
    period(2, "AT", "1994-01-01", "1996-12-31", "residence"),
    period(3, "PL", "1996-01-01", "2009-12-31"),
    period(4, "PL", "2003-01-01", "2004-12-31", "credited_care"),
    period(5, "ES", "2010-02-01", "2010-09-30"),
    period(6, "PT", "2011-01-01", "2011-12-31", "voluntary", "proposed"),
]
OVERLAP = {"starts_on": "1994-01-01", "ends_on": "1995-12-31", "countries": ["AT", "DE"], "counted_for": "DE",
           "rule": "work_over_residence", "period_ids": [2, 1]}


def test_the_svg_is_well_formed_with_its_title_and_description():
    svg = parse(draw(HISTORY, [OVERLAP]))
    assert svg.get("role") == "img"
    assert svg.find(f"{SVG}title").text == "Insurance periods"
    assert svg.find(f"{SVG}desc").text == "Periods by country"
    width, height = (float(n) for n in svg.get("viewBox").split()[2:])
    assert width <= 960 and height > 0
    assert "style" not in str(draw(HISTORY, [OVERLAP]))  # the Content-Security-Policy allows no inline style


def test_one_lane_per_country_in_the_order_the_history_begins():
    svg = parse(draw(list(reversed(HISTORY))))
    lanes = texts(svg, "chart-period-country")
    assert [t.text for t in lanes] == ["Germany", "Austria", "Poland", "Spain", "Portugal"]
    assert [float(t.get("y")) for t in lanes] == sorted(float(t.get("y")) for t in lanes)
    assert len(rects(svg, "chart-track")) == 5
    # A job and a credit for care in the same years are both seen, one above the other, in Poland's lane.
    job, care = bar(svg, "Poland: employment"), bar(svg, "Poland: care")
    assert box(care)[1] >= box(job)[1] + box(job)[3]


def test_bars_are_in_proportion_to_their_dates():
    # 2001 and 2002 have 365 days each: each period is exactly half of the time shown.
    svg = parse(draw([period(1, "DE", "2001-01-01", "2001-12-31"), period(2, "AT", "2002-01-01", "2002-12-31")]))
    track_x, _, track_width, _ = box(rects(svg, "chart-track")[0])
    first, second = box(bar(svg, "Germany")), box(bar(svg, "Austria"))
    assert abs(first[0] - track_x) < 1
    assert abs(first[2] - track_width / 2) < 1 and abs(second[2] - track_width / 2) < 1
    assert abs(second[0] - (track_x + track_width / 2)) < 1


def test_a_few_days_in_decades_are_still_visible():
    svg = parse(draw([period(1, "DE", "1970-01-01", "2014-12-31"), period(2, "AT", "1990-03-01", "1990-03-03")]))
    assert box(bar(svg, "Austria"))[2] >= 2


def test_the_bar_says_what_it_is():
    svg = parse(draw(HISTORY))
    assert title(bar(svg, "Germany")) == "Germany: employment, 1990-01-01 – 1995-12-31"
    assert "chart-period-employment" in classes(bar(svg, "Germany"))
    assert "chart-period-residence" in classes(bar(svg, "Austria"))


def test_a_proposed_period_is_drawn_apart_and_dropped_ones_not_at_all():
    periods = HISTORY + [period(7, "FR", "2012-03-01", "2012-03-31", status="rejected"),
                         period(8, "PL", "2012-01-01", "2012-06-30", status="withdrawn")]
    svg = parse(draw(periods))
    proposed = bar(svg, "Portugal")
    assert "chart-period-proposed" in classes(proposed) and "proposed" in title(proposed)
    assert "chart-period-proposed" not in classes(bar(svg, "Germany"))
    assert "France" not in [t.text for t in texts(svg, "chart-period-country")]
    drawn = [r for r in rects(svg, "chart-period-bar") if r.find(f"{SVG}title") is not None]  # not the legend's
    assert len(drawn) == len(HISTORY) and not [r for r in drawn if "2012" in title(r)]
    legend = [t.text for t in texts(svg, "chart-period-key")]
    assert legend == ["employment", "residence", "voluntary", "care", "proposed"]


def test_an_overlap_is_marked_across_the_lanes_with_the_country_that_counts_it():
    svg = parse(draw(HISTORY, [OVERLAP]))
    (band,) = [r for r in rects(svg, "chart-overlap") if r.find(f"{SVG}title") is not None]  # not the legend's
    assert "Germany ✓" in title(band) and "Austria ✗" in title(band)
    _, y, width, height = box(band)
    germany, austria = box(bar(svg, "Germany")), box(bar(svg, "Austria"))
    assert y <= germany[1] and y + height >= austria[1] + austria[3]  # across both lanes
    assert abs(width - austria[2] * 2 / 3) < 1  # 1994–1995 of Austria's 1994–1996
    # Austria's lane is hatched out there, Germany's is not: the days count for Germany.
    (not_counted,) = rects(svg, "chart-overlap-not-counted")[:1]
    assert austria[1] <= box(not_counted)[1] + 2 and box(not_counted)[1] + box(not_counted)[3] <= austria[1] + 22
    assert [line for line in svg.iter(f"{SVG}line") if "chart-overlap-hatch" in classes(line)]
    assert "Counted once" in [t.text for t in texts(svg, "chart-period-key")]


def test_lanes_apart_get_a_band_each():
    overlap = OVERLAP | {"countries": ["DE", "PL"], "counted_for": "PL", "starts_on": "1996-01-01",
                         "ends_on": "1996-06-30"}
    periods = [period(1, "DE", "1990-01-01", "1996-06-30"), period(2, "AT", "1994-01-01", "1995-12-31"),
               period(3, "PL", "1996-01-01", "2009-12-31")]
    svg = parse(draw(periods, [overlap]))
    bands = [r for r in rects(svg, "chart-overlap") if r.find(f"{SVG}title") is not None]
    assert len(bands) == 2
    austria = box(bar(svg, "Austria"))
    assert all(not (b[1] < austria[1] < b[1] + b[3]) for b in map(box, bands))


def test_right_to_left_mirrors_time():
    periods = [period(1, "DE", "1990-01-01", "1991-12-31"), period(2, "AT", "2005-01-01", "2009-12-31")]
    ltr, rtl = parse(draw(periods)), parse(draw(periods, language="ar"))
    assert rtl.get("direction") == "rtl"
    early_ltr, early_rtl = box(bar(ltr, "Germany")), box(bar(rtl, "Germany"))
    assert early_ltr[0] < WIDTH / 4 and early_rtl[0] + early_rtl[2] > WIDTH * 3 / 4
    assert abs((early_ltr[0] + early_ltr[2] / 2) + (early_rtl[0] + early_rtl[2] / 2) - WIDTH) < 1
    label_ltr, label_rtl = texts(ltr, "chart-period-country")[0], texts(rtl, "chart-period-country")[0]
    assert float(label_ltr.get("x")) < 10 and float(label_rtl.get("x")) > WIDTH - 10


def test_year_labels_are_thinned_over_a_long_history():
    svg = parse(draw([period(1, "DE", "1970-01-01", "2014-12-31")]))
    years = texts(svg, "chart-axis")
    assert 3 <= len(years) <= 10
    assert [t.text for t in years] == [str(year) for year in range(1970, 2016, 5)]
    xs = [float(t.get("x")) for t in years]
    assert min(b - a for a, b in itertools.pairwise(xs)) > 40


def test_every_year_is_labelled_over_a_short_history():
    svg = parse(draw([period(1, "DE", "2001-03-01", "2004-12-31")], year_label=lambda y: f"’{y % 100:02}"))
    assert [t.text for t in texts(svg, "chart-axis")] == ["’01", "’02", "’03", "’04", "’05"]


def test_every_text_is_escaped():
    hostile = "<script>alert(1)</script>"
    markup = draw(HISTORY, [OVERLAP], title=hostile, country_label=lambda code: f"{code} {hostile}",
                  kind_labels={"employment": hostile}, overlap_label=hostile, ident='x" onload="alert(1)')
    assert "<script>" not in str(markup) and "&lt;script&gt;" in str(markup)
    svg = parse(markup)
    assert "onload" not in svg.attrib
    assert title(bar(svg, "DE")).startswith(f"DE {hostile}: {hostile}")


def test_unknown_kinds_make_no_class_of_their_own():
    svg = parse(draw([period(1, "DE", "2001-01-01", "2001-12-31", kind='x" onclick="alert(1)')]))
    assert classes(bar(svg, "Germany")) == {"chart-period-bar", "chart-period-unknown"}


def test_nothing_to_draw_gives_nothing():
    assert draw([]) == Markup("")
    assert draw([period(1, "DE", "2001-01-01", "2001-12-31", status="rejected")], [OVERLAP]) == Markup("")
