"""Turning appeals, events and notices into the JSON shapes of API.md."""

from __future__ import annotations

from sqlmodel import Session, select

from casework import notices, operations
from casework.access import can_act
from casework.clock import isoformat, now
from casework.deadlines import schedule
from casework.documents import document_json, documents_of
from casework.entitlement import explain
from casework.models import Appeal, Calculation, Deadline, Document, Event, Notice, User


def _email(session: Session, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    user = session.get(User, user_id)
    return user.email if user else None


def deadline_json(row: Deadline) -> dict:
    return {
        "kind": row.kind,
        "due_at": isoformat(row.due_at),
        "due_on": row.due_on.isoformat(),
        "timezone": row.timezone,
        "jurisdiction": row.jurisdiction,
        "status": row.status,
    }


def is_overdue(appeal: Appeal) -> bool:
    return appeal.overdue_since is not None or (appeal.next_due_at is not None and appeal.next_due_at < now())


def contested_decision_json(appeal: Appeal) -> dict:
    return {
        "institution_country": appeal.decision_country,
        "institution_name": appeal.decision_institution.name,
        "reference": appeal.decision_reference,
        "benefit": appeal.benefit,
        "decision_date": appeal.decision_date.isoformat(),
        "notified_on": appeal.notified_on.isoformat(),
    }


def appeal_json(session: Session, appeal: Appeal, viewer: User | None, deadlines: list[Deadline] | None = None,
                documents: list[Document] | None = None) -> dict:
    """The appeal as API.md shows it; a list passes the deadlines and documents it loaded per page."""
    claimant = appeal.claimant
    if deadlines is None:
        deadlines = schedule.listed(session, appeal)
    if documents is None:
        documents = documents_of(session, appeal)
    actions = operations.allowed_actions(appeal, viewer.role) if viewer is not None and can_act(viewer, appeal) else []
    return {
        "reference": appeal.reference,
        "version": appeal.version,
        "state": appeal.state,
        "outcome": appeal.outcome,
        "review_outcome": appeal.review_outcome,
        "claimant": {
            "name": claimant.name,
            "birth_date": claimant.birth_date.isoformat() if claimant.birth_date else None,
            "residence_country": claimant.residence_country,
            "preferred_language": claimant.preferred_language,
            "email": claimant.email,
            "personal_ids": [{"country": p.country, "scheme": p.scheme, "value": p.value} for p in claimant.personal_ids],
        },
        "contested_decision": contested_decision_json(appeal),
        "grounds": appeal.grounds,
        "involved_countries": appeal.involved_countries,
        "receiving_country": appeal.receiving_country,
        "handling_country": appeal.handling_country,
        "handling_institution_name": appeal.handling_institution.name,
        "tribunal": appeal.tribunal_code,
        "lodged_at": isoformat(appeal.lodged_at),
        "filing_deadline": appeal.filing_deadline.isoformat(),
        "filed_in_time": appeal.filed_in_time,
        "late_filing_reason": appeal.late_filing_reason,
        "mediation_extended": appeal.mediation_extended,
        "hearing": {"hearing_at": isoformat(appeal.hearing_at), "mode": appeal.hearing_mode} if appeal.hearing_at else None,
        "assigned_officer": _email(session, appeal.assigned_officer_id),
        "mediator": _email(session, appeal.mediator_id),
        "overdue": is_overdue(appeal),
        "deadlines": [deadline_json(row) for row in deadlines],
        "documents": [document_json(document) for document in documents],
        "allowed_actions": actions,
        "created_at": isoformat(appeal.created_at),
        "updated_at": isoformat(appeal.updated_at),
        "closed_at": isoformat(appeal.closed_at),
    }


def event_json(event: Event) -> dict:
    return {
        "seq": event.seq,
        "action": event.action,
        "from_state": event.from_state,
        "to_state": event.to_state,
        "actor": event.actor,
        "occurred_at": isoformat(event.occurred_at),
        "recorded_at": isoformat(event.recorded_at),
        "payload": event.payload,
        "hash": event.hash,
        "prev_hash": event.prev_hash,
    }


def notice_json(notice: Notice, *, staff: bool = True) -> dict:
    """A notice and how its delivery went; staff also see where it went and why it failed."""
    body = {
        "id": notice.id,
        "kind": notice.kind,
        "recipient_role": notice.recipient_role,
        "language": notice.language,
        "subject": notice.subject,
        "body": notice.body,
        "created_at": isoformat(notice.created_at),
        "sent_at": isoformat(notice.sent_at),
        "status": notice.status,
    }
    if staff:
        body.update(recipient=notice.recipient, attempts=notice.attempts, last_error=notice.last_error)
    return body


# What a claimant's timeline shows: the steps, never who did them or what officers wrote.
def status_json(session: Session, appeal: Appeal, language: str) -> dict:
    """The claimant's view, in ``language``: no internal notes, no other person's data.

    The busiest request of all (claimants check often): three narrow statements, and labels
    from the language's catalogue looked up once per process (``notices._catalog``)."""
    labels = notices.catalog_for(language).labels
    steps = session.exec(
        select(Event.occurred_at, Event.action)
        .where(Event.appeal_id == appeal.id, Event.action != "assign").order_by(Event.seq)
    ).all()
    pending = list(session.exec(
        select(Deadline)
        .where(Deadline.appeal_id == appeal.id, Deadline.kind.in_(schedule.PUBLIC_KINDS),
               Deadline.status.in_(schedule.OPEN_STATUSES))
        .order_by(Deadline.id)
    ))
    received = session.exec(
        select(Notice).where(Notice.appeal_id == appeal.id, Notice.recipient_role == "claimant").order_by(Notice.id)
    ).all()
    guidance = notices.claimant_guidance(appeal, pending, language)
    return {
        "reference": appeal.reference,
        "version": appeal.version,
        "state": appeal.state,
        "outcome": appeal.outcome,
        "outcome_label": labels["outcome"][appeal.outcome] if appeal.outcome else None,
        "benefit": appeal.benefit,
        "benefit_label": labels["benefit"][appeal.benefit],
        "stage": labels["claimant_state"][appeal.state],
        "next_step": labels["next"]["hearing_set" if appeal.state == "before_tribunal" and appeal.hearing_at
                                    else appeal.state],
        "meaning": guidance["meaning"],
        "what_you_can_do": guidance["what_you_can_do"],
        "deadlines": [
            {"kind": row.kind, "due_on": row.due_on.isoformat(), "label": labels["claimant_deadline"][row.kind]}
            for row in pending
        ],
        "timeline": [{"at": isoformat(at), "label": labels["action"].get(action, action)} for at, action in steps],
        "notices": [notice_json(notice, staff=False) for notice in received],
        "allowed_actions": operations.allowed_actions(appeal, "claimant"),
        "language": language,
    }


def calculation_json(calculation: Calculation, language: str) -> dict:
    return {
        "number": calculation.number,
        "benefit": calculation.benefit,
        "rules_version": calculation.rules_version,
        "run_at": isoformat(calculation.run_at),
        "run_role": calculation.run_role,
        "periods": calculation.inputs["periods"],
        "result": calculation.result,
        "language": language,
        "explanation": explain.explanation(calculation.result, language),
    }
