"""Everything that changes an appeal's insurance history or adds a calculation to it. Like
``casework/operations.py``: each function checks what the appeal's situation allows, writes in the
caller's transaction and flushes; the request commits once. The appeal row is locked by the caller
(``load_visible(..., lock=True)``), so two officers' changes to one appeal's periods queue."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from sqlmodel import Session, func, select

from casework.access import Actor
from casework.clock import isoformat, now
from casework.countries import country_currency
from casework.entitlement import explain
from casework.entitlement import rules as rules_data
from casework.entitlement.calculation import (
    Amounts,
    CalculationRefused,
    Result,
    calculate,
    cents,
)
from casework.entitlement.periods import Aggregation, Period, aggregate
from casework.errors import Conflict, NotFound, ValidationFailed
from casework.models import Appeal, Calculation, InsurancePeriod

# A claimant's working life fits easily; more is a mistake or abuse of the proposal form.
MAX_PERIODS = 200
# What an officer's decision on a period does: (statuses it applies to, status it leads to).
DECISIONS = {
    "confirm": (("proposed",), "confirmed"),
    "reject": (("proposed",), "rejected"),
    "withdraw": (("confirmed",), "withdrawn"),
}


def periods_of(session: Session, appeal: Appeal, statuses: tuple[str, ...] | None = None) -> list[InsurancePeriod]:
    query = select(InsurancePeriod).where(InsurancePeriod.appeal_id == appeal.id)
    if statuses:
        query = query.where(InsurancePeriod.status.in_(statuses))
    return list(session.exec(query.order_by(InsurancePeriod.starts_on, InsurancePeriod.id)))


def calculations_of(session: Session, appeal: Appeal) -> list[Calculation]:
    query = select(Calculation).where(Calculation.appeal_id == appeal.id).order_by(Calculation.number.desc())
    return list(session.exec(query))


def calculation_numbered(session: Session, appeal: Appeal, number: int) -> Calculation | None:
    query = select(Calculation).where(Calculation.appeal_id == appeal.id, Calculation.number == number)
    return session.exec(query).first()


def latest_calculation(session: Session, appeal: Appeal) -> Calculation | None:
    query = select(Calculation).where(Calculation.appeal_id == appeal.id).order_by(Calculation.number.desc()).limit(1)
    return session.exec(query).first()


def period_json(period: InsurancePeriod) -> dict:
    return {
        "id": period.id,
        "country": period.country,
        "starts_on": period.starts_on.isoformat(),
        "ends_on": period.ends_on.isoformat(),
        "kind": period.kind,
        "status": period.status,
        "evidence": period.evidence,
        "entered_role": period.entered_role,
        "entered_at": isoformat(period.entered_at),
        "decided_at": isoformat(period.decided_at),
        "decision_note": period.decision_note,
    }


def _require_open(appeal: Appeal) -> None:
    if appeal.is_closed or appeal.erased_at is not None:
        raise Conflict(_("The appeal is closed: its insurance history can no longer change."))


def _check_dates(appeal: Appeal, starts_on: date, ends_on: date) -> None:
    """What pydantic cannot know: the claimant's birth date, and today at the time of the request."""
    if ends_on > now().date():
        raise ValidationFailed.field("ends_on", _("must not be in the future"))
    birth = appeal.claimant.birth_date
    if birth is not None and starts_on < birth:
        raise ValidationFailed.field("starts_on", _("must not be before the claimant's date of birth"))


def enter_period(session: Session, appeal: Appeal, actor: Actor, data: dict) -> InsurancePeriod:
    """Record a period: confirmed when an officer enters it from a certified record, proposed
    (counted only once an officer confirms it) when the claimant does."""
    _require_open(appeal)
    _check_dates(appeal, data["starts_on"], data["ends_on"])
    count = session.exec(select(func.count()).select_from(InsurancePeriod)
                         .where(InsurancePeriod.appeal_id == appeal.id)).one()
    if count >= MAX_PERIODS:
        raise Conflict(_("An appeal can hold at most %(num)d periods.", num=MAX_PERIODS))
    by_officer = actor.role == "officer"
    moment = now()
    period = InsurancePeriod(
        appeal_id=appeal.id,
        country=data["country"],
        starts_on=data["starts_on"],
        ends_on=data["ends_on"],
        kind=data["kind"],
        evidence=data.get("evidence") or "",
        status="confirmed" if by_officer else "proposed",
        entered_by=actor.label,
        entered_role=actor.role,
        entered_at=moment,
        decided_by=actor.label if by_officer else None,
        decided_at=moment if by_officer else None,
    )
    session.add(period)
    session.flush()
    return period


