"""Numbers, amounts, dates and ages for the screens, in bokmål (``nb``) or English (``en``).

Numbers look as Babel formats them (``1 234 567,89`` in nb with a no-break space as the group
separator, ``1,234,567.89`` in en). For nb and en the patterns used here (``#,##0``,
``#,##0.0``, ``#,##0.00``) are applied by :func:`_decimal` itself, exactly as Babel applies
them (same rounding, same symbols; a test compares the two): importing Babel and loading its
locale data costs ~80 ms, which the dashboard's first frame would otherwise wait for. Other
languages go to Babel, imported lazily.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any

__all__ = [
    "format_age",
    "format_amount",
    "format_date",
    "format_datetime",
    "format_int",
    "format_month",
    "format_percent",
    "locale_of",
    "parse_iso_utc",
]

NBSP = "\u00a0"
_LOCALES = {"nb": "nb_NO", "en": "en_GB"}


def locale_of(language: str) -> str:
    return _LOCALES.get(language, "nb_NO")


@lru_cache(maxsize=8)
def _numbers() -> Any:
    from babel import numbers

    return numbers


# (group, decimal) symbols of nb_NO and en_GB in CLDR, as Babel has them
_SYMBOLS = {"nb": (NBSP, ","), "en": (",", ".")}


def _decimal(value: int | float | Decimal, places: int, language: str) -> str:
    """``format_decimal(value, "#,##0" + ("." + "0" * places if places else ""), locale)`` of
    Babel with its defaults (quantized, half-even), without Babel for nb and en."""
    symbols = _SYMBOLS.get(language)
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    if symbols is None or not number.is_finite():
        pattern = "#,##0" + ("." + "0" * places if places else "")
        return str(_numbers().format_decimal(value, format=pattern, locale=locale_of(language)))
    group, point = symbols
    negative = number.is_signed()
    rounded = abs(number).normalize().quantize(Decimal(10) ** -places)  # context: half-even
    digits, _, fraction = f"{rounded:f}".partition(".")
    grouped = digits[-3:]
    digits = digits[:-3]
    while digits:
        grouped = digits[-3:] + group + grouped
        digits = digits[:-3]
    if places:
        grouped += point + (fraction or "0").ljust(places, "0")
    return ("-" if negative else "") + grouped


def format_int(n: int, language: str = "nb") -> str:
    """``12 345`` (nb) / ``12,345`` (en)."""
    return _decimal(int(n), 0, language)


def format_amount(ore: int, language: str = "nb", *, decimals: bool = True) -> str:
    """An amount in øre as kroner: ``1 234 567,89`` (nb) / ``1,234,567.89`` (en)."""
    kroner = Decimal(int(ore)).scaleb(-2)
    return _decimal(kroner, 2 if decimals else 0, language)


def format_percent(value: float | None, language: str = "nb", *, digits: int = 1) -> str:
    """``87,5 %`` (nb, no-break space) / ``87.5%`` (en); ``–`` when there is nothing to divide."""
    if value is None:
        return "–"
    number = _decimal(value, digits, language)
    return f"{number}{NBSP}%" if language != "en" else f"{number}%"


def format_date(d: date, language: str = "nb") -> str:
    """``03.12.2026`` (nb) / ``2026-12-03`` (en: ISO, unambiguous)."""
    return d.strftime("%d.%m.%Y") if language != "en" else d.isoformat()


def format_datetime(dt: datetime, language: str = "nb") -> str:
    """Local time: ``03.12.2026 14:05`` (nb) / ``2026-12-03 14:05`` (en)."""
    local = dt.astimezone() if dt.tzinfo is not None else dt
    return f"{format_date(local.date(), language)} {local:%H:%M}"


_EN_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_NB_MONTHS = (
    "januar",
    "februar",
    "mars",
    "april",
    "mai",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "desember",
)


def format_month(period: str, language: str = "nb") -> str:
    """``'2026-11'`` → ``november 2026`` (nb) / ``November 2026`` (en)."""
    year, month = int(period[:4]), int(period[5:7])
    names = _EN_MONTHS if language == "en" else _NB_MONTHS
    return f"{names[month - 1]} {year}"


def parse_iso_utc(value: str | None) -> datetime | None:
    """An ISO timestamp from the cache (UTC when it has no offset); None when absent or bad."""
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def format_age(then: datetime, now: datetime | None = None, language: str = "nb") -> str:
    """How long ago: ``nå nettopp``, ``3 min siden``, ``2 t siden``, ``4 dager siden``."""
    now = now or datetime.now(UTC)
    if then.tzinfo is None:
        then = then.replace(tzinfo=UTC)
    seconds = max(0.0, (now - then) / timedelta(seconds=1))
    en = language == "en"
    if seconds < 60:
        return "just now" if en else "nå nettopp"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min ago" if en else f"{minutes} min siden"
    hours = minutes // 60
    if hours < 24:
        return f"{hours} h ago" if en else f"{hours} t siden"
    days = hours // 24
    if en:
        return f"{days} day ago" if days == 1 else f"{days} days ago"
    return f"{days} dag siden" if days == 1 else f"{days} dager siden"


# after "z" come æ, ø, å (and their Swedish/German look-alikes ä, ö)
_NB_ORDER = str.maketrans({"æ": "\x7f1", "ä": "\x7f1", "ø": "\x7f2", "ö": "\x7f2", "å": "\x7f3"})


def nb_sort_key(s: str) -> str:
    """Case-insensitive key in Norwegian alphabetical order (… z æ ø å)."""
    return s.casefold().translate(_NB_ORDER)


def nb_collate(a: str, b: str) -> int:
    """The same order as an SQLite collation (``COLLATE NB`` on the cache's connections)."""
    ka, kb = nb_sort_key(a), nb_sort_key(b)
    return (ka > kb) - (ka < kb)
