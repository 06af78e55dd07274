"""The local cache: a SQLite file (SQLModel tables, in ``cache_tables``) mirroring the API's
sync kinds.

Cache tables are derived data: when their schema changes they are dropped and resynced. The
outbox (queued offline edits) is the user's intent and is never dropped. The file is created
0600 inside a 0700 folder; it holds no tokens and no unmasked national ids.
"""

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from partner_tui.core.formatting import nb_collate

if TYPE_CHECKING:  # the SQLModel layer is imported lazily (see __getattr__ and CacheDB.engine)
    from sqlalchemy import Connection, Engine

    from partner_tui.core.cache_tables import (
        KIND_TABLES as KIND_TABLES,
    )
    from partner_tui.core.cache_tables import (
        PRIMARY_TABLES as PRIMARY_TABLES,
    )
    from partner_tui.core.cache_tables import (
        CachedAccessGrant as CachedAccessGrant,
    )
    from partner_tui.core.cache_tables import (
        CachedAccessTemplate as CachedAccessTemplate,
    )
    from partner_tui.core.cache_tables import (
        CachedAuditEvent as CachedAuditEvent,
    )
    from partner_tui.core.cache_tables import (
        CachedClient as CachedClient,
    )
    from partner_tui.core.cache_tables import (
        CachedClientGroup as CachedClientGroup,
    )
    from partner_tui.core.cache_tables import (
        CachedClientGroupMember as CachedClientGroupMember,
    )
    from partner_tui.core.cache_tables import (
        CachedClientMonth as CachedClientMonth,
    )
    from partner_tui.core.cache_tables import (
        CachedPartner as CachedPartner,
    )
    from partner_tui.core.cache_tables import (
        CachedUser as CachedUser,
    )
    from partner_tui.core.cache_tables import (
        CacheModel as CacheModel,
    )
    from partner_tui.core.cache_tables import (
        Meta as Meta,
    )
    from partner_tui.core.cache_tables import (
        OutboxItem as OutboxItem,
    )

APPLICATION_ID = 0x50545549  # "PTUI": marks the file as ours
# The hash of the derived tables' columns (cache_tables.schema_hash(), which checks it on
# import), written to the file's user_version. A constant so that opening a cache that is up to
# date needs neither SQLAlchemy nor SQLModel: the app reads its start-up figures with sqlite3.
SCHEMA_HASH = 0x8E0BC6C

_LAZY = {
    "KIND_TABLES",
    "PRIMARY_TABLES",
    "CacheModel",
    "CachedAccessGrant",
    "CachedAccessTemplate",
    "CachedAuditEvent",
    "CachedClient",
    "CachedClientGroup",
    "CachedClientGroupMember",
    "CachedClientMonth",
    "CachedPartner",
    "CachedUser",
    "Meta",
    "OutboxItem",
}


