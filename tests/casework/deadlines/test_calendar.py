"""Hand-checked time limits: every expected date below is reasoned out in a comment, not copied from the code."""

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casework.deadlines.calendar import (
    DE_ABROAD_FILING_WINDOW,
    DEFAULT_FILING_WINDOW,
    DEFAULT_TIMEZONES,
    FILING_WINDOWS,
    INFORMATION_DAYS_RANGE,
    STAGE_PERIODS,
    UNITS,
    US_NOTIFICATION_PRESUMPTION_DAYS,
    Due,
    Period,
    add_working_days,
    compute_due,
    end_of_day,
    filing_deadline,
    filing_window,
    is_working_day,
    last_day,
    next_working_day,
    presumed_notification,
    shift_paused,
    stage_period,
    timezone_for,
)

ONE_MONTH = Period(1, "months")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# --- Period -------------------------------------------------------------------------------


@pytest.mark.parametrize("period", [Period(30, "days"), Period(1, "months"), Period(6, "weeks"), Period(5, "working_days")])
def test_period_text_round_trips(period):
    assert Period.parse(str(period)) == period


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30 days", Period(30, "days")),
        ("1 months", Period(1, "months")),
        ("1 month", Period(1, "months")),
        ("1 day", Period(1, "days")),
        ("6 weeks", Period(6, "weeks")),
        ("5 working days", Period(5, "working_days")),
        ("5 working_days", Period(5, "working_days")),
        ("1 working day", Period(1, "working_days")),
        ("  3   Months ", Period(3, "months")),
    ],
)
def test_period_parse_accepts_how_installations_write_periods(text, expected):
    assert Period.parse(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "month", "1", "1.5 months", "-1 days", "0 days", "3 fortnights", "days 3", "1 months extra", "٣ days", None],
)
def test_period_parse_rejects_nonsense(text):
    with pytest.raises(ValueError):
        Period.parse(text)


def test_period_rejects_units_and_amounts_no_law_uses():
    with pytest.raises(ValueError):
        Period(1, "years")
    with pytest.raises(ValueError):
        Period(0, "days")
    with pytest.raises(TypeError):
        Period(1.5, "months")


def test_due_is_hashable_although_its_rule_is_a_dict():
    due = compute_due(utc(2026, 11, 26, 10), ONE_MONTH, "DE")
    assert hash(due) == hash(compute_due(utc(2026, 11, 26, 10), ONE_MONTH, "DE"))


# --- Working days ---------------------------------------------------------------------------


def test_24_and_31_december_are_working_days_in_germany():
    # Christmas Eve and New Year's Eve are not public holidays under German federal law.
    assert is_working_day(date(2026, 12, 24), "DE")
    assert is_working_day(date(2026, 12, 31), "DE")
    assert not is_working_day(date(2026, 12, 25), "DE")


def test_country_unknown_to_holidays_package_has_only_weekends_off():
    # "XX" has no holiday data, so Christmas Day 2026 (a Friday) is an ordinary working day.
    assert is_working_day(date(2026, 12, 25), "XX")
    assert not is_working_day(date(2026, 12, 26), "XX")  # a Saturday


def test_subdivision_adds_its_own_holidays():
    # All Saints' Day (Monday 1 Nov 2027) is a holiday in Bavaria but not nationally in Germany.
    assert is_working_day(date(2027, 11, 1), "DE")
    assert not is_working_day(date(2027, 11, 1), "DE", "BY")


def test_unknown_subdivision_is_a_configuration_error():
    with pytest.raises(ValueError):
        is_working_day(date(2027, 11, 1), "DE", "ZZ")


def test_next_working_day_is_the_day_itself_when_it_works():
    assert next_working_day(date(2026, 12, 24), "DE") == date(2026, 12, 24)
    # Fri 25 Dec and Sat 26 Dec 2026 are Christmas holidays, Sun 27 a weekend: Monday 28 Dec.
    assert next_working_day(date(2026, 12, 25), "DE") == date(2026, 12, 28)


