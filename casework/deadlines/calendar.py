"""Legal time limits for appeals: when a filing window or a stage of an appeal runs out.

Periods are counted the way EU law counts them (Regulation (EEC, Euratom) No 1182/71): from
the day after the triggering event, to the end of the last day in the jurisdiction's local
time, rolled forward past weekends and that jurisdiction's public holidays. Every result
carries a record of how it was computed, because a stored deadline must be explainable and
must never change silently when holiday data does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from types import MappingProxyType
from zoneinfo import ZoneInfo

import holidays

UNITS = ("days", "weeks", "months", "working_days")
"""Units in which laws and the design express time limits; anything else is a configuration error."""

_LAW = "Regulation (EEC, Euratom) No 1182/71, Art. 3"

_UNIT_SPELLINGS = {
    "day": "days",
    "days": "days",
    "week": "weeks",
    "weeks": "weeks",
    "month": "months",
    "months": "months",
    "working_day": "working_days",
    "working_days": "working_days",
}
_PERIOD_TEXT = re.compile(r"\s*([0-9]+)\s+([a-z][a-z_\s-]*?)\s*", re.ASCII | re.IGNORECASE)
_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_END_OF_DAY = time(23, 59, 59)


@dataclass(frozen=True)
class Period:
    """A time limit as the law states it ("one month", "five working days"), stored and cited as written."""

    amount: int
    unit: str

    def __post_init__(self) -> None:
        """Refuse limits no law sets, so a typo in configuration fails loudly instead of granting no time."""
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise TypeError(f"period amount must be an int, not {self.amount!r}")
        if self.amount < 1:
            raise ValueError(f"a period must last at least one {self.unit}: {self.amount}")
        if self.unit not in UNITS:
            raise ValueError(f"unknown period unit {self.unit!r}; expected one of {', '.join(UNITS)}")

    def __str__(self) -> str:
        """The stored spelling ("1 months"), which `parse` reads back, so rule records round-trip."""
        return f"{self.amount} {self.unit}"

    @classmethod
    def parse(cls, text: str) -> Period:
        """Read a period as an installation configures it ("1 month", "6 weeks", "5 working days")."""
        match = _PERIOD_TEXT.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            raise ValueError(f"not a period: {text!r}")
        spelling = re.sub(r"[\s-]+", "_", match.group(2).lower())
        if spelling not in _UNIT_SPELLINGS:
            raise ValueError(f"not a period unit: {match.group(2)!r}")
        return cls(int(match.group(1)), _UNIT_SPELLINGS[spelling])


@dataclass(frozen=True)
class Due:
    """When a time limit expires, with the record needed to justify it to a claimant or a tribunal later."""

    due_at: datetime
    due_on: date
    timezone: str
    jurisdiction: str
    rule: dict = field(hash=False)


DEFAULT_TIMEZONES: dict[str, str] = {
    # EU member states
    "AT": "Europe/Vienna",
    "BE": "Europe/Brussels",
    "BG": "Europe/Sofia",
    "CY": "Asia/Nicosia",
    "CZ": "Europe/Prague",
    "DE": "Europe/Berlin",
    "DK": "Europe/Copenhagen",
    "EE": "Europe/Tallinn",
    "ES": "Europe/Madrid",
    "FI": "Europe/Helsinki",
    "FR": "Europe/Paris",
    "GR": "Europe/Athens",
    "HR": "Europe/Zagreb",
    "HU": "Europe/Budapest",
    "IE": "Europe/Dublin",
    "IT": "Europe/Rome",
    "LT": "Europe/Vilnius",
    "LU": "Europe/Luxembourg",
    "LV": "Europe/Riga",
    "MT": "Europe/Malta",
    "NL": "Europe/Amsterdam",
    "PL": "Europe/Warsaw",
    "PT": "Europe/Lisbon",
    "RO": "Europe/Bucharest",
    "SE": "Europe/Stockholm",
    "SI": "Europe/Ljubljana",
    "SK": "Europe/Bratislava",
    # EEA and Switzerland, which apply the EU coordination rules
    "CH": "Europe/Zurich",
    "IS": "Atlantic/Reykjavik",
    "LI": "Europe/Vaduz",
    "NO": "Europe/Oslo",
    # European microstates and neighbours
    "AD": "Europe/Andorra",
    "AL": "Europe/Tirane",
    "BA": "Europe/Sarajevo",
    "GB": "Europe/London",
    "MC": "Europe/Monaco",
    "MD": "Europe/Chisinau",
    "ME": "Europe/Podgorica",
    "MK": "Europe/Skopje",
    "RS": "Europe/Belgrade",
    "SM": "Europe/San_Marino",
    "TR": "Europe/Istanbul",
    "UA": "Europe/Kyiv",
    "VA": "Europe/Vatican",
    # Countries with bilateral social security agreements with EU states; Washington, Ottawa,
    # Canberra and Brasília share their zone with the named city
    "AR": "America/Argentina/Buenos_Aires",
    "AU": "Australia/Sydney",
    "BR": "America/Sao_Paulo",
    "CA": "America/Toronto",
    "CL": "America/Santiago",
    "DZ": "Africa/Algiers",
    "IL": "Asia/Jerusalem",
    "IN": "Asia/Kolkata",
    "JP": "Asia/Tokyo",
    "KR": "Asia/Seoul",
    "MA": "Africa/Casablanca",
    "MX": "America/Mexico_City",
    "NZ": "Pacific/Auckland",
    "PH": "Asia/Manila",
    "TN": "Africa/Tunis",
    "US": "America/New_York",
    "UY": "America/Montevideo",
    "ZA": "Africa/Johannesburg",
}
"""Each country's deadline timezone (its capital's): a limit ends at midnight where the authority sits."""


def _country(code: str) -> str:
    """Country codes arrive from forms and configuration in any case; the holidays data wants ISO upper case."""
    return code.strip().upper()


def timezone_for(country: str, overrides: dict[str, str] | None = None) -> str:
    """Where a country's time limits end: the installation's setting, else its capital's zone, else UTC."""
    code = _country(country)
    configured = {_country(key): value for key, value in (overrides or {}).items()}
    return configured.get(code) or DEFAULT_TIMEZONES.get(code, "UTC")


