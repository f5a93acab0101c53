"""A claimant's insurance history on an appeal, and the entitlement calculations run on it
(casework/entitlement/)."""

from datetime import date, datetime
from typing import Optional

from sqlalchemy import JSON, CheckConstraint, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from casework.clock import now
from casework.entitlement.periods import KINDS
from casework.models.types import UTCDateTime

_in = lambda values: ", ".join(f"'{v}'" for v in values)  # noqa: E731 - SQL literal list for CHECKs

# proposed (by the claimant, until an officer decides) → confirmed | rejected; an officer enters
# periods from other institutions' certified records as confirmed, and withdraws a wrong one.
PERIOD_STATUSES = ("proposed", "confirmed", "rejected", "withdrawn")


class InsurancePeriod(SQLModel, table=True):
    """A period of insurance, work or residence in one country, both days included. Only confirmed
    periods are counted; the others stay on file with who decided and why."""

    __tablename__ = "insurance_period"
    __table_args__ = (
        CheckConstraint("ends_on >= starts_on", name="insurance_period_ends_after_start"),
        CheckConstraint(f"kind IN ({_in(KINDS)})", name="insurance_period_kind_known"),
        CheckConstraint(f"status IN ({_in(PERIOD_STATUSES)})", name="insurance_period_status_known"),
        Index("ix_insurance_period_appeal", "appeal_id", "status", "starts_on"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    appeal_id: int = Field(foreign_key="appeal.id")
    country: str = Field(max_length=2)
    starts_on: date
    ends_on: date
    kind: str = Field(max_length=20)
    status: str = Field(max_length=12)
    # Where it comes from: the certified record (a SED P5000, a statement of contributions).
    evidence: str = Field(default="", sa_type=Text)
    entered_by: str = Field(max_length=254)
    entered_role: str = Field(max_length=20)
    entered_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)
    decided_by: Optional[str] = Field(default=None, max_length=254)
    decided_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
    decision_note: Optional[str] = Field(default=None, sa_type=Text)


class Calculation(SQLModel, table=True):
    """One run of the entitlement calculator on an appeal, kept as run: the periods and amounts it
    took, the rules it applied (with their versions), its result, who ran it and when. Later
    changes to the periods or the rules never change it; a new run is a new row."""

    __table_args__ = (UniqueConstraint("appeal_id", "number", name="uq_calculation_appeal_number"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    appeal_id: int = Field(foreign_key="appeal.id")
    number: int
    benefit: str = Field(max_length=30)
    rules_version: str = Field(max_length=20)
    inputs: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    result: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    run_by: str = Field(max_length=254)
    run_role: str = Field(max_length=20)
    run_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)
