"""The top line: the app's name and the screens with their keys, the current one marked;
at the right end the keys for help and the command palette, so they are always visible."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widget import Widget

from partner_tui.widgets.still import StillLines


class TitleBar(StillLines, Widget):
    DEFAULT_CSS = """
    TitleBar {
        height: 1;
        dock: top;
        background: $primary-background;
        color: $text;
    }
    """

    def __init__(
        self,
        title: str,
        tabs: Sequence[tuple[str, str, str]],
        current: str,
        *,
        right: Sequence[tuple[str, str]] = (),
        id: str | None = None,
    ) -> None:
        """``tabs``: (mode, key, label) for each screen; ``right``: (key, label) hints."""
        super().__init__(id=id)
        self.title = title
        self.tabs = list(tabs)
        self.current = current
        self.right = list(right)

    def render(self) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        text.append(f" {self.title} ", style="bold")
        for mode, key, label in self.tabs:
            text.append(" ")
            if mode == self.current:
                text.append(f" {key} {label} ", style="bold reverse")
            else:
                text.append(f" {key} ", style="bold")
                text.append(f"{label} ", style="dim")
        hints = Text(end="")
        for key, label in self.right:
            hints.append(f" {key} ", style="bold")
            hints.append(f"{label} ", style="dim")
        gap = self.size.width - text.cell_len - hints.cell_len
        if self.right and gap > 0:
            text.append(" " * gap)
            text.append_text(hints)
        return text