@lru_cache(maxsize=4096)
def _holiday_names(country: str, subdiv: str | None, year: int) -> Mapping[date, str]:
    """A jurisdiction's public holidays in one year, the days on which no time limit may end."""
    # Cached as an immutable table per year: the holidays objects fill themselves in lazily,
    # which is not safe to share between the threads of a web server.
    try:
        table = holidays.country_holidays(country, years=year)
    except NotImplementedError:
        # A country the package does not know still has weekends, and nothing else is certain.
        return MappingProxyType({})
    if subdiv is not None:
        try:
            table = holidays.country_holidays(country, subdiv=subdiv, years=year)
        except NotImplementedError as exc:
            raise ValueError(f"{country} has no subdivision {subdiv!r} in the holidays data") from exc
    return MappingProxyType(dict(table))


def _holiday_name(day: date, country: str, subdiv: str | None) -> str | None:
    """The holiday that makes `day` a day off, named so a rule record can say why a deadline moved."""
    return _holiday_names(_country(country), subdiv, day.year).get(day)


def is_working_day(day: date, country: str, subdiv: str | None = None) -> bool:
    """Whether a day counts as a working day under Reg. 1182/71: Mon–Fri and not a public holiday there."""
    return day.weekday() < 5 and _holiday_name(day, country, subdiv) is None


def next_working_day(day: date, country: str, subdiv: str | None = None) -> date:
    """The day a limit ending on `day` really ends: Reg. 1182/71 Art. 3(4) never lets one end on a day off."""
    while not is_working_day(day, country, subdiv):
        day += timedelta(days=1)
    return day


def add_working_days(day: date, n: int, country: str, subdiv: str | None = None) -> date:
    """The n-th working day after (or, for n < 0, before) `day`, for limits and reminders set in working days."""
    step = timedelta(days=1 if n >= 0 else -1)
    remaining = abs(n)
    while remaining:
        day += step
        if is_working_day(day, country, subdiv):
            remaining -= 1
    return day


