"""Notices: what each party is told about each step, in the recipient's own language and
timezone. Subject and body are rendered once and stored; delivery reads the stored text, so an
issued notice never changes when a translation does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Callable
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from flask import current_app, render_template
from flask_babel import force_locale, get_translations
from sqlalchemy import insert
from sqlmodel import Session

from casework.clock import now
from casework.countries import LANGUAGES
from casework.deadlines import calendar
from casework.i18n import ACTION_LABELS, DEADLINE_LABELS, NEXT_STEPS, OUTCOME_LABELS, STATE_LABELS
from casework.models import Appeal, Deadline, Event, Notice, Tribunal

# The language an institution reads by default: its country's official one where Casework has it.
COUNTRY_LANGUAGE = {
    "DE": "de", "AT": "de", "LI": "de", "FR": "fr", "BE": "fr", "LU": "fr", "MC": "fr", "ES": "es", "PL": "pl",
    "IT": "it", "SM": "it", "PT": "pt", "BR": "pt", "MA": "ar", "TN": "ar", "DZ": "ar", "EG": "ar",
}
# Who is told about what, beyond the claimant and the handling institution.
TRIBUNAL_ACTIONS = {"request_tribunal", "end_mediation", "mediation_timeout", "acknowledge_referral",
                    "schedule_hearing", "deliver_judgment", "remit", "withdraw"}
MEDIATION_ACTIONS = {"request_mediation", "extend_mediation", "settle", "end_mediation", "mediation_timeout", "withdraw"}
INVOLVED_ACTIONS = {"lodge", "forward", "decide_review", "review_timeout", "request_tribunal", "end_mediation",
                    "mediation_timeout", "settle", "deliver_judgment", "remit", "withdraw", "declare_inadmissible",
                    "accept_decision", "response_timeout"}
SILENT_ACTIONS = {"assign"}


def institution_language(country: str) -> str:
    return COUNTRY_LANGUAGE.get(country, "en")


def _party(role: str, address: str, language: str, country: str) -> dict:
    return {"role": role, "address": address, "language": language, "timezone": calendar.timezone_for(country)}


def _institution(role: str, country: str) -> dict:
    return _party(role, f"institution:{country}", institution_language(country), country)


def _tribunal(session: Session, appeal: Appeal) -> list[dict]:
    tribunal = session.get(Tribunal, appeal.tribunal_code) if appeal.tribunal_code else None
    if tribunal is None:
        return []
    return [_party("tribunal", tribunal.contact, (tribunal.languages or ["en"])[0], tribunal.country)]


def _recipients(session: Session, appeal: Appeal, action: str | None = None, from_state: str | None = None) -> list[dict]:
    """The claimant and the handling institution, and whoever else ``action`` concerns."""
    claimant = appeal.claimant
    people = [
        _party("claimant", claimant.email or "", claimant.preferred_language, claimant.residence_country),
        _institution("institution", appeal.handling_country),
    ]
    if action in INVOLVED_ACTIONS:
        people += [_institution("involved_institution", c) for c in sorted(appeal.country_codes - {appeal.handling_country})]
    if action in MEDIATION_ACTIONS and (action != "withdraw" or from_state == "in_mediation"):
        people.append(_party("mediator", f"mediation:{appeal.handling_country}",
                             institution_language(appeal.handling_country), appeal.handling_country))
    if action in TRIBUNAL_ACTIONS:
        people += _tribunal(session, appeal)
    return people


def format_moment(value: datetime, language: str, timezone: str) -> str:
    return format_datetime(value, format="long", locale=language, tzinfo=ZoneInfo(timezone))


def format_day(value: date, language: str) -> str:
    return format_date(value, format="long", locale=language)


@dataclass(frozen=True)
class _Catalog:
    """One language's translations and labels, looked up once per process: a sweep renders
    thousands of notices, and each label would otherwise go through Flask-Babel's context."""

    gettext: Callable[[str], str]
    labels: dict[str, dict[str, str]]


