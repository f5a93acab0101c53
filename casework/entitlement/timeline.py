"""The insurance-history chart of the entitlement calculator: a claimant's periods of insurance,
residence and credited care in each country, year by year, and the days two countries both
cover, which aggregation (Regulation 883/2004 Art 6, Regulation 987/2009 Art 12) counts only
once, for one of them.

The claimant, the officer and the tribunal read it beside the calculation's table: one lane per
country in the order the history happened, a bar per period coloured and named by its kind, a
dashed bar for a period proposed but not yet confirmed (so not counted yet), and over the days
counted once a red band across the countries concerned, the lanes of the countries that do not
count those days being hatched out.

Drawn on the server as SVG with ``casework.charts.Canvas`` (no script, nothing fetched, mirrored
for right-to-left languages); colours come from the stylesheet's ``chart-period-*`` and
``chart-overlap*`` classes, since the Content-Security-Policy allows no inline style. Colour is
never the only cue: a bar wide enough carries its kind's name, every bar and band has a title
(a tooltip, and what a screen reader reads), and a legend names the kinds shown.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from markupsafe import Markup

from casework.charts import Canvas
from casework.entitlement.periods import KINDS
from casework.i18n import direction

DRAWN = ("confirmed", "proposed")  # rejected and withdrawn periods count for nothing
WIDTH = 960
END_MARGIN = 22  # half of the last year's label, which sits on the end edge
LABEL_CHAR = 7.2  # rough width of a character of a 13px label (lane and legend labels)
SMALL_CHAR = 6.4  # the same at 11px (years, names inside bars)
BAR, ROW, PAD, GAP = 18, 22, 5, 6  # a bar's height, a row's, a lane's padding, the space between lanes
MIN_BAR = 2.0  # a week in a forty-year history is still there to see and to point at
MAX_YEAR_LABELS = 10


@dataclass(frozen=True)
class _Period:
    id: object
    country: str
    starts_on: date
    after: date  # the day after the last, so that lengths are differences
    kind: str
    status: str


def _day(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def _drawn(periods: Sequence[dict]) -> list[_Period]:
    out = []
    for period in periods:
        if period.get("status", "confirmed") not in DRAWN:
            continue
        starts_on, ends_on = _day(period["starts_on"]), _day(period["ends_on"])
        out.append(_Period(period.get("id"), period["country"], starts_on, max(ends_on, starts_on) + timedelta(days=1),
                           period["kind"], period.get("status", "confirmed")))
    return sorted(out, key=lambda p: (p.starts_on, p.country, p.after))


def _rows(periods: Sequence[_Period]) -> dict[str, list[list[_Period]]]:
    """Each country's periods in as few rows as keep them from covering each other (a job and a
    credit for care in the same years), countries in the order their histories begin."""
    lanes: dict[str, list[list[_Period]]] = {}
    for period in periods:
        rows = lanes.setdefault(period.country, [])
        for row in rows:
            if row[-1].after <= period.starts_on:
                row.append(period)
                break
        else:
            rows.append([period])
    return lanes


def _steps() -> Iterator[int]:
    for power in itertools.count():
        for factor in (1, 2, 5):
            yield factor * 10 ** power


def _year_step(years: int, per_year: float, widest: float) -> int:
    """Label every year, or every 2nd, 5th, 10th…: the first that keeps labels apart and few."""
    return next(step for step in _steps() if years // step + 1 <= MAX_YEAR_LABELS and step * per_year >= widest + 8)


def _kind_class(kind: str) -> str:
    # A class name is written as it is, so only the known kinds make one.
    return f"chart-period-{kind}" if kind in KINDS else "chart-period-unknown"


def _fitted(text: str, room: float, char: float) -> str:
    if len(text) * char <= room:
        return text
    return text[:max(1, int(room / char) - 1)] + "…"


def _hatch(canvas: Canvas, x0: float, x1: float, y0: float, y1: float, every: float = 5.0) -> None:
    """Diagonal strokes across a box: the days a country's bar shows but another country counts."""
    height = y1 - y0
    x = x0 - height
    while x < x1:
        first, last = max(0.0, x0 - x), min(height, x1 - x)  # clipped to the box's sides
        if last > first:
            canvas.line(x + first, y1 - first, x + last, y1 - last, "chart-overlap-hatch")
        x += every


