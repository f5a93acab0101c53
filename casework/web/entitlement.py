"""The insurance history and the entitlement calculator on staff pages: officers of the handling
institution enter periods from other institutions' certified records, confirm or reject what the
claimant proposed, and run the calculation during review; everyone who sees the appeal reads the
result, the formula with its numbers, and the explanation the claimant reads in their language.
The claimant's side (proposing a period, reading the result) is on their status page."""

from __future__ import annotations

from typing import Callable, TypeVar

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_pgettext
from flask_login import current_user, login_required
from pydantic import ValidationError

from casework import schemas
from casework.access import Actor, can_act, load_visible
from casework.api.spec import validation_details
from casework.countries import country_currency, country_name
from casework.db import db
from casework.entitlement import calculation as calc
from casework.entitlement import explain, operations
from casework.entitlement import rules as rules_data
from casework.entitlement.periods import KINDS
from casework.entitlement.timeline import timeline
from casework.errors import APIError, NotFound
from casework.i18n import select_locale
from casework.web.cases import case_page, staff_timezone
from casework.web.claimant import country_choices

bp = Blueprint("entitlement", __name__, url_prefix="/appeals")
T = TypeVar("T")

PERIOD_FIELDS = ("country", "starts_on", "ends_on", "kind", "evidence")
PERIOD_LABELS = {
    "country": lazy_pgettext("field", "Country"),
    "starts_on": lazy_pgettext("field", "From"),
    "ends_on": lazy_pgettext("field", "To (last day included)"),
    "kind": lazy_pgettext("field", "Kind of period"),
    "evidence": lazy_pgettext("field", "Where it comes from"),
    "note": lazy_pgettext("field", "Why"),
}
AMOUNT_LABELS = {
    "theoretical": lazy_pgettext("field", "Theoretical amount"),
    "independent": lazy_pgettext("field", "Independent amount"),
    "currency": lazy_pgettext("field", "Currency"),
}


# --- what the pages show ----------------------------------------------------------------------------

def timeline_svg(periods: list[dict], overlaps: list[dict], language: str, ident: str = "periods-timeline"):
    """The periods per country on a time line, overlaps marked, in ``language``."""
    return timeline(
        periods, overlaps, language=language, ident=ident,
        title=_("Insurance periods by country"),
        description=_("Each row is a country; each bar a period of work, insurance, residence or a credit. "
                      "Where periods of two countries overlap, the days count once, for one country."),
        kind_labels={kind: str(label) for kind, label in explain.KIND_LABELS.items()},
        country_label=lambda code: country_name(code, language),
        overlap_label=_("Overlap: counted once, for one country"),
        status_labels={status: str(label) for status, label in explain.PERIOD_STATUS_LABELS.items()},
    )


def history(appeal) -> dict:
    """The appeal's periods, their aggregation as it stands, and the chart, for a page."""
    periods = operations.periods_of(db.session, appeal)
    aggregation = operations.aggregated([p for p in periods if p.status == "confirmed"])
    listed = [operations.period_json(p) for p in periods]
    language = select_locale()
    coordination, others = country_choices(language)
    return {
        "periods": periods,
        "aggregation": aggregation,
        "total_text": explain.duration_text(aggregation.total.as_json(), language),
        "chart": timeline_svg(listed, [o.as_json() for o in aggregation.overlaps], language),
        "kinds": [(kind, explain.KIND_LABELS[kind]) for kind in KINDS],
        "kind_labels": explain.KIND_LABELS,
        "status_labels": explain.PERIOD_STATUS_LABELS,
        "period_labels": PERIOD_LABELS,
        "coordination_countries": coordination,
        "other_countries": others,
        "decide_url": lambda period_id: url_for("entitlement.decide_period", reference=appeal.reference,
                                                period_id=period_id),
    }


def period_form(form) -> dict:
    """The period form as the API's input: validated by the same schema, errors per field."""
    raw = {name: (form.get(name) or "").strip() for name in PERIOD_FIELDS}
    raw["country"] = raw["country"].upper()
    try:
        return schemas.PeriodIn.model_validate({k: v for k, v in raw.items() if v or k == "evidence"}).model_dump()
    except ValidationError as error:
        raise FormInvalid({d["field"]: d["message"] for d in validation_details(error.errors())}) from None


class FormInvalid(Exception):
    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


def submitted(work: Callable[[], T], again: Callable[[dict], Response], refused: Callable[[], Response],
              category: str = "error") -> tuple[T | None, Response | None]:
    """Do one form's work and commit: ``(its result, None)``. A form with mistakes, or refused with
    the fields named, comes back (``again``: the page with each one, 422); any other refusal is
    said and the reader sent on (``refused``). Nothing is kept of a refused form."""
    try:
        result = work()
        db.session.commit()
        return result, None
    except FormInvalid as invalid:
        db.session.rollback()
        return None, again(invalid.errors)
    except APIError as error:
        db.session.rollback()
        if error.details:
            return None, again({d["field"]: d["message"] for d in error.details})
        flash(str(error.message), category)
        return None, refused()


def _acting_officer(reference: str):
    appeal = load_visible(reference, current_user, lock=True)
    if current_user.role != "officer" or not can_act(current_user, appeal):
        abort(403)
    return appeal


def _back_to_periods(reference: str):
    return redirect(url_for("cases.case", reference=reference, _anchor="periods"), code=303)


# --- periods --------------------------------------------------------------------------------------------

