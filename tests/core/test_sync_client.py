"""The client's sync against the real API on a loopback port, with injected faults."""

import sqlite3
from collections.abc import Iterator

import httpx
import pytest

from partner_api.app import create_app
from partner_api.db import Database
from partner_api.local_server import LocalServer
from partner_api.models import AccessGrant, Client, SyncState
from partner_tui.core.api_client import ApiClient, ApiError, ApiUnreachable
from partner_tui.core.cache import CacheDB
from partner_tui.core.sync import Syncer
from tests.conftest import ORGNRS, Tenant, make_tenant


class FaultyTransport(httpx.HTTPTransport):
    """Drops the connection on chosen sync-feed requests (1-based), like a flaky network."""

    def __init__(self, fail_on: set[int]) -> None:
        super().__init__()
        self.fail_on = fail_on
        self.feed_calls = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/sync/changes":
            self.feed_calls += 1
            if self.feed_calls in self.fail_on:
                raise httpx.ReadError("connection reset by peer")
        return super().handle_request(request)


@pytest.fixture
def served(sqlite_db: Database) -> Iterator[tuple[str, Tenant, Database]]:
    tenant = make_tenant(sqlite_db, "Alfa", ORGNRS)
    with sqlite_db.transaction() as s:  # enough rows for several small pages
        for cid in tenant.client_ids:
            s.add(AccessGrant(partner_id=tenant.partner_id, user_id=tenant.staff_id, client_id=cid))
    with LocalServer(create_app(sqlite_db)) as server:
        yield server.url, tenant, sqlite_db


def cache_rows(cache: CacheDB) -> dict[str, set[tuple[object, ...]]]:
    conn = sqlite3.connect(cache.path)
    out = {
        t: set(conn.execute(f'SELECT * FROM "{t}"').fetchall())
        for t in ("client", "user", "access_grant", "partner")
    }
    conn.close()
    return out


def fresh_cache_like(url: str, token: str, tmp_path, name: str) -> CacheDB:  # type: ignore[no-untyped-def]
    cache = CacheDB(tmp_path / f"{name}.sqlite")
    with ApiClient(url, token) as api:
        Syncer(api, cache).sync()
    return cache


def test_full_then_incremental_sync_mirrors_the_server(served, tmp_path) -> None:  # type: ignore[no-untyped-def]
    url, tenant, db = served
    cache = CacheDB(tmp_path / "c.sqlite")
    with ApiClient(url, tenant.token) as api:
        syncer = Syncer(api, cache, page_limit=3)
        first = syncer.sync()
        assert first.full and first.counts["client"] == len(ORGNRS)
        assert first.pages > 3
        with db.transaction() as s:
            s.get(Client, tenant.client_ids[0]).name = "Nytt navn AS"  # type: ignore[union-attr]
            grant = s.get(AccessGrant, 1)
            s.delete(grant)
        second = syncer.sync()
    assert not second.full
    assert second.counts == {"client": 1, "access_grant": 1}
    conn = sqlite3.connect(cache.path)
    assert conn.execute(
        "SELECT name FROM client WHERE id = ?", (tenant.client_ids[0],)
    ).fetchone() == ("Nytt navn AS",)
    assert conn.execute("SELECT count(*) FROM access_grant WHERE id = 1").fetchone() == (0,)
    assert cache_rows(cache) == cache_rows(fresh_cache_like(url, tenant.token, tmp_path, "ref"))


@pytest.mark.parametrize("fail_on", [{2}, {4}, {2, 3}])
def test_interrupted_incremental_sync_resumes_without_loss_or_duplicates(
    served,
    tmp_path,
    fail_on,  # type: ignore[no-untyped-def]
) -> None:
    url, tenant, db = served
    cache = CacheDB(tmp_path / "c.sqlite")
    with ApiClient(url, tenant.token) as api:
        Syncer(api, cache).sync()
    with db.transaction() as s:  # many changes, spread over several pages
        for cid in tenant.client_ids:
            s.get(Client, cid).name = f"Endret {cid}"  # type: ignore[union-attr]
    with db.transaction() as s:
        for grant_id in (1, 2):
            s.delete(s.get(AccessGrant, grant_id))
    transport = FaultyTransport(fail_on)
    with ApiClient(url, tenant.token, transport=transport) as api:
        syncer = Syncer(api, cache, page_limit=2)
        with pytest.raises(ApiUnreachable):
            syncer.sync()
        conn = sqlite3.connect(cache.path)
        renamed = conn.execute("SELECT count(*) FROM client WHERE name LIKE 'Endret %'").fetchone()
        gone = (
            2 - conn.execute("SELECT count(*) FROM access_grant WHERE id IN (1, 2)").fetchone()[0]
        )
        assert renamed[0] + gone < len(ORGNRS) + 2  # stopped part-way
        while True:
            try:
                syncer.sync()
                break
            except ApiUnreachable:
                continue
    assert cache_rows(cache) == cache_rows(fresh_cache_like(url, tenant.token, tmp_path, "ref"))


