"""Offboarding's first step: who becomes ansvarlig on each client where the leaver was.

Opened by ``O`` on the Access screen when the user is ansvarlig somewhere. Each row is one such
client; ``h`` (or enter) names the new ansvarlig for the selected rows (or the cursor row),
``A`` one person for all of them. ``p`` goes on to the preview once every client has someone;
nothing changes before the preview is confirmed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Static

from partner_tui.core.access_view import AnsvarligClient
from partner_tui.core.bulk import OffboardPlan
from partner_tui.core.i18n import t
from partner_tui.core.safe_text import clean, plain
from partner_tui.screens.bulk_screens import ListSource, PickModal
from partner_tui.widgets.keys import install_bindings
from partner_tui.widgets.virtual_table import Column, VirtualTable

if TYPE_CHECKING:
    from partner_tui.app import PartnerApp


class HandoverScreen(Screen[None]):
    def __init__(
        self,
        user_id: int,
        user_name: str,
        clients: Sequence[AnsvarligClient],
        candidates: Sequence[tuple[str, int]],
        start: Callable[[OffboardPlan], None],
    ) -> None:
        super().__init__()
        install_bindings(self, "handover", self.papp.language)
        self.user_id, self.user_name = user_id, user_name
        self.clients = list(clients)
        self.candidates = list(candidates)  # (name, user id) of who may take over
        self.start = start
        self.chosen: dict[int, int] = {}  # client id → new ansvarlig

    @property
    def papp(self) -> PartnerApp:
        return cast("PartnerApp", self.app)

    def _t(self, key: str, **values: object) -> str:
        return t(key, self.papp.language, **values)

    def compose(self) -> ComposeResult:
        lang = self.papp.language
        yield Static(
            plain(
                self._t("handover.title", name=self.user_name, n=len(self.clients)), style="bold"
            ),
            id="handover-title",
        )
        yield Static(id="handover-missing")
        columns = [
            Column("orgnr", t("col.orgnr", lang), width=9),
            Column("client", t("col.client", lang), flex=3, min_width=14),
            Column("to", t("handover.col_to", lang), flex=2, min_width=14),
        ]
        yield VirtualTable(columns, ListSource(self._rows()), language=lang, id="handover-table")
        yield Static(plain(self._t("handover.hint")), id="handover-hint")
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.table.focus()
        self._missing()

    @property
    def table(self) -> VirtualTable:
        return self.query_one("#handover-table", VirtualTable)

    def _rows(self) -> list[tuple[int, Sequence[str]]]:
        names = {uid: name for name, uid in self.candidates}
        return [
            (c.client_id, (c.orgnr, c.name, names.get(self.chosen.get(c.client_id, 0), "–")))
            for c in self.clients
        ]

    def _missing(self) -> None:
        left = sum(1 for c in self.clients if c.client_id not in self.chosen)
        text = self._t("handover.missing", n=left) if left else self._t("handover.ready")
        self.query_one("#handover-missing", Static).update(plain(text))

    def _refresh_rows(self) -> None:
        self.table.set_source(ListSource(self._rows()))
        self._missing()

    def _assign(self, clients: list[int]) -> None:
        def chosen(value: Any) -> None:
            if value is None:
                return
            for client in clients:
                self.chosen[client] = int(value)
            self.table.clear_selection()
            self._refresh_rows()

        if len(clients) == 1:
            one = next(c for c in self.clients if c.client_id == clients[0])
            title = self._t("handover.pick_one", client=f"{one.orgnr} {one.name}")
        else:
            title = self._t("handover.pick", n=len(clients))
        self.app.push_screen(
            PickModal(title, self.candidates, text_input=True, language=self.papp.language),
            chosen,
        )

    def action_assign(self) -> None:
        table = self.table
        clients = sorted(table.selected) or (
            [table.cursor_key] if table.cursor_key is not None else []
        )
        if clients:
            self._assign([int(c) for c in clients])

    def on_virtual_table_row_activated(self, event: VirtualTable.RowActivated) -> None:
        event.stop()
        self.action_assign()

    def action_assign_all(self) -> None:
        self._assign([c.client_id for c in self.clients])

    def action_preview(self) -> None:
        left = [c for c in self.clients if c.client_id not in self.chosen]
        if left:
            self.notify(self._t("handover.missing", n=len(left)), severity="warning", markup=False)
            return
        targets = set(self.chosen.values())
        label = f"{self._t('access.offboard_label')} – {clean(self.user_name)}"
        if len(targets) == 1:  # one person for all: the plan says so (and reads so in the log)
            plan = OffboardPlan(self.user_id, handover_to=targets.pop(), summary=label)
        else:
            plan = OffboardPlan(self.user_id, per_client=dict(self.chosen), summary=label)
        self.dismiss(None)
        self.start(plan)

    def action_back(self) -> None:
        self.dismiss(None)
