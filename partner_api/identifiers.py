"""Norwegian organisation numbers and national identity numbers.

Pure functions, no I/O. The validators never raise: payroll files and published examples contain
placeholders such as ``12345678901`` and callers must be able to *report* an invalid number
rather than crash on it. See ``shared/research/payroll-formats.md`` section 3 for the sources.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

__all__ = [
    "is_valid_national_id",
    "is_valid_orgnr",
    "make_orgnr",
    "make_synthetic_national_id",
    "mask_national_id",
]

_ORGNR_WEIGHTS = (3, 2, 7, 6, 5, 4, 3, 2)
_K1_WEIGHTS = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_K2_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)

# From 1 Jan 2032 the remainder of the k1 check (weighted sum of the first nine digits plus k1,
# mod 11) may be 0, 1, 2 or 3 instead of only 0. Numbers issued before keep remainder 0, which is
# a subset, so accepting the new set validates both generations (Skatteetaten, "Nytt
# fødselsnummer fra 2032").
_K1_ACCEPTED_REMAINDERS = frozenset({0, 1, 2, 3})

# Feb allows 29 because the birth year is not always recoverable (the 2032 numbers stop encoding
# the century), so a leap day must not be rejected.
_MAX_DAY = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

_TENOR_MONTH_OFFSET = 80  # Skatteetaten / Tenor "Test-Norge" synthetic numbers
_H_MONTH_OFFSET = 40  # H-numbers, and NAV Dolly synthetic numbers (same digit, indistinguishable)
_D_DAY_OFFSET = 40


def _is_ascii_digits(s: object, length: int) -> bool:
    # str.isdigit() alone accepts e.g. Arabic-Indic or superscript digits, which int() would
    # partly accept too; an identifier is plain ASCII 0-9 only.
    return isinstance(s, str) and len(s) == length and s.isascii() and s.isdigit()


def _orgnr_check_digit(first8: str) -> int | None:
    """Check digit for eight orgnr digits, or None where no check digit exists (r = 1)."""
    r = sum(int(c) * w for c, w in zip(first8, _ORGNR_WEIGHTS, strict=True)) % 11
    if r == 0:
        return 0
    if r == 1:
        return None
    return 11 - r


def is_valid_orgnr(s: str) -> bool:
    """True if ``s`` is a 9-digit organisation number with a correct mod-11 check digit.

    Does not require the leading 8 or 9 real numbers have: Brønnøysund's own worked example
    (123456785) starts with 1, and the check digit is what the register defines.
    """
    if not _is_ascii_digits(s, 9):
        return False
    return _orgnr_check_digit(s[:8]) == int(s[8])


def _weighted(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(c) * w for c, w in zip(digits, weights, strict=True))


def _date_part_plausible(s: str) -> bool:
    day = int(s[0:2])
    month = int(s[2:4])
    if day > _D_DAY_OFFSET:
        day -= _D_DAY_OFFSET
    if month > _TENOR_MONTH_OFFSET:
        month -= _TENOR_MONTH_OFFSET
    elif month > _H_MONTH_OFFSET:
        month -= _H_MONTH_OFFSET
    return 1 <= month <= 12 and 1 <= day <= _MAX_DAY[month - 1]


def is_valid_national_id(s: str) -> bool:
    """True for a plausible fødselsnummer, D-number, H-number or synthetic test number.

    Checks the two mod-11 check digits (accepting the post-2032 k1 rule) and that the first six
    digits, after removing the D (+40 day), H / NAV synthetic (+40 month) or Tenor synthetic
    (+80 month) offsets, form a day and month that can exist. FH-numbers (no date part) are not
    accepted: they are used in health services, not in payroll reporting.
    """
    if not _is_ascii_digits(s, 11):
        return False
    if (_weighted(s[:9], _K1_WEIGHTS) + int(s[9])) % 11 not in _K1_ACCEPTED_REMAINDERS:
        return False
    if (_weighted(s[:10], _K2_WEIGHTS) + int(s[10])) % 11 != 0:
        return False
    return _date_part_plausible(s)


def mask_national_id(s: str) -> str:
    """Birth-date part plus ``*****``, for logs and screens that must not show the full number.

    Anything that is not 11 digits is masked completely: we cannot tell which part of a malformed
    value is the sensitive one.
    """
    if not _is_ascii_digits(s, 11):
        return "*" * 11
    return s[:6] + "*****"


def make_orgnr(rng: random.Random) -> str:
    """A valid organisation number starting with 8 or 9, as real ones do.

    Deterministic in ``rng``.
    """
    while True:
        first8 = rng.choice("89") + "".join(rng.choice("0123456789") for _ in range(7))
        check = _orgnr_check_digit(first8)
        # About one in eleven prefixes has no check digit; draw again rather than skew digits.
        if check is not None:
            return first8 + str(check)


def _individual_number_range(year: int) -> tuple[int, int]:
    """Individual-number range that encodes ``year``'s century (inclusive bounds)."""
    if 1900 <= year <= 1999:
        return (0, 499)
    if 2000 <= year <= 2039:
        return (500, 999)
    if 1855 <= year <= 1899:
        return (500, 749)
    raise ValueError(f"no individual-number series encodes birth year {year}")


def _check_digits(first9: str) -> str | None:
    """Pre-2032 check digits (remainder 0) for nine digits, or None if either would be 10."""
    k1 = (11 - _weighted(first9, _K1_WEIGHTS) % 11) % 11
    if k1 == 10:
        return None
    k2 = (11 - _weighted(first9 + str(k1), _K2_WEIGHTS) % 11) % 11
    if k2 == 10:
        return None
    return f"{k1}{k2}"


def make_synthetic_national_id(
    rng: random.Random, birth_year_range: tuple[int, int] = (1955, 2005)
) -> str:
    """A Tenor-style synthetic national id (month + 80) with valid check digits.

    The birth date is drawn uniformly from ``birth_year_range`` (both ends inclusive) and the
    individual number from the series that encodes that century, so the number decodes to the
    intended birth year. Synthetic numbers can never collide with a real person's number, which
    is why the demo uses them.
    """
    lo, hi = birth_year_range
    if lo > hi:
        raise ValueError(f"empty birth_year_range {birth_year_range!r}")
    # Fail on the range up front, not on the first unlucky draw.
    _individual_number_range(lo)
    _individual_number_range(hi)
    while True:
        year = rng.randint(lo, hi)
        first_day = date(year, 1, 1)
        born = first_day + timedelta(days=rng.randrange((date(year + 1, 1, 1) - first_day).days))
        ind_lo, ind_hi = _individual_number_range(year)
        individual = rng.randint(ind_lo, ind_hi)
        first9 = (
            f"{born.day:02d}{born.month + _TENOR_MONTH_OFFSET:02d}{born.year % 100:02d}"
            f"{individual:03d}"
        )
        checks = _check_digits(first9)
        # Roughly a fifth of draws give a check digit of 10; redraw everything so the result
        # stays a pure function of the rng state.
        if checks is not None:
            return first9 + checks
