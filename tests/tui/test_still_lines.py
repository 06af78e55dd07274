"""Widgets that hand out their last lines again (``StillLines``) keep Textual's CSS and are
drawn afresh whenever Textual marks them dirty: content, style, theme and size changes."""

from __future__ import annotations

from textual.app import App, ComposeResult

from partner_tui.screens.base import PartnerScreen
from partner_tui.widgets.status_line import StatusLine
from partner_tui.widgets.still import (
    StillFooter,
    StillHorizontal,
    StillLines,
    StillStatic,
)
from partner_tui.widgets.title_bar import TitleBar


def test_still_widgets_keep_their_css_type_names() -> None:
    # Textual names CSS types after the first DOMNode base: the mixin must not hide it.
    for cls, name in [
        (StillFooter, "Footer"),
        (StillStatic, "Static"),
        (StillHorizontal, "Horizontal"),
        (PartnerScreen, "Screen"),
        (TitleBar, "Widget"),
        (StatusLine, "Widget"),
    ]:
        assert name in cls._css_type_names, (cls, name)
        assert issubclass(cls, StillLines)


class Lines(App[None]):
    CSS = "Static { background: red; } .blue { background: blue; }"

    def compose(self) -> ComposeResult:
        yield StillStatic("first", id="a")
        yield StillFooter()


def painted(app: App[None]) -> list[list[tuple[str, object]]]:
    strips = app.screen._compositor.render_strips()
    return [[(s.text, s.style) for s in strip.simplify()] for strip in strips]


async def test_still_lines_follow_every_change() -> None:
    app = Lines()
    async with app.run_test(size=(30, 4)) as pilot:
        static = app.query_one(StillStatic)

        async def fresh() -> list[list[tuple[str, object]]]:
            for widget in app.screen.query("*"):
                widget._still = None
            app.screen._compositor._dirty_regions.add(app.screen.region)
            return painted(app)

        before = painted(app)
        assert before[0][0][0].startswith("first")
        static.update("second")
        await pilot.pause()
        assert painted(app)[0][0][0].startswith("second")
        static.add_class("blue")  # a style change
        await pilot.pause()
        after = painted(app)
        assert after[0][0][1] != before[0][0][1]
        assert after == await fresh()
        app.theme = "textual-light"  # every colour changes
        await pilot.pause()
        assert painted(app) == await fresh()
        await pilot.resize_terminal(20, 4)
        await pilot.pause()
        assert sum(len(text) for text, _ in painted(app)[0]) == 20
        assert painted(app) == await fresh()
