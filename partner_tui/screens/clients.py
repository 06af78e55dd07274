"""The partner list: every client, its groups, Altinn tag and who has access with what role."""

from __future__ import annotations

from collections.abc import Set
from contextlib import closing

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.widgets import Input, Static

from partner_tui.core.formatting import format_int
from partner_tui.core.i18n import t
from partner_tui.core.queries import (
    SORT_COLUMNS,
    ClientFilter,
    ClientListModel,
    SortSpec,
    client_detail,
)
from partner_tui.core.safe_text import plain
from partner_tui.screens.base import PartnerScreen, SearchKeys
from partner_tui.screens.client_detail import ClientDetailModal
from partner_tui.screens.filter_modal import FilterChoice, FilterModal
from partner_tui.widgets.search_input import SearchInput
from partner_tui.widgets.still import StillHorizontal, StillStatic
from partner_tui.widgets.text_line import TextLine
from partner_tui.widgets.virtual_table import Column, VirtualTable


class ClientTableSource:
    """Adapts the partner-list model to the virtual table's rows and cells."""

    def __init__(self, model: ClientListModel, language: str) -> None:
        self.model = model
        self.altinn_tag = t("altinn.tag", language)
        self.archived = t("status.archived", language)

    @property
    def visible_count(self) -> int:
        return self.model.visible_count

    def row_key(self, i: int) -> int:
        return self.model.row_id(i)

    def cells(self, i: int) -> tuple[str, ...]:
        # Straight from the snapshot's lists: the table asks for every line on screen after
        # each keystroke, to repaint only those that changed.
        s, j = self.model.snapshot, self.model.snapshot_row(i)
        name = s.name[j] if s.status[j] == "active" else f"{s.name[j]} ({self.archived})"
        return (s.orgnr[j], name, s.groups[j], self.altinn_tag if s.altinn[j] else "", s.users[j])

    def visible_keys(self) -> Set[int]:
        return self.model.visible_ids()


def client_columns(language: str) -> list[Column]:
    def label(key: str) -> str:
        return t(f"col.{key}", language)

    return [
        Column("orgnr", label("orgnr"), width=9),
        Column("name", label("name"), flex=3, min_width=16),
        Column("groups", label("groups"), flex=2, min_width=10),
        Column("altinn", label("altinn"), width=7),
        Column("users", label("users"), flex=4, min_width=16),
    ]