def test_interrupted_full_sync_resumes_from_staging(served, tmp_path) -> None:  # type: ignore[no-untyped-def]
    url, tenant, _ = served
    cache = CacheDB(tmp_path / "c.sqlite")
    with ApiClient(url, tenant.token, transport=FaultyTransport({3})) as api:
        syncer = Syncer(api, cache, page_limit=2)
        with pytest.raises(ApiUnreachable):
            syncer.sync()
        assert cache.get_meta("staging_cursor") is not None
        assert cache.get_meta("cursor") is None
        # The live tables stay as they were (empty) until the swap: no half-synced view.
        assert cache_rows(cache)["client"] == set()
        report = syncer.sync()
    assert report.full and report.reason == "first sync"
    assert cache.get_meta("staging_cursor") is None
    assert cache_rows(cache) == cache_rows(fresh_cache_like(url, tenant.token, tmp_path, "ref"))


def test_410_triggers_full_resync_and_keeps_the_outbox(served, tmp_path) -> None:  # type: ignore[no-untyped-def]
    url, tenant, db = served
    cache = CacheDB(tmp_path / "c.sqlite")
    with cache.write() as conn:
        conn.exec_driver_sql(
            "INSERT INTO outbox (created_at, idempotency_key, method, path, body, summary, "
            "status, attempts) VALUES ('2026-12-01T10:00:00', 'k-1', 'PUT', '/x', '{}', "
            "'grant', 'pending', 0)"
        )
    with ApiClient(url, tenant.token) as api:
        syncer = Syncer(api, cache)
        syncer.sync()
        with db.transaction() as s:
            s.get(SyncState, 1).epoch = "restored"  # type: ignore[union-attr]
            s.delete(s.get(AccessGrant, 3))
        report = syncer.sync()
    assert report.full and report.reason == "sync-epoch-changed"
    conn = sqlite3.connect(cache.path)
    assert conn.execute("SELECT idempotency_key, status FROM outbox").fetchall() == [
        ("k-1", "pending")
    ]
    assert conn.execute("SELECT count(*) FROM access_grant WHERE id = 3").fetchone() == (0,)


def test_unreachable_and_refused(served, tmp_path) -> None:  # type: ignore[no-untyped-def]
    url, tenant, _ = served
    cache = CacheDB(tmp_path / "c.sqlite")
    with ApiClient("http://127.0.0.1:9", tenant.token) as api, pytest.raises(ApiUnreachable):
        Syncer(api, cache).sync()
    with ApiClient(url, "pa_wrong") as api, pytest.raises(ApiError) as refused:
        Syncer(api, cache).sync()
    assert refused.value.status == 401
    with ApiClient(url, tenant.staff_token) as api, pytest.raises(ApiError) as forbidden:
        Syncer(api, cache).sync()
    assert forbidden.value.status == 403


def test_cache_file_is_private(tmp_path) -> None:  # type: ignore[no-untyped-def]
    cache = CacheDB(tmp_path / "sub" / "c.sqlite")
    assert (cache.path.stat().st_mode & 0o777) == 0o600
    assert (cache.path.parent.stat().st_mode & 0o777) == 0o700


def test_resumed_full_sync_restarts_when_the_server_was_reset(served, tmp_path) -> None:  # type: ignore[no-untyped-def]
    url, tenant, db = served
    cache = CacheDB(tmp_path / "c.sqlite")
    with ApiClient(url, tenant.token, transport=FaultyTransport({3})) as api:
        syncer = Syncer(api, cache, page_limit=2)
        with pytest.raises(ApiUnreachable):
            syncer.sync()
        assert cache.get_meta("staging_cursor") is not None
        with db.transaction() as s:  # a demo reset / restore: old cursors are void
            s.get(SyncState, 1).epoch = "reset"  # type: ignore[union-attr]
            s.get(Client, tenant.client_ids[2]).name = "Etter reset AS"  # type: ignore[union-attr]
        report = syncer.sync()
    assert report.full
    assert cache_rows(cache) == cache_rows(fresh_cache_like(url, tenant.token, tmp_path, "ref"))
    assert ("Etter reset AS",) in {(r[3],) for r in cache_rows(cache)["client"]}


