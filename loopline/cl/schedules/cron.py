"""Five-field cron expressions (minute hour day-of-month month day-of-week), in a time zone.

Times are matched on the wall clock of the expression's time zone (UTC unless given, any IANA
name such as "Europe/Paris"); what the methods return is in UTC. Across a daylight-saving
change a wall time that does not exist (the hour skipped in spring) fires an hour later (02:30
becomes 03:30), and a wall time that happens twice (the hour repeated in autumn) fires once, the
first time.

Fields take `*`, numbers, ranges `a-b`, steps `*/n` and `a-b/n`, and lists `a,b`; months and
weekdays also take names (`jan`, `mon`); weekday 0 and 7 are Sunday. As in Vixie cron, when both
day fields are restricted a day matches either. `@hourly`, `@daily`, `@weekly`, `@monthly` and
`@yearly` are shorthands.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo

from loopline.errors import UsageError

_MACROS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
_FIELDS = (  # name, low, high, names
    ("minute", 0, 59, None),
    ("hour", 0, 23, None),
    ("day of month", 1, 31, None),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
)
_SEARCH_YEARS = 8  # a valid expression fires within this many years (Feb 29 on a Monday: < 8)
_MINUTE = dt.timedelta(minutes=1)


def time_zone(name: str) -> dt.tzinfo:
    """The IANA time zone `name` ("UTC", "Europe/Paris"), or UsageError saying how to name one."""
    if name.upper() == "UTC":
        return dt.UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise UsageError(
            f"unknown time zone {name!r}: give an IANA name such as 'Europe/Paris', "
            "'America/New_York' or 'UTC'"
        ) from None


@dataclasses.dataclass(frozen=True)
class CronExpression:
    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    any_day: bool  # day of month is `*`
    any_weekday: bool  # day of week is `*`
    zone: dt.tzinfo = dt.UTC  # whose wall clock the fields name

    @classmethod
    def parse(cls, text: str, timezone: str = "UTC") -> CronExpression:
        """The expression, or UsageError saying which field (or the time zone) is wrong."""
        expanded = _MACROS.get(text.strip().lower(), text)
        parts = expanded.split()
        if len(parts) != 5:
            raise UsageError(
                f"cron {text!r}: expected 5 fields (minute hour day-of-month month day-of-week), "
                f"e.g. '0 2 * * *' for 02:00 UTC every day; got {len(parts)}"
            )
        values = [_field(part, *spec, text) for part, spec in zip(parts, _FIELDS)]
        weekdays = frozenset(d % 7 for d in values[4])
        expression = cls(
            text.strip(),
            values[0],
            values[1],
            values[2],
            values[3],
            weekdays,
            parts[2] == "*",
            parts[4] == "*",
            time_zone(timezone),
        )
        if expression.next_after(dt.datetime(2000, 1, 1, tzinfo=dt.UTC)) is None:
            raise UsageError(f"cron {text!r} never fires (no such date)")
        return expression

    def _day_matches(self, moment: dt.datetime) -> bool:
        day_ok = moment.day in self.days
        weekday_ok = (moment.isoweekday() % 7) in self.weekdays
        if self.any_day and self.any_weekday:
            return True
        if self.any_day:
            return weekday_ok
        if self.any_weekday:
            return day_ok
        return day_ok or weekday_ok

    def next_after(self, moment: dt.datetime) -> dt.datetime | None:
        """The first firing time strictly after `moment`, in UTC (None if none for years)."""
        wall = self._next_wall(self._wall(moment))
        while wall is not None:
            instant = self._instant(wall)
            if instant > moment:  # not so only for a wall time that happens twice
                return instant
            wall = self._next_wall(wall)
        return None

    def latest_at_or_before(self, moment: dt.datetime) -> dt.datetime | None:
        """The last firing time at or before `moment`, in UTC (None if none for years)."""
        wall = self._latest_wall(self._wall(moment))
        while wall is not None:
            instant = self._instant(wall)
            if instant <= moment:  # not so only for a wall time skipped in spring
                return instant
            wall = self._latest_wall(wall - _MINUTE)
        return None

    def _wall(self, moment: dt.datetime) -> dt.datetime:
        """`moment` on this zone's wall clock (naive), to the minute."""
        if moment.tzinfo is None:
            raise UsageError("cron times must be timezone-aware (e.g. datetime.now(timezone.utc))")
        return moment.astimezone(self.zone).replace(tzinfo=None, second=0, microsecond=0, fold=0)

    def _instant(self, wall: dt.datetime) -> dt.datetime:
        return wall.replace(tzinfo=self.zone).astimezone(dt.UTC)

    def _next_wall(self, after: dt.datetime) -> dt.datetime | None:
        """The first matching wall time strictly after `after` (naive datetimes)."""
        t = after + _MINUTE
        limit = t.year + _SEARCH_YEARS
        while t.year <= limit:
            if t.month not in self.months:
                t = dt.datetime(t.year + (t.month == 12), t.month % 12 + 1, 1)
            elif not self._day_matches(t):
                t = dt.datetime(t.year, t.month, t.day) + dt.timedelta(days=1)
            elif t.hour not in self.hours:
                t = t.replace(minute=0) + dt.timedelta(hours=1)
            elif t.minute not in self.minutes:
                later = [m for m in self.minutes if m > t.minute]
                t = t.replace(minute=min(later)) if later else t.replace(minute=0) + dt.timedelta(hours=1)
            else:
                return t
        return None

    def _latest_wall(self, at: dt.datetime) -> dt.datetime | None:
        """The last matching wall time at or before `at` (naive datetimes)."""
        t = at
        limit = t.year - _SEARCH_YEARS
        while t.year >= limit:
            if t.month not in self.months:
                t = dt.datetime(t.year, t.month, 1) - _MINUTE
            elif not self._day_matches(t):
                t = dt.datetime(t.year, t.month, t.day) - _MINUTE
            elif t.hour not in self.hours:
                t = t.replace(minute=0) - _MINUTE
            elif t.minute not in self.minutes:
                earlier = [m for m in self.minutes if m < t.minute]
                t = t.replace(minute=max(earlier)) if earlier else t.replace(minute=0) - _MINUTE
            else:
                return t
        return None

    def __str__(self) -> str:
        return self.text


def _field(part: str, name: str, low: int, high: int, names: list[str] | None, text: str) -> frozenset[int]:
    values: set[int] = set()
    for item in part.lower().split(","):
        base, _, step_text = item.partition("/")
        try:
            step = int(step_text) if step_text else 1
            if step < 1:
                raise ValueError
            if base == "*":
                start, end = low, high
            elif "-" in base:
                first, last = base.split("-", 1)
                start, end = _value(first, names), _value(last, names)
            else:
                start = _value(base, names)
                end = high if step_text else start
        except ValueError:
            raise UsageError(f"cron {text!r}: cannot read {item!r} as the {name} field") from None
        if not low <= start <= end <= high:
            raise UsageError(f"cron {text!r}: the {name} field {item!r} must lie within {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _value(text: str, names: list[str] | None) -> int:
    if names is not None and text in names:
        return names.index(text) + (1 if names is _MONTHS else 0)
    return int(text)
