"""Appeals and everything recorded about them: the countries involved, the append-only event
history (hash-chained), the deadlines that run on them, the notices they cause, their documents."""

from datetime import date, datetime
from typing import List, Optional

from sqlalchemy import JSON, CheckConstraint, Column, Index, Integer, Text, UniqueConstraint
from sqlmodel import Field, Relationship, SQLModel

from casework.clock import now
from casework.models.people import Claimant
from casework.models.reference import Institution
from casework.models.types import UTCDateTime
from workflows.appeal import OUTCOMES, STATES

NOTICE_STATUSES = ("pending", "sending", "sent", "failed", "no_address")
BENEFITS = (
    "old_age_pension",
    "survivor_pension",
    "invalidity",
    "sickness",
    "healthcare",
    "unemployment",
    "family",
    "work_accident",
)

_in = lambda values: ", ".join(f"'{v}'" for v in values)  # noqa: E731 - SQL literal list for CHECKs

# The row version: SQLAlchemy adds "WHERE version = :seen" to every UPDATE, so two concurrent
# actions on one appeal can never both win.
_version_column = Column("version", Integer, nullable=False)


class Appeal(SQLModel, table=True):
    """One appeal against one contested decision, from lodging to its final outcome."""

    __table_args__ = (
        CheckConstraint(f"state IN ({_in(STATES)})", name="appeal_state_known"),
        CheckConstraint(f"outcome IS NULL OR outcome IN ({_in(OUTCOMES)})", name="appeal_outcome_known"),
        CheckConstraint("(state = 'closed') = (outcome IS NOT NULL)", name="appeal_outcome_iff_closed"),
        CheckConstraint(f"benefit IN ({_in(BENEFITS)})", name="appeal_benefit_known"),
        Index("ix_appeal_queue", "next_due_at", "id"),
        Index("ix_appeal_handling_queue", "handling_country", "next_due_at", "id"),
        # A tribunal's work queue (GET /api/v1/appeals as a tribunal clerk): its appeals nearest
        # deadline first, one index walk instead of sorting every appeal ever referred to it. It
        # (like the next) leads with tribunal_code, so that column needs no index of its own.
        Index("ix_appeal_tribunal_queue", "tribunal_code", "next_due_at", "id"),
        # A tribunal's referrals (casework/referrals.py: the API's list and the inbox page), longest
        # waiting first: only appeals before the tribunal have ``referred_at``, so a page is one
        # walk of the tribunal's open referrals in order, never a sort of its whole history.
        Index("ix_appeal_referrals", "tribunal_code", "referred_at", "id"),
        # A mediator's lists (casework/web/mediator.py, queue.page for a mediator): the unassigned
        # mediations of their country are one exact lookup, not a read of every appeal the
        # country handles. Leading with state, it also takes the place of an index on state alone
        # (the counts by state of the referrals inbox and the mediators' list).
        Index("ix_appeal_mediation_pool", "state", "handling_country", "mediator_id"),
        # Published metrics (casework/metrics.py): appeals closed in a period, those still open at
        # its end, and those lodged in it, with every column the figures and filters read, so
        # none of them touches the table.
        Index("ix_appeal_closed", "closed_at", "lodged_at", "outcome", "benefit", "handling_country", "claimant_id"),
        Index("ix_appeal_lodged", "lodged_at", "benefit", "handling_country", "claimant_id"),
        # ... and the appeals of one benefit, whose stages are then picked out of a period's.
        Index("ix_appeal_benefit", "benefit"),
        # Retention (casework/retention.py): the appeals not yet erased that closed before a cutoff,
        # oldest first, one index range; erased ones leave that range, so the daily job reads only its work.
        Index("ix_appeal_retention", "erased_at", "closed_at", "id"),
    )
    # Incremented once per operation by the operation itself (not per flush): clients see
    # consecutive versions, and every UPDATE still checks the version the transaction read.
    __mapper_args__ = {"version_id_col": _version_column, "version_id_generator": False}

    id: Optional[int] = Field(default=None, primary_key=True)
    reference: Optional[str] = Field(default=None, max_length=20, unique=True, index=True)
    version: Optional[int] = Field(default=None, sa_column=_version_column)
    claimant_id: int = Field(foreign_key="claimant.id", index=True)
    access_code_hash: str = Field(max_length=64)

    benefit: str = Field(max_length=30)
    decision_country: str = Field(max_length=2)
    decision_institution_id: int = Field(foreign_key="institution.id")
    decision_reference: str = Field(default="", max_length=100)
    decision_date: date
    notified_on: date
    grounds: str = Field(sa_type=Text)

    receiving_country: str = Field(max_length=2)
    handling_country: str = Field(max_length=2, index=True)
    handling_institution_id: int = Field(foreign_key="institution.id")
    tribunal_code: Optional[str] = Field(default=None, foreign_key="tribunal.code")
    # When the appeal reached the tribunal it is now before (its latest escalation); None while it
    # is not before one. Kept by operations.perform_action; the order of the tribunal's referrals.
    referred_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)

    lodged_at: datetime = Field(sa_type=UTCDateTime)
    filing_deadline: date
    filed_in_time: bool
    late_filing_reason: Optional[str] = Field(default=None, sa_type=Text)

    state: str = Field(default="lodged", max_length=30)
    outcome: Optional[str] = Field(default=None, max_length=30)
    review_outcome: Optional[str] = Field(default=None, max_length=30)
    mediation_extended: bool = False
    hearing_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
    hearing_mode: Optional[str] = Field(default=None, max_length=20)
    assigned_officer_id: Optional[int] = Field(default=None, foreign_key="user.id", index=True)
    mediator_id: Optional[int] = Field(default=None, foreign_key="user.id", index=True)

    # The nearest pending deadline of the current stage, kept by the operations that change
    # deadlines, so the officer queue is one index walk at any size.
    next_due_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
    # Set when a deadline that only flags (forwarding, admissibility, tribunal acknowledgement)
    # passed and its stage has not ended; cleared when the stage ends.
    overdue_since: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
    last_event_seq: int = 0
    last_event_hash: str = Field(default="", max_length=64)
    last_event_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)

    created_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)
    closed_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
    # When the personal data of the appeal was erased at the end of its retention period
    # (casework/retention.py); its events, outcome and dates stay.
    erased_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)

    claimant: Optional[Claimant] = Relationship(sa_relationship_kwargs={"lazy": "joined"})
    # Institutions are few and stay in the session's identity map: loaded when first read.
    decision_institution: Optional[Institution] = Relationship(
        sa_relationship_kwargs={"foreign_keys": "Appeal.decision_institution_id"}
    )
    handling_institution: Optional[Institution] = Relationship(
        sa_relationship_kwargs={"foreign_keys": "Appeal.handling_institution_id"}
    )
    countries: List["AppealCountry"] = Relationship(
        back_populates="appeal",
        sa_relationship_kwargs={"lazy": "selectin", "cascade": "all, delete-orphan"},
    )

    @property
    def is_closed(self) -> bool:
        return self.state == "closed"

    @property
    def involved_countries(self) -> list[str]:
        return sorted(c.country for c in self.countries if c.relation == "involved")

    @property
    def country_codes(self) -> set[str]:
        """Every country whose institution takes part: deciding, receiving, handling, involved."""
        return {c.country for c in self.countries}


