"""Notices: what each party is told about each step, in the recipient's own language and
timezone. Subject and body are rendered once and stored; delivery reads the stored text, so an
issued notice never changes when a translation does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time, get_datetime_format, get_timezone_location
from flask import current_app, render_template
from babel.support import Translations
from flask_babel import force_locale, get_translations
from sqlalchemy import insert
from sqlmodel import Session

from casework import i18n
from casework.clock import now
from casework.countries import LANGUAGES, babel_locale, country_name
from casework.deadlines import calendar, schedule
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
    """The language an institution's staff read: the installation's choice, else the country's."""
    chosen = (current_app.config.get("INSTITUTION_LANGUAGES") or {}).get(country)
    return chosen if chosen in LANGUAGES else COUNTRY_LANGUAGE.get(country, "en")


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
    """A moment as the recipient reads it: the long date and the short time on their clock, and
    whose clock that is ("3 listopada 2026 22:59, czas: Portugalia (Lizbona)")."""
    zone = ZoneInfo(timezone)
    local = value.astimezone(zone)
    locale = babel_locale(language)
    moment = (get_datetime_format("long", locale=locale).replace("'", "")
              .replace("{0}", format_time(local, "short", locale=locale))
              .replace("{1}", format_date(local.date(), "long", locale=locale)))
    comma = "، " if language == "ar" else ", "
    return f"{moment}{comma}{get_timezone_location(zone, locale=locale)}"


def format_day(value: date, language: str) -> str:
    return format_date(value, format="long", locale=babel_locale(language))


# The label tables a notice reads, by name.
_TABLES = {
    "state": i18n.STATE_LABELS, "claimant_state": i18n.CLAIMANT_STATE_LABELS, "outcome": i18n.OUTCOME_LABELS,
    "action": i18n.ACTION_LABELS, "deadline": i18n.DEADLINE_LABELS, "claimant_deadline": i18n.CLAIMANT_DEADLINE_LABELS,
    "happened": i18n.CLAIMANT_ACTIONS, "next": i18n.NEXT_STEPS, "meaning": i18n.OUTCOME_MEANINGS,
    "options": i18n.CLAIMANT_OPTIONS, "greeting": i18n.GREETINGS, "benefit": i18n.BENEFIT_LABELS,
    "hearing": i18n.HEARING_MODES,
}


@dataclass(frozen=True)
class _Catalog:
    """One language's translations and labels, looked up once per process: a sweep renders
    thousands of notices, and each label would otherwise go through Flask-Babel's context."""

    language: str
    translations: Translations
    labels: dict[str, dict[str, str]]
    nothing_to_do: str
    withdraw_anytime: str

    def gettext(self, text: str, **variables) -> str:
        translated = self.translations.gettext(text)
        return translated % variables if variables else translated


@lru_cache(maxsize=None)
def _catalog(language: str) -> _Catalog:
    with force_locale(language):
        return _Catalog(
            language,
            get_translations(),
            {name: {key: str(label) for key, label in table.items()} for name, table in _TABLES.items()},
            str(i18n.NOTHING_TO_DO),
            str(i18n.WITHDRAW_ANYTIME),
        )


def catalog_for(language: str) -> _Catalog:
    """A language's translations and labels (English for a language Casework does not have)."""
    return _catalog(language if language in LANGUAGES else "en")