def test_add_working_days_backwards_for_reminders():
    # Five working days before Mon 28 Dec 2026 in DE: Sun 27, Sat 26 and Fri 25 (Christmas) don't
    # count; Thu 24 (1), Wed 23 (2), Tue 22 (3), Mon 21 (4), Fri 18 (5).
    assert add_working_days(date(2026, 12, 28), -5, "DE") == date(2026, 12, 18)
    # And forwards again: Mon 21, Tue 22, Wed 23, Thu 24, then Mon 28.
    assert add_working_days(date(2026, 12, 18), 5, "DE") == date(2026, 12, 28)


def test_working_day_period_across_easter_in_poland():
    # Easter Monday 2027 is 29 March; Good Friday is not a holiday in Poland.
    assert holidays.country_holidays("PL", years=2027).get(date(2027, 3, 29)) == "Easter Monday"
    assert date(2027, 3, 26) not in holidays.country_holidays("PL", years=2027)
    # From Thu 25 Mar 2027: Fri 26 (1), [Sat, Sun, Easter Monday], Tue 30 (2), Wed 31 (3),
    # Thu 1 Apr (4), Fri 2 Apr (5).
    assert last_day(date(2027, 3, 25), Period(5, "working_days"), "PL") == date(2027, 4, 2)


def test_same_working_day_period_differs_where_holidays_differ():
    # Germany also rests on Good Friday (26 Mar 2027): Tue 30 (1), Wed 31 (2), Thu 1 (3), Fri 2 (4),
    # Mon 5 Apr (5) — one working day later than Poland.
    assert last_day(date(2027, 3, 25), Period(5, "working_days"), "DE") == date(2027, 4, 5)
    # Friday 3 Oct 2025 is German Unity Day, an ordinary working day in France.
    assert last_day(date(2025, 10, 2), Period(1, "working_days"), "FR") == date(2025, 10, 3)
    assert last_day(date(2025, 10, 2), Period(1, "working_days"), "DE") == date(2025, 10, 6)
    # Monday 1 Nov 2027 is All Saints' Day in France, not a bank holiday in the UK.
    assert last_day(date(2027, 10, 29), Period(1, "working_days"), "GB") == date(2027, 11, 1)
    assert last_day(date(2027, 10, 29), Period(1, "working_days"), "FR") == date(2027, 11, 2)


# --- Calendar periods -----------------------------------------------------------------------


def test_one_month_ending_on_second_christmas_day_rolls_to_monday():
    # 26 Nov 2026 + 1 month = Sat 26 Dec 2026, which is also Second Christmas Day; Sunday 27 is off
    # too, so the period ends Monday 28 Dec at 23:59:59 in Berlin (CET, UTC+1) = 22:59:59Z.
    due = compute_due(utc(2026, 11, 26, 10), ONE_MONTH, "DE")
    assert due.due_on == date(2026, 12, 28)
    assert due.due_at == utc(2026, 12, 28, 22, 59, 59)
    assert due.timezone == "Europe/Berlin"
    assert due.jurisdiction == "DE"
    assert due.rule["unrolled_last_day"] == "2026-12-26"
    assert due.rule["first_day"] == "2026-11-27"
    assert [day["date"] for day in due.rule["skipped_days"]] == ["2026-12-26", "2026-12-27"]
    assert due.rule["skipped_days"][0]["holiday"] == "Second Day of Christmas"
    assert due.rule["holidays_version"] == holidays.__version__
    json.dumps(due.rule)


def test_month_end_is_clipped_to_the_shorter_month():
    # 31 Jan 2025 + 1 month: February 2025 has no 31st, so its last day, Fri 28 Feb.
    assert last_day(date(2025, 1, 31), ONE_MONTH, "DE") == date(2025, 2, 28)
    # 2028 is a leap year: Tue 29 Feb 2028.
    assert last_day(date(2028, 1, 31), ONE_MONTH, "DE") == date(2028, 2, 29)


