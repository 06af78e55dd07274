"""Pulling the API's change feed into the cache (DESIGN.md §4).

Incremental: each page of changes **and** the new cursor are applied in one SQLite transaction,
so a crash at any point loses nothing and applies nothing twice (an upsert only wins when its
version is newer). Full resync (first sync, or a 410 from the server): pages go into staging
tables with their own resumable cursor, and are swapped into the live tables in one
transaction at the end; the UI keeps reading the old rows until then. The outbox is untouched.
"""

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import Connection

from partner_api.wire import ROW_MODELS
from partner_tui.core.api_client import ApiClient, ApiError, FeedPage, malformed_feed
from partner_tui.core.cache import KIND_TABLES, CacheDB, CacheModel, set_meta

PAGE_LIMIT = 2000
STAGE_PREFIX = "stage_"

ProgressFn = Callable[[int], None]  # number of changes applied so far


@dataclass
class SyncReport:
    full: bool
    counts: dict[str, int] = field(default_factory=dict)
    pages: int = 0
    seconds: float = 0.0
    server_version: int = 0
    reason: str | None = None  # why a full resync happened

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _columns(kind: str) -> list[str]:
    return ["version", *ROW_MODELS[kind].model_fields]


def _table_name(table: type[CacheModel]) -> str:
    # SQLModel types ``__tablename__`` as ``str | Callable`` (a declared_attr by default);
    # every cache table sets it to a plain string.
    return cast(str, table.__tablename__)


def _upsert_sql(table: str, cols: list[str]) -> str:
    names = ", ".join(f'"{c}"' for c in cols)
    marks = ", ".join("?" for _ in cols)
    updates = ", ".join(f'"{c}" = excluded."{c}"' for c in cols if c != "id")
    # At-least-once delivery: only a newer version may overwrite what we have.
    return (
        f'INSERT INTO "{table}" ({names}) VALUES ({marks}) ON CONFLICT(id) DO UPDATE SET '
        f'{updates} WHERE excluded.version > "{table}".version'
    )


class Syncer:
    def __init__(
        self,
        api: ApiClient,
        cache: CacheDB,
        *,
        page_limit: int = PAGE_LIMIT,
        server_key: str | None = None,
        prefetch: bool = True,
    ) -> None:
        self.api = api
        self.cache = cache
        self.page_limit = page_limit
        self.prefetch = prefetch  # fetch the next page while writing this one
        # Which server the cache mirrors. Defaults to the URL; the embedded demo passes a
        # fixed key because its loopback port changes on every start.
        self.server_key = server_key or api.base_url

    @property
    def api_url(self) -> str:
        return self.api.base_url

    def sync(self, progress: ProgressFn | None = None) -> SyncReport:
        """Bring the cache up to date; full resync when needed. Raises ApiUnreachable/ApiError."""
        started = time.perf_counter()
        me = self.api.me()
        cursor = self.cache.get_meta("cursor")
        staging = self.cache.get_meta("staging_cursor")
        report: SyncReport
        if (
            cursor is None
            or staging is not None
            or self.cache.get_meta("api_url") != self.server_key
        ):
            report = self._full(progress, reason="first sync" if cursor is None else "resumed")
        else:
            try:
                report = self._incremental(cursor, progress)
            except ApiError as exc:
                if exc.status != 410:
                    raise
                report = self._full(progress, reason=exc.slug)
        with self.cache.write() as conn:
            set_meta(conn, "last_sync_at", datetime.now(UTC).isoformat(timespec="seconds"))
            set_meta(conn, "api_url", self.server_key)
            set_meta(conn, "me_user_id", str(me.user.id))
        report.seconds = time.perf_counter() - started
        return report

    def _pull(
        self,
        cursor: str | None,
        report: SyncReport,
        progress: ProgressFn | None,
        *,
        prefix: str,
        cursor_key: str,
    ) -> str:
        """Apply pages until the feed is drained; each page and its cursor in one transaction.

        The next page is fetched and decoded in a worker thread while this one is written:
        reading ahead changes nothing in the cache, so a failure on the way still leaves every
        page before it committed with its cursor, and nothing after it.
        """
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-fetch") as fetcher:
            ahead: Future[_Batch] = fetcher.submit(self._fetch, cursor)
            while True:
                batch = ahead.result()
                if batch.has_more and self.prefetch:
                    ahead = fetcher.submit(self._fetch, batch.next_cursor)
                with self.cache.write() as conn:
                    _write(conn, batch, prefix=prefix, counts=report.counts)
                    set_meta(conn, cursor_key, batch.next_cursor)
                report.pages += 1
                report.server_version = batch.server_version
                if progress:
                    progress(report.total)
                if not batch.has_more:
                    return batch.next_cursor
                if not self.prefetch:
                    ahead = fetcher.submit(self._fetch, batch.next_cursor)

    def _fetch(self, cursor: str | None) -> "_Batch":
        return _prepare(self.api.feed_page(cursor, self.page_limit))

    def _incremental(self, cursor: str, progress: ProgressFn | None) -> SyncReport:
        report = SyncReport(full=False)
        self._pull(cursor, report, progress, prefix="", cursor_key="cursor")
        return report

    def _full(self, progress: ProgressFn | None, reason: str) -> SyncReport:
        report = SyncReport(full=True, reason=reason)
        cursor = self.cache.get_meta("staging_cursor")
        if cursor is None:
            self._reset_staging()
        try:
            cursor = self._pull(
                cursor, report, progress, prefix=STAGE_PREFIX, cursor_key="staging_cursor"
            )
        except ApiError as exc:
            if exc.status != 410 or self.cache.get_meta("staging_cursor") is None:
                raise
            # The server moved on under a half-done resync (e.g. a demo reset): start over.
            self._reset_staging()
            report = SyncReport(full=True, reason=reason)
            cursor = self._pull(
                None, report, progress, prefix=STAGE_PREFIX, cursor_key="staging_cursor"
            )
        self._swap_in(cursor)
        return report

    def _reset_staging(self) -> None:
        with self.cache.write() as conn:
            for table in KIND_TABLES.values():
                name = _table_name(table)
                conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{STAGE_PREFIX}{name}"')
                ddl = conn.exec_driver_sql(
                    "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
                ).scalar_one()
                # Same columns and primary key as the live table, so staged upserts dedupe.
                conn.exec_driver_sql(
                    ddl.replace(
                        f"CREATE TABLE {name}", f'CREATE TABLE "{STAGE_PREFIX}{name}"', 1
                    ).replace(f'CREATE TABLE "{name}"', f'CREATE TABLE "{STAGE_PREFIX}{name}"', 1)
                )
            conn.exec_driver_sql("DELETE FROM meta WHERE key = 'staging_cursor'")

    def _swap_in(self, cursor: str) -> None:
        """Replace the live tables by the staged ones in one transaction: readers see the old
        rows until it commits, then the new ones. The staged table takes the live one's place
        (no copy of its rows) and gets the live table's indexes, built once over all rows."""
        with self.cache.write() as conn:
            for table in KIND_TABLES.values():
                name = _table_name(table)
                indexes = [
                    sql
                    for (sql,) in conn.exec_driver_sql(
                        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                        "AND sql IS NOT NULL",
                        (name,),
                    )
                ]
                conn.exec_driver_sql(f'DROP TABLE "{name}"')
                conn.exec_driver_sql(f'ALTER TABLE "{STAGE_PREFIX}{name}" RENAME TO "{name}"')
                for sql in indexes:
                    conn.exec_driver_sql(sql)
            set_meta(conn, "cursor", cursor)
            conn.exec_driver_sql("DELETE FROM meta WHERE key = 'staging_cursor'")