class ClientsScreen(SearchKeys, PartnerScreen):
    MODE = "clients"
    # The table has the keys when the screen opens (not the search field, which comes first
    # and Textual would pick): "2/ber" in one burst then searches for "ber".
    AUTO_FOCUS = "#client-table"
    BINDING_SCOPE = "clients"
    SEARCH_FIELD, SEARCH_RESULTS = "#clients-search", "#client-table"

    def __init__(self) -> None:
        super().__init__()
        self.model = self.papp.client_model
        self.source = ClientTableSource(self.model, self.papp.language)
        self.pickers = FilterChoice()
        self._frame_shown: tuple[object, ...] | None = None
        self._count_shown: tuple[object, ...] | None = None

    def compose(self) -> ComposeResult:
        lang = self.papp.language
        table = VirtualTable(
            client_columns(lang),
            self.source,
            sortable=SORT_COLUMNS,
            sort_column=self.model.sort.column,
            sort_descending=self.model.sort.descending,
            empty_text=t("clients.empty", lang),
            language=lang,
            id="client-table",
        )
        search = SearchInput(
            placeholder=t("clients.search_placeholder", lang), id="clients-search", compact=True
        )
        search.cursor_blink = False  # a blinking cursor would send bytes while idle
        count = TextLine(id="clients-count", style="bold")
        # Kept at hand: a keystroke uses all three (a DOM query each costs more than a row).
        self._table, self._search, self._count = table, search, count
        # Straight on the screen, no container around them: every widget under the area a
        # keystroke repaints is visited on each frame (DESIGN.md §8).
        yield from self.compose_frame(
            [
                StillHorizontal(
                    count,
                    StillStatic(id="clients-filters"),
                    id="clients-titlebar",
                ),
                search,
                Static(id="clients-empty"),
                table,
            ]
        )

    @property
    def table(self) -> VirtualTable:
        return self._table

    def on_mount(self) -> None:
        # The search field filters from a watcher, not from Input.Changed: the watcher runs
        # inside the key's handling, so the field and the filtered table go out in one frame.
        # (Input.Changed is handled only after it has bubbled up to the screen, when the
        # field alone has often been drawn already; the table then waits for the next frame,
        # up to 1/60 s later.)
        search = self.query_one("#clients-search", Input)
        self.watch(search, "value", self._search_value_changed, init=False)
        self.table.focus()
        self._update_titles()
        self._prepare_search()

    # ---- data ---------------------------------------------------------------------------

    def data_changed(self) -> None:
        # The app swapped a fresh snapshot into the shared model (filter re-applied there).
        table = self.table
        if table.selected:  # forget clients that no longer exist
            table.selected &= set(self.model.all_ids())
        table.source_changed()
        self._update_titles()
        self._prepare_search()

    @work(thread=True, exclusive=True, group="search-index", exit_on_error=False)
    def _prepare_search(self) -> None:
        """Build the text-search index of a new snapshot before the first keystroke needs it
        (≈150 ms at 10,000 clients; a keystroke before it is ready builds it itself)."""
        self.model.prepare_search()

    def _current_filter(self) -> ClientFilter:
        text = self._search.value
        p = self.pickers
        return ClientFilter(
            text=text, user_id=p.user_id, role=p.role, group_id=p.group_id, altinn=p.altinn
        )

    def _refilter(self, *, to_first: bool = False) -> None:
        """Apply the search and pickers. The cursor goes to the first row (``to_first``: the
        search text changed, so the best match is on top) or stays on its client while that
        client is still shown."""
        table = self.table
        key = None if to_first else table.cursor_key
        self.model.apply(self._current_filter())
        if to_first:
            table.cursor = 0
        table.source_changed()
        if key is not None and (pos := self.model.index_of(key)) is not None:
            table.move_cursor(pos)
        self._update_titles()

    def _update_titles(self) -> None:
        # Called on every filter keystroke, which changes the count only: the rest is
        # looked at when what it shows has changed.
        papp = self.papp
        frame = (papp.loaded, self.pickers, papp.data_version, papp.empty_message())
        if frame != self._frame_shown:
            self._frame_shown = frame
            self._count_shown = None
            self._update_frame(frame[3])
        count = (papp.loaded, self.model.visible_count, self.model.total)
        if count != self._count_shown:
            self._count_shown = count
            self._update_count()

    def _update_count(self) -> None:
        lang = self.papp.language
        if not self.papp.loaded:  # the app builds the client list after the dashboard
            self._count.update(self.t("clients.loading"))
            return
        total = format_int(self.model.total, lang)
        count = self.t("clients.count", n=format_int(self.model.visible_count, lang), m=total)
        # The count (width ``auto``) lays the screen out only when its width changes, so it
        # is padded to its widest ("10 000 av 10 000"): typing never lays out, and the
        # picker summary beside it stays put.
        count = count.ljust(len(self.t("clients.count", n=total, m=total)))
        self._count.update(count)

    def _update_frame(self, message: str) -> None:
        """The picker summary, the empty-table text and the what-to-do message."""
        empty_text = self.t("clients.empty" if self.papp.loaded else "clients.loading")
        if self.table.empty_text != empty_text:
            self.table.empty_text = empty_text
            self.table.refresh()
        self._set_static("#clients-filters", plain(self._picker_summary()))
        empty = self.query_one("#clients-empty", Static)
        if empty.display != bool(message):
            empty.display = bool(message)
        if message:
            self._set_static("#clients-empty", plain(message), one_line=False)

    def _set_static(self, selector: str, text: Text, *, one_line: bool = True) -> None:
        static = self.query_one(selector, Static)
        old = static.content
        if isinstance(old, Text) and old == text and old.style == text.style:
            return
        same_size = one_line and isinstance(old, Text) and old.cell_len == text.cell_len
        static.update(text, layout=not same_size)

    def _picker_summary(self) -> str:
        p, parts = self.pickers, []
        if p.group_id is not None:
            names = {g.id: g.name for g in self.papp.groups}
            parts.append(f"{self.t('filter.group')}: {names.get(p.group_id, '?')}")
        if p.user_id is not None:
            names = {u.id: u.name for u in self.papp.users}
            parts.append(f"{self.t('filter.user')}: {names.get(p.user_id, '?')}")
        if p.role is not None:
            me = f" ({self.t('filter.me')})" if p.user_id is None else ""
            parts.append(f"{self.t('filter.role')}: {self.t('role.' + p.role)}{me}")
        if p.altinn is not None:
            parts.append(self.t("filter.altinn_yes" if p.altinn else "filter.altinn_no"))
        if not parts:
            return f"{self.t('filter.title')}: {self.t('filter.all')} (f)"
        return "  ·  ".join(parts)

    def selection_counts(self) -> tuple[int, int] | None:
        # The status line may ask while the screen is still being built (fast key presses).
        table = next(self.query(VirtualTable).results(VirtualTable), None)
        if table is None:
            return None
        return len(table.selected), table.hidden_selected()

    # ---- events -------------------------------------------------------------------------

    def _search_value_changed(self, value: str) -> None:
        # Typing: the first match on top, under the cursor. Cleared (esc): the cursor stays
        # on the client it was on.
        self._refilter(to_first=bool(value))

    def on_virtual_table_sort_changed(self, event: VirtualTable.SortChanged) -> None:
        key = self.table.cursor_key
        self.model.apply(sort=SortSpec(event.column, event.descending))
        self.table.source_changed()
        if key is not None and (pos := self.model.index_of(key)) is not None:
            self.table.move_cursor(pos)

    def on_virtual_table_selection_changed(self, _event: VirtualTable.SelectionChanged) -> None:
        self.papp.publish_status()

    def on_virtual_table_row_activated(self, event: VirtualTable.RowActivated) -> None:
        self._open_detail(event.key)

    @work(thread=True, exclusive=True, group="detail", exit_on_error=False)
    def _open_detail(self, client_id: int) -> None:
        with closing(self.papp.cache.raw()) as conn:
            detail = client_detail(conn, client_id)
        if detail is not None:
            self.app.call_from_thread(
                self.app.push_screen, ClientDetailModal(detail, self.papp.language)
            )

    # ---- actions ------------------------------------------------------------------------

    def action_clear_filter(self) -> None:
        search = self.query_one("#clients-search", Input)
        if search.value:
            search.value = ""  # refilters (``_search_value_changed``)
        else:  # a second esc clears the pickers too
            self.pickers = FilterChoice()
            self._refilter()
        self.table.focus()

    def action_filter(self) -> None:
        def changed(choice: FilterChoice) -> None:
            self.pickers = choice
            self._refilter()

        self.app.push_screen(
            FilterModal(
                self.pickers,
                self.papp.users,
                self.papp.groups,
                on_change=changed,
                with_altinn=True,
                language=self.papp.language,
            )
        )
