"""Who qualifies, and what each country owes (Regulation 883/2004 Art 52 and 57), on hand-computed
cases, and the properties of any calculation. Amounts are monthly; every expected figure is worked
out in the comments, rounded half up to the cent once."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casework.entitlement import calculation as calc
from casework.entitlement.calculation import Amounts, CalculationRefused, calculate
from casework.entitlement.periods import KINDS, Period, aggregate
from casework.entitlement.rules import Rule, Rules, current

RULES = current()


def period(country, first, last, kind="employment"):
    return Period(country, date.fromisoformat(first), date.fromisoformat(last), kind)


def money(theoretical=None, independent=None, currency="EUR"):
    return Amounts(currency, None if theoretical is None else Decimal(theoretical),
                   None if independent is None else Decimal(independent))


def rows(result):
    return {row.country: row for row in result.countries}


WORKER = [
    period("DE", "1980-01-01", "1985-12-31"),  # 2192 days, 6 years
    period("PL", "1986-01-01", "1999-12-31"),  # 5113 days, 14 years
    period("ES", "2000-01-01", "2000-08-31"),  # 244 days, 8 months
]  # total 7549 days


def test_six_years_in_germany_fourteen_in_poland_eight_months_in_spain():
    result = calculate(aggregate(WORKER), RULES, {"DE": money("1500.00", "300.00"),
                                                 "PL": money("4000.00", "2500.00", "PLN")})
    de, pl, es = (rows(result)[c] for c in ("DE", "PL", "ES"))
    # Germany: 6 years ≥ its 5; Poland: no minimum. Both qualify alone and with aggregation.
    assert (de.qualifies_alone, de.qualifies_with_aggregation) == (True, True)
    assert (pl.qualifies_alone, pl.qualifies_with_aggregation) == (True, True)
    # Spain: 8 months < 15 years alone; 20 years 8 months together ≥ 15 years; but under one
    # year and no pension alone: Spain pays nothing (Art 57(1)), its days stay in the total.
    assert (es.qualifies_alone, es.qualifies_with_aggregation, es.basis) == (False, True, calc.SHORT_PERIOD)
    assert (es.share_days, es.due, es.pro_rata) == (0, Decimal("0.00"), None)
    # Germany: 1500 × 2192 / 7549 = 3 288 000 / 7549 = 435.554… → 435.55, above its own 300.
    assert (de.share_days, de.total_days) == (2192, 7549)
    assert (de.pro_rata, de.independent, de.due, de.basis) == (Decimal("435.55"), Decimal("300.00"),
                                                               Decimal("435.55"), calc.PRO_RATA)
    # Poland: 4000 × 5113 / 7549 = 20 452 000 / 7549 = 2709.233… → 2709.23 (7549 × 2709 = 20 450 241).
    assert (pl.pro_rata, pl.due, pl.currency) == (Decimal("2709.23"), Decimal("2709.23"), "PLN")
    # Spain's 244 days are in no one's share: 7305 of 7549.
    assert result.ratio_sum == Fraction(2192 + 5113, 7549)


def test_the_independent_benefit_is_due_where_it_is_higher_than_the_pro_rata_one():
    result = calculate(aggregate(WORKER), RULES, {"DE": money("1500.00", "500.00"),
                                                 "PL": money("4000.00", "2500.00", "PLN")})
    de = rows(result)["DE"]
    # 500.00 > 435.55 (above): Germany pays its own pension, Art 52(3).
    assert (de.basis, de.pro_rata, de.independent, de.due) == (calc.INDEPENDENT, Decimal("435.55"),
                                                               Decimal("500.00"), Decimal("500.00"))


def test_qualifying_nowhere_alone_but_everywhere_with_aggregation():
    history = [
        period("IT", "1990-01-01", "2001-12-31"),  # 12 years < 20: 4380 + 3 (1992, 1996, 2000) = 4383 days
        period("ES", "2002-01-01", "2011-12-31"),  # 10 years < 15: 3650 + 2 (2004, 2008) = 3652 days
        period("PT", "2012-01-01", "2014-12-31"),  # 3 years < 15: 1095 + 1 (2012) = 1096 days
    ]  # 25 years together: 9131 days, meeting all three minimums
    result = calculate(aggregate(history), RULES, {"IT": money("2000.00"), "ES": money("1800.00"),
                                                   "PT": money("1200.00")})
    assert result.aggregation.total.months == 300
    for row in result.countries:
        assert (row.qualifies_alone, row.qualifies_with_aggregation, row.basis) == (False, True, calc.PRO_RATA)
        assert row.independent is None
    by = rows(result)
    # Italy: 2000 × 4383 / 9131 = 8 766 000 / 9131 = 960.026… → 960.03 (9131 × 960 = 8 765 760, rest 240).
    assert by["IT"].due == Decimal("960.03")
    # Spain: 1800 × 3652 / 9131 = 6 573 600 / 9131 = 719.921… → 719.92 (9131 × 719 = 6 565 189, rest 8411).
    assert by["ES"].due == Decimal("719.92")
    # Portugal: 1200 × 1096 / 9131 = 1 315 200 / 9131 = 144.036… → 144.04 (9131 × 144 = 1 314 864, rest 336).
    assert by["PT"].due == Decimal("144.04")
    assert result.ratio_sum == 1


def test_fully_overlapping_periods_in_two_countries():
    # Ten years of work in Germany while living in the Netherlands: 3653 days counted once, for Germany.
    result = calculate(aggregate([period("DE", "2000-01-01", "2009-12-31", "employment"),
                                  period("NL", "2000-01-01", "2009-12-31", "residence")]),
                       RULES, {"DE": money("1200.00", "1100.00"), "NL": money("1400.00", "280.00")})
    de, nl = rows(result)["DE"], rows(result)["NL"]
    # Germany counts every day: its share is the whole, 1200 × 3653 / 3653 = 1200.00 > its own 1100.
    assert (de.share_days, de.total_days, de.due, de.basis) == (3653, 3653, Decimal("1200.00"), calc.PRO_RATA)
    # The Netherlands (no minimum) qualifies alone on its own record, but none of the days count
    # for it after the overlap: share 0, pro-rata 0.00, so its own pension (280.00) is due.
    assert (nl.qualifies_alone, nl.share_days, nl.pro_rata, nl.due, nl.basis) == (
        True, 0, Decimal("0.00"), Decimal("280.00"), calc.INDEPENDENT)


def test_a_leap_day_boundary_decides_whether_a_year_was_completed():
    # Spain: 1 March 2019 to 29 February 2020 is a full year (12 months, 366 days): not a short
    # period, so Spain pays its share; a day less (to 28 February) is 11 months 28 days: Art 57(1).
    base = [period("DE", "1990-01-01", "2019-02-28")]
    full = calculate(aggregate([*base, period("ES", "2019-03-01", "2020-02-29")]), RULES,
                     {"DE": money("1000.00", "900.00"), "ES": money("1000.00")})
    short = calculate(aggregate([*base, period("ES", "2019-03-01", "2020-02-28")]), RULES,
                      {"DE": money("1000.00", "900.00")})
    assert rows(full)["ES"].recorded.months == 12 and rows(full)["ES"].basis == calc.PRO_RATA
    assert rows(short)["ES"].recorded.months == 11 and rows(short)["ES"].basis == calc.SHORT_PERIOD
    # Germany 1990-01-01 to 2019-02-28: 29 years and 2 months; 10 651 days (29 × 365 + 7 leap
    # days 1992…2016 + 59 days of 2019). With Spain's 366: 1000 × 10 651 / 11 017 = 966.778… → 966.78.
    assert rows(full)["DE"].share_days == 10651
    assert rows(full)["DE"].pro_rata == Decimal("966.78")
    # Spain: 1000 × 366 / 11 017 = 33.221… → 33.22.
    assert rows(full)["ES"].due == Decimal("33.22")


def test_when_every_country_s_periods_are_short_the_last_one_pays_for_all():
    # Eight months in Germany, then ten in Austria: each under a year and no pension alone; with
    # Art 57(1) nobody would pay, so Austria, insured last, pays as if all were its own periods
    # (Art 57(3)). No real minimum gives this case with so little time: test rules of 12 months.
    rules = Rules("test", "old_age_pension", {
        **RULES.by_country,
        "AT": Rule("AT", 12, "months", "test", "test", "", "test"),
        "DE": Rule("DE", 12, "months", "test", "test", "", "test"),
    })
    result = calculate(aggregate([period("DE", "2000-01-01", "2000-08-31"),
                                  period("AT", "2000-09-01", "2001-06-30")]), rules, {"AT": money("700.00")})
    assert rows(result)["DE"].basis == calc.SHORT_PERIOD
    at = rows(result)["AT"]
    # 366 days of 2000 and 181 of 2001 (January to June): 547, all Austria's to pay.
    assert (at.basis, at.share_days, at.total_days, at.due) == (calc.SOLE_PAYER, 547, 547, Decimal("700.00"))


def test_no_entitlement_without_the_minimum_even_with_aggregation_or_the_us_six_credits():
    result = calculate(aggregate([period("IT", "2000-01-01", "2009-12-31"),  # 10 years < 20
                                  period("US", "2010-01-01", "2011-03-31")]),  # 15 months: 5 credits < 6
                       RULES, {})
    assert rows(result)["IT"].basis == calc.NOT_MET
    assert rows(result)["US"].basis == calc.BELOW_AGGREGATION_MINIMUM
    assert all(row.due == Decimal("0.00") for row in result.countries)


def test_a_missing_amount_or_rule_is_refused_never_guessed():
    with pytest.raises(CalculationRefused) as refused:
        calculate(aggregate(WORKER), RULES, {"DE": money("1500.00", "300.00")})
    assert refused.value.field == "amounts.PL.theoretical"
    with pytest.raises(CalculationRefused) as refused:
        calculate(aggregate(WORKER), RULES, {"DE": money("1500.00"), "PL": money("4000.00", "1.00")})
    assert refused.value.field == "amounts.DE.independent"
    with pytest.raises(CalculationRefused) as refused:
        calculate(aggregate([period("JP", "2000-01-01", "2010-12-31")]), RULES, {})
    assert refused.value.field == "periods"
    with pytest.raises(CalculationRefused) as refused:
        calculate(aggregate(WORKER), RULES, {"FR": money("1.00")})
    assert refused.value.field == "amounts.FR"
    with pytest.raises(CalculationRefused):
        calculate(aggregate([]), RULES, {})


def test_the_amounts_needed_follow_the_bases():
    basis = calc.bases(aggregate(WORKER), RULES)
    assert basis == {"DE": calc.INDEPENDENT, "PL": calc.INDEPENDENT, "ES": calc.SHORT_PERIOD}
    assert calc.amounts_needed(basis) == {"DE": ("theoretical", "independent"), "PL": ("theoretical", "independent"),
                                          "ES": ()}


# --- properties -----------------------------------------------------------------------------------

RULED = tuple(RULES.by_country)


@st.composite
def histories(draw):
    found = []
    for _ in range(draw(st.integers(1, 8))):
        first = date(1960, 1, 1) + timedelta(days=draw(st.integers(0, 22000)))
        found.append(Period(draw(st.sampled_from(RULED)), first, first + timedelta(days=draw(st.integers(0, 6000))),
                            draw(st.sampled_from(KINDS))))
    return found


amounts = st.decimals(min_value=0, max_value=100000, places=2, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(histories(), st.data())
def test_the_shares_of_all_countries_sum_to_at_most_the_whole(history, data):
    aggregation = aggregate(history)
    given_amounts = {country: Amounts("EUR", data.draw(amounts), data.draw(amounts)) for country in aggregation.countries}
    result = calculate(aggregation, RULES, given_amounts)
    assert 0 <= result.ratio_sum <= 1
    for row in result.countries:
        assert row.due >= 0
        if row.basis in calc.PAYING:
            theoretical = given_amounts[row.country].theoretical
            # Never more than the theoretical amount as a share, never less than what is due.
            assert row.pro_rata <= calc.cents(theoretical)
            assert row.due == max(row.pro_rata, row.independent or Decimal(0))
        else:
            assert row.due == 0 and row.share_days == 0
