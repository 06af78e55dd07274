"""What every screen of the app shares: the title bar, the status line and the footer."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input

from partner_tui.core.i18n import t
from partner_tui.widgets.keys import install_bindings
from partner_tui.widgets.status_line import StatusLine
from partner_tui.widgets.still import StillFooter, StillLines
from partner_tui.widgets.title_bar import TitleBar

if TYPE_CHECKING:
    from partner_tui.app import PartnerApp

TABS = (
    ("dashboard", "1", "screen.dashboard"),
    ("clients", "2", "screen.clients"),
    ("access", "3", "screen.access"),
    ("pending", "7", "screen.pending"),
)


def focus_search(screen: Screen[Any], field: Input) -> None:
    """``/``: into the search field, at once. The binding has priority, so the app runs it
    before it routes the next key: "/ber" arriving in one read (fast typing, a paste, an SSH
    link batching keys) lands whole in the field, not partly in the table, where "r" would
    start a sync. In the field itself, ``/`` is typed."""
    if field.has_focus:
        field.insert_text_at_cursor("/")
    else:
        screen.set_focus(field)  # not ``focus()``, which waits until after this key


class PartnerScreen(StillLines, Screen[None]):
    """A main screen (a Textual mode). Subclasses set ``MODE`` and ``BINDING_SCOPE``."""

    MODE = ""
    BINDING_SCOPE = ""

    def __init__(self) -> None:
        super().__init__()
        if self.BINDING_SCOPE:
            install_bindings(self, self.BINDING_SCOPE, self.papp.language)

    @property
    def papp(self) -> PartnerApp:
        return cast("PartnerApp", self.app)

    def t(self, key: str, **values: object) -> str:
        return t(key, self.papp.language, **values)

    def compose_frame(self, body: Iterable[Widget]) -> ComposeResult:
        lang = self.papp.language
        tabs = [(mode, key, t(label, lang)) for mode, key, label in TABS]
        right = [("?", t("screen.help", lang)), ("^p", t("app.commands", lang))]
        yield TitleBar(t("app.title", lang), tabs, self.MODE, right=right)
        yield from body
        yield StatusLine()
        yield StillFooter(show_command_palette=False)

    def selection_counts(self) -> tuple[int, int] | None:
        """(selected, hidden by filter) for the status line; None when there is no selection."""
        return None

    def data_changed(self) -> None:
        """The cache was (re)loaded: re-read what this screen shows."""

    def on_screen_resume(self) -> None:
        self.papp.publish_status()
        if self.papp.data_version != getattr(self, "_seen_version", -1):
            self._seen_version = self.papp.data_version
            self.data_changed()
