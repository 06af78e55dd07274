"""The one-line text widget of the Clients screen's count: plain text (never markup), cleaned
of control characters, as wide as its text, in its style."""

from __future__ import annotations

from textual.app import App, ComposeResult

from partner_tui.widgets.text_line import TextLine


class OneLine(App[None]):
    def compose(self) -> ComposeResult:
        yield TextLine("[b]12[/b] av\x1b[31m 40", style="bold", id="line")


def shown(app: App[None]) -> str:
    strip = app.screen._compositor.render_strips()[0]
    return "".join(seg.text for seg in strip)


async def test_text_line_is_plain_and_as_wide_as_its_text() -> None:
    app = OneLine()
    async with app.run_test(size=(40, 3)) as pilot:
        line = app.query_one(TextLine)
        assert line.text == "[b]12[/b] av[31m 40"  # the escape character is gone
        assert shown(app).startswith("[b]12[/b] av[31m 40 ")
        assert line.region.width == len(line.text)
        strip = app.screen._compositor.render_strips()[0]
        assert strip._segments[0].style is not None and strip._segments[0].style.bold

        line.update("1 234 av 10 000 klienter")
        await pilot.pause()
        assert shown(app).startswith("1 234 av 10 000 klienter ")
        assert line.region.width == len("1 234 av 10 000 klienter")  # laid out again

        line.update("5 av 6")
        await pilot.pause()
        assert shown(app) == "5 av 6".ljust(40)  # nothing left of the longer text


async def test_text_line_draws_what_textual_draws() -> None:
    """Its own line equals Textual's drawing of the same widget, after new text, a style
    change and a theme change (each must be seen, none kept from before)."""
    from textual.geometry import Region
    from textual.widget import Widget

    def runs(strips: list) -> list[list[tuple[str, object]]]:
        return [[(s.text, s.style) for s in strip.simplify()] for strip in strips]

    class Styled(OneLine):
        CSS = ".loud { color: red; background: blue; }"

    app = Styled()
    async with app.run_test(size=(40, 3)) as pilot:
        line = app.query_one(TextLine)

        async def check() -> None:
            await pilot.pause()
            crop = Region(0, 0, line.size.width, 1)
            ours = runs(line.render_lines(crop))
            line._styles_cache.clear()
            assert ours == runs(Widget.render_lines(line, crop))
            part = Region(2, 0, 5, 1)
            assert runs(line.render_lines(part)) == runs(Widget.render_lines(line, part))

        await check()
        line.update("1 234 av 10 000 klienter")
        await check()
        line.add_class("loud")
        await check()
        app.theme = "textual-light"
        await check()
        line.update("5 av 6".ljust(24))
        await check()