class _Writer:
    """Builds the parts of one notice for one recipient: every text in their language, every date
    in their language and timezone."""

    def __init__(self, recipient: dict, appeal: Appeal):
        self.recipient = recipient
        self.appeal = appeal
        self.language = recipient["language"] if recipient["language"] in LANGUAGES else "en"
        self.catalog = _catalog(self.language)
        self.labels = self.catalog.labels
        self.claimant = recipient["role"] == "claimant"

    def _(self, text: str, **variables) -> str:
        return self.catalog.gettext(text, **variables)

    def moment(self, value: datetime) -> str:
        return format_moment(value, self.language, self.recipient["timezone"])

    def day(self, value: date) -> str:
        return format_day(value, self.language)

    def greeting(self) -> str:
        if self.claimant:
            return self._("Dear %(name)s,", name=self.appeal.claimant.name)
        return self.labels["greeting"][self.recipient["role"]]

    def stage(self) -> str:
        return self.labels["claimant_state" if self.claimant else "state"][self.appeal.state]

    def deadline_label(self, kind: str) -> str:
        return self.labels["claimant_deadline" if self.claimant else "deadline"][kind]

    def subject(self, what: str) -> str:
        if self.claimant:
            return self._("Your appeal %(reference)s: %(what)s", reference=self.appeal.reference, what=what)
        return self._("Appeal %(reference)s: %(what)s", reference=self.appeal.reference, what=what)

    def meaning(self) -> str:
        """Where the appeal stands now, and for the claimant what that means for them."""
        appeal = self.appeal
        if not self.claimant:
            text = self._("The appeal is now at this stage: %(stage)s.", stage=self.stage())
            if appeal.outcome:
                text += " " + self._("Result: %(outcome)s.", outcome=self.labels["outcome"][appeal.outcome])
            elif appeal.review_outcome and appeal.state == "awaiting_claimant":
                text += " " + self._("Result of the review: %(outcome)s.",
                                     outcome=self.labels["outcome"][appeal.review_outcome])
            return text
        if appeal.outcome:
            return "\n".join((
                self._("Result: %(outcome)s.", outcome=self.labels["outcome"][appeal.outcome]),
                self.labels["meaning"][appeal.outcome],
            ))
        lines = [self._("Your appeal is now at this stage: %(stage)s.", stage=self.stage())]
        if appeal.review_outcome and appeal.state == "awaiting_claimant":
            lines.append(self._("Result of the review: %(outcome)s.", outcome=self.labels["outcome"][appeal.review_outcome]))
        hearing_set = appeal.state == "before_tribunal" and appeal.hearing_at is not None
        lines.append(self.labels["next"]["hearing_set" if hearing_set else appeal.state])
        return "\n".join(lines)

    def options(self, running: list[Deadline]) -> str:
        """What the claimant can do now and by when: their own running time limit, if any."""
        if self.appeal.state == "closed":
            return ""
        mine = [row for row in running if row.kind in self.labels["options"]
                and (row.kind == "mediation" or row.rule.get("audience") == "claimant")]
        lines = [self.labels["options"][row.kind] % {"date": self.moment(row.due_at)} for row in mine[:1]]
        if not lines:
            lines.append(self.catalog.nothing_to_do)
        if "withdraw" in self._claimant_actions():
            lines.append(self.catalog.withdraw_anytime)
        return "\n".join(lines)

    def _claimant_actions(self) -> list[str]:
        from casework.operations import allowed_actions  # operations imports this module

        return allowed_actions(self.appeal, "claimant")

    def dates(self, running: list[Deadline]) -> list[tuple[str, str]]:
        dates = [(self.deadline_label(row.kind), self.moment(row.due_at)) for row in running
                 if row.kind in i18n.DEADLINE_LABELS and row.kind not in ("reminder", "hearing_reminder")]
        if self.appeal.hearing_at and self.appeal.state == "before_tribunal":
            dates.append((self._("Hearing"), self.moment(self.appeal.hearing_at)))
        return dates

    def help(self) -> str:
        if self.claimant:
            return "\n".join((
                self._("You can follow your appeal online at any time with your reference %(reference)s and your "
                       "access code.", reference=self.appeal.reference),
                self._("If you need help, ask the institution handling your appeal: it provides a free interpreter "
                       "and can tell you how to get free legal advice (legal aid). Quote your reference."),
            ))
        return "\n".join((
            self._("Reference: %(reference)s", reference=self.appeal.reference),
            self._("Claimant: %(name)s", name=self.appeal.claimant.name),
            self._("Benefit: %(benefit)s", benefit=self.labels["benefit"][self.appeal.benefit]),
            self._("Handling country: %(country)s",
                   country=country_name(self.appeal.handling_country, self.language)),
        ))

    def details(self, event: Event) -> list[tuple[str, str]]:
        """What the actor wrote, under a heading the recipient understands."""
        payload = event.payload or {}
        headings = (
            ("reasons", self._("Reasons")), ("reason", self._("Reason")), ("items", self._("What is asked for")),
            ("terms", self._("Terms agreed")), ("instructions", self._("Instructions to the institution")),
            ("late_filing_reason", self._("Reason for the late appeal")),
        )
        lines = []
        for key, heading in headings:
            value = payload.get(key)
            if value:
                lines.append((heading, "; ".join(value) if isinstance(value, list) else str(value)))
        if event.action == "schedule_hearing" and self.appeal.hearing_at:
            lines.append((self._("Hearing"), self.moment(self.appeal.hearing_at)))
            if self.appeal.hearing_mode in self.labels["hearing"]:
                lines.append((self._("Form of the hearing"), self.labels["hearing"][self.appeal.hearing_mode]))
        if event.action == "forward":
            lines.append((self._("Now handled in"), country_name(self.appeal.handling_country, self.language)))
        return lines

    def render(self, template: str, **parts) -> tuple[str, str]:
        with force_locale(self.language):
            body = render_template(template, _=self._, greeting=self.greeting(), for_claimant=self.claimant, **parts)
        return parts["subject"], body.strip() + "\n"


