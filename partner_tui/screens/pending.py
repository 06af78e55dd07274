"""Pending changes: the outbox — queued writes and the ones the server rejected (with reason)."""

from __future__ import annotations

from collections.abc import Sequence

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from partner_tui.core import outbox
from partner_tui.core.formatting import format_datetime, parse_iso_utc
from partner_tui.core.i18n import t
from partner_tui.core.safe_text import clean, plain
from partner_tui.screens.base import PartnerScreen
from partner_tui.screens.bulk_screens import ListSource
from partner_tui.widgets.virtual_table import Column, VirtualTable


class PendingScreen(PartnerScreen):
    MODE = "pending"
    BINDING_SCOPE = "pending"

    def __init__(self) -> None:
        super().__init__()
        self.items: list[outbox.QueuedWrite] = []

    def compose(self) -> ComposeResult:
        lang = self.papp.language
        columns = [
            Column("created", t("col.created", lang), width=19),
            Column("status", t("col.status", lang), width=8),
            Column("summary", t("col.summary", lang), flex=3, min_width=20),
            Column("attempts", t("col.attempts", lang), width=6, align="right"),
            Column("reason", t("col.reason", lang), flex=3, min_width=12),
        ]
        yield from self.compose_frame(
            [
                Vertical(
                    Static(id="pending-heading"),
                    VirtualTable(
                        columns,
                        ListSource(),
                        selectable=False,
                        language=lang,
                        empty_text=t("pending.empty", lang),
                        id="pending-table",
                    ),
                    id="pending-body",
                )
            ]
        )

    def on_mount(self) -> None:
        self.query_one(VirtualTable).focus()

    def data_changed(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, group="pending-load", exit_on_error=False)
    def _load(self) -> None:
        items = outbox.listed(self.papp.cache, outbox.PENDING, outbox.INFLIGHT, outbox.REJECTED)
        self.app.call_from_thread(self._loaded, items)

    def _loaded(self, items: list[outbox.QueuedWrite]) -> None:
        lang = self.papp.language
        self.items = items
        rows: list[tuple[int, Sequence[str]]] = [
            (
                item.id,
                (
                    _when(item.created_at, lang),
                    t(f"pending.status.{item.status}", lang),
                    clean(item.summary) or f"{item.method} {item.path}",
                    str(item.attempts),
                    clean(item.last_problem or ""),
                ),
            )
            for item in items
        ]
        table = self.query_one(VirtualTable)
        table.set_source(ListSource(rows))
        p = sum(1 for i in items if i.status != outbox.REJECTED)
        r = len(items) - p
        self.query_one("#pending-heading", Static).update(
            plain(t("pending.title", lang, p=p, r=r), style="bold")
        )

    def action_dismiss_item(self) -> None:
        key = self.query_one(VirtualTable).cursor_key
        if key is not None:
            self._dismiss(key)

    @work(thread=True, exclusive=True, group="pending-dismiss", exit_on_error=False)
    def _dismiss(self, item_id: int) -> None:
        outbox.dismiss(self.papp.cache, item_id)
        self.app.call_from_thread(self.papp.load_cache)

    def action_push(self) -> None:
        self.papp.action_sync()


def _when(created_at: str, language: str) -> str:
    """When the change was queued, in local time as everywhere else (``03.12.2026 14:05``);
    the outbox stores UTC."""
    when = parse_iso_utc(created_at)
    return format_datetime(when, language) if when else created_at.replace("T", " ")[:19]
