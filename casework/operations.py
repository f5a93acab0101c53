"""Everything that changes an appeal. One operation per action; each fires the workflow on the
row and writes, in the caller's transaction, the new state, the hash-chained event, the
deadlines it starts, pauses or ends, and the notices it causes. Callers (a request, the deadline
sweep, the demo generator) commit once; views and commands never assign ``state`` themselves.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Callable

from flask import current_app
from flask_babel import gettext as _
from sqlmodel import Session, select

from casework import notices, queue
from casework.access import Actor, hash_access_code, new_access_code
from casework.clock import now
from casework.deadlines import calendar, schedule
from casework.errors import ValidationFailed, VersionConflict
from casework.events import append_event
from casework.models import Appeal, AppealCountry, Claimant, Event, Institution, PersonalId, Tribunal, User
from casework.referrals import BEFORE_TRIBUNAL
from workflows import appeal as workflow

log = logging.getLogger(__name__)


# --- helpers -----------------------------------------------------------------------------------

def institution(session: Session, country: str, name: str) -> Institution:
    """The institution of that name in that country, recorded the first time it is named."""
    found = session.exec(select(Institution).where(Institution.country == country, Institution.name == name)).first()
    if found is None:
        found = Institution(country=country, name=name)
        session.add(found)
        session.flush()
    return found


def _routing(config: dict) -> dict[tuple[str, str], str]:
    """The routing rules keyed by (handling country, benefit). ``instance/config.py`` may use tuples;
    ``CASEWORK_TRIBUNAL_ROUTING`` is JSON, whose keys can only be text: ``"DE:invalidity"``."""
    rules = {}
    for key, code in (config.get("TRIBUNAL_ROUTING") or {}).items():
        if isinstance(key, str):
            country, _sep, benefit = key.partition(":")
            key = (country.strip().upper() if country.strip() != "*" else "*", benefit.strip() or "*")
        rules[tuple(key)] = code
    return rules


def route_tribunal(session: Session, appeal: Appeal, config: dict) -> str:
    """Which tribunal hears an escalation: the installation's routing rules, else the default.
    A rule naming a tribunal the installation does not know is skipped (and logged), so a typo
    in the configuration never blocks an escalation."""
    routing = _routing(config)
    default = config.get("DEFAULT_TRIBUNAL", "CBSST")
    for key in ((appeal.handling_country, appeal.benefit), (appeal.handling_country, "*"), ("*", appeal.benefit)):
        code = routing.get(key)
        if code is None:
            continue
        if session.get(Tribunal, code) is not None:
            return code
        log.error("TRIBUNAL_ROUTING %s names no known tribunal %r; trying the next rule", key, code)
    return default


def facts(appeal: Appeal, data: dict | None = None) -> dict[str, Any]:
    """What the workflow's guards look at: the appeal's situation plus the actor's input."""
    return {
        "filed_in_time": appeal.filed_in_time,
        "mediation_extended": appeal.mediation_extended,
        "handling_country": appeal.handling_country,
        **(data or {}),
    }


def allowed_actions(appeal: Appeal, role: str) -> list[str]:
    return workflow.allowed_actions(appeal.state, role, facts(appeal))


# --- lodging -----------------------------------------------------------------------------------

