"""A virtual table: a Line-API ScrollView that draws only the rows on screen.

The rows live in a *source* (``visible_count``, ``row_key(i)``, ``cells(i)``); the widget asks
for the ~40 rows it shows and nothing else, so 10,000 rows cost what 40 do. Every cell is
untrusted text and goes through :func:`partner_tui.core.safe_text.plain` (never markup).

Selection is a set of row keys held by the widget; it survives filtering, so the status line
can say "12 valgt (3 skjult av filter)".
"""

from __future__ import annotations

from collections.abc import Sequence, Set
from dataclasses import dataclass
from typing import ClassVar, Literal, Protocol

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from partner_tui.core.safe_text import plain
from partner_tui.widgets.keys import install_bindings


class TableSource(Protocol):
    @property
    def visible_count(self) -> int: ...

    def row_key(self, i: int) -> int: ...

    def cells(self, i: int) -> Sequence[str]: ...

    def visible_keys(self) -> Set[int]: ...


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str
    width: int = 0  # fixed width in cells; 0 = share the leftover width by ``flex``
    flex: int = 0
    align: Literal["left", "right"] = "left"
    min_width: int = 4


class EmptySource:
    visible_count = 0

    def row_key(self, i: int) -> int:
        raise IndexError(i)

    def cells(self, i: int) -> Sequence[str]:
        raise IndexError(i)

    def visible_keys(self) -> Set[int]:
        return frozenset()


MARK_SELECTED = "✓ "
MARK_NONE = "  "


