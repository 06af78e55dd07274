"""The Clients screen's search field draws its own line; it must draw what Textual's Input
draws, in every state the field can be in, and see every change of style."""

from __future__ import annotations

from functools import partial

from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import Input, Static

from partner_tui.widgets.search_input import SearchInput


class Field(App[None]):
    CSS = ".loud { color: red; background: blue; }"

    def compose(self) -> ComposeResult:
        field = SearchInput(placeholder="Søk (navn, orgnr)", id="field", compact=True)
        field.cursor_blink = False
        yield field
        yield SearchInput(id="boxed")  # not compact: a border, so Textual's box drawing
        yield Static("elsewhere", id="other")


def segments(strips: list) -> list[list[tuple[str, object]]]:
    return [[(seg.text, seg.style) for seg in strip] for strip in strips]


def textuals_drawing(field: Input, crop: Region) -> list:
    """The lines Textual's own Input draws for the field as it is now."""
    field._styles_cache.clear()
    field.render_line = partial(Input.render_line, field)  # type: ignore[method-assign]
    try:
        return Widget.render_lines(field, crop)
    finally:
        del field.render_line
        field._styles_cache.clear()


async def test_search_field_draws_what_textual_draws() -> None:
    app = Field()
    async with app.run_test(size=(30, 8)) as pilot:
        field = app.query_one("#field", SearchInput)
        checked: list[str] = []

        async def check(what: str, widget: Input = field) -> None:
            await pilot.pause()
            width = widget.size.width
            crops = [Region(0, 0, width, widget.size.height), Region(3, 0, 7, 1)]
            for crop in crops:
                ours = segments(widget.render_lines(crop))
                assert ours == segments(textuals_drawing(widget, crop)), what
            checked.append(what)

        field.focus()
        await check("empty: the placeholder")
        await pilot.press(*"bergen")
        await check("typed, cursor at the end")
        look = field._look
        await pilot.press("x", "backspace")
        await check("typed and deleted")
        assert look is not None and field._look is look  # typing kept the styles it read
        await pilot.press("left", "left")
        await check("cursor inside the text")
        await pilot.press("home")
        await check("cursor on the first letter")
        await pilot.press("shift+right", "shift+right")
        await check("a selection")
        await pilot.press("end")
        await pilot.press(*"  Ærøskøbing 東京 ås og Tromsø")
        await check("wide and Norwegian letters, scrolled past the field's width")
        assert field.scroll_offset.x > 0
        await pilot.press("left", "left", "left", "left", "left")
        await check("cursor under a wide letter, scrolled")
        field.value = "tab\there"
        await check("a control character (Rich expands it)")
        field.insert_text_at_cursor("\tlim\ninn\x1b")  # pasted: spaces, no escape
        assert field.value == "tab\there lim inn "
        await check("pasted text")
        field.value = "Nordlys AS"
        await check("value set by the program")
        field.styles.color = "yellow"
        await check("a colour set by the program")
        field.add_class("loud")
        await check("a class that changes the colours")
        app.screen.styles.background = "green"
        await check("the screen's background changed under it")
        app.theme = "textual-light"
        await check("another theme")
        from textual.filter import Monochrome

        app._filters.append(Monochrome())
        await check("a terminal filter (NO_COLOR)")
        app.query_one("#other").focus()
        await check("without focus: no cursor")
        field.password = True
        await check("a password field")

        boxed = app.query_one("#boxed", SearchInput)
        boxed.focus()
        await pilot.press(*"ber")
        await check("a field with a border", boxed)
        assert len(checked) == 19