def lodge_appeal(session: Session, data: dict, actor: Actor, config: dict) -> tuple[Appeal, str]:
    """Record a new appeal and its first event; returns the appeal and the claimant's access code
    (shown once: only its keyed hash is kept)."""
    moment = now()
    claimant_in, decision_in = data["claimant"], data["contested_decision"]
    decision_country = decision_in["institution_country"]
    lodged_at = data.get("lodged_at") or moment
    receiving_country = data.get("lodged_with_country") or decision_country
    notified_on = decision_in.get("notified_on") or calendar.presumed_notification(
        decision_country, decision_in["decision_date"]
    )
    if lodged_at.date() < decision_in["decision_date"]:
        raise ValidationFailed.field("lodged_at", _("must not be before the date of the contested decision"))
    filing_deadline, _rule = schedule.filing_deadline(decision_country, notified_on, claimant_in["residence_country"])

    claimant = Claimant(
        name=claimant_in["name"],
        birth_date=claimant_in.get("birth_date"),
        residence_country=claimant_in["residence_country"],
        preferred_language=claimant_in.get("preferred_language") or "en",
        email=claimant_in.get("email"),
    )
    session.add(claimant)
    session.flush()
    for pid in claimant_in.get("personal_ids") or []:
        session.add(PersonalId(claimant_id=claimant.id, **pid))

    deciding = institution(session, decision_country, decision_in["institution_name"])
    handling = deciding if receiving_country == decision_country else institution(
        session, receiving_country, f"Receiving institution ({receiving_country})"
    )
    access_code = new_access_code()
    appeal = Appeal(
        claimant_id=claimant.id,
        access_code_hash=hash_access_code(access_code),
        benefit=decision_in["benefit"],
        decision_country=decision_country,
        decision_institution_id=deciding.id,
        decision_reference=decision_in.get("reference") or "",
        decision_date=decision_in["decision_date"],
        notified_on=notified_on,
        grounds=data["grounds"],
        receiving_country=receiving_country,
        handling_country=receiving_country,
        handling_institution_id=handling.id,
        lodged_at=lodged_at,
        filing_deadline=filing_deadline,
        filed_in_time=lodged_at <= schedule.filing_window_end(decision_country, filing_deadline),
        state="lodged",
        version=1,
        created_at=moment,
        updated_at=moment,
    )
    session.add(appeal)
    session.flush()
    appeal.reference = f"CW-{lodged_at.year}-{appeal.id:06d}"
    relations = {(decision_country, "deciding"), (receiving_country, "receiving"), (receiving_country, "handling")}
    relations |= {(country, "involved") for country in data.get("involved_countries") or []}
    appeal.countries = [AppealCountry(appeal_id=appeal.id, country=c, relation=r) for c, r in sorted(relations)]

    event = append_event(
        session,
        appeal,
        action="lodge",
        from_state=None,
        to_state="lodged",
        actor=actor.label,
        actor_role=actor.role,
        occurred_at=lodged_at,
        payload={
            "benefit": appeal.benefit,
            "decision_country": decision_country,
            "lodged_with_country": receiving_country,
            "filing_deadline": filing_deadline.isoformat(),
            "filed_in_time": appeal.filed_in_time,
        },
    )
    deadlines = schedule.Deadlines(session, appeal)
    deadlines.start("forwarding" if receiving_country != decision_country else "admissibility", lodged_at)
    notices.for_event(session, appeal, event, deadlines.pending())
    queue.sync(session, appeal)
    return appeal, access_code


# --- actions -----------------------------------------------------------------------------------
# Each effect function does what is particular to its action, after the workflow has moved the
# state: fields on the appeal, and the deadlines of the stage it enters (``deadlines``, the
# appeal's open deadline rows). ``at`` is when the action really happened (deadlines count from it).

Effect = Callable[[schedule.Deadlines, Appeal, dict, datetime, dict], None]


def _forward(deadlines, appeal, data, at, config):
    session = deadlines.session
    appeal.handling_country = data["to_country"]
    appeal.handling_institution_id = institution(session, data["to_country"], data["to_institution_name"]).id
    wanted = {(c.country, c.relation) for c in appeal.countries if c.relation != "handling"}
    wanted.add((data["to_country"], "handling"))
    have = {(c.country, c.relation): c for c in appeal.countries}
    appeal.countries = [have.get(key) or AppealCountry(appeal_id=appeal.id, country=key[0], relation=key[1]) for key in sorted(wanted)]
    deadlines.end_stage(at)
    # Receipt by the competent institution starts its admissibility check (Art 81: the
    # original lodging date still counts for the filing window).
    deadlines.start("admissibility", at)


def _admit(deadlines, appeal, data, at, config):
    if data.get("late_filing_reason"):
        appeal.late_filing_reason = data["late_filing_reason"]
    deadlines.end_stage(at)
    deadlines.start("review", at)


def _request_information(deadlines, appeal, data, at, config):
    days = data.get("due_in_days")
    period = calendar.Period(days, "days") if days else schedule.period_for("information")
    deadlines.pause("review", at)
    deadlines.start("information", at, period=period, for_claimant=data.get("from") == "claimant")


def _resume_review(deadlines, appeal, data, at, config):
    deadlines.end_stage(at, keep_paused=True)
    deadlines.resume("review", at)


def _decide_review(deadlines, appeal, data, at, config):
    appeal.review_outcome = data["outcome"]
    _enter_stage(deadlines, appeal, at, config)


def _review_timeout(deadlines, appeal, data, at, config):
    # The institution's silence is a deemed refusal; the claimant's month runs from now, when
    # they are told, never from the missed date.
    appeal.review_outcome = "refused"
    _enter_stage(deadlines, appeal, at, config)


def _extend_mediation(deadlines, appeal, data, at, config):
    appeal.mediation_extended = True
    deadlines.extend("mediation", schedule.period_for("mediation_extension"), at)


def _schedule_hearing(deadlines, appeal, data, at, config):
    appeal.hearing_at = data["hearing_at"]
    appeal.hearing_mode = data["mode"]
    deadlines.remind_of_hearing(data["hearing_at"], at)


def _remit(deadlines, appeal, data, at, config):
    appeal.review_outcome = None
    appeal.hearing_at = appeal.hearing_mode = None
    _enter_stage(deadlines, appeal, at, config)