def _add_months(day: date, months: int) -> date:
    """Reg. 1182/71 Art. 3(2)(c): the same date in the last month, or that month's last day if it has none."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    next_month_start = date(year + month // 12, month % 12 + 1, 1)
    return date(year, month, min(day.day, (next_month_start - timedelta(days=1)).day))


def _unrolled_last_day(event_on: date, period: Period, country: str, subdiv: str | None) -> date:
    """The nominal last day before rolling past days off, kept in the record to show what the roll changed."""
    if period.unit == "days":
        return event_on + timedelta(days=period.amount)
    if period.unit == "weeks":
        return event_on + timedelta(weeks=period.amount)
    if period.unit == "months":
        return _add_months(event_on, period.amount)
    return add_working_days(event_on, period.amount, country, subdiv)


def _skipped(start: date, end: date, country: str, subdiv: str | None) -> list[dict]:
    """The days off a deadline rolled past, with their reason, so a claimant can be told why it moved."""
    skipped = []
    day = start
    while day < end:
        skipped.append(
            {
                "date": day.isoformat(),
                "weekday": _WEEKDAY_NAMES[day.weekday()],
                "holiday": _holiday_name(day, country, subdiv),
            }
        )
        day += timedelta(days=1)
    return skipped


def _count(event_on: date, period: Period, country: str, subdiv: str | None) -> dict:
    """Count a period under Reg. 1182/71 and record every input, so a stored deadline can be justified later."""
    unrolled = _unrolled_last_day(event_on, period, country, subdiv)
    rolled = next_working_day(unrolled, country, subdiv)
    return {
        "law": _LAW,
        "period": str(period),
        "event_on": event_on.isoformat(),
        "first_day": (event_on + timedelta(days=1)).isoformat(),
        "unrolled_last_day": unrolled.isoformat(),
        "last_day": rolled.isoformat(),
        "skipped_days": _skipped(unrolled, rolled, country, subdiv),
        "jurisdiction": _country(country),
        "subdiv": subdiv,
        "holidays_version": holidays.__version__,
    }


def last_day(event_on: date, period: Period, country: str, subdiv: str | None = None) -> date:
    """The last day to act: counted from the day after the event and rolled past days off, as Reg. 1182/71 requires."""
    return date.fromisoformat(_count(event_on, period, country, subdiv)["last_day"])


def end_of_day(day: date, country: str, tz: str | None = None) -> datetime:
    """The last second of `day` where the jurisdiction sits, because a time limit runs to the end of its last day."""
    # fold=1 picks the later of two identical wall-clock times, the true end of a day whose
    # clocks went back at midnight.
    local = datetime.combine(day, _END_OF_DAY, tzinfo=ZoneInfo(tz or timezone_for(country))).replace(fold=1)
    return local.astimezone(UTC)


def compute_due(
    event_at: datetime,
    period: Period,
    country: str,
    *,
    subdiv: str | None = None,
    tz: str | None = None,
) -> Due:
    """When a period triggered by an event expires, counted on the calendar of the jurisdiction that must act."""
    if event_at.tzinfo is None or event_at.utcoffset() is None:
        raise ValueError("event_at must be timezone-aware: its local day decides where the period starts")
    zone = tz or timezone_for(country)
    # The event's day is the day where the jurisdiction sits: late evening in UTC is already
    # tomorrow in Berlin, and the period starts counting the day after that.
    event_on = event_at.astimezone(ZoneInfo(zone)).date()
    rule = _count(event_on, period, country, subdiv)
    due_at = end_of_day(date.fromisoformat(rule["last_day"]), country, zone)
    rule.update(event_at=event_at.astimezone(UTC).isoformat(), timezone=zone, due_at=due_at.isoformat())
    return Due(
        due_at=due_at,
        due_on=due_at.astimezone(ZoneInfo(zone)).date(),
        timezone=zone,
        jurisdiction=_country(country),
        rule=rule,
    )


def _seconds(span: timedelta) -> int | float:
    """Paused time as a JSON number, whole seconds when it is whole, so records stay readable."""
    seconds = span.total_seconds()
    return int(seconds) if seconds.is_integer() else seconds


def shift_paused(due: Due, paused: timedelta, *, subdiv: str | None = None) -> Due:
    """Move a deadline by the time its clock stood still (awaiting information), then past any day off."""
    if paused < timedelta(0):
        raise ValueError("a pause cannot shorten a deadline")
    subdiv = subdiv if subdiv is not None else due.rule.get("subdiv")
    zone = ZoneInfo(due.timezone)
    # Elapsed time is added in UTC so that a pause across a clock change moves the deadline
    # by exactly the time that passed.
    shifted_at = due.due_at.astimezone(UTC) + paused
    shifted_on = shifted_at.astimezone(zone).date()
    if is_working_day(shifted_on, due.jurisdiction, subdiv):
        due_at = shifted_at
    else:
        due_at = end_of_day(next_working_day(shifted_on, due.jurisdiction, subdiv), due.jurisdiction, due.timezone)
    due_on = due_at.astimezone(zone).date()
    pause = {
        "paused_seconds": _seconds(paused),
        "previous_due_at": due.due_at.astimezone(UTC).isoformat(),
        "shifted_due_at": shifted_at.isoformat(),
        "skipped_days": _skipped(shifted_on, due_on, due.jurisdiction, subdiv),
        "due_at": due_at.isoformat(),
        "holidays_version": holidays.__version__,
    }
    pauses = [*due.rule.get("pauses", []), pause]
    rule = {
        **due.rule,
        "paused_seconds": pause["paused_seconds"],
        "previous_due_at": pause["previous_due_at"],
        "total_paused_seconds": sum(entry["paused_seconds"] for entry in pauses),
        "pauses": pauses,
        "due_at": due_at.isoformat(),
    }
    return Due(due_at=due_at, due_on=due_on, timezone=due.timezone, jurisdiction=due.jurisdiction, rule=rule)


FILING_WINDOWS: dict[str, Period] = {
    "DE": Period(1, "months"),
    "FR": Period(2, "months"),
    "GB": Period(1, "months"),
    "ES": Period(30, "days"),
    "NL": Period(6, "weeks"),
    "PL": Period(1, "months"),
    "IT": Period(90, "days"),
    "US": Period(60, "days"),
}
"""How long national law gives a claimant to contest a decision, counted from its notification."""

DEFAULT_FILING_WINDOW = Period(2, "months")
"""The design's window for countries whose national limit is not listed, until an installation configures it."""

