"""Norwegian public holidays, working days and reporting periods.

A *period* is a calendar month written ``YYYY-MM``, the format of the a-melding's
``kalendermaaned``. Pure functions, no I/O.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from datetime import date, timedelta
from functools import lru_cache

__all__ = [
    "amelding_deadline",
    "easter_sunday",
    "is_working_day",
    "iter_periods",
    "last_complete_month",
    "month_add",
    "months_between",
    "next_working_day",
    "parse_period",
    "period_bounds",
    "period_of",
    "public_holidays",
]

_PERIOD_RE = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")

# The a-melding is due on the 5th of the month after the period it reports.
_AMELDING_DUE_DAY = 5


def easter_sunday(year: int) -> date:
    """Western (Gregorian) Easter Sunday, by the anonymous Gregorian ("Meeus/Jones/Butcher")
    algorithm. Valid for every Gregorian year, which is all Norway has used since 1700."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    weekday_corr = (32 + 2 * e + 2 * i - h - k) % 7  # "L" in the published algorithm
    m = (a + 11 * h + 22 * weekday_corr) // 451
    month, day = divmod(h + weekday_corr - 7 * m + 114, 31)
    return date(year, month, day + 1)


@lru_cache(maxsize=64)
def _holidays(year: int) -> frozenset[date]:
    easter = easter_sunday(year)
    # Offsets from Easter Sunday: Maundy Thursday, Good Friday, Easter Sunday, Easter Monday,
    # Ascension Day, Whit Sunday, Whit Monday.
    movable = {easter + timedelta(days=n) for n in (-3, -2, 0, 1, 39, 49, 50)}
    fixed = {
        date(year, 1, 1),  # New Year's Day
        date(year, 5, 1),  # Labour Day
        date(year, 5, 17),  # Constitution Day
        date(year, 12, 25),
        date(year, 12, 26),
    }
    return frozenset(movable | fixed)


def public_holidays(year: int) -> set[date]:
    """Norway's statutory public holidays ("helligdager" and 1/17 May) in ``year``.

    Christmas Eve and New Year's Eve are not public holidays (banks close, but deadlines do not
    move for them), so they are not included. Returns a fresh set the caller may modify.
    """
    return set(_holidays(year))


def is_working_day(d: date) -> bool:
    """Monday to Friday and not a public holiday."""
    return d.weekday() < 5 and d not in _holidays(d.year)


def next_working_day(d: date) -> date:
    """``d`` if it is a working day, else the first working day after it."""
    while not is_working_day(d):
        d += timedelta(days=1)
    return d


def parse_period(period: str) -> tuple[int, int]:
    """``'YYYY-MM'`` → ``(year, month)``; ValueError for anything else."""
    m = _PERIOD_RE.fullmatch(period) if isinstance(period, str) else None
    if m is None:
        raise ValueError(f"period must be YYYY-MM, got {period!r}")
    return int(m.group(1)), int(m.group(2))


def _format_period(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def period_of(d: date) -> str:
    """The period (``YYYY-MM``) that contains ``d``."""
    return _format_period(d.year, d.month)


def month_add(period: str, n: int) -> str:
    """The period ``n`` months after ``period`` (``n`` may be negative)."""
    year, month = parse_period(period)
    y, m0 = divmod(year * 12 + (month - 1) + n, 12)
    return _format_period(y, m0 + 1)


def months_between(a: str, b: str) -> int:
    """Number of months from period ``a`` to period ``b``: ``month_add(a, result) == b``."""
    ya, ma = parse_period(a)
    yb, mb = parse_period(b)
    return (yb * 12 + mb) - (ya * 12 + ma)


def iter_periods(first: str, last: str) -> Iterator[str]:
    """Periods from ``first`` to ``last``, both included; none if ``last`` precedes ``first``."""
    for n in range(months_between(first, last) + 1):
        yield month_add(first, n)


def period_bounds(period: str) -> tuple[date, date]:
    """First and last day of ``period``."""
    year, month = parse_period(period)
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def amelding_deadline(period: str) -> date:
    """Due date of the a-melding for ``period``: the 5th of the next month, or the next working
    day when the 5th is a weekend or public holiday."""
    year, month = parse_period(month_add(period, 1))
    return next_working_day(date(year, month, _AMELDING_DUE_DAY))


def last_complete_month(today: date) -> str:
    """The most recent period that has fully ended before ``today``.

    Always the previous month: even on the last day of a month that month is still running.
    """
    return month_add(period_of(today), -1)
