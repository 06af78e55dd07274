"""What every screen of the app shares: the title bar, the status line and the footer."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, cast

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


# A plain mixin at run time (see ``StillLines``): Textual names CSS types after the first base
# that is a DOMNode.
if TYPE_CHECKING:
    _ScreenBase = Screen[None]
else:
    _ScreenBase = object


class SearchKeys(_ScreenBase):
    """``/`` into the screen's search field and Enter out of it to its table, at once.

    Both are priority bindings: the app runs them before it routes the next key, so keys
    arriving in the same read (fast typing, a paste, an SSH link batching keys) follow the
    focus: "/ber" lands whole in the field, not partly in the table (where "r" would start a
    sync), and "Enter j" moves the table's cursor instead of typing "j". In a text field ``/``
    is typed (its binding stands aside, so it stays in order with the keys around it), and
    Enter anywhere else does what it does there. Mixed in before the Screen class; the
    screen names its field and table."""

    SEARCH_FIELD = ""  # selector of the search field
    SEARCH_RESULTS = ""  # selector of what Enter moves to

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("focus_search", "leave_search"):
            typing = isinstance(self.focused, Input)
            return typing if action == "leave_search" else not typing
        return super().check_action(action, parameters)

    def action_focus_search(self) -> None:
        # ``set_focus``, not ``focus()``, which would wait until after this key.
        self.set_focus(self.query_one(self.SEARCH_FIELD, Input))

    def action_leave_search(self) -> None:
        self.set_focus(self.query_one(self.SEARCH_RESULTS))


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
