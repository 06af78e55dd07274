from __future__ import annotations

import random
from typing import Any

import pytest

from partner_api.identifiers import (
    is_valid_national_id,
    is_valid_orgnr,
    make_orgnr,
    make_synthetic_national_id,
    mask_national_id,
)

GARBAGE: list[Any] = [
    "",
    " ",
    "abcdefghi",
    "abcdefghijk",
    "12345678",
    "1234567890",
    "123456789012",
    "12345678a",
    "1234567890a",
    " 123456785",
    "123456785 ",
    "١٢٣٤٥٦٧٨٥",  # Arabic-Indic digits: isdigit() is True, but not an identifier
    None,
    123456785,
    13830197340,
    b"123456785",
]


# --- organisation numbers ---------------------------------------------------------------


def test_orgnr_brreg_worked_example() -> None:
    # Brønnøysund: 12345678 → check digit 5.
    assert is_valid_orgnr("123456785")


def test_orgnr_placeholder_is_invalid() -> None:
    assert not is_valid_orgnr("123456789")


@pytest.mark.parametrize("orgnr", ["314768949", "211785462"])
def test_orgnr_skatteetaten_example_numbers_pass_mod11(orgnr: str) -> None:
    # The a-melding example's test-environment orgnrs start with 3/2 but have valid check digits.
    assert is_valid_orgnr(orgnr)


def test_orgnr_pension_provider_placeholder_is_invalid() -> None:
    assert not is_valid_orgnr("899205291")


def test_orgnr_remainder_one_has_no_valid_check_digit() -> None:
    # Remainder 1 would need check digit 10, so no final digit makes such a prefix valid.
    rng = random.Random(1)
    weights = (3, 2, 7, 6, 5, 4, 3, 2)
    while True:
        prefix = "".join(rng.choice("0123456789") for _ in range(8))
        if sum(int(c) * w for c, w in zip(prefix, weights, strict=True)) % 11 == 1:
            break
    assert not any(is_valid_orgnr(prefix + str(d)) for d in range(10))


def test_orgnr_remainder_zero_gives_check_digit_zero() -> None:
    assert is_valid_orgnr("000000000")


@pytest.mark.parametrize("value", GARBAGE)
def test_orgnr_garbage_is_false_not_an_exception(value: Any) -> None:
    assert is_valid_orgnr(value) is False


def test_make_orgnr_is_valid_and_starts_with_8_or_9() -> None:
    for seed in range(1000):
        orgnr = make_orgnr(random.Random(seed))
        assert is_valid_orgnr(orgnr), (seed, orgnr)
        assert orgnr[0] in "89", (seed, orgnr)


def test_make_orgnr_is_deterministic() -> None:
    assert make_orgnr(random.Random(42)) == make_orgnr(random.Random(42))


# --- national ids ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "national_id",
    [
        "13830197340",  # Tenor synthetic, month 83
        "24880199664",  # Tenor synthetic, month 88
        "08842199736",  # Tenor synthetic in Skatteetaten's a-melding example
        "02013299997",  # Skatteetaten's 2032 examples: classic rule (remainder 0) …
        "30108299920",
        "30108299939",  # … and the new rule, remainder 1
        "02013299903",
        "02013299806",
    ],
)
def test_valid_national_ids(national_id: str) -> None:
    assert is_valid_national_id(national_id)


@pytest.mark.parametrize(
    "national_id",
    [
        "42059199203",  # Skatteetaten's example D-number: fails mod 11
        "55049199111",  # likewise
        "12345678901",  # NAV placeholder
        "00000000000",  # passes both checks, but day 0 / month 0 is no date
    ],
)
def test_invalid_national_ids(national_id: str) -> None:
    assert not is_valid_national_id(national_id)


def _check_digits(first9: str, k1_remainder: int = 0) -> str | None:
    """Check digits making the k1 remainder ``k1_remainder``; None if k1 or k2 would be 10."""
    w1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
    w2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
    k1 = (k1_remainder - sum(int(c) * w for c, w in zip(first9, w1, strict=True))) % 11
    if k1 == 10:
        return None
    k2 = (-sum(int(c) * w for c, w in zip(first9 + str(k1), w2, strict=True))) % 11
    return None if k2 == 10 else f"{k1}{k2}"


