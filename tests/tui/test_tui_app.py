"""Pilot tests of the app: figures, month stepping, filters, the partner list with hostile
names, selection in the status line, help, offline and sync states."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Select
from textual.worker import WorkerCancelled

from partner_api.wire import DashboardFigures
from partner_tui.app import PartnerApp
from partner_tui.core.cache import CacheDB, set_meta
from partner_tui.core.formatting import format_amount, format_int, format_percent
from partner_tui.core.i18n import t
from partner_tui.core.queries import LoadCancelled
from partner_tui.screens.client_detail import ClientDetailModal
from partner_tui.screens.clients import ClientsScreen
from partner_tui.screens.dashboard import DashboardScreen
from partner_tui.screens.help import HelpScreen
from partner_tui.widgets.figure_card import FigureCard
from partner_tui.widgets.status_line import StatusLine
from partner_tui.widgets.virtual_table import VirtualTable
from tests.tui.conftest import (
    CLIENTS,
    GRANTS,
    MEMBERS,
    MONTHS,
    TODAY,
    ApiError,
    ApiUnreachable,
    FakeSyncer,
)

SIZE = (120, 40)
NBSP = "\u00a0"


# ---- helpers ---------------------------------------------------------------------------------


async def settle(pilot: Pilot[None]) -> None:
    """Wait until workers are done and their messages are handled (no fixed sleeps)."""
    for _ in range(4):
        with contextlib.suppress(WorkerCancelled):  # an exclusive worker was replaced
            await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def screen_text(app: PartnerApp) -> str:
    """What the terminal shows, line by line, as plain text."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(seg.text for seg in strip) for strip in strips)


def status_text(app: PartnerApp) -> str:
    return app.screen.query_one(StatusLine).text


def card(app: PartnerApp, name: str) -> FigureCard:
    return app.screen.query_one(f"#fig-{name}", FigureCard)


DEADLINES = {
    "2026-09": date(2026, 10, 5),
    "2026-10": date(2026, 11, 5),
    "2026-11": date(2026, 12, 7),
}
PREVIOUS = {"2026-10": "2026-09", "2026-11": "2026-10", "2026-12": "2026-11"}


def expected(
    month: str, *, group: int | None = None, user: int | None = None, today: date = TODAY
) -> DashboardFigures:
    """The figures by hand over the fixture rows (independent of the app's SQL)."""
    ids = {c[0] for c in CLIENTS}
    if group is not None:
        ids &= {c for g, c in MEMBERS if g == group}
    if user is not None:
        ids &= {c for u, c, _r in GRANTS if u == user}
    payroll = {c[0] for c in CLIENTS if c[0] in ids and c[3] and c[4] == "active"}
    rows = [m for m in MONTHS if m[1] == month and m[0] in ids]
    prev = PREVIOUS[month]
    rejected = sum(1 for m in MONTHS if m[1] == prev and m[0] in ids and m[9] == "avvist")
    reported = {m[0] for m in MONTHS if m[1] == prev and m[9] is not None}
    return DashboardFigures(
        month=month,
        payroll_clients=len(payroll),
        active_employees=sum(m[2] for m in rows),
        payslips_sent=sum(m[3] for m in rows),
        claims=sum(m[4] for m in rows),
        absences=sum(m[5] for m in rows),
        automation_auto_steps=sum(m[6] for m in rows),
        automation_total_steps=sum(m[7] for m in rows),
        amelding_rejected_last_month=rejected,
        amelding_missing_last_month=len(payroll - reported) if today > DEADLINES[prev] else 0,
        salary_paid_ore=sum(m[8] for m in rows),
    )


def assert_cards_show(app: PartnerApp, f: DashboardFigures) -> None:
    for name in ("payroll_clients", "active_employees", "payslips_sent", "claims", "absences"):
        assert card(app, name).value == format_int(getattr(f, name)), name
    assert card(app, "automation").value == format_percent(f.automation_percent)
    assert card(app, "amelding").value == (
        f"{f.amelding_rejected_last_month} avvist, {f.amelding_missing_last_month} mangler"
    )
    assert card(app, "salary").value == format_amount(f.salary_paid_ore)
    text = screen_text(app)
    for name in ("salary", "amelding", "automation", "active_employees"):
        assert card(app, name).value in text, name