def test_three_months_from_30_november_ends_at_the_end_of_february():
    # 30 Nov 2026 + 3 months = 28 Feb 2027 (no 30 Feb), a Sunday, so Monday 1 Mar 2027.
    due = compute_due(utc(2026, 11, 30, 9), Period(3, "months"), "DE")
    assert due.rule["unrolled_last_day"] == "2027-02-28"
    assert due.due_on == date(2027, 3, 1)


def test_24_december_is_not_rolled():
    # 24 Nov 2026 + 1 month = Thu 24 Dec 2026, a working day in Germany: no roll.
    assert last_day(date(2026, 11, 24), ONE_MONTH, "DE") == date(2026, 12, 24)
    # 1 Dec 2026 + 30 days = Thu 31 Dec 2026, likewise.
    assert last_day(date(2026, 12, 1), Period(30, "days"), "DE") == date(2026, 12, 31)


def test_week_periods_end_on_the_same_weekday():
    # Mon 2 Mar 2026 + 6 weeks = Mon 13 Apr 2026 (Easter Monday was 6 Apr).
    assert last_day(date(2026, 3, 2), Period(6, "weeks"), "NL") == date(2026, 4, 13)


# --- Time zones and DST ---------------------------------------------------------------------


def test_every_eu_and_eea_country_has_a_capital_timezone():
    eu_eea = (
        "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK IS LI NO"
    ).split()
    for country in [*eu_eea, "CH", "GB", "US"]:
        assert country in DEFAULT_TIMEZONES
        ZoneInfo(DEFAULT_TIMEZONES[country])
    assert timezone_for("US") == "America/New_York"
    assert timezone_for("lu") == "Europe/Luxembourg"
    assert timezone_for("XX") == "UTC"
    assert timezone_for("DE", {"DE": "UTC"}) == "UTC"


def test_period_ending_monday_after_spring_dst_change_ends_at_plus_two():
    # Clocks in Berlin go forward on Sun 29 Mar 2026. 23 Mar + 1 week = Mon 30 Mar, now CEST
    # (UTC+2): 23:59:59 local = 21:59:59Z. The Friday before is still CET: 22:59:59Z.
    assert compute_due(utc(2026, 3, 23, 9), Period(1, "weeks"), "DE").due_at == utc(2026, 3, 30, 21, 59, 59)
    assert compute_due(utc(2026, 3, 20, 9), Period(1, "weeks"), "DE").due_at == utc(2026, 3, 27, 22, 59, 59)


def test_period_ending_monday_after_autumn_dst_change_ends_at_plus_one():
    # Clocks go back on Sun 25 Oct 2026. 19 Oct + 1 week = Mon 26 Oct, CET (UTC+1): 22:59:59Z.
    # Fri 23 Oct is still CEST (UTC+2): 21:59:59Z.
    assert compute_due(utc(2026, 10, 19, 9), Period(1, "weeks"), "DE").due_at == utc(2026, 10, 26, 22, 59, 59)
    assert compute_due(utc(2026, 10, 16, 9), Period(1, "weeks"), "DE").due_at == utc(2026, 10, 23, 21, 59, 59)


def test_period_ending_on_the_dst_sunday_rolls_to_monday_in_summer_time():
    # 22 Mar 2026 + 7 days = Sun 29 Mar (the change itself): rolled to Mon 30 Mar, UTC+2.
    due = compute_due(utc(2026, 3, 22, 9), Period(7, "days"), "DE")
    assert due.due_at == utc(2026, 3, 30, 21, 59, 59)


