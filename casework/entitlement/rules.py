"""Each country's minimum qualifying period for an old-age pension, kept as data with its source
(``qualifying_periods.json``): officers and tribunals read where every figure comes from, and a
stored calculation keeps the rules it was run with, so a later change of the data never changes
a figure already given."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

from casework.entitlement.periods import Duration

DATA = Path(__file__).with_name("qualifying_periods.json")
BENEFIT = "old_age_pension"
# How many months Casework counts for one unit of each legislation's minimum.
UNIT_MONTHS = {"months": 1, "years": 12, "credits": 3}


@dataclass(frozen=True)
class Rule:
    """One country's minimum qualifying period. ``minimum_for_aggregation``: the least national
    periods (in ``unit``) its institution needs before it adds other countries' periods at all."""

    country: str
    minimum: int
    unit: str
    name: str
    source: str
    note: str
    version: str
    minimum_for_aggregation: int = 0

    @property
    def minimum_months(self) -> int:
        return self.minimum * UNIT_MONTHS[self.unit]

    @property
    def aggregation_months(self) -> int:
        return self.minimum_for_aggregation * UNIT_MONTHS[self.unit]

    def met_by(self, length: Duration) -> bool:
        return length.total_days > 0 and length.months >= self.minimum_months

    def as_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Rules:
    version: str
    benefit: str
    by_country: dict[str, Rule]

    def get(self, country: str) -> Rule | None:
        return self.by_country.get(country)


def _validated(country: str, data: dict) -> Rule:
    rule = Rule(country=country, **data)
    if rule.unit not in UNIT_MONTHS or rule.minimum < 0 or rule.minimum_for_aggregation < 0:
        raise ValueError(f"{DATA.name}: the rule of {country} has an unknown unit or a negative minimum")
    return rule


@lru_cache(maxsize=1)
def current() -> Rules:
    data = json.loads(DATA.read_text(encoding="utf-8"))
    return Rules(
        version=data["version"],
        benefit=data["benefit"],
        by_country={country: _validated(country, rule) for country, rule in sorted(data["rules"].items())},
    )