# ---- dashboard -------------------------------------------------------------------------------


async def test_dashboard_shows_the_figures(cache: CacheDB) -> None:
    app = PartnerApp(cache, today=TODAY)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        f = expected("2026-11")
        assert_cards_show(app, f)
        text = screen_text(app)
        assert "Nøkkeltall for november 2026" in text
        # the numbers a payroll accountant checks, written out
        assert f"1{NBSP}304{NBSP}068,39" in text
        assert "65,2" in text and "1 avvist, 1 mangler" in text
        assert "for oktober 2026" in text and "frist 05.11.2026" in text
        # before the deadline the card says so, and at 120 columns it fits (the longest month)
        card = app.screen.query_one("#fig-amelding", FigureCard)
        before = t("fig.amelding_detail_before", "nb", month="september 2026", date="07.12.2026")
        card.set(card.value, detail=before, alert=True)
        await pilot.pause()
        text = screen_text(app)
        assert "for september 2026" in text and "før frist 07.12.2026" in text


async def test_month_stepping_changes_the_figures(cache: CacheDB) -> None:
    app = PartnerApp(cache, today=TODAY)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("left_square_bracket")
        await settle(pilot)
        assert "Nøkkeltall for oktober 2026" in screen_text(app)
        assert_cards_show(app, expected("2026-10"))
        assert card(app, "amelding").value == "0 avvist, 4 mangler"
        await pilot.press("right_square_bracket", "right")
        await settle(pilot)
        assert "desember 2026" in screen_text(app)
        f = expected("2026-12") if "2026-12" in PREVIOUS else None
        assert f is not None
        assert_cards_show(app, f)
        assert card(app, "automation").value == "–"  # no payroll runs yet
        await pilot.press("left")
        await settle(pilot)
        assert_cards_show(app, expected("2026-11"))


async def test_group_and_accountant_filters_change_the_figures(cache: CacheDB) -> None:
    app = PartnerApp(cache, today=TODAY)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f")
        await pilot.pause()
        app.screen.query_one("#pick-group", Select).value = 10
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        assert_cards_show(app, expected("2026-11", group=10))
        assert "Gruppe: Utbetaling 20." in screen_text(app)
        await pilot.press("f")
        await pilot.pause()
        app.screen.query_one("#pick-user", Select).value = 2
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert_cards_show(app, expected("2026-11", group=10, user=2))
        await pilot.press("escape")  # clears every filter
        await settle(pilot)
        assert_cards_show(app, expected("2026-11"))


# ---- clients ---------------------------------------------------------------------------------


async def open_clients(pilot: Pilot[None]) -> PartnerApp:
    await settle(pilot)
    await pilot.press("2")
    await settle(pilot)
    app = pilot.app
    assert isinstance(app, PartnerApp) and isinstance(app.screen, ClientsScreen)
    return app


async def test_clients_count_filter_and_escape(cache: CacheDB) -> None:
    app = PartnerApp(cache, today=TODAY)
    async with app.run_test(size=SIZE) as pilot:
        app = await open_clients(pilot)
        assert "6 av 6 klienter" in screen_text(app)
        await pilot.press("slash", *"acme")
        await pilot.pause()
        assert "2 av 6 klienter" in screen_text(app)
        await pilot.press("space", "k", "a", "r", "i")  # "acme kari": words are ANDed
        await pilot.pause()
        assert "2 av 6 klienter" in screen_text(app)
        await pilot.press(*" nord")
        await pilot.pause()
        assert "2 av 6 klienter" in screen_text(app)
        await pilot.press(*"mann [/]")
        await pilot.pause()
        assert "1 av 6 klienter" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert "6 av 6 klienter" in screen_text(app)