def test_access_templates_and_audit_events_reach_the_cache(served, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from partner_api.wire import AccessTemplateIn, GrantOp

    url, tenant, _db = served
    cache = CacheDB(tmp_path / "c.sqlite")
    with ApiClient(url, tenant.token) as api:
        syncer = Syncer(api, cache)
        syncer.sync()
        made = api.create_access_template(AccessTemplateIn(name="Innsyn", access_level="read"))
        api.bulk_grants(
            [GrantOp(user_id=tenant.admin_id, client_id=tenant.client_ids[0], access_level="read")],
            idempotency_key="k-1",
        )
        syncer.sync()
        templates = {row.id: row.name for row in api.access_templates()}
    conn = sqlite3.connect(cache.path)
    cached = dict(conn.execute("SELECT id, name FROM access_template").fetchall())
    assert cached == templates and made.id in cached
    actions = {r[0] for r in conn.execute("SELECT action FROM audit_event").fetchall()}
    assert "access_template.created" in actions
    assert (
        conn.execute(
            "SELECT COUNT(*) FROM audit_event WHERE client_id = ? AND subject_user_id = ?",
            (tenant.client_ids[0], tenant.admin_id),
        ).fetchone()[0]
        >= 1
    )
    conn.close()


def test_cache_schema_change_drops_derived_tables_and_keeps_the_outbox(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from partner_tui.core.cache import SCHEMA_HASH

    path = tmp_path / "c.sqlite"
    cache = CacheDB(path)
    with cache.write() as conn:
        conn.exec_driver_sql(
            "INSERT INTO client (id, version, orgnr, name, payroll_enabled, uses_partner_altinn,"
            " status) VALUES (1, 1, '123456785', 'Gammel AS', 1, 0, 'active')"
        )
        conn.exec_driver_sql("INSERT INTO meta (key, value) VALUES ('cursor', 'c1')")
        conn.exec_driver_sql(
            "INSERT INTO outbox (created_at, idempotency_key, method, path, body, summary, "
            "status, attempts) VALUES ('2026-12-01', 'k', 'POST', '/x', '{}', 's', 'pending', 0)"
        )
    cache.dispose()
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA user_version").fetchone() == (SCHEMA_HASH,)
    raw.execute("PRAGMA user_version = 12345")  # as if written by an older app version
    raw.close()
    reopened = CacheDB(path)
    assert reopened.get_meta("cursor") is None  # → the next sync is a full one
    raw = sqlite3.connect(path)
    assert raw.execute("SELECT count(*) FROM client").fetchone() == (0,)
    assert raw.execute("SELECT idempotency_key FROM outbox").fetchall() == [("k",)]
    assert raw.execute("PRAGMA user_version").fetchone() == (SCHEMA_HASH,)


def test_cache_never_changes_the_mode_of_an_existing_folder(tmp_path) -> None:  # type: ignore[no-untyped-def]
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    CacheDB(shared / "c.sqlite").dispose()
    assert shared.stat().st_mode & 0o7777 == 0o1777
    assert (shared / "c.sqlite").stat().st_mode & 0o777 == 0o600


def test_a_server_key_keeps_incremental_sync_across_changing_ports(sqlite_db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    tenant = make_tenant(sqlite_db, "Alfa", ORGNRS[:2])
    cache = CacheDB(tmp_path / "c.sqlite")
    reports = []
    for _ in range(2):  # two starts of the embedded demo: same database, new port each time
        with (
            LocalServer(create_app(sqlite_db)) as server,
            ApiClient(server.url, tenant.token) as api,
        ):
            reports.append(Syncer(api, cache, server_key="embedded-demo").sync())
    assert [r.full for r in reports] == [True, False]


def test_an_address_that_is_not_an_api_is_named_as_such(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import threading
    from http.server import HTTPServer, SimpleHTTPRequestHandler

    web = HTTPServer(("127.0.0.1", 0), SimpleHTTPRequestHandler)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    try:
        with (
            ApiClient(f"http://127.0.0.1:{web.server_port}", "t") as api,
            pytest.raises(ApiError) as caught,
        ):
            Syncer(api, CacheDB(tmp_path / "c.sqlite")).sync()
    finally:
        web.shutdown()
    detail = caught.value.problem.detail or ""
    assert "is this the address of a partner-api server?" in detail
    assert "<html" not in detail.lower()
