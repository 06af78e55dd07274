"""The Access screen: one user's access over all clients, or one client's users (``v``).

Select rows (space, ``a`` all shown, ``/`` filter), then an action key opens a small picker;
the plan goes through the app's pipeline (preview → confirm → apply → results).
"""

from __future__ import annotations

from collections.abc import Sequence, Set
from contextlib import closing
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Static

from partner_api.wire import GrantOp
from partner_tui.core.access_view import (
    AccessRows,
    AnsvarligClient,
    ansvarlig_clients,
    client_choices,
    load_client_view,
    load_user_view,
    name_of,
    templates,
)
from partner_tui.core.bulk import AltinnPlan, CopyPlan, OffboardPlan, Plan
from partner_tui.core.formatting import format_date, format_int
from partner_tui.core.i18n import t
from partner_tui.core.safe_text import plain
from partner_tui.screens.base import PartnerScreen, SearchKeys
from partner_tui.screens.bulk_screens import PickModal, parse_day
from partner_tui.widgets.ordered_input import OrderedInput
from partner_tui.widgets.virtual_table import Column, VirtualTable

LEVELS = ("read", "payroll", "full")


class AccessSource:
    def __init__(self, rows: AccessRows, language: str) -> None:
        self.rows, self.language = rows, language

    @property
    def visible_count(self) -> int:
        return self.rows.visible_count

    def row_key(self, i: int) -> int:
        return self.rows.row(i).key

    def cells(self, i: int) -> Sequence[str]:
        r = self.rows.row(i)
        lang = self.language
        level = t(f"access.level.{r.access_level}", lang) if r.access_level else ""
        source = ""
        if r.role_source:
            source = t("detail.manual" if r.role_source == "manual" else "detail.auto", lang)
        until = format_date(r.valid_until, lang) if r.valid_until else ""
        return (r.code, r.name, level, r.role or "", source, until)

    def visible_keys(self) -> Set[int]:
        return self.rows.visible_keys()


