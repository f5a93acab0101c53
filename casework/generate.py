"""Bulk synthetic appeals for trying Casework at scale: ``flask --app casework demo generate``.

Each appeal's life is simulated step by step from its lodging to today, on the rules the
operations apply (the workflow table and its guards, the deadline calendar of each country, the
sweep's timers), and written with bulk inserts instead of through the operations, which would
take hours for a million appeals:

* events that follow the state machine from ``lodge`` to the current state, with payloads as the
  API records them and a hash chain that ``audit verify`` accepts (personal values hashed apart
  through salted digests, as ``casework.events`` defines the hashed content);
* deadline rows as ``schedule.Deadlines`` keeps them: computed by ``calendar.compute_due`` with
  the real rule, reminders, pauses while information is awaited, extensions, hearing reminders,
  ended as met, missed or cancelled; a time limit that ran out before the next step fired its
  timer action (a deemed refusal, the end of the claimant's month, of mediation) or flagged the
  appeal overdue, as the sweep would have. Those that fell due in the last two days are left
  pending, as if the scheduler had been stopped: the sweep finds work;
* the claimant's notice of each step, in their language, already sent (its subject as the
  notice writer words it, a short body: the step, its date and the stage);
* claimants with a personal id, and the appeal's countries, tribunal, officers and mediators.

Times are whole seconds. Every generated appeal shares one access code (``--access-code``, or a
new one, printed), so a load test can open any of them. Names, numbers and addresses are
invented. Ids continue after the highest ones in the database. A bulk load (at least 50,000
appeals, and at least as many as the database holds) drops the secondary indexes of the tables
it fills and builds them again at the end, also when it fails; run it while nobody uses the
database. A smaller run keeps them, and each of its batches checks, inside its own write
transaction (tables locked on PostgreSQL), that no one else has added appeals meanwhile.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from flask import current_app
from sqlmodel import SQLModel, select
from werkzeug.security import generate_password_hash

from casework import demo, notices, operations
from casework.access import hash_access_code, new_access_code
from casework.db import db, writing
from casework.deadlines import calendar, schedule
from casework.events import GENESIS, hashed_content, personal_digests
from casework.i18n import LANGUAGES
from casework.models import Tribunal, User
from casework.referrals import BEFORE_TRIBUNAL
from workflows import appeal as workflow

DAY = 86400
BATCH = 5_000
BULK_LOAD = 50_000  # appeals from which a run into a database no larger loads without indexes
YEARS = 5
# Rows that fell due this long before now are left for the sweep (the scheduler "was stopped").
SWEEP_BACKLOG = 2 * DAY
SWEEP_DELAY = (5, 55)  # seconds between a row falling due and the sweep firing it

# Handling countries: the eight of the demo, each at least 8 % of the appeals.
COUNTRIES = tuple(demo.INSTITUTIONS)
COUNTRY_WEIGHTS = (20, 16, 14, 12, 11, 10, 9, 8)
BENEFITS = ("old_age_pension", "survivor_pension", "invalidity", "sickness", "healthcare", "unemployment",
            "family", "work_accident")
BENEFIT_WEIGHTS = (30, 8, 15, 10, 12, 12, 9, 4)
CLERK = "clerk@cbsst.example"  # the demo's clerk of the default tribunal
COLLEAGUES = 3  # officers per country besides the demo's own, that appeals are (re)assigned to

REASONS = {
    "declare_inadmissible": ("The contested decision was not a decision on entitlement.",
                             "The appeal names no decision of this institution."),
    "decide_review": ("Periods completed abroad were checked against the certified records (Art. 6 Reg. 883/2004).",
                      "The insurance record was corrected with the foreign institution's certificate.",
                      "The foreign periods do not change the entitlement.",
                      "The periods claimed are not proven by the records received."),
    "deliver_judgment": ("The periods must be aggregated (Art. 6 Reg. 883/2004).",
                         "The institution applied the rules correctly.",
                         "The pro-rata calculation is to be redone with the corrected periods."),
    "extend_mediation": ("Both parties asked for more time to exchange records.",),
    "end_mediation": ("The parties could not agree on the periods to count.",
                      "The institution will not settle without a ruling."),
    "settle": ("The institution counts the disputed periods and recalculates the benefit.",
               "The claimant accepts a partial recalculation."),
    "remit": ("Review again with the certified records from the other institution.",),
}
INFORMATION_ITEMS = (["Employment certificates"], ["Form P1 from the other institution"],
                     ["Proof of residence", "Payslips 1990-1995"], ["Medical report"])
LATE_REASONS = ("The decision reached the claimant abroad weeks after it was sent.",
                "The claimant was in hospital when the decision arrived.")


# --- the calendar, as the operations apply it, remembered --------------------------------------

def _seconds(moment: datetime) -> int:
    return int(moment.timestamp())


def _moment(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@cache
def _day_text(days: int) -> str:
    return (date(1970, 1, 1) + timedelta(days=days)).isoformat()


_CLOCK = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(DAY)]


def stored(seconds: int | None) -> str | None:
    """A time as the database stores it (naive UTC), from whole seconds."""
    if seconds is None:
        return None
    days, rest = divmod(seconds, DAY)
    return f"{_day_text(days)} {_CLOCK[rest]}.000000"


def iso(seconds: int) -> str:
    """A time as the API and the hash chain write it (``clock.isoformat``)."""
    days, rest = divmod(seconds, DAY)
    return f"{_day_text(days)}T{_CLOCK[rest]}Z"


class Calendar:
    """``calendar.compute_due`` and the reminder days, remembered by their inputs: a million
    appeals start their deadlines on a few thousand distinct days."""

    def __init__(self, config: dict):
        self.timezones = config.get("TIMEZONES") or {}
        self.subdivisions = config.get("HOLIDAY_SUBDIVISIONS") or {}
        self.periods = config.get("STAGE_PERIODS") or {}
        self._due: dict = {}
        self._reminders: dict = {}
        self._extensions: dict = {}

    def zone(self, country: str) -> str:
        return calendar.timezone_for(country, self.timezones)

    def due(self, kind: str, country: str, at: int, period: calendar.Period | None = None):
        """(due_at, due_on, timezone, jurisdiction, rule) of a deadline started at ``at``."""
        period = period or calendar.stage_period(kind, self.periods)
        zone = self.zone(country)
        moment = _moment(at)
        key = (str(period), country, moment.astimezone(ZoneInfo(zone)).date())
        found = self._due.get(key)
        if found is None:
            due = calendar.compute_due(moment, period, country, subdiv=self.subdivisions.get(country), tz=zone)
            found = self._due[key] = (_seconds(due.due_at), due.due_on, due.timezone, due.jurisdiction, due.rule)
        due_at, due_on, timezone, jurisdiction, rule = found
        return due_at, due_on, timezone, jurisdiction, {**rule, "event_at": moment.isoformat()}

    def reminder_at(self, row: Row) -> int:
        """``schedule.reminder_time``, remembered by what it reads."""
        key = (row.rule.get("audience"), row.jurisdiction, row.timezone, row.due_on)
        found = self._reminders.get(key)
        if found is None:
            found = self._reminders[key] = _seconds(schedule.reminder_time(row))
        return found

    def extended(self, row: Row, period: calendar.Period) -> tuple[int, date]:
        key = (row.due_on, str(period), row.jurisdiction, row.timezone)
        found = self._extensions.get(key)
        if found is None:
            last = calendar.last_day(row.due_on, period, row.jurisdiction, self.subdivisions.get(row.jurisdiction))
            found = self._extensions[key] = (_seconds(calendar.end_of_day(last, row.jurisdiction, row.timezone)), last)
        return found

    def shifted(self, row: Row, paused: int):
        due = calendar.Due(_moment(row.due_at), row.due_on, row.timezone, row.jurisdiction, row.rule)
        shifted = calendar.shift_paused(due, timedelta(seconds=paused), subdiv=self.subdivisions.get(row.jurisdiction))
        return _seconds(shifted.due_at), shifted.due_on, shifted.rule


# --- one appeal's life -------------------------------------------------------------------------

class Row:
    """A deadline row while its appeal is simulated."""

    __slots__ = (
        "due_at",
        "due_on",
        "ended_at",
        "fired_at",
        "id",
        "jurisdiction",
        "kind",
        "parent",
        "paused_at",
        "rule",
        "started_at",
        "status",
        "timezone",
    )

    def __init__(self, kind, due_at, due_on, timezone, jurisdiction, rule, started_at, parent=None):
        self.id = None
        self.kind, self.status = kind, "pending"
        self.due_at, self.due_on, self.timezone, self.jurisdiction, self.rule = due_at, due_on, timezone, jurisdiction, rule
        self.started_at, self.paused_at, self.fired_at, self.ended_at, self.parent = started_at, None, None, None, parent

    @property
    def open(self) -> bool:
        return self.status in schedule.OPEN_STATUSES


@dataclass
class Context:
    """What every appeal of a run shares."""

    calendar: Calendar
    horizon: int  # rows due up to here have been fired; steps are taken up to now
    now: int
    officers: dict[str, list[tuple[int, str]]]
    mediators: dict[str, list[tuple[int, str]]]
    clerk: str
    tribunal_country: Callable[[str], str]
    route: Callable[[str, str], str]
    institutions: dict[str, int]


@dataclass
class History:
    """One appeal from lodging to now: its events, deadline rows and the appeal row's fields."""

    ctx: Context
    rng: random.Random
    lodged_at: int
    decision_country: str
    receiving_country: str
    benefit: str
    filed_in_time: bool
    state: str = "lodged"
    version: int = 1
    at: int = 0
    outcome: str | None = None
    review_outcome: str | None = None
    closed_at: int | None = None
    mediation_extended: bool = False
    late_filing_reason: str | None = None
    hearing_at: int | None = None
    hearing_mode: str | None = None
    tribunal_code: str | None = None
    referred_at: int | None = None
    officer: tuple[int, str] | None = None
    mediator_id: int | None = None
    overdue_since: int | None = None
    remitted: bool = False
    events: list[tuple] = field(default_factory=list)  # (action, from, to, actor, role, at, payload)
    rows: list[Row] = field(default_factory=list)

    def __post_init__(self):
        self.handling_country = self.receiving_country
        self.at = self.lodged_at

    # -- deadlines, as schedule.Deadlines keeps them --
    def _jurisdiction(self, kind: str) -> str:
        if kind == "forwarding":
            return self.receiving_country
        if kind == "tribunal_acknowledgement" and self.tribunal_code:
            return self.ctx.tribunal_country(self.tribunal_code)
        return self.handling_country

    def _remind(self, row: Row, created_at: int) -> None:
        remind_at = self.ctx.calendar.reminder_at(row)
        if remind_at <= created_at:
            return
        rule = {"reminds": row.kind, "before": row.due_on.isoformat(), "audience": row.rule.get("audience")}
        due_on = _moment(remind_at).astimezone(ZoneInfo(row.timezone)).date()
        self.rows.append(Row(schedule.REMINDER, remind_at, due_on, row.timezone, row.jurisdiction, rule, created_at, row))

    def start(self, kind: str, at: int, *, period: calendar.Period | None = None, for_claimant: bool = False) -> Row:
        due_at, due_on, zone, jurisdiction, rule = self.ctx.calendar.due(kind, self._jurisdiction(kind), at, period)
        rule.update(kind=kind, timer=schedule.TIMER_ACTION.get(kind), audience="claimant" if for_claimant else "staff")
        row = Row(kind, due_at, due_on, zone, jurisdiction, rule, at)
        self.rows.append(row)
        self._remind(row, at)
        return row

    @staticmethod
    def _close(row: Row, at: int, *, cancelled: bool) -> None:
        row.ended_at = at
        if cancelled or row.kind in (schedule.REMINDER, schedule.HEARING_REMINDER):
            row.status = "cancelled"
        else:
            row.status = "met" if at <= row.due_at else "missed"

    def end_stage(self, at: int, *, keep_paused: bool = False, cancelled: bool = False) -> None:
        self.overdue_since = None
        for row in self.rows:
            if row.status == "missed" and row.ended_at is None:
                row.ended_at = at
            elif row.open and not (keep_paused and row.status == "paused"):
                self._close(row, at, cancelled=cancelled)

    def _open(self, kind: str, status: str | None = None) -> list[Row]:
        return [row for row in self.rows if row.open and row.kind == kind and (status is None or row.status == status)]

    def _close_children(self, parent: Row, at: int) -> None:
        for row in self.rows:
            if row.parent is parent and row.open:
                self._close(row, at, cancelled=True)

    def pause(self, kind: str, at: int) -> None:
        for row in self._open(kind, "pending"):
            row.status, row.paused_at = "paused", at
            self._close_children(row, at)

    def resume(self, kind: str, at: int) -> None:
        for row in self._open(kind, "paused"):
            row.due_at, row.due_on, row.rule = self.ctx.calendar.shifted(row, max(at - row.paused_at, 0))
            row.status, row.paused_at = "pending", None
            self._remind(row, at)

    def extend(self, kind: str, period: calendar.Period, at: int) -> None:
        for row in self._open(kind, "pending"):
            extension = {"period": str(period), "previous_due_at": _moment(row.due_at).isoformat(), "at": _moment(at).isoformat()}
            row.due_at, row.due_on = self.ctx.calendar.extended(row, period)
            row.rule = {**row.rule, "extension": extension}
            self._close_children(row, at)
            self._remind(row, at)

    def remind_of_hearing(self, hearing_at: int, at: int) -> None:
        for row in self._open(schedule.HEARING_REMINDER):
            self._close(row, at, cancelled=True)
        country = self._jurisdiction("tribunal_acknowledgement")
        zone = self.ctx.calendar.zone(country)
        for days in schedule.HEARING_REMINDER_DAYS:
            remind_at = hearing_at - days * DAY
            if remind_at <= at:
                continue
            rule = {"hearing_at": _moment(hearing_at).isoformat(), "days_before": days}
            due_on = _moment(remind_at).astimezone(ZoneInfo(zone)).date()
            self.rows.append(Row(schedule.HEARING_REMINDER, remind_at, due_on, zone, country, rule, at))

    def next_due_at(self) -> int | None:
        due = [row.due_at for row in self.rows if row.status == "pending" and row.kind in schedule.PUBLIC_KINDS]
        return min(due) if due else None

    # -- steps, as operations.perform_action takes them --
    def _enter_stage(self, at: int) -> None:
        self.end_stage(at)
        if self.state == "escalated" and self.tribunal_code is None:
            self.tribunal_code = self.ctx.route(self.handling_country, self.benefit)
        kind = operations.STAGE_DEADLINE.get(self.state)
        if kind:
            self.start(kind, at, for_claimant=kind == "claimant_response")

    def _effect(self, action: str, data: dict, at: int, actor_id: int | None) -> None:
        if action == "forward":
            self.handling_country = data["to_country"]
            self.end_stage(at)
            self.start("admissibility", at)
        elif action == "admit":
            self.late_filing_reason = data.get("late_filing_reason") or self.late_filing_reason
            self.end_stage(at)
            self.start("review", at)
        elif action == "request_information":
            self.pause("review", at)
            self.start("information", at, for_claimant=data["from"] == "claimant")
        elif action in ("receive_information", "information_timeout"):
            self.end_stage(at, keep_paused=True)
            self.resume("review", at)
        elif action == "decide_review":
            self.review_outcome = data["outcome"]
            self._enter_stage(at)
        elif action == "review_timeout":
            self.review_outcome = "refused"
            self._enter_stage(at)
        elif action == "extend_mediation":
            self.mediation_extended = True
            self.extend("mediation", calendar.stage_period("mediation_extension", self.ctx.calendar.periods), at)
        elif action == "schedule_hearing":
            self.hearing_at, self.hearing_mode = data["hearing_at"], data["mode"]
            self.remind_of_hearing(self.hearing_at, at)
        elif action == "remit":
            self.review_outcome = None
            self.hearing_at = self.hearing_mode = None
            self._enter_stage(at)
        elif action == "assign":
            self.officer = (actor_id, data["user"])
        elif action == "withdraw":
            self.end_stage(at, cancelled=True)
        else:
            self._enter_stage(at)

    def act(self, action: str, role: str, at: int, data: dict | None = None) -> None:
        data = data or {}
        facts = {"filed_in_time": self.filed_in_time, "mediation_extended": self.mediation_extended,
                 "handling_country": self.handling_country, **data}
        row = workflow.check(self.state, action, role, facts)  # raises if the step would be impossible
        from_state = self.state
        self.version += 1
        actor_id, actor = None, role
        if role == "officer":
            actor_id, actor = self.officer or self.rng.choice(self.ctx.officers[self.handling_country])
        elif role == "mediator":
            actor_id, actor = self.rng.choice(self.ctx.mediators[self.handling_country])
            self.mediator_id = self.mediator_id or actor_id
        elif role == "tribunal":
            actor = self.ctx.clerk
        if action == "assign":
            actor_id, data = self._colleague()
        self.state = row["dest"] or self.state
        outcome = workflow.closing_outcome(row, given=data.get("outcome"), review_outcome=self.review_outcome)
        if outcome is not None:
            self.outcome, self.closed_at = outcome, at
        self._effect(action, data, at, actor_id)
        if self.state == "escalated" and from_state != "escalated":
            self.referred_at = at  # as operations keeps it: the escalation before the tribunal
        elif self.state not in BEFORE_TRIBUNAL:
            self.referred_at = None
        payload = {k: iso(v) if k == "hearing_at" else v for k, v in data.items()}
        self.events.append((action, from_state, self.state, actor, role, at, payload))
        self.at = at

    def _colleague(self) -> tuple[int, dict]:
        user_id, email = self.rng.choice(self.ctx.officers[self.handling_country])
        return user_id, {"user": email}

    # -- the sweep, as it would have run --
    def sweep_until(self, until: int) -> bool:
        """Fire what fell due before ``until`` in time order; True when a timer moved the appeal."""
        while True:
            due = [row for row in self.rows if row.status == "pending" and row.due_at <= until]
            if not due:
                return False
            row = min(due, key=lambda r: (r.due_at, r.kind))
            fired_at = row.due_at + self.rng.randint(*SWEEP_DELAY)
            if fired_at > until:
                return False
            row.fired_at = fired_at
            timer = schedule.TIMER_ACTION.get(row.kind)
            if timer:
                self.act(timer, workflow.SYSTEM, fired_at)
                return True
            row.status = "missed"
            if row.kind in schedule.FLAG_KINDS:
                self.version += 1
                self.overdue_since = self.overdue_since or fired_at

    # -- what the people do --
    def plan(self) -> tuple[float | None, str, str, dict]:
        """The next step people would take: (days after the last step or None for never, action, role, input)."""
        r, state = self.rng, self.state
        roll = r.random()
        if state == "lodged":
            if self.receiving_country != self.decision_country and self.handling_country == self.receiving_country:
                return r.uniform(1, 8), "forward", "officer", {
                    "to_country": self.decision_country, "to_institution_name": demo.INSTITUTIONS[self.decision_country][0]}
            if roll < 0.04:
                return r.uniform(3, 25), "declare_inadmissible", "officer", {"reason": r.choice(REASONS["declare_inadmissible"])}
            if roll < 0.06:
                return r.uniform(1, 20), "withdraw", "claimant", {}
            data = {} if self.filed_in_time else {"late_filing_reason": r.choice(LATE_REASONS)}
            return r.uniform(1, 16), "admit", "officer", data
        if state == "under_review":
            if roll < 0.03:
                return r.uniform(2, 25), "withdraw", "claimant", {}
            if roll < 0.17 and not any(e[0] == "request_information" for e in self.events[-3:]):
                source = "claimant" if r.random() < 0.7 else "institution"
                return r.uniform(2, 15), "request_information", "officer", {"from": source, "items": r.choice(INFORMATION_ITEMS)}
            outcome = r.choices(workflow.REVIEW_OUTCOMES, (35, 15, 50))[0]
            return r.lognormvariate(2.8, 0.4), "decide_review", "officer", {
                "outcome": outcome, "reasons": r.choice(REASONS["decide_review"])}
        if state == "awaiting_information":
            return (None if roll < 0.2 else r.uniform(3, 28)), "receive_information", "officer", {}
        if state == "awaiting_claimant":
            if roll < 0.45:
                return r.uniform(1, 28), "accept_decision", "claimant", {}
            if roll < 0.62:
                return r.uniform(1, 25), "request_mediation", "claimant", {}
            if roll < 0.82:
                return r.uniform(1, 25), "request_tribunal", "claimant", {}
            if roll < 0.85:
                return r.uniform(1, 20), "withdraw", "claimant", {}
            return None, "accept_decision", "claimant", {}  # says nothing: the month runs out
        if state == "in_mediation":
            if roll < 0.2 and not self.mediation_extended:
                return r.uniform(20, 50), "extend_mediation", "mediator", {"reason": REASONS["extend_mediation"][0]}
            if roll < 0.55:
                return r.uniform(10, 70), "settle", "mediator", {"terms": r.choice(REASONS["settle"])}
            if roll < 0.62:
                return r.uniform(5, 60), "withdraw", "claimant", {}
            if roll < 0.85:
                return r.uniform(10, 60), "end_mediation", "mediator", {"reason": r.choice(REASONS["end_mediation"])}
            return None, "end_mediation", "mediator", {}  # the mediation runs out of time
        if state == "escalated":
            if roll < 0.03:
                return r.uniform(1, 10), "withdraw", "claimant", {}
            return r.uniform(1, 9), "acknowledge_referral", "tribunal", {}
        if state == "before_tribunal":
            if self.hearing_at is None and roll < 0.6:
                delay = r.uniform(5, 40)
                hearing = self.at + int(delay * DAY) + int(r.uniform(20, 60)) * DAY
                hearing -= hearing % 3600  # on the hour
                return delay, "schedule_hearing", "tribunal", {
                    "hearing_at": hearing, "mode": r.choice(("in_person", "video", "video", "telephone", "paper"))}
            if roll < 0.05:
                return r.uniform(10, 90), "withdraw", "claimant", {}
            if roll < 0.15 and not self.remitted:
                self.remitted = True
                return r.uniform(30, 200), "remit", "tribunal", {"instructions": REASONS["remit"][0]}
            after_hearing = max(0, (self.hearing_at or 0) - self.at) / DAY
            outcome = r.choices(workflow.JUDGMENT_OUTCOMES, (30, 20, 50))[0]
            return after_hearing + r.lognormvariate(3.2, 0.5), "deliver_judgment", "tribunal", {
                "outcome": outcome, "reasons": r.choice(REASONS["deliver_judgment"])}
        raise AssertionError(state)

    def run(self) -> None:
        ctx = self.ctx
        self.events.append(("lodge", None, "lodged", "claimant", "claimant", self.lodged_at, None))
        self.start("forwarding" if self.receiving_country != self.decision_country else "admissibility", self.lodged_at)
        while self.state != "closed":
            days, action, role, data = self.plan()
            at = None if days is None else self.at + max(60, int(days * DAY))
            if self.state != "lodged" and self.rng.random() < 0.25:
                # An officer takes the case over on the way (a step that changes only the history).
                moment = self.at + self.rng.randint(60, DAY)
                if (at is None or moment < at) and moment <= ctx.now:
                    if self.sweep_until(min(moment, ctx.horizon)):
                        continue
                    self.act("assign", "officer", moment)
            if self.sweep_until(ctx.horizon if at is None else min(at, ctx.horizon)):
                continue
            if at is None or at > ctx.now:
                return
            self.act(action, role, at, data)


