"""Deadline rows on appeals: started, paused, resumed, extended and ended by the operations, in
the same transaction as the transition that causes them.

An operation loads the appeal's open rows once into a ``Deadlines`` book, changes them there
and lets the session write everything in one flush. Each row keeps the rule and inputs that
produced its ``due_at``; a stored deadline is never recomputed silently. Reminders are child
rows of the deadline they announce; the sweep fires both kinds the same way.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import or_
from sqlmodel import Session, select

from casework.deadlines import calendar
from casework.models import Appeal, Deadline, Tribunal

# Kinds listed on the appeal (API.md); reminders are notices, not listed.
PUBLIC_KINDS = (
    "forwarding",
    "admissibility",
    "review",
    "information",
    "claimant_response",
    "mediation",
    "tribunal_acknowledgement",
)
# Deadlines whose expiry moves the appeal (the timer action the sweep fires).
TIMER_ACTION = {
    "review": "review_timeout",
    "information": "information_timeout",
    "claimant_response": "response_timeout",
    "mediation": "mediation_timeout",
}
# Deadlines whose expiry only flags the appeal overdue and tells the people concerned.
FLAG_KINDS = ("forwarding", "admissibility", "tribunal_acknowledgement")
REMINDER = "reminder"
HEARING_REMINDER = "hearing_reminder"
OPEN_STATUSES = ("pending", "paused")
# Claimant deadlines are announced 7 days ahead; officers', mediators' and tribunals' 5 working days.
CLAIMANT_REMINDER_DAYS = 7
STAFF_REMINDER_WORKING_DAYS = 5
HEARING_REMINDER_DAYS = (7, 1)


def _config(name: str) -> dict:
    return current_app.config.get(name) or {}


def _subdiv(country: str) -> str | None:
    return _config("HOLIDAY_SUBDIVISIONS").get(country)


def _timezone(country: str) -> str:
    return calendar.timezone_for(country, _config("TIMEZONES"))


def period_for(kind: str) -> calendar.Period:
    return calendar.stage_period(kind, _config("STAGE_PERIODS"))


def filing_deadline(decision_country: str, notified_on, residence_country: str):
    return calendar.filing_deadline(
        decision_country, notified_on, residence_country=residence_country, overrides=_config("FILING_WINDOWS")
    )


def filing_window_end(decision_country: str, last_day) -> datetime:
    return calendar.end_of_day(last_day, decision_country, _timezone(decision_country))


def jurisdiction(session: Session, appeal: Appeal, kind: str) -> str:
    """The country whose calendar governs a deadline: the receiving institution's for forwarding,
    the tribunal's for its acknowledgement, the handling institution's for the rest."""
    if kind == "forwarding":
        return appeal.receiving_country
    if kind == "tribunal_acknowledgement" and appeal.tribunal_code:
        tribunal = session.get(Tribunal, appeal.tribunal_code)
        if tribunal is not None:
            return tribunal.country
    return appeal.handling_country


def _row_from_due(appeal: Appeal, kind: str, due: calendar.Due, started_at: datetime) -> Deadline:
    return Deadline(
        appeal_id=appeal.id,
        kind=kind,
        status="pending",
        due_at=due.due_at,
        due_on=due.due_on,
        timezone=due.timezone,
        jurisdiction=due.jurisdiction,
        rule=due.rule,
        started_at=started_at,
    )


def _close(row: Deadline, ended_at: datetime, *, cancelled: bool) -> None:
    row.ended_at = ended_at
    if cancelled or row.kind in (REMINDER, HEARING_REMINDER):
        row.status = "cancelled"
    else:
        row.status = "met" if ended_at <= row.due_at else "missed"


def reminder_time(row: Deadline) -> datetime:
    """The start of the local day on which the people concerned are reminded."""
    if row.rule.get("audience") == "claimant":
        day = row.due_on - timedelta(days=CLAIMANT_REMINDER_DAYS)
    else:
        day = calendar.add_working_days(
            row.due_on, -STAFF_REMINDER_WORKING_DAYS, row.jurisdiction, _subdiv(row.jurisdiction)
        )
    return datetime.combine(day, datetime.min.time(), tzinfo=ZoneInfo(row.timezone)).astimezone(ZoneInfo("UTC"))


class Deadlines:
    """The deadline rows of one appeal that a step can change: running, paused, and overdue flags
    still standing. Loaded in one query when an operation starts; new rows join it."""

    def __init__(self, session: Session, appeal: Appeal):
        self.session = session
        self.appeal = appeal
        self.rows: list[Deadline] = []
        if appeal.id is not None:
            # Read before the step changes any deadline status, so the database's statuses are the
            # ones to filter on and flushing first would only cost a round of writes.
            with session.no_autoflush:
                self.rows = list(
                    session.exec(
                        select(Deadline)
                        .where(Deadline.appeal_id == appeal.id, Deadline.status.in_(OPEN_STATUSES + ("missed",)))
                        .where(or_(Deadline.status != "missed", Deadline.ended_at.is_(None)))
                        .order_by(Deadline.id)
                    )
                )

    def _add(self, row: Deadline) -> Deadline:
        self.session.add(row)
        self.rows.append(row)
        return row

    def _open(self, kind: str | None = None, status: str | None = None) -> list[Deadline]:
        return [
            row for row in self.rows
            if row.status in OPEN_STATUSES and (kind is None or row.kind == kind) and (status is None or row.status == status)
        ]

    def _children(self, parent: Deadline) -> list[Deadline]:
        return [row for row in self._open() if row.parent is parent]

    def _remind(self, row: Deadline, created_at: datetime) -> None:
        remind_at = reminder_time(row)
        if remind_at <= created_at:
            return  # too short a limit to announce; the notice of the step itself gives the date
        self._add(
            Deadline(
                appeal_id=self.appeal.id,
                kind=REMINDER,
                parent=row,
                status="pending",
                due_at=remind_at,
                due_on=remind_at.astimezone(ZoneInfo(row.timezone)).date(),
                timezone=row.timezone,
                jurisdiction=row.jurisdiction,
                rule={"reminds": row.kind, "before": row.due_on.isoformat(), "audience": row.rule.get("audience")},
                started_at=created_at,
            )
        )

    def start(self, kind: str, started_at: datetime, *, period: calendar.Period | None = None,
              for_claimant: bool = False) -> Deadline:
        """Start a deadline of ``kind`` counted from ``started_at``, with its reminder."""
        country = jurisdiction(self.session, self.appeal, kind)
        period = period or period_for(kind)
        due = calendar.compute_due(started_at, period, country, subdiv=_subdiv(country), tz=_timezone(country))
        rule = {**due.rule, "kind": kind, "timer": TIMER_ACTION.get(kind),
                "audience": "claimant" if for_claimant else "staff"}
        due = calendar.Due(due.due_at, due.due_on, due.timezone, due.jurisdiction, rule)
        row = self._add(_row_from_due(self.appeal, kind, due, started_at))
        self._remind(row, started_at)
        return row

    def end_stage(self, ended_at: datetime, *, keep_paused: bool = False, cancelled: bool = False) -> None:
        """The stage ends: its deadlines are met (or missed, if it ended late), reminders cancelled
        and overdue flags lowered."""
        self.appeal.overdue_since = None
        for row in self.rows:
            if row.status == "missed":
                row.ended_at = ended_at
            elif row.status in OPEN_STATUSES and not (keep_paused and row.status == "paused"):
                _close(row, ended_at, cancelled=cancelled)

    def cancel(self, kind: str, at: datetime) -> None:
        for row in self._open(kind):
            _close(row, at, cancelled=True)

    def pause(self, kind: str, at: datetime) -> None:
        """Stop a deadline's clock (the review while information is awaited); its reminder goes."""
        for row in self._open(kind, "pending"):
            row.status, row.paused_at = "paused", at
            for child in self._children(row):
                _close(child, at, cancelled=True)

    def resume(self, kind: str, at: datetime) -> None:
        """Restart a paused clock: the paused time is added back, then rolled past days off."""
        for row in self._open(kind, "paused"):
            due = calendar.Due(row.due_at, row.due_on, row.timezone, row.jurisdiction, row.rule)
            shifted = calendar.shift_paused(due, max(at - row.paused_at, timedelta(0)), subdiv=_subdiv(row.jurisdiction))
            row.due_at, row.due_on, row.rule = shifted.due_at, shifted.due_on, shifted.rule
            row.status, row.paused_at = "pending", None
            self._remind(row, at)

    def extend(self, kind: str, period: calendar.Period, at: datetime) -> None:
        """Lengthen a running deadline by ``period`` counted from its current last day."""
        for row in self._open(kind, "pending"):
            last = calendar.last_day(row.due_on, period, row.jurisdiction, _subdiv(row.jurisdiction))
            extension = {"period": str(period), "previous_due_at": row.due_at.isoformat(), "at": at.isoformat()}
            row.due_at, row.due_on = calendar.end_of_day(last, row.jurisdiction, row.timezone), last
            row.rule = {**row.rule, "extension": extension}
            for child in self._children(row):
                _close(child, at, cancelled=True)
            self._remind(row, at)

    def remind_of_hearing(self, hearing_at: datetime, at: datetime) -> None:
        """Remind the parties 7 days and 1 day before a hearing (replacing reminders of an earlier date)."""
        self.cancel(HEARING_REMINDER, at)
        country = jurisdiction(self.session, self.appeal, "tribunal_acknowledgement")
        zone = _timezone(country)
        for days in HEARING_REMINDER_DAYS:
            remind_at = hearing_at - timedelta(days=days)
            if remind_at <= at:
                continue
            self._add(
                Deadline(
                    appeal_id=self.appeal.id,
                    kind=HEARING_REMINDER,
                    status="pending",
                    due_at=remind_at,
                    due_on=remind_at.astimezone(ZoneInfo(zone)).date(),
                    timezone=zone,
                    jurisdiction=country,
                    rule={"hearing_at": hearing_at.isoformat(), "days_before": days},
                    started_at=at,
                )
            )

    def pending(self) -> list[Deadline]:
        """The running deadlines listed on the appeal, nearest first; also keeps the appeal's
        ``next_due_at``, the officer queue's sort key."""
        rows = sorted((row for row in self._open(status="pending") if row.kind in PUBLIC_KINDS), key=lambda r: r.due_at)
        self.appeal.next_due_at = rows[0].due_at if rows else None
        return rows


def listed(session: Session, appeal: Appeal) -> list[Deadline]:
    """The deadlines shown on the appeal, oldest first."""
    return listed_for(session, [appeal.id]).get(appeal.id, [])


def listed_for(session: Session, appeal_ids: list[int]) -> dict[int, list[Deadline]]:
    """The listed deadlines of several appeals at once (a page of the queue), by appeal."""
    grouped: dict[int, list[Deadline]] = {}
    if appeal_ids:
        rows = session.exec(
            select(Deadline)
            .where(Deadline.appeal_id.in_(appeal_ids), Deadline.kind.in_(PUBLIC_KINDS))
            .order_by(Deadline.appeal_id, Deadline.id)
        )
        for row in rows:
            grouped.setdefault(row.appeal_id, []).append(row)
    return grouped
