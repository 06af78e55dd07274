"""Untrusted text is shown literally: no markup, no control or bidi characters."""

from __future__ import annotations

import pytest
from rich.console import Console
from rich.text import Text

from partner_tui.core.safe_text import clean, plain


@pytest.mark.parametrize(
    "name", ["Acme [/] AS", "[@click=app.quit] Rør AS", "[bold]x", "[link=https://evil.example]x"]
)
def test_markup_is_kept_as_literal_text(name: str) -> None:
    text = plain(name)
    assert isinstance(text, Text)
    assert text.plain == name
    assert not text.spans  # no styles came out of the brackets
    console = Console(width=80, record=True, color_system=None)
    console.print(text)
    assert console.export_text().rstrip("\n") == name


def test_terminal_escapes_are_stripped() -> None:
    assert clean("Acme\x1b]0;PWNED\x07") == "Acme]0;PWNED"
    assert clean("A\x1b[31mred\x1b[0m") == "A[31mred[0m"
    assert clean("C1 \x9b31m and \x85next") == "C1 31m and  next"
    assert clean("nul\x00 del\x7f") == "nul del"
    assert "\x1b" not in plain("x\x1by").plain


def test_bidi_controls_are_stripped() -> None:
    rtl = "Invoice \u202egnp.exe\u202c AS"
    assert clean(rtl) == "Invoice gnp.exe AS"
    every = "".join(
        chr(c)
        for c in [
            0x202A,
            0x202B,
            0x202C,
            0x202D,
            0x202E,
            0x2066,
            0x2067,
            0x2068,
            0x2069,
            0x200E,
            0x200F,
            0x061C,
        ]
    )
    assert clean(f"a{every}b") == "ab"


def test_whitespace_controls_become_spaces() -> None:
    assert clean("Acme\tAS") == "Acme AS"
    assert clean("Linje 1\nLinje 2\r\n") == "Linje 1 Linje 2  "


def test_ordinary_text_is_unchanged() -> None:
    for s in ["Rør & Ærlig AS", "Åsen Bygg", "日本語", "emoji 👩‍💼", "1\u00a0234,50", ""]:
        assert clean(s) == s
    assert clean(None) == ""
    assert clean(123) == "123"


def test_controls_are_stripped_from_non_ascii_text_too() -> None:
    # The fast path skips only text Python calls printable; every character clean() strips or
    # replaces must be one it does not, or it would slip through in non-ASCII names.
    from partner_tui.core.safe_text import _TABLE

    assert not [hex(cp) for cp in _TABLE if chr(cp).isprintable()]
    assert clean("Rør \u202eAS\u202c Ærlig\x1b[2J") == "Rør AS Ærlig[2J"
    assert clean("Ås\u2028en\tBygg") == "Ås en Bygg"
