"""Reference data: the institutions that decide and review, and the tribunals that judge."""

from typing import Optional

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel


class Institution(SQLModel, table=True):
    """A social security institution of one country (e.g. a pension insurer), known by name."""

    __table_args__ = (UniqueConstraint("country", "name"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    country: str = Field(max_length=2, index=True)
    name: str = Field(max_length=200)


class Tribunal(SQLModel, table=True):
    """A body that hears escalated appeals; its country's calendar governs its deadlines."""

    code: str = Field(primary_key=True, max_length=20)
    name: str = Field(max_length=200)
    country: str = Field(max_length=2)
    languages: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    contact: str = Field(default="", max_length=300)


DEFAULT_TRIBUNALS = (
    {
        "code": "CBSST",
        "name": "Cross-Border Social Security Tribunal",
        "country": "LU",
        "languages": ["en", "fr", "de"],
        "contact": "registry@cbsst.example.eu",
    },
)
