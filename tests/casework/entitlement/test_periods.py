"""Aggregation of insurance periods: lengths in months and days, overlaps counted once for the
country Regulation 987/2009 Art 12 says, and the properties that must hold for any history.
Every expected figure below is computed by hand (the arithmetic is in the comments)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from casework.entitlement import periods as p
from casework.entitlement.periods import Duration, Period, aggregate, duration


def period(country, first, last, kind="employment", pid=None):
    return Period(country, date.fromisoformat(first), date.fromisoformat(last), kind, pid)


# --- lengths ------------------------------------------------------------------------------------

def test_whole_years_are_whole_months_and_their_exact_days():
    # 1980-1985: six years, of which 1980 and 1984 are leap years: 6 × 365 + 2 = 2192 days.
    assert duration([(date(1980, 1, 1), date(1985, 12, 31))]) == Duration(72, 0, 2192)


def test_a_leap_day_boundary():
    # A year from 29 February 2020 is complete at the end of 28 February 2021 (the month that
    # lacks the 29th ends on its last day): twelve months, 366 days.
    assert duration([(date(2020, 2, 29), date(2021, 2, 28))]) == Duration(12, 0, 366)
    assert duration([(date(2020, 2, 29), date(2021, 2, 27))]) == Duration(11, 30, 365)
    # 1 March 2019 to 29 February 2020 is twelve months too, also 366 days; to 28 February, 11
    # months (to 31 January) and 28 days.
    assert duration([(date(2019, 3, 1), date(2020, 2, 29))]) == Duration(12, 0, 366)
    assert duration([(date(2019, 3, 1), date(2020, 2, 28))]) == Duration(11, 28, 365)
    # A month from 31 January ends at the end of February; a day short of it is 28 days.
    assert duration([(date(2023, 1, 31), date(2023, 2, 28))]) == Duration(1, 0, 29)
    assert duration([(date(2023, 1, 31), date(2023, 2, 27))]) == Duration(0, 28, 28)
    # ... and the second month from 31 January ends on 30 March (the day before the 31st).
    assert duration([(date(2023, 1, 31), date(2023, 3, 30))]) == Duration(2, 0, 59)
    # The leap day between two countries' periods counts once, for the period that holds it.
    result = aggregate([period("DE", "2016-03-01", "2020-02-28"), period("PL", "2020-02-29", "2021-02-28")])
    assert result.counted == {"DE": Duration(47, 28, 1460), "PL": Duration(12, 0, 366)}
    assert result.total == Duration(60, 0, 1826)  # 1 March 2016 to 28 February 2021: five years


def test_days_of_one_stretch_stay_days_those_of_several_make_months():
    # 1 January to 30 December is 11 months and 30 days, never "a year".
    assert duration([(date(2021, 1, 1), date(2021, 12, 30))]) == Duration(11, 30, 364)
    # 20 days + 15 days from two stretches: 35 days, one month (30 days) and 5 days.
    assert duration([(date(2021, 1, 1), date(2021, 1, 20)), (date(2021, 3, 1), date(2021, 3, 15))]) == Duration(1, 5, 35)


def test_stretches_that_touch_or_overlap_are_merged():
    assert p.merged([(date(2000, 1, 1), date(2000, 1, 31)), (date(2000, 2, 1), date(2000, 2, 10)),
                     (date(2000, 2, 5), date(2000, 3, 1)), (date(2000, 5, 1), date(2000, 5, 1))]) == [
        (date(2000, 1, 1), date(2000, 3, 1)), (date(2000, 5, 1), date(2000, 5, 1))]


# --- aggregation --------------------------------------------------------------------------------

def test_six_years_in_germany_fourteen_in_poland_eight_months_in_spain():
    result = aggregate([
        period("DE", "1980-01-01", "1985-12-31"),  # 2192 days (leap years 1980, 1984)
        period("PL", "1986-01-01", "1999-12-31"),  # 14 × 365 + 3 (1988, 1992, 1996) = 5113 days
        period("ES", "2000-01-01", "2000-08-31"),  # 31+29+31+30+31+30+31+31 = 244 days (2000 is leap)
    ])
    assert result.recorded == {"DE": Duration(72, 0, 2192), "PL": Duration(168, 0, 5113), "ES": Duration(8, 0, 244)}
    assert result.counted == result.recorded  # nothing overlaps
    # One unbroken stretch from 1980-01-01 to 2000-08-31: 20 years and 8 months; 7549 days.
    assert result.total == Duration(248, 0, 7549)
    assert result.overlaps == []


def test_fully_overlapping_periods_in_two_countries_count_once_for_the_country_of_work():
    # A frontier worker: employed in Germany, living (and so insured by residence) in the
    # Netherlands over the same ten years: 3653 days (leap years 2000, 2004, 2008), counted once.
    result = aggregate([period("DE", "2000-01-01", "2009-12-31", "employment", 1),
                        period("NL", "2000-01-01", "2009-12-31", "residence", 2)])
    assert result.total == Duration(120, 0, 3653)
    assert result.recorded == {"DE": Duration(120, 0, 3653), "NL": Duration(120, 0, 3653)}
    assert result.counted == {"DE": Duration(120, 0, 3653), "NL": Duration(0, 0, 0)}
    assert [(o.starts_on, o.ends_on, o.countries, o.counted_for, o.rule, set(o.period_ids)) for o in result.overlaps] == [
        (date(2000, 1, 1), date(2009, 12, 31), ("DE", "NL"), "DE", p.WORK_OVER_RESIDENCE, {1, 2})]
    assert not result.needs_checking


def test_compulsory_insurance_prevails_over_voluntary_and_insurance_over_credited_periods():
    result = aggregate([
        period("FR", "2010-01-01", "2010-12-31", "voluntary"),
        period("BE", "2010-07-01", "2011-06-30", "employment"),
        period("IT", "2011-01-01", "2011-12-31", "credited_care"),
    ])
    rules = [(o.starts_on, o.ends_on, o.counted_for, o.rule) for o in result.overlaps]
    assert rules == [(date(2010, 7, 1), date(2010, 12, 31), "BE", p.COMPULSORY_OVER_VOLUNTARY),
                     (date(2011, 1, 1), date(2011, 6, 30), "BE", p.INSURANCE_OVER_CREDITED)]
    # FR keeps January-June 2010 (181 days), BE its whole year (365), IT July-December 2011 (184).
    assert {c: d.total_days for c, d in result.counted.items()} == {"FR": 181, "BE": 365, "IT": 184}
    assert result.total.total_days == 181 + 365 + 184 == 730


def test_periods_credited_in_two_countries_count_where_the_person_was_last_insured_before():
    result = aggregate([
        period("PL", "2000-01-01", "2004-12-31", "employment"),
        period("DE", "2005-01-01", "2005-12-31", "credited_care"),
        period("PL", "2005-01-01", "2005-12-31", "other_credited"),
        period("DE", "2006-01-01", "2010-12-31", "employment"),
    ])
    (overlap,) = result.overlaps
    assert (overlap.counted_for, overlap.rule) == ("PL", p.CREDITED_LAST_BEFORE)
    # Nobody insured before: the first country insured after the credited year counts it.
    result = aggregate([period("DE", "2005-01-01", "2005-12-31", "credited_care"),
                        period("PL", "2005-01-01", "2005-12-31", "other_credited"),
                        period("PL", "2006-01-01", "2010-12-31", "employment")])
    (overlap,) = result.overlaps
    assert (overlap.counted_for, overlap.rule) == ("PL", p.CREDITED_FIRST_AFTER)


def test_two_jobs_in_two_countries_at_once_are_counted_once_and_flagged_for_checking():
    result = aggregate([period("PL", "2001-01-01", "2001-12-31", "employment"),
                        period("DE", "2001-06-01", "2002-05-31", "employment")])
    (overlap,) = result.overlaps
    assert (overlap.starts_on, overlap.ends_on, overlap.counted_for, overlap.rule) == (
        date(2001, 6, 1), date(2001, 12, 31), "PL", p.FIRST_STARTED)  # PL's period began first
    assert result.needs_checking == [overlap]
    assert result.total == Duration(17, 0, 365 + 151)


def test_a_country_s_own_overlapping_periods_are_simply_counted_once():
    result = aggregate([period("PT", "2000-01-01", "2000-12-31", "employment"),
                        period("PT", "2000-06-01", "2001-05-31", "credited_care")])
    assert result.overlaps == []
    assert result.recorded["PT"] == result.total == Duration(17, 0, 366 + 151)


# --- properties -----------------------------------------------------------------------------------

EPOCH = date(1960, 1, 1)
COUNTRIES = ("DE", "PL", "ES", "FR", "IT", "NL", "PT", "AT")


@st.composite
def periods(draw, countries=COUNTRIES):
    first = EPOCH + timedelta(days=draw(st.integers(0, 23000)))
    length = draw(st.integers(0, 4000))
    return Period(draw(st.sampled_from(countries)), first, first + timedelta(days=length), draw(st.sampled_from(p.KINDS)),
                  draw(st.integers(1, 10**6)))


def months_spanned(history: list[Period]) -> int:
    first = min(x.starts_on for x in history)
    last = max(x.ends_on for x in history)
    return (last.year - first.year) * 12 + last.month - first.month + 1


@settings(max_examples=300, deadline=None)
@given(st.lists(periods(), min_size=1, max_size=12))
def test_total_months_never_exceed_the_calendar_months_spanned(history):
    result = aggregate(history)
    assert result.total.months <= months_spanned(history)
    span_days = (max(x.ends_on for x in history) - min(x.starts_on for x in history)).days + 1
    assert result.total.total_days <= span_days
    # Every day counted once, for one country: the countries' counted days add up to the total.
    assert sum(d.total_days for d in result.counted.values()) == result.total.total_days
    for country, counted in result.counted.items():
        assert counted.total_days <= result.recorded[country].total_days


@settings(max_examples=300, deadline=None)
@given(st.lists(periods(), min_size=1, max_size=10), st.sampled_from(COUNTRIES), st.sampled_from(p.KINDS),
       st.integers(0, 3000), st.integers(1, 400), st.booleans())
def test_adding_a_period_that_overlaps_nothing_never_lowers_the_total(history, country, kind, length, gap, after):
    before = aggregate(history).total
    if after:
        first = max(x.ends_on for x in history) + timedelta(days=gap)
        added = Period(country, first, first + timedelta(days=length), kind)
    else:
        last = min(x.starts_on for x in history) - timedelta(days=gap)
        added = Period(country, last - timedelta(days=length), last, kind)
    now = aggregate([*history, added]).total
    assert now.total_days == before.total_days + added.days
    assert (now.months, now.days) >= (before.months, before.days)
    assert now.months >= before.months
