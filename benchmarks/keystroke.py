"""Filter keystroke → visible table updated, on the real Clients screen, against a bare
Textual app echoing the same keystrokes from an Input into a Label; plus the filter itself.

Each app runs headless under ``App.run_test(size=(120, 40))`` in a child process of its own
(``--serve bare|app``), both alive side by side. The parent presses each key in one and then
in the other (which goes first alternates), so a burst of noise on a shared machine lands on
both alike; rounds of whole apps in turn let one burst fall on one app's round only. Both
are timed by exactly the same procedure:

1. the key event is handed to the app's driver (what ``Pilot.press`` does, without its fixed
   ``wait_for_idle`` sleeps of ≥ 2 × 20 ms, which would swamp a few-ms difference);
2. the clock stops at the first frame whose *output* shows the keystroke's effect. Each
   frame is turned into terminal bytes (``render_segments``, which the headless driver would
   skip; a real terminal run does it) and applied to a :class:`ShadowTerminal`; the frame
   counts when the terminal rows show it: Clients: the search field starts with the text,
   the count line shows the new count and the first table row the expected client; echo:
   the Input starts with the text and the Label's row holds exactly the text. Judging the
   output, not the widgets' state, matters: a widget can hold its new content while the
   frame that went out still shows the old one (the Clients table used to arrive a frame
   or two after the search field, ~25 ms later). Only the write to a terminal is left out.
   How many frames went out until then is reported too (1 when everything arrives
   together).

Between keystrokes the app is drained (``pilot.pause()``) and then left alone for
``KEY_GAP``, outside the timing. The gap matters: Textual draws from a 60 Hz timer, and a key
that arrives less than 1/60 s after the last frame waits for that timer's next tick (up to
16.7 ms). How long the drain takes would then decide the figure (a quick drain put the echo's
keys mid-period, ~10 ms of waiting, a slower one put the app's after it), not the work a
keystroke costs. People type at most ~15 keys a second, so every key arrives after the tick
has come round; both apps are measured that way. After every keystroke the Clients screen is
checked: the count line and the first table row must match what ``ClientListModel`` says for
that text.

The filter itself: ``ClientListModel.apply`` for the same texts in the same order, plus reading
the rows the table shows (38 at 120×40), timed directly.

Run as a child: ``python -m benchmarks.keystroke --cache FILE --rounds N --today YYYY-MM-DD``
(it starts the two ``--serve`` children itself).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any

from benchmarks.common import TODAY, Context, Result, run_child, summary
from benchmarks.shadow_terminal import ShadowTerminal

SIZE = (120, 40)
VISIBLE_ROWS = 38  # table rows on screen at 120×40 (the Clients screen's body, less the header)

# One round: a realistic search, corrected, then an orgnr prefix.
ROUND: list[str] = [
    *"bakeri",
    *["backspace"] * 6,
    *"914",
    *["backspace"] * 3,
    *"bergen",
    *["backspace"] * 6,
]

# Longer than one frame period of Textual's 60 Hz update timer (see the module docstring); a
# very fast typist's gap between keys is ~70 ms.
KEY_GAP = 0.025

KEY = "filter_keystroke_median"  # the JSON key of this measure's headline figure


def texts_after(keys: list[str]) -> list[str]:
    out, text = [], ""
    for key in keys:
        text = text[:-1] if key == "backspace" else text + key
        out.append(text)
    return out


def run(ctx: Context) -> list[Result]:
    cache = ctx.warm_cache()
    rounds = ctx.reps(10, 1)  # p95 of 300 keys: its 15th slowest, not its 9th
    data = run_child(
        "benchmarks.keystroke",
        ["--cache", str(cache), "--rounds", str(rounds), "--today", TODAY.isoformat()],
        timeout=1800,
    )
    app, bare, flt = data["app"], data["bare"], data["filter"]
    one_frame = {kind: data[kind]["frames"].get("1", 0) for kind in ("app", "bare")}
    note = (
        f"{data['samples']} keystrokes × {rounds} round(s), 120×40 headless; "
        f"{data['clients']} clients; drawn in one frame: app {one_frame['app']}/{app['n']}, "
        f"echo {one_frame['bare']}/{bare['n']}"
    )
    extra = {"app": app, "bare": bare, "filter": flt, "keys": ROUND}
    return [
        Result(
            "filter_keystroke_median",
            "filter keystroke → table, median",
            app["median"],
            "ms",
            "ratio",
            1.2,
            bare["median"],
            "bare Input→Label echo",
            note,
            extra,
        ),
        Result(
            "filter_keystroke_p95",
            "filter keystroke → table, p95",
            app["p95"],
            "ms",
            "ratio",
            1.2,
            bare["p95"],
            "bare Input→Label echo",
            note,
        ),
        Result(
            "filter_itself_median",
            "filter itself (apply + visible rows), median",
            flt["median"],
            "ms",
            "max",
            5.0,
            note="ClientListModel.apply + 38 rows",
        ),
        Result(
            "filter_itself_p95",
            "filter itself (apply + visible rows), p95",
            flt["p95"],
            "ms",
            "max",
            5.0,
            note="ClientListModel.apply + 38 rows",
            extra={"max_ms": flt["max"]},
        ),
    ]


# ---- the child ------------------------------------------------------------------------------


def _key_event(key: str) -> Any:
    """The Key event ``Pilot.press(key)`` would send (same logic as ``App._press_keys``)."""
    import unicodedata

    from textual import events
    from textual.keys import REPLACED_KEYS, _character_to_key, _get_unicode_name_from_key

    if len(key) == 1 and not key.isalnum():
        key = _character_to_key(key)
    original = REPLACED_KEYS.get(key, key)
    try:
        char: str | None = unicodedata.lookup(_get_unicode_name_from_key(original))
    except KeyError:
        char = key if len(key) == 1 else None
    return events.Key(key, char)


class FrameClock:
    """Patches ``app._display``: turns each frame into terminal output (as a real driver
    would), applies it to a :class:`ShadowTerminal`, and stops the clock at the first frame
    after which ``done(terminal)`` holds. The stop time is taken as the frame is handed
    over, before the terminal is read."""

    def __init__(self, app: Any) -> None:
        from textual._compositor import CompositorUpdate

        self.app = app
        self.terminal = ShadowTerminal(*SIZE)
        self.done: Callable[[ShadowTerminal], bool] | None = None
        self.stopped_at = 0.0
        self.event = asyncio.Event()
        self.frames = 0
        self.bytes = 0
        original = app._display
        self.terminal.write(
            app.screen._compositor.render_full_update().render_segments(app.console)
        )

        def display(screen: Any, renderable: Any) -> None:
            output = None
            if isinstance(renderable, CompositorUpdate):
                output = renderable.render_segments(app.console)
                self.bytes += len(output)
                self.frames += 1
            original(screen, renderable)
            shown_at = time.perf_counter()
            if output is not None:
                self.terminal.write(output)
            if self.done is not None and self.done(self.terminal):
                self.stopped_at = shown_at
                self.done = None
                self.event.set()

        app._display = display

    async def time_key(self, key: str, done: Callable[[ShadowTerminal], bool]) -> tuple[float, int]:
        """Milliseconds from the key to the frame that shows its effect, and how many frames
        went out until then."""
        self.event.clear()
        self.done = done
        frames = self.frames
        driver = self.app._driver
        started = time.perf_counter()
        driver.send_message(_key_event(key))
        await asyncio.wait_for(self.event.wait(), timeout=30)
        return (self.stopped_at - started) * 1000, self.frames - frames


def shows(terminal: ShadowTerminal, widget: Any, text: str, *, exactly: bool = False) -> bool:
    """The terminal shows ``text`` where ``widget`` is (at the start of its first row; with
    ``exactly``, nothing after it on that row)."""
    region = widget.region
    row = terminal.row(region.y)[region.x :]
    return row.rstrip() == text if exactly else row.startswith(text)


async def settle(pilot: Any) -> None:
    """Drain the app, then wait as a typist would before the next key (``KEY_GAP``)."""
    await pilot.pause()
    await asyncio.sleep(KEY_GAP)


def _bare_app() -> Any:
    from textual.app import App, ComposeResult
    from textual.widgets import Input, Label

    class Echo(App[None]):
        def compose(self) -> ComposeResult:
            field = Input(compact=True, id="field")
            field.cursor_blink = False  # as on the Clients screen
            yield field
            yield Label("", id="echo")

        def on_input_changed(self, event: Input.Changed) -> None:
            self.query_one("#echo", Label).update(event.value)

    return Echo()


# (key, text after it) → (ms to its frame, frames it took)
Step = Callable[[str, str], Awaitable[tuple[float, int]]]


@asynccontextmanager
async def _bare_session() -> AsyncIterator[Step]:
    """The echo app, ready for keys."""
    from textual.widgets import Input, Label

    app = _bare_app()
    async with app.run_test(size=SIZE) as pilot:
        clock = FrameClock(app)
        await pilot.pause()
        field, label = app.query_one(Input), app.query_one("#echo", Label)
        field.focus()
        await pilot.pause()

        async def step(key: str, text: str) -> tuple[float, int]:
            def done(terminal: ShadowTerminal) -> bool:
                return shows(terminal, field, text) and shows(terminal, label, text, exactly=True)

            timed = await clock.time_key(key, done)
            await settle(pilot)
            return timed

        yield step


@asynccontextmanager
async def _app_session(
    cache_path: Path, today: date, expected: dict[str, tuple[int, str | None]]
) -> AsyncIterator[Step]:
    """The real app on its Clients screen, the search field focused, ready for keys; after
    each key the screen is checked against ``expected`` (count, first row)."""
    from textual.widgets import Input

    from partner_tui.app import PartnerApp
    from partner_tui.core.cache import CacheDB
    from partner_tui.core.formatting import format_int
    from partner_tui.core.safe_text import clean
    from partner_tui.screens.clients import ClientsScreen
    from partner_tui.widgets.text_line import TextLine

    cache = CacheDB(cache_path)
    me = cache.get_meta("me_user_id")
    app = PartnerApp(
        cache, None, offline_reason="benchmark", today=today, caller_id=int(me) if me else None
    )
    async with app.run_test(size=SIZE) as pilot:
        clock = FrameClock(app)
        await pilot.press("2")
        deadline = time.monotonic() + 120
        while not (app.loaded and isinstance(app.screen, ClientsScreen)):
            if time.monotonic() > deadline:
                raise RuntimeError("the Clients screen never loaded")
            await pilot.pause(0.05)
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ClientsScreen)
        await pilot.press("slash")
        await pilot.pause()
        search = screen.query_one("#clients-search", Input)
        if not search.has_focus:
            raise RuntimeError("'/' did not focus the search field")
        count_line = screen.query_one("#clients-count", TextLine)
        model, table = screen.model, screen.table

        async def step(key: str, text: str) -> tuple[float, int]:
            first_row = table.region.y + 1  # under the header

            def done(terminal: ShadowTerminal) -> bool:
                if model.filter.text != text or not shows(terminal, search, text):
                    return False
                if count_line.text.strip() not in terminal.row(count_line.region.y):
                    return False
                # The table's top row on screen is the client it has there now (typing puts
                # the best match there; a cleared search keeps the cursor's client in view).
                top = int(table.scroll_offset.y)
                if top >= table.row_count:
                    return True
                return clean(table.source.cells(top)[1])[:12] in terminal.row(first_row)

            timed = await clock.time_key(key, done)
            await settle(pilot)
            want_count, want_first = expected[text]
            shown = count_line.text
            if format_int(want_count, app.language) not in shown or (table.row_count != want_count):
                raise AssertionError(
                    f"after {text!r}: the screen says {shown!r} / "
                    f"{table.row_count} rows, expected {want_count}"
                )
            first = table.source.cells(0)[1] if want_count else None
            if want_first is not None and first is not None and want_first not in first:
                raise AssertionError(
                    f"after {text!r}: first row {first!r}, expected {want_first!r}"
                )
            return timed

        yield step
    cache.dispose()


def _load_model(cache_path: Path) -> Any:
    from contextlib import closing

    from partner_tui.core.cache import CacheDB
    from partner_tui.core.queries import ClientListModel

    cache = CacheDB(cache_path)
    try:
        me = cache.get_meta("me_user_id")
        with closing(cache.raw()) as conn:
            return ClientListModel(conn, caller_id=int(me) if me else None)
    finally:
        cache.dispose()


def _filter_itself(model: Any, keys: list[str], rounds: int) -> list[float]:
    from partner_tui.core.queries import ClientFilter

    times: list[float] = []
    for _ in range(rounds):
        for text in texts_after(keys):
            started = time.perf_counter()
            model.apply(ClientFilter(text=text))
            model.rows(0, VISIBLE_ROWS)
            times.append((time.perf_counter() - started) * 1000)
    model.apply(ClientFilter())
    return times


def _expected(model: Any, keys: list[str]) -> dict[str, tuple[int, str | None]]:
    from partner_tui.core.queries import ClientFilter

    out: dict[str, tuple[int, str | None]] = {}
    for text in texts_after(keys):
        model.apply(ClientFilter(text=text))
        rows = model.rows(0, 1)
        out[text] = (model.visible_count, rows[0].name if rows else None)
    model.apply(ClientFilter())
    return out


WARM_KEYS = ["x", "backspace"]  # first frames pay one-off costs: not counted
PROTOCOL = "@@"  # marks the children's lines meant for the parent


def _say(payload: object) -> None:
    print(PROTOCOL + json.dumps(payload), flush=True)


async def _serve(kind: str, cache_path: Path, today: date) -> None:
    """One app in a child process, pressing the keys the parent sends on stdin (one per
    line) and answering each with its time; ``bare`` or ``app``."""
    loop = asyncio.get_running_loop()
    extra: dict[str, Any] = {}
    expected: dict[str, tuple[int, str | None]] = {}
    if kind == "app":
        model = _load_model(cache_path)
        extra = {"filter": _filter_itself(model, ROUND, 3), "clients": model.total}
        expected = _expected(model, WARM_KEYS + ROUND)
        del model
    gc.collect()
    session = _app_session(cache_path, today, expected) if kind == "app" else _bare_session()
    async with session as step:
        text = ""
        for key in WARM_KEYS:
            text = text[:-1] if key == "backspace" else text + key
            await step(key, text)
        _say({"ready": kind, **extra})
        while (line := (await loop.run_in_executor(None, sys.stdin.readline)).strip()) != "":
            if line == "quit":
                break
            text = text[:-1] if line == "backspace" else text + line
            ms, frames = await step(line, text)
            _say({"ms": ms, "frames": frames})


class _Child:
    """A ``_serve`` child process, driven one key at a time."""

    def __init__(self, kind: str, cache_path: Path, today: date) -> None:
        command = [sys.executable, "-m", "benchmarks.keystroke", "--serve", kind]
        command += ["--cache", str(cache_path), "--today", today.isoformat()]
        self.proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith(PROTOCOL):
                return dict(json.loads(line[len(PROTOCOL) :]))
        raise RuntimeError(f"a keystroke child ended (exit {self.proc.wait()})")

    def press(self, key: str) -> tuple[float, int]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(key + "\n")
        self.proc.stdin.flush()
        answer = self.read()
        return float(answer["ms"]), int(answer["frames"])

    def close(self) -> None:
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _lockstep(cache_path: Path, rounds: int, today: date) -> dict[str, Any]:
    """Both apps alive side by side, each key pressed in one and then the other (which goes
    first alternates): a burst of noise on a shared machine lands on both alike."""
    bare, app = _Child("bare", cache_path, today), _Child("app", cache_path, today)
    try:
        bare.read()
        ready = app.read()
        timed: dict[str, list[tuple[float, int]]] = {"app": [], "bare": []}
        for _ in range(rounds):
            for i, key in enumerate(ROUND):
                order = [("app", app), ("bare", bare)] if i % 2 else [("bare", bare), ("app", app)]
                for kind, child in order:
                    timed[kind].append(child.press(key))
    finally:
        bare.close()
        app.close()
    app_ms, bare_ms = ([ms for ms, _ in timed[kind]] for kind in ("app", "bare"))
    return {
        "app": {**summary(app_ms), "frames": _frames(timed["app"])},
        "bare": {**summary(bare_ms), "frames": _frames(timed["bare"])},
        "filter": summary(ready["filter"]),
        "samples": len(ROUND),
        "clients": ready["clients"],
        "raw": {"app": app_ms, "bare": bare_ms},
    }


def _frames(timed: list[tuple[float, int]]) -> dict[str, int]:
    """How many keys took how many frames to show their effect ({"1": 178, "2": 2})."""
    counts: dict[str, int] = {}
    for _, frames in timed:
        counts[str(frames)] = counts.get(str(frames), 0) + 1
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--today", default=TODAY.isoformat())
    parser.add_argument("--serve", choices=["bare", "app"])
    args = parser.parse_args(argv)
    today = date.fromisoformat(args.today)
    if args.serve:
        asyncio.run(_serve(args.serve, args.cache, today))
        return 0
    print(json.dumps(_lockstep(args.cache, args.rounds, today)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
