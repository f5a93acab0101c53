"""Insurance periods and their aggregation (Regulation 883/2004 Art 6; Regulation 987/2009 Art 12).

Every confirmed period of every country is counted, and a day covered by periods of two or more
countries is counted once, for the one country whose period prevails under Art 12 of 987/2009:

1. compulsory insurance (employment, self-employment, residence) before voluntary or optional
   continued insurance (Art 12(3));
2. a period of insurance or residence before a period only credited as equivalent (Art 12(4));
3. between compulsory periods, the country where the work was done before the country of
   residence (Regulation 883/2004 Art 11(3)(a));
4. between periods credited in two countries, the country whose legislation the person was last
   compulsorily subject to before, else the first one after (Art 12(5));
5. two countries' periods of the same standing (two jobs, say) cannot both be right: only one
   legislation applies at a time (883/2004 Art 11(1), Art 13). The day is counted for the country
   whose period began first, and the calculation carries a warning to check the certified records.

Days of one country's overlapping periods (a job and a credit there) are simply counted once.

Lengths are given in months and days. A stretch of days is measured in whole months counted from
its first day, as time limits are (Regulation 1182/71 Art 3(2)(c); § 188 BGB): a month that began
on the 15th is complete at the end of the 14th of the next month, and one that began on a day the
next month lacks (the 29th to 31st) at the end of that shorter month: 31 January to 28 February is
one month, and 29 February 2020 to 28 February 2021 one year. The days after the last whole month
are days. The stretches' months are added, and so are the days left over from separate stretches,
every 30 of them making one more month; the days left over from a single stretch stay days
(1 January to 30 December is 11 months and 30 days, not a year). The exact number of days is kept
too: the pro-rata ratio of Art 52 is computed in days.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, timedelta
from itertools import pairwise
from typing import Iterable, Sequence

from dateutil.relativedelta import relativedelta

KINDS = ("employment", "self_employment", "residence", "voluntary", "credited_care", "other_credited")
WORK = frozenset({"employment", "self_employment"})
COMPULSORY = frozenset({"employment", "self_employment", "residence"})
CREDITED = frozenset({"credited_care", "other_credited"})
DAYS_PER_MONTH = 30

# Why a day covered in two countries was counted for the one it was (see the module's docstring).
COMPULSORY_OVER_VOLUNTARY = "compulsory_over_voluntary"  # 987/2009 Art 12(3)
INSURANCE_OVER_CREDITED = "insurance_over_credited"  # 987/2009 Art 12(4)
WORK_OVER_RESIDENCE = "work_over_residence"  # 883/2004 Art 11(3)(a)
CREDITED_LAST_BEFORE = "credited_last_compulsory_before"  # 987/2009 Art 12(5), first sentence
CREDITED_FIRST_AFTER = "credited_first_compulsory_after"  # 987/2009 Art 12(5), second sentence
FIRST_STARTED = "first_started"  # 883/2004 Art 11(1), Art 13: needs checking
OVERLAP_RULES = (COMPULSORY_OVER_VOLUNTARY, INSURANCE_OVER_CREDITED, WORK_OVER_RESIDENCE, CREDITED_LAST_BEFORE,
                 CREDITED_FIRST_AFTER, FIRST_STARTED)


def standing(kind: str) -> int:
    """How strongly a period counts when it meets another country's: lower prevails."""
    if kind in WORK:
        return 0
    if kind in COMPULSORY:
        return 1
    if kind in CREDITED:
        return 3
    return 2  # voluntary


@dataclass(frozen=True)
class Period:
    """A period completed under one country's legislation, both days included."""

    country: str
    starts_on: date
    ends_on: date
    kind: str
    id: int | None = None

    @property
    def days(self) -> int:
        return (self.ends_on - self.starts_on).days + 1


@dataclass(frozen=True, order=True)
class Duration:
    """A length as people say it (months and days, 30 days making a month) and exactly (days)."""

    months: int = 0
    days: int = 0
    total_days: int = 0

    def as_json(self) -> dict:
        return {"months": self.months, "days": self.days, "total_days": self.total_days}


def _end_of_month(first: date, count: int) -> date:
    """The last day of the ``count``-th whole month counted from ``first`` (see the docstring)."""
    if count == 0:
        return first - timedelta(days=1)
    same_day = first + relativedelta(months=count)  # the last day of the month where it lacks that day
    return same_day if same_day.day != first.day else same_day - timedelta(days=1)


def months_and_days(first: date, last: date) -> tuple[int, int]:
    """Whole months from ``first`` to ``last`` (both included), and the days left over."""
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    while months > 0 and _end_of_month(first, months) > last:
        months -= 1
    return months, (last - _end_of_month(first, months)).days


def duration(stretches: Iterable[tuple[date, date]]) -> Duration:
    """The length of unbroken, non-overlapping stretches (first and last day included)."""
    months = days = total = parts = 0
    for first, last in stretches:
        whole, rest = months_and_days(first, last)
        months += whole
        days += rest
        total += (last - first).days + 1
        parts += bool(rest)
    if parts > 1:
        months += days // DAYS_PER_MONTH
        days %= DAYS_PER_MONTH
    return Duration(months, days, total)