@lru_cache(maxsize=None)
def _catalog(language: str) -> _Catalog:
    with force_locale(language):
        translations = get_translations()
        labels = {
            name: {key: str(label) for key, label in table.items()}
            for name, table in (("state", STATE_LABELS), ("outcome", OUTCOME_LABELS), ("action", ACTION_LABELS),
                                ("deadline", DEADLINE_LABELS), ("next", NEXT_STEPS))
        }
        return _Catalog(translations.gettext, labels)


def _render(template: str, recipient: dict, **context) -> tuple[str, str]:
    language = recipient["language"] if recipient["language"] in LANGUAGES else "en"
    catalog = _catalog(language)
    labels = catalog.labels

    def _(text: str, **variables) -> str:
        translated = catalog.gettext(text)
        return translated % variables if variables else translated

    with force_locale(language):
        text = render_template(
            template,
            _=_,
            recipient=recipient,
            language=language,
            moment=lambda value: format_moment(value, language, recipient["timezone"]),
            day=lambda value: format_day(value, language),
            state_label=labels["state"].__getitem__,
            outcome_label=lambda o: labels["outcome"][o] if o else "",
            action_label=lambda a: labels["action"].get(a, a),
            deadline_label=lambda k: labels["deadline"].get(k, k),
            next_step=labels["next"].__getitem__,
            **context,
        )
    subject, _sep, body = text.strip().partition("\n")
    return subject.removeprefix("Subject:").strip(), body.strip() + "\n"


def _store(session: Session, appeal: Appeal, kind: str, rendered: list[tuple[dict, str, str]], event=None) -> int:
    """Insert the rendered notices in one statement: a sweep issues thousands, and building ORM
    objects for rows nothing reads back in the transaction is most of their cost."""
    if not rendered:
        return 0
    moment = now()
    session.execute(insert(Notice), [
        {"appeal_id": appeal.id, "event_seq": event.seq if event is not None else None, "kind": kind,
         "recipient_role": recipient["role"], "recipient": recipient["address"], "language": recipient["language"],
         "subject": subject, "body": body, "created_at": moment, "attempts": 0}
        for recipient, subject, body in rendered
    ])
    return len(rendered)


def for_event(session: Session, appeal: Appeal, event: Event, deadlines: list[Deadline]) -> int:
    """The notices one step causes, one per party concerned; ``deadlines`` are those now running."""
    if event.action in SILENT_ACTIONS or not current_app.config.get("NOTICES_ENABLED", True):
        return 0
    rendered = [
        (recipient, *_render("notices/event.txt", recipient, appeal=appeal, event=event, deadlines=deadlines))
        for recipient in _recipients(session, appeal, event.action, event.from_state)
    ]
    return _store(session, appeal, event.action, rendered, event)


def for_deadline(session: Session, appeal: Appeal, deadline: Deadline) -> int:
    """Notices of a reminder, or of a deadline that passed without its stage ending (overdue)."""
    if not current_app.config.get("NOTICES_ENABLED", True):
        return 0
    parent = deadline.parent
    audience = (parent or deadline).rule.get("audience", "staff")
    recipients = _recipients(session, appeal)
    # Staff limits concern staff; the parties are all told of a hearing.
    if audience != "claimant" and deadline.kind != "hearing_reminder":
        recipients = [r for r in recipients if r["role"] != "claimant"]
    if deadline.kind in ("hearing_reminder", "tribunal_acknowledgement"):
        recipients += _tribunal(session, appeal)
    kind = "overdue" if deadline.kind not in ("reminder", "hearing_reminder") else deadline.kind
    rendered = [
        (recipient, *_render("notices/deadline.txt", recipient, appeal=appeal, deadline=deadline, parent=parent, kind=kind))
        for recipient in recipients
    ]
    return _store(session, appeal, kind, rendered)