def _with_check_digits(date6: str) -> str:
    """A number with correct (classic) check digits for the given date part."""
    for individual in range(123, 1000):
        first9 = f"{date6}{individual:03d}"
        checks = _check_digits(first9)
        if checks is not None:
            return first9 + checks
    raise AssertionError("unreachable: some individual number always works")


def test_k1_remainder_above_three_is_rejected() -> None:
    tested = set()
    for first9 in ("010180123", "150575456", "280290345", "311299999"):
        for remainder in range(11):
            checks = _check_digits(first9, remainder)
            if checks is None:
                continue
            tested.add(remainder)
            assert is_valid_national_id(first9 + checks) == (remainder <= 3), (first9, remainder)
    assert tested == set(range(11))


@pytest.mark.parametrize(
    ("date6", "valid"),
    [
        ("010180", True),  # ordinary fødselsnummer
        ("410180", True),  # D-number: day + 40
        ("014180", True),  # H-number / NAV synthetic: month + 40
        ("018180", True),  # Tenor synthetic: month + 80
        ("458180", True),  # D-number combined with Tenor offset
        ("311280", True),
        ("290280", True),  # 29 Feb: the year cannot always be known, so allowed
        ("300280", False),  # 30 Feb never exists
        ("310480", False),  # 31 Apr never exists
        ("321280", False),
        ("011380", False),  # month 13
        ("010080", False),  # month 0
        ("000180", False),  # day 0
        ("401280", False),  # D-number day 0
        ("015380", False),  # H month 13
        ("019380", False),  # Tenor month 13
        ("017080", False),  # month 70: no offset explains it
        ("810180", False),  # FH-number style (no date part)
    ],
)
def test_date_plausibility(date6: str, valid: bool) -> None:
    assert is_valid_national_id(_with_check_digits(date6)) is valid


def test_wrong_k2_is_rejected() -> None:
    good = "13830197340"
    for d in "0123456789":
        if d != good[10]:
            assert not is_valid_national_id(good[:10] + d)


@pytest.mark.parametrize("value", GARBAGE)
def test_national_id_garbage_is_false_not_an_exception(value: Any) -> None:
    assert is_valid_national_id(value) is False


def test_mask_national_id() -> None:
    assert mask_national_id("13830197340") == "138301*****"


@pytest.mark.parametrize("value", ["", "123", "1383019734", "1383019734x", None])
def test_mask_national_id_masks_malformed_values_completely(value: Any) -> None:
    assert mask_national_id(value) == "***********"


def _century_ok(national_id: str, year_lo: int, year_hi: int) -> bool:
    yy = int(national_id[4:6])
    individual = int(national_id[6:9])
    if individual <= 499:
        year = 1900 + yy
    elif yy < 40:
        year = 2000 + yy
    elif individual >= 900:
        year = 1900 + yy
    elif individual <= 749 and yy >= 54:
        year = 1800 + yy
    else:
        return False
    return year_lo <= year <= year_hi


def test_make_synthetic_national_id_is_valid() -> None:
    for seed in range(1000):
        nid = make_synthetic_national_id(random.Random(seed))
        assert is_valid_national_id(nid), (seed, nid)
        assert 81 <= int(nid[2:4]) <= 92, ("Tenor synthetic numbers have month + 80", seed, nid)
        assert _century_ok(nid, 1955, 2005), (seed, nid)


def test_make_synthetic_national_id_respects_year_range() -> None:
    rng = random.Random(7)
    for _ in range(200):
        nid = make_synthetic_national_id(rng, birth_year_range=(2001, 2003))
        assert nid[4:6] in {"01", "02", "03"}
        assert int(nid[6:9]) >= 500
        assert _century_ok(nid, 2001, 2003)


def test_make_synthetic_national_id_is_deterministic() -> None:
    a = [make_synthetic_national_id(random.Random(3)) for _ in range(3)]
    b = [make_synthetic_national_id(random.Random(3)) for _ in range(3)]
    assert a == b


@pytest.mark.parametrize("years", [(2005, 1955), (1800, 1900), (1990, 2050)])
def test_make_synthetic_national_id_rejects_impossible_ranges(years: tuple[int, int]) -> None:
    with pytest.raises(ValueError):
        make_synthetic_national_id(random.Random(0), birth_year_range=years)
