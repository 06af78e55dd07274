"""A virtual table: a Line-API ScrollView that draws only the rows on screen.

The rows live in a *source* (``visible_count``, ``row_key(i)``, ``cells(i)``); the widget asks
for the ~40 rows it shows and nothing else, so 10,000 rows cost what 40 do. Every cell is
untrusted text: it goes through :func:`partner_tui.core.safe_text.clean` and is drawn as a plain
segment (never parsed as markup).

Selection is a set of row keys held by the widget; it survives filtering, so the status line
can say "12 valgt (3 skjult av filter)".

A filter keystroke must cost about what echoing it costs (DESIGN.md §8), so:

- a drawn line is cached as a :class:`Strip` keyed by what it shows (its cells, selected,
  cursor) for one *render context* (width, columns and their widths, the styles read once per
  frame); any change of context empties the cache, and a change of data changes the key;
- :meth:`source_changed` repaints only the lines whose key differs from what each line was last
  drawn with (``_shown``), so rows that stay where they were are not sent again;
- the row count changes the virtual size without a layout: a ScrollView keeps its own virtual
  size, and only its scroll range and scrollbar depend on it. The scrollbar is always shown
  (``overflow-y: scroll``): one that appeared or went when a filter crossed a screenful would
  lay the whole screen out (Textual's ``show_vertical_scrollbar`` is a layout reactive);
- the drawn lines go to the compositor as they are (:meth:`render_lines`), and the scrollbar
  keeps its kinds of line (:class:`TableScrollBar`).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence, Set
from dataclasses import dataclass
from math import ceil
from typing import ClassVar, Literal, NamedTuple, Protocol

from rich.cells import cell_len, set_cell_size
from rich.color import Color as RichColor
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.cache import LRUCache
from textual.color import Color
from textual.filter import LineFilter
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.scrollbar import ScrollBar, ScrollBarRender
from textual.strip import Strip

from partner_tui.core.safe_text import clean
from partner_tui.widgets.keys import install_bindings
from partner_tui.widgets.still import plain_box


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


def _thumb(bar: ScrollBar) -> tuple[int, int, int] | None:
    """Where a vertical scrollbar draws its thumb: (bar height, first and last eighth of a
    cell), or None without one. Textual's arithmetic (``ScrollBar._render_bar``,
    ``ScrollBarRender.render_bar``); a test checks that equal thumbs draw equal bars."""
    size = bar.size.height
    virtual = ceil(bar.window_virtual_size)
    window = ceil(bar.window_size if bar.window_size < bar.window_virtual_size else 0)
    if not (window and size and virtual and size != virtual):
        return None
    thumb = max(1, window / (virtual / size))
    position = (size - thumb) * (bar.position / (virtual - window))
    start = int(position * 8)
    return size, start, start + ceil(thumb * 8)


class TableScrollBar(ScrollBar):
    """Textual's vertical scrollbar, each line drawn once and kept.

    A filter keystroke changes the row count, and with it the thumb, on about one keystroke
    in five; Textual draws the whole bar again through its generic path (≈2 ms for 32
    lines). A bar has only a few kinds of line (track above, thumb, track below, the two
    thumb ends), so this takes the bar's segments from Textual's own ``render_bar`` and
    hands out one kept Strip per kind: what Textual's path makes of a segment (the widget's
    style under it, the terminal filters). A test checks this equals Textual's drawing for
    every thumb size and place, hovered and grabbed."""

    def __init__(self, vertical: bool = True, name: str | None = None, *, thickness: int = 1):
        super().__init__(vertical, name, thickness=thickness)
        self._lines: dict[Segment, Strip] = {}
        self._lines_for: tuple[object, ...] = ()

    def render_lines(self, crop: Region) -> list[Strip]:
        bar = self.render()
        width, height = self.size
        if (
            not isinstance(bar, ScrollBarRender)
            or not self.vertical
            or crop.column_span != (0, width)
            or not plain_box(self)
            or not isinstance(bar.style, Style)
        ):
            return super().render_lines(crop)
        base = self.visual_style.rich_style
        filters = tuple(self.get_line_filters())
        _, background = self.background_colors
        context = (width, base, filters, background)
        if context != self._lines_for:
            self._lines.clear()
            self._lines_for = context
        style = bar.style
        segments = bar.render_bar(
            size=height,
            window_size=bar.window_size,
            virtual_size=bar.virtual_size,
            position=bar.position,
            thickness=width,
            vertical=True,
            back_color=style.bgcolor or RichColor.parse("#555555"),
            bar_color=style.color or RichColor.parse("bright_magenta"),
        ).segments
        lines = self._lines
        out = []
        for y in crop.line_range:
            segment = segments[y]
            strip = lines.get(segment)
            if strip is None:
                strip = Strip([Segment(segment.text, base + segment.style)], width)
                for line_filter in filters:
                    strip = strip.apply_filter(line_filter, background)
                lines[segment] = strip
            out.append(strip)
        return out


class _Context(NamedTuple):
    """Everything a drawn line depends on besides its own key (see ``_line_key``)."""

    width: int
    widths: tuple[int, ...]
    columns: tuple[Column, ...]
    selectable: bool
    base: Style
    header: Style
    selected: Style
    cursor: Style
    empty: Style


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
        overflow-y: scroll;
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
        self._frame: _Context | None = None  # read once per frame (``render_lines``)
        self._strips: LRUCache[Hashable, Strip] = LRUCache(1024)
        self._strips_context: _Context | None = None
        self._shown: dict[int, Hashable] = {}  # screen line → the key it was last drawn with
        self._filter_plan: tuple[Hashable, tuple[LineFilter, ...]] | None = None
        self._posted_selection: tuple[int, int] | None = None

    @property
    def vertical_scrollbar(self) -> ScrollBar:
        """Textual's property, creating a :class:`TableScrollBar` instead."""
        if self._vertical_scrollbar is None:
            self._vertical_scrollbar = bar = TableScrollBar(
                vertical=True, name="vertical", thickness=self.scrollbar_size_vertical
            )
            bar.display = False
            self.app._start_widget(self, bar)
        return self._vertical_scrollbar

    # ---- data ---------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return self.source.visible_count

    def set_source(self, source: TableSource) -> None:
        self.source = source
        self.source_changed()
        self.refresh()  # a new source may come with new columns: draw everything again

    def source_changed(self) -> None:
        """The source's rows changed (filter, sort, reload): resize, clamp, repaint the lines
        that now show something else."""
        count = self.row_count
        self._set_virtual_height(count + 1)
        self.cursor = max(0, min(self.cursor, count - 1))
        top = self.scroll_offset.y
        self._scroll_cursor_into_view()
        if self.scroll_offset.y != top:
            self.refresh()
        else:
            self._refresh_changed_lines()
        self._post_selection()

    def _set_virtual_height(self, height: int) -> None:
        """Set the scrollable height (rows + header) the way a keystroke can afford.

        Not ``self.virtual_size = size``, which lays out the whole screen: a ScrollView keeps
        its own virtual size (a layout passes the old one in and it is ignored), and what
        depends on it is updated here, as ``Widget._scroll_update`` does, except that the
        scrollbar is repainted only when it looks different (32 lines of it cost more than the
        rows that changed; with 10,000 rows its thumb rarely moves).
        """
        size = Size(self.scrollable_content_region.width, height)
        if size == self.virtual_size:
            return
        self.set_reactive(VirtualTable.virtual_size, size)
        self._refresh_scrollbars()
        if self.show_vertical_scrollbar and self.styles.scrollbar_size_vertical:
            bar = self.vertical_scrollbar
            before = _thumb(bar)
            bar.set_reactive(ScrollBar.window_virtual_size, height)
            window = self.container_size.height - self.scrollbar_size_horizontal
            bar.set_reactive(ScrollBar.window_size, window)
            if _thumb(bar) != before:
                bar.refresh()
        self.scroll_y = self.validate_scroll_y(self.scroll_y)

    def _refresh_changed_lines(self) -> None:
        """Repaint the lines whose key differs from the one they were drawn with."""
        width, height = self.scrollable_content_region.size
        if not width or not height:
            return
        shown = self._shown
        context = self._structure()
        top = int(self.scroll_offset.y)
        dirty: list[Region] = []
        for y in range(height):
            if shown.get(y) != (context, self._line_key(y, top)):
                if dirty and dirty[-1].bottom == y:
                    last = dirty.pop()
                    dirty.append(Region(0, last.y, width, last.height + 1))
                else:
                    dirty.append(Region(0, y, width, 1))
        if dirty:
            self.refresh(*dirty)

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
        """Tell the screen when the selection, or how much of it is hidden, has changed."""
        counts = (len(self.selected), self.hidden_selected())
        if counts != self._posted_selection:
            self._posted_selection = counts
            self.post_message(self.SelectionChanged(self, *counts))

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
        self._set_virtual_height(self.row_count + 1)
        self._scroll_cursor_into_view()

    # ---- rendering ----------------------------------------------------------------------

    def _line(self, values: Sequence[str | Text], widths: Sequence[int], mark: str) -> str:
        """One line of the table as plain text: each cell cleaned, cut (…) or padded to its
        column's width, one space after each column."""
        parts = [mark] if self.selectable else []
        for col, width, value in zip(self.columns, widths, values, strict=False):
            text = clean(value.plain if isinstance(value, Text) else value)
            size = cell_len(text)
            if size > width:
                parts.append(set_cell_size(text, width - 1) + "…" if width > 0 else "")
            elif col.align == "right":
                parts.append(" " * (width - size) + text)
            else:
                parts.append(text + " " * (width - size))
            parts.append(" ")
        return "".join(parts)

    def _header_values(self) -> list[str]:
        values = []
        for col in self.columns:
            label = col.label
            if col.key == self.sort_column:
                label += " ▼" if self.sort_descending else " ▲"
            values.append(label)
        return values

    def _structure(self) -> tuple[object, ...]:
        """The part of the render context that is not a style (styles changing repaint all)."""
        width = self.scrollable_content_region.width
        return (width, tuple(self._column_widths(width)), tuple(self.columns), self.selectable)

    def _line_key(self, y: int, top: int) -> Hashable:
        """What screen line ``y`` shows when the first row on screen is ``top``."""
        if y == 0:
            return ("header", self.sort_column, self.sort_descending)
        index = top + y - 1
        count = self.row_count
        if index >= count:
            if count == 0 and y == 1 and self.empty_text:
                return ("empty", self.empty_text)
            return ("blank",)
        cells = self.source.cells(index)
        if not isinstance(cells, tuple):
            cells = tuple(cells)
        return (cells, self.source.row_key(index) in self.selected, index == self.cursor)

    def render_lines(self, crop: Region) -> list[Strip]:
        """The lines in ``crop``, straight from the line cache when the box is plain.

        Textual's own path (``StylesCache``) wraps every repainted line in a new Strip, so
        the strips after it (the terminal filter, the compositor's cuts, the escape codes)
        are computed afresh each time. A table with no border, padding, outline, tint or
        opacity needs none of that wrapping: handing out the cached Strip itself keeps those
        later results cached on it, and a row shown again (typing, then deleting) costs
        nothing. The strips end where the scrollbar begins (Textual pads them with the
        background under it), so the compositor's cut there leaves them whole. Any other box
        takes Textual's path; a test checks both draw the same cells."""
        self._frame = None  # read the styles again, once, for this frame
        if not plain_box(self):
            return super().render_lines(crop)
        _, background = self.background_colors
        filters = self._filters_that_change(background)
        render_line = self.render_line
        lines = []
        for y in crop.line_range:
            strip = render_line(y)
            for line_filter in filters:
                strip = strip.apply_filter(line_filter, background)
            lines.append(strip)
        if crop.column_span != (0, self.region.width):
            x1, x2 = crop.column_span
            lines = [strip.crop(x1, x2) for strip in lines]
        return lines

    def _filters_that_change(self, background: Color) -> tuple[LineFilter, ...]:
        """The terminal filters that change any of the table's styles. Textual's filters
        map each segment's style (ANSI colours to the theme's, dim to a blend, no colour);
        the table's styles come from the theme, so the usual filter changes none of them
        and a new line need not be copied through it."""
        context = self._render_context()
        filters = tuple(self.get_line_filters())
        key = (filters, background, context)
        if self._filter_plan is None or self._filter_plan[0] != key:
            styles = {context.base, context.header, context.empty}
            for extra in (context.selected, context.cursor, context.selected + context.cursor):
                styles.add(context.base + extra)
            probe = [Segment("x", style) for style in styles]
            changing = tuple(
                line_filter
                for line_filter in filters
                if [seg.style for seg in line_filter.apply(probe, background)]
                != [seg.style for seg in probe]
            )
            self._filter_plan = (key, changing)
        return self._filter_plan[1]

    def _render_context(self) -> _Context:
        context = self._frame
        if context is None:
            width = self.scrollable_content_region.width
            base = self.rich_style
            style = self.get_component_rich_style
            context = self._frame = _Context(
                width,
                tuple(self._column_widths(width)),
                tuple(self.columns),
                self.selectable,
                base,
                base + style("virtual-table--header"),
                style("virtual-table--selected"),
                style("virtual-table--cursor"),
                base + style("virtual-table--empty"),
            )
            if context != self._strips_context:
                self._strips.clear()
                self._strips_context = context
        return context

    def render_line(self, y: int) -> Strip:
        context = self._render_context()
        key = self._line_key(y, int(self.scroll_offset.y))
        self._shown[y] = (context[:4], key)
        try:
            strip = self._strips.get(key)
        except TypeError:  # cells that are not hashable (rich Text): draw, don't cache
            return self._draw(key, context)
        if strip is None:
            strip = self._strips[key] = self._draw(key, context)
        return strip

    def _draw(self, key: Hashable, context: _Context) -> Strip:
        widths = context.widths
        assert isinstance(key, tuple)
        if key[0] == "header":
            line = self._line(self._header_values(), widths, MARK_NONE)
            return self._strip(line, context, context.header)
        if key[0] == "empty":
            return self._strip("  " + clean(self.empty_text), context, context.empty)
        if key[0] == "blank":
            return self._strip("", context, context.base)
        cells, is_selected, is_cursor = key
        style = context.base
        if is_selected:
            style += context.selected
        if is_cursor:
            style += context.cursor
        mark = MARK_SELECTED if is_selected else MARK_NONE
        return self._strip(self._line(cells, widths, mark), context, style)

    @staticmethod
    def _strip(line: str, context: _Context, style: Style) -> Strip:
        """One segment: every cell of a line has the line's style (text is never markup)."""
        width = context.width
        return Strip([Segment(set_cell_size(line, width), style)], width)

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
        self.refresh(Region(0, 0, self.size.width, 1))  # the header, wherever the rows are
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
        for col, width in zip(
            self.columns, self._column_widths(self.scrollable_content_region.width), strict=True
        ):
            if pos <= x < pos + width + 1:
                return col.key
            pos += width + 1
        return None
