from __future__ import annotations

from datetime import date

import pytest

from partner_api.norwegian_calendar import (
    amelding_deadline,
    easter_sunday,
    is_working_day,
    iter_periods,
    last_complete_month,
    month_add,
    months_between,
    next_working_day,
    parse_period,
    period_bounds,
    period_of,
    public_holidays,
)


@pytest.mark.parametrize(
    ("year", "easter"),
    [
        (2026, date(2026, 4, 5)),
        (2024, date(2024, 3, 31)),
        (2025, date(2025, 4, 20)),
        (2027, date(2027, 3, 28)),
        (2028, date(2028, 4, 16)),
        (2000, date(2000, 4, 23)),
        (2038, date(2038, 4, 25)),  # latest possible date
        (2285, date(2285, 3, 22)),  # earliest possible date
        (1818, date(1818, 3, 22)),
    ],
)
def test_easter_sunday(year: int, easter: date) -> None:
    assert easter_sunday(year) == easter


def test_public_holidays_2026() -> None:
    assert public_holidays(2026) == {
        date(2026, 1, 1),
        date(2026, 4, 2),  # Maundy Thursday
        date(2026, 4, 3),  # Good Friday
        date(2026, 4, 5),  # Easter Sunday
        date(2026, 4, 6),  # Easter Monday
        date(2026, 5, 1),
        date(2026, 5, 14),  # Ascension Day
        date(2026, 5, 17),
        date(2026, 5, 24),  # Whit Sunday
        date(2026, 5, 25),  # Whit Monday
        date(2026, 12, 25),
        date(2026, 12, 26),
    }


def test_public_holidays_returns_a_copy() -> None:
    holidays = public_holidays(2026)
    holidays.clear()
    assert len(public_holidays(2026)) == 12


def test_working_days() -> None:
    assert is_working_day(date(2026, 4, 7))  # Tuesday after Easter
    assert not is_working_day(date(2026, 4, 6))  # Easter Monday
    assert not is_working_day(date(2026, 12, 5))  # Saturday
    assert not is_working_day(date(2026, 12, 6))  # Sunday
    assert is_working_day(date(2026, 12, 24))  # Christmas Eve is not a public holiday


def test_next_working_day() -> None:
    assert next_working_day(date(2026, 4, 7)) == date(2026, 4, 7)
    assert next_working_day(date(2026, 4, 2)) == date(2026, 4, 7)  # Thu-Mon of Easter
    assert next_working_day(date(2026, 12, 25)) == date(2026, 12, 28)
    assert next_working_day(date(2027, 12, 25)) == date(2027, 12, 27)  # Sat → Sun → Mon


@pytest.mark.parametrize(
    ("period", "deadline"),
    [
        ("2026-11", date(2026, 12, 7)),  # 5 Dec 2026 is a Saturday
        ("2026-03", date(2026, 4, 7)),  # 5 Apr is Easter Sunday, 6 Apr Easter Monday
        ("2026-01", date(2026, 2, 5)),  # Thursday: no move
        ("2025-12", date(2026, 1, 5)),  # across the year end
        ("2028-05", date(2028, 6, 6)),  # 5 Jun 2028 is Whit Monday
    ],
)
def test_amelding_deadline(period: str, deadline: date) -> None:
    assert amelding_deadline(period) == deadline


@pytest.mark.parametrize(
    ("period", "n", "expected"),
    [
        ("2026-01", 1, "2026-02"),
        ("2026-12", 1, "2027-01"),
        ("2026-01", -1, "2025-12"),
        ("2026-11", 14, "2028-01"),
        ("2026-03", -27, "2023-12"),
        ("2026-05", 0, "2026-05"),
    ],
)
def test_month_add(period: str, n: int, expected: str) -> None:
    assert month_add(period, n) == expected
    assert months_between(period, expected) == n


def test_iter_periods() -> None:
    assert list(iter_periods("2025-11", "2026-02")) == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert list(iter_periods("2026-02", "2026-02")) == ["2026-02"]
    assert list(iter_periods("2026-03", "2026-02")) == []


@pytest.mark.parametrize(
    ("period", "bounds"),
    [
        ("2026-02", (date(2026, 2, 1), date(2026, 2, 28))),
        ("2028-02", (date(2028, 2, 1), date(2028, 2, 29))),
        ("2026-12", (date(2026, 12, 1), date(2026, 12, 31))),
        ("2026-04", (date(2026, 4, 1), date(2026, 4, 30))),
    ],
)
def test_period_bounds(period: str, bounds: tuple[date, date]) -> None:
    assert period_bounds(period) == bounds


def test_period_of_and_parse_period() -> None:
    assert period_of(date(2026, 3, 31)) == "2026-03"
    assert parse_period("2026-03") == (2026, 3)


def test_last_complete_month() -> None:
    assert last_complete_month(date(2026, 3, 15)) == "2026-02"
    assert last_complete_month(date(2026, 3, 1)) == "2026-02"
    assert last_complete_month(date(2026, 3, 31)) == "2026-02"  # March is not over yet
    assert last_complete_month(date(2026, 1, 10)) == "2025-12"


@pytest.mark.parametrize(
    "bad", ["2026-13", "2026-00", "2026-1", "26-01", "2026/01", "", " 2026-01"]
)
def test_malformed_periods_raise_value_error(bad: str) -> None:
    with pytest.raises(ValueError):
        month_add(bad, 1)
    with pytest.raises(ValueError):
        period_bounds(bad)
    with pytest.raises(ValueError):
        amelding_deadline(bad)
