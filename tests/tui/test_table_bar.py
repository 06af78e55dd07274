"""The virtual table draws its scrollbar into its own lines (widgets/table_bar.py). It must look
like Textual's own scrollbar on a ScrollView of the same size and scroll position (thumb sizes
and places from none to the whole bar; normal, hovered, grabbed) and act like it under the
mouse: track above the thumb pages up, below pages down, the thumb drags, the wheel scrolls."""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.geometry import Offset, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from partner_tui.widgets.virtual_table import Column, EmptySource, VirtualTable

SIZE = (60, 20)


class Rows(EmptySource):
    def __init__(self, n: int) -> None:
        self.visible_count = n  # type: ignore[misc]

    def row_key(self, i: int) -> int:
        return i

    def cells(self, i: int) -> tuple[str, ...]:
        return (f"rad {i}",)


class Reference(ScrollView):
    """A plain ScrollView with Textual's own scrollbar, sized like the table's rows."""

    DEFAULT_CSS = """
    Reference { overflow-y: scroll; overflow-x: hidden; background: $surface; }
    """

    def render_line(self, y: int) -> Strip:
        return Strip.blank(self.scrollable_content_region.width, self.rich_style)


class TwoBars(App[None]):
    CSS = "Horizontal > * { width: 1fr; height: 1fr; }"

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield VirtualTable([Column("a", "A", flex=1)], Rows(0))
            yield Reference()


def bar_cells(app: App[None], widget: ScrollView | VirtualTable) -> list[list[tuple[str, Style]]]:
    """The cells of the widget's last two columns (its scrollbar) as the screen shows them."""
    strips = app.screen._compositor.render_strips()
    x, y, width, height = widget.region
    out = []
    for line in strips[y : y + height]:
        cells = []
        for seg in line.crop(x + width - 2, x + width):
            for char in seg.text:
                style = (seg.style or Style()).clear_meta_and_links()
                cells.append((char, style))
        out.append(cells)
    return out