def __getattr__(name: str) -> Any:
    """The tables (``KIND_TABLES``, ``CacheModel``, …) live in ``cache_tables``, imported on
    first use: ``from partner_tui.core.cache import KIND_TABLES`` keeps working."""
    if name in _LAZY:
        from partner_tui.core import cache_tables

        return getattr(cache_tables, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _create_private_file(path: Path) -> None:
    if not path.parent.exists():
        # Only a folder we create is ours to lock down; never chmod one the user chose
        # (a cache placed in /tmp must not make /tmp private).
        path.parent.mkdir(parents=True, mode=0o700)
        os.chmod(path.parent, 0o700)  # mkdir's mode is filtered by the umask
    if not path.exists():
        # Pre-create with 0600: SQLite gives the -wal and -shm files the main file's mode.
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    os.chmod(path, 0o600)


class CacheDB:
    """Owns the cache file: schema, pragmas and connections.

    Opening is cheap: an up-to-date file is recognised from its ``user_version`` with plain
    ``sqlite3``. SQLAlchemy (``engine``, ``write()``) is set up on first use, typically by the
    sync or a queued write in a worker thread after the app has drawn its first frame.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        _create_private_file(path)
        self._engine: Engine | None = None
        self._engine_lock = threading.Lock()
        if not self._schema_is_current():
            self._ensure_schema()

    @property
    def engine(self) -> "Engine":
        """The SQLAlchemy engine (created, and the schema completed, on first use)."""
        engine = self._engine
        if engine is None:
            with self._engine_lock:
                engine = self._engine
                if engine is None:
                    engine = self._make_engine()
                    from partner_tui.core.cache_tables import CacheModel

                    # Idempotent: adds any table or index the code has and the file lacks.
                    CacheModel.metadata.create_all(engine)
                    self._engine = engine
        return engine

    def _make_engine(self) -> "Engine":
        from sqlalchemy import create_engine, event

        engine = create_engine(
            f"sqlite:///{self.path}", connect_args={"check_same_thread": False, "timeout": 30}
        )
        event.listen(engine, "connect", _pragmas)
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine

    def _schema_is_current(self) -> bool:
        """The file is ours and has the tables of this code (no SQLAlchemy needed)."""
        with closing(sqlite3.connect(self.path, timeout=30)) as conn:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            found = conn.execute("PRAGMA user_version").fetchone()[0]
        if app_id not in (0, APPLICATION_ID):
            raise RuntimeError(f"{self.path} is not a partner-tui cache file")
        return bool(app_id == APPLICATION_ID and found == SCHEMA_HASH)

    def _ensure_schema(self) -> None:
        from partner_tui.core.cache_tables import PRIMARY_TABLES, CacheModel

        engine = self._make_engine()
        with engine.connect() as conn:
            found = conn.exec_driver_sql("PRAGMA user_version").scalar()
            app_id = conn.exec_driver_sql("PRAGMA application_id").scalar()
        if app_id not in (0, APPLICATION_ID):
            raise RuntimeError(f"{self.path} is not a partner-tui cache file")
        if found and found != SCHEMA_HASH:
            # Derived tables only: drop and resync. The outbox and meta stay.
            with engine.begin() as conn:
                for table in CacheModel.metadata.sorted_tables:
                    if table.name not in PRIMARY_TABLES:
                        conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{table.name}"')
                        conn.exec_driver_sql(f'DROP TABLE IF EXISTS "stage_{table.name}"')
                conn.exec_driver_sql("DELETE FROM meta WHERE key IN ('cursor', 'staging_cursor')")
        CacheModel.metadata.create_all(engine)
        # In a committed transaction: a PRAGMA write left in an open one is rolled back.
        with engine.begin() as conn:
            conn.exec_driver_sql(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.exec_driver_sql(f"PRAGMA user_version = {SCHEMA_HASH}")
        self._engine = engine

    @contextmanager
    def write(self) -> Iterator[Any]:
        """One write transaction (BEGIN IMMEDIATE) on a SQLAlchemy connection."""
        with self.engine.begin() as conn:
            yield conn

    def raw(self, *, query_only: bool = True) -> sqlite3.Connection:
        """A plain read connection for the UI's hot paths (filtering, counting). The
        ``query_only`` guard costs a statement; the start-up read, one SELECT, goes without."""
        conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        conn.create_collation("NB", nb_collate)  # Norwegian order: … z æ ø å
        if query_only:
            conn.execute("PRAGMA query_only = ON")
        return conn

    def get_meta(self, key: str) -> str | None:
        with closing(self.raw()) as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def is_empty(self) -> bool:
        return self.get_meta("cursor") is None

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


def _pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # BEGIN is ours (see CacheDB.__init__)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    # FULL: the outbox holds user intent, and WAL with NORMAL may lose the last commits.
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def set_meta(conn: "Connection", key: str, value: str) -> None:
    conn.exec_driver_sql(
        "INSERT INTO meta(key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )
