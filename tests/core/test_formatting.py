"""Amounts, numbers, dates, months and ages in bokmål and English."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from partner_tui.core.formatting import (
    format_age,
    format_amount,
    format_date,
    format_datetime,
    format_int,
    format_month,
    format_percent,
    parse_iso_utc,
)

NBSP = "\u00a0"


def test_amounts_from_ore() -> None:
    assert format_amount(123_456_789) == f"1{NBSP}234{NBSP}567,89"
    assert format_amount(123_456_789, "en") == "1,234,567.89"
    assert format_amount(0) == "0,00"
    assert format_amount(5) == "0,05"
    assert format_amount(-150) in ("-1,50", "\u22121,50")
    assert format_amount(100_000_050, decimals=False) == f"1{NBSP}000{NBSP}000"
    # exact for large sums (no float rounding)
    assert format_amount(999_999_999_999_99) == f"999{NBSP}999{NBSP}999{NBSP}999,99"


def test_integers_and_percent() -> None:
    assert format_int(12345) == f"12{NBSP}345"
    assert format_int(12345, "en") == "12,345"
    assert format_int(7) == "7"
    assert format_percent(65.2173) == f"65,2{NBSP}%"
    assert format_percent(100.0, "en") == "100.0%"
    assert format_percent(None) == "–"


def test_dates_and_months() -> None:
    assert format_date(date(2026, 12, 3)) == "03.12.2026"
    assert format_date(date(2026, 12, 3), "en") == "2026-12-03"
    assert format_month("2026-11") == "november 2026"
    assert format_month("2026-01", "en") == "January 2026"
    naive = datetime(2026, 12, 3, 14, 5)
    assert format_datetime(naive) == "03.12.2026 14:05"


def test_iso_timestamps_from_the_cache() -> None:
    assert parse_iso_utc("2026-12-03T13:05:00+00:00") == datetime(2026, 12, 3, 13, 5, tzinfo=UTC)
    assert parse_iso_utc("2026-12-03T13:05:00Z") == datetime(2026, 12, 3, 13, 5, tzinfo=UTC)
    assert parse_iso_utc("2026-12-03T13:05:00") == datetime(2026, 12, 3, 13, 5, tzinfo=UTC)
    assert parse_iso_utc(None) is None
    assert parse_iso_utc("not a date") is None


def test_ages() -> None:
    now = datetime(2026, 12, 3, 14, 5, tzinfo=UTC)
    assert format_age(now - timedelta(seconds=20), now) == "nå nettopp"
    assert format_age(now - timedelta(minutes=3), now) == "3 min siden"
    assert format_age(now - timedelta(minutes=3), now, "en") == "3 min ago"
    assert format_age(now - timedelta(hours=2, minutes=59), now) == "2 t siden"
    assert format_age(now - timedelta(days=1, hours=1), now) == "1 dag siden"
    assert format_age(now - timedelta(days=4), now) == "4 dager siden"
    assert format_age(now - timedelta(days=4), now, "en") == "4 days ago"
    assert format_age(now + timedelta(minutes=5), now) == "nå nettopp"  # clock skew
