"""Charts drawn on the server as SVG: bars, grouped bars, horizontal bars with thresholds and a
line, for the public performance page. No script and no fonts to fetch, so they work offline,
print, and read the same in every browser.

Each chart is an image with a text alternative (``role="img"``, its ``<title>`` and a ``<desc>``
that states what it shows); the page puts the same numbers in a table beneath. Layouts are
computed left to right and mirrored for right-to-left pages. Colours come from the page's
stylesheet (``chart-*`` classes), so a figure never depends on colour alone: every bar carries
its number, and a withheld figure is marked as such.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

from markupsafe import Markup, escape

Number = Callable[[float], str]
WITHHELD = "*"


def nice_maximum(value: float, least: float = 5) -> float:
    """The top of a scale: the smallest 1, 2 or 5 × 10ⁿ at or above ``value`` and ``least``, so
    that five equal steps up to it are round numbers (whole ones for counts)."""
    value = max(value, least)
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power + 1e-9:
            return step * power
    return 10 * power


def _ticks(maximum: float, count: int = 5) -> list[float]:
    return [maximum * i / count for i in range(count + 1)]


def _layout(count: int, per_slot: float, labels: Sequence[str], start: int, end_margin: int) -> tuple[int, float, int]:
    """Width, slot per category and how often to write a category's name so names never overlap."""
    label = 6.2 * max((len(text) for text in labels), default=1) + 8
    slot = max(per_slot, min(label, 64.0))
    width = int(min(960, max(480, start + count * slot + end_margin)))
    slot = (width - start - end_margin) / max(count, 1)
    return width, slot, max(1, math.ceil(label / slot))


@dataclass
class Canvas:
    """An SVG being drawn; ``x`` runs from the start edge, whichever side that is."""

    width: int
    height: int
    rtl: bool = False
    parts: list[str] = field(default_factory=list)

    def _x(self, x: float) -> float:
        return self.width - x if self.rtl else x

    def _anchor(self, anchor: str) -> str:
        """Anchors are logical: on a right-to-left drawing (``direction="rtl"``) a text's start is
        its right edge, so mirroring ``x`` is all it takes."""
        return anchor

    def rect(self, x: float, y: float, w: float, h: float, css: str, label: str | None = None) -> None:
        left = self._x(x + w) if self.rtl else x
        title = f"<title>{escape(label)}</title>" if label else ""
        self.parts.append(f'<rect x="{left:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{max(h, 0):.1f}" '
                          f'class="{css}">{title}</rect>')

    def line(self, x1: float, y1: float, x2: float, y2: float, css: str) -> None:
        self.parts.append(f'<line x1="{self._x(x1):.1f}" y1="{y1:.1f}" x2="{self._x(x2):.1f}" y2="{y2:.1f}" '
                          f'class="{css}"/>')

    def path(self, points: Sequence[tuple[float, float]], css: str) -> None:
        if len(points) > 1:
            d = " ".join(f"{'M' if i == 0 else 'L'}{self._x(x):.1f},{y:.1f}" for i, (x, y) in enumerate(points))
            self.parts.append(f'<path d="{d}" class="{css}"/>')

    def dot(self, x: float, y: float, css: str, label: str | None = None) -> None:
        title = f"<title>{escape(label)}</title>" if label else ""
        self.parts.append(f'<circle cx="{self._x(x):.1f}" cy="{y:.1f}" r="3.5" class="{css}">{title}</circle>')

    def text(self, x: float, y: float, content: str, anchor: str = "start", css: str = "chart-text") -> None:
        self.parts.append(f'<text x="{self._x(x):.1f}" y="{y:.1f}" text-anchor="{self._anchor(anchor)}" '
                          f'class="{css}">{escape(content)}</text>')

    def svg(self, ident: str, title: str, description: str) -> Markup:
        head = (f'<svg class="chart" id="{escape(ident)}" viewBox="0 0 {self.width} {self.height}" role="img" '
                f'aria-labelledby="{escape(ident)}-title {escape(ident)}-desc" xmlns="http://www.w3.org/2000/svg" '
                f'direction="{"rtl" if self.rtl else "ltr"}">'
                f'<title id="{escape(ident)}-title">{escape(title)}</title>'
                f'<desc id="{escape(ident)}-desc">{escape(description)}</desc>')
        # Every text and attribute from data is escaped where it is added; the rest is numbers
        # and the code's own class names.
        return Markup(head + "".join(self.parts) + "</svg>")  # nosec B704


@dataclass(frozen=True)
class Series:
    """One set of values over the categories of a chart; ``None`` is a withheld figure."""

    name: str
    values: Sequence[float | None]
    css: str = "chart-bar"


def _legend(canvas: Canvas, series: Sequence[Series], y: float) -> None:
    x = 0.0
    for item in series:
        canvas.rect(x, y - 10, 12, 12, item.css)
        canvas.text(x + 18, y, item.name)
        x += 30 + 8 * len(item.name)