def test_end_of_day_madrid_versus_london():
    # Same local date, different offsets: in summer Madrid is UTC+2 and London UTC+1,
    assert end_of_day(date(2026, 7, 15), "ES") == utc(2026, 7, 15, 21, 59, 59)
    assert end_of_day(date(2026, 7, 15), "GB") == utc(2026, 7, 15, 22, 59, 59)
    # in winter Madrid is UTC+1 and London UTC+0.
    assert end_of_day(date(2026, 1, 15), "ES") == utc(2026, 1, 15, 22, 59, 59)
    assert end_of_day(date(2026, 1, 15), "GB") == utc(2026, 1, 15, 23, 59, 59)
    # An explicit zone wins over the country's default.
    assert end_of_day(date(2026, 1, 15), "ES", "UTC") == utc(2026, 1, 15, 23, 59, 59)


def test_event_late_in_utc_evening_is_already_the_next_day_in_berlin():
    # 23:30Z on 31 Mar 2026 is 01:30 CEST on 1 Apr: the period runs from 2 Apr, so 7 days end
    # Wed 8 Apr (not 7 Apr, as a UTC count would give), at 21:59:59Z.
    due = compute_due(utc(2026, 3, 31, 23, 30), Period(7, "days"), "DE")
    assert due.rule["event_on"] == "2026-04-01"
    assert due.due_on == date(2026, 4, 8)
    assert due.due_at == utc(2026, 4, 8, 21, 59, 59)


def test_event_early_in_utc_morning_is_still_the_previous_day_in_new_york():
    # 02:00Z on Sat 3 Jan 2026 is 21:00 EST on Fri 2 Jan: 5 days end Wed 7 Jan, 23:59:59 EST = 04:59:59Z on 8 Jan.
    due = compute_due(utc(2026, 1, 3, 2), Period(5, "days"), "US")
    assert due.due_on == date(2026, 1, 7)
    assert due.due_at == utc(2026, 1, 8, 4, 59, 59)


def test_naive_event_time_is_refused():
    with pytest.raises(ValueError):
        compute_due(datetime(2026, 1, 5, 9), ONE_MONTH, "DE")


# --- Pauses ---------------------------------------------------------------------------------


def test_pause_shifts_by_exactly_the_paused_time_on_a_working_day():
    # Due Wed 15 Apr 2026 23:59:59 CEST = 21:59:59Z (8 Apr + 1 week). Paused 36 hours: Fri 17 Apr
    # 09:59:59Z (11:59:59 local), a working day, so it stays there.
    due = compute_due(utc(2026, 4, 8, 9), Period(1, "weeks"), "DE")
    assert due.due_at == utc(2026, 4, 15, 21, 59, 59)
    shifted = shift_paused(due, timedelta(hours=36))
    assert shifted.due_at == utc(2026, 4, 17, 9, 59, 59)
    assert shifted.due_on == date(2026, 4, 17)
    assert shifted.rule["paused_seconds"] == 36 * 3600
    assert shifted.rule["previous_due_at"] == "2026-04-15T21:59:59+00:00"
    assert shifted.rule["pauses"][0]["skipped_days"] == []
    json.dumps(shifted.rule)


def test_pause_landing_on_a_weekend_rolls_to_end_of_monday():
    # Paused 3 days from Wed 15 Apr 23:59:59 local: Sat 18 Apr, so the end of Mon 20 Apr (21:59:59Z).
    due = compute_due(utc(2026, 4, 8, 9), Period(1, "weeks"), "DE")
    shifted = shift_paused(due, timedelta(days=3))
    assert shifted.due_at == utc(2026, 4, 20, 21, 59, 59)
    assert shifted.due_on == date(2026, 4, 20)
    assert [day["date"] for day in shifted.rule["pauses"][0]["skipped_days"]] == ["2026-04-18", "2026-04-19"]


def test_pause_is_elapsed_time_across_a_dst_change():
    # Due Fri 20 Mar 2026 23:59:59 CET = 22:59:59Z. Ten elapsed days later it is 30 Mar 22:59:59Z,
    # which in summer time is already Tue 31 Mar 00:59:59, a working day: kept as is.
    due = compute_due(utc(2026, 3, 13, 9), Period(1, "weeks"), "DE")
    shifted = shift_paused(due, timedelta(days=10))
    assert shifted.due_at == utc(2026, 3, 30, 22, 59, 59)
    assert shifted.due_on == date(2026, 3, 31)


