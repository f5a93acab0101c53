"""The claimants' pages ("track your appeal"), for people without an account: lodge an appeal
against a cross-border social security decision, then follow it with its reference and access
code, answer the review decision, and add evidence.

The access code is shown once, on the page that confirms the lodging; only its keyed hash is
kept. It never goes into the session or a URL: opening an appeal with it lets this browser
session see that appeal (its reference is remembered) until the claimant leaves it or closes
the browser. An unknown reference and a wrong code get the same answer.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

import babel
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_pgettext, pgettext
from pydantic import ValidationError
from sqlmodel import select

from casework import operations, ratelimits, schemas
from casework.access import CLAIMANT, claimant_appeal, find_appeal
from casework.api.spec import validation_details
from casework.clock import now
from casework.countries import LANGUAGES, babel_locale, country_codes
from casework.db import db
from casework.deadlines import calendar, schedule
from casework.documents import MAX_MB, add_document, documents_of, media_type_of
from casework.entitlement import operations as entitlement
from casework.errors import APIError, NotFound, ValidationFailed, VersionConflict
from casework.i18n import BENEFIT_LABELS, CLAIMANT_ACTIONS, select_locale
from casework.models import BENEFITS, Event, Notice
from casework.notices import claimant_guidance
from casework.web import LANGUAGE_NAMES
from casework.web.forms import store_upload
from workflows.appeal import WorkflowError

bp = Blueprint("claimant", __name__)

# The references this browser session may see (with when it opened them), and the lodging forms
# already sent from it (so that sending one again, by reloading the page, does not lodge twice).
SESSION_APPEALS = "claimant_appeals"
SESSION_LODGED = "claimant_lodged"
REMEMBERED = 10
PERSONAL_ID_ROWS = 3

# Where EU social security coordination (Regulation 883/2004) applies: the EU, the EEA,
# Switzerland, and the United Kingdom for people covered by the Withdrawal Agreement. Offered as
# tick boxes; any other country can be written in.
COORDINATION_COUNTRIES = (
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV", "LT", "LU",
    "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO", "CH", "GB",
)

# The stages a claimant sees on the progress line, and the workflow states each covers.
STAGES = (
    ("lodged", lazy_pgettext("progress", "Lodged"), ("lodged",)),
    ("review", lazy_pgettext("progress", "Review"), ("under_review", "awaiting_information")),
    ("decision", lazy_pgettext("progress", "Your decision"), ("awaiting_claimant",)),
    ("mediation", lazy_pgettext("progress", "Mediation"), ("in_mediation",)),
    ("tribunal", lazy_pgettext("progress", "Tribunal"), ("escalated", "before_tribunal")),
    ("closed", lazy_pgettext("progress", "Closed"), ("closed",)),
)


@dataclass(frozen=True)
class Choice:
    """One of the claimant's own actions in their words: the button on the status page, the
    question and explanation of the confirmation page, and its confirm button."""

    button: object
    question: object
    explanation: tuple
    confirm: object
    danger: bool = False


CHOICES = {
    "accept_decision": Choice(
        lazy_pgettext("claimant do", "Accept the result"),
        lazy_pgettext("claimant confirm", "Do you accept the result of the review?"),
        (lazy_pgettext("claimant confirm", "Your appeal will be closed and the result of the review will stand."),
         lazy_pgettext("claimant confirm", "You will not be able to ask for mediation or for the tribunal "
                                           "afterwards.")),
        lazy_pgettext("claimant confirm", "Yes, I accept the result"),
    ),
    "request_mediation": Choice(
        lazy_pgettext("claimant do", "Ask for mediation"),
        lazy_pgettext("claimant confirm", "Do you want to ask for mediation?"),
        (lazy_pgettext("claimant confirm", "A mediator who does not work for the institution will help you and the "
                                           "institution try to reach an agreement. Mediation is free and voluntary."),
         lazy_pgettext("claimant confirm", "It has a time limit, which the mediator can extend once. You will "
                                           "see the date on this page."),
         lazy_pgettext("claimant confirm", "If there is no agreement, your appeal goes to the tribunal.")),
        lazy_pgettext("claimant confirm", "Yes, ask for mediation"),
    ),
    "request_tribunal": Choice(
        lazy_pgettext("claimant do", "Ask the tribunal to decide"),
        lazy_pgettext("claimant confirm", "Do you want the tribunal to decide?"),
        (lazy_pgettext("claimant confirm", "Your appeal will be sent to the cross-border tribunal without "
                                           "mediation. The tribunal examines your appeal and gives a judgment."),
         lazy_pgettext("claimant confirm", "The tribunal will tell you whether there is a hearing and how you can "
                                           "take part.")),
        lazy_pgettext("claimant confirm", "Yes, ask the tribunal"),
    ),
    "withdraw": Choice(
        lazy_pgettext("claimant do", "Withdraw my appeal"),
        lazy_pgettext("claimant confirm", "Do you want to withdraw your appeal?"),
        (lazy_pgettext("claimant confirm", "Your appeal will be closed and nobody will examine it any further. The "
                                           "contested decision will stand."),
         lazy_pgettext("claimant confirm", "You cannot undo this.")),
        lazy_pgettext("claimant confirm", "Yes, withdraw my appeal"),
        danger=True,
    ),
}

# --- the lodging form ----------------------------------------------------------------------------

# Field labels, for the error summary (the page shows the same words beside each field).
LABELS = {
    "claimant.name": lazy_pgettext("lodge", "Your full name"),
    "claimant.birth_date": lazy_pgettext("lodge", "Your date of birth"),
    "claimant.residence_country": lazy_pgettext("lodge", "Country where you live"),
    "claimant.preferred_language": lazy_pgettext("lodge", "Language for letters about your appeal"),
    "claimant.email": lazy_pgettext("lodge", "Your e-mail address"),
    "claimant.personal_ids.N.country": lazy_pgettext("lodge", "Country of number %(n)s"),
    "claimant.personal_ids.N.scheme": lazy_pgettext("lodge", "Type of number %(n)s"),
    "claimant.personal_ids.N.value": lazy_pgettext("lodge", "Number %(n)s"),
    "contested_decision.institution_country": lazy_pgettext("lodge", "Country of the institution that decided"),
    "contested_decision.institution_name": lazy_pgettext("lodge", "Name of the institution"),
    "contested_decision.reference": lazy_pgettext("lodge", "Reference of the decision"),
    "contested_decision.benefit": lazy_pgettext("lodge", "What the decision is about"),
    "contested_decision.decision_date": lazy_pgettext("lodge", "Date of the decision"),
    "contested_decision.notified_on": lazy_pgettext("lodge", "Date you received the decision"),
    "involved_countries": lazy_pgettext("lodge", "Other countries where you worked or lived"),
    "involved_countries_other": lazy_pgettext("lodge", "Other countries not in the list"),
    "grounds": lazy_pgettext("lodge", "Your reasons"),
    "lodged_with_country": lazy_pgettext("lodge", "Where you are lodging your appeal"),
    "file": lazy_pgettext("lodge", "A document supporting your appeal"),
}
FIELD_ORDER = tuple(LABELS)

# What to say when a field the appeal needs is left empty: an instruction, not a fragment.
MISSING = {
    "claimant.name": lazy_pgettext("lodge", "Enter your full name."),
    "claimant.residence_country": lazy_pgettext("lodge", "Choose the country where you live."),
    "claimant.personal_ids.N.country": lazy_pgettext("lodge", "Choose the country that issued this number."),
    "claimant.personal_ids.N.scheme": lazy_pgettext("lodge", "Enter the type of number, for example PESEL."),
    "claimant.personal_ids.N.value": lazy_pgettext("lodge", "Enter the number."),
    "contested_decision.institution_country": lazy_pgettext("lodge", "Choose the country of the institution that decided."),
    "contested_decision.institution_name": lazy_pgettext("lodge", "Enter the name of the institution that decided."),
    "contested_decision.benefit": lazy_pgettext("lodge", "Choose what the decision is about."),
    "contested_decision.decision_date": lazy_pgettext("lodge", "Enter the date of the decision."),
    "grounds": lazy_pgettext("lodge", "Explain why you think the decision is wrong."),
}
_EMPTY_ERRORS = ("missing", "string_too_short")
_ROW_INDEX = re.compile(r"^claimant\.personal_ids\.(\d+)\.")


def _generic(field: str) -> str:
    return re.sub(r"\.\d+\.", ".N.", field)


def field_label(field: str):
    """The label of a form field, numbering the rows of personal identification numbers."""
    match = _ROW_INDEX.match(field)
    label = LABELS.get(_generic(field), field)
    return str(label) % {"n": int(match.group(1)) + 1} if match else label


def _sorting_key(name: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", name) if not unicodedata.combining(ch)).casefold()


@lru_cache(maxsize=None)
def country_choices(language: str) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
    """(coordination countries, every other country) as (code, name) in ``language``, by name."""
    names = babel.Locale.parse(babel_locale(language)).territories
    ordered = sorted(((code, names.get(code, code)) for code in country_codes()), key=lambda c: _sorting_key(c[1]))
    return (tuple(c for c in ordered if c[0] in COORDINATION_COUNTRIES),
            tuple(c for c in ordered if c[0] not in COORDINATION_COUNTRIES))


@lru_cache(maxsize=None)
def _countries_by_name(language: str) -> dict[str, str]:
    """Country names in ``language`` and in English, to the code: a claimant may write either."""
    found = {}
    for locale in ("en", babel_locale(language)):
        for code, name in babel.Locale.parse(locale).territories.items():
            if code in country_codes():
                found[_sorting_key(name)] = code
    return found


def _other_countries(text: str, language: str) -> tuple[list[str], list[str]]:
    """The countries written in the free-text field, by name or two-letter code, and what was
    not recognised."""
    codes, unknown = [], []
    for item in re.split(r"[,;\n،؛]+", text):  # Latin and Arabic commas and semicolons
        item = item.strip()
        if not item:
            continue
        code = item.upper() if len(item) == 2 and item.upper() in country_codes() else \
            _countries_by_name(language).get(_sorting_key(item))
        (codes if code else unknown).append(code or item)
    return codes, unknown


class LodgingForm:
    """A submitted lodging form turned into the API's lodging input (``schemas.LodgeIn``), or the
    mistakes in it by field (the field names are the API's, dotted: ``claimant.name``)."""

    def __init__(self, form, language: str):
        self.form = form
        self.language = language
        self.errors: dict[str, str] = {}
        self.data: dict | None = None
        self._rows: list[int] = []  # the form row of each personal identification number sent

    def _text(self, name: str) -> str:
        return (self.form.get(name) or "").strip()

    def _put(self, target: dict, key: str, name: str) -> None:
        """Only what was filled in: an empty field is missing (the schema says if that is allowed)."""
        value = self._text(name)
        if value:
            target[key] = value

    def body(self) -> dict:
        claimant: dict = {}
        for key in ("name", "birth_date", "residence_country", "preferred_language", "email"):
            self._put(claimant, key, f"claimant.{key}")
        claimant["personal_ids"] = []
        for row in range(PERSONAL_ID_ROWS):
            number: dict = {}
            for key in ("country", "scheme", "value"):
                self._put(number, key, f"claimant.personal_ids.{row}.{key}")
            if number:
                claimant["personal_ids"].append(number)
                self._rows.append(row)
        decision: dict = {}
        for key in ("institution_country", "institution_name", "reference", "benefit", "decision_date", "notified_on"):
            self._put(decision, key, f"contested_decision.{key}")
        ticked = [code for code in self.form.getlist("involved_countries") if code]
        written, unknown = _other_countries(self._text("involved_countries_other"), self.language)
        if unknown:
            quoted = ", ".join(pgettext("quoted", "“%(name)s”", name=name) for name in unknown)
            self.errors["involved_countries_other"] = _(
                "We do not recognise %(names)s as a country. Write the name of the country or its two-letter "
                "code, for example FR for France.", names=quoted)
        body = {
            "claimant": claimant,
            "contested_decision": decision,
            "involved_countries": list(dict.fromkeys(ticked + written)),
        }
        self._put(body, "grounds", "grounds")
        self._put(body, "lodged_with_country", "lodged_with_country")
        return body

    def _field(self, field: str) -> str:
        """The form field a schema error names: its row for personal numbers (empty rows are
        not sent), the free-text countries for the list of countries."""
        match = _ROW_INDEX.match(field)
        if match and int(match.group(1)) < len(self._rows):
            return f"claimant.personal_ids.{self._rows[int(match.group(1))]}." + field[match.end():]
        if field.startswith("involved_countries"):
            return "involved_countries_other"
        if field == "lodged_at":  # only when the decision date lies after today
            return "contested_decision.decision_date"
        return field

    def add_error(self, field: str, message: str) -> None:
        self.errors.setdefault(self._field(field), message)

    def validate(self) -> bool:
        body = self.body()
        try:
            self.data = schemas.LodgeIn.model_validate(body).model_dump()
        except ValidationError as error:
            for raw in error.errors():
                detail = validation_details([raw])[0]
                field = self._field(detail["field"])
                friendly = MISSING.get(_generic(field)) if raw.get("type") in _EMPTY_ERRORS else None
                self.errors.setdefault(field, str(friendly or detail["message"]))
        return not self.errors

    def sorted_errors(self) -> dict[str, str]:
        def place(field: str) -> tuple:
            generic = _generic(field)
            row = _ROW_INDEX.match(field)
            return (FIELD_ORDER.index(generic) if generic in FIELD_ORDER else len(FIELD_ORDER),
                    int(row.group(1)) if row else 0)

        return dict(sorted(self.errors.items(), key=lambda item: place(item[0])))


def _summary(errors: dict[str, str]) -> dict[str, str]:
    """Each mistake as the error summary lists it: an instruction as it is ("Enter your full
    name."), a remark about a value after the name of its field ("Date of the decision: must not
    be in the future"), and always with its number in the rows of identification numbers."""
    instructions = {str(message) for message in MISSING.values()}
    summary = {}
    for field, message in errors.items():
        whole = (message in instructions and not _ROW_INDEX.match(field)) or field in ("involved_countries_other", "file")
        summary[field] = message if whole else _("%(field)s: %(problem)s", field=field_label(field), problem=message)
    return summary


def _file_error(upload) -> str | None:
    """Whether the chosen file is one Casework takes, by its content (``add_document`` checks
    again, with its size, as it stores it)."""
    head = upload.stream.read(8192)
    upload.stream.seek(0)
    if not head:
        return _("The file is empty.")
    try:
        media_type_of(head)
    except APIError as error:
        return str(error.message)
    return None


# --- which appeals this browser may see ------------------------------------------------------------

def _opened_appeals() -> dict[str, int]:
    """The references this browser opened, with when (epoch seconds); older than the session
    lifetime, a permission has lapsed (a shared computer left open)."""
    lifetime = current_app.permanent_session_lifetime.total_seconds()
    moment = now().timestamp()
    opened = session.get(SESSION_APPEALS) or {}
    return {ref: at for ref, at in opened.items() if isinstance(at, (int, float)) and moment - at < lifetime}


def _allow(reference: str) -> None:
    opened = {ref: at for ref, at in _opened_appeals().items() if ref != reference}
    opened[reference] = int(now().timestamp())
    session[SESSION_APPEALS] = dict(list(opened.items())[-REMEMBERED:])


def _forget(reference: str) -> None:
    session[SESSION_APPEALS] = {ref: at for ref, at in _opened_appeals().items() if ref != reference}


def _opened(reference: str, *, lock: bool = False):
    """The appeal, if this browser session opened it with its access code; else None."""
    if reference not in _opened_appeals():
        return None
    appeal = find_appeal(reference, lock=lock)
    if appeal is None:
        _forget(reference)
    return appeal


def _to_track(reference: str):
    return redirect(url_for("claimant.track", reference=reference), code=303)


def _private(page: str, status: int = 200):
    """Pages with personal data (or the access code) stay out of every cache."""
    response = current_app.make_response((page, status))
    response.headers["Cache-Control"] = "no-store"
    return response


# --- lodging -------------------------------------------------------------------------------------

def _lodge_page(errors: dict | None = None, values=None, status: int = 200, file_chosen: bool = False):
    language = select_locale()
    if values is None:
        values = {"claimant.preferred_language": language, "submission": secrets.token_urlsafe(16)}
    coordination, others = country_choices(language)
    return render_template(
        "claimant/lodge.html",
        errors=errors or {},
        summary=_summary(errors or {}),
        values=values,
        coordination_countries=coordination,
        other_countries=others,
        benefits=[(code, BENEFIT_LABELS[code]) for code in BENEFITS],
        language_choices=[(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
        personal_id_rows=range(PERSONAL_ID_ROWS),
        file_chosen=file_chosen,
        max_mb=MAX_MB,
    ), status


@bp.route("/lodge", methods=["GET", "POST"])
@ratelimits.lodging("RATELIMIT_LODGE_WEB")
def lodge():
    """Lodge an appeal: the API's lodging input from a plain-language form, then the reference
    and access code, shown this once."""
    if request.method == "GET":
        return _lodge_page()
    submission = request.form.get("submission", "")
    already = session.get(SESSION_LODGED, {}).get(submission) if submission else None
    if already:
        flash(_("This appeal was already lodged, with the reference %(reference)s. Its access code was shown "
                "once, when you lodged it.", reference=already), "warning")
        return redirect(url_for("claimant.status", reference=already), code=303)
    form = LodgingForm(request.form, select_locale())
    form.validate()
    upload = request.files.get("file")
    chosen = upload is not None and bool(upload.filename)
    if chosen:
        problem = _file_error(upload)
        if problem:
            form.errors["file"] = problem
    if form.errors:
        return _lodge_page(form.sorted_errors(), request.form, 422, chosen)
    try:
        appeal, access_code = operations.lodge_appeal(db.session, form.data, CLAIMANT, current_app.config)
    except ValidationFailed as error:
        db.session.rollback()
        for detail in error.details or [{"field": "lodged_at", "message": error.message}]:
            form.add_error(detail["field"], str(detail["message"]))
        return _lodge_page(form.sorted_errors(), request.form, 422, chosen)
    if chosen:
        try:
            add_document(db.session, appeal, upload.stream, upload.filename, CLAIMANT.label)
        except APIError as error:
            db.session.rollback()
            form.errors["file"] = str(error.message)
            return _lodge_page(form.sorted_errors(), request.form, 422, chosen)
    db.session.commit()
    _allow(appeal.reference)
    if submission:
        lodged = dict(list(session.get(SESSION_LODGED, {}).items())[-(REMEMBERED - 1):])
        lodged[submission] = appeal.reference
        session[SESSION_LODGED] = lodged
    return _private(render_template("claimant/lodged.html", appeal=appeal, access_code=access_code,
                                    with_document=chosen))


@bp.errorhandler(413)
def _too_large(_error):
    """A body over ``MAX_CONTENT_LENGTH`` is refused before the form is read: say why, and how to
    go on."""
    from casework.web.pages import problem

    message = _("The file is larger than %(limit)s MB. Go back and choose a smaller file.", limit=MAX_MB)
    if request.endpoint == "claimant.lodge":
        message += " " + _("You can also leave it out and add documents later on the page of your appeal.")
    return problem(413, message)


# --- opening an appeal ------------------------------------------------------------------------------

@bp.route("/track", methods=["GET", "POST"])
def track():
    """Open an appeal with its reference and access code. A wrong pair gets one answer, whichever
    half was wrong."""
    errors: dict[str, str] = {}
    failed = False
    if request.method == "GET":
        reference = (request.args.get("reference") or "").strip()[:40]
    else:
        reference = "".join((request.form.get("reference") or "").split()).upper()
        code = (request.form.get("access_code") or "").strip()
        if not reference:
            errors["reference"] = _("Enter the reference of your appeal.")
        if not code:
            errors["access_code"] = _("Enter your access code.")
        if not errors:
            try:
                appeal = claimant_appeal(reference, code)
            except NotFound:
                failed = True
            except APIError as error:  # too many attempts: the same page, saying so
                return render_template("claimant/track.html", errors={}, reference=reference, failed=False,
                                       refused=str(error.message)), error.status, error.headers
            else:
                _allow(appeal.reference)
                return redirect(url_for("claimant.status", reference=appeal.reference), code=303)
    status = 404 if failed else 422 if errors else 200
    return render_template("claimant/track.html", errors=errors, reference=reference, failed=failed,
                           refused=None), status


@bp.post("/track/<reference>/leave")
def leave(reference: str):
    """Forget the appeal in this browser (a shared computer): it takes the code to open it again."""
    _forget(reference)
    flash(_("This device has forgotten your appeal. To see it again, enter its reference and access code."),
          "success")
    return redirect(url_for("claimant.track"), code=303)


# --- the status page -----------------------------------------------------------------------------

def _progress(appeal, events) -> list[dict]:
    """Each stage of the progress line: done, current, skipped (mediation is optional, and an
    appeal may close before it reaches the tribunal) or still to come."""
    visited = {event.to_state for event in events}
    current = next(i for i, (_key, _label, states) in enumerate(STAGES) if appeal.state in states)
    steps = []
    for index, (key, label, states) in enumerate(STAGES):
        if index == current:
            progress = "current"
        elif index < current:
            progress = "done" if visited & set(states) else "skipped"
        else:
            progress = "todo"
        steps.append({"key": key, "label": label, "status": progress})
    return steps


def _deadlines(appeal, zone: ZoneInfo) -> list[dict]:
    today = now().astimezone(zone).date()
    rows = []
    for row in schedule.listed(db.session, appeal):
        if row.status not in schedule.OPEN_STATUSES:
            continue
        rows.append({
            "row": row,
            "days_left": (row.due_at.astimezone(zone).date() - today).days,
            "yours": row.kind == "claimant_response" or row.rule.get("audience") == "claimant",
        })
    return rows


def _status_page(appeal, period_errors: dict | None = None, period_values=None, status: int = 200):
    from casework.web.entitlement import calculation_view, history

    language = select_locale()
    timezone = calendar.timezone_for(appeal.claimant.residence_country)
    zone = ZoneInfo(timezone)
    deadlines = _deadlines(appeal, zone)
    events = db.session.exec(select(Event).where(Event.appeal_id == appeal.id).order_by(Event.seq)).all()
    received = db.session.exec(
        select(Notice).where(Notice.appeal_id == appeal.id, Notice.recipient_role == "claimant").order_by(Notice.id.desc())
    ).all()
    guidance = claimant_guidance(appeal, [d["row"] for d in deadlines], language)
    found = history(appeal)
    latest = entitlement.latest_calculation(db.session, appeal)
    return _private(render_template(
        "claimant/status.html",
        appeal=appeal,
        timezone=timezone,
        progress=_progress(appeal, events),
        meaning=[line for line in guidance["meaning"].splitlines() if line.strip()],
        options=[line for line in guidance["what_you_can_do"].splitlines() if line.strip()],
        deadlines=deadlines,
        events=[event for event in events if event.action != "assign"],
        notices=received,
        documents=[d for d in documents_of(db.session, appeal) if d.uploaded_by == CLAIMANT.label],
        actions=[action for action in operations.allowed_actions(appeal, "claimant") if action in CHOICES],
        choices=CHOICES,
        may_upload=not appeal.is_closed,
        max_mb=MAX_MB,
        history=found,
        coordination_countries=found["coordination_countries"],
        other_countries=found["other_countries"],
        may_propose=not appeal.is_closed,
        period_errors=period_errors or {},
        period_values=period_values or {},
        view=calculation_view(latest, language) if latest else None,
    ), status)


@bp.get("/track/<reference>")
def status(reference: str):
    appeal = _opened(reference)
    if appeal is None:
        return _to_track(reference)
    return _status_page(appeal)


@bp.get("/track/<reference>/confirm/<action>")
def confirm(reference: str, action: str):
    """Say plainly what an action will do before it is done."""
    if action not in CHOICES:
        abort(404)
    appeal = _opened(reference)
    if appeal is None:
        return _to_track(reference)
    if action not in operations.allowed_actions(appeal, "claimant"):
        flash(_("This step is not possible at this stage of your appeal."), "warning")
        return redirect(url_for("claimant.status", reference=reference), code=303)
    return _private(render_template("claimant/confirm.html", appeal=appeal, action=action, choice=CHOICES[action]))


@bp.post("/track/<reference>/actions/<action>")
def act(reference: str, action: str):
    """Take the confirmed action. If the appeal moved on since the page was opened (the
    institution acted, a time limit passed), say so and show it as it is now."""
    if action not in CHOICES:
        abort(404)
    appeal = _opened(reference, lock=True)
    if appeal is None:
        return _to_track(reference)
    try:
        version = int(request.form.get("version", ""))
    except ValueError:
        abort(400)
    back = redirect(url_for("claimant.status", reference=reference), code=303)
    try:
        operations.perform_action(db.session, appeal, CLAIMANT, action, {}, expected_version=version)
        db.session.commit()
    except VersionConflict:
        db.session.rollback()
        flash(_("Your appeal changed while you were looking at it, so nothing was done. Here it is as it is now: "
                "check it and choose again."), "warning")
        return back
    except (WorkflowError, APIError):
        db.session.rollback()
        flash(_("This step is not possible at this stage of your appeal."), "warning")
        return back
    flash(str(CLAIMANT_ACTIONS[action]), "success")
    return back


@bp.post("/track/<reference>/documents")
def upload(reference: str):
    """Add evidence: PDF, PNG or JPEG up to 10 MB, recognised by its content."""
    appeal = _opened(reference)
    if appeal is None:
        return _to_track(reference)
    back = redirect(url_for("claimant.status", reference=reference, _anchor="documents"), code=303)
    problem = store_upload(appeal, CLAIMANT.label)
    if problem:
        flash(problem, "error")
        return back
    flash(_("Your document was added to your appeal."), "success")
    return back


@bp.post("/track/<reference>/periods")
def propose_period(reference: str):
    """A period the claimant says the officers do not have: counted once an officer confirms it."""
    from casework.web.entitlement import period_form, submitted

    appeal = _opened(reference, lock=True)
    if appeal is None:
        return _to_track(reference)
    back = redirect(url_for("claimant.status", reference=reference, _anchor="periods"), code=303)
    _done, answer = submitted(
        lambda: entitlement.enter_period(db.session, appeal, CLAIMANT, period_form(request.form)),
        lambda errors: _status_page(_opened(reference), errors, request.form, 422),
        lambda: back, category="warning")
    if answer is not None:
        return answer
    flash(_("Thank you: an officer will check the period and tell you."), "success")
    return back
