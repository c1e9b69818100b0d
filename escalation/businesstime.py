"""Business time: what the clocks count (SPEC "Clocks").

A `Schedule` is a calendar as the clocks read it: weekly opening hours in the calendar's
time zone, the days it is closed (public holidays from the `holidays` package, collective
leave, days added by hand) and dated closures. Two operations, exact to the microsecond:

- `add(start, minutes)`: the moment at which `minutes` of opening time have passed since
  `start`;
- `between(a, b)`: how much opening time lies between two moments.

`between(t, add(t, n)) == n` for any t and n, both are monotonic, and a calendar open
24/7 without closures counts wall-clock time. Opening hours are wall-clock times of the
calendar's zone; a day's hours are converted to instants one day at a time, so a zone
with daylight saving time still opens at 08:00 local on either side of the change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MINUTE = timedelta(minutes=1)
DAY = timedelta(days=1)
# A calendar that opens less than this often (no hours, or closed for years) has no due
# time to give: `add` says so rather than search forever.
HORIZON_DAYS = 3 * 366


class NeverOpen(ValueError):
    """The calendar does not open again within HORIZON_DAYS."""


@dataclass(frozen=True)
class Schedule:
    zone: ZoneInfo
    # ISO weekday (1 = Monday) -> opening intervals as minutes after local midnight,
    # sorted, not overlapping; an interval may end at 1440 (midnight).
    weekly: dict[int, tuple[tuple[int, int], ...]]
    always_open: bool = False
    is_holiday: Callable[[date], bool] = field(default=lambda day: False)
    # Dated closures as aware instants, sorted by start, not overlapping.
    closures: tuple[tuple[datetime, datetime], ...] = ()

    @classmethod
    def around_the_clock(cls, zone: str = "Asia/Jakarta") -> Schedule:
        return cls(ZoneInfo(zone), {}, always_open=True)

    # --- The two operations ----------------------------------------------------------

    def add(self, start: datetime, minutes: float | timedelta) -> datetime:
        """The instant when `minutes` of opening time have passed since `start`."""
        left = minutes if isinstance(minutes, timedelta) else timedelta(minutes=minutes)
        if left < timedelta(0):
            raise ValueError("business time only moves forward")
        if not left:
            return start
        if self.always_open and not self.closures:
            return start + left
        for opens, closes in self.open_intervals(start):
            span = closes - opens
            if left <= span:
                return opens + left
            left -= span
        raise NeverOpen(f"closed for more than {HORIZON_DAYS} days after {start.isoformat()}")

    def between(self, a: datetime, b: datetime) -> timedelta:
        """Opening time from `a` to `b` (negative if `b` comes first)."""
        if b < a:
            return -self.between(b, a)
        if self.always_open and not self.closures:
            return b - a
        total = timedelta(0)
        for opens, closes in self.open_intervals(a, until=b):
            if opens >= b:
                break
            total += min(closes, b) - opens
        return total

    def minutes_between(self, a: datetime, b: datetime) -> float:
        return self.between(a, b) / MINUTE

    def is_open(self, at: datetime) -> bool:
        for opens, _closes in self.open_intervals(at, until=at + MINUTE):
            return opens <= at
        return False

    def next_opening(self, at: datetime) -> datetime:
        """`at` if open then, otherwise when it opens next."""
        for opens, _closes in self.open_intervals(at):
            return opens
        raise NeverOpen(f"closed for more than {HORIZON_DAYS} days after {at.isoformat()}")

    # --- Opening intervals -------------------------------------------------------------

    def open_intervals(
        self, start: datetime, until: datetime | None = None
    ) -> Iterator[tuple[datetime, datetime]]:
        """Opening intervals from `start` on (the first one clipped to begin at `start`),
        closures cut out, in order; up to `until`, or HORIZON_DAYS."""
        if start.tzinfo is None:
            raise ValueError("business time needs aware datetimes")
        day = start.astimezone(self.zone).date() - timedelta(days=1)
        last = (until or start).astimezone(self.zone).date()
        # Without an end, give up only after HORIZON_DAYS without a single opening.
        horizon = day + timedelta(days=HORIZON_DAYS)
        while day <= (last if until is not None else horizon):
            for opens, closes in self._day(day):
                opens = max(opens, start)
                if until is not None and opens >= until:
                    return
                if closes > opens:
                    for piece in self._without_closures(opens, closes):
                        horizon = day + timedelta(days=HORIZON_DAYS)
                        yield piece
            day += timedelta(days=1)

    def _day(self, day: date) -> list[tuple[datetime, datetime]]:
        """The day's opening hours as instants, before closures."""
        if self.always_open:
            return [(self._instant(day, 0), self._instant(day, 1440))]
        if self.is_holiday(day):
            return []
        return [
            (self._instant(day, opens), self._instant(day, closes))
            for opens, closes in self.weekly.get(day.isoweekday(), ())
        ]

    def _instant(self, day: date, minute: int) -> datetime:
        if minute >= 1440:
            day, minute = day + timedelta(days=1), minute - 1440
        local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=self.zone)
        return local.astimezone(UTC)

    def _without_closures(
        self, opens: datetime, closes: datetime
    ) -> Iterator[tuple[datetime, datetime]]:
        for shut, reopens in self.closures:
            if reopens <= opens:
                continue
            if shut >= closes:
                break
            if shut > opens:
                yield opens, shut
            opens = max(opens, reopens)
            if opens >= closes:
                return
        yield opens, closes


def parse_weekly(raw: dict[str, list[list[str]]]) -> dict[int, tuple[tuple[int, int], ...]]:
    """`{"1": [["08:00", "16:00"]], …}` (ISO weekday → opening intervals) as minutes;
    ValueError for anything else. "24:00" ends a day; an interval may not cross midnight
    (write it as two)."""
    weekly: dict[int, tuple[tuple[int, int], ...]] = {}
    for key, intervals in raw.items():
        weekday = int(key)
        if not 1 <= weekday <= 7:
            raise ValueError(f"weekday {key}: ISO weekdays are 1 (Monday) to 7 (Sunday)")
        parsed = sorted((_minute(a), _minute(b)) for a, b in intervals)
        for (a, b), following in zip(parsed, [*parsed[1:], None], strict=True):
            if not a < b:
                raise ValueError(f"weekday {key}: {a // 60:02d}:{a % 60:02d} is not before the end")
            if following is not None and following[0] < b:
                raise ValueError(f"weekday {key}: opening hours overlap")
        weekly[weekday] = tuple(parsed)
    return weekly


def _minute(text: str) -> int:
    hours, _colon, minutes = text.partition(":")
    value = int(hours) * 60 + int(minutes or 0)
    if not 0 <= value <= 1440:
        raise ValueError(f"{text}: not a time of day")
    return value


def merged(spans: list[tuple[datetime, datetime]]) -> tuple[tuple[datetime, datetime], ...]:
    """Closures sorted, overlapping ones joined."""
    out: list[tuple[datetime, datetime]] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return tuple(out)