# Published metrics filter by the claimant's country of residence (an index of the claimant
# table, declared here with the other indexes the metrics need).
Index("ix_claimant_residence", Claimant.__table__.c.residence_country)


class AppealCountry(SQLModel, table=True):
    """A country taking part in an appeal and how; the index behind "appeals involving my country"."""

    __tablename__ = "appeal_country"
    __table_args__ = (Index("ix_appeal_country_country", "country", "appeal_id"),)

    appeal_id: int = Field(foreign_key="appeal.id", primary_key=True)
    country: str = Field(max_length=2, primary_key=True)
    relation: str = Field(max_length=12, primary_key=True)  # deciding, receiving, handling, involved

    appeal: Optional[Appeal] = Relationship(back_populates="countries")


class QueueEntry(SQLModel, table=True):
    """An appeal in the queue of one country's officers: one row per country taking part, with
    the appeal's nearest pending deadline and stage copied from it (kept by ``queue.sync`` in the
    same transaction as every change). A page of a country's queue is then one walk of
    ``ix_queue_entry_due`` and its counts per stage one range of ``ix_queue_entry_state``, where
    going through ``appeal_country`` would sort every appeal the country ever took part in."""

    __tablename__ = "queue_entry"
    __table_args__ = (
        Index("ix_queue_entry_due", "country", "next_due_at", "appeal_id"),
        Index("ix_queue_entry_state", "country", "state"),
    )

    appeal_id: int = Field(foreign_key="appeal.id", primary_key=True)
    country: str = Field(max_length=2, primary_key=True)
    next_due_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
    state: str = Field(max_length=30)


