"""A virtual table: a Line-API ScrollView that draws only the rows on screen.

The rows live in a *source* (``visible_count``, ``row_key(i)``, ``cells(i)``); the widget asks
for the ~40 rows it shows and nothing else, so 10,000 rows cost what 40 do. Every cell is
untrusted text: it goes through :func:`partner_tui.core.safe_text.clean` and is drawn as a plain
segment (never parsed as markup).

Selection is a set of row keys held by the widget; it survives filtering, so the status line
can say "12 valgt (3 skjult av filter)".

A filter keystroke must cost about what echoing it costs (DESIGN.md §8), so:

- a drawn line is cached as a :class:`Strip` keyed by what it shows (its cells, selected,
  cursor) for one *render context* (width, columns and their widths, the styles); any change
  of context empties the cache, and a change of data changes the key;
- the render context is read when Textual says the styles may have changed (a stylesheet
  applied: theme, focus, CSS; or any repaint the table did not ask for itself, such as an
  inline style set in code), not on every frame: reading six styles walks the DOM;
- :meth:`source_changed` repaints only the lines whose key differs from what each line was last
  drawn with (``_shown``), so rows that stay where they were are not sent again; the keys it
  worked out are the ones the next frame draws (``_planned``);
- the row count changes the virtual size without a layout: a ScrollView keeps its own virtual
  size, and only its scroll range and scrollbar depend on it;
- the scrollbar is drawn into the table's own lines (:mod:`partner_tui.widgets.table_bar`), so
  a repainted line reaches the terminal as one piece; its cells are part of the line's key.
  Textual's scrollbar widget is off (``overflow-y: hidden``; one that appeared or went when a
  filter crossed a screenful would also lay the whole screen out);
- the drawn lines go to the compositor as they are (:meth:`render_lines`).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence, Set
from dataclasses import dataclass
from typing import ClassVar, Literal, NamedTuple, Protocol, Self

from rich.cells import cell_len, set_cell_size
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
from textual.strip import Strip

from partner_tui.core.safe_text import clean
from partner_tui.widgets.keys import install_bindings
from partner_tui.widgets.repaint import hand_to_screen
from partner_tui.widgets.still import plain_box
from partner_tui.widgets.table_bar import (
    BarLines,
    BarState,
    bar_lines,
    bar_segment_styles,
    bar_style,
    thumb_at,
)


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


class _Context(NamedTuple):
    """Everything a drawn line depends on besides its own key (see ``_line_key``) and its
    cells of the scrollbar."""

    width: int  # of the rows, without the scrollbar
    widths: tuple[int, ...]
    columns: tuple[Column, ...]
    selectable: bool
    base: Style
    header: Style
    selected: Style
    cursor: Style
    empty: Style
    background: Color
    bar_width: int
    bar_styles: tuple[Style, Style, Style]  # normal, hovered, grabbed (``BAR_STATES``)
    bar_thumb: bool  # False: Textual draws a plain track (transparent scrollbar colour)


BAR_STATES: tuple[BarState, ...] = ("normal", "hover", "grabbed")


def _fit(widths: list[int], flexible: list[bool], room: int) -> None:
    """Narrow ``widths`` in place until they fit ``room`` cells: a terminal narrower than the
    columns' minimums gets every column, cut (…), rather than a table running off the screen
    with its scrollbar. The widest flexible column gives a cell first, then fixed ones; none
    goes below one cell."""
    excess = sum(widths) - max(0, room)
    for pool in ([i for i, f in enumerate(flexible) if f], range(len(widths))):
        while excess > 0:
            widest = max(pool, key=widths.__getitem__, default=None)
            if widest is None or widths[widest] <= 1:
                break
            widths[widest] -= 1
            excess -= 1


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
        overflow-y: hidden;  /* the table draws its own scrollbar (table_bar.py) */
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
        self._styles_read: _Context | None = None  # the styles, until they may have changed
        # (top row, key of each screen line) worked out by ``_refresh_changed_lines`` for the
        # next frame; dropped on any other repaint (cursor, selection, sort, new data)
        self._planned: tuple[int, list[Hashable]] | None = None
        self._own_repaint = False  # inside ``_repaint``: a repaint that keeps the styles
        self._strips: LRUCache[Hashable, Strip] = LRUCache(1024)
        self._strips_context: _Context | None = None
        self._shown: dict[int, Hashable] = {}  # screen line → the key it was last drawn with
        self._filter_plan: tuple[Hashable, tuple[LineFilter, ...]] | None = None
        self._posted_selection: tuple[int, int] | None = None
        self._bar: tuple[Hashable, BarLines] | None = None  # the scrollbar as last worked out
        self._bar_context: _Context | None = None  # … for these styles
        self._bar_state: BarState = "normal"
        self._bar_grab: tuple[int, float] | None = None  # (screen y, scroll_y) when grabbed

    # ---- repaints -----------------------------------------------------------------------

    def refresh(
        self,
        *regions: Region,
        repaint: bool = True,
        layout: bool = False,
        recompose: bool = False,
    ) -> Self:
        """Textual's refresh; a repaint the table did not ask for itself (``_repaint``) may
        come with new styles (an inline style set in code refreshes), so they are read
        again. Any repaint drops the planned line keys."""
        self._planned = None
        if not self._own_repaint:
            self._styles_forgotten()
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    def _repaint(self, *regions: Region) -> None:
        """Repaint lines whose content changed, keeping the styles read."""
        self._own_repaint = True
        try:
            self.refresh(*regions)
        finally:
            self._own_repaint = False

    def notify_style_update(self) -> None:
        """A stylesheet was applied to the table (theme, focus, CSS): read the styles again."""
        self._styles_forgotten()
        super().notify_style_update()

    def _styles_forgotten(self) -> None:
        self._styles_read = None

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        """Scrolled: every line shows another row and the thumb moved (by eighths of a cell,
        so fractional scrolls count too); the styles are still the ones read."""
        if old_value != new_value:
            self._repaint(self.size.region)

    def watch_cursor(self) -> None:
        self._planned = None  # the cursor line's key changes

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
        hand_to_screen(self)  # called from another widget's handler: be in its frame
        self._post_selection()

    def _set_virtual_height(self, height: int) -> None:
        """Set the scrollable height (rows + header) the way a keystroke can afford.

        Not ``self.virtual_size = size``, which lays out the whole screen: a ScrollView keeps
        its own virtual size (a layout passes the old one in and it is ignored), and only the
        scroll range and the scrollbar depend on it. The scrollbar's cells are part of each
        line's key, so the lines whose bar changed are repainted with the rows."""
        size = Size(self.scrollable_content_region.width, height)
        if size == self.virtual_size:
            return
        self.set_reactive(VirtualTable.virtual_size, size)
        self.scroll_y = self.validate_scroll_y(self.scroll_y)

    def _refresh_changed_lines(self) -> None:
        """Repaint the lines whose key (or scrollbar cells) differ from what they were drawn
        with. A repainted line is the whole width: one that stopped short of the table's
        edge would have the compositor cut a zero-width piece for each line (a new Strip)."""
        width, height = self.size
        if not width or not height:
            return
        shown = self._shown
        context = self._render_context()
        structure = context[:4]
        top = int(self.scroll_offset.y)
        keys = self._line_keys(top, height)
        bar = self._bar_lines(context).segments
        dirty: list[Region] = []
        for y, key in enumerate(keys):
            if shown.get(y) != (structure, key, bar[y]):
                if dirty and dirty[-1].bottom == y:
                    last = dirty.pop()
                    dirty.append(Region(0, last.y, width, last.height + 1))
                else:
                    dirty.append(Region(0, y, width, 1))
        if dirty:
            self._repaint(*dirty)
        self._planned = (top, keys)

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
        _fit(widths, [bool(c.flex) for c in self.columns], width - mark - gaps)
        self._widths = (width, widths)
        return widths

    @property
    def _bar_width(self) -> int:
        return min(self.styles.scrollbar_size_vertical, self.size.width)

    @property
    def _rows_width(self) -> int:
        """The width of the rows: the table less its scrollbar."""
        return max(0, self.scrollable_content_region.width - self._bar_width)

    def on_resize(self, event: events.Resize) -> None:
        self._styles_forgotten()
        self._set_virtual_height(self.row_count + 1)
        self._scroll_cursor_into_view()

    # ---- rendering ----------------------------------------------------------------------

    def _line(
        self, values: Sequence[str | Text], widths: Sequence[int], mark: str
    ) -> tuple[str, int]:
        """One line of the table as plain text: each cell cleaned, cut (…) or padded to its
        column's width, one space after each column; and its width in cells, which that
        makes known without measuring the line again (measuring 116 cells of Norwegian text
        costs twice what building the line does)."""
        parts = [mark] if self.selectable else []
        cells = cell_len(mark) if self.selectable else 0
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
            cells += max(0, width) + 1
        return "".join(parts), cells

    def _header_values(self, widths: Sequence[int]) -> list[str]:
        """The column labels, the sorted one with its arrow; a label too long for its column
        with the arrow is cut before the arrow, so the arrow always shows."""
        values = []
        for col, width in zip(self.columns, widths, strict=False):
            label = col.label
            if col.key == self.sort_column:
                arrow = " ▼" if self.sort_descending else " ▲"
                if cell_len(label) + len(arrow) > width >= len(arrow) + 2:
                    label = set_cell_size(label, width - len(arrow) - 1) + "…"
                label += arrow
            values.append(label)
        return values

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

    def _line_keys(self, top: int, height: int) -> list[Hashable]:
        """``_line_key`` of screen lines 0 … height-1 at once (a keystroke asks for all)."""
        source, cursor, selected = self.source, self.cursor, self.selected
        cells, row_key = source.cells, source.row_key
        keys: list[Hashable] = [self._line_key(0, top)]
        for index in range(top, min(source.visible_count, top + height - 1)):
            values = cells(index)
            keys.append(
                (
                    values if isinstance(values, tuple) else tuple(values),
                    bool(selected) and row_key(index) in selected,
                    index == cursor,
                )
            )
        keys.extend(self._line_key(y, top) for y in range(len(keys), height))
        return keys

    def render_lines(self, crop: Region) -> list[Strip]:
        """The lines in ``crop``, straight from the line cache when the box is plain.

        Textual's own path (``StylesCache``) wraps every repainted line in a new Strip, so
        the strips after it (the terminal filter, the compositor's cuts, the escape codes)
        are computed afresh each time. A table with no border, padding, outline, tint or
        opacity needs none of that wrapping: handing out the cached Strip itself keeps those
        later results cached on it, and a row shown again (typing, then deleting) costs
        nothing. Any other box takes Textual's path; a test checks both draw the same cells."""
        if not plain_box(self):
            return super().render_lines(crop)
        context = self._render_context()
        background = context.background
        filters = self._filters_that_change(context)
        top = int(self.scroll_offset.y)
        bars = self._bar_lines(context).segments
        line_strip = self._line_strip
        lines = []
        for y in crop.line_range:
            strip = line_strip(y, top, context, bars)
            for line_filter in filters:
                strip = strip.apply_filter(line_filter, background)
            lines.append(strip)
        self._planned = None
        if crop.column_span != (0, self.region.width):
            x1, x2 = crop.column_span
            lines = [strip.crop(x1, x2) for strip in lines]
        return lines

    def _filters_that_change(self, context: _Context) -> tuple[LineFilter, ...]:
        """The terminal filters that change any of the table's styles. Textual's filters
        map each segment's style (ANSI colours to the theme's, dim to a blend, no colour);
        the table's styles come from the theme, so the usual filter changes none of them
        and a new line need not be copied through it."""
        background = context.background
        filters = tuple(self.get_line_filters())
        key = (filters, context)
        if self._filter_plan is None or self._filter_plan[0] != key:
            styles = {context.base, context.header, context.empty}
            for extra in (context.selected, context.cursor, context.selected + context.cursor):
                styles.add(context.base + extra)
            for colours in context.bar_styles:
                styles.update(context.base + bar for bar in bar_segment_styles(colours))
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
        context = self._styles_read
        if context is None:
            width = self._rows_width
            base = self.rich_style
            style = self.get_component_rich_style
            background = self.background_colors[1]
            context = self._styles_read = _Context(
                width,
                tuple(self._column_widths(width)),
                tuple(self.columns),
                self.selectable,
                base,
                base + style("virtual-table--header"),
                style("virtual-table--selected"),
                style("virtual-table--cursor"),
                base + style("virtual-table--empty"),
                background,
                self._bar_width,
                (
                    bar_style(self.styles, background, "normal"),
                    bar_style(self.styles, background, "hover"),
                    bar_style(self.styles, background, "grabbed"),
                ),
                self.screen.styles.scrollbar_color.a != 0,
            )
            if context != self._strips_context:
                self._strips.clear()
                self._strips_context = context
        return context

    def render_line(self, y: int) -> Strip:
        context = self._render_context()
        bars = self._bar_lines(context).segments
        return self._line_strip(y, int(self.scroll_offset.y), context, bars)

    def _line_strip(self, y: int, top: int, context: _Context, bars: list[Segment]) -> Strip:
        planned = self._planned
        if planned is not None and planned[0] == top and y < len(planned[1]):
            key = planned[1][y]
        else:
            key = self._line_key(y, top)
        bar = bars[y] if y < len(bars) else None
        self._shown[y] = (context[:4], key, bar)
        try:
            strip = self._strips.get((key, bar))
        except TypeError:  # cells that are not hashable (rich Text): draw, don't cache
            return self._draw(key, bar, context)
        if strip is None:
            strip = self._strips[key, bar] = self._draw(key, bar, context)
        return strip

    def _bar_lines(self, context: _Context) -> BarLines:
        """The scrollbar's cells, one segment per line, in the table's base style."""
        height = self.size.height
        virtual, position = self.virtual_size.height, self.scroll_y
        key = (height, thumb_at(height, virtual, height, position), self._bar_state)
        if self._bar is None or self._bar[0] != key or self._bar_context is not context:
            self._bar_context = context
            drawn = bar_lines(
                height,
                virtual,
                height,
                position,
                context.bar_width,
                context.bar_styles[BAR_STATES.index(self._bar_state)],
                thumb=context.bar_thumb,
            )
            base = context.base
            segments = [Segment(seg.text, base + seg.style) for seg in drawn.segments]
            self._bar = (key, BarLines(segments, drawn.zones))
        return self._bar[1]

    def _draw(self, key: Hashable, bar: Segment | None, context: _Context) -> Strip:
        widths = context.widths
        assert isinstance(key, tuple)
        if key[0] == "header":
            line = self._line(self._header_values(widths), widths, MARK_NONE)
            return self._strip(line, bar, context, context.header)
        if key[0] == "empty":
            text = "  " + clean(self.empty_text)
            return self._strip((text, cell_len(text)), bar, context, context.empty)
        if key[0] == "blank":
            return self._strip(("", 0), bar, context, context.base)
        cells, is_selected, is_cursor = key
        style = context.base
        if is_selected:
            style += context.selected
        if is_cursor:
            style += context.cursor
        mark = MARK_SELECTED if is_selected else MARK_NONE
        return self._strip(self._line(cells, widths, mark), bar, context, style)

    @staticmethod
    def _strip(
        line: tuple[str, int], bar: Segment | None, context: _Context, style: Style
    ) -> Strip:
        """The row (text, its width in cells) as one segment, fitted to the rows' width
        (every cell has the line's style; text is never markup), then the scrollbar's cells."""
        width = context.width
        text, cells = line
        if cells < width:
            text += " " * (width - cells)
        elif cells > width:
            text = set_cell_size(text, width)
        row = Segment(text, style)
        if bar is None:
            return Strip([row], width)
        return Strip([row, bar], width + context.bar_width)

    # ---- cursor and scrolling -----------------------------------------------------------

    def _repaint_line(self, y: int) -> None:
        """``refresh_line`` (a line of the virtual area), keeping the styles read."""
        width = max(self.virtual_size.width, self.size.width)
        self._repaint(Region(0, y - int(self.scroll_offset.y), width, 1))

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
            self._repaint_line(old + 1)
            self._repaint_line(new + 1)
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
        self._repaint_line(self.cursor + 1)
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
        if offset is None or offset.x >= self._rows_width:  # the scrollbar: on_mouse_down
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

    # ---- the scrollbar's mouse (what Textual's ScrollBar widget does) ----------------------

    @property
    def allow_vertical_scroll(self) -> bool:
        """Textual allows scrolling only with its own scrollbar shown; this table draws its
        own (``overflow-y: hidden``), so: whenever there is more than a screenful."""
        return not self._check_disabled() and self.max_scroll_y > 0

    def _bar_zone(self, event: events.MouseEvent) -> str | None:
        offset = event.get_content_offset(self)
        if offset is None or offset.x < self._rows_width:
            return None
        zones = self._bar_lines(self._render_context()).zones
        return zones[offset.y] if 0 <= offset.y < len(zones) else None

    def _set_bar_state(self, state: BarState) -> None:
        if state != self._bar_state:
            self._bar_state = state
            self._repaint(Region(self._rows_width, 0, self._bar_width, self.size.height))

    def on_mouse_down(self, event: events.MouseDown) -> None:
        zone = self._bar_zone(event)
        if zone is None:
            return
        event.stop()
        if zone == "up":
            self.scroll_page_up(animate=False)
        elif zone == "down":
            self.scroll_page_down(animate=False)
        else:
            self._bar_grab = (event.screen_y, self.scroll_y)
            self.capture_mouse()
            self._set_bar_state("grabbed")

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if self._bar_grab is not None:
            start_y, start_scroll = self._bar_grab
            height = self.size.height
            if height:
                ratio = self.virtual_size.height / height
                self.scroll_to(y=start_scroll + (event.screen_y - start_y) * ratio, animate=False)
            return
        offset = event.get_content_offset(self)
        over = offset is not None and offset.x >= self._rows_width
        self._set_bar_state("hover" if over else "normal")

    def on_mouse_up(self, event: events.MouseUp) -> None:
        if self._bar_grab is not None:
            self._bar_grab = None
            self.release_mouse()
            offset = event.get_content_offset(self)
            over = offset is not None and offset.x >= self._rows_width
            self._set_bar_state("hover" if over else "normal")
            event.stop()

    def on_leave(self, event: events.Leave) -> None:
        if self._bar_grab is None:
            self._set_bar_state("normal")
