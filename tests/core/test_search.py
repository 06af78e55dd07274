"""The partner list's text search index against the plain definition: a row matches when every
word is a substring of its key (casefolded parts joined by \\x1f)."""

from __future__ import annotations

import random

import pytest

from partner_tui.core.search import SEP, SearchIndex

NAMES = ["kari nordmann", "ola hansen", "per [bold]pål", "åse bakken", "øyvind dahl", "#17"]
GROUPS = ["utbetaling 20.", "[link=x]vip", "nøkkelkunder", "landbruk"]
WORDS = ["bakeri", "bergen", "rør", "ærlig", "øst", "acme [/]", "holding", "nord"]


def make_keys(rnd: random.Random, n: int) -> list[str]:
    keys = []
    for i in range(n):
        own = [f"9{rnd.randrange(10**8):08d}", f"{rnd.choice(WORDS)} {rnd.choice(WORDS)} {i} as"]
        tags = rnd.sample(GROUPS, rnd.randint(0, 2)) + rnd.sample(NAMES, rnd.randint(0, 4))
        keys.append(SEP.join(own + tags))
    return keys


def some_words(rnd: random.Random, keys: list[str]) -> list[str]:
    out = []
    for _ in range(rnd.randint(0, 3)):
        key = rnd.choice(keys).replace(SEP, " ")
        start = rnd.randrange(len(key))
        word = key[start : start + rnd.randint(1, 6)].split(" ")[0]
        out.append(word or rnd.choice(["x", "9", "ø", "zz"]))
    return out


def oracle(keys: list[str], rows: list[int], words: list[str]) -> list[int]:
    return [r for r in rows if all(w in keys[r] for w in words)]


@pytest.mark.parametrize("n", [0, 1, 7, 300])
def test_index_matches_substring_search(n: int) -> None:
    rnd = random.Random(n)
    keys = make_keys(rnd, n)
    index = SearchIndex.build(keys)
    order = list(range(n))
    rnd.shuffle(order)
    ordered = index.ordered(order)
    for _ in range(300):
        words = some_words(rnd, keys) if keys else ["a"]
        rows = rnd.sample(order, rnd.randint(0, n)) if rnd.random() < 0.5 else list(order)
        assert index.filter(rows, words) == oracle(keys, rows, words), words
        # by masks: the same rows, in the ordered index's order
        got = ordered.rows(ordered.mask(words, ordered.mask_of(rows)))
        in_rows = set(rows)
        assert got == oracle(keys, [r for r in order if r in in_rows], words), words


def test_any_split_into_own_text_and_tags_matches_the_same() -> None:
    rnd = random.Random(3)
    keys = make_keys(rnd, 200)
    rows = list(range(200))
    for _ in range(100):
        words = some_words(rnd, keys)
        want = oracle(keys, rows, words)
        for own_parts in (0, 1, 2, 3, 10):
            index = SearchIndex.build(keys, own_parts=own_parts)
            assert index.filter(rows, words) == want
            ordered = index.ordered(rows)
            assert ordered.rows(ordered.mask(words, ordered.all)) == want


def test_an_order_must_cover_every_row() -> None:
    index = SearchIndex.build(["a", "b"])
    with pytest.raises(ValueError):
        index.ordered([0])


def test_pairs_of_letters_find_what_a_scan_finds() -> None:
    """Words of one, two and more letters, Norwegian letters and digits included, over rows
    whose texts share pairs but not the whole word (the candidates must be checked)."""
    keys = [
        SEP.join(["912345678", "bakeri bergen as"]),
        SEP.join(["912399999", "keer ri as"]),  # has 'ke', 'er' and 'ri', but not 'keri'
        SEP.join(["812345678", "rørlegger øst"]),
        SEP.join(["700000000", "ærlig åsen"]),
    ]
    index = SearchIndex.build(keys)
    ordered = index.ordered([3, 2, 1, 0])
    for word in ["b", "ba", "bak", "keri", "912", "9123", "ø", "rø", "rør", "åsen", "zz", "aa"]:
        want = [r for r in [3, 2, 1, 0] if word in keys[r]]
        assert ordered.rows(ordered.mask([word], ordered.all)) == want, word
