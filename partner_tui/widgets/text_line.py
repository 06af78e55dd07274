"""One line of plain text in one style, drawn as a single strip.

For a line that changes on every keystroke (the Clients screen's "12 av 10 000 klienter"):
a ``Static`` turns its text into Textual content and lays it out on every update (≈0.3 ms);
this draws one segment. The text is untrusted-safe: cleaned, never parsed as markup.
"""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget

from partner_tui.core.safe_text import clean


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

    @property
    def text(self) -> str:
        return self._text

    def update(self, text: str) -> None:
        text = clean(text)
        if text == self._text:
            return
        resized = cell_len(text) != cell_len(self._text)
        self._text = text
        self.refresh(layout=resized)

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
