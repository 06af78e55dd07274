"""Untrusted text → safe terminal text (DESIGN.md §6).

Any string that came from the API or a file goes through :func:`clean` before it reaches the
screen: C0/C1 control characters (ESC starts terminal escape sequences) and Unicode bidi
controls (they reorder what the user sees) are removed; whitespace controls become a space.
:func:`plain` wraps the result in a :class:`rich.text.Text`, which is never parsed as markup,
so a client named ``Acme [/] AS`` or ``[@click=app.quit]`` renders literally.

UI-free: imports rich.text only, never textual.
"""

from __future__ import annotations

from rich.text import Text

__all__ = ["BIDI_CONTROLS", "clean", "plain"]

BIDI_CONTROLS = frozenset([0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)])
_WHITESPACE_CONTROLS = frozenset([0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x85, 0x2028, 0x2029])


def _table() -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    for cp in [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0), *BIDI_CONTROLS]:
        table[cp] = None
    for cp in _WHITESPACE_CONTROLS:
        table[cp] = " "
    return table


_TABLE = _table()


def clean(s: object) -> str:
    """``s`` as a string without control or bidi characters; tabs and newlines become spaces."""
    if s is None:
        return ""
    text = s if isinstance(s, str) else str(s)
    # The common case, Norwegian letters included: nothing to strip. Every character the
    # table removes or replaces is one ``isprintable`` rejects (Cc, Cf, Zl, Zp).
    if text.isprintable():
        return text
    return text.translate(_TABLE)


def plain(s: object, style: str = "") -> Text:
    """A rich Text of the cleaned string: shown literally, never parsed as markup."""
    return Text(clean(s), style=style, end="")