def test_successive_pauses_are_all_recorded():
    due = compute_due(utc(2026, 4, 8, 9), Period(1, "weeks"), "DE")
    twice = shift_paused(shift_paused(due, timedelta(hours=1)), timedelta(hours=2))
    assert twice.rule["total_paused_seconds"] == 3 * 3600
    assert [pause["paused_seconds"] for pause in twice.rule["pauses"]] == [3600, 7200]
    assert twice.due_at == due.due_at + timedelta(hours=3)


def test_pause_keeps_the_subdivision_the_deadline_was_computed_with():
    # Due Thu 28 Oct 2027 23:59:59 CEST in Bavaria; three days later is Sun 31 Oct, Monday 1 Nov is
    # All Saints' Day in Bavaria, so Tue 2 Nov (CET: 22:59:59Z).
    due = compute_due(utc(2027, 10, 21, 9), Period(1, "weeks"), "DE", subdiv="BY")
    assert shift_paused(due, timedelta(days=3)).due_at == utc(2027, 11, 2, 22, 59, 59)


def test_negative_pause_is_refused():
    due = compute_due(utc(2026, 4, 8, 9), Period(1, "weeks"), "DE")
    with pytest.raises(ValueError):
        shift_paused(due, timedelta(seconds=-1))


# --- Filing windows -------------------------------------------------------------------------


def test_filing_window_table():
    assert FILING_WINDOWS["DE"] == ONE_MONTH
    assert FILING_WINDOWS["IT"] == Period(90, "days")
    assert DEFAULT_FILING_WINDOW == Period(2, "months")
    assert DE_ABROAD_FILING_WINDOW == Period(3, "months")


def test_german_decision_resident_versus_abroad():
    # Notified Thu 15 Jan 2026. Resident: 1 month = Sun 15 Feb, rolled to Mon 16 Feb.
    # Residing in France (SGG §§ 84, 87): 3 months = Wed 15 Apr 2026.
    assert filing_window("DE", residence_country="DE") == ONE_MONTH
    assert filing_window("DE", residence_country="FR") == Period(3, "months")
    assert filing_deadline("DE", date(2026, 1, 15), residence_country="DE")[0] == date(2026, 2, 16)
    abroad, rule = filing_deadline("DE", date(2026, 1, 15), residence_country="FR")
    assert abroad == date(2026, 4, 15)
    assert rule["period"] == "3 months"
    assert "SGG" in rule["basis"]
    json.dumps(rule)


def test_us_notification_presumed_five_days_after_the_decision_then_sixty_days():
    # Decision dated Mon 2 Mar 2026, presumed received Sat 7 Mar. 60 days: 24 left in March,
    # 30 in April (54), 6 in May: Wed 6 May 2026.
    assert US_NOTIFICATION_PRESUMPTION_DAYS == 5
    notified = presumed_notification("US", date(2026, 3, 2))
    assert notified == date(2026, 3, 7)
    assert filing_deadline("US", notified, residence_country="DE")[0] == date(2026, 5, 6)
    assert presumed_notification("FR", date(2026, 3, 2)) == date(2026, 3, 2)


def test_spain_thirty_days_and_netherlands_six_weeks():
    # ES: 1 Jun 2026 + 30 days = Wed 1 Jul. NL: Mon 2 Mar + 6 weeks = Mon 13 Apr (not a Dutch holiday).
    assert filing_deadline("ES", date(2026, 6, 1), residence_country=None)[0] == date(2026, 7, 1)
    assert filing_deadline("NL", date(2026, 3, 2), residence_country=None)[0] == date(2026, 4, 13)