class Event(SQLModel, table=True):
    """One step in an appeal's history. Append-only; each stores the hash of its content and of
    the previous event, so any later change to the history is detectable. Its personal values
    (the actor, free text in the payload) are hashed through salted digests (casework/events.py),
    so that erasing them at the end of the retention period leaves the chain verifiable."""

    __table_args__ = (
        UniqueConstraint("appeal_id", "seq", name="uq_event_appeal_seq"),
        # Published metrics: the stages that ended in a period (by the action that ends them), and
        # from each, the step that started it and the one that followed, without reading the rows.
        Index("ix_event_action", "action", "occurred_at", "appeal_id", "seq"),
        Index("ix_event_history", "appeal_id", "seq", "action", "occurred_at"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    appeal_id: int = Field(foreign_key="appeal.id")
    seq: int
    action: str = Field(max_length=40)
    from_state: Optional[str] = Field(default=None, max_length=30)
    to_state: str = Field(max_length=30)
    actor: str = Field(max_length=254)
    actor_role: str = Field(max_length=20)
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    payload: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    hash: str = Field(max_length=64)
    prev_hash: str = Field(max_length=64)
    # The random salt of the personal digests; removed, with the personal values, by erasure.
    personal_salt: Optional[str] = Field(default=None, max_length=32)
    # {"actor": <digest>, "payload": {<key>: <digest>}}, kept for good; NULL for an event recorded
    # before personal values were hashed separately (its hash covers them as they are).
    personal_digests: Optional[dict] = Field(default=None, sa_column=Column(JSON(none_as_null=True), nullable=True))


DEADLINE_STATUSES = ("pending", "paused", "met", "missed", "cancelled")


class Deadline(SQLModel, table=True):
    """A legal or design time limit on an appeal, or a reminder before one. Timers live here as
    rows, never in memory: the sweep fires each due row exactly once."""

    __table_args__ = (
        CheckConstraint(f"status IN ({_in(DEADLINE_STATUSES)})", name="deadline_status_known"),
        Index("ix_deadline_due", "status", "due_at"),
        # Per-appeal lookups (open rows, nearest due) must use this one, never the sweep's index:
        # with due_at in it, "nearest pending deadline of this appeal" is a single index seek.
        Index("ix_deadline_appeal", "appeal_id", "status", "due_at"),
        # Published metrics: the deadline a stage ended against, by appeal, kind and end.
        Index("ix_deadline_stage", "appeal_id", "kind", "ended_at", "due_at"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    appeal_id: int = Field(foreign_key="appeal.id")
    kind: str = Field(max_length=30)
    parent_id: Optional[int] = Field(default=None, foreign_key="deadline.id")
    status: str = Field(default="pending", max_length=12)
    due_at: datetime = Field(sa_type=UTCDateTime)
    due_on: date
    timezone: str = Field(max_length=40)
    jurisdiction: str = Field(max_length=10)
    rule: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    started_at: datetime = Field(sa_type=UTCDateTime)
    paused_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
    fired_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
    ended_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
    attempts: int = 0
    last_error: Optional[str] = Field(default=None, sa_type=Text)
    retry_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)

    # A reminder's deadline; set as an object so both rows are written in one flush.
    parent: Optional["Deadline"] = Relationship(sa_relationship_kwargs={"remote_side": "Deadline.id", "lazy": "select"})


class Notice(SQLModel, table=True):
    """A message to one party about one step, rendered once in the recipient's language and
    stored: an issued notice never changes when a translation does."""

    __table_args__ = (
        Index("ix_notice_delivery", "status", "retry_at"),
        CheckConstraint(f"status IN ({_in(NOTICE_STATUSES)})", name="notice_status_known"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    appeal_id: int = Field(foreign_key="appeal.id", index=True)
    # The step that caused it, by its number in the appeal's history (reminders have none).
    event_seq: Optional[int] = None
    kind: str = Field(max_length=40)
    recipient_role: str = Field(max_length=20)
    recipient: str = Field(default="", max_length=254)
    language: str = Field(max_length=5)
    subject: str = Field(max_length=300)
    body: str = Field(sa_type=Text)
    created_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)
    # Delivery (casework/outbox.py): pending → sending → sent; or back to pending with a later
    # retry_at after a temporary failure; failed after a permanent one or too many; no_address
    # when there is nowhere to send it electronically (the institution sends it by post).
    status: str = Field(default="pending", max_length=12)
    sent_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
    attempts: int = 0
    last_error: Optional[str] = Field(default=None, sa_type=Text)
    retry_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)


class Document(SQLModel, table=True):
    """Evidence on file, stored content-addressed in the instance folder."""

    # Whether another row still needs a stored file (casework/retention.py erases one only then).
    __table_args__ = (Index("ix_document_sha256", "sha256"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    appeal_id: int = Field(foreign_key="appeal.id", index=True)
    name: str = Field(max_length=255)
    sha256: str = Field(max_length=64)
    size: int
    media_type: str = Field(max_length=50)
    uploaded_by: str = Field(max_length=254)
    created_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)
