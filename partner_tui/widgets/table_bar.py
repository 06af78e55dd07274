"""The virtual table's vertical scrollbar, drawn as the last cells of the table's own lines.

Textual's scrollbar is a widget of its own, laid over the right edge of the table. Each line a
filter keystroke repaints then reaches the terminal in two pieces, cut, positioned and
converted apiece, and the bar is asked for its lines on every such frame; at 32 lines that
was ~0.35 ms of a 3 ms keystroke (DESIGN.md §8). Drawn into the table's lines, a repainted
line is one piece, and the bar's cells are one more segment of a cached line.

The look is Textual's: the segments come from its ``ScrollBarRender.render_bar`` and the
colours from the same styles as ``ScrollBar.render`` (hovered and grabbed included); a test
checks the cells equal those of Textual's own scrollbar. Textual's bar carries its mouse
actions in the segments' meta (track above the thumb: page up, thumb: grab, below: page down);
here they are read into :attr:`BarLines.zones` and dropped from the styles, and the table acts
on them itself (``VirtualTable.on_mouse_down``).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil
from typing import Literal

from rich.color import Color as RichColor
from rich.segment import Segment
from rich.style import Style
from textual.color import Color
from textual.css.styles import RenderStyles
from textual.scrollbar import ScrollBarRender

BarState = Literal["normal", "hover", "grabbed"]
Zone = Literal["up", "thumb", "down"]

_ZONES: dict[str, Zone] = {"scroll_up": "up", "grab": "thumb", "scroll_down": "down"}


def bar_style(styles: RenderStyles, background_under: Color, state: BarState) -> Style:
    """The bar's colours as ``ScrollBar.render`` makes them from its parent's styles."""
    if state == "grabbed":
        background, color = styles.scrollbar_background_active, styles.scrollbar_color_active
    elif state == "hover":
        background, color = styles.scrollbar_background_hover, styles.scrollbar_color_hover
    else:
        background, color = styles.scrollbar_background, styles.scrollbar_color
    if background.a < 1:
        background = background_under + background
    color = background + color
    return Style.from_color(color.rich_color, background.rich_color)


def thumb_at(height: int, virtual: int, window: int, position: float) -> tuple[int, int] | None:
    """Where the bar's thumb is, in eighths of a cell (first, end), or None without one:
    ``render_bar``'s own arithmetic, so that equal answers draw equal bars (a test checks
    it). A filter keystroke changes the row count, rarely the thumb: the bar is drawn again
    only when this changes."""
    window = window if window < virtual else 0
    virtual, window = ceil(virtual), ceil(window)
    if not (window and height and virtual and height != virtual):
        return None
    thumb = max(1, window / (virtual / height))
    start = int((height - thumb) * (int(position * 8) / 8 / (virtual - window)) * 8)
    return start, start + ceil(thumb * 8)


@dataclass(frozen=True, slots=True)
class BarLines:
    """One segment per line of the bar (no meta), and what a mouse press on it does."""

    segments: list[Segment]
    zones: list[Zone | None]


def bar_lines(
    height: int,
    virtual: int,
    window: int,
    position: float,
    thickness: int,
    style: Style,
    *,
    thumb: bool = True,
) -> BarLines:
    """The bar of a view of ``window`` lines at ``position`` over ``virtual`` lines, drawn
    ``height`` lines tall and ``thickness`` cells wide (``ScrollBar._render_bar`` and
    ``ScrollBarRender.__rich_console__``). ``thumb=False`` draws the plain track Textual
    draws when the screen's scrollbar colour is transparent."""
    if not thumb:
        virtual, window, position = 100, 0, 0.0
    elif window >= virtual:
        window = 0
    drawn = ScrollBarRender.render_bar(
        size=height,
        virtual_size=ceil(virtual),
        window_size=ceil(window),
        position=int(position * 8) / 8,  # ``ScrollBar.validate_position``
        thickness=thickness,
        vertical=True,
        back_color=style.bgcolor or RichColor.parse("#555555"),
        bar_color=style.color or RichColor.parse("bright_magenta"),
    ).segments
    segments: list[Segment] = []
    zones: list[Zone | None] = []
    # A bar has a handful of distinct styles; reading a style's meta unpickles it.
    seen: dict[Style | None, tuple[Zone | None, Style]] = {}
    for segment in drawn:
        known = seen.get(segment.style)
        if known is None:
            seg_style = segment.style or Style()
            action = seg_style.meta.get("@mouse.down") if seg_style.meta else None
            zone = _ZONES.get(action) if isinstance(action, str) else None
            known = seen[segment.style] = (zone, seg_style.clear_meta_and_links())
        zones.append(known[0])
        segments.append(Segment(segment.text, known[1]))
    return BarLines(segments, zones)


def bar_segment_styles(style: Style) -> list[Style]:
    """Every style a bar of colours ``style`` can give its segments (``render_bar``)."""
    back = style.bgcolor or RichColor.parse("#555555")
    bar = style.color or RichColor.parse("bright_magenta")
    return [
        Style(bgcolor=back),
        Style(color=bar, reverse=True),
        Style(bgcolor=back, color=bar),
        Style(bgcolor=back, color=bar, reverse=True),
    ]