class _KindSpec:
    """How one sync kind's upserts become rows of its cache table."""

    def __init__(self, kind: str) -> None:
        self.fields = tuple(ROW_MODELS[kind].model_fields)
        assert len(self.fields) > 1, kind  # itemgetter of one field would not give a tuple
        self.values = itemgetter(*self.fields)


_SPECS: dict[str, _KindSpec] = {}


def _spec(kind: str) -> _KindSpec | None:
    spec = _SPECS.get(kind)
    if spec is None and kind in KIND_TABLES:
        spec = _SPECS[kind] = _KindSpec(kind)
    return spec


@dataclass
class _Batch:
    """One page, checked and grouped by kind: rows as ``_columns(kind)`` tuples."""

    upserts: dict[str, list[tuple[Any, ...]]]
    deletes: dict[str, list[tuple[int, int]]]  # (id, version)
    next_cursor: str
    has_more: bool
    server_version: int


def _prepare(page: FeedPage) -> _Batch:
    """Check each change's shape and group the page by kind (outside any transaction)."""
    upserts: dict[str, list[tuple[Any, ...]]] = {}
    deletes: dict[str, list[tuple[int, int]]] = {}
    try:
        for change in page.changes:
            kind = change["kind"]
            if type(kind) is not str:
                raise TypeError(f"kind {kind!r}")
            spec = _spec(kind)
            if spec is None:
                continue  # a kind from a newer server: ignore rather than fail
            version = change["version"]
            if type(version) is not int:
                raise TypeError(f"version {version!r}")
            op = change["op"]
            if op == "upsert":
                data = change["data"]
                if type(data) is not dict:
                    raise TypeError(f"data of an upsert: {data!r:.40}")
                try:
                    values = spec.values(data)
                except KeyError:  # an older server without a newer field: NULL
                    if type(data.get("id")) is not int:
                        raise
                    values = tuple(data.get(f) for f in spec.fields)
                rows = upserts.get(kind)
                if rows is None:
                    rows = upserts[kind] = []
                rows.append((version, *values))
            elif op == "delete":
                id_ = change["id"]
                if type(id_) is not int:
                    raise TypeError(f"id {id_!r}")
                deletes.setdefault(kind, []).append((id_, version))
            else:
                raise ValueError(f"op {op!r}")
    except (KeyError, TypeError, ValueError) as exc:
        raise malformed_feed(f"a change that is not one: {exc}") from exc
    return _Batch(upserts, deletes, page.next_cursor, page.has_more, page.server_version)


_UPSERT_SQL: dict[tuple[str, str], str] = {}


def _write(conn: Connection, batch: _Batch, *, prefix: str, counts: dict[str, int]) -> None:
    for kind, rows in batch.upserts.items():
        sql = _UPSERT_SQL.get((prefix, kind))
        if sql is None:
            table = prefix + _table_name(KIND_TABLES[kind])
            sql = _UPSERT_SQL[(prefix, kind)] = _upsert_sql(table, _columns(kind))
        conn.exec_driver_sql(sql, rows)
        counts[kind] = counts.get(kind, 0) + len(rows)
    for kind, keys in batch.deletes.items():
        table = prefix + _table_name(KIND_TABLES[kind])
        conn.exec_driver_sql(f'DELETE FROM "{table}" WHERE id = ? AND version < ?', keys)
        counts[kind] = counts.get(kind, 0) + len(keys)