class VirtualTable(ScrollView, can_focus=True, inherit_bindings=False):
    """Rows from a :class:`TableSource`, a header line, a cursor and a selection."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "virtual-table--header",
        "virtual-table--cursor",
        "virtual-table--selected",
        "virtual-table--empty",
    }
    DEFAULT_CSS = """
    VirtualTable {
        height: 1fr;
        background: $surface;
        overflow-x: hidden;
        scrollbar-gutter: stable;
    }
    VirtualTable > .virtual-table--header {
        text-style: bold;
        background: $panel;
        color: $text;
    }
    VirtualTable > .virtual-table--cursor {
        background: $secondary 30%;
    }
    VirtualTable:focus > .virtual-table--cursor {
        background: $accent 45%;
        text-style: bold;
    }
    VirtualTable > .virtual-table--selected {
        color: $success;
    }
    VirtualTable > .virtual-table--empty {
        color: $text-muted;
        text-style: italic;
    }
    """

    cursor: reactive[int] = reactive(0, always_update=True, repaint=False)

    class RowActivated(Message):
        """``enter`` on a row."""

        def __init__(self, table: VirtualTable, index: int, key: int) -> None:
            super().__init__()
            self.table, self.index, self.key = table, index, key

        @property
        def control(self) -> VirtualTable:
            return self.table

    class SelectionChanged(Message):
        def __init__(self, table: VirtualTable, count: int, hidden: int) -> None:
            super().__init__()
            self.table, self.count, self.hidden = table, count, hidden

        @property
        def control(self) -> VirtualTable:
            return self.table

    class SortChanged(Message):
        def __init__(self, table: VirtualTable, column: str, descending: bool) -> None:
            super().__init__()
            self.table, self.column, self.descending = table, column, descending

        @property
        def control(self) -> VirtualTable:
            return self.table

    def __init__(
        self,
        columns: Sequence[Column],
        source: TableSource | None = None,
        *,
        selectable: bool = True,
        sortable: Sequence[str] = (),
        sort_column: str | None = None,
        sort_descending: bool = False,
        empty_text: str = "",
        language: str = "nb",
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        install_bindings(self, "table", language)
        self.columns = list(columns)
        self.source: TableSource = source or EmptySource()
        self.selectable = selectable
        self.sortable = [c for c in sortable if any(col.key == c for col in self.columns)]
        self.sort_column = sort_column
        self.sort_descending = sort_descending
        self.empty_text = empty_text
        self.selected: set[int] = set()
        self._widths: tuple[int, list[int]] = (-1, [])

    # ---- data ---------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return self.source.visible_count

    def set_source(self, source: TableSource) -> None:
        self.source = source
        self.source_changed()

    def source_changed(self, *, keep_key: int | None = None) -> None:
        """The source's rows changed (filter, sort, reload): resize, clamp, repaint."""
        count = self.row_count
        self.virtual_size = Size(self.scrollable_content_region.width, count + 1)
        self.cursor = max(0, min(self.cursor, count - 1))
        self._scroll_cursor_into_view()
        self.refresh()
        self._post_selection()

    @property
    def cursor_key(self) -> int | None:
        if 0 <= self.cursor < self.row_count:
            return self.source.row_key(self.cursor)
        return None

    def hidden_selected(self) -> int:
        if not self.selected:
            return 0
        visible = self.source.visible_keys()
        return sum(1 for key in self.selected if key not in visible)

    def clear_selection(self) -> None:
        self.selected.clear()
        self.refresh()
        self._post_selection()

    def _post_selection(self) -> None:
        self.post_message(self.SelectionChanged(self, len(self.selected), self.hidden_selected()))

    # ---- layout -------------------------------------------------------------------------

    def _column_widths(self, width: int) -> list[int]:
        if self._widths[0] == width:
            return self._widths[1]
        mark = len(MARK_NONE) if self.selectable else 0
        gaps = len(self.columns)  # one space after each column
        fixed = sum(c.width for c in self.columns if not c.flex)
        flex_total = sum(c.flex for c in self.columns if c.flex) or 1
        leftover = max(0, width - mark - gaps - fixed)
        widths: list[int] = []
        flex_cols = [c for c in self.columns if c.flex]
        given = 0
        for col in self.columns:
            if col.flex:
                share = leftover * col.flex // flex_total
                if col is flex_cols[-1]:
                    share = leftover - given
                given += share
                widths.append(max(col.min_width, share))
            else:
                widths.append(col.width)
        self._widths = (width, widths)
        return widths

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(self.scrollable_content_region.width, self.row_count + 1)
        self._scroll_cursor_into_view()

    # ---- rendering ----------------------------------------------------------------------

    def _line_text(self, values: Sequence[str | Text], widths: list[int], mark: str) -> Text:
        line = Text(no_wrap=True, end="")
        if self.selectable:
            line.append(mark)
        for col, width, value in zip(self.columns, widths, values, strict=False):
            cell = value.copy() if isinstance(value, Text) else plain(value)
            if cell.cell_len > width:
                cell.truncate(width, overflow="ellipsis")
            pad = width - cell.cell_len
            if col.align == "right":
                line.append(" " * pad)
                line.append_text(cell)
            else:
                line.append_text(cell)
                line.append(" " * pad)
            line.append(" ")
        return line

    def _header_values(self) -> list[Text]:
        values = []
        for col in self.columns:
            label = col.label
            if col.key == self.sort_column:
                label += " ▼" if self.sort_descending else " ▲"
            values.append(plain(label))
        return values

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        widths = self._column_widths(width)
        console = self.app.console
        if y == 0:
            style = base + self.get_component_rich_style("virtual-table--header")
            text = self._line_text(self._header_values(), widths, MARK_NONE)
            return self._strip(text, width, style, console)
        index = int(self.scroll_offset.y) + y - 1
        count = self.row_count
        if index >= count:
            if count == 0 and y == 1 and self.empty_text:
                style = base + self.get_component_rich_style("virtual-table--empty")
                return self._strip(plain("  " + self.empty_text), width, style, console)
            return Strip.blank(width, base)
        key = self.source.row_key(index)
        is_selected = key in self.selected
        style = base
        if is_selected:
            style += self.get_component_rich_style("virtual-table--selected")
        if index == self.cursor:
            style += self.get_component_rich_style("virtual-table--cursor")
        mark = MARK_SELECTED if is_selected else MARK_NONE
        text = self._line_text(self.source.cells(index), widths, mark)
        return self._strip(text, width, style, console)

    @staticmethod
    def _strip(text: Text, width: int, style: Style, console: object) -> Strip:
        segments: list[Segment] = list(text.render(console, end=""))  # type: ignore[arg-type]
        return Strip(segments).crop_extend(0, width, None).apply_style(style)

    # ---- cursor and scrolling -----------------------------------------------------------

    @property
    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def _scroll_cursor_into_view(self) -> None:
        top = int(self.scroll_offset.y)
        page = self._page
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + page:
            self.scroll_to(y=self.cursor - page + 1, animate=False, immediate=True)

    def move_cursor(self, index: int) -> None:
        count = self.row_count
        if count == 0:
            return
        old = self.cursor
        new = max(0, min(index, count - 1))
        if new == old:
            return
        self.cursor = new
        top = int(self.scroll_offset.y)
        self._scroll_cursor_into_view()
        if int(self.scroll_offset.y) == top:
            self.refresh_line(old + 1)
            self.refresh_line(new + 1)
        else:
            self.refresh()

    def action_cursor_down(self) -> None:
        self.move_cursor(self.cursor + 1)

    def action_cursor_up(self) -> None:
        self.move_cursor(self.cursor - 1)

    def action_page_down(self) -> None:
        self.move_cursor(self.cursor + self._page)

    def action_page_up(self) -> None:
        self.move_cursor(self.cursor - self._page)

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(self.row_count - 1)

    # ---- selection, open, sort ----------------------------------------------------------

    def action_toggle_select(self) -> None:
        key = self.cursor_key
        if not self.selectable or key is None:
            return
        if key in self.selected:
            self.selected.discard(key)
        else:
            self.selected.add(key)
        self.refresh_line(self.cursor + 1)
        self._post_selection()
        self.move_cursor(self.cursor + 1)

    def action_select_all(self) -> None:
        """Select every shown row; when all are already selected, unselect them."""
        if not self.selectable:
            return
        shown = self.source.visible_keys()
        if shown and shown <= self.selected:
            self.selected -= shown
        else:
            self.selected |= shown
        self.refresh()
        self._post_selection()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Selection and sort keys only where they do something (the footer hides the rest)."""
        if action in ("toggle_select", "select_all") and not self.selectable:
            return False
        return not (action in ("cycle_sort", "reverse_sort") and not self.sortable)

    def action_open(self) -> None:
        key = self.cursor_key
        if key is not None:
            self.post_message(self.RowActivated(self, self.cursor, key))

    def set_sort(self, column: str, descending: bool) -> None:
        self.sort_column, self.sort_descending = column, descending
        self.refresh_line(0)
        self.post_message(self.SortChanged(self, column, descending))

    def action_cycle_sort(self) -> None:
        if not self.sortable:
            return
        if self.sort_column in self.sortable:
            nxt = self.sortable[(self.sortable.index(self.sort_column) + 1) % len(self.sortable)]
        else:
            nxt = self.sortable[0]
        self.set_sort(nxt, False)

    def action_reverse_sort(self) -> None:
        if self.sort_column is not None:
            self.set_sort(self.sort_column, not self.sort_descending)

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            column = self._column_at(offset.x)
            if column is not None and column in self.sortable:
                same = column == self.sort_column
                self.set_sort(column, not self.sort_descending if same else False)
            return
        self.move_cursor(int(self.scroll_offset.y) + offset.y - 1)

    def _column_at(self, x: int) -> str | None:
        pos = len(MARK_NONE) if self.selectable else 0
        for col, width in zip(self.columns, self._column_widths(
            self.scrollable_content_region.width
        ), strict=True):
            if pos <= x < pos + width + 1:
                return col.key
            pos += width + 1
        return None
