"""The Clients screen's table as drawn: incremental drawing (cached lines, only changed lines
repainted, the scrollbar only when its thumb moves) must equal a full redraw after every kind
of change; cells fit their columns; the search field scrolls long text."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from textual.events import Key
from textual.pilot import Pilot
from textual.widgets import Input
from textual.worker import WorkerCancelled

from partner_tui.app import PartnerApp
from partner_tui.core.cache import CacheDB
from partner_tui.screens.clients import ClientsScreen
from partner_tui.widgets.still import plain_box
from partner_tui.widgets.virtual_table import VirtualTable
from tests.tui.conftest import TODAY, FakeReport, FakeSyncer, fill_cache

SIZE = (120, 40)


async def settle(pilot: Pilot[None]) -> None:
    for _ in range(4):
        with contextlib.suppress(WorkerCancelled):
            await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def screen_text(app: PartnerApp) -> str:
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(seg.text for seg in strip) for strip in strips)


async def open_clients(pilot: Pilot[None]) -> PartnerApp:
    await settle(pilot)
    await pilot.press("2")
    await settle(pilot)
    app = pilot.app
    assert isinstance(app, PartnerApp) and isinstance(app.screen, ClientsScreen)
    return app


WORDS_NB = ["Bakeri", "Bergen", "Rør", "Ærlig", "Øst", "Åsen", "Fjord", "Nord", "Sør", "Vest"]


def fill_many(db: CacheDB, n: int = 400) -> None:
    """The fixture rows plus ``n`` clients with groups and grants, Norwegian letters, names
    too long for their column and double-width characters."""
    fill_cache(db)
    rows, members, grants = [], [], []
    for k in range(n):
        cid = 100 + k
        name = f"{WORDS_NB[k % 10]} {WORDS_NB[k * 7 % 10]} {k:03d} AS"
        if k % 37 == 0:
            name += " Holding og Eiendom med et svært langt navn som må kuttes"
        if k % 41 == 0:
            name = f"客户公司 {k} 株式会社 有限公司"
        rows.append(
            (
                cid,
                f"{920000000 + k * 7919 % 100000:09d}",
                name,
                k % 3 != 0,
                "archived" if k % 29 == 0 else "active",
                k % 4 == 0,
            )
        )
        members.append((10 + k % 2, cid))
        grants.append((1 + k % 3, cid, "ansvarlig"))
        if k % 2:
            grants.append((1 + (k + 1) % 3, cid, "medarbeider"))
    with db.write() as conn:
        ex = conn.exec_driver_sql
        ex(
            "INSERT INTO client (id, version, orgnr, name, payroll_enabled, payout_day,"
            " uses_partner_altinn, status) VALUES (?, 1, ?, ?, ?, 20, ?, ?)",
            [(c, o, nm, p, a, s) for c, o, nm, p, s, a in rows],
        )
        ex(
            "INSERT INTO client_group_member (id, version, group_id, client_id)"
            " VALUES (?, 1, ?, ?)",
            [(1000 + i, g, c) for i, (g, c) in enumerate(members)],
        )
        ex(
            "INSERT INTO access_grant (id, version, user_id, client_id, access_level, role,"
            " role_source) VALUES (?, 1, ?, ?, 'full', ?, 'auto')",
            [(1000 + i, u, c, r) for i, (u, c, r) in enumerate(grants)],
        )


def painted(app: PartnerApp) -> list[list[tuple[str, object]]]:
    """Every line of the screen as (text, style) runs: what the terminal has been sent."""
    strips = app.screen._compositor.render_strips()
    return [[(seg.text, seg.style) for seg in strip.simplify()] for strip in strips]


async def redrawn(pilot: Pilot[None], app: PartnerApp) -> list[list[tuple[str, object]]]:
    """The screen drawn again from nothing: no cached strips, every widget repainted."""
    table = app.screen.query_one(VirtualTable)
    table._strips.clear()
    table._shown.clear()
    table._bar = None
    for widget in app.screen.query("*"):
        widget.refresh()
    await pilot.pause()
    return painted(app)


def style_at(line: list[tuple[str, object]], x: int) -> object:
    for text, style in line:
        if x < len(text):
            return style
        x -= len(text)
    raise IndexError(x)


def check_rows(app: PartnerApp) -> None:
    """What the table must show, whatever draws it: each row on screen in the model's order,
    ✓ on the selected ones, the cursor row in its own colours."""
    table = app.screen.query_one(VirtualTable)
    x, y, _width, height = table.region
    text = screen_text(app).splitlines()
    lines = painted(app)
    top = int(table.scroll_offset.y)
    cursor_bg, other_bg = set(), set()
    for row in range(top, min(table.row_count, top + height - 1)):
        line_y = y + 1 + row - top
        orgnr = table.source.cells(row)[0]
        assert text[line_y][x + 2 : x + 2 + len(orgnr)] == orgnr, (row, text[line_y])
        selected = table.source.row_key(row) in table.selected
        assert text[line_y][x : x + 2] == ("✓ " if selected else "  "), (row, text[line_y])
        bg = getattr(style_at(lines[line_y], x + 3), "bgcolor", None)
        (cursor_bg if row == table.cursor else other_bg).add(bg)
    assert not cursor_bg & other_bg, (cursor_bg, other_bg)


class RenamingSyncer(FakeSyncer):
    """A sync that renames a client on screen and selects none of the old names."""

    def sync(self) -> FakeReport:
        report = super().sync()
        with self.cache.write() as conn:
            conn.exec_driver_sql(
                "UPDATE client SET name = ?, version = version + 1 WHERE id IN (100, 101)",
                (f"Omdøpt [b]{self.calls}[/b] AS",),
            )
        return report


async def test_incremental_table_drawing_equals_a_full_redraw(tmp_path: Path) -> None:
    db = CacheDB(tmp_path / "many.sqlite")
    fill_many(db)
    app = PartnerApp(db, RenamingSyncer(db), today=TODAY)
    steps: list[tuple[str, list[str]]] = [
        ("search", ["slash", "b"]),
        ("narrow", ["e", "r"]),
        ("widen", ["backspace"]),
        ("no match", [*"zzq"]),
        ("back", ["backspace"] * 3),
        ("two words", ["space", *"rør"]),
        ("clear", ["escape"]),
        ("æøå", ["slash", "ø"]),
        ("to table", ["enter"]),
        ("select", ["space", "space"]),
        ("cursor", ["j", "j", "k"]),
        ("filter keeps selection", ["slash", "s", "enter"]),
        ("select all", ["a"]),
        ("unfilter", ["escape"]),
        ("sort", ["s"]),
        ("reverse", ["S"]),
        ("sort by name", ["s", "s", "s", "s", "s"]),
        ("bottom", ["G"]),
        ("page up", ["pageup"]),
        ("top", ["g"]),
        ("search again", ["slash", "a", "enter"]),
        ("sync (renames rows on screen)", ["r"]),
        ("backspace after sync", ["slash", "backspace"]),
    ]
    async with app.run_test(size=SIZE) as pilot:
        app = await open_clients(pilot)
        table = app.screen.query_one(VirtualTable)
        for label, keys in steps:
            await pilot.press(*keys)
            await settle(pilot)
            now = painted(app)
            check_rows(app)
            assert now == await redrawn(pilot, app), label
        renamed = app.client_model.index_of(100)
        assert renamed is not None
        table.move_cursor(renamed)  # (sorted by groups, it is where its name puts it)
        await settle(pilot)
        assert "Omdøpt [b]2[/b] AS" in screen_text(app)  # the sync's rename is on screen
        assert painted(app) == await redrawn(pilot, app)
        for size in ((100, 30), (140, 45), SIZE):
            await pilot.resize_terminal(*size)
            await settle(pilot)
            assert painted(app) == await redrawn(pilot, app), size
            await pilot.press("slash", "e")
            await settle(pilot)
            assert painted(app) == await redrawn(pilot, app), (size, "typed")
        assert table.row_count == app.client_model.visible_count
    db.dispose()


async def test_table_lines_fit_their_columns(tmp_path: Path) -> None:
    """Cut (…) and padded cells have exactly their column's width, double-width characters
    included: every column starts in the same cell on every line."""
    from rich.cells import cell_len

    db = CacheDB(tmp_path / "many.sqlite")
    fill_many(db)
    app = PartnerApp(db, today=TODAY)
    async with app.run_test(size=SIZE) as pilot:
        app = await open_clients(pilot)
        table = app.screen.query_one(VirtualTable)
        starts: set[tuple[int, int]] = set()
        for query in ("客户", "holding", "rør"):
            await pilot.press("slash", *query)
            await settle(pilot)
            lines = screen_text(app).splitlines()
            shown = min(table.row_count, table.region.height - 1)
            assert shown > 1, query
            for i in range(shown):
                orgnr, name, groups, _altinn, _users = table.source.cells(i)
                line = next(line for line in lines if orgnr in line)
                assert cell_len(line) == SIZE[0], line
                group = line.index(groups[:8])
                starts.add((cell_len(line[: line.index(orgnr)]), cell_len(line[:group])))
                head = name[:4]
                assert head in line, (name, line)
                if cell_len(name) > 40:
                    assert "…" in line, line
            await pilot.press("escape")
        assert len(starts) == 1, starts
    db.dispose()


async def test_search_field_keeps_long_text_in_view(cache: CacheDB) -> None:
    app = PartnerApp(cache, today=TODAY)
    async with app.run_test(size=SIZE) as pilot:
        app = await open_clients(pilot)
        text = "abcdefghij" * 14 + "XYZ"
        await pilot.press("slash", *text)
        await settle(pilot)
        search = app.screen.query_one("#clients-search", Input)
        assert search.value == text
        line = screen_text(app).splitlines()[search.region.y]
        assert "XYZ" in line  # scrolled to the end of what was typed
        assert search.cursor_screen_offset.x <= search.region.right  # as a plain Input has it
        await pilot.press("home")
        await settle(pilot)
        assert "abcdefghij" in screen_text(app).splitlines()[search.region.y]
        assert "0 av 6 klienter" in screen_text(app)


async def test_table_lines_equal_textuals_own_drawing(tmp_path: Path) -> None:
    """The table hands out its cached lines itself when its box is plain; the cells it shows
    must be what Textual's own path (``StylesCache``: background, filters, crop) makes of the
    same lines, and a box that is not plain (a border) must still get its border."""
    from textual.geometry import Region
    from textual.widget import Widget

    db = CacheDB(tmp_path / "many.sqlite")
    fill_many(db)
    app = PartnerApp(db, today=TODAY)

    def runs(strips: list) -> list[list[tuple[str, object]]]:
        return [[(s.text, s.style) for s in strip.simplify()] for strip in strips]

    async with app.run_test(size=SIZE) as pilot:
        app = await open_clients(pilot)
        table = app.screen.query_one(VirtualTable)
        width, height = table.region.width, table.region.height
        crops = [Region(0, 0, width, height), Region(0, 3, width, 5), Region(4, 1, 30, 7)]
        for keys in (["j", "j", "space"], ["slash", "b", "e"], ["enter", "G"]):
            await pilot.press(*keys)
            await settle(pilot)
            assert plain_box(table)
            for crop in crops:
                ours = table.render_lines(crop)
                table._styles_cache.clear()
                theirs = Widget.render_lines(table, crop)
                shown = max(0, min(crop.right, table.size.width) - crop.x)
                textual = runs([strip.crop(0, shown) for strip in theirs])
                ours = runs([strip.crop(0, shown) for strip in ours])
                assert all(strip.cell_length >= shown for strip in theirs)
                assert len(ours) == crop.height
                for n, (a, b) in enumerate(zip(ours, textual, strict=True)):
                    assert a == b, (keys, crop, n, repr(a)[-300:], repr(b)[-300:])
        # A filter that does change the table's styles (NO_COLOR's) must still be applied.
        from textual.filter import Monochrome

        app._filters.append(Monochrome())
        table.refresh()
        await settle(pilot)
        crop = crops[0]
        ours_strips = table.render_lines(crop)
        table._styles_cache.clear()
        shown = table.size.width
        theirs_strips = Widget.render_lines(table, crop)
        mono = runs([strip.crop(0, shown) for strip in ours_strips])
        assert mono == runs([strip.crop(0, shown) for strip in theirs_strips])
        assert all(
            style is None
            or style.color is None
            or style.color.triplet is None
            or len({*style.color.triplet}) == 1
            for line in mono
            for _, style in line
        )  # grey: the filter was applied
        app._filters.pop()
        table.styles.border = ("round", "red")
        await settle(pilot)
        assert not plain_box(table)
        top = "".join(s.text for s in table.render_lines(Region(0, 0, width, 1))[0])
        assert top.startswith("╭") and top.rstrip().endswith("╮"), top
    db.dispose()


async def test_typing_leaves_garbage_collection_to_after_the_frame(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CPython's collector starts wherever 700 new objects have piled up: mid-keystroke, as a
    rule. The app runs the same collections after a key's frame has gone out instead
    (core/gc_pacing.py): typing a search triggers no collection of CPython's own, and none of
    the app's runs between a key and its frame."""
    import gc

    import partner_tui.app
    from partner_tui.core.gc_pacing import GarbagePacer

    db = CacheDB(tmp_path / "many.sqlite")
    fill_many(db)
    thresholds = gc.get_threshold()
    automatic: list[int] = []
    pacing = False
    paced = GarbagePacer.collect

    key_waiting_for_frame = False
    inside_a_key: list[int] = []

    def collect(self: GarbagePacer) -> int | None:
        nonlocal pacing
        pacing = True
        try:
            generation = paced(self)
        finally:
            pacing = False
        if generation is not None and key_waiting_for_frame:
            inside_a_key.append(generation)
        return generation

    handle_event = PartnerApp.on_event

    async def on_event(self: PartnerApp, event: object) -> None:
        nonlocal key_waiting_for_frame
        if isinstance(event, Key):
            key_waiting_for_frame = True
        await handle_event(self, event)  # type: ignore[arg-type]

    def note(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and not pacing:
            automatic.append(info["generation"])

    monkeypatch.setattr(GarbagePacer, "collect", collect)
    monkeypatch.setattr(PartnerApp, "on_event", on_event)
    monkeypatch.setattr(partner_tui.app, "IDLE_COLLECT_S", 3600)  # only the keys' collections
    app = PartnerApp(db, today=TODAY)
    display = app._display

    def frame_sent(screen: object, update: object) -> None:
        nonlocal key_waiting_for_frame
        display(screen, update)  # type: ignore[arg-type]
        if update is not None:
            key_waiting_for_frame = False

    app._display = frame_sent  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        app = await open_clients(pilot)
        gc.callbacks.append(note)
        try:
            for word in ["bakeri", "bergen", "rør", "åsen"] * 6:
                await pilot.press("slash", *word, "escape")
                await pilot.pause()
        finally:
            gc.callbacks.remove(note)
        assert automatic == []
        assert inside_a_key == []
        assert sum(app.garbage.collections) > 0  # the garbage was collected all the same
        assert app.screen.query_one("#clients-search", Input).value == ""
    assert gc.get_threshold() == thresholds  # given back when the app closed
    db.dispose()


async def test_a_search_keystroke_is_drawn_in_one_frame(tmp_path: Path) -> None:
    """The search field, the count and the table rows of a keystroke go out in the same
    frame. (Textual tells the screen about a repainted widget at that widget's next idle; the
    table, refreshed from the field's handler, used to miss the field's frame and arrive a
    frame or two later, ~25 ms: widgets/repaint.py.)"""
    import re

    from textual._compositor import CompositorUpdate

    db = CacheDB(tmp_path / "many.sqlite")
    fill_many(db)
    app = PartnerApp(db, today=TODAY)
    async with app.run_test(size=SIZE) as pilot:
        app = await open_clients(pilot)
        screen = app.screen
        assert isinstance(screen, ClientsScreen)
        table, count = screen.table, screen.query_one("#clients-count")
        rows_in_frames: list[set[int]] = []
        display = app._display

        def recording_display(shown_screen: object, update: object) -> None:
            if isinstance(update, CompositorUpdate):
                moves = re.findall(r"\x1b\[(\d+);\d+H", update.render_segments(app.console))
                rows_in_frames.append({int(row) - 1 for row in moves})
            display(shown_screen, update)  # type: ignore[arg-type]

        app._display = recording_display  # type: ignore[method-assign]
        await pilot.press("slash")
        await pilot.pause(0.1)
        checked = 0
        keys = ["v", "backspace", "f", "j", "backspace", "backspace", "å", "backspace", "9"]
        for key in [*keys, "backspace", *"bergen"]:
            top_before = table.source.cells(0) if table.row_count else None
            count_before = screen.query_one("#clients-count").text  # type: ignore[attr-defined]
            rows_in_frames.clear()
            await pilot.press(key)
            await pilot.pause(0.1)
            assert len(rows_in_frames) == 1, (key, rows_in_frames)  # one frame, not two
            frame = rows_in_frames[0]
            assert screen._search.region.y in frame
            if count.text != count_before:  # type: ignore[attr-defined]
                assert count.region.y in frame, key
            if table.row_count and table.source.cells(0) != top_before:
                assert table.region.y + 1 in frame, key  # the first row under the header
                checked += 1
        assert checked >= 6  # most keys changed the rows
    db.dispose()
