"""Widgets that rarely change hand out the lines of their last frame again.

Textual asks every widget that overlaps a frame's update area for its lines, and a screen's
frame (title bar, status line, footer, the screen and its containers) overlaps nearly every
update. Its own line cache makes that cheap but not free (≈50–100 µs a widget: background,
filters and opacity are worked out again, each line looked up). A filter keystroke pays that
for ten widgets that have not changed (DESIGN.md §8).

:class:`StillLines` keeps the list of lines it returned, for the same crop and size, until
Textual marks the widget dirty: every repaint of a widget (a refresh, a style or theme change,
hover, a resize) goes through ``Widget._set_dirty``, which drops the kept lines.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.containers import Horizontal
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Footer, Static


def plain_box(widget: Widget) -> bool:
    """No CSS that Textual's line path would add to a widget's content lines (border,
    padding, outline, tint, opacity, hatch): its lines can be handed out as drawn."""
    styles = widget.styles
    return (
        not any(styles.gutter)
        and not any(edge for edge, _ in styles.outline)
        and not styles.tint.a
        and styles.text_opacity == 1.0
        and widget.opacity == 1.0
        and not (styles.has_rule("hatch") and styles.hatch != "none")
    )


# A plain mixin at run time: Textual names a widget's CSS types after its first base that is
# a DOMNode, so ``class StillFooter(StillLines, Footer)`` must still match ``Footer { … }``.
if TYPE_CHECKING:
    _Base = Widget
else:
    _Base = object


class StillLines(_Base):
    """Mix in before a widget class: ``class StillFooter(StillLines, Footer)``."""

    _still: tuple[Region, Size, list[Strip]] | None = None

    def _set_dirty(self, *regions: Region) -> None:
        self._still = None
        super()._set_dirty(*regions)

    def render_lines(self, crop: Region) -> list[Strip]:
        still, size = self._still, self.size
        if still is not None and still[0] == crop and still[1] == size:
            return still[2]
        lines = super().render_lines(crop)
        self._still = (crop, size, lines)
        return lines


class StillFooter(StillLines, Footer):
    pass


class StillStatic(StillLines, Static):
    pass


class StillHorizontal(StillLines, Horizontal):
    pass
