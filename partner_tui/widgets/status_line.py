"""The one status line every screen shows: online/offline, sync age, outbox, selection.

No clock and no timer: the age is recomputed whenever the line is redrawn (after a sync, on
screen changes and selection changes), so an idle screen sends nothing to the terminal.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from rich.text import Text
from textual.widget import Widget

from partner_tui.core.formatting import format_age, format_datetime, format_int
from partner_tui.core.i18n import t
from partner_tui.core.safe_text import clean
from partner_tui.widgets.still import StillLines


@dataclass(frozen=True, slots=True)
class StatusState:
    online: bool = False
    syncing: bool = False
    last_sync_at: datetime | None = None
    pending: int = 0
    rejected: int = 0
    selected: int | None = None  # None: this screen has no selection
    hidden: int = 0
    note: str = ""  # e.g. the reason for being offline
    language: str = "nb"
    loaded: bool = True  # False until the cache has been read: claim nothing about it yet

    def with_selection(self, selected: int | None, hidden: int = 0) -> StatusState:
        return replace(self, selected=selected, hidden=hidden)


def status_text(state: StatusState, now: datetime | None = None) -> Text:
    """The status line as plain Text (pieces separated by `` · ``)."""
    lang = state.language
    text = Text(no_wrap=True, overflow="ellipsis", end="")
    sep = "  ·  "
    if state.syncing:
        text.append("⟳ " + t("status.syncing", lang), style="bold")
    elif state.online:
        text.append("● " + t("status.online", lang), style="bold green")
        if state.last_sync_at is not None:
            age = format_age(state.last_sync_at, now, lang)
            text.append(sep + t("status.synced_ago", lang, age=age))
    else:
        text.append("○ " + t("status.offline", lang), style="bold yellow")
        if state.note:
            text.append(f" ({clean(state.note)})", style="dim")
        if state.last_sync_at is not None:
            when = format_datetime(state.last_sync_at, lang)
            text.append(" — " + t("status.offline_since", lang, when=when))
        elif state.loaded:
            text.append(" — " + t("status.never_synced", lang))
    if state.pending:
        key = "status.pending_one" if state.pending == 1 else "status.pending_many"
        text.append(sep + t(key, lang, n=format_int(state.pending, lang)), style="bold")
    if state.rejected:
        n_rejected = format_int(state.rejected, lang)
        text.append(sep + t("status.rejected", lang, n=n_rejected), style="bold red")
    if state.selected is not None:
        n, m = format_int(state.selected, lang), format_int(state.hidden, lang)
        if state.hidden:
            msg = t("status.selected_hidden", lang, n=n, m=m)
        else:
            msg = t("status.selected", lang, n=n)
        text.append(sep + msg, style="bold" if state.selected else "")
    return text


class StatusLine(StillLines, Widget):
    DEFAULT_CSS = """
    StatusLine {
        height: 1;
        background: $panel;
        color: $text;
        padding: 0 1;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.state = StatusState()

    def set_state(self, state: StatusState) -> None:
        if state != self.state:
            self.state = state
            self.refresh()

    def render(self) -> Text:
        return status_text(self.state)

    @property
    def text(self) -> str:
        return status_text(self.state).plain