def merged(spans: Iterable[tuple[date, date]]) -> list[tuple[date, date]]:
    """Spans joined where they overlap or touch: the unbroken stretches they cover."""
    out: list[list[date]] = []
    for first, last in sorted(spans):
        if out and first <= out[-1][1] + timedelta(days=1):
            out[-1][1] = max(out[-1][1], last)
        else:
            out.append([first, last])
    return [(first, last) for first, last in out]


@dataclass(frozen=True)
class Overlap:
    """Days covered by periods of two or more countries, counted once, for ``counted_for``."""

    starts_on: date
    ends_on: date
    countries: tuple[str, ...]
    counted_for: str
    rule: str
    period_ids: tuple[int | None, ...]

    def as_json(self) -> dict:
        return {
            "starts_on": self.starts_on.isoformat(),
            "ends_on": self.ends_on.isoformat(),
            "countries": list(self.countries),
            "counted_for": self.counted_for,
            "rule": self.rule,
            "period_ids": list(self.period_ids),
        }


@dataclass
class Aggregation:
    """Every confirmed period counted once: per country as recorded there (``recorded``), per
    country after overlaps (``counted``, whose days add up to the total's), and in total."""

    periods: list[Period]
    recorded: dict[str, Duration]
    counted: dict[str, Duration]
    total: Duration
    overlaps: list[Overlap]

    @property
    def countries(self) -> list[str]:
        return sorted(self.recorded)

    @property
    def needs_checking(self) -> list[Overlap]:
        return [overlap for overlap in self.overlaps if overlap.rule == FIRST_STARTED]


def _last_compulsory(periods: Sequence[Period], day: date, *, before: bool) -> str | None:
    """The country of the compulsory period that ended last before ``day`` (or began first after it)."""
    if before:
        candidates = [p for p in periods if p.kind in COMPULSORY and p.ends_on < day]
        chosen = max(candidates, key=lambda p: (p.ends_on, p.starts_on, p.country), default=None)
    else:
        candidates = [p for p in periods if p.kind in COMPULSORY and p.starts_on > day]
        chosen = min(candidates, key=lambda p: (p.starts_on, p.ends_on, p.country), default=None)
    return chosen.country if chosen else None


def _first_started(candidates: Sequence[Period]) -> Period:
    return min(candidates, key=lambda p: (p.starts_on, p.country, p.ends_on))


def _prevailing(covering: Sequence[Period], periods: Sequence[Period], day: date) -> tuple[Period, str | None]:
    """The period whose country counts a day covered by ``covering``, and the rule that chose it
    (None when the periods are all of one country)."""
    if len({p.country for p in covering}) == 1:
        return _first_started(covering), None
    best = min(standing(p.kind) for p in covering)
    top = [p for p in covering if standing(p.kind) == best]
    if len({p.country for p in top}) == 1:
        beaten = {standing(p.kind) for p in covering if p.country != top[0].country}
        if best == 0 and beaten == {1}:
            rule = WORK_OVER_RESIDENCE
        elif best <= 1 and beaten <= {1, 2}:
            rule = COMPULSORY_OVER_VOLUNTARY
        else:
            rule = INSURANCE_OVER_CREDITED
        return _first_started(top), rule
    if best == 3:
        for before, rule in ((True, CREDITED_LAST_BEFORE), (False, CREDITED_FIRST_AFTER)):
            country = _last_compulsory(periods, day, before=before)
            chosen = [p for p in top if p.country == country]
            if chosen:
                return _first_started(chosen), rule
    return _first_started(top), FIRST_STARTED


def aggregate(periods: Iterable[Period]) -> Aggregation:
    """Aggregate confirmed periods (see the module's docstring for the rules)."""
    periods = sorted(periods, key=lambda p: (p.starts_on, p.ends_on, p.country, p.kind, p.id or 0))
    recorded = {
        country: duration(merged((p.starts_on, p.ends_on) for p in periods if p.country == country))
        for country in sorted({p.country for p in periods})
    }
    # Cut the time line at every start and every day after an end: within each piece the same
    # periods cover every day, so one decision holds for the whole piece.
    cuts = sorted({p.starts_on for p in periods} | {p.ends_on + timedelta(days=1) for p in periods})
    counted: dict[str, list[tuple[date, date]]] = defaultdict(list)
    overlaps: list[Overlap] = []
    for first, after in pairwise(cuts):
        last = after - timedelta(days=1)
        covering = [p for p in periods if p.starts_on <= first and p.ends_on >= last]
        if not covering:
            continue
        winner, rule = _prevailing(covering, periods, first)
        counted[winner.country].append((first, last))
        if rule is not None:
            overlap = Overlap(first, last, tuple(sorted({p.country for p in covering})), winner.country, rule,
                              tuple(p.id for p in covering))
            previous = overlaps[-1] if overlaps else None
            # The same countries, rule and periods going on from the day before: one overlap.
            if (previous is not None and previous.ends_on + timedelta(days=1) == first
                    and replace(previous, starts_on=first, ends_on=last) == overlap):
                overlaps[-1] = replace(previous, ends_on=last)
            else:
                overlaps.append(overlap)
    stretches = {country: merged(spans) for country, spans in counted.items()}
    return Aggregation(
        periods=periods,
        recorded=recorded,
        counted={country: duration(stretches.get(country, [])) for country in recorded},
        total=duration(merged((p.starts_on, p.ends_on) for p in periods)),
        overlaps=overlaps,
    )