DE_ABROAD_FILING_WINDOW = Period(3, "months")
"""SGG §§ 84, 87: a German decision notified to a claimant residing abroad may be contested for three months."""

US_NOTIFICATION_PRESUMPTION_DAYS = 5
"""US rules (20 CFR 404.901) presume a notice reaches the claimant five days after its date, unless shown otherwise."""


def presumed_notification(decision_country: str, decision_date: date) -> date:
    """When the claimant is taken to be notified, which starts the filing window (US: five days after the date)."""
    if _country(decision_country) == "US":
        return decision_date + timedelta(days=US_NOTIFICATION_PRESUMPTION_DAYS)
    return decision_date


def _filing_window(
    decision_country: str, residence_country: str | None, overrides: dict[str, str] | None
) -> tuple[Period, str]:
    """The filing window and the legal basis for it, which the rule record cites."""
    code = _country(decision_country)
    # Residence abroad extends the German window by statute, so no installation setting for
    # the ordinary window may shorten it.
    if code == "DE" and residence_country is not None and _country(residence_country) != "DE":
        return DE_ABROAD_FILING_WINDOW, "SGG §§ 84, 87: decision notified to a claimant residing abroad"
    configured = {_country(key): value for key, value in (overrides or {}).items()}
    if code in configured:
        return Period.parse(configured[code]), "installation configuration"
    if code in FILING_WINDOWS:
        return FILING_WINDOWS[code], "national law"
    return DEFAULT_FILING_WINDOW, "default for countries without a listed window"


def filing_window(
    decision_country: str, *, residence_country: str | None, overrides: dict[str, str] | None = None
) -> Period:
    """How long a claimant has to contest a decision of that country, German rule for claimants abroad included."""
    return _filing_window(decision_country, residence_country, overrides)[0]


def filing_deadline(
    decision_country: str,
    notified_on: date,
    *,
    residence_country: str | None,
    overrides: dict[str, str] | None = None,
) -> tuple[date, dict]:
    """The last day to lodge an appeal, on the deciding country's calendar, from actual or presumed notification."""
    period, basis = _filing_window(decision_country, residence_country, overrides)
    rule = _count(notified_on, period, decision_country, None)
    rule.update(
        kind="filing_window",
        basis=basis,
        notified_on=notified_on.isoformat(),
        residence_country=_country(residence_country) if residence_country is not None else None,
        timezone=timezone_for(decision_country),
    )
    return date.fromisoformat(rule["last_day"]), rule


STAGE_PERIODS: dict[str, Period] = {
    "forwarding": Period(5, "working_days"),
    "admissibility": Period(10, "working_days"),
    "review": Period(30, "days"),
    "information": Period(30, "days"),
    "claimant_response": Period(1, "months"),
    "mediation": Period(45, "working_days"),
    "mediation_extension": Period(15, "working_days"),
    "tribunal_acknowledgement": Period(5, "working_days"),
}
"""The time each stage of an appeal may take (Reg. 883/2004 Art. 81, ELA mediation rules, design defaults)."""

INFORMATION_DAYS_RANGE = (7, 90)
"""The shortest and longest time, in days, an officer may give a claimant to supply requested information."""


def stage_period(kind: str, overrides: dict[str, str] | None = None) -> Period:
    """The time limit for a stage of an appeal, as this installation configures it or by the design default."""
    default = STAGE_PERIODS[kind]
    if overrides and kind in overrides:
        return Period.parse(overrides[kind])
    return default