def columns(ident: str, title: str, description: str, categories: Sequence[str], series: Sequence[Series], *,
            number: Number, rtl: bool = False, withheld_note: str = "", label_every: int | None = None,
            height: int = 300) -> Markup:
    """Vertical bars, one group per category (a histogram with one series)."""
    per_group = len(series)
    start = 48
    width, slot, every = _layout(len(categories), 20 * per_group + 10, categories, start, 8)
    every = label_every or every
    top = 34 if per_group > 1 else 16
    bottom, end = height - 42, width - 8
    canvas = Canvas(width, height, rtl)
    known = [v for s in series for v in s.values if v is not None]
    maximum = nice_maximum(max(known, default=0))
    scale = (bottom - top) / maximum
    for tick in _ticks(maximum):
        y = bottom - tick * scale
        canvas.line(start, y, end, y, "chart-grid")
        canvas.text(start - 6, y + 4, number(tick), "end", "chart-axis")
    bar = min(40.0, (slot - 6) / per_group)
    for i, category in enumerate(categories):
        left = start + i * slot + (slot - bar * per_group) / 2
        for j, item in enumerate(series):
            value = item.values[i]
            x = left + j * bar
            if value is None:
                canvas.text(x + bar / 2, bottom - 4, WITHHELD, "middle", "chart-withheld")
                continue
            h = value * scale
            canvas.rect(x + 1, bottom - h, bar - 2, h, item.css, f"{category}, {item.name}: {number(value)}")
            if per_group == 1 or bar >= 18:
                canvas.text(x + bar / 2, bottom - h - 4, number(value), "middle", "chart-value")
        if i % every == 0:
            canvas.text(start + i * slot + slot / 2, bottom + 16, category, "middle", "chart-axis")
    canvas.line(start, bottom, end, bottom, "chart-baseline")
    if per_group > 1:
        _legend(canvas, series, 16)
    if withheld_note and any(v is None for s in series for v in s.values):
        canvas.text(start, height - 6, withheld_note, "start", "chart-note")
    return canvas.svg(ident, title, description)


def line(ident: str, title: str, description: str, categories: Sequence[str], values: Sequence[float | None], *,
         number: Number, rtl: bool = False, withheld_note: str = "", label_every: int | None = None,
         height: int = 240) -> Markup:
    """A line over the categories, broken where a value is withheld."""
    start = 48
    width, slot, every = _layout(len(categories), 36, categories, start, 12)
    every = label_every or every
    top, bottom, end = 24, height - 42, width - 12
    canvas = Canvas(width, height, rtl)
    maximum = nice_maximum(max((v for v in values if v is not None), default=0), least=10)
    scale = (bottom - top) / maximum
    for tick in _ticks(maximum):
        y = bottom - tick * scale
        canvas.line(start, y, end, y, "chart-grid")
        canvas.text(start - 6, y + 4, number(tick), "end", "chart-axis")
    run: list[tuple[float, float]] = []
    for i, (category, value) in enumerate(zip(categories, values, strict=True)):
        x = start + i * slot + slot / 2
        if value is None:
            canvas.path(run, "chart-line")
            run = []
            canvas.text(x, bottom - 4, WITHHELD, "middle", "chart-withheld")
        else:
            y = bottom - value * scale
            run.append((x, y))
            canvas.dot(x, y, "chart-dot", f"{category}: {number(value)}")
            canvas.text(x, y - 8, number(value), "middle", "chart-value")
        if i % every == 0:
            canvas.text(x, bottom + 16, category, "middle", "chart-axis")
    canvas.path(run, "chart-line")
    canvas.line(start, bottom, end, bottom, "chart-baseline")
    if withheld_note and any(v is None for v in values):
        canvas.text(start, height - 6, withheld_note, "start", "chart-note")
    return canvas.svg(ident, title, description)


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    css: str = "chart-bar"
    note: str = ""  # said after the number (a rating, a target)


def bars(ident: str, title: str, description: str, rows: Sequence[Bar], *, number: Number, maximum: float | None = None,
         thresholds: Sequence[tuple[float, str]] = (), rtl: bool = False, withheld_note: str = "",
         width: int = 640) -> Markup:
    """Horizontal bars, each under its label (long labels and right-to-left text stay readable),
    with optional vertical threshold lines (a target share)."""
    row_height, top = 46, 26 if thresholds else 6
    height = top + len(rows) * row_height + (20 if withheld_note else 6)
    start, end = 4, width - 130
    canvas = Canvas(width, height, rtl)
    maximum = maximum or nice_maximum(max((r.value for r in rows if r.value is not None), default=0))
    scale = (end - start) / maximum
    for i, row in enumerate(rows):
        y = top + i * row_height
        canvas.text(start, y + 14, row.label, "start", "chart-label")
        canvas.rect(start, y + 20, end - start, 16, "chart-track")
        if row.value is None:
            canvas.text(start + 6, y + 33, WITHHELD, "start", "chart-withheld")
            continue
        w = row.value * scale
        spoken = number(row.value) + (f" ({row.note})" if row.note else "")
        canvas.rect(start, y + 20, w, 16, row.css, f"{row.label}: {spoken}")
        if w > 0.75 * (end - start):  # no room after a long bar: the number goes inside it
            canvas.text(start + w - 6, y + 33, spoken, "end", "chart-value chart-inside")
        else:
            canvas.text(start + w + 6, y + 33, spoken, "start", "chart-value")
    for value, label in thresholds:
        x = start + value * scale
        canvas.line(x, top - 6, x, top + len(rows) * row_height, "chart-threshold")
        canvas.text(x, top - 10, label, "middle", "chart-axis")
    if withheld_note and any(r.value is None for r in rows):
        canvas.text(start, height - 6, withheld_note, "start", "chart-note")
    return canvas.svg(ident, title, description)
