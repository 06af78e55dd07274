"""``?``: every key binding of the screen below, with what it does."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from partner_tui.core.i18n import t
from partner_tui.core.safe_text import plain
from partner_tui.widgets.keys import install_bindings


def binding_rows(screen: Screen[object]) -> list[tuple[str, str, bool]]:
    """(keys, description, app-wide) for each binding active on ``screen``; keys of one
    action are joined (``j / ↓``)."""
    app = screen.app
    merged: dict[tuple[str, str], list[str]] = {}
    scope: dict[tuple[str, str], bool] = {}
    for active in screen.active_bindings.values():
        binding: Binding = active.binding
        if binding.system or not binding.description or not binding.id:
            continue  # only the app's own (remappable) bindings, not Textual's defaults
        ident = (binding.id or binding.action, binding.description)
        keys = merged.setdefault(ident, [])
        display = app.get_key_display(binding)
        if display not in keys:
            keys.append(display)
        scope[ident] = active.node is app
    rows = [(" / ".join(keys), ident[1], scope[ident]) for ident, keys in merged.items()]
    rows.sort(key=lambda r: r[2])  # this screen's keys first, then the app-wide ones
    return rows


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
    }
    HelpScreen > VerticalScroll {
        width: 72;
        max-height: 90%;
        height: auto;
        border: round $accent;
        background: $surface;
        padding: 1 2;
    }
    HelpScreen #help-footer {
        color: $text-muted;
        margin-top: 1;
    }
    """

    def __init__(self, rows: list[tuple[str, str, bool]], title: str, language: str = "nb") -> None:
        super().__init__()
        install_bindings(self, "help", language)
        self.rows = rows
        self.heading = title
        self.language = language

    def compose(self) -> ComposeResult:
        lang = self.language
        table = Table(expand=True, show_edge=False, box=None, padding=(0, 2, 0, 0))
        table.add_column(plain(t("help.key", lang), style="bold"), no_wrap=True, width=16)
        table.add_column(plain(t("help.action", lang), style="bold"))
        shown_global = False
        for keys, description, is_global in self.rows:
            if is_global and not shown_global:
                shown_global = True
                table.add_row("", "")
                table.add_row(plain(t("help.global", lang), style="bold underline"), "")
            table.add_row(plain(keys, style="bold"), plain(description))
        with VerticalScroll():
            yield Static(plain(self.heading, style="bold"), id="help-title")
            yield Static(table, id="help-table")
            yield Static(plain(t("help.close", lang)), id="help-footer")

    @property
    def text(self) -> str:
        return "\n".join(f"{k}  {d}" for k, d, _ in self.rows)

    def action_close(self) -> None:
        self.dismiss(None)