def timeline(periods: Sequence[dict], overlaps: Sequence[dict], *, language: str, ident: str = "periods-timeline",
             title: str, description: str, kind_labels: Mapping[str, str], country_label: Callable[[str], str],
             year_label: Callable[[int], str] = str, overlap_label: str,
             status_labels: Mapping[str, str] | None = None) -> Markup:
    """The chart of ``periods`` (dicts as the API gives them; rejected and withdrawn ones left
    out) and ``overlaps`` (``Overlap.as_json()``). ``overlap_label`` names the band and the
    hatching in the legend ("Counted once: hatched days are not counted in that country", say);
    ``status_labels`` names the proposed status. Empty markup when there is nothing to draw."""
    drawn = _drawn(periods)
    if not drawn:
        return Markup("")
    status_labels = status_labels or {}

    def kind_name(kind: str) -> str:
        return kind_labels.get(kind, kind)

    proposed_name = status_labels.get("proposed", "proposed")
    lanes = _rows(drawn)
    countries = list(lanes)
    names = {country: country_label(country) for country in countries}

    # Time runs from 1 January of the first year to 1 January after the last, so year ticks
    # fall on the edges.
    first_year, last_year = drawn[0].starts_on.year, max(p.after - timedelta(days=1) for p in drawn).year
    origin, finish = date(first_year, 1, 1), date(last_year + 1, 1, 1)
    span = (finish - origin).days
    start = min(220.0, max(60.0, LABEL_CHAR * max(len(name) for name in names.values()) + 16))
    end = WIDTH - END_MARGIN
    track = end - start

    def x_of(day: date) -> float:
        return start + (min(max(day, origin), finish) - origin).days / span * track

    def extent(first: date, after: date) -> tuple[float, float]:
        """Start and width of days on the track, never thinner than can be seen."""
        x0, x1 = x_of(first), x_of(after)
        width = max(x1 - x0, MIN_BAR)
        return min(x0, end - width), width

    tops, y = {}, 8.0
    for country in countries:
        tops[country] = y
        y += 2 * PAD + len(lanes[country]) * ROW - (ROW - BAR) + GAP
    bottom = y - GAP

    def lane_box(country: str) -> tuple[float, float]:
        top = tops[country]
        return top, top + 2 * PAD + len(lanes[country]) * ROW - (ROW - BAR)

    years = last_year + 1 - first_year
    labels = {year: year_label(year) for year in range(first_year, last_year + 2)}
    step = _year_step(years, track / years, SMALL_CHAR * max(len(text) for text in labels.values()))
    marked = [year for year in labels if year % step == 0] or [first_year]

    legend = _legend_items(drawn, overlaps, kind_name, proposed_name, overlap_label)
    legend_rows = _legend_rows(legend, WIDTH - 8)
    height = int(bottom + 36 + 22 * len(legend_rows) + 4)
    canvas = Canvas(WIDTH, height, rtl=direction(language) == "rtl")

    for country in countries:
        top, low = lane_box(country)
        canvas.rect(start, top, track, low - top, "chart-track")
        canvas.text(4, (top + low) / 2 + 4, _fitted(names[country], start - 12, LABEL_CHAR),
                    "start", "chart-label chart-period-country")
    for year in marked:
        x = x_of(date(year, 1, 1))
        canvas.line(x, 8, x, bottom + 4, "chart-grid")
        canvas.text(x, bottom + 18, labels[year], "middle", "chart-axis")
    if track / years >= 4:  # a tick for each year between the labelled ones, where they stay apart
        for year in range(first_year, last_year + 2):
            x = x_of(date(year, 1, 1))
            canvas.line(x, bottom, x, bottom + 4, "chart-baseline")
    canvas.line(start, bottom, end, bottom, "chart-baseline")

    placed = [(period, tops[country] + PAD + number * ROW, extent(period.starts_on, period.after))
              for country in countries for number, row in enumerate(lanes[country]) for period in row]
    for period, top, (x, width) in placed:
        _bar(canvas, period, top, x, width, names[period.country], kind_name(period.kind), proposed_name)
    for overlap in overlaps:
        _overlap(canvas, overlap, countries, names, lane_box, extent, overlap_label)
    # Names go on top of the bands and hatching, which would make them hard to read.
    for period, top, (x, width) in placed:
        _bar_name(canvas, period, top, x, width, kind_name(period.kind), proposed_name)

    _legend(canvas, legend_rows, bottom + 42)
    return canvas.svg(ident, title, description)