def claimant_guidance(appeal: Appeal, running: list[Deadline], language: str) -> dict[str, str]:
    """What the claimant's status page says beside the stage: what it means and what they can do
    by when, the same words their notices use, on the clock of the country they live in."""
    recipient = _party("claimant", "", language, appeal.claimant.residence_country)
    writer = _Writer(recipient, appeal)
    return {"meaning": writer.meaning(), "what_you_can_do": writer.options(running)}


def _event_notice(recipient: dict, appeal: Appeal, event: Event, running: list[Deadline]) -> tuple[str, str]:
    writer = _Writer(recipient, appeal)
    what = writer.labels["action"].get(event.action, event.action)
    happened = writer.labels["happened"][event.action] if writer.claimant else what
    return writer.render(
        "notices/notice.txt",
        subject=writer.subject(what),
        happened=happened,
        when=writer.moment(event.occurred_at),
        details=writer.details(event),
        meaning=writer.meaning(),
        options=writer.options(running) if writer.claimant else "",
        dates=writer.dates(running),
        help=writer.help(),
    )


def _deadline_notice(recipient: dict, appeal: Appeal, deadline: Deadline, kind: str,
                     running: list[Deadline]) -> tuple[str, str]:
    writer = _Writer(recipient, appeal)
    parent = deadline.parent
    if kind == "overdue":
        what = writer.deadline_label(deadline.kind)
        subject = writer.subject(writer._("time limit passed (%(what)s)", what=what))
        happened = writer._("The time limit for this step ended on %(when)s and the step has not been taken: "
                            "%(what)s. The appeal is now marked overdue.", when=writer.moment(deadline.due_at), what=what)
    elif kind == "hearing_reminder":
        subject = writer.subject(writer._("hearing reminder"))
        happened = writer._("The hearing in this appeal takes place on %(when)s.", when=writer.moment(appeal.hearing_at))
    else:
        target = parent or deadline
        what = writer.deadline_label(target.kind)
        subject = writer.subject(writer._("reminder (%(what)s)", what=what))
        happened = writer._("This time limit ends on %(when)s: %(what)s.", when=writer.moment(target.due_at), what=what)
    return writer.render(
        "notices/notice.txt",
        subject=subject,
        happened=happened,
        when=None,
        details=[],
        meaning=writer.meaning(),
        options=writer.options(running) if writer.claimant else "",
        dates=writer.dates(running),
        help=writer.help(),
    )


def _store(session: Session, appeal: Appeal, kind: str, rendered: list[tuple[dict, str, str]], event=None) -> int:
    """Insert the rendered notices in one statement: a sweep issues thousands, and building ORM
    objects for rows nothing reads back in the transaction is most of their cost."""
    if not rendered:
        return 0
    moment = now()
    session.execute(insert(Notice), [
        {"appeal_id": appeal.id, "event_seq": event.seq if event is not None else None, "kind": kind,
         "recipient_role": recipient["role"], "recipient": recipient["address"], "language": recipient["language"],
         "subject": subject, "body": body, "created_at": moment, "status": "pending", "attempts": 0}
        for recipient, subject, body in rendered
    ])
    return len(rendered)


def for_event(session: Session, appeal: Appeal, event: Event, deadlines: list[Deadline]) -> int:
    """The notices one step causes, one per party concerned; ``deadlines`` are those now running."""
    if event.action in SILENT_ACTIONS or not current_app.config.get("NOTICES_ENABLED", True):
        return 0
    rendered = [
        (recipient, *_event_notice(recipient, appeal, event, deadlines))
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
    running = [row for row in schedule.listed(session, appeal) if row.status in schedule.OPEN_STATUSES]
    rendered = [(recipient, *_deadline_notice(recipient, appeal, deadline, kind, running)) for recipient in recipients]
    return _store(session, appeal, kind, rendered)
