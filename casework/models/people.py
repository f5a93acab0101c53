"""People: claimants (no account) and staff users with roles and API tokens."""

from datetime import date, datetime
from typing import List, Optional

from sqlmodel import Field, Relationship, SQLModel

from casework.clock import now
from casework.models.types import UTCDateTime

STAFF_ROLES = ("officer", "mediator", "tribunal", "oversight", "admin")


class Claimant(SQLModel, table=True):
    """The person appealing. Personal data: shown only to those handling the appeal."""

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    birth_date: Optional[date] = None
    residence_country: str = Field(max_length=2)
    preferred_language: str = Field(max_length=2)
    email: Optional[str] = Field(default=None, max_length=254)
    created_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)

    personal_ids: List["PersonalId"] = Relationship(
        back_populates="claimant", sa_relationship_kwargs={"order_by": "PersonalId.id"}
    )


class PersonalId(SQLModel, table=True):
    """A claimant's identifier in one country's scheme (PESEL, NIR, Rentenversicherungsnummer…)."""

    id: Optional[int] = Field(default=None, primary_key=True)
    claimant_id: int = Field(foreign_key="claimant.id", index=True)
    country: str = Field(max_length=2)
    scheme: str = Field(max_length=40)
    value: str = Field(max_length=64)

    claimant: Optional[Claimant] = Relationship(back_populates="personal_ids")


class User(SQLModel, table=True):
    """A member of staff: appeals officer, mediator, tribunal clerk, oversight reader or admin."""

    id: Optional[int] = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True, index=True)
    role: str = Field(max_length=20)
    country: Optional[str] = Field(default=None, max_length=2)
    tribunal_code: Optional[str] = Field(default=None, foreign_key="tribunal.code")
    password_hash: str = Field(default="", max_length=300)
    active: bool = True
    created_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)

    # What Flask-Login asks of a signed-in user.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)


class ApiToken(SQLModel, table=True):
    """A bearer token; only its SHA-256 is stored, so a leaked database yields no usable token."""

    id: Optional[int] = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = Field(default_factory=now, sa_type=UTCDateTime)
    expires_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
    revoked_at: Optional[datetime] = Field(default=None, sa_type=UTCDateTime)