async def test_a_burst_of_keys_after_slash_all_go_to_the_search(cache: CacheDB) -> None:
    """ "/acme" arriving in one read (fast typing, a paste, SSH batching): every key after the
    slash lands in the search field, none in the table ("r" there would start a sync)."""
    from textual import events

    syncer = FakeSyncer(cache)
    app = PartnerApp(cache, syncer, today=TODAY)
    async with app.run_test(size=SIZE) as pilot:
        app = await open_clients(pilot)
        await settle(pilot)
        calls = syncer.calls
        for key, char in [("slash", "/"), ("r", "r"), ("ø", "ø"), ("r", "r")]:
            app._driver.send_message(events.Key(key, char))  # together, no pause between
        await settle(pilot)
        search = app.screen.query_one("#clients-search")
        assert search.value == "rør"
        assert syncer.calls == calls  # no sync was started by the "r"s
        assert "1 av 6 klienter" in screen_text(app)
        app._driver.send_message(events.Key("slash", "/"))  # in the field, "/" is typed
        await settle(pilot)
        assert search.value == "rør/"
        app._driver.send_message(events.Key("2", "2"))  # a screen key: typed in the field
        await settle(pilot)
        assert search.value == "rør/2" and isinstance(app.screen, ClientsScreen)


async def test_a_slash_and_an_enter_inside_a_burst_keep_their_place(cache: CacheDB) -> None:
    """Keys arriving in one read keep their order around "/" and Enter: "A/S" typed fast is
    "a/s" in the field (the slash used to jump to the front: "/as"), and "Enter j j" leaves
    the field for the table and moves its cursor (the j's used to be typed: "berjj")."""
    from textual import events

    def burst(app: PartnerApp, keys: list[tuple[str, str | None]]) -> None:
        for key, char in keys:
            app._driver.send_message(events.Key(key, char))  # together, no pause between

    app = PartnerApp(cache, today=TODAY)
    async with app.run_test(size=SIZE) as pilot:
        app = await open_clients(pilot)
        screen = app.screen
        assert isinstance(screen, ClientsScreen)
        burst(app, [("slash", "/"), ("a", "a"), ("slash", "/"), ("s", "s")])
        await settle(pilot)
        assert screen.query_one("#clients-search", Input).value == "a/s"
        # editing keys in the same read keep their place too (Textual runs them after the
        # letters that follow: "a/sx" and "a/sxy" came out)
        editing = [("backspace", "\x7f"), ("x", "x"), ("ctrl+w", "\x17"), ("left", None)]
        burst(app, [*editing, ("y", "y")])
        await settle(pilot)
        assert screen.query_one("#clients-search", Input).value == "ay/"  # a/ → a/x → a/ → ay/
        await pilot.press("end", "ctrl+u", *"acme")  # two clients
        await settle(pilot)
        table = screen.query_one(VirtualTable)
        assert table.row_count == 2 and table.cursor == 0
        burst(app, [("enter", "\r"), ("j", "j")])
        await settle(pilot)
        assert screen.query_one("#clients-search", Input).value == "acme"
        assert table.has_focus and table.cursor == 1
        with cache.write() as conn:  # its access levels and status are shown in Norwegian
            conn.exec_driver_sql(
                "UPDATE access_grant SET access_level = 'read' WHERE client_id = ?",
                (table.cursor_key,),
            )
            conn.exec_driver_sql(
                "UPDATE client SET status = 'archived' WHERE id = ?", (table.cursor_key,)
            )
        await pilot.press("enter")  # on the table, Enter opens the client as before
        await settle(pilot)
        assert isinstance(app.screen, ClientDetailModal)
        detail = screen_text(app)
        assert "les, automatisk" in detail and "read," not in detail
        assert "Status: arkivert" in detail and "archived" not in detail
        await pilot.press("escape")
        await pilot.press("3")
        await settle(pilot)
        burst(app, [("slash", "/"), ("k", "k"), ("slash", "/"), ("a", "a")])
        await settle(pilot)
        assert app.screen.query_one("#access-search", Input).value == "k/a"


async def test_keys_typed_right_after_a_screen_key_go_to_the_new_screen(cache: CacheDB) -> None:
    """ "2/rør" in one burst from the dashboard: the Clients screen opens and gets the whole
    search; none of the keys reach the dashboard (its "r" would start a sync)."""
    from textual import events

    syncer = FakeSyncer(cache)
    app = PartnerApp(cache, syncer, today=TODAY)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        calls = syncer.calls
        for key, char in [("2", "2"), ("slash", "/"), ("r", "r"), ("ø", "ø"), ("r", "r")]:
            app._driver.send_message(events.Key(key, char))
        await settle(pilot)
        assert isinstance(app.screen, ClientsScreen)
        assert app.screen.query_one("#clients-search").value == "rør"
        assert syncer.calls == calls


