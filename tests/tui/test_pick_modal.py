"""The picker used by the Access screen (users, clients, templates): with many options it has
a search box; ↑/↓ there move in the list while the box keeps the keys for typing."""

from __future__ import annotations

from typing import Any

from textual.app import App
from textual.widgets import Input, OptionList

from partner_tui.screens.bulk_screens import PickModal

NAMES = [f"{first} {last}" for first in ("Anne", "Bjørn", "Kari") for last in "ABCDEFG"]


class Host(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.answers: list[Any] = []

    def on_mount(self) -> None:
        options = [(name, index) for index, name in enumerate(NAMES)]
        self.push_screen(PickModal("Velg bruker", options), self.answers.append)


async def test_arrows_in_the_search_box_move_in_the_list() -> None:
    app = Host()
    async with app.run_test(size=(80, 30)) as pilot:
        await pilot.pause()
        box = app.screen.query_one("#pick-text", Input)
        assert box.has_focus and "↑↓" in box.placeholder  # says how it works while empty
        await pilot.press(*"bjø")
        await pilot.pause()
        listing = app.screen.query_one("#pick-list", OptionList)
        assert listing.option_count == 7 and listing.highlighted == 0
        await pilot.press("down", "down", "down", "up")
        await pilot.pause()
        assert box.has_focus and listing.highlighted == 2
        await pilot.press("r")  # still typing in the box: "bjør"
        await pilot.pause()
        assert box.value == "bjør" and listing.highlighted == 0
        await pilot.press("down", "enter")
        await pilot.pause()
        assert app.answers == [NAMES.index("Bjørn B")]


async def test_keys_in_one_burst_are_typed_in_order() -> None:
    """ "rune", four backspaces, "kari" arriving in one read must search for "kari" (the
    backspaces used to run after the letters that followed them)."""
    from textual import events

    app = Host()
    async with app.run_test(size=(80, 30)) as pilot:
        await pilot.pause()
        keys = [*"bjø", *["backspace"] * 3, *"kari c", "enter"]
        for key in keys:
            char = key if len(key) == 1 else ("\r" if key == "enter" else None)
            app._driver.send_message(events.Key("space" if key == " " else key, char))
        await pilot.pause(0.2)
        assert app.answers == [NAMES.index("Kari C")]
