"""The client's sync against the real API on a loopback port, with injected faults."""

import json
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from partner_api.app import create_app
from partner_api.db import Database
from partner_api.local_server import LocalServer
from partner_api.models import AccessGrant, Client, ClientMonth, SyncState, User
from partner_api.wire import ROW_MODELS
from partner_tui.core.api_client import ApiClient, ApiError, ApiUnreachable
from partner_tui.core.cache import KIND_TABLES, CacheDB
from partner_tui.core.sync import Syncer
from tests.api.test_sync_feed import _every_kind, _expected_rows
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


def cached_rows(cache: CacheDB) -> dict[tuple[str, int], dict[str, Any]]:
    """Every synced row in the cache, as the feed's ``data`` (booleans as SQLite keeps them)."""
    conn = sqlite3.connect(cache.path)
    rows = {}
    for kind, table in KIND_TABLES.items():
        fields = list(ROW_MODELS[kind].model_fields)
        names = ", ".join(f'"{f}"' for f in fields)
        for row in conn.execute(f'SELECT {names} FROM "{table.__tablename__}"'):
            rows[(kind, row[fields.index("id")])] = dict(zip(fields, row, strict=True))
    conn.close()
    return rows


@pytest.mark.parametrize(
    ("page_limit", "prefetch"), [(1, True), (3, False), (3, True), (2000, True)]
)
def test_the_cache_holds_exactly_the_server_rows(served, tmp_path, page_limit, prefetch) -> None:  # type: ignore[no-untyped-def]
    """A full sync and then an incremental one (deletes, an id used again in one transaction)
    leave every kind's rows in the cache equal to the server's, whatever the page size."""
    url, tenant, db = served
    _every_kind(db, tenant)
    cache = CacheDB(tmp_path / "c.sqlite")
    with ApiClient(url, tenant.token) as api:
        syncer = Syncer(api, cache, page_limit=page_limit, prefetch=prefetch)
        first = syncer.sync()
        assert first.full
        assert cached_rows(cache) == _expected_rows(db, tenant.partner_id)
        # The staged tables took the live ones' place with the same columns and indexes.
        assert schema_of(cache) == schema_of(CacheDB(tmp_path / "empty.sqlite"))
        with db.transaction() as s:
            grant = s.get(AccessGrant, 2)
            assert grant is not None
            reused = (grant.id, grant.user_id)
            s.delete(grant)
            s.flush()
            s.add(
                AccessGrant(
                    id=reused[0],
                    partner_id=tenant.partner_id,
                    user_id=tenant.admin_id,
                    client_id=tenant.client_ids[5],
                    role="ansvarlig",
                )
            )
            s.delete(s.get(AccessGrant, 4))
            for month in s.execute(select(ClientMonth)).scalars():
                month.claims += 7
            s.get(User, tenant.staff_id).name = "Ny «ansatt»"  # type: ignore[union-attr]
        second = syncer.sync()
    assert not second.full
    assert cached_rows(cache) == _expected_rows(db, tenant.partner_id)


def schema_of(cache: CacheDB) -> dict[str, Any]:
    """Each table's columns and its indexes (name, columns, unique), whatever the DDL's quoting."""
    conn = sqlite3.connect(cache.path)
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    schema = {
        t: (
            conn.execute(f'PRAGMA table_info("{t}")').fetchall(),
            sorted(
                (name, unique, [c[2] for c in conn.execute(f'PRAGMA index_info("{name}")')])
                for _, name, unique, *_ in conn.execute(f'PRAGMA index_list("{t}")')
            ),
        )
        for t in tables
    }
    conn.close()
    return schema


class CorruptingTransport(httpx.HTTPTransport):
    """Hands back the ``on``-th sync-feed body (1-based) changed by ``corrupt``."""

    def __init__(self, on: int, corrupt: Callable[[bytes], bytes]) -> None:
        super().__init__()
        self.on = on
        self.corrupt = corrupt
        self.feed_calls = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.url.path == "/v1/sync/changes":
            self.feed_calls += 1
            if self.feed_calls == self.on:
                body = self.corrupt(response.read())
                headers = {"content-type": response.headers["content-type"]}
                return httpx.Response(response.status_code, headers=headers, content=body)
        return response


