"""Request and response shapes of the API. The same pydantic models validate requests and
generate the OpenAPI document (through spectree), so the two cannot drift apart."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Annotated, Literal, Optional, Union

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from pydantic import (
    AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, RootModel, StrictInt, ValidationInfo,
    field_validator,
)
from spectree.model_adapter.pydantic_adapter import BaseFile

from casework.clock import now
from casework.countries import LANGUAGES, is_country, is_currency
from casework.entitlement.calculation import BASES as CALCULATION_BASES
from casework.entitlement.periods import KINDS as PERIOD_KINDS, OVERLAP_RULES
from casework.models import BENEFITS, NOTICE_STATUSES, PERIOD_STATUSES
from workflows.appeal import OUTCOMES, STATES, TIMER_ACTIONS


def _country(value: str) -> str:
    if not is_country(value):
        raise ValueError(_("'%(value)s' is not an ISO 3166-1 alpha-2 country code", value=value))
    return value


def _not_future(value):
    moment = now()
    if isinstance(value, datetime) and value > moment:
        raise ValueError(_("must not be in the future"))
    if not isinstance(value, datetime) and isinstance(value, date) and value > moment.date():
        raise ValueError(_("must not be in the future"))
    return value


_CONTROL = {chr(c) for c in range(32) if chr(c) not in "\t\n\r"} | {"\x7f"}
EARLIEST_YEAR, LATEST_YEAR = 1900, 2200


def _plain_text(value: str) -> str:
    if any(ch in _CONTROL for ch in value):
        raise ValueError(_("must not contain control characters"))
    return value


def _plausible_time(value: datetime) -> datetime:
    """Times are stored in UTC; one with no UTC equivalent, or from another era, is a typo."""
    try:
        utc = value.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError(_("is out of range")) from None
    if not EARLIEST_YEAR <= utc.year <= LATEST_YEAR:
        raise ValueError(_("must be between %(first)s and %(last)s", first=EARLIEST_YEAR, last=LATEST_YEAR))
    return value


def _plausible_date(value: date) -> date:
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(_("must be between %(first)s and %(last)s", first=EARLIEST_YEAR, last=LATEST_YEAR))
    return value


def _email(value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        raise ValueError(_("is not a valid e-mail address")) from None


def _future(value: datetime) -> datetime:
    if value <= now():
        raise ValueError(_("must be in the future"))
    return value


Country = Annotated[str, Field(min_length=2, max_length=2, examples=["DE"]), AfterValidator(_country)]
Language = Literal[LANGUAGES]  # type: ignore[valid-type]
Benefit = Literal[BENEFITS]  # type: ignore[valid-type]
PastDate = Annotated[date, AfterValidator(_plausible_date), AfterValidator(_not_future)]
Time = Annotated[AwareDatetime, AfterValidator(_plausible_time)]
PastTime = Annotated[Time, AfterValidator(_not_future)]
FutureTime = Annotated[Time, AfterValidator(_future)]
Text = Annotated[str, Field(min_length=1, max_length=20000), AfterValidator(_plain_text)]
Email = Annotated[str, Field(max_length=254, json_schema_extra={"format": "email"}), AfterValidator(_email)]
ShortText = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_plain_text)]
Version = Annotated[StrictInt, Field(ge=1, description="The appeal version the client saw; a stale one gets 409 version_conflict.")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- lodging -------------------------------------------------------------------------------

class PersonalIdIn(Strict):
    country: Country
    scheme: Annotated[str, Field(min_length=1, max_length=40), AfterValidator(_plain_text)]
    value: Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_plain_text)]


class ClaimantIn(Strict):
    name: ShortText
    birth_date: Optional[PastDate] = None
    residence_country: Country
    preferred_language: Language = "en"
    email: Optional[Email] = None
    personal_ids: list[PersonalIdIn] = Field(default_factory=list, max_length=20)


class ContestedDecisionIn(Strict):
    institution_country: Country
    institution_name: ShortText
    reference: Annotated[str, Field(max_length=100), AfterValidator(_plain_text)] = ""
    benefit: Benefit
    decision_date: PastDate
    notified_on: Optional[PastDate] = None

    @field_validator("notified_on")
    @classmethod
    def _notified_after_decision(cls, value: date | None, info: ValidationInfo):
        decided = info.data.get("decision_date")
        if value is not None and decided is not None and value < decided:
            raise ValueError(_("must not be before %(field)s", field="decision_date"))
        return value


class LodgeIn(Strict):
    claimant: ClaimantIn
    contested_decision: ContestedDecisionIn
    involved_countries: list[Country] = Field(default_factory=list, max_length=30)
    grounds: Text
    lodged_with_country: Optional[Country] = None
    lodged_at: Optional[PastTime] = None


# --- actions -------------------------------------------------------------------------------

class ActionIn(Strict):
    version: Version
    occurred_at: Optional[PastTime] = Field(
        default=None, description="When it really happened (paper events); not before the previous event."
    )


class ForwardIn(ActionIn):
    action: Literal["forward"]
    to_country: Country
    to_institution_name: ShortText


class AdmitIn(ActionIn):
    action: Literal["admit"]
    late_filing_reason: Optional[Text] = None


class DeclareInadmissibleIn(ActionIn):
    action: Literal["declare_inadmissible"]
    reason: Text


class RequestInformationIn(ActionIn):
    action: Literal["request_information"]
    from_: Literal["claimant", "institution"] = Field(alias="from")
    items: Union[Text, Annotated[list[Text], Field(min_length=1, max_length=50)]]
    due_in_days: Optional[Annotated[StrictInt, Field(ge=7, le=90)]] = None


class EmptyActionIn(ActionIn):
    action: Literal["receive_information", "accept_decision", "request_mediation", "request_tribunal", "withdraw",
                    "acknowledge_referral"]


class DecideReviewIn(ActionIn):
    action: Literal["decide_review"]
    outcome: Literal["granted", "partially_granted", "refused"]
    reasons: Text


class ReasonIn(ActionIn):
    action: Literal["extend_mediation", "end_mediation"]
    reason: Text


class SettleIn(ActionIn):
    action: Literal["settle"]
    terms: Text


class ScheduleHearingIn(ActionIn):
    action: Literal["schedule_hearing"]
    hearing_at: FutureTime
    mode: Literal["in_person", "video", "telephone", "paper"]


class DeliverJudgmentIn(ActionIn):
    action: Literal["deliver_judgment"]
    outcome: Literal["allowed", "partially_allowed", "dismissed"]
    reasons: Text


class RemitIn(ActionIn):
    action: Literal["remit"]
    instructions: Text


class AssignIn(ActionIn):
    action: Literal["assign"]
    user: Email


class TimerActionIn(ActionIn):
    """Timer actions are fired only by the deadline sweep: through the API they get 409."""

    action: Literal[TIMER_ACTIONS]  # type: ignore[valid-type]


AnyAction = Annotated[
    Union[
        ForwardIn, AdmitIn, DeclareInadmissibleIn, RequestInformationIn, EmptyActionIn, DecideReviewIn, ReasonIn,
        SettleIn, ScheduleHearingIn, DeliverJudgmentIn, RemitIn, AssignIn, TimerActionIn,
    ],
    Field(discriminator="action"),
]


class ActionRequest(RootModel[AnyAction]):
    """``{"action": "<name>", "version": <int>, ...the action's fields}``."""


class ClaimantActionRequest(Strict):
    action: Literal["withdraw", "accept_decision", "request_mediation", "request_tribunal"]
    version: Optional[Version] = None


# --- queries -------------------------------------------------------------------------------

class QueueQuery(Strict):
    state: Optional[Literal[STATES]] = None  # type: ignore[valid-type]
    handling_country: Optional[Country] = None
    benefit: Optional[Benefit] = None
    overdue: Optional[bool] = None
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    after: Optional[Annotated[str, Field(max_length=200)]] = None


class PageQuery(Strict):
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    after: Optional[Annotated[str, Field(max_length=200)]] = None


class StatusQuery(Strict):
    lang: Optional[Language] = None


# --- responses -----------------------------------------------------------------------------

class PersonalIdOut(BaseModel):
    country: str
    scheme: str
    value: str


class ClaimantOut(BaseModel):
    name: str
    birth_date: Optional[date]
    residence_country: str
    preferred_language: str
    email: Optional[str]
    personal_ids: list[PersonalIdOut]


class ContestedDecisionOut(BaseModel):
    institution_country: str
    institution_name: str
    reference: str
    benefit: str
    decision_date: date
    notified_on: date


class DeadlineOut(BaseModel):
    kind: str
    due_at: str
    due_on: date
    timezone: str
    jurisdiction: str
    status: Literal["pending", "paused", "met", "missed", "cancelled"]


class HearingOut(BaseModel):
    hearing_at: str
    mode: str


class DocumentOut(BaseModel):
    id: int
    name: str = Field(description="The uploader's file name, for display only.")
    sha256: str
    size: int
    media_type: Literal["application/pdf", "image/png", "image/jpeg"]


class AppealOut(BaseModel):
    reference: str
    version: int
    state: Literal[STATES]  # type: ignore[valid-type]
    outcome: Optional[Literal[OUTCOMES]]  # type: ignore[valid-type]
    review_outcome: Optional[str]
    claimant: ClaimantOut
    contested_decision: ContestedDecisionOut
    grounds: str
    involved_countries: list[str]
    receiving_country: str
    handling_country: str
    handling_institution_name: str
    tribunal: Optional[str]
    lodged_at: str
    filing_deadline: date
    filed_in_time: bool
    late_filing_reason: Optional[str]
    mediation_extended: bool
    hearing: Optional[HearingOut]
    assigned_officer: Optional[str]
    mediator: Optional[str]
    overdue: bool
    deadlines: list[DeadlineOut]
    documents: list[DocumentOut]
    allowed_actions: list[str]
    created_at: str
    updated_at: str
    closed_at: Optional[str]


class LodgedAppealOut(AppealOut):
    access_code: str = Field(description="Shown this once only; the claimant's key to the status page.")


class AppealPage(BaseModel):
    items: list[AppealOut]
    next: Optional[str]


class EventOut(BaseModel):
    seq: int
    action: str
    from_state: Optional[str]
    to_state: str
    actor: str
    occurred_at: str
    recorded_at: str
    payload: dict
    hash: str
    prev_hash: str


class EventList(BaseModel):
    items: list[EventOut]


class NoticeOut(BaseModel):
    id: int
    kind: str = Field(description="The action that caused it, or reminder, hearing_reminder, overdue.")
    recipient_role: str
    language: str
    subject: str
    body: str
    created_at: str
    sent_at: Optional[str]
    status: Literal[NOTICE_STATUSES]  # type: ignore[valid-type]
    recipient: Optional[str] = Field(default=None, description="Staff only.")
    attempts: Optional[int] = Field(default=None, description="Staff only: delivery attempts so far.")
    last_error: Optional[str] = Field(default=None, description="Staff only: why the last delivery failed.")


class NoticeList(BaseModel):
    items: list[NoticeOut]


class StatusDeadlineOut(BaseModel):
    kind: str
    due_on: date
    label: str


class TimelineEntry(BaseModel):
    at: str
    label: str


class StatusOut(BaseModel):
    reference: str
    state: str
    outcome: Optional[str]
    outcome_label: Optional[str]
    benefit: str
    benefit_label: str
    stage: str
    next_step: str
    meaning: str
    what_you_can_do: str
    deadlines: list[StatusDeadlineOut]
    timeline: list[TimelineEntry]
    notices: list[NoticeOut]
    allowed_actions: list[str]
    language: str
    version: int


class ErrorBody(BaseModel):
    code: str
    message: str
    details: Optional[Union[list, dict]] = None


class ErrorOut(BaseModel):
    error: ErrorBody


class HealthOut(BaseModel):
    status: str
    database: str


# --- documents, signed case files, tribunals -------------------------------------------------

class DocumentUpload(BaseModel):
    file: BaseFile = Field(description="PDF, PNG or JPEG, at most 10 MB; the type is checked by content, not name.")


class PublicKeyOut(BaseModel):
    key_id: str = Field(description="First 16 hex digits of the SHA-256 of the raw public key.")
    alg: Literal["Ed25519"]
    public_key: str = Field(description="The raw 32-byte public key, base64.")


class KeyList(BaseModel):
    keys: list[PublicKeyOut] = Field(description="Every key that ever signed, the current one first.")


class BundleClaimantOut(BaseModel):
    name: str
    birth_date: Optional[date]
    residence_country: str
    preferred_language: str
    personal_ids: list[PersonalIdOut]


class BundleDeadlineOut(DeadlineOut):
    started_at: str
    ended_at: Optional[str]
    met: Optional[bool] = Field(description="Whether the stage ended in time; null while running or when cancelled.")


class ReviewDecisionOut(BaseModel):
    outcome: str
    reasons: Optional[str]
    deemed_refusal: bool
    decided_at: str
    event_seq: int


class MediationOut(BaseModel):
    requested_at: str
    extended: bool
    outcome: Optional[Literal["settled", "failed", "timed_out"]]
    terms: Optional[str]
    reason: Optional[str]
    ended_at: Optional[str]


class TribunalOut(BaseModel):
    code: str
    name: str
    country: str


class BundleAppealOut(BaseModel):
    reference: str
    state: Literal[STATES]  # type: ignore[valid-type]
    outcome: Optional[Literal[OUTCOMES]]  # type: ignore[valid-type]
    benefit: str
    claimant: BundleClaimantOut
    contested_decision: ContestedDecisionOut
    receiving_country: str
    handling_country: str
    handling_institution_name: str
    involved_countries: list[str]
    lodged_at: str
    filing_deadline: date
    filed_in_time: bool
    late_filing_reason: Optional[str]
    grounds: str
    deadlines: list[BundleDeadlineOut]
    review_decision: Optional[ReviewDecisionOut]
    mediation: Optional[MediationOut]
    tribunal: Optional[TribunalOut]
    hearing: Optional[HearingOut]
    insurance_periods: list["PeriodOut"]
    calculations: list["BundleCalculationOut"]


class BundleEventOut(EventOut):
    actor_role: str
    personal_salt: Optional[str] = Field(
        description="Salt of the personal digests (32 hex digits); null once the personal data was erased, "
                    "and for events recorded before personal values were hashed apart.")
    personal_digests: Optional[dict] = Field(
        description='{"actor": digest, "payload": {key: digest}}: what the hash covers instead of the personal '
                    "values (casework/events.py); null for events recorded before personal values were hashed apart.")


class BundleOut(BaseModel):
    format: Literal["casework-bundle/3"]
    issued_at: str
    issuer: str
    appeal: BundleAppealOut
    events: list[BundleEventOut]
    documents: list[DocumentOut]


class SignatureOut(BaseModel):
    alg: Literal["Ed25519"]
    key_id: str
    value: str = Field(description="Ed25519 signature of the RFC 8785 (JCS) serialization of `bundle`, base64.")


class SignedBundleOut(BaseModel):
    bundle: BundleOut
    signature: SignatureOut


class NextDeadlineOut(BaseModel):
    kind: str
    due_at: str
    due_on: date


class ReferralOut(BaseModel):
    reference: str
    version: int
    state: Literal["escalated", "before_tribunal"]
    benefit: str
    handling_country: str
    escalated_at: str
    days_since_escalation: int
    next_deadline: Optional[NextDeadlineOut]


class ReferralPage(BaseModel):
    items: list[ReferralOut]
    next: Optional[str]


# --- insurance periods and entitlement calculations (casework/entitlement) ---------------------

def _currency(value: str) -> str:
    if not is_currency(value):
        raise ValueError(_("'%(value)s' is not an ISO 4217 currency code", value=value))
    return value


PeriodKind = Literal[PERIOD_KINDS]  # type: ignore[valid-type]
Currency = Annotated[str, Field(min_length=3, max_length=3, examples=["EUR"]), AfterValidator(_currency)]
# A monthly amount in a currency's main unit, to the cent: 1234.56 or "1234.56".
Money = Annotated[Decimal, Field(ge=0, le=1_000_000_000, decimal_places=2, allow_inf_nan=False, examples=["1234.56"])]


class PeriodIn(Strict):
    country: Country
    starts_on: PastDate
    ends_on: PastDate = Field(description="The last day of the period (included).")
    kind: PeriodKind
    evidence: Annotated[str, Field(max_length=2000), AfterValidator(_plain_text)] = Field(
        "", description="The certified record it comes from (e.g. a SED P5000 of the other institution).")

    @field_validator("ends_on")
    @classmethod
    def _ends_after_start(cls, value: date, info: ValidationInfo):
        starts = info.data.get("starts_on")
        if starts is not None and value < starts:
            raise ValueError(_("must not be before %(field)s", field="starts_on"))
        return value


class PeriodDecisionIn(Strict):
    decision: Literal["confirm", "reject", "withdraw"]
    note: Optional[Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(_plain_text)]] = Field(
        None, description="Why (required to reject or withdraw a period; the claimant reads it).")