class AccessScreen(SearchKeys, PartnerScreen):
    MODE = "access"
    AUTO_FOCUS = "#access-table"  # as on Clients: the table has the keys from the start
    BINDING_SCOPE = "access"
    SEARCH_FIELD, SEARCH_RESULTS = "#access-search", "#access-table"

    def __init__(self) -> None:
        super().__init__()
        self.view = "user"
        self.picked: int | None = None
        self.picked_name = ""
        self.rows = AccessRows()
        self.templates: list[tuple[int, str, str, str | None]] = []
        self.source = AccessSource(self.rows, self.papp.language)

    def _columns(self) -> list[Column]:
        lang = self.papp.language
        first = ("orgnr", 9) if self.view == "user" else ("email", 0)
        return [
            Column(
                "code",
                t(f"col.{first[0]}", lang),
                width=first[1],
                flex=0 if first[1] else 2,
                min_width=9,
            ),
            Column(
                "name",
                t("col.client" if self.view == "user" else "col.user", lang),
                flex=3,
                min_width=14,
            ),
            Column("level", t("col.level", lang), width=7),
            Column("role", t("col.role", lang), width=11),
            Column("source", t("col.source", lang), width=10),
            Column("until", t("col.until", lang), width=10),
        ]

    def compose(self) -> ComposeResult:
        lang = self.papp.language
        search = OrderedInput(
            placeholder=t("access.search_placeholder", lang), id="access-search", compact=True
        )
        search.cursor_blink = False
        yield from self.compose_frame(
            [
                Vertical(
                    Static(id="access-heading"),
                    search,
                    VirtualTable(
                        self._columns(),
                        self.source,
                        language=lang,
                        empty_text=t("access.empty_none", lang),
                        id="access-table",
                    ),
                    id="access-body",
                )
            ]
        )

    @property
    def table(self) -> VirtualTable:
        return self.query_one("#access-table", VirtualTable)

    def on_mount(self) -> None:
        self.table.focus()
        self._heading()

    def data_changed(self) -> None:
        if self.picked is None and self.view == "user":
            me = self.papp.effective_caller_id
            if me:
                self.picked = me
        self.reload()

    # ---- loading (worker) ---------------------------------------------------------------

    def reload(self) -> None:
        self._load(self.view, self.picked)

    @work(thread=True, exclusive=True, group="access-load", exit_on_error=False)
    def _load(self, view: str, picked: int | None) -> None:
        with closing(self.papp.cache.raw()) as conn:
            tmpl = templates(conn)
            if picked is None:
                rows, name = AccessRows(), ""
            elif view == "user":
                rows, name = load_user_view(conn, picked), name_of(conn, "user", picked)
            else:
                rows, name = load_client_view(conn, picked), name_of(conn, "client", picked)
        self.app.call_from_thread(self._loaded, view, picked, rows, name, tmpl)

    def _loaded(
        self,
        view: str,
        picked: int | None,
        rows: AccessRows,
        name: str,
        tmpl: list[tuple[int, str, str, str | None]],
    ) -> None:
        if (view, picked) != (self.view, self.picked):
            return  # a newer pick is loading
        self.templates = tmpl
        self.picked_name = name
        self.rows = rows
        rows.apply(self.query_one("#access-search", Input).value)
        self.source = AccessSource(rows, self.papp.language)
        table = self.table
        table.selected &= set(rows.all_keys())
        table.columns = self._columns()
        table._widths = (-1, [])
        table.set_source(self.source)
        self._heading()

    def _heading(self) -> None:
        if self.picked is None:
            key = "access.none_picked" if self.view == "user" else "access.none_picked_client"
            text = self.t(key)
        else:
            key = "access.user_view" if self.view == "user" else "access.client_view"
            lang = self.papp.language
            count = self.t(
                "access.count_user" if self.view == "user" else "access.count_client",
                n=format_int(self.rows.visible_count, lang),
                m=format_int(len(self.rows.rows), lang),
            )
            text = f"{self.t(key, name=self.picked_name)}  ·  {count}"
        self.query_one("#access-heading", Static).update(plain(text, style="bold"))
        self._empty_text()

    def _empty_text(self) -> None:
        """What an empty table says: the search found nothing, or there is no access."""
        searching = bool(self.query_one("#access-search", Input).value.strip())
        text = self.t("access.empty" if searching and self.rows.rows else "access.empty_none")
        table = self.table
        if table.empty_text != text:
            table.empty_text = text
            table.refresh()

    def selection_counts(self) -> tuple[int, int] | None:
        # The status line may ask while the screen is still being built (fast key presses).
        table = next(self.query("#access-table").results(VirtualTable), None)
        if table is None:
            return None
        return len(table.selected), table.hidden_selected()

    # ---- events -------------------------------------------------------------------------

    @on(Input.Changed, "#access-search")
    def _search_changed(self, event: Input.Changed) -> None:
        self.rows.apply(event.value)
        self.table.source_changed()
        self._heading()

    def on_virtual_table_selection_changed(self, _event: VirtualTable.SelectionChanged) -> None:
        self.papp.publish_status()

    def action_clear_filter(self) -> None:
        search = self.query_one("#access-search", Input)
        search.value = ""
        self.table.focus()

    def action_toggle_view(self) -> None:
        self.view = "client" if self.view == "user" else "user"
        self.picked = None
        self.picked_name = ""
        self.table.clear_selection()
        self.reload()
        self._heading()

    def action_pick(self) -> None:
        if self.view == "user":
            options = [(u.name, u.id) for u in self.papp.users]
            self._open_pick(options, self.t("access.pick_user"))
        else:
            self._pick_client()

    @work(thread=True, exclusive=True, group="access-pick", exit_on_error=False)
    def _pick_client(self) -> None:
        with closing(self.papp.cache.raw()) as conn:
            options = [(label, cid) for cid, label in client_choices(conn)]
        self.app.call_from_thread(self._open_pick, options, self.t("access.pick_client"))

    def _open_pick(self, options: list[tuple[str, Any]], title: str) -> None:
        def chosen(value: Any) -> None:
            if value is not None:
                self.picked = int(value)
                self.table.clear_selection()
                self.reload()

        self.app.push_screen(
            PickModal(title, options, text_input=True, language=self.papp.language), chosen
        )

    # ---- building plans -----------------------------------------------------------------

    def _targets(self, *, granted_only: bool) -> list[tuple[int, int]]:
        """(user, client) pairs of the selection (or the cursor row when nothing is selected)."""
        if self.picked is None:
            return []
        table = self.table
        keys = set(table.selected)
        if not keys and table.cursor_key is not None:
            keys = {table.cursor_key}
        pairs = []
        for row in self.rows.rows:
            if row.key in keys and (row.access_level is not None or not granted_only):
                pairs.append(
                    (self.picked, row.key) if self.view == "user" else (row.key, self.picked)
                )
        return pairs

    def _need(self, pairs: list[tuple[int, int]]) -> bool:
        if not pairs:
            # Rows are chosen, but none has what this action changes (a grant to revoke):
            # say that, rather than that nothing is selected.
            chosen = self.table.selected or self.table.cursor_key is not None
            key = "access.none_granted" if chosen else "access.nothing_selected"
            self.notify(self.t(key), severity="warning", markup=False)
            return False
        return True

    def _run(self, items: list[GrantOp], what: str, n: int) -> None:
        label = f"{what} ({n}) – {self.picked_name}"
        self.papp.start_preview(Plan(items, summary=label))

    def action_grant(self) -> None:
        pairs = self._targets(granted_only=False)
        if not self._need(pairs):
            return
        lang = self.papp.language
        options: list[tuple[str, Any]] = [
            (t(f"access.level.{lv}", lang), ("level", lv)) for lv in LEVELS
        ]
        options += [
            (t("access.template", lang, name=name), ("template", tid))
            for tid, name, _lv, _ro in self.templates
        ]

        def chosen(value: Any) -> None:
            if value is None:
                return
            kind, arg = value
            items = [
                GrantOp(user_id=u, client_id=c, access_level=arg)
                if kind == "level"
                else GrantOp(user_id=u, client_id=c, template_id=arg)
                for u, c in pairs
            ]
            self._run(items, self.t("access.grant_label"), len(items))

        self.app.push_screen(PickModal(self.t("access.pick_level"), options, language=lang), chosen)

    def action_level(self) -> None:
        pairs = self._targets(granted_only=True)
        if not self._need(pairs):
            return
        lang = self.papp.language

        def chosen(value: Any) -> None:
            if value is not None:
                items = [GrantOp(user_id=u, client_id=c, access_level=value) for u, c in pairs]
                self._run(items, t("col.level", lang), len(items))

        options = [(t(f"access.level.{lv}", lang), lv) for lv in LEVELS]
        self.app.push_screen(
            PickModal(self.t("access.pick_level_only"), options, language=lang), chosen
        )

    def action_role(self) -> None:
        pairs = self._targets(granted_only=True)
        if not self._need(pairs):
            return
        lang = self.papp.language

        def chosen(value: Any) -> None:
            if value is None:
                return
            items = [
                GrantOp(user_id=u, client_id=c, role_source="auto")
                if value == "auto"
                else GrantOp(user_id=u, client_id=c, role=value)
                for u, c in pairs
            ]
            self._run(items, t("col.role", lang), len(items))

        options = [
            (t("role.ansvarlig", lang), "ansvarlig"),
            (t("role.medarbeider", lang), "medarbeider"),
            (t("access.role_auto", lang), "auto"),
        ]
        self.app.push_screen(PickModal(self.t("access.pick_role"), options, language=lang), chosen)

    def action_revoke(self) -> None:
        pairs = self._targets(granted_only=True)
        if self._need(pairs):
            items = [GrantOp(op="revoke", user_id=u, client_id=c) for u, c in pairs]
            self._run(items, self.t("change.revoke"), len(items))

    def action_offboard(self) -> None:
        """End all of the picked user's access. Where they are ansvarlig, the handover screen
        asks who takes over (one for all, or per client) before anything is previewed."""
        if self.view != "user" or self.picked is None:
            self.notify(self.t("access.offboard_needs_user"), severity="warning", markup=False)
            return
        self._offboard(self.picked, self.picked_name)

    @work(thread=True, exclusive=True, group="access-offboard", exit_on_error=False)
    def _offboard(self, user: int, name: str) -> None:
        with closing(self.papp.cache.raw()) as conn:
            clients = ansvarlig_clients(conn, user)
        self.app.call_from_thread(self._offboard_next, user, name, clients)

    def _offboard_next(self, user: int, name: str, clients: list[AnsvarligClient]) -> None:
        label = f"{self.t('access.offboard_label')} – {name}"
        if not clients:
            self.papp.start_preview(OffboardPlan(user, summary=label))
            return
        from partner_tui.screens.handover import HandoverScreen

        candidates = [(u.name, u.id) for u in self.papp.users if u.id != user]
        self.app.push_screen(
            HandoverScreen(user, name, clients, candidates, self.papp.start_preview)
        )

    def action_expiry(self) -> None:
        pairs = self._targets(granted_only=True)
        if not self._need(pairs):
            return
        lang = self.papp.language

        def chosen(value: Any) -> None:
            if value is None:
                return
            try:
                day = parse_day(value) if str(value).strip() else None
            except ValueError:
                self.notify(
                    t("access.bad_date", lang, text=str(value)), severity="error", markup=False
                )
                return
            items = [GrantOp(user_id=u, client_id=c, valid_until=day) for u, c in pairs]
            self._run(items, t("col.until", lang), len(items))

        self.app.push_screen(
            PickModal(self.t("access.expiry_prompt"), text_input=True, language=lang), chosen
        )

    def action_copy(self) -> None:
        if self.view != "user" or self.picked is None:
            return
        target = self.picked
        only = set(self.table.selected)
        options = [(u.name, u.id) for u in self.papp.users if u.id != target]

        def chosen(value: Any) -> None:
            if value is not None:
                self._copy_plan(int(value), target, only)

        self.app.push_screen(
            PickModal(
                self.t("access.copy_from"), options, text_input=True, language=self.papp.language
            ),
            chosen,
        )

    def _copy_plan(self, source: int, target: int, only: set[int]) -> None:
        """Copy (the server's ``:copy``): the source's clients, or only the selected ones;
        new grants take level and expiry, existing ones are raised, never lowered."""
        source_name = next((u.name for u in self.papp.users if u.id == source), f"#{source}")
        label = (
            f"{self.t('access.copy_from')} {source_name} {self.t('access.copy_to')} "
            f"{self.picked_name}"
        )
        clients = sorted(only) if only else None
        self.papp.start_preview(CopyPlan(source, target, clients, summary=label))

    def action_undo(self) -> None:
        self.papp.undo_last()

    def action_altinn(self) -> None:
        """Set / clear the partner's Altinn tag on the selected clients (or the picked one)."""
        if self.picked is None:
            return
        if self.view == "user":
            clients = sorted({c for _u, c in self._targets(granted_only=False)})
        else:
            clients = [self.picked]
        if not self._need([(0, c) for c in clients]):
            return
        lang = self.papp.language

        def chosen(value: Any) -> None:
            if value is not None:
                label = f"{t('access.altinn_label', lang)} ({len(clients)})"
                self.papp.start_preview(AltinnPlan(clients, bool(value), summary=label))

        options = [(t("access.altinn_on", lang), True), (t("access.altinn_off", lang), False)]
        self.app.push_screen(
            PickModal(t("access.altinn_label", lang), options, language=lang), chosen
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # L and M have priority (see action_audit); typed in the search field they are text.
        if action in ("audit", "templates") and isinstance(self.focused, Input):
            return False
        return super().check_action(action, parameters)

    async def action_audit(self) -> None:
        """The audit log of the picked user or client (everyone's when none is picked).

        A priority binding, awaited until the log is there: keys typed right after "L"
        ("L/aas" in one burst) go to the log, not to this screen."""
        from partner_tui.screens.audit import AuditScreen

        picked = self.picked
        name = self.picked_name if picked is not None else self.t("audit.all")
        await self.app.push_screen(
            AuditScreen(
                user_id=picked if self.view == "user" else None,
                client_id=picked if self.view == "client" else None,
                name=name,
            )
        )

    async def action_templates(self) -> None:
        from partner_tui.screens.templates import TemplatesScreen

        await self.app.push_screen(TemplatesScreen())  # as action_audit

    def action_export(self) -> None:
        def chosen(value: Any) -> None:
            if value:
                self.papp.export_access(
                    str(value),
                    user_id=self.picked if self.view == "user" else None,
                    client_id=self.picked if self.view == "client" else None,
                )

        self.app.push_screen(
            PickModal(self.t("access.export_prompt"), text_input=True, language=self.papp.language),
            chosen,
        )