async def test_the_cursor_goes_to_the_first_match_and_back_to_its_client(cache: CacheDB) -> None:
    """Typing a search puts the best match under the cursor (enter opens it); esc brings the
    whole list back with the cursor still on the client it was on."""
    app = PartnerApp(cache, today=TODAY)
    async with app.run_test(size=SIZE) as pilot:
        app = await open_clients(pilot)
        table = app.screen.query_one(VirtualTable)
        await pilot.press("j", "j", "j")
        assert table.cursor == 3
        await pilot.press("slash", *"acme")
        await settle(pilot)
        assert table.row_count == 2 and table.cursor == 0
        await pilot.press("enter", "j")  # to the table, then the second match
        await settle(pilot)
        chosen = table.cursor_key
        assert chosen is not None and table.cursor == 1
        await pilot.press("escape")
        await settle(pilot)
        assert table.row_count == 6
        assert table.cursor_key == chosen and table.cursor == app.client_model.index_of(chosen)


async def test_hostile_names_render_literally(cache: CacheDB) -> None:
    app = PartnerApp(cache, today=TODAY)
    async with app.run_test(size=SIZE) as pilot:
        app = await open_clients(pilot)
        text = screen_text(app)
        lines = text.splitlines()
        assert any("Acme [/] AS" in line for line in lines)
        assert any("[@click=app.quit] Rør AS" in line for line in lines)
        assert any("[link=https://evil." in line for line in lines)
        assert "Per [bold]Pål (M)" in text
        assert "Acme]0;PWNED Nord AS" in text  # the ESC and BEL are gone
        assert "\x1b" not in text and "\x07" not in text
        # clicking the row whose name looks like an action must not run it
        row = next(i for i, line in enumerate(lines) if "[@click=app.quit]" in line)
        name_x = lines[row].index("[@click")
        await pilot.click(offset=(name_x + 2, row))
        await pilot.pause()
        assert app.is_running and app.return_code is None


async def test_selection_updates_the_status_line(cache: CacheDB) -> None:
    app = PartnerApp(cache, today=TODAY)
    async with app.run_test(size=SIZE) as pilot:
        app = await open_clients(pilot)
        assert "0 valgt" in status_text(app)
        await pilot.press("space", "space")  # rows 1 and 2 by name: Rør AS, Acme [/] AS
        await pilot.pause()
        assert "2 valgt" in status_text(app)
        assert "2 valgt" in screen_text(app)
        await pilot.press("slash", *"acme", "enter")
        await pilot.pause()
        assert "2 valgt (1 skjult av filter)" in status_text(app)
        await pilot.press("a")  # select all shown: Acme [/] AS and Acme…Nord
        await pilot.pause()
        assert "3 valgt (1 skjult av filter)" in status_text(app)
        assert "3 valgt (1 skjult av filter)" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert "3 valgt" in status_text(app) and "skjult" not in status_text(app)
        assert "2 ventende endringer" in status_text(app)


async def test_sort_keys(cache: CacheDB) -> None:
    app = PartnerApp(cache, today=TODAY)
    async with app.run_test(size=SIZE) as pilot:
        app = await open_clients(pilot)
        table = app.screen.query_one("#client-table")
        first = app.client_model.row(0).name
        assert first == "[@click=app.quit] Rør AS"
        await pilot.press("S")
        await pilot.pause()
        assert app.client_model.row(0).name == "Åsen Bygg AS"
        assert "Navn ▼" in screen_text(app)
        await pilot.press("s")  # next column: groups
        await pilot.pause()
        assert app.client_model.sort.column == "groups"
        assert table.has_focus
        await pilot.press("s")  # Altinn: a 7-cell column, its label cut so the arrow shows
        await pilot.pause()
        assert app.client_model.sort.column == "altinn"
        assert "Alti… ▲ " in screen_text(app)