class PeriodOut(BaseModel):
    id: int
    country: str
    starts_on: date
    ends_on: date
    kind: PeriodKind
    status: Literal[PERIOD_STATUSES]  # type: ignore[valid-type]
    evidence: str
    entered_role: str
    entered_at: str
    decided_at: Optional[str]
    decision_note: Optional[str]


class PeriodList(BaseModel):
    items: list[PeriodOut]


class CountryAmountsIn(Strict):
    theoretical: Optional[Money] = Field(
        None, description="The monthly pension as if every aggregated period had been completed in this country.")
    independent: Optional[Money] = Field(
        None, description="The monthly pension this country's own periods give alone (where they meet its minimum).")
    currency: Optional[Currency] = Field(None, description="ISO 4217; the country's own currency when omitted.")


class CalculationIn(Strict):
    amounts: dict[Country, CountryAmountsIn] = Field(
        default_factory=dict, description="Per country (ISO 3166-1 alpha-2) with confirmed periods.")


class DurationOut(BaseModel):
    months: int
    days: int
    total_days: int


class RuleOut(BaseModel):
    country: str
    minimum: int
    unit: Literal["months", "years", "credits"]
    minimum_for_aggregation: int
    name: str
    source: str
    note: str
    version: str


class RatioOut(BaseModel):
    days: int
    of_days: int


