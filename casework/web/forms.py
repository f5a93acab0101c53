"""The fields each action's form asks for, and turning a submitted form into the same validated
input the API takes (``casework.schemas``), so a page and the API can never accept different
things. Errors come back per field, in the reader's language."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import request
from flask_babel import gettext as _, lazy_pgettext
from pydantic import TypeAdapter, ValidationError

from casework import schemas
from casework.api.spec import validation_details
from casework.db import db
from casework.documents import add_document, check_announced_size
from casework.errors import APIError
from casework.i18n import HEARING_MODES, OUTCOME_LABELS
from workflows.appeal import JUDGMENT_OUTCOMES, REVIEW_OUTCOMES


@dataclass(frozen=True)
class Field:
    name: str
    label: object
    kind: str = "text"  # text, textarea, select, number, datetime, email, country
    required: bool = True
    choices: tuple = ()
    hint: object = None


@dataclass(frozen=True)
class ActionForm:
    fields: tuple[Field, ...] = ()
    confirm: object = None  # a sentence the actor must confirm (no fields to fill)
    danger: bool = False

    def field_labels(self) -> dict:
        return {item.name: item.label for item in self.fields}


_REASON = Field("reason", lazy_pgettext("field", "Reason"), "textarea")
_REVIEW = tuple((o, OUTCOME_LABELS[o]) for o in REVIEW_OUTCOMES)
_JUDGMENT = tuple((o, OUTCOME_LABELS[o]) for o in JUDGMENT_OUTCOMES)

FORMS: dict[str, ActionForm] = {
    "forward": ActionForm((
        Field("to_country", lazy_pgettext("field", "Country of the competent institution"), "country"),
        Field("to_institution_name", lazy_pgettext("field", "Name of the competent institution")),
    )),
    "admit": ActionForm((
        Field("late_filing_reason", lazy_pgettext("field", "Reason for accepting a late appeal"), "textarea",
              required=False, hint=lazy_pgettext("hint", "Required only when the appeal was lodged after the filing deadline.")),
    )),
    "declare_inadmissible": ActionForm((_REASON,), danger=True),
    "request_information": ActionForm((
        Field("from", lazy_pgettext("field", "Asked of"), "select",
              choices=(("claimant", lazy_pgettext("party", "the claimant")),
                       ("institution", lazy_pgettext("party", "another institution")))),
        Field("items", lazy_pgettext("field", "What is asked for"), "textarea",
              hint=lazy_pgettext("hint", "One item per line.")),
        Field("due_in_days", lazy_pgettext("field", "Days allowed"), "number", required=False,
              hint=lazy_pgettext("hint", "7 to 90; leave empty for the legal period.")),
    )),
    "receive_information": ActionForm(),
    "decide_review": ActionForm((
        Field("outcome", lazy_pgettext("field", "Outcome"), "select", choices=_REVIEW),
        Field("reasons", lazy_pgettext("field", "Reasons"), "textarea"),
    )),
    "accept_decision": ActionForm(confirm=lazy_pgettext("confirm", "The claimant accepts the result of the review. The appeal will be closed.")),
    "request_mediation": ActionForm(confirm=lazy_pgettext("confirm", "The claimant asks for mediation.")),
    "request_tribunal": ActionForm(confirm=lazy_pgettext("confirm", "The claimant asks for the tribunal to decide.")),
    "withdraw": ActionForm(confirm=lazy_pgettext("confirm", "The claimant withdraws the appeal. It will be closed."), danger=True),
    "extend_mediation": ActionForm((_REASON,)),
    "settle": ActionForm((Field("terms", lazy_pgettext("field", "Terms agreed"), "textarea"),)),
    "end_mediation": ActionForm((_REASON,), danger=True),
    "acknowledge_referral": ActionForm(),
    "schedule_hearing": ActionForm((
        Field("hearing_at", lazy_pgettext("field", "Date and time of the hearing"), "datetime"),
        Field("mode", lazy_pgettext("field", "Form of the hearing"), "select",
              choices=tuple((mode, label) for mode, label in HEARING_MODES.items())),
    )),
    "deliver_judgment": ActionForm((
        Field("outcome", lazy_pgettext("field", "Judgment"), "select", choices=_JUDGMENT),
        Field("reasons", lazy_pgettext("field", "Reasons"), "textarea"),
    )),
    "remit": ActionForm((Field("instructions", lazy_pgettext("field", "Instructions to the institution"), "textarea"),)),
    "assign": ActionForm((Field("user", lazy_pgettext("field", "E-mail of the officer or mediator"), "email"),)),
}

_ACTION = TypeAdapter(schemas.ActionRequest)


class FormErrors(Exception):
    """What is wrong with a submitted form: ``{field: message}``."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


def parse_action(action: str, form, version: int, timezone: str) -> dict:
    """The submitted form as the API's validated action input, or ``FormErrors``.

    ``datetime`` fields are the local time of ``timezone`` (the browser sends no offset)."""
    spec = FORMS.get(action, ActionForm())
    body: dict = {"action": action, "version": version}
    for item in spec.fields:
        raw = (form.get(item.name) or "").strip()
        if not raw:
            continue
        if item.kind == "number":
            body[item.name] = int(raw) if raw.lstrip("-").isdigit() else raw
        elif item.kind == "datetime":
            body[item.name] = _local_time(raw, timezone)
        elif item.name == "items":
            body[item.name] = [line.strip() for line in raw.splitlines() if line.strip()]
        else:
            body[item.name] = raw
    try:
        parsed = _ACTION.validate_python(body).root
    except ValidationError as error:
        raise FormErrors({d["field"]: d["message"] for d in validation_details(error.errors())}) from None
    return {k: v for k, v in parsed.model_dump(by_alias=True).items() if v is not None}


def _local_time(raw: str, timezone: str) -> str:
    try:
        local = datetime.fromisoformat(raw)
    except ValueError:
        return raw  # pydantic names it
    if local.tzinfo is None:
        local = local.replace(tzinfo=ZoneInfo(timezone))
    return local.isoformat()


def store_upload(appeal, uploaded_by: str) -> str | None:
    """Add the file of the request's ``file`` field to the appeal and commit; the reason it was
    refused otherwise (too large, not PDF/PNG/JPEG by its content, empty, none chosen)."""
    try:
        check_announced_size(request.content_length)
        chosen = request.files.get("file")
        if chosen is None or not chosen.filename:
            raise APIError(_("Choose a file to add."), status=422)
        add_document(db.session, appeal, chosen.stream, chosen.filename, uploaded_by)
        db.session.commit()
    except APIError as error:
        db.session.rollback()
        return str(error.message)
    return None
