"""The appeal workflow drawn as an SVG, from the transition table itself, with the current stage
highlighted: the diagram cannot disagree with what the workflow allows."""

from __future__ import annotations

from functools import lru_cache

from markupsafe import Markup, escape

from casework.i18n import STATE_LABELS
from workflows.appeal import STATES, TRANSITIONS

# Where each stage sits (column, row): review on the left, mediation and tribunal to the right.
_PLACES = {
    "lodged": (0, 0), "under_review": (1, 0), "awaiting_information": (1, 1), "awaiting_claimant": (2, 0),
    "in_mediation": (3, 0), "escalated": (3, 1), "before_tribunal": (4, 1), "closed": (2, 2),
}
_W, _H, _DX, _DY, _PAD = 164, 62, 198, 104, 10


def _centre(state: str) -> tuple[float, float]:
    column, row = _PLACES[state]
    return _PAD + column * _DX + _W / 2, _PAD + row * _DY + _H / 2


@lru_cache(maxsize=None)
def _edges() -> tuple[tuple[str, str], ...]:
    pairs = set()
    for row in TRANSITIONS:
        sources = row["source"] if isinstance(row["source"], list) else [row["source"]]
        for source in sources:
            if row["dest"] and row["dest"] != source:
                pairs.add((source, row["dest"]))
    return tuple(sorted(pairs))


def _edge(source: str, dest: str) -> str:
    (x1, y1), (x2, y2) = _centre(source), _centre(dest)
    # Start and end on the boxes' edges, not their centres.
    dx, dy = x2 - x1, y2 - y1
    scale = min((_W / 2) / abs(dx) if dx else 1e9, (_H / 2) / abs(dy) if dy else 1e9)
    sx, sy, ex, ey = x1 + dx * scale, y1 + dy * scale, x2 - dx * scale, y2 - dy * scale
    return f'<line x1="{sx:.0f}" y1="{sy:.0f}" x2="{ex:.0f}" y2="{ey:.0f}" class="wf-edge" marker-end="url(#wf-arrow)"/>'


def _wrap(label: str, width: int = 21) -> list[str]:
    """At most three lines that fit a box; a longer label keeps its words and runs a little wide."""
    words, lines = label.split(), [""]
    for word in words:
        candidate = f"{lines[-1]} {word}".strip()
        if len(candidate) <= width or not lines[-1] or len(lines) == 3:
            lines[-1] = candidate
        else:
            lines.append(word)
    return lines


def workflow_svg(current: str) -> Markup:
    width = _PAD * 2 + 4 * _DX + _W
    height = _PAD * 2 + 2 * _DY + _H
    parts = [
        f'<svg class="workflow" viewBox="0 0 {width} {height}" role="img" aria-labelledby="wf-title" '
        f'xmlns="http://www.w3.org/2000/svg"><title id="wf-title">{escape(str(STATE_LABELS[current]))}</title>',
        '<defs><marker id="wf-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="wf-arrowhead"/></marker></defs>',
    ]
    parts += [_edge(source, dest) for source, dest in _edges()]
    for state in STATES:
        x, y = _centre(state)
        css = "wf-state wf-current" if state == current else "wf-state"
        lines = _wrap(str(STATE_LABELS[state]))
        first = y + 5 - 8 * (len(lines) - 1)
        text = "".join(f'<tspan x="{x:.0f}" y="{first + 16 * i:.0f}">{escape(line)}</tspan>' for i, line in enumerate(lines))
        parts.append(
            f'<g class="{css}"><rect x="{x - _W / 2:.0f}" y="{y - _H / 2:.0f}" width="{_W}" height="{_H}" rx="8"/>'
            f'<text text-anchor="middle">{text}</text></g>'
        )
    parts.append("</svg>")
    # The labels are escaped above; the rest is the code's own markup and numbers.
    return Markup("".join(parts))  # nosec B704