def _assign(deadlines, appeal, data, at, config):
    user = deadlines.session.exec(select(User).where(User.email == data["user"])).first()
    if user is None or not user.active or user.role not in ("officer", "mediator") or user.country != appeal.handling_country:
        raise ValidationFailed.field("user", _("must be an active officer or mediator of the handling country"))
    if user.role == "officer":
        appeal.assigned_officer_id = user.id
    else:
        appeal.mediator_id = user.id


def _withdraw(deadlines, appeal, data, at, config):
    deadlines.end_stage(at, cancelled=True)


STAGE_DEADLINE = {
    "under_review": "review",
    "awaiting_claimant": "claimant_response",
    "in_mediation": "mediation",
    "escalated": "tribunal_acknowledgement",
}


def _enter_stage(deadlines, appeal, at, config):
    """The appeal moved to a new stage: the old stage's deadlines end, the new one's start."""
    deadlines.end_stage(at)
    if appeal.state == "escalated" and appeal.tribunal_code is None:
        appeal.tribunal_code = route_tribunal(deadlines.session, appeal, config)
    kind = STAGE_DEADLINE.get(appeal.state)
    if kind:
        deadlines.start(kind, at, for_claimant=kind == "claimant_response")


def _stage_change(deadlines, appeal, data, at, config):
    _enter_stage(deadlines, appeal, at, config)


def _keep_referral(appeal: Appeal, from_state: str, at: datetime) -> None:
    """Stamp the escalation that brings an appeal before its tribunal (the step's own time, as its
    event records it) and clear it when the appeal leaves the tribunal (judged, remitted,
    withdrawn): the tribunal's referrals are read in this order from an index, and an appeal no
    longer before it is not in that index range at all."""
    if appeal.state == "escalated" and from_state != "escalated":
        appeal.referred_at = at
    elif appeal.state not in BEFORE_TRIBUNAL:
        appeal.referred_at = None


EFFECTS: dict[str, Effect] = {
    "forward": _forward,
    "admit": _admit,
    "declare_inadmissible": _stage_change,
    "request_information": _request_information,
    "receive_information": _resume_review,
    "information_timeout": _resume_review,
    "decide_review": _decide_review,
    "review_timeout": _review_timeout,
    "accept_decision": _stage_change,
    "response_timeout": _stage_change,
    "request_mediation": _stage_change,
    "request_tribunal": _stage_change,
    "extend_mediation": _extend_mediation,
    "settle": _stage_change,
    "end_mediation": _stage_change,
    "mediation_timeout": _stage_change,
    "acknowledge_referral": _stage_change,
    "schedule_hearing": _schedule_hearing,
    "deliver_judgment": _stage_change,
    "remit": _remit,
    "withdraw": _withdraw,
    "assign": _assign,
}

# What goes into the event's payload: the actor's input, never the bookkeeping fields.
_NOT_PAYLOAD = {"action", "version", "occurred_at"}


def _payload(data: dict) -> dict:
    payload = {}
    for key, value in data.items():
        if key in _NOT_PAYLOAD or value is None:
            continue
        payload[key] = value.isoformat().replace("+00:00", "Z") if isinstance(value, datetime) else value
    return payload


def perform_action(
    session: Session,
    appeal: Appeal,
    actor: Actor,
    action: str,
    data: dict | None = None,
    *,
    expected_version: int | None = None,
    occurred_at: datetime | None = None,
    config: dict | None = None,
) -> Event:
    """Fire ``action`` on ``appeal`` for ``actor``: the one way any appeal changes after lodging."""
    config = config if config is not None else current_app.config
    data = dict(data or {})
    if expected_version is not None and expected_version != appeal.version:
        raise VersionConflict()
    moment = now()
    at = occurred_at or moment
    if occurred_at is not None and appeal.last_event_at is not None and occurred_at < appeal.last_event_at:
        raise ValidationFailed.field("occurred_at", _("must not be before the appeal's previous event"))

    deadlines = schedule.Deadlines(session, appeal)
    from_state = appeal.state
    appeal.version += 1
    if actor.role == "mediator" and appeal.mediator_id is None and actor.user is not None:
        appeal.mediator_id = actor.user.id  # the mediator who acts on an open mediation takes it on
    row = workflow.fire(appeal, action, actor.role, facts(appeal, data))
    outcome = workflow.closing_outcome(row, given=data.get("outcome"), review_outcome=appeal.review_outcome)
    if outcome is not None:
        appeal.outcome = outcome
        appeal.closed_at = at
    EFFECTS[action](deadlines, appeal, data, at, config)
    _keep_referral(appeal, from_state, at)
    event = append_event(
        session,
        appeal,
        action=action,
        from_state=from_state,
        to_state=appeal.state,
        actor=actor.label,
        actor_role=actor.role,
        occurred_at=at,
        payload=_payload(data),
        recorded_at=moment,
    )
    appeal.updated_at = moment
    notices.for_event(session, appeal, event, deadlines.pending())
    queue.sync(session, appeal)
    return event
