"""The Access screen's bulk pipeline driven by keys against a REAL API on a loopback port."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from partner_api.app import create_app
from partner_api.db import Database
from partner_api.local_server import LocalServer
from partner_tui.app import PartnerApp
from partner_tui.core import outbox
from partner_tui.core.api_client import ApiClient
from partner_tui.core.cache import CacheDB
from partner_tui.core.sync import Syncer
from partner_tui.screens.access import AccessScreen
from partner_tui.screens.bulk_screens import PreviewScreen, ResultsScreen
from partner_tui.screens.pending import PendingScreen
from tests.conftest import ORGNRS, Tenant, make_tenant

SIZE = (130, 40)


@pytest.fixture
def served_db(sqlite_db: Database) -> Iterator[tuple[str, Tenant, Database]]:
    tenant = make_tenant(sqlite_db, "Alfa", ORGNRS)
    with LocalServer(create_app(sqlite_db)) as server:
        yield server.url, tenant, sqlite_db


@pytest.fixture
def served(served_db: tuple[str, Tenant, Database]) -> tuple[str, Tenant]:
    return served_db[0], served_db[1]


def grants_of(url: str, token: str, user_id: int) -> dict[int, str]:
    with ApiClient(url, token) as api:
        return {g.client_id: g.access_level for g in api.access_grants(user=user_id)}


async def wait_for(pilot: Pilot[None], cond: Callable[[], bool], seconds: float = 15) -> None:
    for _ in range(int(seconds / 0.05)):
        if cond():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition not reached in time")


async def pick_staff_and_select_all(pilot: Pilot[None], app: PartnerApp) -> AccessScreen:
    await pilot.press("3")
    await wait_for(pilot, lambda: isinstance(app.screen, AccessScreen))
    screen = app.screen
    assert isinstance(screen, AccessScreen)
    await pilot.press("f")
    await pilot.pause()
    await pilot.press(*"Staff", "enter")
    await wait_for(pilot, lambda: screen.picked_name.startswith("Staff") and screen.rows.rows != [])
    await pilot.press("a")
    await pilot.pause()
    return screen


def totals_of(app: PartnerApp) -> str:
    return str(app.screen.query_one("#preview-totals").render())


async def test_grant_preview_confirm_results_then_undo(served, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, tenant = served
    cache = CacheDB(tmp_path / "cache.sqlite")
    api = ApiClient(url, tenant.token)
    app = PartnerApp(cache, Syncer(api, cache), today=date.today())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.has_data and not app.status.syncing)
        screen = await pick_staff_and_select_all(pilot, app)
        assert screen.selection_counts() == (len(ORGNRS), 0)
        assert "6 valgt" in str(app.screen.query_one("StatusLine").render())
        await pilot.press("n")  # grant: the level picker opens on "les"
        await pilot.pause()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen))
        assert "gi 6, endre 0, uendret 0, fjern 0" in totals_of(app)
        assert "fra serveren" in totals_of(app)  # the dry run's exact preview
        app.save_screenshot(str(tmp_path / "preview.svg"))
        await pilot.press("enter")  # confirm: the counts again
        await pilot.pause()
        confirm = str(app.screen.query_one("#confirm-text").render())
        assert "gi 6" in confirm and "Gi tilgang (6) – Staff Alfa" in confirm  # what, to whom
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultsScreen))
        assert "opprettet 6" in str(app.screen.query_one("#results-totals").render())
        assert screen.selection_counts() == (0, 0)  # done: a second n cannot repeat it
        app.save_screenshot(str(tmp_path / "results.svg"))
        assert grants_of(url, tenant.token, tenant.staff_id) == {
            cid: "read" for cid in tenant.client_ids
        }
        # after the apply the app syncs: the table shows the new state
        await pilot.press("escape")
        await wait_for(
            pilot,
            lambda: (
                not app.status.syncing and all(r.access_level == "read" for r in screen.rows.rows)
            ),
        )
        # undo: the inverse plan through the same preview
        await pilot.press("u")
        await wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen))
        assert "fjern 6" in totals_of(app)
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultsScreen))
        assert grants_of(url, tenant.token, tenant.staff_id) == {}
    api.close()
    cache.dispose()


async def test_offline_apply_goes_to_the_outbox_and_is_pushed_later(served, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, tenant = served
    path = tmp_path / "cache.sqlite"
    cache = CacheDB(path)
    with ApiClient(url, tenant.token) as api:
        Syncer(api, cache).sync()
    app = PartnerApp(cache, None, today=date.today())  # offline
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.has_data)
        await pick_staff_and_select_all(pilot, app)
        await pilot.press("n")
        await pilot.pause()
        await pilot.press("down", "enter")  # "lønn"
        await wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen))
        assert "gi 6" in totals_of(app) and "cachen" in totals_of(app)
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("y")
        await wait_for(pilot, lambda: app.status.pending == 1)
        assert "1 ventende endring" in str(app.screen.query_one("StatusLine").render())
        # a second offline change: its preview says the queued one is not in the cache yet
        await pick_staff_and_select_all(pilot, app)
        await pilot.press("n")
        await pilot.pause()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen))
        assert "1 ventende endring er ikke med" in totals_of(app)
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("7")
        await wait_for(pilot, lambda: isinstance(app.screen, PendingScreen))
        pending = app.screen
        assert isinstance(pending, PendingScreen)
        await wait_for(pilot, lambda: len(pending.items) == 1)
        app.save_screenshot(str(tmp_path / "pending.svg"))
    cache.dispose()
    assert grants_of(url, tenant.token, tenant.staff_id) == {}
    # the app was closed: the outbox survives in the file and is pushed by the next sync
    cache = CacheDB(path)
    queued = outbox.listed(cache, outbox.PENDING)
    assert len(queued) == 1 and queued[0].idempotency_key
    api = ApiClient(url, tenant.token)
    app = PartnerApp(cache, Syncer(api, cache), today=date.today())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.has_data and not app.status.syncing)
        await wait_for(pilot, lambda: app.status.pending == 0)
        await wait_for(
            pilot,
            lambda: any(
                "Ventende endringer sendt: 1, avvist: 0" in n.message for n in app._notifications
            ),
        )
    assert grants_of(url, tenant.token, tenant.staff_id) == {
        cid: "payroll" for cid in tenant.client_ids
    }
    conn = sqlite3.connect(path)
    assert conn.execute(
        "SELECT COUNT(*) FROM access_grant WHERE user_id = ?", (tenant.staff_id,)
    ).fetchone() == (len(ORGNRS),)
    conn.close()
    api.close()
    cache.dispose()


def set_client_status(db: Database, client_id: int, status: str) -> None:
    from partner_api.models import Client

    with db.transaction() as s:
        client = s.get(Client, client_id)
        assert client is not None
        client.status = status


async def test_failures_show_reasons_and_retry_sends_only_them(served_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, tenant, db = served_db
    cache = CacheDB(tmp_path / "cache.sqlite")
    api = ApiClient(url, tenant.token)
    app = PartnerApp(cache, Syncer(api, cache), today=date.today())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.has_data and not app.status.syncing)
        archived = tenant.client_ids[-1]
        set_client_status(db, archived, "archived")  # the app's cache does not know yet
        await pick_staff_and_select_all(pilot, app)
        await pilot.press("n")
        await pilot.pause()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen))
        assert "gi 5, endre 0, uendret 0, fjern 0, feiler 1" in totals_of(app)
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultsScreen))
        results = app.screen
        assert isinstance(results, ResultsScreen)
        assert "opprettet 5" in str(results.query_one("#results-totals").render())
        assert "feilet 1" in str(results.query_one("#results-totals").render())
        failed = [r for r in results.result.results if r.status == "failed"]
        assert [r.client_id for r in failed] == [archived]
        table = results.query_one("VirtualTable")
        cells = [table.source.cells(i) for i in range(table.source.visible_count)]  # type: ignore[attr-defined]
        assert any("Klienten er arkivert" in c[6] and c[5] == "FEILET" for c in cells)
        app.save_screenshot(str(tmp_path / "failed.svg"))
        set_client_status(db, archived, "active")
        await pilot.press("R")  # retry: only the failed item goes through the preview again
        await wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen))
        preview = app.screen
        assert isinstance(preview, PreviewScreen)
        assert [op.client_id for op in preview.plan.items] == [archived]
        assert "gi 1, endre 0" in totals_of(app)
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("y")
        await wait_for(
            pilot, lambda: isinstance(app.screen, ResultsScreen) and app.screen is not results
        )
    assert grants_of(url, tenant.token, tenant.staff_id) == {
        cid: "read" for cid in tenant.client_ids
    }
    api.close()
    cache.dispose()


async def test_rejected_outbox_items_stay_until_dismissed(tmp_path: Path) -> None:
    from tests.tui.conftest import TODAY, fill_cache

    cache = CacheDB(tmp_path / "cache.sqlite")
    fill_cache(cache)
    item = outbox.enqueue(cache, "POST", "/v1/access-grants:bulk", {"items": []}, "Gi tilgang (3)")
    with cache.write() as conn:
        conn.exec_driver_sql(
            "UPDATE outbox SET status = 'rejected', attempts = 1, last_problem = ? WHERE id = ?",
            ("[bold]Klienten er arkivert", item.id),
        )
    app = PartnerApp(cache, None, today=TODAY)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.loaded)
        assert app.status.rejected == 1
        await pilot.press("7")
        await wait_for(pilot, lambda: isinstance(app.screen, PendingScreen))
        screen = app.screen
        assert isinstance(screen, PendingScreen)
        await wait_for(pilot, lambda: len(screen.items) == 3)
        table = screen.query_one("VirtualTable")
        table.move_cursor(2)  # type: ignore[attr-defined]
        cells = table.source.cells(2)  # type: ignore[attr-defined]
        assert cells[1] == "avvist" and cells[4] == "[bold]Klienten er arkivert"
        await pilot.press("d")
        await wait_for(pilot, lambda: len(screen.items) == 2 and app.status.rejected == 0)
        table.move_cursor(0)  # type: ignore[attr-defined]
        await pilot.press("d")  # a pending item cannot be dismissed
        await pilot.pause(0.3)
        assert len(outbox.listed(cache, outbox.PENDING)) == 2
    cache.dispose()


def altinn_tags(db: Database, client_ids: list[int]) -> list[bool]:
    from partner_api.models import Client

    with db.transaction() as s:
        return [bool(s.get(Client, cid).uses_partner_altinn) for cid in client_ids]  # type: ignore[union-attr]


async def test_altinn_tag_through_the_pipeline_and_undo(served_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, tenant, db = served_db
    before = altinn_tags(db, tenant.client_ids)
    cache = CacheDB(tmp_path / "cache.sqlite")
    api = ApiClient(url, tenant.token)
    app = PartnerApp(cache, Syncer(api, cache), today=date.today())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.has_data and not app.status.syncing)
        await pick_staff_and_select_all(pilot, app)
        await pilot.press("t")
        await pilot.pause()
        await pilot.press("enter")  # "sett tagg"
        await wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen))
        n = before.count(False)
        assert f"endre {n}, uendret {len(before) - n}" in totals_of(app)
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultsScreen))
        assert altinn_tags(db, tenant.client_ids) == [True] * len(before)
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("u")
        await wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen))
        assert f"endre {n}" in totals_of(app)
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultsScreen))
    assert altinn_tags(db, tenant.client_ids) == before
    api.close()
    cache.dispose()


async def test_offboard_ends_all_access_and_undo_restores_it(served, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from partner_api.wire import GrantOp

    url, tenant = served
    staff = tenant.staff_id
    with ApiClient(url, tenant.token) as api:
        api.bulk_grants(
            [
                GrantOp(user_id=staff, client_id=c, access_level="payroll")
                for c in tenant.client_ids[:3]
            ],
            idempotency_key="setup",
        )
    before = grants_of(url, tenant.token, staff)
    cache = CacheDB(tmp_path / "cache.sqlite")
    api = ApiClient(url, tenant.token)
    app = PartnerApp(cache, Syncer(api, cache), today=date.today())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.has_data and not app.status.syncing)
        await pick_staff_and_select_all(pilot, app)
        await pilot.press("O")  # not ansvarlig anywhere: straight to the preview
        await wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen))
        assert "fjern 3" in totals_of(app) and "fra serveren" in totals_of(app)
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultsScreen))
        assert grants_of(url, tenant.token, staff) == {}
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("u")
        await wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen))
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultsScreen))
    assert grants_of(url, tenant.token, staff) == before
    api.close()
    cache.dispose()


def grant_rows(url: str, token: str, clients: list[int]) -> set[tuple[object, ...]]:
    """Every grant on ``clients`` as (user, client, level, role, role source, expiry)."""
    with ApiClient(url, token) as api:
        return {
            (g.user_id, g.client_id, g.access_level, g.role, g.role_source, g.valid_until)
            for g in api.access_grants()
            if g.client_id in clients
        }


async def test_offboard_hands_over_per_client_and_undo_restores_every_row(  # type: ignore[no-untyped-def]
    served_db, tmp_path: Path
) -> None:
    from partner_api.models import Partner
    from partner_api.services import portfolio
    from partner_api.wire import GrantOp
    from partner_tui.screens.handover import HandoverScreen

    url, tenant, db = served_db
    with db.transaction() as s:
        partner = s.get(Partner, tenant.partner_id)
        assert partner is not None
        third = portfolio.create_user(s, partner, "Tredje Person", "tredje@alfa.example").id
    staff, clients = tenant.staff_id, tenant.client_ids
    with ApiClient(url, tenant.token) as api:
        api.bulk_grants(
            [
                GrantOp(user_id=staff, client_id=c, access_level="payroll", role="ansvarlig")
                for c in clients[:3]
            ]
            + [GrantOp(user_id=staff, client_id=clients[3], access_level="read")]
            + [GrantOp(user_id=tenant.admin_id, client_id=clients[1], access_level="full")],
            idempotency_key="setup",
        )
    before = grant_rows(url, tenant.token, clients)
    cache = CacheDB(tmp_path / "cache.sqlite")
    api = ApiClient(url, tenant.token)
    app = PartnerApp(cache, Syncer(api, cache), today=date.today())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.has_data and not app.status.syncing)
        await pick_staff_and_select_all(pilot, app)
        await pilot.press("O")
        await wait_for(pilot, lambda: isinstance(app.screen, HandoverScreen))
        handover = app.screen
        assert isinstance(handover, HandoverScreen)
        assert [c.client_id for c in handover.clients] == clients[:3]
        assert "3 klienter mangler" in str(handover.query_one("#handover-missing").render())
        await pilot.press("p")  # refused: nobody named yet, nothing previewed
        await pilot.pause()
        assert app.screen is handover
        await pilot.press("A")  # the admin takes over everywhere ...
        await pilot.pause()
        await pilot.press(*"Admin", "enter")
        await pilot.pause()
        assert set(handover.chosen.values()) == {tenant.admin_id}
        await pilot.press("h")  # ... except on the first client (the cursor row): Tredje
        await pilot.pause()
        await pilot.press(*"Tredje", "enter")
        await pilot.pause()
        assert handover.chosen == {
            clients[0]: third,
            clients[1]: tenant.admin_id,
            clients[2]: tenant.admin_id,
        }
        assert "Alle klienter har ny ansvarlig" in str(
            handover.query_one("#handover-missing").render()
        )
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen))
        # the server's dry run: 4 grants end; Tredje and the admin get 2 new, 1 changed
        assert "gi 2, endre 1, uendret 0, fjern 4" in totals_of(app)
        assert "fra serveren" in totals_of(app)
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultsScreen))
        after = grant_rows(url, tenant.token, clients)
        assert not {row for row in after if row[0] == staff}
        ansvarlig = {(row[0], row[1]) for row in after if row[3] == "ansvarlig"}
        assert ansvarlig >= {
            (third, clients[0]),
            (tenant.admin_id, clients[1]),
            (tenant.admin_id, clients[2]),
        }
        await pilot.press("escape")
        await wait_for(pilot, lambda: not app.status.syncing)
        await pilot.press("u")  # undo: every row back as it was
        await wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen))
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultsScreen))
    assert grant_rows(url, tenant.token, clients) == before
    api.close()
    cache.dispose()


async def test_copy_from_user_uses_the_servers_copy(served, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from partner_api.wire import GrantOp

    url, tenant = served
    clients = tenant.client_ids
    until = date(date.today().year + 1, 6, 30)
    with ApiClient(url, tenant.token) as api:
        api.bulk_grants(
            [
                GrantOp(
                    user_id=tenant.admin_id,
                    client_id=clients[0],
                    access_level="full",
                    valid_until=until,
                ),
                GrantOp(user_id=tenant.admin_id, client_id=clients[1], access_level="read"),
                GrantOp(user_id=tenant.staff_id, client_id=clients[1], access_level="payroll"),
            ],
            idempotency_key="setup",
        )
    cache = CacheDB(tmp_path / "cache.sqlite")
    api = ApiClient(url, tenant.token)
    app = PartnerApp(cache, Syncer(api, cache), today=date.today())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.has_data and not app.status.syncing)
        screen = await pick_staff_and_select_all(pilot, app)
        screen.table.clear_selection()  # nothing selected: copy all of the source's clients
        await pilot.press("c")
        await pilot.pause()
        await pilot.press(*"Admin", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen))
        # new grant (level and expiry copied); the staff's payroll is never lowered to read
        assert "gi 1, endre 0, uendret 1, fjern 0" in totals_of(app)
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("y")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultsScreen))
    with ApiClient(url, tenant.token) as check:
        got = {
            g.client_id: (g.access_level, g.valid_until)
            for g in check.access_grants(user=tenant.staff_id)
        }
    assert got == {clients[0]: ("full", until), clients[1]: ("payroll", None)}
    api.close()
    cache.dispose()


async def open_access_on_kari(pilot: Pilot[None], app: PartnerApp) -> None:
    """The Access screen, on the signed-in user (Kari Nordmann in the fixture cache)."""
    await wait_for(pilot, lambda: app.loaded)
    await pilot.press("3")
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, AccessScreen) and app.screen.picked_name == "Kari Nordmann",
    )


async def test_export_key_writes_the_shown_users_report(tmp_path: Path) -> None:
    import csv

    from tests.tui.conftest import TODAY, fill_cache

    cache = CacheDB(tmp_path / "cache.sqlite")
    fill_cache(cache)
    out = tmp_path / "kari.csv"
    app = PartnerApp(cache, None, today=TODAY)
    async with app.run_test(size=SIZE) as pilot:
        await open_access_on_kari(pilot, app)
        await pilot.press("e")
        await pilot.pause()
        await pilot.press(*str(out), "enter")
        await wait_for(pilot, lambda: out.exists())
        await pilot.pause(0.2)
    with out.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f, delimiter=";"))
    conn = sqlite3.connect(cache.path)
    expected = conn.execute(
        "SELECT c.orgnr FROM access_grant a JOIN client c ON c.id = a.client_id WHERE a.user_id = 1"
    ).fetchall()
    conn.close()
    assert sorted(r[2] for r in rows[1:]) == sorted(o for (o,) in expected)
    assert {r[0] for r in rows[1:]} == {"Kari Nordmann"}
    cache.dispose()


_ = asyncio  # pilot tests run under pytest-asyncio's auto mode


async def test_audit_log_shows_who_what_before_after_from_the_cache(served, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from partner_api.wire import GrantOp
    from partner_tui.screens.audit import AuditScreen

    url, tenant = served
    staff, c = tenant.staff_id, tenant.client_ids
    with ApiClient(url, tenant.token) as api:
        api.bulk_grants(
            [GrantOp(user_id=staff, client_id=c[0], access_level="read")], idempotency_key="one"
        )
        api.bulk_grants(
            [GrantOp(user_id=staff, client_id=c[0], access_level="full")], idempotency_key="two"
        )
        api.bulk_grants(
            [GrantOp(user_id=staff, client_id=c[1], access_level="payroll")],
            idempotency_key="three",
        )
        api.bulk_grants(
            [GrantOp(op="revoke", user_id=staff, client_id=c[1])], idempotency_key="four"
        )
        server_events = api.audit(user=staff, limit=100).events
    cache = CacheDB(tmp_path / "cache.sqlite")
    api = ApiClient(url, tenant.token)
    app = PartnerApp(cache, Syncer(api, cache), today=date.today())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.has_data and not app.status.syncing)
        await pick_staff_and_select_all(pilot, app)
        await pilot.press("L")
        await wait_for(pilot, lambda: isinstance(app.screen, AuditScreen) and app.screen.rows)
        log = app.screen
        assert isinstance(log, AuditScreen)
        # the same events as the server's GET /v1/audit for the user, newest first
        assert [r.id for r in log.rows] == [e.id for e in server_events]
        assert [r.action for r in log.rows] == [
            "tilgang fjernet",
            "tilgang gitt",
            "tilgang endret",
            "tilgang gitt",
        ]
        assert log.rows[2].change == "nivå les → full"
        assert log.rows[0].change.startswith("fjernet: lønn")
        assert {r.actor for r in log.rows} == {"Admin Alfa"}
        assert {r.request_id for r in log.rows} == {e.request_id for e in server_events}
        assert "4 hendelser" in str(log.query_one("#audit-count").render())
        await pilot.press("slash")
        await pilot.press(*"endret")
        await pilot.pause()
        table = log.query_one("#audit-table")
        assert table.source.visible_count == 1  # type: ignore[attr-defined]
        assert "1 hendelse" in str(log.query_one("#audit-count").render())
        await pilot.press("escape")  # the first esc clears the search …
        await pilot.pause()
        assert app.screen is log and table.source.visible_count == 4  # type: ignore[attr-defined]
        await pilot.press("escape")  # … the second closes the log
        await pilot.pause()
        assert isinstance(app.screen, AccessScreen)
    api.close()
    cache.dispose()


async def test_templates_are_created_edited_deleted_and_refusals_explained(  # type: ignore[no-untyped-def]
    served, tmp_path: Path
) -> None:
    from partner_tui.screens.templates import TemplatesScreen

    url, tenant = served

    def server_templates() -> dict[str, tuple[str, str | None]]:
        with ApiClient(url, tenant.token) as check:
            return {tp.name: (tp.access_level, tp.role) for tp in check.access_templates()}

    seeded = server_templates()
    cache = CacheDB(tmp_path / "cache.sqlite")
    api = ApiClient(url, tenant.token)
    app = PartnerApp(cache, Syncer(api, cache), today=date.today())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.has_data and not app.status.syncing)
        await pilot.press("3")
        await wait_for(pilot, lambda: isinstance(app.screen, AccessScreen))
        await pilot.press("M")
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, TemplatesScreen) and len(app.screen.templates) == len(seeded)
            ),
        )
        screen = app.screen
        assert isinstance(screen, TemplatesScreen)
        # new: name → level → role
        await pilot.press("n")
        await pilot.pause()
        await pilot.press(*"Lønn ansvarlig", "enter")
        await pilot.pause()
        await pilot.press("down", "enter")  # lønn
        await pilot.pause()
        await pilot.press("down", "enter")  # ansvarlig
        await wait_for(pilot, lambda: "Lønn ansvarlig" in server_templates())
        assert server_templates()["Lønn ansvarlig"] == ("payroll", "ansvarlig")
        await wait_for(pilot, lambda: any(tp.name == "Lønn ansvarlig" for tp in screen.templates))
        # a duplicate name is refused, explained in Norwegian, and nothing changes
        await pilot.press("n")
        await pilot.pause()
        await pilot.press(*"Lønn ansvarlig", "enter")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("enter")
        await wait_for(
            pilot, lambda: any("finnes allerede" in n.message for n in app._notifications)
        )
        assert len(server_templates()) == len(seeded) + 1
        # edit: rename the cursor row (the list is sorted by name)
        row = next(i for i, tp in enumerate(screen.templates) if tp.name == "Lønn ansvarlig")
        screen.table.cursor = row
        await pilot.press("e")
        await pilot.pause()
        await pilot.press("space", "2", "enter")  # the name box starts with the old name
        await pilot.pause()
        await pilot.press("enter")  # the level picker starts on today's level ...
        await pilot.pause()
        await pilot.press("enter")  # ... and the role picker on today's role
        await wait_for(pilot, lambda: "Lønn ansvarlig 2" in server_templates())
        assert server_templates()["Lønn ansvarlig 2"] == ("payroll", "ansvarlig")  # kept
        await wait_for(pilot, lambda: any(tp.name == "Lønn ansvarlig 2" for tp in screen.templates))
        # delete asks first
        row = next(i for i, tp in enumerate(screen.templates) if tp.name == "Lønn ansvarlig 2")
        screen.table.cursor = row
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("y")
        await wait_for(pilot, lambda: server_templates() == seeded)
    api.close()
    cache.dispose()


@contextlib.asynccontextmanager
async def offline_access(
    tmp_path: Path,
) -> AsyncIterator[tuple[PartnerApp, Pilot[None], AccessScreen]]:
    """The app offline on the small fixture cache, on the Access screen."""
    from tests.tui.conftest import TODAY, fill_cache

    cache = CacheDB(tmp_path / "cache.sqlite")
    fill_cache(cache)
    app = PartnerApp(cache, None, today=TODAY)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.loaded)
        await pilot.press("3")
        await wait_for(pilot, lambda: isinstance(app.screen, AccessScreen))
        screen = app.screen
        assert isinstance(screen, AccessScreen)
        yield app, pilot, screen
    cache.dispose()


async def test_a_double_enter_in_a_picker_answers_once(tmp_path: Path) -> None:
    async with offline_access(tmp_path) as (app, pilot, screen):
        for _ in range(3):
            await pilot.press("f")
            await pilot.pause()
            app.screen.post_message(Input.Submitted(app.screen.query_one(Input), ""))
            app.screen.post_message(Input.Submitted(app.screen.query_one(Input), ""))
            await pilot.pause(0.2)
            assert app.screen is screen  # one answer, one pop; the app is still running
    assert app.return_code in (None, 0)


async def test_revoking_rows_without_access_says_so(tmp_path: Path) -> None:
    """x on chosen clients the user has no access to: the warning says none of them has access
    (not that nothing is selected)."""
    async with offline_access(tmp_path) as (app, pilot, screen):
        await pilot.press("f")
        await pilot.pause()
        await pilot.press("enter")  # the first user
        await wait_for(pilot, lambda: screen.picked is not None and bool(screen.rows.rows))
        bare = next(i for i, row in enumerate(screen.rows.rows) if row.access_level is None)
        screen.table.move_cursor(bare)
        await pilot.press("space")  # chosen: a client without access
        await pilot.press("x")
        await wait_for(pilot, lambda: bool(app._notifications))
        messages = [n.message for n in app._notifications]
        assert any("Ingen av de valgte har tilgang" in m for m in messages), messages
        assert not any("Ingen valgt" in m for m in messages)


async def test_keys_typed_right_after_l_go_to_the_audit_log(tmp_path: Path) -> None:
    """ "L/aas" in one burst opens the audit log and searches it for "aas" (the keys used to
    land in this screen's search); in the search field itself, L is typed."""
    from textual import events

    from partner_tui.screens.audit import AuditScreen

    async with offline_access(tmp_path) as (app, pilot, screen):
        for key, char in [("slash", "/"), ("L", "L")]:
            app._driver.send_message(events.Key(key, char))
        await pilot.pause(0.2)
        assert app.screen is screen
        assert screen.query_one("#access-search", Input).value == "L"
        await pilot.press("escape")  # clear the search, back to the table
        await pilot.pause()
        for key, char in [("L", "L"), ("slash", "/"), ("a", "a"), ("a", "a"), ("s", "s")]:
            app._driver.send_message(events.Key(key, char))
        await wait_for(pilot, lambda: isinstance(app.screen, AuditScreen))
        await pilot.pause(0.2)
        log = app.screen
        assert log.query_one("#audit-search", Input).value == "aas"
        assert screen.query_one("#access-search", Input).value == ""


async def test_access_heading_counts_the_rows_and_an_empty_search_says_so(tmp_path: Path) -> None:
    from tests.tui.conftest import TODAY, fill_cache

    cache = CacheDB(tmp_path / "cache.sqlite")
    fill_cache(cache)
    conn = sqlite3.connect(cache.path)
    active = "FROM client WHERE status = 'active'"  # the user view lists active clients
    clients = conn.execute(f"SELECT count(*) {active}").fetchone()[0]
    acme = conn.execute(f"SELECT count(*) {active} AND name LIKE '%acme%'").fetchone()[0]
    conn.close()
    app = PartnerApp(cache, None, today=TODAY)
    async with app.run_test(size=SIZE) as pilot:
        await open_access_on_kari(pilot, app)
        screen = app.screen
        assert isinstance(screen, AccessScreen)

        def shown() -> str:
            strips = screen._compositor.render_strips()
            return "\n".join("".join(seg.text for seg in strip) for strip in strips)

        await pilot.pause()
        assert f"Bruker: Kari Nordmann  ·  {clients} av {clients} klienter" in shown()
        await pilot.press("slash", *"acme")
        await pilot.pause()
        assert f"{acme} av {clients} klienter" in shown() and 0 < acme < clients
        await pilot.press(*"zzz")
        await pilot.pause()
        assert f"0 av {clients} klienter" in shown()
        assert "Ingen rader passer søket (esc nullstiller)" in shown()
        await pilot.press("escape")
        await pilot.pause()
        assert f"{clients} av {clients} klienter" in shown()
    cache.dispose()
