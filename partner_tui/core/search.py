"""The partner list's text search: which clients typed words match. UI-free (no textual).

A client matches a word when the word is a substring of one of its search *parts*: orgnr,
name, a group name or a user name, casefolded. ``ClientListSnapshot.keys`` holds them joined by
:data:`SEP` (``\\x1f``, which :func:`~partner_tui.core.safe_text.clean` removes from every name
and every typed word, so a word never spans two parts). Words are ANDed.

The first two parts (orgnr, name) are the client's own; the others (at DESIGN.md §8 sizes about
ten user names and a group, ≈180 characters) are *tags* shared by many clients: 200 users and a
few dozen groups in all. So instead of scanning 10,000 long keys per word, the index scans the
short own texts and matches the word once against each distinct tag.

Typing narrows one letter at a time, and the first letters match most rows: testing every
own text for them is most of a keystroke's work. So the index also keeps, for every letter and
every pair of letters found in the own texts, the rows that contain it (≈600 pairs and 6 MB
at 10,000 clients): a word of one or two letters is then one lookup, and a longer word is
tested only on the rows that contain each of its pairs.

Lists of row numbers are kept as ``array('i')``, not lists: arrays are not containers of
objects, so the cyclic garbage collector never walks them. (As lists, the index's ≈400,000
row numbers made every young-generation collection during typing take ~5 ms.)

Sets of rows are *flag bytes* held as one big integer (byte ``k`` is 1 when the ``k``-th row is
in the set), so a union over the matching tags or an AND over the words is one integer
operation. :class:`OrderedSearch` keeps them by position in one sort order: the rows a mask
selects, in that order, are ``compress(order, mask bytes)``, one C-level pass. A word over every
row then costs ≈0.5 ms at 10,000 clients; a word over a few rows tests just those rows.
"""

from __future__ import annotations

from array import array
from collections import deque
from collections.abc import Sequence
from itertools import compress, repeat
from operator import add, contains, or_

__all__ = ["SEP", "OrderedSearch", "SearchIndex"]

SEP = "\x1f"

# Below this share of all rows, testing the rows one by one beats a pass over every row.
SMALL = 0.2


def _flags(n: int, at: Sequence[int]) -> int:
    """Flag bytes (as an int) with a 1 at each index of ``at``."""
    flags = bytearray(n)
    deque(map(flags.__setitem__, at, repeat(1)), maxlen=0)
    return int.from_bytes(flags, "big")


def _grams(texts: Sequence[str]) -> dict[str, array[int]]:
    """Every letter and pair of adjacent letters of ``texts`` → the rows that contain it."""
    rows_of: dict[str, list[int]] = {}
    get = rows_of.get
    for i, text in enumerate(texts):
        for gram in set(text).union(map(add, text, text[1:])):
            rows = get(gram)
            if rows is None:
                rows_of[gram] = [i]
            else:
                rows.append(i)
    return _arrays(rows_of)


def _arrays(lists: dict[str, list[int]]) -> dict[str, array[int]]:
    """The lists as arrays (built as lists: appending to a list is faster)."""
    return {key: array("i", rows) for key, rows in lists.items()}