async def test_enter_opens_the_client_with_its_access(cache: CacheDB) -> None:
    app = PartnerApp(cache, today=TODAY)
    async with app.run_test(size=SIZE) as pilot:
        app = await open_clients(pilot)
        await pilot.press("j", "enter")  # second row by name: Acme [/] AS
        await settle(pilot)
        text = screen_text(app)
        assert "Acme [/] AS" in text
        assert "Kari Nordmann" in text and "ansvarlig" in text and "Ola Hansen" in text
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ClientsScreen)


async def test_help_lists_the_keys_of_the_screen(cache: CacheDB) -> None:
    app = PartnerApp(cache, today=TODAY)
    async with app.run_test(size=SIZE) as pilot:
        app = await open_clients(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        for label in ("Velg alle", "Søk", "Sorter", "Synk", "Avslutt", "Hjelp", "Kommandoer"):
            assert label in text, label
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, ClientsScreen)
        await pilot.press("1")
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert "Forrige mnd" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)


# ---- offline, empty, sync --------------------------------------------------------------------


@pytest.fixture()
def oslo_tz(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "Europe/Oslo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


async def test_offline_with_empty_cache_says_what_to_do(empty_cache: CacheDB) -> None:
    app = PartnerApp(empty_cache, today=TODAY, offline_reason="--offline")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        message = (
            "Ingen lokale data ennå. Kjør `partner-tui demo` eller `partner-tui sync --api URL`."
        )
        assert message in screen_text(app).replace("\n", " ") or message in " ".join(
            line.strip() for line in screen_text(app).splitlines()
        )
        assert "frakoblet (--offline) — aldri synkronisert" in status_text(app)
        await pilot.press("2")
        await settle(pilot)
        assert "0 av 0 klienter" in screen_text(app)
        assert "Ingen lokale data ennå." in screen_text(app)


async def test_offline_status_shows_last_sync_time(cache: CacheDB, oslo_tz: None) -> None:
    app = PartnerApp(cache, today=TODAY)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "frakoblet — sist synkronisert 03.12.2026 14:05" in status_text(app)
        assert "2 ventende endringer" in screen_text(app)


async def test_sync_fills_an_empty_cache(empty_cache: CacheDB) -> None:
    syncer = FakeSyncer(empty_cache, extra_client=(7, "910000007", "Ny Klient AS"))
    app = PartnerApp(empty_cache, syncer, today=TODAY)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert syncer.calls == 1
        assert "tilkoblet" in status_text(app) and "synkronisert" in status_text(app)
        assert "Ingen lokale data" not in screen_text(app)
        assert card(app, "payroll_clients").value == "5"  # 4 + the new one
        await pilot.press("2")
        await settle(pilot)
        assert "7 av 7 klienter" in screen_text(app)
        await pilot.press("r")
        await settle(pilot)
        assert syncer.calls == 2
        assert "7 av 7 klienter" in screen_text(app)


@pytest.mark.parametrize(
    ("error", "shown"),
    [
        (
            ApiError("Tokenet er utløpt [/] [@click=app.quit]"),
            "Synkronisering feilet: Tokenet er utløpt [/] [@click=app.quit]",
        ),
        (ApiUnreachable("connection refused"), "Får ikke kontakt med serveren: connection refused"),
    ],
)
async def test_sync_failure_goes_offline_with_a_message(
    cache: CacheDB, error: Exception, shown: str
) -> None:
    app = PartnerApp(cache, FakeSyncer(cache, fail=error), today=TODAY)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        messages = [n.message for n in app._notifications]
        assert shown in messages
        assert "frakoblet" in status_text(app)
        assert app.is_running
        assert_cards_show(app, expected("2026-11"))  # the cache still shows


async def test_english(cache: CacheDB) -> None:
    app = PartnerApp(cache, today=TODAY, language="en")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        text = screen_text(app)
        assert "Key figures for November 2026" in text
        assert "1,304,068.39" in text
        assert "1 rejected, 1 missing" in text
        await pilot.press("2")
        await settle(pilot)
        assert "6 of 6 clients" in screen_text(app)


# ---- a big list: only the visible rows are drawn ------------------------------------------


async def test_virtual_table_navigation_over_many_rows(tmp_path: Path) -> None:
    db = CacheDB(tmp_path / "big.sqlite")
    with db.write() as conn:
        conn.exec_driver_sql(
            "INSERT INTO client (id, version, orgnr, name, payroll_enabled, uses_partner_altinn,"
            " status) VALUES (?, 1, ?, ?, 1, 0, 'active')",
            [(i, f"{900000000 + i}", f"Klient {i:05d} AS") for i in range(1, 5001)],
        )
        set_meta(conn, "cursor", "c")
    app = PartnerApp(db, today=TODAY)
    async with app.run_test(size=SIZE) as pilot:
        app = await open_clients(pilot)
        table = app.screen.query_one("#client-table", VirtualTable)
        assert f"5{NBSP}000 av 5{NBSP}000 klienter" in screen_text(app)
        await pilot.press("G")
        await pilot.pause()
        assert table.cursor == 4999
        assert "Klient 05000 AS" in screen_text(app)
        assert "Klient 00001 AS" not in screen_text(app)
        await pilot.press("g", "pagedown")
        await pilot.pause()
        page = table.scrollable_content_region.height - 1
        assert table.cursor == page
        assert f"Klient {page + 1:05d} AS" in screen_text(app)
        await pilot.press("k", "up", "j")
        await pilot.pause()
        assert table.cursor == page - 1
        await pilot.press("a")
        await pilot.pause()
        assert f"5{NBSP}000 valgt" in status_text(app)
    db.dispose()


async def test_stepping_back_stops_at_the_first_month_with_data(cache: CacheDB) -> None:
    app = PartnerApp(cache, today=TODAY)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        first = min(m[1] for m in MONTHS)
        await pilot.press(*["left_square_bracket"] * 5)
        await settle(pilot)
        assert app.screen.month == first  # type: ignore[attr-defined]
        assert_cards_show(app, expected(first))


# ---- staged start: the figures first, the client list in the background ---------------------


async def wait_until(pilot: Pilot[None], ready: Callable[[], bool], timeout: float = 30) -> None:
    """Poll (no settle: it would wait for a deliberately held worker)."""
    deadline = time.monotonic() + timeout
    while not ready():
        assert time.monotonic() < deadline, "timed out"
        await pilot.pause(0.01)


@pytest.fixture()
def held_lists(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Holds the app's background build of the client list until the event is set."""
    import partner_tui.app as app_module

    release = threading.Event()
    real = app_module.read_lists

    def held(conn: Any, should_stop: Callable[[], bool] | None = None) -> Any:
        while not release.wait(0.01):
            if should_stop is not None and should_stop():
                raise LoadCancelled
        return real(conn, should_stop)

    monkeypatch.setattr(app_module, "read_lists", held)
    yield release
    release.set()


async def test_the_figures_come_before_the_client_list(
    cache: CacheDB, held_lists: threading.Event
) -> None:
    app = PartnerApp(cache, today=TODAY)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: getattr(app.screen, "figures", None) is not None)
        assert not app.loaded  # the client list is still being built
        screen = app.screen
        assert isinstance(screen, DashboardScreen) and screen.figures is not None
        f = expected("2026-11")
        assert DashboardFigures(**asdict(screen.figures)) == f  # every field, exactly
        await pilot.pause()
        assert_cards_show(app, f)
        assert "2 ventende endringer" in status_text(app)  # the start facts are in
        await pilot.press("f")  # the pickers read users and groups on the spot
        await wait_until(pilot, lambda: bool(app.screen.query("#pick-group")))
        app.screen.query_one("#pick-group", Select).value = 10
        await pilot.press("escape")
        await wait_until(pilot, lambda: isinstance(app.screen, DashboardScreen))
        await wait_until(pilot, lambda: card(app, "payroll_clients").value == "2")
        assert_cards_show(app, expected("2026-11", group=10))
        assert "Gruppe: Utbetaling 20." in screen_text(app)
        await pilot.press("escape")  # clears the filter again
        await wait_until(pilot, lambda: card(app, "payroll_clients").value == "4")
        await pilot.press("2")
        await wait_until(pilot, lambda: isinstance(app.screen, ClientsScreen))
        await pilot.pause()
        text = screen_text(app)
        assert "Laster klientlisten …" in text
        assert "klienter" not in text  # no count (0 of 0 would be wrong) and no "none match"
        assert "Ingen klienter" not in text
        await pilot.press("slash", *"acme")  # typed while the list loads: applied when it is in
        await pilot.pause()
        assert "Laster klientlisten …" in screen_text(app)
        held_lists.set()
        await settle(pilot)
        assert app.loaded
        text = screen_text(app)
        assert "2 av 6 klienter" in text and "Laster" not in text
        await pilot.press("escape")
        await pilot.pause()
        assert "6 av 6 klienter" in screen_text(app)
        await pilot.press("1")
        await settle(pilot)
        assert_cards_show(app, f)


async def test_a_role_filter_without_an_accountant_uses_the_caller(
    cache: CacheDB,
) -> None:
    app = PartnerApp(cache, today=TODAY, caller_id=2)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert_cards_show(app, expected("2026-11"))  # no filter: the caller does not matter
        await pilot.press("f")
        await pilot.pause()
        app.screen.query_one("#pick-role", Select).value = "ansvarlig"
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        # role without an accountant: the caller's own (user 2 is ansvarlig for client 2)
        screen = app.screen
        assert isinstance(screen, DashboardScreen) and screen.figures is not None
        assert screen.figures.payroll_clients == 1


async def test_quitting_while_the_client_list_loads_does_not_wait_for_it(
    cache: CacheDB, held_lists: threading.Event
) -> None:
    app = PartnerApp(cache, today=TODAY)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: any(w.group == "load" for w in app.workers))
        started = time.monotonic()
        app.exit()
    assert time.monotonic() - started < 5
    assert not app.loaded


