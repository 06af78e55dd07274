"""The audit log (``L`` on the Access screen): every change to access, roles, templates and the
Altinn tag — who, when, what, before → after and the request id — for the picked user or
client, or for everyone. Read from the cache (audit events are synced), so it works offline.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import closing
from typing import TYPE_CHECKING, cast

from textual import on, work
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from partner_tui.core.audit_view import AuditRow, load_audit
from partner_tui.core.i18n import t
from partner_tui.core.safe_text import plain
from partner_tui.screens.base import SearchKeys
from partner_tui.screens.bulk_screens import ListSource
from partner_tui.widgets.keys import install_bindings
from partner_tui.widgets.ordered_input import OrderedInput
from partner_tui.widgets.virtual_table import Column, VirtualTable

if TYPE_CHECKING:
    from partner_tui.app import PartnerApp


class AuditScreen(SearchKeys, Screen[None]):
    AUTO_FOCUS = "#audit-table"  # at once, so "L/aas" typed in one burst searches for "aas"
    SEARCH_FIELD, SEARCH_RESULTS = "#audit-search", "#audit-table"

    def __init__(self, *, user_id: int | None, client_id: int | None, name: str) -> None:
        super().__init__()
        install_bindings(self, "audit", self.papp.language)
        self.user_id, self.client_id, self.name_text = user_id, client_id, name
        self.rows: list[AuditRow] = []

    @property
    def papp(self) -> PartnerApp:
        return cast("PartnerApp", self.app)

    def _t(self, key: str, **values: object) -> str:
        return t(key, self.papp.language, **values)

    def compose(self) -> ComposeResult:
        lang = self.papp.language
        yield Static(
            plain(self._t("audit.title", name=self.name_text), style="bold"), id="audit-title"
        )
        yield Static(id="audit-count")
        search = OrderedInput(
            placeholder=self._t("audit.search_placeholder"), id="audit-search", compact=True
        )
        search.cursor_blink = False
        yield search
        columns = [
            Column("at", t("audit.col.at", lang), width=16),
            Column("actor", t("audit.col.actor", lang), flex=2, min_width=10),
            Column("action", t("audit.col.action", lang), width=16),
            Column("subject", t("audit.col.subject", lang), flex=2, min_width=10),
            Column("client", t("col.client", lang), flex=3, min_width=14),
            Column("change", t("audit.col.change", lang), flex=4, min_width=16),
            Column("request", t("audit.col.request", lang), width=10),
        ]
        yield VirtualTable(columns, ListSource(), selectable=False, language=lang, id="audit-table")
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, group="audit-load", exit_on_error=False)
    def _load(self) -> None:
        with closing(self.papp.cache.raw()) as conn:
            rows = load_audit(
                conn, user_id=self.user_id, client_id=self.client_id, language=self.papp.language
            )
        self.app.call_from_thread(self._loaded, rows)

    def _loaded(self, rows: list[AuditRow]) -> None:
        self.rows = rows
        self._show(self.query_one("#audit-search", Input).value)

    def _show(self, text: str) -> None:
        needle = text.strip().casefold()
        shown = [r for r in self.rows if not needle or needle in r.search_text()]
        cells: list[tuple[int, Sequence[str]]] = [
            (r.id, (r.at, r.actor, r.action, r.subject, r.client, r.change, r.request_id[:8]))
            for r in shown
        ]
        self.query_one("#audit-table", VirtualTable).set_source(ListSource(cells))
        count = (
            self._t("audit.count_1") if len(shown) == 1 else self._t("audit.count", n=len(shown))
        )
        self.query_one("#audit-count", Static).update(plain(count))

    @on(Input.Changed, "#audit-search")
    def _search_changed(self, event: Input.Changed) -> None:
        self._show(event.value)

    def action_back(self) -> None:
        """esc: clears the search first (as on Clients and Access), then closes the log."""
        search = self.query_one("#audit-search", Input)
        if search.value:
            search.value = ""
            self.set_focus(self.query_one("#audit-table", VirtualTable))
        else:
            self.dismiss(None)
