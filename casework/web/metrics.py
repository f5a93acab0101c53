"""The public performance page, for oversight bodies, parliaments and anyone else: how long
appeals take, how many stages end within their deadlines and how often the contested decision
is changed in the claimant's favour, by period, benefit and country, as charts drawn on the
server with the numbers in tables beneath, the definitions in plain words, and the same figures
to download as CSV or JSON. No sign-in; nothing about any person."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Flask, current_app, render_template, request, url_for
from flask_babel import format_date, format_datetime, format_decimal, gettext as _, lazy_pgettext, ngettext
from pydantic import ValidationError
from sqlalchemy import func, select

from casework import charts, metrics
from casework.api import metrics as open_data
from casework.api.spec import validation_details
from casework.clock import now
from casework.countries import country_name
from casework.db import db
from casework.errors import ValidationFailed
from casework.i18n import BENEFIT_LABELS, OUTCOME_LABELS, direction, select_locale
from casework.models import BENEFITS, Appeal, Institution

bp = Blueprint("metrics", __name__)

STAGE_LABELS = {
    "review": lazy_pgettext("stage", "Review by the institution"),
    "mediation": lazy_pgettext("stage", "Mediation"),
    "tribunal": lazy_pgettext("stage", "Tribunal"),
}
RATING_LABELS = {
    "green": lazy_pgettext("rating", "Green"),
    "amber": lazy_pgettext("rating", "Amber"),
    "red": lazy_pgettext("rating", "Red"),
}
BREAKDOWN_LABELS = {
    "benefit": lazy_pgettext("breakdown", "by benefit"),
    "handling_country": lazy_pgettext("breakdown", "by handling country"),
    "country_pair": lazy_pgettext("breakdown", "by handling country and claimant's country of residence"),
    "month": lazy_pgettext("breakdown", "by month"),
}
FILTERS = ("benefit", "handling_country", "residence_country")


def register(app: Flask) -> None:
    """The page and the open data it links to (public JSON and CSV under /api/v1)."""
    app.register_blueprint(bp)
    app.register_blueprint(open_data.bp)


# --- words and numbers in the reader's language ----------------------------------------------------

def number(value: float | int | None) -> str:
    """A count (or a scale's tick) as whole units; anything else with one decimal."""
    if value is None:
        return ""
    return format_decimal(value, format="#,##0" if float(value).is_integer() else "#,##0.0")


def percent(value: float | None) -> str:
    return "" if value is None else _("%(value)s %%", value=format_decimal(value, format="#,##0.0"))


def days(value: float | None) -> str:
    return "" if value is None else _("%(days)s days", days=format_decimal(value, format="#,##0.0"))


def period_text(target: dict) -> str:
    amount, unit = target["amount"], target["unit"]
    texts = {
        "days": ngettext("%(num)d day", "%(num)d days", amount),
        "weeks": ngettext("%(num)d week", "%(num)d weeks", amount),
        "months": ngettext("%(num)d month", "%(num)d months", amount),
        "working_days": ngettext("%(num)d working day", "%(num)d working days", amount),
    }
    return texts[unit]


def target_text(stage: str, target: dict) -> str:
    if stage == "mediation" and target.get("extension"):
        return _("%(period)s (extendable once by %(extension)s)", period=period_text(target),
                 extension=period_text(target["extension"]))
    return period_text(target)


def month_label(month: str) -> str:
    year, number_ = month.split("-")
    return format_date(date(int(year), int(number_), 1), "MMM y")


def band_label(band: str) -> str:
    if band.startswith(">"):
        return _("over %(days)s days", days=band[1:])
    first, last = band.split("-")
    return _("%(first)s–%(last)s days", first=first, last=last)


# --- the filters --------------------------------------------------------------------------------

def _form() -> dict[str, str]:
    return {name: (request.args.get(name) or "").strip() for name in ("year", "from", "to", *FILTERS)}


def _scope(form: dict[str, str]) -> tuple[metrics.Scope | None, dict[str, str]]:
    """The scope the form asks for, or every mistake in it by field. A year fills in the dates
    left empty."""
    args = {name: form[name] for name in ("from", "to", *FILTERS) if form[name]}
    errors = {}
    if form["year"]:
        if form["year"].isdigit() and 1900 <= int(form["year"]) <= 2200:
            args.setdefault("from", f"{int(form['year']):04d}-01-01")
            args.setdefault("to", f"{int(form['year']):04d}-12-31")
        else:
            errors["year"] = _("must be a year, such as %(year)s", year=now().year)
    try:
        query = open_data.MetricsQuery.model_validate(args)
    except ValidationError as error:
        return None, {**errors, **{d["field"]: d["message"] for d in validation_details(error.errors())}}
    try:
        scope = open_data.scope_of(query)
    except ValidationFailed as error:
        return None, {**errors, **{d["field"]: d["message"] for d in error.details or []}}
    return (None, errors) if errors else (scope, {})


def _years() -> list[int]:
    first = db.session.execute(select(func.min(Appeal.lodged_at))).scalar()
    this_year = now().year
    return list(range(this_year, (first.year if first else this_year) - 1, -1))


def _countries(language: str) -> list[tuple[str, str]]:
    codes = db.session.execute(select(Institution.country).distinct()).scalars()
    return sorted(((code, country_name(code, language)) for code in codes), key=lambda pair: pair[1])


def _links(scope: metrics.Scope) -> dict:
    args = {"from": scope.from_on.isoformat(), "to": scope.to_on.isoformat(),
            **{name: value for name, value in scope.filters().items() if value}}
    return {
        "csv": url_for("api_metrics.report_csv", **args),
        "json": url_for("api_metrics.report", **args),
        "breakdowns": [(by, BREAKDOWN_LABELS[by], url_for("api_metrics.breakdown_csv", by=by, **args),
                        url_for("api_metrics.breakdown", by=by, **args)) for by in metrics.DIMENSIONS],
    }


# --- the charts ---------------------------------------------------------------------------------

def _charts(report: dict, months: dict, rtl: bool) -> dict[str, dict]:
    """The page's charts: for each, its title (the figure's caption) and the SVG, whose text
    alternative says what it shows and points to the table beneath."""
    note = _("* withheld: fewer than 5 cases, or it would reveal one")
    withheld = _("withheld")
    common = {"number": number, "rtl": rtl, "withheld_note": note}
    out = {}

    bands = report["clearance_distribution"]
    shown = [(band_label(band), value) for band, value in bands.items() if value]
    biggest = max(shown, key=lambda pair: pair[1]) if shown else None
    title = _("Appeals closed in the period, by clearance time")
    out["clearance"] = {"title": title, "svg": charts.columns(
        "chart-clearance", title,
        _("Bar chart: how many appeals closed in the period took each number of days from lodging to closing, "
          "in bands of 30 days. %(summary)s The numbers are in the table below.",
          summary=_("The most common band is %(band)s (%(count)s appeals).", band=biggest[0], count=number(biggest[1]))
          if biggest else _("No band can be shown.")),
        [band.replace(">", "> ") for band in bands], [charts.Series(_("Appeals"), list(bands.values()))], **common)}

    rows = months["rows"]
    categories = [month_label(row["month"]) for row in rows]
    first, last = (categories[0], categories[-1]) if categories else ("", "")
    title = _("Appeals filed and closed each month")
    out["trend"] = {"title": title, "svg": charts.columns(
        "chart-trend", title,
        _("Bar chart with two bars per month, from %(first)s to %(last)s: appeals filed (lodged) and appeals closed. "
          "In all, %(filed)s filed and %(closed)s closed. The numbers are in the table below.",
          first=first, last=last, filed=number(months["total"]["filed"]) or withheld,
          closed=number(months["total"]["closed"]) or withheld),
        categories,
        [charts.Series(_("Filed"), [row["filed"] for row in rows], "chart-bar"),
         charts.Series(_("Closed"), [row["closed"] for row in rows], "chart-bar-2")], **common)}
    title = _("Median clearance time of the appeals closed each month (days)")
    out["median"] = {"title": title, "svg": charts.line(
        "chart-median", title,
        _("Line chart of the median number of days from lodging to closing of the appeals closed in each month, "
          "from %(first)s to %(last)s. Months with fewer than 5 closed appeals are left out. The numbers are in the "
          "table below.", first=first, last=last),
        categories, [row["clearance_days"]["median"] for row in rows], **common)}

    stages = report["stages"]
    title = _("Share of stages ended within their deadline")
    out["stages"] = {"title": title, "svg": charts.bars(
        "chart-stages", title,
        _("Horizontal bar chart of the share of each stage that ended within its deadline, with lines at %(amber)s "
          "and %(green)s (below %(amber)s is red, from %(green)s green). %(said)s. The numbers are in the table below.",
          amber=percent(metrics.AMBER_PCT), green=percent(metrics.GREEN_PCT),
          said="; ".join(f"{STAGE_LABELS[name]}: {percent(stage['within_deadline_pct']) or withheld}"
                         for name, stage in stages.items())),
        [charts.Bar(_("%(stage)s — target: %(target)s", stage=STAGE_LABELS[name],
                      target=target_text(name, stage["target"])),
                    stage["within_deadline_pct"], f"chart-{stage['rating']}" if stage["rating"] else "chart-bar",
                    str(RATING_LABELS[stage["rating"]]) if stage["rating"] else "")
         for name, stage in stages.items()],
        maximum=100, thresholds=((metrics.AMBER_PCT, percent(metrics.AMBER_PCT)), (metrics.GREEN_PCT, percent(metrics.GREEN_PCT))),
        **{**common, "number": percent})}

    outcomes = report["outcomes"]
    title = _("Appeals closed in the period, by outcome")
    out["outcomes"] = {"title": title, "svg": charts.bars(
        "chart-outcomes", title,
        _("Horizontal bar chart of how many appeals closed in the period with each outcome: %(said)s. "
          "The numbers are in the table below.",
          said="; ".join(f"{OUTCOME_LABELS[o]}: {withheld if v is None else number(v)}" for o, v in outcomes.items())),
        [charts.Bar(str(OUTCOME_LABELS[o]), v, "chart-favourable" if o in metrics.FAVOURABLE_OUTCOMES else "chart-bar")
         for o, v in outcomes.items()], **common)}

    backlog = report["backlog_by_age"]
    title = _("Appeals open at the end of the period, by age")
    out["backlog"] = {"title": title, "svg": charts.columns(
        "chart-backlog", title,
        _("Bar chart of the appeals still open at the end of the period by the days since they were lodged: %(said)s. "
          "The numbers are in the table below.",
          said="; ".join(f"{band_label(b)}: {withheld if v is None else number(v)}" for b, v in backlog.items())),
        [band_label(band) for band in backlog], [charts.Series(_("Open appeals"), list(backlog.values()), "chart-bar-3")],
        **common)}
    return out


# --- the page -----------------------------------------------------------------------------------

@bp.get("/metrics")
def page():
    language = select_locale()
    form = _form()
    scope, errors = _scope(form)
    context = {"form": form, "errors": errors, "years": _years(), "countries": _countries(language),
               "benefits": [(benefit, BENEFIT_LABELS[benefit]) for benefit in BENEFITS],
               "stage_labels": STAGE_LABELS, "rating_labels": RATING_LABELS, "number": number, "percent": percent,
               "days": days, "target_text": target_text, "band_label": band_label, "month_label": month_label,
               "country_name": lambda code: country_name(code, language), "thresholds": metrics,
               "targets": metrics.targets(current_app.config)}
    if errors:
        return render_template("metrics/page.html", **context), 422
    moment = now()
    total = metrics.tally(db.session, scope, moment)[None]
    report = metrics.publish(total, scope, moment, current_app.config)
    months = metrics.breakdown(db.session, scope, "month", moment, current_app.config, total=total)
    return render_template(
        "metrics/page.html", **context, scope=scope, report=report, months=months, links=_links(scope),
        as_of=format_datetime(scope.as_of(moment), "medium"),
        charts=_charts(report, months, direction(language) == "rtl"),
    )
