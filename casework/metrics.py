"""Published performance figures (DESIGN §5, API.md "Metrics"): how many appeals are lodged and
closed, how long they take, how many stages end within their time limits, and how often the
contested decision is changed in the claimant's favour, for a period, by benefit and by country.

The database does the counting: aggregates, and percentiles by linear interpolation
(``percentile_cont`` on PostgreSQL; on SQLite, which has none, the values either side of each
percentile are fetched by their position in the ordered durations). No appeal is loaded into
Python. Everything meant for the public passes through ``publish``: counts from 1 to 4, and
figures resting on fewer than 5 cases, are withheld, and so are enough other cells that no
withheld one can be worked out from a total of the same report.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Iterable

from sqlalchemy import (
    BigInteger, Integer, and_, case, cast, extract, func, literal, literal_column, or_, select, true, union_all,
)
from sqlalchemy.sql.selectable import CTE
from sqlalchemy.orm import Session

from casework.clock import isoformat, now
from casework.deadlines import calendar
from casework.models import BENEFITS, Appeal, Claimant, Deadline, Event
from workflows.appeal import FAVOURABLE_OUTCOMES, OUTCOMES, TRANSITIONS, UNDECIDED_OUTCOMES

DAY = 86400
MIN_CASES = 5  # the smallest count, and the fewest cases behind a statistic, that is published
GREEN_PCT, AMBER_PCT = 75, 55  # SOLVIT-style ratings of the share of stages ended within target
PERCENTILES = (0.5, 0.9)

# Ages of open appeals and clearance times, in whole days (rounded down): (name, first, last).
AGE_BANDS = (("0-30", 0, 30), ("31-90", 31, 90), ("91-180", 91, 180), ("181-365", 181, 365), (">365", 366, None))
CLEARANCE_BANDS = tuple(
    (f"{first}-{last}", first, last)
    for first, last in ((0, 30), (31, 60), (61, 90), (91, 120), (121, 150), (151, 180), (181, 210), (211, 240),
                        (241, 270), (271, 300), (301, 330), (331, 365))
) + ((">365", 366, None),)

# Outcomes that say the contested decision was wrong, and those that are not a decision on it.
UNFAVOURABLE_OUTCOMES = tuple(o for o in OUTCOMES if o not in FAVOURABLE_OUTCOMES + UNDECIDED_OUTCOMES)

# The judgment target is a metric, not a timer (Reg. 987/2009 Art 5(4)): six calendar months from
# the acknowledgement, to the end of that day (UTC); a month without that date ends on its last day.
TRIBUNAL_TARGET = calendar.Period(6, "months")


@dataclass(frozen=True)
class Stage:
    """A stage as API.md delimits it: the events that start and end it, and the deadline row
    whose ``due_at`` it is measured against (none for the tribunal: its target is a metric)."""

    starts: tuple[str, ...]
    ends: tuple[str, ...]
    deadline: str | None


STAGES = {
    "review": Stage(("admit", "remit"), ("decide_review", "review_timeout"), "review"),
    "mediation": Stage(("request_mediation",), ("settle", "end_mediation", "mediation_timeout"), "mediation"),
    "tribunal": Stage(("acknowledge_referral",), ("deliver_judgment", "remit"), None),
}


def _sources(row: dict) -> list[str]:
    return row["source"] if isinstance(row["source"], list) else [row["source"]]


# After a review decision the appeal waits for the claimant; the first step that ends the wait
# says whether the claimant took the appeal further (read from the workflow's own table).
_LEAVE_AWAITING = tuple(sorted({
    row["trigger"] for row in TRANSITIONS
    if "awaiting_claimant" in _sources(row) and row["dest"] not in (None, "awaiting_claimant")
}))
ESCALATIONS = tuple(sorted({
    row["trigger"] for row in TRANSITIONS
    if "awaiting_claimant" in _sources(row) and row["dest"] in ("in_mediation", "escalated")
}))

DIMENSIONS = ("benefit", "handling_country", "country_pair", "month")


@dataclass(frozen=True)
class Scope:
    """What a report covers: the UTC days ``from_on`` to ``to_on`` (both included) and the
    appeals matching the filters."""

    from_on: date
    to_on: date
    benefit: str | None = None
    handling_country: str | None = None
    residence_country: str | None = None

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.from_on, time(), tzinfo=timezone.utc)

    @property
    def end_at(self) -> datetime:
        """The first moment after the period (a case closed at 23:59:59 on ``to_on`` is inside)."""
        return datetime.combine(self.to_on + timedelta(days=1), time(), tzinfo=timezone.utc)

    def as_of(self, moment: datetime) -> datetime:
        """When the open appeals are counted: the end of the period, or now if that is still to come."""
        return min(self.end_at, moment)

    @classmethod
    def default(cls, today: date, **filters) -> Scope:
        """The twelve months up to and including ``today``."""
        try:
            year_ago = today.replace(year=today.year - 1)
        except ValueError:  # 29 February
            year_ago = today.replace(year=today.year - 1, day=28)
        return cls(year_ago + timedelta(days=1), today, **filters)

    def filters(self) -> dict[str, str | None]:
        return {"benefit": self.benefit, "handling_country": self.handling_country,
                "residence_country": self.residence_country}


# --- the raw figures ---------------------------------------------------------------------------

@dataclass
class StageTally:
    cases: int = 0
    with_deadline: int = 0
    within: int = 0
    escalated: int = 0
    median_s: float | None = None
    p90_s: float | None = None


@dataclass
class Tally:
    """The raw figures of one group of appeals, before anything is withheld. Durations in seconds."""

    filed: int = 0
    closed: int = 0
    clearance_sum_s: int = 0
    clearance_median_s: float | None = None
    clearance_p90_s: float | None = None
    clearance_bands: dict[str, int] = field(default_factory=lambda: dict.fromkeys((b[0] for b in CLEARANCE_BANDS), 0))
    outcomes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    open: int | None = 0
    backlog: dict[str, int] = field(default_factory=lambda: dict.fromkeys((b[0] for b in AGE_BANDS), 0))
    stages: dict[str, StageTally] = field(default_factory=lambda: {name: StageTally() for name in STAGES})

    @property
    def favourable(self) -> int:
        return sum(self.outcomes[o] for o in FAVOURABLE_OUTCOMES)

    @property
    def decided(self) -> int:
        return self.closed - sum(self.outcomes[o] for o in UNDECIDED_OUTCOMES)


class _SQL:
    """The few expressions SQLite and PostgreSQL spell differently."""

    def __init__(self, dialect: str):
        self.postgres = dialect == "postgresql"

    def seconds(self, column):
        """Whole seconds since 1970 (times are stored in UTC); durations are differences of these."""
        if self.postgres:
            return cast(func.floor(extract("epoch", column)), BigInteger)
        if sqlite3.sqlite_version_info >= (3, 38):
            return func.unixepoch(column, type_=Integer)  # the same value as strftime('%s'), at half the cost
        return cast(func.strftime("%s", column), Integer)

    def unselective(self, condition):
        """A filter the planner must not take for the most selective condition of a query. SQLite
        has no statistics unless ANALYZE runs (the product never runs it) and assumes an equality
        on an indexed column picks out a few rows: it would then read a fifth of the appeals one by
        one instead of a range of a covering index. ``likely()`` tells it the truth."""
        return condition if self.postgres else func.likely(condition)

    def month(self, column):
        return func.to_char(column, "YYYY-MM") if self.postgres else func.strftime("%Y-%m", column)

    def months_later(self, column, months: int):
        """The first moment after the day ``months`` calendar months after ``column``'s day (a
        month without that date: its last day), as a value ``column``'s type compares with."""
        if self.postgres:
            return (func.date_trunc("day", column) + literal_column(f"INTERVAL '{int(months)} months'")
                    + literal_column("INTERVAL '1 day'"))
        # SQLite's '+N months' runs over into the next month (31 Aug + 6 months = 3 March): when the
        # day changed, the month had no such day, and its last day is the one before the next's first.
        later = func.date(column, f"+{int(months)} months")
        last_day = case((func.strftime("%d", later) == func.strftime("%d", column), later),
                        else_=func.date(later, "start of month", "-1 day"))
        # Dates compare as text with the stored 'YYYY-MM-DD HH:MM:SS.ffffff' times.
        return func.date(last_day, "+1 day")