# --- writing -----------------------------------------------------------------------------------

def canonical(content: dict) -> bytes:
    """RFC 8785 for the events written here (their hashed content, ``events.hashed_content``, and
    the personal values their digests cover): keys are ASCII and values are text, whole numbers,
    booleans and null (never floats), for which sorted compact JSON without ASCII escapes is the
    same bytes. ``tests/casework/test_generate.py`` holds it to the ``rfc8785`` package."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_hash(content: dict, prev_hash: str) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical(content)).hexdigest()


TABLES = {
    "claimant": ("id", "name", "birth_date", "residence_country", "preferred_language", "email", "created_at"),
    "personalid": ("id", "claimant_id", "country", "scheme", "value"),
    "appeal": ("id", "reference", "version", "claimant_id", "access_code_hash", "benefit", "decision_country",
               "decision_institution_id", "decision_reference", "decision_date", "notified_on", "grounds",
               "receiving_country", "handling_country", "handling_institution_id", "tribunal_code", "referred_at", "lodged_at",
               "filing_deadline", "filed_in_time", "late_filing_reason", "state", "outcome", "review_outcome",
               "mediation_extended", "hearing_at", "hearing_mode", "assigned_officer_id", "mediator_id",
               "next_due_at", "overdue_since", "last_event_seq", "last_event_hash", "last_event_at", "created_at",
               "updated_at", "closed_at"),
    "appeal_country": ("appeal_id", "country", "relation"),
    "queue_entry": ("appeal_id", "country", "next_due_at", "state"),
    "event": ("id", "appeal_id", "seq", "action", "from_state", "to_state", "actor", "actor_role", "occurred_at",
              "recorded_at", "payload", "hash", "prev_hash", "personal_salt", "personal_digests"),
    "deadline": ("id", "appeal_id", "kind", "parent_id", "status", "due_at", "due_on", "timezone", "jurisdiction",
                 "rule", "started_at", "paused_at", "fired_at", "ended_at", "attempts"),
    "notice": ("id", "appeal_id", "event_seq", "kind", "recipient_role", "recipient", "language", "subject", "body",
               "created_at", "status", "sent_at", "attempts"),
}
WITH_ID = ("claimant", "personalid", "appeal", "event", "deadline", "notice")
LOCAL_IDS = ("personalid", "event", "deadline", "notice")


@dataclass
class Result:
    appeals: int = 0
    events: int = 0
    deadlines: int = 0
    notices: int = 0
    seconds: float = 0.0
    access_code: str = ""
    states: dict[str, int] = field(default_factory=dict)
    countries: dict[str, int] = field(default_factory=dict)
    overdue: int = 0

    def add(self, other: Result) -> None:
        for name in ("appeals", "events", "deadlines", "notices", "overdue"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in ("states", "countries"):
            mine = getattr(self, name)
            for key, count in getattr(other, name).items():
                mine[key] = mine.get(key, 0) + count


class _Notices:
    """The claimant's notice of a step: the subject as the notice writer words it, and a short
    body, in the claimant's language (translations looked up once per language)."""

    def __init__(self):
        self._days: dict = {}

    def day(self, seconds: int, language: str, zone: str) -> str:
        local = _moment(seconds).astimezone(ZoneInfo(zone)).date()
        key = (local, language)
        found = self._days.get(key)
        if found is None:
            found = self._days[key] = notices.format_day(local, language)
        return found

    def claimant(self, reference: str, name: str, language: str, zone: str, action: str, at: int, state: str) -> tuple[str, str]:
        catalog = notices._catalog(language if language in LANGUAGES else "en")
        labels = catalog.labels
        subject = catalog.gettext("Your appeal %(reference)s: %(what)s", reference=reference,
                                  what=labels["action"].get(action, action))
        body = "\n\n".join((
            catalog.gettext("Dear %(name)s,", name=name),
            f"{labels['happened'][action]} ({self.day(at, language, zone)})",
            labels["claimant_state"][state],
        )) + "\n"
        return subject, body