class SearchIndex:
    """The search keys of ``size`` rows (row ``i`` is ``keys[i]``), split into own texts and
    shared tags. Immutable once built; safe to build in a worker thread."""

    __slots__ = ("_gram_rows", "_n", "_own", "_tag_masks", "_tag_rows", "_tags")

    def __init__(self, own: list[str], tags: dict[str, array[int]]) -> None:
        self._own = own
        self._n = len(own)
        self._tags = list(tags)
        self._tag_rows = list(tags.values())
        self._tag_masks = [_flags(self._n, rows) for rows in self._tag_rows]
        self._gram_rows = _grams(own)

    @classmethod
    def build(cls, keys: Sequence[str], own_parts: int = 2) -> SearchIndex:
        """The index of ``keys`` (casefolded parts joined by :data:`SEP`): the first
        ``own_parts`` parts of each key are its own text, the others are tags. Any split gives
        the same matches; this one is fast because tags repeat (≈100 ms at 10,000 clients,
        the pairs of letters included)."""
        own: list[str] = []
        members: dict[str, list[int]] = {}
        get = members.get
        for i, key in enumerate(keys):
            parts = key.split(SEP)
            own.append(SEP.join(parts[:own_parts]))
            for part in parts[own_parts:]:
                rows = get(part)
                if rows is None:
                    members[part] = [i]
                else:
                    rows.append(i)
        return cls(own, _arrays(members))

    @property
    def size(self) -> int:
        return self._n

    def _tag_mask(self, word: str) -> int:
        mask = 0
        for tag, flags in zip(self._tags, self._tag_masks, strict=True):
            if word in tag:
                mask |= flags
        return mask

    def filter(self, rows: Sequence[int], words: Sequence[str]) -> list[int]:
        """The rows of ``rows`` (kept in their order) that match every word, tested one by
        one: for a few rows. For many, :meth:`OrderedSearch.mask` is faster."""
        out = list(rows)
        own, n = self._own, self._n
        for word in words:
            if not out:
                break
            if not word:
                continue
            tagged = self._tag_mask(word).to_bytes(n, "big")
            hits = map(contains, map(own.__getitem__, out), repeat(word))
            out = list(compress(out, map(or_, map(tagged.__getitem__, out), hits)))
        return out

    def ordered(self, order: Sequence[int]) -> OrderedSearch:
        """The index by position in ``order`` (every row once); ≈15 ms at 10,000 clients."""
        return OrderedSearch(self, order)


class OrderedSearch:
    """A :class:`SearchIndex` by position in one sort order: masks over positions."""

    __slots__ = (
        "_gram_masks",
        "_n",
        "_order",
        "_own",
        "_tag_masks",
        "_tags",
        "all",
        "index",
        "rank",
    )

    def __init__(self, index: SearchIndex, order: Sequence[int]) -> None:
        n = index.size
        if len(order) != n:
            raise ValueError(f"an order of {len(order)} rows for an index of {n}")
        self.index = index
        self._n = n
        self._order = order
        rank = [0] * n  # (one list: looked up ~500,000 times below, faster than an array)
        for pos, i in enumerate(order):
            rank[i] = pos
        self.rank = rank
        own = [index._own[i] for i in order]
        # Fresh copies, laid out in memory in this order: a pass over them is then up to 2x
        # faster than over the same strings in row order. (``clean`` turns newlines to spaces.)
        fresh = "\n".join(own).split("\n")
        self._own = fresh if len(fresh) == n else own
        self._tags = index._tags
        get = rank.__getitem__
        self._tag_masks = [_flags(n, list(map(get, rows))) for rows in index._tag_rows]
        self._gram_masks = {
            gram: _flags(n, list(map(get, rows))) for gram, rows in index._gram_rows.items()
        }
        self.all = int.from_bytes(b"\x01" * n, "big")

    def mask_of(self, rows: Sequence[int]) -> int:
        """The mask of a set of rows (row indices, any order)."""
        if len(rows) == self._n:
            return self.all
        return _flags(self._n, list(map(self.rank.__getitem__, rows)))

    def word_mask(self, word: str) -> int:
        """The mask of every row that matches ``word``."""
        grams = self._gram_masks
        if len(word) <= 2:  # the rows that contain it, as they are
            own = grams.get(word, 0)
        else:  # test only the rows that contain each of its pairs of letters
            n = self._n
            own = self.all
            for pair in map(add, word, word[1:]):
                own &= grams.get(pair, 0)
                if not own:
                    break
            if own:
                at = list(compress(range(n), own.to_bytes(n, "big")))
                texts = map(self._own.__getitem__, at)
                own = _flags(n, list(compress(at, map(contains, texts, repeat(word)))))
        for tag, flags in zip(self._tags, self._tag_masks, strict=True):
            if word in tag:
                own |= flags
        return own

    def mask(self, words: Sequence[str], within: int) -> int:
        """The rows of the mask ``within`` that match every word of ``words``."""
        for word in words:
            if not within:
                break
            if word:
                within &= self.word_mask(word)
        return within

    def rows(self, mask: int) -> list[int]:
        """The rows of ``mask`` in this order."""
        if mask == self.all:
            return list(self._order)
        return list(compress(self._order, mask.to_bytes(self._n, "big")))
