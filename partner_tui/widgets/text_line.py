"""One line of plain text in one style, drawn as a single strip.

For a line that changes on every keystroke (the Clients screen's "12 av 10 000 klienter"):
a ``Static`` turns its text into Textual content and lays it out on every update (≈0.3 ms);
this draws one segment. The text is untrusted-safe: cleaned, never parsed as markup.
"""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.color import Color
from textual.filter import LineFilter
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget

from partner_tui.core.safe_text import clean
from partner_tui.widgets.repaint import hand_to_screen
from partner_tui.widgets.still import plain_box


class TextLine(Widget):
    """``width: auto`` takes the text's width; :meth:`update` lays out only when it changes."""

    DEFAULT_CSS = """
    TextLine {
        height: 1;
        width: auto;
    }
    """

    def __init__(
        self, text: str = "", *, style: str = "", id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(id=id, classes=classes)
        self._text = clean(text)
        self._style = Style.parse(style) if style else Style.null()
        # The look (style, background, filters) read once and kept until Textual repaints
        # for another reason than new text (a style, theme or size change): reading it costs
        # more than drawing the line.
        self._look: tuple[Style, Color, tuple[LineFilter, ...]] | None = None
        self._new_text = False
        self._drawn: tuple[tuple[str, int], Strip] | None = None

    @property
    def text(self) -> str:
        return self._text

    def update(self, text: str) -> None:
        text = clean(text)
        if text == self._text:
            return
        resized = cell_len(text) != cell_len(self._text)
        self._text = text
        self._new_text = True
        try:
            self.refresh(layout=resized)
        finally:
            self._new_text = False
        hand_to_screen(self)  # updated from another widget's handler: be in its frame

    def _set_dirty(self, *regions: Region) -> None:
        if not self._new_text:
            self._look = None
        super()._set_dirty(*regions)

    def render_lines(self, crop: Region) -> list[Strip]:
        """The line straight from here when the box is plain (as :class:`VirtualTable`
        does; a test checks it equals Textual's drawing)."""
        if not plain_box(self) or crop.height != 1 or crop.y:
            return super().render_lines(crop)
        width = self.size.width
        key = (self._text, width)
        drawn = self._drawn
        if drawn is None or drawn[0] != key or self._look is None:
            look = self._look
            if look is None:
                look = self._look = (
                    self.rich_style + self._style,
                    self.background_colors[1],
                    tuple(self.get_line_filters()),
                )
            style, background, filters = look
            strip = Strip([Segment(set_cell_size(self._text, width), style)], width)
            for line_filter in filters:
                strip = strip.apply_filter(line_filter, background)
            drawn = self._drawn = (key, strip)
        strip = drawn[1]
        if crop.column_span != (0, width):
            strip = strip.crop(*crop.column_span)
        return [strip]

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return cell_len(self._text)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return 1

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        style = self.rich_style
        if y:
            return Strip.blank(width, style)
        return Strip([Segment(set_cell_size(self._text, width), style + self._style)], width)
