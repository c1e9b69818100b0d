"""Business-time arithmetic, exact and property-tested (hypothesis): nights, weekends,
holidays (Eid 2026 and 2027), closures, the Asia/Jakarta zone and one with summer time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from escalation.businesstime import MINUTE, NeverOpen, Schedule, merged, parse_weekly

JAKARTA = ZoneInfo("Asia/Jakarta")
OFFICE = parse_weekly({str(d): [["08:00", "12:00"], ["13:00", "16:00"]] for d in range(1, 6)})
ID_HOLIDAYS = holidays.country_holidays("ID", categories=("public", "government"))


def office(**extra: object) -> Schedule:
    return Schedule(JAKARTA, OFFICE, is_holiday=lambda day: day in ID_HOLIDAYS, **extra)  # type: ignore[arg-type]


def jkt(*args: int) -> datetime:
    return datetime(*args, tzinfo=JAKARTA)  # type: ignore[misc]


def test_a_window_runs_across_lunch_and_the_night() -> None:
    # Monday 15:00 + 3 hours: one hour on Monday, two on Tuesday morning.
    assert office().add(jkt(2026, 11, 30, 15, 0), 180) == jkt(2026, 12, 1, 10, 0)
    # Monday 11:30 + 60 minutes: 30 before lunch, 30 after.
    assert office().add(jkt(2026, 11, 30, 11, 30), 60) == jkt(2026, 11, 30, 13, 30)


def test_a_weekend_does_not_count() -> None:
    friday = jkt(2026, 11, 27, 15, 0)
    assert office().add(friday, 120) == jkt(2026, 11, 30, 9, 0)
    assert office().minutes_between(friday, jkt(2026, 11, 30, 9, 0)) == 120


def test_eid_2026_with_its_collective_leave_is_closed() -> None:
    # Eid al-Fitr 2026: Sat 21 and Sun 22 March; Nyepi Thu 19; collective leave Wed 18,
    # Fri 20, Mon 23, Tue 24. Tuesday 17 March, 15:00, plus two hours: one hour on the
    # 17th, then closed until Wednesday 25 March.
    assert office().add(jkt(2026, 3, 17, 15, 0), 120) == jkt(2026, 3, 25, 9, 0)
    assert office().minutes_between(jkt(2026, 3, 17, 16, 0), jkt(2026, 3, 25, 8, 0)) == 0


def test_eid_2027_is_closed() -> None:
    # Eid al-Fitr 2027 (estimated by the package): Wed 10 and Thu 11 March; Nyepi Mon 8;
    # collective leave Tue 9, Fri 12, Mon 15. Friday 5 March, 15:30, plus one hour.
    assert date(2027, 3, 10) in ID_HOLIDAYS and date(2027, 3, 11) in ID_HOLIDAYS
    assert office().add(jkt(2027, 3, 5, 15, 30), 60) == jkt(2027, 3, 16, 8, 30)


def test_a_closure_stops_the_clock_and_counts_nothing() -> None:
    closed = merged([(jkt(2026, 12, 1, 0, 0), jkt(2026, 12, 3, 10, 0))])
    schedule = office(closures=closed)
    assert schedule.add(jkt(2026, 11, 30, 15, 0), 120) == jkt(2026, 12, 3, 11, 0)
    assert not schedule.is_open(jkt(2026, 12, 2, 9, 0))
    assert schedule.next_opening(jkt(2026, 12, 2, 9, 0)) == jkt(2026, 12, 3, 10, 0)


def test_a_closure_inside_opening_hours_is_cut_out() -> None:
    schedule = office(closures=merged([(jkt(2026, 11, 30, 9, 0), jkt(2026, 11, 30, 10, 0))]))
    assert schedule.minutes_between(jkt(2026, 11, 30, 8, 0), jkt(2026, 11, 30, 12, 0)) == 180
    assert schedule.minutes_between(jkt(2026, 11, 30, 8, 0), jkt(2026, 11, 30, 9, 30)) == 60


def test_between_is_negative_backwards() -> None:
    a, b = jkt(2026, 11, 30, 9, 0), jkt(2026, 11, 30, 10, 0)
    assert office().minutes_between(b, a) == -60


def test_a_calendar_that_never_opens_says_so() -> None:
    with pytest.raises(NeverOpen):
        Schedule(JAKARTA, {}).add(jkt(2026, 1, 1), 1)


def test_opening_hours_are_checked() -> None:
    with pytest.raises(ValueError, match="overlap"):
        parse_weekly({"1": [["08:00", "12:00"], ["11:00", "13:00"]]})
    with pytest.raises(ValueError, match="ISO weekdays"):
        parse_weekly({"8": [["08:00", "12:00"]]})
    with pytest.raises(ValueError, match="not before the end"):
        parse_weekly({"1": [["16:00", "08:00"]]})
    assert parse_weekly({"7": [["00:00", "24:00"]]}) == {7: ((0, 1440),)}


def test_local_hours_hold_across_a_summer_time_change() -> None:
    amsterdam = ZoneInfo("Europe/Amsterdam")
    weekly = parse_weekly({str(d): [["09:00", "17:00"]] for d in range(1, 8)})
    schedule = Schedule(amsterdam, weekly)
    # Clocks went forward on Sunday 29 March 2026; opening stays 09:00 local.
    saturday = datetime(2026, 3, 28, 16, 0, tzinfo=amsterdam)
    assert schedule.add(saturday, 120) == datetime(2026, 3, 29, 10, 0, tzinfo=amsterdam)


# --- Properties -------------------------------------------------------------------------

instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
windows = st.integers(min_value=0, max_value=20_000)
closures = st.lists(
    st.tuples(instants, st.integers(min_value=1, max_value=5 * 24 * 60)), max_size=4
).map(lambda spans: merged([(s, s + timedelta(minutes=m)) for s, m in spans]))


@given(start=instants, minutes=windows, closed=closures)
@settings(max_examples=300, deadline=None)
def test_adding_then_measuring_gives_back_the_window(
    start: datetime, minutes: int, closed: tuple[tuple[datetime, datetime], ...]
) -> None:
    schedule = office(closures=closed)
    assert schedule.between(start, schedule.add(start, minutes)) == minutes * MINUTE


@given(start=instants, a=windows, b=windows)
@settings(max_examples=200, deadline=None)
def test_later_windows_end_no_earlier(start: datetime, a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert office().add(start, low) <= office().add(start, high)


@given(first=instants, second=instants, minutes=windows)
@settings(max_examples=200, deadline=None)
def test_later_starts_end_no_earlier(first: datetime, second: datetime, minutes: int) -> None:
    early, late = sorted((first, second))
    assert office().add(early, minutes) <= office().add(late, minutes)


@given(start=instants, minutes=st.integers(min_value=0, max_value=10_000_000))
@settings(max_examples=200, deadline=None)
def test_around_the_clock_is_wall_clock_time(start: datetime, minutes: int) -> None:
    schedule = Schedule.around_the_clock()
    end = schedule.add(start, minutes)
    assert end == start + minutes * MINUTE
    assert schedule.between(start, end) == end - start


@given(a=instants, b=instants, c=instants)
@settings(max_examples=200, deadline=None)
def test_measures_add_up(a: datetime, b: datetime, c: datetime) -> None:
    first, middle, last = sorted((a, b, c))
    schedule = office()
    assert schedule.between(first, last) == schedule.between(first, middle) + schedule.between(
        middle, last
    )


def test_the_holiday_check_sees_dates_not_instants() -> None:
    # 00:30 on 21 March 2026 in Jakarta is still the 20th in UTC: Jakarta's date counts.
    assert not office().is_open(jkt(2026, 3, 21, 9, 0))
    assert date(2026, 3, 21) in ID_HOLIDAYS
