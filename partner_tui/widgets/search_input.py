"""A one-line search field that costs a keystroke no more than the echo of its text.

Textual's ``Input`` does two things on every keystroke that a search field does not need:

- it keeps the text's width in ``virtual_size``, a reactive that lays out the whole screen
  when it changes; only the field's own horizontal scroll range depends on it, and that
  reads ``virtual_size`` directly, so here it just repaints;
- it draws its line by handing a rich ``Text`` to the console (wrapping, justifying, span
  bookkeeping), reads its styles again (each a walk up the DOM), and passes the line through
  Textual's box drawing (``StylesCache``): ~0.35 ms a keystroke. A search field shows plain
  text with at most a cursor cell in it, two or three segments: those are built directly,
  in styles read once per style change, and a plain box (no border, padding, tint, ...)
  hands the line out as it is, as ``VirtualTable`` does. Anything else (selection,
  suggestion, password, highlighter, placeholder, text Rich would alter, a box with a
  border) is drawn by Textual. A test checks both ways draw the same segments.
"""

from __future__ import annotations

from typing import NamedTuple

from rich.segment import Segment
from rich.style import Style
from textual.color import Color
from textual.geometry import Region, Size
from textual.reactive import Reactive
from textual.strip import Strip
from textual.widgets import Input

from partner_tui.widgets.ordered_input import OrderedInput
from partner_tui.widgets.still import plain_box

__all__ = ["SearchInput"]


class _Look(NamedTuple):
    """What the field's line is drawn with, read once and kept while typing."""

    plain_box: bool
    style: Style  # the widget's own (``rich_style``)
    cursor: Style
    background: Color


class SearchInput(OrderedInput):
    """An ``Input`` for search text: no screen layout per keystroke, a direct line draw,
    editing keys in typing order (:class:`OrderedInput`)."""

    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)

    # The look, kept until Textual repaints the field for another reason than typing (a
    # style, theme, focus or size change): reading it costs more than drawing the line.
    _look: _Look | None = None
    _typing = False  # inside ``replace``: the repaints it causes keep the look

    def replace(self, text: str, start: int, end: int) -> None:
        if not text.isprintable():  # a pasted tab or line break: a space, as in the words
            text = "".join(char if char.isprintable() else " " for char in text)
        self._typing = True
        try:
            super().replace(text, start, end)
        finally:
            self._typing = False

    def _set_dirty(self, *regions: Region) -> None:
        if not self._typing:
            self._look = None
        super()._set_dirty(*regions)

    def notify_style_update(self) -> None:
        self._look = None
        super().notify_style_update()

    def _read_look(self) -> _Look:
        look = self._look
        if look is None:
            look = self._look = _Look(
                plain_box(self),
                self.rich_style,
                self.get_component_rich_style("input--cursor"),
                self.background_colors[1],
            )
        return look

    def _on_input_changed(self, event: Input.Changed) -> None:
        # The screen follows the value with a watcher; nothing listens for Changed, and its
        # trip up to the screen and the app, handled before the keystroke's frame is drawn,
        # would only delay it.
        event.stop()

    def render_lines(self, crop: Region) -> list[Strip]:
        """The line straight from :meth:`render_line` when the box is plain: Textual's box
        drawing would only cut it to the widget's width and wrap it in a new Strip."""
        look = self._read_look()
        if not look.plain_box or crop.y or crop.height != 1:
            return super().render_lines(crop)
        width = self.size.width
        strip = self.render_line(0).adjust_cell_length(width)
        for line_filter in self.get_line_filters():  # (a theme may switch one on or off)
            strip = strip.apply_filter(line_filter, look.background)
        if crop.column_span != (0, width):
            strip = strip.crop(*crop.column_span)
        return [strip]

    def render_line(self, y: int) -> Strip:
        segments = self._plain_segments() if y == 0 else None
        if segments is None:
            return super().render_line(y)
        # From here on as ``Input.render_line``.
        max_content_width = self.scrollable_content_region.width
        scroll_x = self.scroll_offset.x
        strip = Strip(segments)
        strip = strip.crop(scroll_x, scroll_x + max_content_width + 1)
        strip = strip.extend_cell_length(max_content_width + 1)
        return strip.apply_style(self._read_look().style)

    def _plain_segments(self) -> list[Segment] | None:
        """The segments Rich would render for the value and its cursor, or None when the
        line needs Textual's full drawing."""
        value = self.value
        if (
            not value
            or self.password
            or self.highlighter is not None
            or not value.isprintable()  # Rich strips control codes and expands tabs
            or (self.has_focus and not self.selection.is_empty)
            or (self.has_focus and len(self._suggestion) > len(value))
        ):
            return None
        if not (self.has_focus and self._cursor_visible):
            return [Segment(value)]
        cursor_style = self._read_look().cursor
        cursor = self.cursor_position
        if self.cursor_at_end:
            value += " "
        parts = [
            Segment(value[:cursor]),
            Segment(value[cursor : cursor + 1], cursor_style),
            Segment(value[cursor + 1 :]),
        ]
        return [part for part in parts if part.text]