@bp.post("/<reference>/periods")
@login_required
def enter_period(reference: str):
    appeal = _acting_officer(reference)
    _done, answer = submitted(
        lambda: operations.enter_period(db.session, appeal, Actor.staff(current_user), period_form(request.form)),
        lambda errors: case_page(load_visible(reference, current_user), period_errors=errors,
                                 period_values=request.form, status=422),
        lambda: _back_to_periods(reference))
    if answer is not None:
        return answer
    flash(_("The period was added to the insurance history."), "success")
    return _back_to_periods(reference)


@bp.post("/<reference>/periods/<int:period_id>/decision")
@login_required
def decide_period(reference: str, period_id: int):
    appeal = _acting_officer(reference)
    decision = request.form.get("decision", "")
    if decision not in operations.DECISIONS:
        abort(400)
    try:
        operations.decide_period(db.session, appeal, Actor.staff(current_user), period_id, decision,
                                 (request.form.get("note") or "").strip() or None)
        db.session.commit()
    except APIError as error:
        db.session.rollback()
        if isinstance(error, NotFound):
            raise
        flash(str(error.message), "error")
        return _back_to_periods(reference)
    flash({"confirm": _("The period was confirmed: it now counts."),
           "reject": _("The period was not accepted; the claimant reads why."),
           "withdraw": _("The period was withdrawn: it no longer counts.")}[decision], "success")
    return _back_to_periods(reference)


# --- calculations ----------------------------------------------------------------------------------------

def _calculation_form(appeal, errors: dict | None = None, values=None, status: int = 200):
    found = history(appeal)
    aggregation = found["aggregation"]
    rules = rules_data.current()
    missing = [country for country in aggregation.countries if rules.get(country) is None]
    basis = calc.bases(aggregation, rules) if aggregation.periods and not missing else {}
    return render_template(
        "entitlement/calculation.html",
        appeal=appeal,
        history=found,
        rules=rules,
        missing_rules=missing,
        basis=basis,
        needed=calc.amounts_needed(basis),
        currencies={country: country_currency(country) for country in aggregation.countries},
        basis_labels=explain.BASIS_LABELS,
        duration=lambda length: explain.duration_text(length.as_json(), select_locale()),
        minimum=lambda rule: explain.minimum_text(rule.as_json()),
        may_run=current_user.role == "officer" and can_act(current_user, appeal) and not appeal.is_closed,
        benefit_supported=appeal.benefit == rules_data.BENEFIT,
        latest=operations.latest_calculation(db.session, appeal),
        amount_labels={f"amounts.{country}.{which}": f"{country_name(country, select_locale())}, {AMOUNT_LABELS[which]}"
                       for country in aggregation.countries for which in AMOUNT_LABELS},
        amount_labels_by_name=AMOUNT_LABELS,
        errors=errors or {},
        values=values or {},
    ), status


def _amounts_form(form) -> dict:
    """``amounts-DE-theoretical`` and the like, as the API's ``{"amounts": {"DE": {...}}}``."""
    amounts: dict[str, dict] = {}
    for name, value in form.items():
        parts = name.split("-")
        if len(parts) == 3 and parts[0] == "amounts" and value.strip():
            amounts.setdefault(parts[1], {})[parts[2]] = value.strip().replace(",", ".")
    try:
        return schemas.CalculationIn.model_validate({"amounts": amounts}).model_dump()
    except ValidationError as error:
        raise FormInvalid({d["field"]: d["message"] for d in validation_details(error.errors())}) from None


@bp.get("/<reference>/calculation")
@login_required
def calculation_form(reference: str):
    return _calculation_form(load_visible(reference, current_user))


@bp.post("/<reference>/calculations")
@login_required
def run_calculation(reference: str):
    appeal = _acting_officer(reference)
    calculation, answer = submitted(
        lambda: operations.run_calculation(db.session, appeal, Actor.staff(current_user), _amounts_form(request.form)),
        lambda errors: _calculation_form(load_visible(reference, current_user), errors, request.form, 422),
        lambda: redirect(url_for("entitlement.calculation_form", reference=reference), code=303))
    if answer is not None:
        return answer
    flash(_("The calculation was made and kept on the appeal."), "success")
    return redirect(url_for("entitlement.calculation", reference=reference, number=calculation.number), code=303)


def calculation_view(found, language: str) -> dict:
    """What a page needs to show a stored calculation (staff and claimant pages alike), as
    ``view``: its row, result, explanation in ``language`` and formatters."""
    result = found.result
    return {
        "calculation": found,
        "result": result,
        "explanation": explain.explanation(result, language),
        "money": lambda amount, currency: explain.money(amount, currency, select_locale()),
        "length": lambda length: explain.duration_text(length, select_locale()),
        "minimum": explain.minimum_text,
        "formula": lambda row: explain.formula(row, select_locale()),
        "basis_labels": explain.BASIS_LABELS,
        "number_format": lambda value: explain.number(value, select_locale()),
    }


@bp.get("/<reference>/calculations/<int:number>")
@login_required
def calculation(reference: str, number: int):
    appeal = load_visible(reference, current_user)
    found = operations.calculation_numbered(db.session, appeal, number)
    if found is None:
        raise NotFound(_("No such calculation on this appeal."))
    claimant_language = appeal.claimant.preferred_language
    return render_template(
        "entitlement/result.html",
        appeal=appeal,
        zone=staff_timezone(current_user),
        claimant_language=claimant_language,
        claimant_explanation=explain.explanation(found.result, claimant_language),
        view=calculation_view(found, select_locale()),
        # What only staff see: the chart of the periods it was run on, and whether they still stand.
        chart=timeline_svg(found.inputs["periods"], found.result["overlaps"], select_locale(),
                           ident=f"calculation-{found.number}-timeline"),
        is_current=operations.is_current(db.session, appeal, found),
    )