class CountryResultOut(BaseModel):
    country: str
    rule: RuleOut
    recorded: DurationOut
    counted: DurationOut
    qualifies_alone: bool
    qualifies_with_aggregation: bool
    basis: Literal[CALCULATION_BASES]  # type: ignore[valid-type]
    ratio: RatioOut
    currency: str
    theoretical_amount: Optional[str]
    independent_amount: Optional[str]
    pro_rata_amount: Optional[str]
    due_amount: str


class OverlapOut(BaseModel):
    starts_on: date
    ends_on: date
    countries: list[str]
    counted_for: str
    rule: Literal[OVERLAP_RULES]  # type: ignore[valid-type]
    period_ids: list[Optional[int]]


class CalculationResultOut(BaseModel):
    rules_version: str
    total: DurationOut
    countries: list[CountryResultOut]
    overlaps: list[OverlapOut]
    needs_checking: bool


class CalculationOut(BaseModel):
    number: int
    benefit: str
    rules_version: str
    run_at: str
    run_role: str
    periods: list[PeriodOut] = Field(description="The confirmed periods it was run on, as they were then.")
    result: CalculationResultOut
    language: str
    explanation: list[str] = Field(description="Why the amounts are what they are, in plain words, in `language`.")


class CalculationList(BaseModel):
    items: list[CalculationOut]


class AmountsUsedOut(BaseModel):
    currency: str
    theoretical: Optional[str]
    independent: Optional[str]


class CalculationInputsOut(BaseModel):
    periods: list[PeriodOut]
    amounts: dict[str, AmountsUsedOut]


class BundleCalculationOut(CalculationOut):
    inputs: CalculationInputsOut
    run_by: str = Field(description="Who ran it: the officer's e-mail.")


for _model in (BundleAppealOut, BundleOut, SignedBundleOut):  # they name the entitlement shapes above
    _model.model_rebuild()