def _edit(change: Callable[[dict[str, Any]], None]) -> Callable[[bytes], bytes]:
    def corrupt(body: bytes) -> bytes:
        page = json.loads(body)
        change(page)
        return json.dumps(page).encode()

    return corrupt


def _first(field: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda page: page["changes"][0].__setitem__(field, value)


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda body: body[: len(body) // 2],
        lambda body: b"[]",
        _edit(lambda page: page.__setitem__("changes", {})),
        _edit(lambda page: page.pop("next_cursor")),
        _edit(lambda page: page.__setitem__("has_more", "yes")),
        _edit(_first("op", "merge")),
        _edit(_first("version", "7")),
        _edit(_first("kind", ["client"])),
        _edit(_first("data", [1, 2])),
        _edit(lambda page: page["changes"][0].pop("data")),
        _edit(lambda page: page["changes"][0].update(op="delete", id=None)),
        _edit(lambda page: page["changes"][0]["data"].pop("id")),
    ],
    ids=[
        "truncated",
        "not-an-object",
        "changes-not-a-list",
        "no-cursor",
        "has-more-not-bool",
        "unknown-op",
        "version-not-int",
        "kind-not-str",
        "data-not-object",
        "upsert-without-data",
        "delete-without-id",
        "upsert-without-id",
    ],
)
def test_a_malformed_page_is_an_error_and_applies_nothing(served, tmp_path, corrupt) -> None:  # type: ignore[no-untyped-def]
    url, tenant, _ = served
    cache = CacheDB(tmp_path / "c.sqlite")
    with ApiClient(url, tenant.token, transport=CorruptingTransport(3, corrupt)) as api:
        syncer = Syncer(api, cache, page_limit=2)
        with pytest.raises(ApiError) as caught:
            syncer.sync()
    assert caught.value.status == 502
    assert "the sync feed sent a body we cannot read" in (caught.value.problem.detail or "")
    assert cache.get_meta("cursor") is None
    assert staged(cache) == 4  # the two pages before it, each with its cursor; none of it
    with ApiClient(url, tenant.token) as api:
        assert Syncer(api, cache, page_limit=2).sync().full
    assert cache_rows(cache) == cache_rows(fresh_cache_like(url, tenant.token, tmp_path, "ref"))


def staged(cache: CacheDB) -> int:
    conn = sqlite3.connect(cache.path)
    names = [
        r[0]
        for r in conn.execute("SELECT name FROM sqlite_master WHERE name LIKE 'stage_%'")
        if not r[0].startswith("stage_sqlite")
    ]
    total = sum(conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names)
    conn.close()
    return int(total)


@pytest.mark.parametrize("fail_on", [2, 4])
def test_a_failed_read_ahead_keeps_every_page_before_it(served, tmp_path, fail_on) -> None:  # type: ignore[no-untyped-def]
    """The next page is fetched while this one is written: when that fetch fails, every page
    before it is in the cache with its cursor, and the next sync goes on from there."""
    url, tenant, _ = served
    cache = CacheDB(tmp_path / "c.sqlite")
    transport = FaultyTransport({fail_on})
    with ApiClient(url, tenant.token, transport=transport) as api:
        syncer = Syncer(api, cache, page_limit=2)
        with pytest.raises(ApiUnreachable):
            syncer.sync()
        assert staged(cache) == 2 * (fail_on - 1)
        assert transport.feed_calls == fail_on  # and no further read ahead of the failure
        report = syncer.sync()
    assert report.full and report.reason == "first sync"
    assert cache_rows(cache) == cache_rows(fresh_cache_like(url, tenant.token, tmp_path, "ref"))
