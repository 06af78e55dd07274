"""A tiny runner started as a fresh process by the cold-start, memory and idle-bytes measures.

``python -m benchmarks.app_runner --app partner|bare --cache FILE [--until ...]``

- ``--app partner``: ``PartnerApp`` on the cache, offline (built as ``partner-tui --offline``
  builds it); ``--app bare``: a bare Textual app with one Label.
- ``--until ready`` (cold start): exit as soon as a frame is displayed in which the dashboard
  shows its figures (bare: the Label). ``--until clients`` (memory): after that, open the
  Clients screen, filter, sort, come back, then report peak and current RSS.
  ``--until never`` (idle bytes): keep running; ``--ready-file`` is written at the ready frame.
- ``--headless``: no terminal. Headless Textual skips turning frames into terminal bytes, so
  the runner does that conversion itself (``render_segments``), as a terminal run would.

Prints one JSON line: in-process timings (ms since the runner's first line) and RSS.
"""

from __future__ import annotations

import time

T0 = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from datetime import date  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402


def rss_mb() -> dict[str, float]:
    """Peak (VmHWM) and current (VmRSS) resident set size of this process, in MB."""
    out: dict[str, float] = {}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                out[key] = int(rest.split()[0]) / 1024
    except OSError:
        import resource

        out["VmHWM"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def ms() -> float:
    return (time.perf_counter() - T0) * 1000


def build_app(kind: str, cache_path: Path | None, today: date) -> tuple[Any, Any]:
    """(app, ready predicate)."""
    if kind == "bare":
        from textual.app import App, ComposeResult
        from textual.widgets import Label

        class Bare(App[None]):
            def compose(self) -> ComposeResult:
                yield Label("Partneradmin", id="label")

        bare = Bare()

        def bare_ready() -> bool:
            return bool(bare.query("#label"))

        return bare, bare_ready

    from partner_tui.app import PartnerApp
    from partner_tui.core.cache import CacheDB
    from partner_tui.screens.dashboard import DashboardScreen

    assert cache_path is not None
    cache = CacheDB(cache_path)
    me = cache.get_meta("me_user_id")
    app = PartnerApp(
        cache, None, offline_reason="--offline", today=today, caller_id=int(me) if me else None
    )

    def partner_ready() -> bool:
        screen = app.screen
        return (
            isinstance(screen, DashboardScreen)
            and screen.figures is not None
            and bool(screen.query_one("#dash-grid").display)
        )

    return app, partner_ready


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--app", choices=["partner", "bare"], required=True)
    parser.add_argument("--cache", type=Path)
    parser.add_argument("--until", choices=["ready", "clients", "never"], default="ready")
    parser.add_argument("--headless", action="store_true")
    parser.add_argument("--ready-file", type=Path)
    parser.add_argument("--today", default="2026-12-10")
    parser.add_argument("--out", type=Path, help="write the JSON here instead of stdout")
    args = parser.parse_args(argv)

    os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")  # as partner-tui sets it
    app, ready = build_app(args.app, args.cache, date.fromisoformat(args.today))
    t_built = ms()
    marks: dict[str, float] = {"built": t_built}
    state = {"ready": False}

    from textual._compositor import CompositorUpdate

    original = app._display
    headless = args.headless

    def display(screen: Any, renderable: Any) -> None:
        if headless and isinstance(renderable, CompositorUpdate):
            renderable.render_segments(app.console)  # the work a terminal run does
        original(screen, renderable)
        if state["ready"] or not ready():
            return
        state["ready"] = True
        marks["ready"] = ms()
        if args.ready_file is not None:
            args.ready_file.write_text(json.dumps(marks))
        if args.until == "ready":
            app.exit()

    app._display = display

    auto_pilot = None
    if args.until == "clients":

        async def drive(pilot: Any) -> None:
            from partner_tui.screens.clients import ClientsScreen

            while not state["ready"]:
                await pilot.pause(0.02)
            await pilot.press("2")
            while not (
                isinstance(app.screen, ClientsScreen)
                and app.loaded  # the client list is built in the background after the dashboard
                and app.screen.table.row_count == app.client_model.total
            ):
                await pilot.pause(0.02)
            marks["clients"] = ms()
            await pilot.press("slash", *"as", "escape")  # filter, then clear it
            await pilot.press("escape", "s", "s", "S")  # sort by other columns
            await pilot.press("1")
            await pilot.pause()
            marks["end"] = ms()
            marks.update({f"rss_{k}": v for k, v in rss_mb().items()})
            app.exit()

        auto_pilot = drive

    if headless:
        app.run(headless=True, size=(120, 40), auto_pilot=auto_pilot)
    else:
        app.run(auto_pilot=auto_pilot)
    marks["exited"] = ms()
    if "rss_VmHWM" not in marks:
        marks.update({f"rss_{k}": v for k, v in rss_mb().items()})
    text = json.dumps(marks)
    if args.out is not None:
        args.out.write_text(text)
    else:
        print(text)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