def decide_period(session: Session, appeal: Appeal, actor: Actor, period_id: int, decision: str,
                  note: str | None = None) -> InsurancePeriod:
    """An officer confirms or rejects a claimant's proposal, or withdraws a confirmed period
    found wrong; a rejection or withdrawal says why (the claimant reads it)."""
    _require_open(appeal)
    period = session.get(InsurancePeriod, period_id)
    if period is None or period.appeal_id != appeal.id:
        raise NotFound(_("No such period on this appeal."))
    sources, target = DECISIONS[decision]
    if period.status not in sources:
        raise Conflict(_("This period's status is “%(status)s”: that decision is no longer possible.",
                         status=explain.PERIOD_STATUS_LABELS[period.status]))
    if decision != "confirm" and not note:
        raise ValidationFailed.field("note", _("is required: say why, the claimant reads it"))
    period.status = target
    period.decided_by = actor.label
    period.decided_at = now()
    period.decision_note = note
    session.add(period)
    session.flush()
    return period


def _amounts(data: dict) -> dict[str, Amounts]:
    return {
        country: Amounts(
            currency=given.get("currency") or country_currency(country),
            theoretical=given.get("theoretical"),
            independent=given.get("independent"),
        )
        for country, given in (data.get("amounts") or {}).items()
    }


def _amounts_json(amounts: dict[str, Amounts]) -> dict:
    money = lambda value: None if value is None else str(cents(value))  # noqa: E731
    return {
        country: {"currency": a.currency, "theoretical": money(a.theoretical), "independent": money(a.independent)}
        for country, a in sorted(amounts.items())
    }


def aggregated(confirmed: list[InsurancePeriod]) -> Aggregation:
    return aggregate(Period(p.country, p.starts_on, p.ends_on, p.kind, p.id) for p in confirmed)


def compute_aggregation(session: Session, appeal: Appeal) -> Aggregation:
    """The appeal's confirmed periods, aggregated as they stand."""
    return aggregated(periods_of(session, appeal, ("confirmed",)))


def compute(session: Session, appeal: Appeal, amounts: dict[str, Amounts]) -> tuple[list[InsurancePeriod], Result]:
    """The calculation on the appeal's confirmed periods as they stand, without storing it."""
    confirmed = periods_of(session, appeal, ("confirmed",))
    aggregation = aggregated(confirmed)
    try:
        return confirmed, calculate(aggregation, rules_data.current(), amounts)
    except CalculationRefused as refused:
        raise ValidationFailed.field(refused.field, str(refused.message)) from None


def run_calculation(session: Session, appeal: Appeal, actor: Actor, data: dict) -> Calculation:
    """Run the calculator on the appeal's confirmed periods and the officer's amounts, and keep
    the run: its inputs, the rules applied (with their versions), the result, who and when."""
    _require_open(appeal)
    if appeal.benefit != rules_data.BENEFIT:
        raise Conflict(_("The calculator computes old-age pensions; this appeal is about another benefit."))
    amounts = _amounts(data)
    confirmed, result = compute(session, appeal, amounts)
    latest = session.exec(select(func.max(Calculation.number)).where(Calculation.appeal_id == appeal.id)).one()
    calculation = Calculation(
        appeal_id=appeal.id,
        number=(latest or 0) + 1,
        benefit=appeal.benefit,
        rules_version=result.rules_version,
        inputs={"periods": [period_json(p) for p in confirmed], "amounts": _amounts_json(amounts)},
        result=result.as_json(),
        run_by=actor.label,
        run_role=actor.role,
        run_at=now(),
    )
    session.add(calculation)
    session.flush()
    return calculation


def is_current(session: Session, appeal: Appeal, calculation: Calculation) -> bool:
    """Whether the confirmed periods are still those the calculation was run on."""
    used = [(p["id"], p["country"], p["starts_on"], p["ends_on"], p["kind"]) for p in calculation.inputs["periods"]]
    now_confirmed = [(p.id, p.country, p.starts_on.isoformat(), p.ends_on.isoformat(), p.kind)
                     for p in periods_of(session, appeal, ("confirmed",))]
    return used == now_confirmed