class Generator:
    """Simulates appeals in worker processes (a batch each) and writes the batches in order."""

    def __init__(self, appeals: int, seed: int, access_code: str | None, years: float = YEARS,
                 processes: int | None = None, progress: Callable[[int], None] | None = None,
                 batch_size: int = BATCH):
        self.total, self.seed, self.years, self.progress = appeals, seed, years, progress
        self.batch_size = batch_size
        self.processes = max(1, processes or os.cpu_count() or 1)
        self.access_code = access_code or new_access_code()
        self.app = current_app._get_current_object()
        self.config = current_app.config
        self.engine = db.engine
        self.postgres = self.engine.dialect.name == "postgresql"
        self.mark = "%s" if self.postgres else "?"
        self.notices = _Notices()
        self.code_hash = hash_access_code(self.access_code)
        self.ctx = self._context(int(time.time()))

    # -- what the appeals refer to --
    def _context(self, moment: int) -> Context:
        session = db.session
        # The demo's staff and colleagues, who sign in with the demo password (hashed once).
        password_hash = generate_password_hash(demo.PASSWORD)
        existing = {user.email: user for user in session.exec(select(User))}

        def staff(email: str, role: str, country: str | None = None, tribunal: str | None = None) -> User:
            if email not in existing:
                existing[email] = User(email=email, role=role, country=country, tribunal_code=tribunal,
                                       password_hash=password_hash)
                session.add(existing[email])
            return existing[email]

        officers: dict[str, list] = {}
        mediators: dict[str, list] = {}
        for country in COUNTRIES:
            emails = [f"officer.{country.lower()}@casework.example"]
            emails += [f"officer{n}.{country.lower()}@casework.example" for n in range(2, COLLEAGUES + 2)]
            officers[country] = [staff(email, "officer", country) for email in emails]
            mediators[country] = [staff(f"mediator.{country.lower()}@casework.example", "mediator", country)]
        clerk = staff(CLERK, "tribunal", tribunal=self.config.get("DEFAULT_TRIBUNAL", "CBSST"))
        session.flush()
        institutions = {country: operations.institution(session, country, name).id
                        for country, (name, _language) in demo.INSTITUTIONS.items()}
        session.commit()
        tribunals = {t.code: t.country for t in session.exec(select(Tribunal))}
        # Worked out here, before the workers start: they never touch the database.
        routes = {(country, benefit): operations.route_tribunal(
                      session, SimpleNamespace(handling_country=country, benefit=benefit), self.config)
                  for country in COUNTRIES for benefit in BENEFITS}
        session.commit()  # ends the read: it would otherwise keep seeing the database as it was
        return Context(
            Calendar(self.config), horizon=moment - SWEEP_BACKLOG, now=moment,
            officers={c: [(u.id, u.email) for u in users] for c, users in officers.items()},
            mediators={c: [(u.id, u.email) for u in users] for c, users in mediators.items()},
            clerk=clerk.email, tribunal_country=lambda code: tribunals.get(code, "LU"),
            route=lambda country, benefit: routes[(country, benefit)], institutions=institutions,
        )

    # -- the run --
    def run(self) -> Result:
        global _generator
        started = time.perf_counter()
        result = Result(access_code=self.access_code)
        rng = random.Random(self.seed)
        with self.engine.connect() as connection:
            bases = self._bases(connection)
            connection.commit()
        tasks = [(index, rng.getrandbits(64), min(self.batch_size, self.total - first),
                  bases["appeal"] + first + 1, bases["claimant"] + first + 1)
                 for index, first in enumerate(range(0, self.total, self.batch_size))]
        # A bulk load (at least as many appeals as the database holds, and many) goes faster
        # without the secondary indexes, built again once at the end: keeping them up to date
        # row by row scatters writes all over files larger than any cache.
        bulk = self.total >= max(BULK_LOAD, bases["appeal"])
        _generator = self
        try:
            with self.engine.connect() as connection:
                if not self.postgres:
                    # A page cache for the indexes the rows go into (2 MB by default), for
                    # this connection while it writes.
                    connection.exec_driver_sql("PRAGMA cache_size=-262144")
                    connection.commit()
                try:
                    if bulk:
                        self._drop_indexes(connection)
                    for batch in self._batches(tasks):
                        self._write(connection, batch, bases)
                        result.add(batch.result)
                        if self.progress:
                            self.progress(batch.result.appeals)
                finally:
                    # Also after a failure or an interrupted run before: every index is there.
                    self._create_indexes(connection)
                    if not self.postgres:
                        connection.exec_driver_sql("PRAGMA cache_size=-2000")
                        connection.commit()
        finally:
            _generator = None
        result.seconds = time.perf_counter() - started
        return result

    def _batches(self, tasks: list[tuple]):
        """The simulated batches in order: from worker processes (forked, so they share this
        generator's context), a few batches ahead of the writer; or here with one process."""
        if self.processes == 1 or len(tasks) == 1:
            yield from map(_simulate, tasks)
            return
        context = multiprocessing.get_context("fork")
        with context.Pool(self.processes, initializer=_start_worker) as pool:
            waiting: deque = deque()
            for task in tasks:
                waiting.append(pool.apply_async(_simulate, (task,)))
                if len(waiting) > 2 * self.processes:
                    yield waiting.popleft().get()
            while waiting:
                yield waiting.popleft().get()

    @staticmethod
    def _indexes() -> list:
        """The secondary (non-unique) indexes of the tables the generator fills."""
        return [index for name in TABLES for index in SQLModel.metadata.tables[name].indexes if not index.unique]

    def _drop_indexes(self, connection) -> None:
        with writing(), connection.begin():
            for index in self._indexes():
                connection.exec_driver_sql(f"DROP INDEX IF EXISTS {index.name}")

    def _create_indexes(self, connection) -> None:
        with writing(), connection.begin():
            for index in self._indexes():
                index.create(connection, checkfirst=True)

    def _bases(self, connection) -> dict[str, int]:
        # Table names from the constant WITH_ID, never from input.
        return {table: connection.exec_driver_sql(f"SELECT coalesce(max(id), 0) FROM {table}").scalar()  # nosec B608
                for table in WITH_ID}

    def _write(self, connection, batch: Batch, bases: dict[str, int]) -> None:
        """One batch in one transaction. Appeal and claimant ids were given out when the run
        started; the others follow the rows already there, added by the statement itself."""
        with writing(), connection.begin():
            if self.postgres:
                connection.exec_driver_sql("LOCK TABLE " + ", ".join(WITH_ID) + " IN SHARE ROW EXCLUSIVE MODE")
            current = self._bases(connection)
            if current["appeal"] != batch.first_appeal - 1 or current["claimant"] != batch.first_claimant - 1:
                raise RuntimeError("another process added appeals while they were being generated; "
                                   "generate into a database nobody else is writing to")
            for table, columns in TABLES.items():
                values = batch.rows[table]
                if not values:
                    continue
                offset = current.get(table) if table in LOCAL_IDS else None
                marks = ", ".join(f"{self.mark} + {offset}" if offset is not None and column in ("id", "parent_id")
                                  else self.mark for column in columns)
                # Table and column names from the constant TABLES, offsets integers read from the
                # database, the values bound as parameters.
                connection.exec_driver_sql(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",  # nosec B608
                                           values)
            if self.postgres:
                for table in WITH_ID:  # constant table names, never from input
                    connection.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")  # nosec B608

    # -- in a worker --
    def batch(self, index: int, seed: int, count: int, first_appeal: int, first_claimant: int) -> Batch:
        rng = random.Random(seed)
        rows: dict[str, list[tuple]] = {table: [] for table in TABLES}
        local = dict.fromkeys(LOCAL_IDS, 0)
        result = Result()
        for offset in range(count):
            history = self._history(rng)
            self._rows(history, first_appeal + offset, first_claimant + offset, local, rows, rng, result)
        return Batch(index, first_appeal, first_claimant, rows, result)

    def _history(self, rng: random.Random) -> History:
        ctx = self.ctx
        span = int(self.years * 365 * DAY)
        lodged_at = ctx.now - span + rng.randrange(span)
        decision_country = rng.choices(COUNTRIES, COUNTRY_WEIGHTS)[0]
        # One in ten is lodged with the institution of the country the claimant lives in.
        receiving = decision_country
        if rng.random() < 0.1:
            receiving = rng.choice([c for c in COUNTRIES if c != decision_country])
        history = History(ctx, random.Random(rng.getrandbits(64)), lodged_at, decision_country, receiving,
                          rng.choices(BENEFITS, BENEFIT_WEIGHTS)[0], filed_in_time=rng.random() > 0.04)
        history.run()
        return history

    def _rows(self, h: History, appeal_id: int, claimant_id: int, ids: dict, rows: dict, rng: random.Random,
              result: Result) -> None:
        """The rows of one appeal; ids of the tables in ``LOCAL_IDS`` count from 1 in the batch."""
        lodged = _moment(h.lodged_at)
        reference = f"CW-{lodged.year}-{appeal_id:06d}"
        residence = h.receiving_country if h.receiving_country != h.decision_country else (
            h.decision_country if rng.random() < 0.4 else rng.choices(COUNTRIES, COUNTRY_WEIGHTS)[0])
        language = "ar" if rng.random() < 0.06 else ("en" if rng.random() < 0.05 else demo.INSTITUTIONS[residence][1])
        name = f"{rng.choice(demo.FIRST)} {rng.choice(demo.LAST)}"
        email = f"claimant{claimant_id}@mail.example" if rng.random() < 0.9 else None
        decided = lodged.date() - timedelta(days=rng.randint(5, 25) if h.filed_in_time else rng.randint(150, 200))
        birth = date(decided.year - rng.randint(30, 75), rng.randint(1, 12), rng.randint(1, 28))
        rows["claimant"].append((claimant_id, name, birth.isoformat(), residence, language, email, stored(h.lodged_at)))
        ids["personalid"] += 1
        rows["personalid"].append((ids["personalid"], claimant_id, h.decision_country, "national-insurance",
                                    f"{h.decision_country}{rng.randrange(10**9, 10**10)}"))
        other = next((c for c in (residence, h.receiving_country) if c != h.decision_country),
                     rng.choice([c for c in COUNTRIES if c != h.decision_country]))
        relations = {(h.decision_country, "deciding"), (h.receiving_country, "receiving"),
                     (h.handling_country, "handling"), (other, "involved")}
        rows["appeal_country"].extend((appeal_id, country, relation) for country, relation in sorted(relations))

        filing = calendar.filing_deadline(h.decision_country, decided, residence_country=residence,
                                          overrides=self.config.get("FILING_WINDOWS"))[0]
        lodge_payload = {"benefit": h.benefit, "decision_country": h.decision_country,
                         "lodged_with_country": h.receiving_country, "filing_deadline": filing.isoformat(),
                         "filed_in_time": h.filed_in_time}
        prev = GENESIS
        zone = self.ctx.calendar.zone(residence)
        for seq, (action, from_state, to_state, actor, role, at, payload) in enumerate(h.events, start=1):
            payload = lodge_payload if payload is None else payload
            # Recorded when it happened, give or take the seconds a request takes.
            stamp = iso(at)
            # Invented data: the salt comes from the appeal's seeded generator, so that the same
            # seed makes the same appeals (real events draw theirs from ``secrets``).
            salt = f"{h.rng.getrandbits(128):032x}"
            digests = personal_digests(actor, payload, salt, canonical)
            content = hashed_content(reference, seq=seq, action=action, from_state=from_state, to_state=to_state,
                                     actor=actor, actor_role=role, occurred_at=stamp, recorded_at=stamp,
                                     payload=payload, personal_digests=digests)
            hashed = event_hash(content, prev)
            ids["event"] += 1
            rows["event"].append((ids["event"], appeal_id, seq, action, from_state, to_state, actor, role,
                                  stored(at), stored(at), json.dumps(payload), hashed, prev, salt,
                                  json.dumps(digests)))
            prev = hashed
            if action not in notices.SILENT_ACTIONS:
                subject, body = self.notices.claimant(reference, name, language, zone, action, at, to_state)
                ids["notice"] += 1
                rows["notice"].append((ids["notice"], appeal_id, seq, action, "claimant", email or "", language,
                                       subject, body, stored(at), "sent" if email else "no_address",
                                       stored(at + 90) if email else None, 1 if email else 0))
        for row in h.rows:
            ids["deadline"] += 1
            row.id = ids["deadline"]
        for row in h.rows:
            rows["deadline"].append((row.id, appeal_id, row.kind, row.parent.id if row.parent else None, row.status,
                                     stored(row.due_at), row.due_on.isoformat(), row.timezone, row.jurisdiction,
                                     json.dumps(row.rule), stored(row.started_at), stored(row.paused_at),
                                     stored(row.fired_at), stored(row.ended_at), 0))
        last_at = h.events[-1][5]
        next_due = h.next_due_at()
        rows["queue_entry"].extend((appeal_id, country, stored(next_due), h.state)
                                   for country in sorted({country for country, _relation in relations}))
        rows["appeal"].append((
            appeal_id, reference, h.version, claimant_id, self.code_hash, h.benefit, h.decision_country,
            self.ctx.institutions[h.decision_country], f"{h.decision_country}-{decided.year}-{rng.randrange(10**5, 10**6)}",
            decided.isoformat(), decided.isoformat(),
            demo.GROUNDS[h.benefit].format(other=other), h.receiving_country, h.handling_country,
            self.ctx.institutions[h.handling_country], h.tribunal_code, stored(h.referred_at), stored(h.lodged_at),
            filing.isoformat(),
            h.filed_in_time, h.late_filing_reason, h.state, h.outcome, h.review_outcome, h.mediation_extended,
            stored(h.hearing_at), h.hearing_mode, h.officer[0] if h.officer else None, h.mediator_id,
            stored(next_due), stored(h.overdue_since), len(h.events), prev, stored(last_at), stored(h.lodged_at),
            stored(last_at), stored(h.closed_at),
        ))
        result.appeals += 1
        result.events += len(h.events)
        result.deadlines += len(h.rows)
        result.notices = ids["notice"]
        result.states[h.state] = result.states.get(h.state, 0) + 1
        result.countries[h.handling_country] = result.countries.get(h.handling_country, 0) + 1
        if any(row.status == "pending" and row.due_at <= self.ctx.now for row in h.rows):
            result.overdue += 1


_generator: Generator | None = None  # the run in progress, inherited by its forked workers


@dataclass
class Batch:
    index: int
    first_appeal: int
    first_claimant: int
    rows: dict[str, list[tuple]]
    result: Result


def _start_worker() -> None:
    # Connections in the pool belong to the parent: the worker must never use or close them.
    _generator.engine.dispose(close=False)
    _generator.app.app_context().push()  # the notices' translations are looked up through it


def _simulate(task: tuple) -> Batch:
    return _generator.batch(*task)


def generate(appeals: int, seed: int = 1, access_code: str | None = None, years: float = YEARS,
             processes: int | None = None, progress: Callable[[int], None] | None = None,
             batch_size: int = BATCH) -> Result:
    """Add ``appeals`` synthetic appeals lodged over the last ``years`` years (inside an app context;
    a fraction of a year makes a database of recent, mostly open appeals).
    The same seed gives the same appeals, whatever the number of processes."""
    if appeals < 1:
        raise ValueError("appeals must be at least 1")
    return Generator(appeals, seed, access_code, years, processes, progress, batch_size).run()