def test_a_cancelled_list_load_stops_early(tmp_path: Path) -> None:
    from contextlib import closing

    from partner_tui.core.loading import read_lists

    db = CacheDB(tmp_path / "big.sqlite")
    with db.write() as conn:
        conn.exec_driver_sql(
            "INSERT INTO client (id, version, orgnr, name, payroll_enabled, uses_partner_altinn,"
            " status) VALUES (?, 1, ?, ?, 1, 0, 'active')",
            [(i, f"{900000000 + i}", f"Klient {i}") for i in range(1, 3001)],
        )
    polls: list[int] = []

    def stop_after_a_few() -> bool:
        polls.append(1)
        return len(polls) > 3

    with closing(db.raw()) as conn:
        with pytest.raises(LoadCancelled):
            read_lists(conn, stop_after_a_few)
        assert len(read_lists(conn).snapshot.ids) == 3000  # the connection still works
    db.dispose()


async def test_an_older_read_never_replaces_a_newer_one(cache: CacheDB) -> None:
    from partner_tui.app import load_data

    app = PartnerApp(cache, today=TODAY)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        older = load_data(cache)
        with cache.write() as conn:
            conn.exec_driver_sql(
                "INSERT INTO client (id, version, orgnr, name, payroll_enabled,"
                " uses_partner_altinn, status) VALUES (7, 9, '910000007', 'Ny AS', 1, 0, 'active')"
            )
        app._apply_data(load_data(cache))
        app._apply_data(older)  # e.g. a background load that finished after a sync's reload
        assert app.client_model.total == 7
        await settle(pilot)
        assert app.client_model.total == 7


async def test_the_sync_at_start_waits_for_the_first_figures(cache: CacheDB) -> None:
    seen: list[bool] = []

    class Watching(FakeSyncer):
        def sync(self) -> Any:
            screen = app.screen
            seen.append(isinstance(screen, DashboardScreen) and screen.figures is not None)
            return super().sync()

    app = PartnerApp(cache, Watching(cache), today=TODAY)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert seen == [True]
        assert "tilkoblet" in status_text(app)
        assert_cards_show(app, expected("2026-11"))
        await pilot.press("2")
        await settle(pilot)
        assert "6 av 6 klienter" in screen_text(app)