async def test_the_tables_scrollbar_looks_like_textuals() -> None:
    app = TwoBars()
    async with app.run_test(size=SIZE) as pilot:
        table, ref = app.query_one(VirtualTable), app.query_one(Reference)
        await pilot.pause()
        assert table.size == ref.size
        checked = 0
        for count in [0, 5, 18, 19, 20, 25, 40, 100, 333, 1000, 10_000]:
            table.set_source(Rows(count))
            ref.virtual_size = Size(ref.size.width, count + 1)
            await pilot.pause()
            for where in ("top", "middle", "bottom"):
                target = {"top": 0, "middle": count // 2, "bottom": count}[where]
                table.scroll_to(y=target, animate=False, immediate=True)
                ref.scroll_to(y=target, animate=False, immediate=True)
                await pilot.pause()
                assert table.scroll_y == ref.scroll_y, (count, where)
                for state in ("normal", "hover", "grabbed"):
                    textual_bar = ref.vertical_scrollbar
                    textual_bar.mouse_over = state == "hover"
                    # (Offset(0, 0) is falsy: Textual would not count it as grabbed)
                    textual_bar.grabbed = Offset(1, 1) if state == "grabbed" else None
                    table._set_bar_state(state)  # type: ignore[arg-type]
                    await pilot.pause()
                    ours, theirs = bar_cells(app, table), bar_cells(app, ref)
                    assert ours == theirs, (count, where, state)
                    checked += 1
        assert checked == 11 * 3 * 3
        # The bars drawn differ (else this test could not tell a thumb from a track).
        table.set_source(Rows(100))
        await pilot.pause()
        looks = {str(bar_cells(app, table))}
        table.scroll_to(y=50, animate=False, immediate=True)
        await pilot.pause()
        looks.add(str(bar_cells(app, table)))
        assert len(looks) == 2


async def test_the_tables_scrollbar_answers_the_mouse() -> None:
    app = TwoBars()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(VirtualTable)
        table.set_source(Rows(1000))
        await pilot.pause()
        height = table.size.height
        bar_x = table.size.width - 1
        zones = table._bar_lines(table._render_context()).zones
        assert zones[0] == "thumb" and zones[-1] == "down"

        # Below the thumb: one page down (Textual's ScrollDown → scroll_page_down).
        await pilot.click(table, offset=Offset(bar_x, height - 1))
        await pilot.pause()
        assert table.scroll_y == height
        for _ in range(2):
            await pilot.click(table, offset=Offset(bar_x, height - 1))
            await pilot.pause()
        assert table.scroll_y == 3 * height
        # Above the thumb: back up a page.
        zones = table._bar_lines(table._render_context()).zones
        assert zones[0] == "up"
        await pilot.click(table, offset=Offset(bar_x, 0))
        await pilot.pause()
        assert table.scroll_y == 2 * height
        table.scroll_to(y=0, animate=False, immediate=True)
        await pilot.pause()

        # Dragging the thumb by 2 lines scrolls by 2 × (virtual height / window).
        await pilot.mouse_down(table, offset=Offset(bar_x, 0))
        assert table._bar_state == "grabbed"
        await pilot.hover(table, offset=Offset(bar_x, 2))
        await pilot.pause()
        assert table.scroll_y == min(table.max_scroll_y, 2 * 1001 / height)
        await pilot.mouse_up(table, offset=Offset(bar_x, 2))
        await pilot.pause()
        assert table._bar_state == "hover"

        # A click in the bar neither moves the cursor nor sorts; a click on a row does.
        cursor = table.cursor
        await pilot.click(table, offset=Offset(bar_x, 5))
        await pilot.pause()
        assert table.cursor == cursor
        await pilot.click(table, offset=Offset(2, 3))
        await pilot.pause()
        assert table.cursor == int(table.scroll_y) + 2

        # The wheel scrolls the rows (Textual allows it only with its own bar shown).
        before = table.scroll_y
        await pilot.hover(table, offset=Offset(5, 5))
        assert table._bar_state == "normal"
        wheel = events.MouseScrollDown(table, 5, 5, 0, 1, 0, False, False, False, 5, 5)
        table.post_message(wheel)
        await pilot.pause()
        assert table.scroll_y > before


def test_bar_lines_drop_textuals_mouse_meta() -> None:
    from partner_tui.widgets.table_bar import bar_lines

    drawn = bar_lines(10, 100, 10, 45, 2, Style(color="red", bgcolor="blue"))
    assert [z for z in drawn.zones if z == "thumb"], drawn.zones
    assert drawn.zones.index("thumb") > 0 and drawn.zones[0] == "up"
    assert drawn.zones[-1] == "down"
    assert all(isinstance(seg, Segment) and not seg.style.meta for seg in drawn.segments)
    plain = bar_lines(10, 100, 10, 45, 2, Style(color="red", bgcolor="blue"), thumb=False)
    assert set(plain.zones) == {None}


def test_thumb_at_tells_bars_apart_exactly() -> None:
    """The table draws its bar again only when ``thumb_at`` changes: equal answers must draw
    equal bars (Textual's own drawing), and different answers different ones."""
    import random

    from textual.scrollbar import ScrollBarRender

    from partner_tui.widgets.table_bar import thumb_at

    def drawn(size: int, virtual: int, window: int, position: float) -> list[tuple[str, object]]:
        w = window if window < virtual else 0
        bar = ScrollBarRender.render_bar(
            size=size,
            virtual_size=virtual,
            window_size=w,
            position=int(position * 8) / 8,
            vertical=True,
        )
        return [(s.text, s.style) for s in bar.segments]

    rnd = random.Random(5)
    seen: dict[object, list[tuple[str, object]]] = {}
    looks: dict[str, object] = {}
    for _ in range(4000):
        size = rnd.choice([5, 20, 32, 37])
        virtual = rnd.choice([rnd.randint(1, 80), rnd.randint(1, 12000)])
        window = rnd.choice([size, size - 1, rnd.randint(0, 60)])
        position = rnd.uniform(0, max(0, virtual - window))
        key = (size, thumb_at(size, virtual, window, position))
        look = drawn(size, virtual, window, position)
        assert seen.setdefault(key, look) == look, (size, virtual, window, position)
        assert looks.setdefault(repr(look), key) == key, (size, virtual, window, position)
    assert len(seen) > 100
