"""The published performance figures as open data (API.md "Metrics (public)"): JSON and CSV, for
anyone, without credentials. A report for one period and set of filters, and the same figures
broken down by benefit, handling country, pair of countries or month.

Small counts are withheld by ``casework.metrics.publish`` before anything leaves the database
layer; these views only choose the scope and the format.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from typing import Annotated, Literal, Optional

from flask import Blueprint, Response as FlaskResponse, current_app, request
from flask_babel import gettext as _
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from spectree import Response

from casework import metrics, schemas
from casework.api.documents import streamed
from casework.api.spec import spec, validation_details
from casework.clock import now
from casework.db import db
from casework.errors import ValidationFailed

# Public: no credentials, and readable from any web page (oversight bodies' own dashboards).
bp = Blueprint("api_metrics", __name__, url_prefix="/api/v1")
_TAGS = ["metrics"]
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value):
    """Only ``YYYY-MM-DD``: pydantic would also take a timestamp, which nobody means here."""
    if isinstance(value, str) and not _ISO_DATE.fullmatch(value.strip()):
        raise ValueError(_("must be a date (YYYY-MM-DD)"))
    return value


def _plausible(value: date) -> date:
    if not schemas.EARLIEST_YEAR <= value.year <= schemas.LATEST_YEAR:
        raise ValueError(_("must be between %(first)s and %(last)s", first=schemas.EARLIEST_YEAR,
                           last=schemas.LATEST_YEAR))
    return value


def _upper(value):
    return value.strip().upper() if isinstance(value, str) else value


Day = Annotated[date, BeforeValidator(_iso_date), AfterValidator(_plausible), Field(json_schema_extra={"format": "date"})]
AnyCountry = Annotated[schemas.Country, BeforeValidator(_upper)]


class MetricsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, populate_by_name=True)

    from_: Optional[Day] = Field(
        default=None, alias="from",
        description="First day of the period (UTC, included). Default: twelve months before `to`.")
    to: Optional[Day] = Field(default=None, description="Last day of the period (UTC, included). Default: today.")
    benefit: Optional[schemas.Benefit] = Field(default=None, description="Only appeals about this benefit.")
    handling_country: Optional[AnyCountry] = Field(
        default=None, description="Only appeals handled by this country's institution (ISO 3166-1 alpha-2).")
    residence_country: Optional[AnyCountry] = Field(
        default=None, description="Only appeals of claimants residing in this country (ISO 3166-1 alpha-2).")
    lang: Optional[schemas.Language] = Field(default=None, description="Language of error messages.")


class BreakdownQuery(MetricsQuery):
    by: Literal[metrics.DIMENSIONS] = Field(  # type: ignore[valid-type]
        description="benefit, handling_country, country_pair (handling country and the claimant's country of "
                    "residence) or month (a time series of the months of the period).")


# --- response shapes (the OpenAPI document, and a check on every response) ----------------------

Count = Optional[int]
Days = Optional[float]


class PeriodOut(BaseModel):
    from_: str = Field(alias="from")
    to: str


class FiltersOut(BaseModel):
    benefit: Optional[str] = None
    handling_country: Optional[str] = None
    residence_country: Optional[str] = None


class TargetOut(BaseModel):
    amount: int
    unit: Literal["days", "weeks", "months", "working_days"]
    extension: Optional["TargetOut"] = Field(default=None, description="Mediation may be extended once by this much.")


class StageOut(BaseModel):
    cases: Count = Field(description="Stages of this kind that ended in the period (withdrawn during it: left out).")
    median_days: Days
    p90_days: Days
    within_deadline_pct: Optional[float] = Field(description="Share ended at or before the deadline's due time.")
    rating: Optional[Literal["green", "amber", "red"]] = Field(description="green ≥ 75 %, amber ≥ 55 %, red below.")
    target: Optional[TargetOut] = Field(default=None, description="The time the stage should take.")


class StagesOut(BaseModel):
    review: StageOut
    mediation: StageOut
    tribunal: StageOut


class ClearanceOut(BaseModel):
    median: Days
    p90: Days
    mean: Days


class MetricsOut(BaseModel):
    """Every figure of API.md. ``null`` marks a figure withheld (named in ``suppressed``): a count
    from 1 to 4, a statistic over fewer than 5 cases, or a cell that would let one work out another."""

    period: PeriodOut
    filters: FiltersOut
    as_of: str = Field(description="When open appeals are counted: the end of the period, or now if sooner.")
    filed: Count
    closed: Count
    open: Count
    backlog_by_age: dict[str, Count] = Field(description="Open appeals by age in whole days.")
    clearance_days: ClearanceOut = Field(description="Lodging to closing, appeals closed in the period.")
    clearance_distribution: dict[str, Count] = Field(description="Appeals closed in the period by clearance time "
                                                                  "in whole days.")
    stages: StagesOut
    outcomes: dict[str, Count]
    changed_in_favour_pct: Optional[float]
    escalation_pct: Optional[float]
    rating_thresholds: dict[str, float]
    suppressed: list[str]


class BreakdownStagesOut(BaseModel):
    review: StageOut
    mediation: StageOut
    tribunal: StageOut


class BreakdownRowOut(BaseModel):
    benefit: Optional[str] = None
    handling_country: Optional[str] = None
    residence_country: Optional[str] = None
    month: Optional[str] = Field(default=None, description="YYYY-MM")
    filed: Count
    closed: Count
    open: Count = Field(default=None, description="Not given by month.")
    clearance_days: ClearanceOut
    stages: BreakdownStagesOut
    changed_in_favour_pct: Optional[float]
    escalation_pct: Optional[float]
    suppressed: list[str]


class BreakdownOut(BaseModel):
    period: PeriodOut
    filters: FiltersOut
    as_of: str
    by: str
    rows: list[BreakdownRowOut]
    total: BreakdownRowOut


_ERRORS = {"HTTP_422": schemas.ErrorOut}


# --- choosing the scope ---------------------------------------------------------------------------

def scope_of(query: MetricsQuery, today: date | None = None) -> metrics.Scope:
    """The period and filters asked for; without dates, the twelve months up to today."""
    today = today or now().date()
    filters = {"benefit": query.benefit, "handling_country": query.handling_country,
               "residence_country": query.residence_country}
    to_on = query.to or today
    scope = metrics.Scope.default(to_on, **filters)
    if query.from_ is not None:
        scope = metrics.Scope(query.from_, to_on, **filters)
    if scope.from_on > scope.to_on:
        raise ValidationFailed.field("from", _("must not be after the end of the period (%(to)s)", to=to_on.isoformat()))
    return scope


def parse(model: type[MetricsQuery]) -> MetricsQuery:
    """The query string as ``model``, with the API's 422 for anything wrong (views spectree does
    not validate for us, as it would also rewrite their CSV responses as JSON)."""
    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as error:
        details = validation_details(error.errors())
        raise ValidationFailed("; ".join(f"{d['field']}: {d['message']}" for d in details), details=details) from None


def _json(body: dict) -> FlaskResponse:
    """JSON in the order of the contract (age bands, outcomes, stages as API.md lists them), not
    sorted alphabetically as Flask would ("181-365" before "31-90")."""
    return current_app.response_class(current_app.json.dumps(body, sort_keys=False) + "\n",
                                      mimetype="application/json")


def _public(response: FlaskResponse) -> FlaskResponse:
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.cache_control.public = True
    response.cache_control.max_age = 300
    return response


# --- CSV ------------------------------------------------------------------------------------------

_FILTER_COLUMNS = ("benefit", "handling_country", "residence_country")
_NOT_FIGURES = {"period", "filters", "suppressed", "by", "rows", "total"}


def flatten(body: dict, prefix: str = "") -> list[tuple[str, object]]:
    """Figures as (dotted name, value), in the order of the JSON: the names ``suppressed`` uses."""
    rows = []
    for key, value in body.items():
        if not prefix and key in _NOT_FIGURES:
            continue
        if isinstance(value, dict):
            rows += flatten(value, f"{prefix}{key}.")
        else:
            rows.append((f"{prefix}{key}", value))
    return rows


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)


def _csv_response(header: list[str], rows: list[list], filename: str) -> FlaskResponse:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    response = FlaskResponse(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return _public(response)


def filename(scope: metrics.Scope, by: str | None = None) -> str:
    parts = ["casework-metrics"] + ([f"by-{by.replace('_', '-')}"] if by else [])
    parts += [scope.from_on.isoformat(), scope.to_on.isoformat()]
    if scope.benefit:
        parts.append(scope.benefit.replace("_", "-"))
    if scope.handling_country:
        parts.append(f"handling-{scope.handling_country}")
    if scope.residence_country:
        parts.append(f"residence-{scope.residence_country}")
    return "_".join(parts) + ".csv"


def _context(body: dict) -> list[str]:
    return [body["period"]["from"], body["period"]["to"], *(body["filters"][f] or "" for f in _FILTER_COLUMNS)]


def report_csv_rows(body: dict) -> tuple[list[str], list[list]]:
    withheld = set(body["suppressed"])
    context = _context(body)
    rows = [[name, _cell(value), "suppressed" if name in withheld else "", *context] for name, value in flatten(body)]
    return ["metric", "value", "note", "from", "to", *_FILTER_COLUMNS], rows


def _group(by: str, row: dict) -> str:
    if by == "country_pair":
        return f"{row['handling_country']}-{row['residence_country']}"
    return row[by]


def breakdown_csv_rows(body: dict) -> tuple[list[str], list[list]]:
    by, context = body["by"], _context(body)
    keys = {"benefit", "handling_country", "residence_country", "month", "suppressed"}
    rows = []
    for group, row in [(_group(by, r), r) for r in body["rows"]] + [("total", body["total"])]:
        withheld = set(row["suppressed"])
        figures = {k: v for k, v in row.items() if k not in keys}
        rows += [[by, group, name, _cell(value), "suppressed" if name in withheld else "", *context]
                 for name, value in flatten(figures)]
    return ["by", "group", "metric", "value", "note", "from", "to", *_FILTER_COLUMNS], rows


# --- the endpoints -------------------------------------------------------------------------------

@bp.get("/metrics")
@spec.validate(query=MetricsQuery, resp=Response(HTTP_200=MetricsOut, **_ERRORS), tags=_TAGS)
def report():
    """Performance figures for a period (`from`–`to`, UTC days, both included) and optional filters:
    appeals filed, closed and open, clearance time, each stage's time and share within its deadline
    (with its target and rating), outcomes, the share changed in the claimant's favour and the
    escalation rate. Public; small counts are withheld (see `suppressed`)."""
    scope = scope_of(request.context.query)
    return _public(_json(metrics.report(db.session, scope, config=current_app.config)))


@bp.get("/metrics.csv")
@streamed(query=MetricsQuery, resp=Response("HTTP_200", **_ERRORS), tags=_TAGS)
def report_csv():
    """The same figures as CSV (text/csv, UTF-8): one row per metric, named as in the JSON
    (`stages.review.median_days`), with the period and filters on every row; a withheld figure
    has an empty value and the note `suppressed`."""
    scope = scope_of(parse(MetricsQuery))
    header, rows = report_csv_rows(metrics.report(db.session, scope, config=current_app.config))
    return _csv_response(header, rows, filename(scope))


@bp.get("/metrics/breakdown")
@spec.validate(query=BreakdownQuery, resp=Response(HTTP_200=BreakdownOut, **_ERRORS), tags=_TAGS)
def breakdown():
    """The main figures for each benefit, handling country, pair of countries (handling country →
    claimant's residence) or month of the period, with the total. Within each column, a withheld
    count cannot be worked out from the others and the total."""
    query: BreakdownQuery = request.context.query
    body = metrics.breakdown(db.session, scope_of(query), query.by, config=current_app.config)
    return _public(_json(body))


@bp.get("/metrics/breakdown.csv")
@streamed(query=BreakdownQuery, resp=Response("HTTP_200", **_ERRORS), tags=_TAGS)
def breakdown_csv():
    """The breakdown as CSV: one row per group and metric (`group` is the benefit, the country, the
    pair as `DE-ES`, the month as `2025-01`, or `total`)."""
    query = parse(BreakdownQuery)
    scope = scope_of(query)
    header, rows = breakdown_csv_rows(metrics.breakdown(db.session, scope, query.by, config=current_app.config))
    return _csv_response(header, rows, filename(scope, query.by))