def _bar(canvas: Canvas, period: _Period, top: float, x: float, width: float, country: str, kind: str,
         proposed: str) -> None:
    last = period.after - timedelta(days=1)
    spoken = f"{country}: {kind}, {period.starts_on.isoformat()} – {last.isoformat()}"
    css = f"chart-period-bar {_kind_class(period.kind)}"
    if period.status == "proposed":
        spoken += f" ({proposed})"
        css += " chart-period-proposed"
    canvas.rect(x, top, width, BAR, css, spoken)


def _bar_name(canvas: Canvas, period: _Period, top: float, x: float, width: float, kind: str, proposed: str) -> None:
    # The kind's name on the bar, where it fits, so that the colour is not the only way to tell.
    for text in ((f"{kind} ({proposed})", kind) if period.status == "proposed" else (kind,)):
        if len(text) * SMALL_CHAR + 8 <= width:
            canvas.text(x + 4, top + 13, text, "start", "chart-period-label")
            break


def _overlap(canvas: Canvas, overlap: dict, countries: Sequence[str], names: Mapping[str, str],
             lane_box: Callable[[str], tuple[float, float]],
             extent: Callable[[date, date], tuple[float, float]], label: str) -> None:
    """A band across the lanes of the countries that cover the same days, with the lanes of
    those that do not count them hatched."""
    involved = [i for i, country in enumerate(countries) if country in overlap["countries"]]
    if not involved:
        return
    first, last = _day(overlap["starts_on"]), _day(overlap["ends_on"])
    x, width = extent(first, last + timedelta(days=1))
    counted = overlap.get("counted_for")
    for i in involved:
        if countries[i] != counted:
            top, low = lane_box(countries[i])
            canvas.rect(x, top + PAD - 2, width, low - top - 2 * PAD + 4, "chart-overlap-not-counted")
            _hatch(canvas, x, x + width, top + PAD - 2, low - PAD + 2)
    others = ", ".join(names.get(c, c) for c in overlap["countries"] if c != counted)
    spoken = f"{label}, {first.isoformat()} – {last.isoformat()}: {names.get(counted, counted)} ✓"
    spoken += f"; {others} ✗" if others else ""
    # Countries whose lanes are apart get a band each, so that the lanes between stay clear.
    for _, run in itertools.groupby(enumerate(involved), key=lambda pair: pair[1] - pair[0]):
        lanes = [countries[i] for _, i in run]
        top, low = lane_box(lanes[0])[0], lane_box(lanes[-1])[1]
        canvas.rect(x, top - 1, width, low - top + 2, "chart-overlap", spoken)


@dataclass(frozen=True)
class _Key:
    text: str
    swatch: str  # the classes of the sample, or "overlap" for the band with its hatching

    @property
    def width(self) -> float:
        return 18 + LABEL_CHAR * len(self.text) + 18


def _legend_items(drawn: Sequence[_Period], overlaps: Sequence[dict], kind_name: Callable[[str], str],
                  proposed: str, overlap_label: str) -> list[_Key]:
    present = {p.kind for p in drawn}
    kinds = [kind for kind in KINDS if kind in present] + sorted(present - set(KINDS))
    items = [_Key(kind_name(kind), f"chart-period-bar {_kind_class(kind)}") for kind in kinds]
    if any(p.status == "proposed" for p in drawn):
        items.append(_Key(proposed, "chart-period-bar chart-period-proposed chart-period-key-proposed"))
    if any(p.country in overlap["countries"] for overlap in overlaps for p in drawn):
        items.append(_Key(overlap_label, "overlap"))
    return items


def _legend_rows(items: Sequence[_Key], room: float) -> list[list[_Key]]:
    rows: list[list[_Key]] = [[]]
    for item in items:
        if rows[-1] and sum(i.width for i in rows[-1]) + item.width > room:
            rows.append([])
        rows[-1].append(item)
    return rows


def _legend(canvas: Canvas, rows: Sequence[Sequence[_Key]], y: float) -> None:
    for row in rows:
        x = 4.0
        for item in row:
            if item.swatch == "overlap":
                canvas.rect(x, y - 10, 12, 12, "chart-overlap-not-counted")
                _hatch(canvas, x, x + 12, y - 10, y + 2, every=4)
                canvas.rect(x, y - 10, 12, 12, "chart-overlap")
            else:
                canvas.rect(x, y - 10, 12, 12, item.swatch)
            canvas.text(x + 18, y, item.text, "start", "chart-label chart-period-key")
            x += item.width
        y += 22
