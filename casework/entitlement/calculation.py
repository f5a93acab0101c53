"""Who owes what: whether each country's minimum qualifying period is met on its own periods or
only with aggregation, and the amount each country's institution owes (Regulation 883/2004):

- **independent benefit** (Art 52(1)(a)): where the country's own periods meet its minimum, the
  pension its own legislation gives for them (entered by the officer);
- **pro-rata benefit** (Art 52(1)(b)): the *theoretical amount* (entered by the officer: the
  pension as if every aggregated period had been completed there) × the days counted for the
  country ÷ the days of all countries together (overlaps counted once, for one country);
- the higher of the two is due (Art 52(3)); where only aggregation meets the minimum, the
  pro-rata benefit;
- **periods under one year** (Art 57(1)): a country whose periods last less than a year and give
  no pension there on their own pays nothing; the other countries count those periods in the
  total their theoretical amounts are computed on (Art 57(2)). If that would leave every country
  free of paying, the last of them whose conditions are met pays as if every period were its own
  (Art 57(3)).

The ratios of all countries therefore add up to at most one. Amounts are exact decimals, rounded
to the cent (half up) once, at the end; a figure is never given where an input it needs is missing
or a country's rule is not on file: the calculation refuses, naming the input.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from flask_babel import lazy_gettext as _l

from casework.entitlement.periods import Aggregation, Duration
from casework.entitlement.rules import Rule, Rules

CENT = Decimal("0.01")
ONE_YEAR_MONTHS = 12

# What each country's institution owes, and why.
INDEPENDENT = "independent"  # national periods qualify; the independent benefit is the higher
PRO_RATA = "pro_rata"  # the pro-rata benefit (only aggregation qualifies, or it is the higher)
SOLE_PAYER = "sole_payer"  # Art 57(3): pays as if every period were its own
SHORT_PERIOD = "short_period"  # Art 57(1): under one year, no pension alone: pays nothing
NOT_MET = "not_met"  # the minimum is not met even with aggregation
BELOW_AGGREGATION_MINIMUM = "below_aggregation_minimum"  # too few national periods to aggregate at all
BASES = (INDEPENDENT, PRO_RATA, SOLE_PAYER, SHORT_PERIOD, NOT_MET, BELOW_AGGREGATION_MINIMUM)
PAYING = (INDEPENDENT, PRO_RATA, SOLE_PAYER)


class CalculationRefused(Exception):
    """An input the calculation needs is missing or impossible; ``field`` names it."""

    def __init__(self, field: str, message):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Amounts:
    """What the officer enters for one country, monthly, in ``currency``."""

    currency: str
    theoretical: Decimal | None = None
    independent: Decimal | None = None


@dataclass(frozen=True)
class CountryResult:
    country: str
    rule: Rule
    recorded: Duration
    counted: Duration
    qualifies_alone: bool
    qualifies_with_aggregation: bool
    basis: str
    share_days: int
    total_days: int
    currency: str
    theoretical: Decimal | None
    independent: Decimal | None
    pro_rata: Decimal | None
    due: Decimal

    @property
    def ratio(self) -> Fraction:
        return Fraction(self.share_days, self.total_days)

    def as_json(self) -> dict:
        money = lambda value: None if value is None else str(value)  # noqa: E731
        return {
            "country": self.country,
            "rule": self.rule.as_json(),
            "recorded": self.recorded.as_json(),
            "counted": self.counted.as_json(),
            "qualifies_alone": self.qualifies_alone,
            "qualifies_with_aggregation": self.qualifies_with_aggregation,
            "basis": self.basis,
            "ratio": {"days": self.share_days, "of_days": self.total_days},
            "currency": self.currency,
            "theoretical_amount": money(self.theoretical),
            "independent_amount": money(self.independent),
            "pro_rata_amount": money(self.pro_rata),
            "due_amount": money(self.due),
        }


@dataclass(frozen=True)
class Result:
    aggregation: Aggregation
    rules_version: str
    countries: list[CountryResult]

    @property
    def ratio_sum(self) -> Fraction:
        return sum((row.ratio for row in self.countries if row.basis in PAYING), Fraction(0))

    def as_json(self) -> dict:
        aggregation = self.aggregation
        return {
            "rules_version": self.rules_version,
            "total": aggregation.total.as_json(),
            "countries": [row.as_json() for row in self.countries],
            "overlaps": [overlap.as_json() for overlap in aggregation.overlaps],
            "needs_checking": bool(aggregation.needs_checking),
        }


def cents(value: Decimal | Fraction) -> Decimal:
    if isinstance(value, Fraction):
        value = Decimal(value.numerator) / Decimal(value.denominator)
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _rule(rules: Rules, country: str) -> Rule:
    rule = rules.get(country)
    if rule is None:
        known = ", ".join(sorted(rules.by_country))
        raise CalculationRefused(
            "periods", _l("no minimum qualifying period is on file for %(country)s (the calculator knows %(known)s)",
                          country=country, known=known))
    return rule


_WHY_NEEDED = {
    "theoretical": _l("is required: this country pays a share of the pension"),
    "independent": _l("is required: this country's own periods meet its minimum, so its own pension is compared "
                      "with the share"),
}


def _needed(amounts: dict[str, Amounts], country: str, which: str) -> Decimal:
    value = getattr(amounts.get(country), which, None)
    if value is None:
        raise CalculationRefused(f"amounts.{country}.{which}", _WHY_NEEDED[which])
    return value


def _last_recorded(aggregation: Aggregation, country: str) -> date:
    return max(p.ends_on for p in aggregation.periods if p.country == country)


def bases(aggregation: Aggregation, rules: Rules) -> dict[str, str]:
    """What each country owes before any amount is known: whether its minimum is met on its own
    periods (``INDEPENDENT``, compared with the pro-rata share once the amounts are in), only with
    aggregation, or not at all, and whether Art 57 frees it or makes it pay for all."""
    total = aggregation.total
    basis: dict[str, str] = {}
    for country in aggregation.countries:
        rule = _rule(rules, country)
        recorded = aggregation.recorded[country]
        if rule.met_by(recorded):
            basis[country] = INDEPENDENT
        elif recorded.months < rule.aggregation_months:
            basis[country] = BELOW_AGGREGATION_MINIMUM
        elif not rule.met_by(total):
            basis[country] = NOT_MET
        elif recorded.months < ONE_YEAR_MONTHS:
            basis[country] = SHORT_PERIOD
        else:
            basis[country] = PRO_RATA
    if SHORT_PERIOD in basis.values() and not any(value in (INDEPENDENT, PRO_RATA) for value in basis.values()):
        # Art 57(3): the short periods would free every institution; the last one pays for all.
        last = max((c for c, value in basis.items() if value == SHORT_PERIOD),
                   key=lambda c: (_last_recorded(aggregation, c), c))
        basis[last] = SOLE_PAYER
    return basis


def amounts_needed(basis: dict[str, str]) -> dict[str, tuple[str, ...]]:
    """Which amounts the officer must enter for each country: the theoretical amount wherever a
    share is paid, and the independent benefit where the country's own periods qualify."""
    return {country: ("theoretical", "independent") if how == INDEPENDENT else ("theoretical",) if how in PAYING else ()
            for country, how in basis.items()}