def test_country_without_listed_window_gets_two_months():
    # Belgium (not listed): 10 Mar 2026 + 2 months = Sun 10 May, rolled to Mon 11 May.
    assert filing_window("BE", residence_country="BE") == Period(2, "months")
    assert filing_deadline("BE", date(2026, 3, 10), residence_country="BE")[0] == date(2026, 5, 11)
    # Without holiday data, same window and weekends only.
    last, rule = filing_deadline("XX", date(2026, 3, 10), residence_country=None)
    assert last == date(2026, 5, 11)
    assert rule["timezone"] == "UTC"


def test_installation_override_of_a_filing_window():
    # FR configured to 3 months: 5 Jan 2026 + 3 months = Sun 5 Apr (Easter Sunday); Mon 6 Apr is
    # Easter Monday in France, so Tue 7 Apr 2026.
    overrides = {"FR": "3 months"}
    assert filing_window("FR", residence_country="FR", overrides=overrides) == Period(3, "months")
    last, rule = filing_deadline("FR", date(2026, 1, 5), residence_country="FR", overrides=overrides)
    assert last == date(2026, 4, 7)
    assert rule["basis"] == "installation configuration"
    assert rule["unrolled_last_day"] == "2026-04-05"


# --- Stage periods --------------------------------------------------------------------------


def test_stage_periods_and_overrides():
    assert stage_period("review") == Period(30, "days")
    assert stage_period("mediation") == Period(45, "working_days")
    assert stage_period("review", {"review": "45 days"}) == Period(45, "days")
    assert stage_period("forwarding", {"review": "45 days"}) == STAGE_PERIODS["forwarding"]
    assert INFORMATION_DAYS_RANGE == (7, 90)
    with pytest.raises(KeyError):
        stage_period("lunch")
    with pytest.raises(ValueError):
        stage_period("review", {"review": "a while"})


# --- Properties -----------------------------------------------------------------------------

COUNTRIES = st.sampled_from(["DE", "FR", "GB", "PL", "ES", "NL", "IT", "US", "XX"])
PERIODS = st.builds(Period, st.integers(min_value=1, max_value=120), st.sampled_from(UNITS))
DAYS = st.dates(min_value=date(2000, 1, 1), max_value=date(2060, 12, 31))


def shortest_length(period: Period) -> timedelta:
    """The least a period can last before rolling: months are at least 28 days each, working days at least a day."""
    per_unit = {"days": 1, "weeks": 7, "months": 28, "working_days": 1}
    return timedelta(days=per_unit[period.unit] * period.amount)


@settings(deadline=None)
@given(event_on=DAYS, period=PERIODS, country=COUNTRIES)
def test_last_day_is_a_working_day_no_earlier_than_the_nominal_length(event_on, period, country):
    end = last_day(event_on, period, country)
    assert is_working_day(end, country)
    assert end >= event_on + shortest_length(period)


@settings(deadline=None)
@given(first=DAYS, gap=st.integers(min_value=0, max_value=60), period=PERIODS, country=COUNTRIES)
def test_a_later_event_never_gives_an_earlier_last_day(first, gap, period, country):
    assert last_day(first, period, country) <= last_day(first + timedelta(days=gap), period, country)


@settings(deadline=None)
@given(
    event_at=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2060, 1, 1), timezones=st.just(UTC)),
    period=PERIODS,
    country=COUNTRIES,
)
def test_due_on_is_the_local_date_of_due_at(event_at, period, country):
    due = compute_due(event_at, period, country)
    local = due.due_at.astimezone(ZoneInfo(due.timezone))
    assert isinstance(due, Due)
    assert due.due_at.utcoffset() == timedelta(0)
    assert due.due_on == local.date()
    assert (local.hour, local.minute, local.second) == (23, 59, 59)
    assert due.due_on > event_at.astimezone(ZoneInfo(due.timezone)).date()


@settings(deadline=None)
@given(day=DAYS, n=st.integers(min_value=0, max_value=60), country=COUNTRIES)
def test_working_days_forward_then_back_returns_to_a_working_day(day, n, country):
    start = next_working_day(day, country)
    assert add_working_days(add_working_days(start, n, country), -n, country) == start
