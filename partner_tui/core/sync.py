"""Pulling the API's change feed into the cache (DESIGN.md §4).

Incremental: each page of changes **and** the new cursor are applied in one SQLite transaction,
so a crash at any point loses nothing and applies nothing twice (an upsert only wins when its
version is newer). Full resync (first sync, or a 410 from the server): pages go into staging
tables with their own resumable cursor, and are swapped into the live tables in one
transaction at the end; the UI keeps reading the old rows until then. The outbox is untouched.
"""

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Connection

from partner_api.wire import ROW_MODELS, Change
from partner_tui.core.api_client import ApiClient, ApiError
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
    ) -> None:
        self.api = api
        self.cache = cache
        self.page_limit = page_limit
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
        """Apply pages until the feed is drained; each page and its cursor in one transaction."""
        while True:
            page = self.api.changes(cursor, self.page_limit)
            with self.cache.write() as conn:
                _apply(conn, page.changes, prefix=prefix, counts=report.counts)
                set_meta(conn, cursor_key, page.next_cursor)
            cursor = page.next_cursor
            report.pages += 1
            report.server_version = page.server_version
            if progress:
                progress(report.total)
            if not page.has_more:
                return cursor

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
        with self.cache.write() as conn:
            for table in KIND_TABLES.values():
                name = _table_name(table)
                conn.exec_driver_sql(f'DELETE FROM "{name}"')
                conn.exec_driver_sql(f'INSERT INTO "{name}" SELECT * FROM "{STAGE_PREFIX}{name}"')
                conn.exec_driver_sql(f'DROP TABLE "{STAGE_PREFIX}{name}"')
            set_meta(conn, "cursor", cursor)
            conn.exec_driver_sql("DELETE FROM meta WHERE key = 'staging_cursor'")


def _apply(conn: Connection, changes: list[Change], *, prefix: str, counts: dict[str, int]) -> None:
    upserts: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    deletes: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for change in changes:
        if change.kind not in KIND_TABLES:
            continue  # a kind from a newer server: ignore rather than fail
        if change.op == "delete":
            deletes[change.kind].append((change.id, change.version))
        else:
            data = dict(change.data or {})
            data["version"] = change.version
            upserts[change.kind].append(tuple(data.get(c) for c in _columns(change.kind)))
    for kind, rows in upserts.items():
        table = prefix + _table_name(KIND_TABLES[kind])
        conn.exec_driver_sql(_upsert_sql(table, _columns(kind)), rows)
        counts[kind] = counts.get(kind, 0) + len(rows)
    for kind, keys in deletes.items():
        table = prefix + _table_name(KIND_TABLES[kind])
        conn.exec_driver_sql(f'DELETE FROM "{table}" WHERE id = ? AND version < ?', keys)
        counts[kind] = counts.get(kind, 0) + len(keys)
