"""Access templates (``M`` on the Access screen): the partner's named level + role presets
used when granting. ``n`` new, ``e`` edit, ``x`` delete (asks first). A change is sent at once
when online and queued in the outbox (Ventende) when not; grants made from a template earlier
keep their values.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import closing
from typing import TYPE_CHECKING, Any, cast

from pydantic import ValidationError
from textual import work
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer, Static

from partner_tui.core import templates
from partner_tui.core.i18n import problem_text, t
from partner_tui.core.safe_text import clean, plain
from partner_tui.core.templates import Template, TemplateChange
from partner_tui.screens.bulk_screens import ConfirmModal, ListSource, PickModal
from partner_tui.widgets.keys import install_bindings
from partner_tui.widgets.virtual_table import Column, VirtualTable

if TYPE_CHECKING:
    from partner_tui.app import PartnerApp

LEVELS = ("read", "payroll", "full")
NO_ROLE = "-"


class TemplatesScreen(Screen[None]):
    AUTO_FOCUS = "#templates-table"

    def __init__(self) -> None:
        super().__init__()
        install_bindings(self, "templates", self.papp.language)
        self.templates: list[Template] = []

    @property
    def papp(self) -> PartnerApp:
        return cast("PartnerApp", self.app)

    def _t(self, key: str, **values: object) -> str:
        return t(key, self.papp.language, **values)

    def compose(self) -> ComposeResult:
        lang = self.papp.language
        yield Static(plain(self._t("templates.title"), style="bold"), id="templates-title")
        columns = [
            Column("name", t("templates.col.name", lang), flex=3, min_width=20),
            Column("level", t("col.level", lang), width=8),
            Column("role", t("col.role", lang), width=24),
        ]
        yield VirtualTable(
            columns, ListSource(), selectable=False, language=lang, id="templates-table"
        )
        yield Static(plain(self._t("templates.hint")), id="templates-hint")
        yield Footer(show_command_palette=False)

    def on_mount(self) -> None:
        self.reload()

    @property
    def table(self) -> VirtualTable:
        return self.query_one("#templates-table", VirtualTable)

    @work(thread=True, exclusive=True, group="templates-load", exit_on_error=False)
    def reload(self) -> None:
        with closing(self.papp.cache.raw()) as conn:
            loaded = templates.load_templates(conn)
        self.app.call_from_thread(self._show, loaded)

    def _show(self, loaded: list[Template]) -> None:
        self.templates = loaded
        lang = self.papp.language
        rows: list[tuple[int, Sequence[str]]] = [
            (
                tp.id,
                (
                    tp.name,
                    t(f"access.level.{tp.access_level}", lang),
                    t(f"role.{tp.role}", lang) if tp.role else self._t("templates.no_role"),
                ),
            )
            for tp in loaded
        ]
        self.table.set_source(ListSource(rows))

    def _current(self) -> Template | None:
        key = self.table.cursor_key
        return next((tp for tp in self.templates if tp.id == key), None)

    # ---- the three changes: ask, then send or queue --------------------------------------

    def _ask(self, start: Template | None) -> None:
        """Name → level → role, then the change (new when ``start`` is None)."""
        lang = self.papp.language

        def named(name: Any) -> None:
            if name is None or not str(name).strip():
                return
            levels = [(t(f"access.level.{lv}", lang), lv) for lv in LEVELS]
            self.app.push_screen(
                PickModal(
                    self._t("access.pick_level_only"),
                    levels,
                    language=lang,
                    current=start.access_level if start else None,
                ),
                lambda level: leveled(str(name), level),
            )

        def leveled(name: str, level: Any) -> None:
            if level is None:
                return
            roles = [
                (self._t("templates.no_role"), NO_ROLE),
                (t("role.ansvarlig", lang), "ansvarlig"),
                (t("role.medarbeider", lang), "medarbeider"),
            ]
            self.app.push_screen(
                PickModal(
                    self._t("access.pick_role"),
                    roles,
                    language=lang,
                    current=(start.role or NO_ROLE) if start else None,
                ),
                lambda role: roled(name, str(level), role),
            )

        def roled(name: str, level: str, role: Any) -> None:
            if role is None:
                return
            chosen = None if role == NO_ROLE else str(role)
            try:
                change = (
                    templates.create(name, level, chosen)
                    if start is None
                    else templates.update(start, name, level, chosen)
                )
            except ValidationError:
                self.notify(self._t("templates.bad_name"), severity="error", markup=False)
                return
            self._send(change)

        self.app.push_screen(
            PickModal(
                self._t("templates.name_prompt"),
                text_input=True,
                language=lang,
                value=start.name if start else "",
            ),
            named,
        )

    def action_new(self) -> None:
        self._ask(None)

    def action_edit(self) -> None:
        current = self._current()
        if current is not None:
            self._ask(current)

    def action_delete(self) -> None:
        current = self._current()
        if current is None:
            return

        def answered(yes: bool | None) -> None:
            if yes and current is not None:
                self._send(templates.delete(current))

        self.app.push_screen(
            ConfirmModal(
                self._t("templates.delete_confirm", name=current.name), self.papp.language
            ),
            answered,
        )

    @work(thread=True, exclusive=True, group="templates-send", exit_on_error=False)
    def _send(self, change: TemplateChange) -> None:
        from partner_tui.core import outbox
        from partner_tui.core.api_client import ApiError, ApiUnreachable

        api = self.papp._api()
        if api is not None:
            try:
                change.send(api)
            except ApiUnreachable:
                pass  # queue it below
            except ApiError as exc:
                reason = problem_text(
                    exc.problem.type, exc.problem.detail or exc.problem.title, self.papp.language
                )
                self.app.call_from_thread(
                    self.notify,
                    self._t("bulk.refused", detail=clean(reason)),
                    severity="error",
                    markup=False,
                    timeout=10,
                )
                return
            else:
                self.app.call_from_thread(self._sent, change)
                return
        outbox.enqueue(self.papp.cache, change.method, change.path, change.body, change.summary)
        self.app.call_from_thread(self._queued, change)

    def _sent(self, change: TemplateChange) -> None:
        self.notify(self._t("templates.saved", summary=change.summary), markup=False)
        self.papp.run_sync()  # the cache (and this list) follow through the change feed

    def _queued(self, change: TemplateChange) -> None:
        self.notify(
            self._t("bulk.queued", summary=change.summary),
            severity="warning",
            markup=False,
            timeout=8,
        )
        self.papp.load_cache()

    def data_changed(self) -> None:
        self.reload()

    def action_back(self) -> None:
        self.dismiss(None)
