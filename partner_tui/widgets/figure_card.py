"""A dashboard figure: a label, a right-aligned value and up to two lines of detail
(``detail`` may hold one ``\n``)."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.widget import Widget

from partner_tui.core.safe_text import clean, plain


class FigureCard(Widget):
    DEFAULT_CSS = """
    FigureCard {
        height: 6;
        border: round $primary 60%;
        padding: 0 1;
        background: $surface;
    }
    FigureCard.-alert {
        border: round $error;
    }
    """

    def __init__(self, label: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.label = label
        self.value = "…"
        self.unit = ""
        self.detail = ""

    def set_label(self, label: str) -> None:
        if label != self.label:
            self.label = label
            self.refresh()

    def set(self, value: str, *, unit: str = "", detail: str = "", alert: bool = False) -> None:
        self.value, self.unit, self.detail = value, unit, detail
        self.set_class(alert, "-alert")
        self.refresh()

    def render(self) -> Group:
        label = Text(clean(self.label), style="bold", no_wrap=True, overflow="ellipsis")
        value = Text(justify="right", no_wrap=True, overflow="ellipsis")
        value.append_text(plain(self.value, style="bold"))
        if self.unit:
            value.append(" " + self.unit, style="dim")
        details = [
            Text(clean(line), style="dim", justify="right", no_wrap=True, overflow="ellipsis")
            for line in self.detail.split("\n")
        ]
        return Group(label, value, *details)

    @property
    def text(self) -> str:
        """What the card shows, as one line (for tests and screen readers)."""
        parts = [self.label, self.value + (" " + self.unit if self.unit else ""), self.detail]
        return " | ".join(p for p in parts if p)