def _lerp(position: float, values: dict[int, int]) -> float:
    """``percentile_cont``'s interpolation, step for step, so both databases give the same value."""
    low = int(position)
    if position == low:
        return float(values[low])
    first, second = float(values[low]), float(values[low + 1])
    return first + (position - low) * (second - first)


class _Counting:
    """The queries behind one report or breakdown: one scope, optionally one dimension."""

    def __init__(self, session: Session, scope: Scope, moment: datetime, dimension: str | None = None):
        self.session = session
        self.scope = scope
        self.as_of = scope.as_of(moment)
        self.dimension = dimension
        self.sql = _SQL(session.get_bind().dialect.name)
        self.appeal = Appeal.__table__
        self.claimant = Claimant.__table__
        self.tallies: dict[Any, Tally] = {}

    # -- shared pieces --

    def _tally(self, key) -> Tally:
        if key not in self.tallies:
            self.tallies[key] = Tally(open=None if self.dimension == "month" else 0)
        return self.tallies[key]

    def _keys(self, when) -> list:
        """The group columns; ``when`` is the moment a figure is counted at (for months)."""
        a, c = self.appeal.c, self.claimant.c
        return {
            None: [],
            "benefit": [a.benefit.label("k0")],
            "handling_country": [a.handling_country.label("k0")],
            "country_pair": [a.handling_country.label("k0"), c.residence_country.label("k1")],
            "month": [self.sql.month(when).label("k0")],
        }[self.dimension]

    def _conditions(self) -> list:
        """The filters, as conditions on the appeal row (the claimant's country through the
        claimant's identifier, so no appeal needs its claimant read)."""
        a, c = self.appeal.c, self.claimant.c
        conditions = []
        if self.scope.benefit:
            conditions.append(a.benefit == self.scope.benefit)
        if self.scope.handling_country:
            conditions.append(a.handling_country == self.scope.handling_country)
        if self.scope.residence_country:
            conditions.append(a.claimant_id.in_(select(c.id).where(c.residence_country == self.scope.residence_country)))
        return conditions

    def _filters(self) -> list:
        """The filters of a query that walks a range of appeals by a time: a filter narrows that
        range, it must not replace it (see ``_SQL.unselective``)."""
        return [self.sql.unselective(condition) for condition in self._conditions()]

    def _appeals(self):
        """The appeal table, with the claimant's when the grouping reads it."""
        if self.dimension == "country_pair":
            return self.appeal.join(self.claimant, self.claimant.c.id == self.appeal.c.claimant_id)
        return self.appeal

    @staticmethod
    def _key(row, width: int):
        if width == 0:
            return None
        return row[0] if width == 1 else tuple(row[:width])

    def _distribution(self, source, value: str, totals: dict[str, tuple[str, str]],
                      also: list | None = None, also_by: list | None = None) -> tuple[dict, list]:
        """Per group: how many rows, the ``totals`` ({name: (sum|count, column)}) and the median and
        90th percentile of ``value``, in one pass over ``source`` (with k… group columns). ``also``
        are more columns to aggregate over ``source`` (then a materialized CTE) grouped by the groups
        and ``also_by``: on SQLite they come in the same statement, so ``source`` is computed once;
        their rows are returned as they are (group columns first)."""
        keys = [column for column in source.c if column.name.startswith("k")]
        width = len(keys)
        v = source.c[value]
        aggregate = {"sum": func.sum, "count": func.count}
        results: dict[Any, dict] = {}
        extra = select(*keys, *(also or [])).group_by(*keys, *(also_by or [])) if also else None
        if self.sql.postgres:
            query = select(
                *keys, func.count(), *(aggregate[kind](source.c[col]) for kind, col in totals.values()),
                *(func.percentile_cont(p).within_group(v) for p in PERCENTILES),
            ).group_by(*keys)
            for row in self.session.execute(query):
                if not row[width]:
                    continue  # no group by: one row, of nothing
                figures = {"n": int(row[width])}
                figures.update({name: int(row[width + 1 + i] or 0) for i, name in enumerate(totals)})
                for i, p in enumerate(PERCENTILES):
                    figures[p] = float(row[width + 1 + len(totals) + i])
                results[self._key(row, width)] = figures
            return results, list(self.session.execute(extra)) if extra is not None else []
        # SQLite: number the ordered values once, keep the two either side of each percentile. The
        # counts come from a GROUP BY beside it, not from more window functions: each window of
        # another shape costs SQLite one more sort of every row.
        rows = source if isinstance(source, CTE) else select(*source.c).cte("measured").prefix_with("MATERIALIZED")
        keys = [rows.c[column.name] for column in keys]
        v = rows.c[value]
        ranked = (select(*keys, v.label("v"), (func.row_number().over(partition_by=keys or None, order_by=v) - 1).label("i"))
                  .cte("ranked").prefix_with("MATERIALIZED"))
        counted = (select(*keys, func.count().label("n"),
                          *(aggregate[kind](rows.c[col]).label(f"t_{name}") for name, (kind, col) in totals.items()))
                   .select_from(rows).group_by(*keys).cte("counted").prefix_with("MATERIALIZED"))
        same_group = and_(true(), *(ranked.c[k.name] == counted.c[k.name] for k in keys))
        positions = []
        for p in PERCENTILES:
            low = cast(literal(p) * (counted.c.n - 1), Integer)
            positions += [ranked.c.i == low, ranked.c.i == low + 1]
        columns = [ranked.c.i, ranked.c.v, counted.c.n, *(counted.c[f"t_{name}"] for name in totals)]
        query = (select(*(ranked.c[k.name] for k in keys), literal(0).label("part"), *columns)
                 .select_from(ranked.join(counted, same_group)).where(or_(*positions)))
        if also:
            pad = max(len(columns), len(also))
            query = union_all(
                query.add_columns(*(literal(None) for _ in range(pad - len(columns)))),
                select(*keys, literal(1).label("part"), *also, *(literal(None) for _ in range(pad - len(also))))
                .group_by(*keys, *(also_by or [])),
            )
        values: dict[Any, dict[int, int]] = {}
        extra_rows = []
        for row in self.session.execute(query):
            if row[width] == 1:
                extra_rows.append(tuple(row[:width]) + tuple(row[width + 1:width + 1 + len(also)]))
                continue
            key = self._key(row, width)
            i, v_, n = row[width + 1], row[width + 2], row[width + 3]
            if key not in results:
                results[key] = {"n": int(n), **{name: int(row[width + 4 + j] or 0) for j, name in enumerate(totals)}}
            values.setdefault(key, {})[int(i)] = int(v_)
        for key, figures in results.items():
            for p in PERCENTILES:
                figures[p] = _lerp(p * (figures["n"] - 1), values[key])
        return results, extra_rows

    # -- the figures --

    def filed(self) -> None:
        a = self.appeal.c
        keys = self._keys(a.lodged_at)
        query = (select(*keys, func.count()).select_from(self._appeals())
                 .where(a.lodged_at >= self.scope.start_at, a.lodged_at < self.scope.end_at, *self._filters())
                 .group_by(*keys))
        for row in self.session.execute(query):
            self._tally(self._key(row, len(keys))).filed = int(row[-1])

    def _closed_rows(self):
        a = self.appeal.c
        seconds = self.sql.seconds(a.closed_at) - self.sql.seconds(a.lodged_at)
        return (select(*self._keys(a.closed_at), a.outcome.label("outcome"), seconds.label("seconds"),
                       (seconds // DAY).label("days")).select_from(self._appeals())
                .where(a.closed_at >= self.scope.start_at, a.closed_at < self.scope.end_at, *self._filters())
                # Durations computed once per appeal, not once per band they are compared with.
                .cte("closed_in_period").prefix_with("MATERIALIZED"))

    @staticmethod
    def _band(days, bands):
        return case(*((days <= last, name) for name, _first, last in bands if last is not None), else_=bands[-1][0])

    def closed(self) -> None:
        rows = self._closed_rows()
        keys = [column for column in rows.c if column.name.startswith("k")]
        band = self._band(rows.c.days, CLEARANCE_BANDS)
        counts = [rows.c.outcome, band, func.count(), func.sum(rows.c.seconds)]
        figures, groups = self._distribution(rows, "seconds", {}, also=counts, also_by=[rows.c.outcome, band])
        for row in groups:
            tally = self._tally(self._key(row, len(keys)))
            outcome, name, count, total = row[len(keys):]
            tally.closed += int(count)
            tally.clearance_sum_s += int(total)
            tally.outcomes[outcome] += int(count)
            tally.clearance_bands[name] += int(count)
        for key, figures_ in figures.items():
            tally = self._tally(key)
            tally.clearance_median_s, tally.clearance_p90_s = figures_[0.5], figures_[0.9]

    def backlog(self) -> None:
        """Appeals open at ``as_of``: lodged before it and not closed before it, by age."""
        if self.dimension == "month":
            return
        a = self.appeal.c
        # Open at as_of: not closed yet, or closed after it. Two ranges of one index, each short
        # for a recent period (an OR would let a planner without statistics scan every appeal).
        ranges = [
            select(*self._keys(None), a.lodged_at.label("lodged_at")).select_from(self._appeals())
            .where(closed, a.lodged_at < self.as_of, *self._filters())
            for closed in (a.closed_at.is_(None), a.closed_at >= self.as_of)
        ]
        open_ = union_all(*ranges).cte("open_at_end").prefix_with("MATERIALIZED")
        keys = [column for column in open_.c if column.name.startswith("k")]
        age = (literal(int(self.as_of.timestamp()), BigInteger) - self.sql.seconds(open_.c.lodged_at)) // DAY
        ages = select(*keys, age.label("age")).subquery("ages")
        band = self._band(ages.c.age, AGE_BANDS)
        keys = [column for column in ages.c if column.name.startswith("k")]
        query = select(*keys, band, func.count()).group_by(*keys, band)
        for row in self.session.execute(query):
            tally = self._tally(self._key(row, len(keys)))
            name, count = row[len(keys)], int(row[len(keys) + 1])
            tally.backlog[name] += count
            tally.open += count

    def stages(self) -> None:
        """Stages that ended in the period: from the event that ended each one back to the event
        that started it, measured against its deadline row (the tribunal's, against its target).
        A stage the appeal was withdrawn during never ended, so it is not counted. All three
        kinds in one statement, so the appeals the filters choose are found once."""
        event, a = Event.__table__, self.appeal
        stage_of = case(*((event.c.action.in_(spec.ends), name) for name, spec in STAGES.items()))
        source = event
        if self.dimension in ("benefit", "handling_country", "country_pair"):
            source = source.join(a, a.c.id == event.c.appeal_id)
            if self.dimension == "country_pair":
                source = source.join(self.claimant, self.claimant.c.id == a.c.claimant_id)
        conditions = [event.c.action.in_([action for spec in STAGES.values() for action in spec.ends]),
                      event.c.occurred_at >= self.scope.start_at, event.c.occurred_at < self.scope.end_at]
        if self._conditions():
            chosen = select(a.c.id).where(*self._conditions()).cte("chosen_appeals").prefix_with("MATERIALIZED")
            conditions.append(self.sql.unselective(event.c.appeal_id.in_(select(chosen.c.id))))
        # The events that ended a stage in the period, in the order of the appeals: the lookups
        # below then walk the history index in order instead of jumping about it.
        ends = (select(stage_of.label("k_stage"), *self._keys(event.c.occurred_at), event.c.appeal_id, event.c.seq,
                       event.c.occurred_at.label("ended_at"))
                .select_from(source).where(*conditions)
                .order_by(event.c.appeal_id, event.c.seq)
                .cte("stage_ends").prefix_with("MATERIALIZED"))
        earlier, later = event.alias("earlier"), event.alias("later")
        deadline = Deadline.__table__.alias("stage_deadline")

        def started(spec: Stage):
            return (select(earlier.c.occurred_at)
                    .where(earlier.c.appeal_id == ends.c.appeal_id, earlier.c.seq < ends.c.seq,
                           earlier.c.action.in_(spec.starts))
                    .order_by(earlier.c.seq.desc()).limit(1).correlate(ends).scalar_subquery())

        started_at = case(*((ends.c.k_stage == name, started(spec)) for name, spec in STAGES.items()))
        # The stage's deadline row: started with it, and closed by the same step that ended it.
        due_at = (select(deadline.c.due_at)
                  .where(deadline.c.appeal_id == ends.c.appeal_id, deadline.c.kind == ends.c.k_stage,
                         deadline.c.ended_at == ends.c.ended_at)
                  .limit(1).correlate(ends).scalar_subquery())
        deadline_kinds = [name for name, spec in STAGES.items() if spec.deadline]
        due_at = case((ends.c.k_stage.in_(deadline_kinds), due_at))
        next_step = (select(later.c.action)
                     .where(later.c.appeal_id == ends.c.appeal_id, later.c.seq > ends.c.seq,
                            later.c.action.in_(_LEAVE_AWAITING))
                     .order_by(later.c.seq).limit(1).correlate(ends).scalar_subquery())
        next_step = case((ends.c.k_stage == "review", next_step))
        keys = [column for column in ends.c if column.name.startswith("k")]
        # Each lookup runs once per stage, not once per use below. (``ends`` must stay the only
        # table here: SQLite drops a CTE's ORDER BY when it is joined.)
        found = (select(*keys, ends.c.ended_at, started_at.label("started_at"), due_at.label("due_at"),
                        next_step.label("next_action"))
                 .cte("stages_found").prefix_with("MATERIALIZED"))
        target = self.sql.months_later(found.c.started_at, TRIBUNAL_TARGET.amount)
        within = case((found.c.k_stage == "tribunal", case((found.c.ended_at < target, 1), else_=0)),
                      (found.c.due_at.is_(None), None),
                      (found.c.ended_at <= found.c.due_at, 1), else_=0)
        instances = select(
            *(column for column in found.c if column.name.startswith("k")),
            (self.sql.seconds(found.c.ended_at) - self.sql.seconds(found.c.started_at)).label("seconds"),
            within.label("within"), case((found.c.next_action.in_(ESCALATIONS), 1), else_=0).label("escalated"),
        ).where(found.c.started_at.is_not(None)).cte("stage_instances").prefix_with("MATERIALIZED")
        totals = {"within": ("sum", "within"), "with_deadline": ("count", "within"), "escalated": ("sum", "escalated")}
        for key, figures in self._distribution(instances, "seconds", totals)[0].items():
            name, key = (key, None) if not isinstance(key, tuple) else (key[0], key[1] if len(key) == 2 else key[1:])
            self._tally(key).stages[name] = StageTally(
                cases=figures["n"], with_deadline=figures["with_deadline"], within=figures["within"],
                escalated=figures["escalated"], median_s=figures[0.5], p90_s=figures[0.9],
            )

    def run(self) -> dict[Any, Tally]:
        self.filed()
        self.closed()
        self.backlog()
        self.stages()
        return self.tallies


def tally(session: Session, scope: Scope, moment: datetime | None = None, dimension: str | None = None) -> dict[Any, Tally]:
    """The raw figures of ``scope``, by group of ``dimension`` (key None without one)."""
    if dimension not in (None, *DIMENSIONS):
        raise ValueError(f"unknown dimension {dimension!r}")
    tallies = _Counting(session, scope, moment or now(), dimension).run()
    if dimension is None:
        tallies.setdefault(None, Tally())
    return tallies


# --- what may be published -----------------------------------------------------------------------

@dataclass
class _Figure:
    """One published number before rounding: a ``count``, ``days`` (seconds, resting on ``cases``),
    a ``share`` (``value`` = (part, whole)) or the ``rating`` of the share named ``follows``."""

    kind: str
    value: Any
    cases: int = 0
    follows: str | None = None


def _days(seconds: float | Decimal) -> float:
    return float((Decimal(seconds) / DAY).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _percent(part: int, whole: int) -> float:
    return float((Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def rating(part: int, whole: int) -> str:
    """Green from 75 % of stages within target, amber from 55 %, red below (exact shares)."""
    if part * 100 >= GREEN_PCT * whole:
        return "green"
    if part * 100 >= AMBER_PCT * whole:
        return "amber"
    return "red"


def _figures(t: Tally, detail: bool = True) -> tuple[dict[str, _Figure], list[tuple[str, list[str]]]]:
    """A tally as named figures, and the groups of them whose total is published (or can be
    derived): within each, a withheld cell must not be recoverable by subtraction."""
    figures: dict[str, _Figure] = {"filed": _Figure("count", t.filed), "closed": _Figure("count", t.closed)}
    groups: list[tuple[str, list[str]]] = []
    if t.open is not None:
        figures["open"] = _Figure("count", t.open)
    if detail and t.open is not None:
        names = [f"backlog_by_age.{band}" for band in t.backlog]
        figures.update({name: _Figure("count", t.backlog[name.split(".", 1)[1]]) for name in names})
        groups.append(("open", names))
    figures["clearance_days.median"] = _Figure("days", t.clearance_median_s, t.closed)
    figures["clearance_days.p90"] = _Figure("days", t.clearance_p90_s, t.closed)
    figures["clearance_days.mean"] = _Figure(
        "days", Decimal(t.clearance_sum_s) / t.closed if t.closed else None, t.closed)
    if detail:
        names = [f"clearance_distribution.{band}" for band in t.clearance_bands]
        figures.update({name: _Figure("count", t.clearance_bands[name.split(".", 1)[1]]) for name in names})
        groups.append(("closed", names))
    for name, stage in t.stages.items():
        prefix = f"stages.{name}."
        figures[prefix + "cases"] = _Figure("count", stage.cases)
        figures[prefix + "median_days"] = _Figure("days", stage.median_s, stage.cases)
        figures[prefix + "p90_days"] = _Figure("days", stage.p90_s, stage.cases)
        figures[prefix + "within_deadline_pct"] = _Figure("share", (stage.within, stage.with_deadline), stage.with_deadline)
        figures[prefix + "rating"] = _Figure("rating", (stage.within, stage.with_deadline), stage.with_deadline,
                                             follows=prefix + "within_deadline_pct")
    if detail:
        names = [f"outcomes.{outcome}" for outcome in OUTCOMES]
        figures.update({name: _Figure("count", t.outcomes[name.split(".", 1)[1]]) for name in names})
        groups.append(("closed", names))
        # The rate splits the decided outcomes into favourable and not, and (with the total)
        # sets them apart from the undecided: while it is published each part is a total too.
        for part in (FAVOURABLE_OUTCOMES, UNFAVOURABLE_OUTCOMES, UNDECIDED_OUTCOMES):
            groups.append(("changed_in_favour_pct", [f"outcomes.{outcome}" for outcome in part]))
    figures["changed_in_favour_pct"] = _Figure("share", (t.favourable, t.decided), t.decided)
    review = t.stages["review"]
    figures["escalation_pct"] = _Figure("share", (review.escalated, review.cases), review.cases)
    return figures, groups


def _primary(figure: _Figure) -> bool:
    """Withheld for what it is: a count from 1 to 4, or a statistic resting on fewer than 5 cases."""
    if figure.kind == "count":
        return 0 < figure.value < MIN_CASES
    return figure.cases < MIN_CASES


def _complete(cells: dict[str, int], withheld: set[str]) -> bool:
    """Withhold more cells of a group with a published total until no withheld one can be worked
    out: at least two withheld, and not all of them 1 (every withheld cell is at least 1). Returns
    False when that cannot be done, and the total must go."""
    while True:
        hidden = [name for name in cells if name in withheld]
        if not hidden or (len(hidden) >= 2 and sum(cells[name] for name in hidden) > len(hidden)):
            return True
        candidates = sorted((value, name) for name, value in cells.items() if name not in withheld and value > 0)
        if not candidates:
            return False
        withheld.add(candidates[0][1])


def withhold(figures: dict[str, _Figure], groups: Iterable[tuple[str, list[str]]]) -> set[str]:
    """The names of the figures that must not be published (DESIGN §5): primary suppression, then
    complementary suppression in every group until nothing changes."""
    withheld = {name for name, figure in figures.items() if figure.kind != "rating" and _primary(figure)}
    groups = list(groups)
    changed = True
    while changed:
        changed = False
        for total, names in groups:
            if total in withheld:
                continue
            before = len(withheld)
            cells = {name: figures[name].value for name in names}
            if not _complete(cells, withheld):
                withheld.add(total)
            changed = changed or len(withheld) != before
    withheld |= {name for name, figure in figures.items() if figure.kind == "rating" and figure.follows in withheld}
    return withheld


def _value(figure: _Figure) -> Any:
    if figure.kind == "count":
        return figure.value
    if figure.kind == "days":
        return _days(figure.value)
    if figure.kind == "share":
        return _percent(*figure.value)
    return rating(*figure.value)


def _nest(flat: dict[str, Any]) -> dict:
    nested: dict = {}
    for name, value in flat.items():
        *path, last = name.split(".")
        node = nested
        for part in path:
            node = node.setdefault(part, {})
        node[last] = value
    return nested


def _published(figures: dict[str, _Figure], withheld: set[str], prefix: str = "") -> tuple[dict, list[str]]:
    flat = {}
    for name, figure in figures.items():
        flat[name] = None if prefix + name in withheld else _value(figure)
    return _nest(flat), [name for name in figures if prefix + name in withheld]


def targets(config: dict | None = None) -> dict[str, dict]:
    """The time each stage should take: the installation's legal periods, the tribunal's metric target."""
    overrides = (config or {}).get("STAGE_PERIODS") or {}
    review = calendar.stage_period("review", overrides)
    mediation = calendar.stage_period("mediation", overrides)
    extension = calendar.stage_period("mediation_extension", overrides)
    return {
        "review": {"amount": review.amount, "unit": review.unit},
        "mediation": {"amount": mediation.amount, "unit": mediation.unit,
                      "extension": {"amount": extension.amount, "unit": extension.unit}},
        "tribunal": {"amount": TRIBUNAL_TARGET.amount, "unit": TRIBUNAL_TARGET.unit},
    }


def _head(scope: Scope, moment: datetime) -> dict:
    return {
        "period": {"from": scope.from_on.isoformat(), "to": scope.to_on.isoformat()},
        "filters": scope.filters(),
        "as_of": isoformat(scope.as_of(moment)),
    }


def publish(t: Tally, scope: Scope, moment: datetime, config: dict | None = None) -> dict:
    """The public report of one tally: API.md's shape, with small cells withheld and named."""
    figures, groups = _figures(t)
    withheld = withhold(figures, groups)
    body, suppressed = _published(figures, withheld)
    for name, target in targets(config).items():
        body["stages"][name]["target"] = target
    return {**_head(scope, moment), **body, "rating_thresholds": {"green": float(GREEN_PCT), "amber": float(AMBER_PCT)},
            "suppressed": suppressed}


def report(session: Session, scope: Scope, moment: datetime | None = None, config: dict | None = None) -> dict:
    """GET /api/v1/metrics: every figure of API.md for ``scope``."""
    moment = moment or now()
    return publish(tally(session, scope, moment)[None], scope, moment, config)


def _group_fields(dimension: str, key) -> dict:
    if dimension == "country_pair":
        return {"handling_country": key[0], "residence_country": key[1]}
    return {dimension: key}


def _months(scope: Scope) -> list[str]:
    months, year, month = [], scope.from_on.year, scope.from_on.month
    while (year, month) <= (scope.to_on.year, scope.to_on.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


_COLUMNS = ("filed", "closed", "open", "stages.review.cases", "stages.mediation.cases", "stages.tribunal.cases")


def breakdown(session: Session, scope: Scope, by: str, moment: datetime | None = None,
              config: dict | None = None, total: Tally | None = None) -> dict:
    """GET /api/v1/metrics/breakdown: the main figures per benefit, handling country, pair of
    countries (handling → claimant's residence) or month, with the total of the whole scope
    (``total``, when the caller has it already). Each column of counts is protected against its
    total like the cells of a report."""
    moment = moment or now()
    tallies = tally(session, scope, moment, by)
    total = total or tally(session, scope, moment)[None]
    if by == "month":
        total = replace(total, open=None)  # months list what was lodged and closed in them, not what stood open
        keys = _months(scope)
    elif by == "benefit":
        keys = list(BENEFITS)
    else:
        keys = sorted(key for key in tallies if key is not None)
    rows = [(key, tallies.get(key) or Tally(open=None if by == "month" else 0)) for key in keys]

    figures: dict[str, _Figure] = {}
    groups: list[tuple[str, list[str]]] = []
    shown: dict[str, list[str]] = {}
    for prefix, t in [("total/", total)] + [(f"{i}/", t) for i, (_key, t) in enumerate(rows)]:
        # Rows are filtered reports in all but name: what those would withhold, they withhold.
        own, own_groups = _figures(t)
        figures.update({prefix + name: replace(figure, follows=figure.follows and prefix + figure.follows)
                        for name, figure in own.items()})
        groups += [(prefix + head, [prefix + name for name in names]) for head, names in own_groups]
        shown[prefix] = list(_figures(t, detail=False)[0])
    for column in _COLUMNS:
        if f"total/{column}" in figures:
            groups.append((f"total/{column}", [f"{i}/{column}" for i in range(len(rows))]))
    withheld = withhold(figures, groups)

    def row(prefix: str) -> dict:
        own = {name: figures[prefix + name] for name in shown[prefix]}
        body, suppressed = _published(own, withheld, prefix)
        return {**body, "suppressed": suppressed}

    return {
        **_head(scope, moment),
        "by": by,
        "rows": [{**_group_fields(by, key), **row(f"{i}/")} for i, (key, _t) in enumerate(rows)],
        "total": row("total/"),
    }