def calculate(aggregation: Aggregation, rules: Rules, amounts: dict[str, Amounts]) -> Result:
    """Each country's entitlement from aggregated periods, its rule and the officer's amounts."""
    if not aggregation.periods:
        raise CalculationRefused("periods", _l("there are no confirmed periods to calculate from"))
    for country in amounts:
        if country not in aggregation.recorded:
            raise CalculationRefused(f"amounts.{country}",
                                     _l("%(country)s has no confirmed periods on this appeal", country=country))
    total = aggregation.total
    basis = bases(aggregation, rules)
    rows = []
    for country in aggregation.countries:
        rule, how = rules.get(country), basis[country]
        given = amounts.get(country)
        theoretical = independent = pro_rata = None
        share, due = 0, Decimal("0.00")
        if how == SOLE_PAYER:
            share = total.total_days
        elif how in (INDEPENDENT, PRO_RATA):
            share = aggregation.counted[country].total_days
        if how in PAYING:
            theoretical = _needed(amounts, country, "theoretical")
            pro_rata = cents(theoretical * share / Decimal(total.total_days))
            due = pro_rata
        if how == INDEPENDENT:
            independent = _needed(amounts, country, "independent")
            if independent > pro_rata:
                due = independent
            else:
                basis[country] = how = PRO_RATA
        qualifies_alone = rule.met_by(aggregation.recorded[country])
        rows.append(CountryResult(
            country=country,
            rule=rule,
            recorded=aggregation.recorded[country],
            counted=aggregation.counted[country],
            qualifies_alone=qualifies_alone,
            qualifies_with_aggregation=qualifies_alone or how not in (NOT_MET, BELOW_AGGREGATION_MINIMUM),
            basis=how,
            share_days=share,
            total_days=total.total_days,
            currency=given.currency if given else "",
            theoretical=cents(theoretical) if theoretical is not None else None,
            independent=cents(independent) if independent is not None else None,
            pro_rata=pro_rata,
            due=cents(due),
        ))
    return Result(aggregation=aggregation, rules_version=rules.version, countries=rows)
