"""The local cache: a SQLite file (SQLModel tables) mirroring the API's sync kinds.

Cache tables are derived data: when their schema changes they are dropped and resynced. The
outbox (queued offline edits) is the user's intent and is never dropped. The file is created
0600 inside a 0700 folder; it holds no tokens and no unmasked national ids.
"""

import hashlib
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

APPLICATION_ID = 0x50545549  # "PTUI": marks the file as ours


class CacheModel(SQLModel, registry=registry()):
    """Base of cache tables: a metadata of its own, apart from the server's tables."""


class CachedPartner(CacheModel, table=True):
    __tablename__ = "partner"
    id: int = Field(primary_key=True)
    version: int
    name: str
    orgnr: str
    altinn_status: str


class CachedUser(CacheModel, table=True):
    __tablename__ = "user"
    id: int = Field(primary_key=True)
    version: int
    name: str
    email: str
    is_admin: bool
    is_partneradmin: bool
    active: bool


class CachedClient(CacheModel, table=True):
    __tablename__ = "client"
    id: int = Field(primary_key=True)
    version: int
    orgnr: str
    name: str
    payroll_enabled: bool
    payout_day: int | None = None
    uses_partner_altinn: bool
    status: str


class CachedAccessGrant(CacheModel, table=True):
    __tablename__ = "access_grant"
    id: int = Field(primary_key=True)
    version: int
    user_id: int = Field(index=True)
    client_id: int = Field(index=True)
    access_level: str
    role: str
    role_source: str
    valid_until: date | None = None


class CachedAccessTemplate(CacheModel, table=True):
    __tablename__ = "access_template"
    id: int = Field(primary_key=True)
    version: int
    name: str
    access_level: str
    role: str | None = None


class CachedAuditEvent(CacheModel, table=True):
    """An audit event; ``at`` is ISO text, ``before``/``after`` JSON text as in the feed."""

    __tablename__ = "audit_event"
    id: int = Field(primary_key=True)
    version: int
    user_id: int | None = None
    at: str = Field(index=True)
    action: str
    entity_kind: str
    entity_id: int | None = None
    subject_user_id: int | None = Field(default=None, index=True)
    client_id: int | None = Field(default=None, index=True)
    before: str | None = None
    after: str | None = None
    note: str | None = None
    request_id: str | None = None


class CachedClientGroup(CacheModel, table=True):
    __tablename__ = "client_group"
    id: int = Field(primary_key=True)
    version: int
    name: str


class CachedClientGroupMember(CacheModel, table=True):
    __tablename__ = "client_group_member"
    id: int = Field(primary_key=True)
    version: int
    group_id: int = Field(index=True)
    client_id: int = Field(index=True)


class CachedClientMonth(CacheModel, table=True):
    __tablename__ = "client_month"
    id: int = Field(primary_key=True)
    version: int
    client_id: int = Field(index=True)
    month: str = Field(index=True)
    active_employees: int
    payslips_sent: int
    claims: int
    absences: int
    auto_steps: int
    total_steps: int
    salary_paid_ore: int
    withholding_ore: int
    aga_ore: int
    amelding_status: str | None = None


class Meta(CacheModel, table=True):
    """Key/value facts about the cache: server URL, cursor, last sync time."""

    __tablename__ = "meta"
    key: str = Field(primary_key=True)
    value: str


class OutboxItem(CacheModel, table=True):
    """A write queued while offline (or in flight): primary data, never dropped silently."""

    __tablename__ = "outbox"
    id: int | None = Field(default=None, primary_key=True)
    created_at: str
    idempotency_key: str = Field(unique=True)
    method: str
    path: str
    body: str
    summary: str = ""
    status: str = "pending"  # pending | inflight | applied | rejected
    attempts: int = 0
    last_problem: str | None = None
    server_version: int | None = None


# Sync kind → cache table. Same kind names as partner_api.wire.ROW_MODELS.
KIND_TABLES: dict[str, type[CacheModel]] = {
    "access_grant": CachedAccessGrant,
    "access_template": CachedAccessTemplate,
    "audit_event": CachedAuditEvent,
    "client": CachedClient,
    "client_group": CachedClientGroup,
    "client_group_member": CachedClientGroupMember,
    "client_month": CachedClientMonth,
    "partner": CachedPartner,
    "user": CachedUser,
}
PRIMARY_TABLES = {"meta", "outbox"}  # kept across a schema change of the cache tables


def _schema_hash() -> int:
    ddl = "|".join(
        f"{t.name}:" + ",".join(f"{c.name} {c.type}" for c in t.columns)
        for t in sorted(CacheModel.metadata.sorted_tables, key=lambda t: t.name)
        if t.name not in PRIMARY_TABLES
    )
    return int(hashlib.sha256(ddl.encode()).hexdigest()[:7], 16)


SCHEMA_HASH = _schema_hash()


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
    """Owns the cache file: schema, pragmas and connections."""

    def __init__(self, path: Path) -> None:
        self.path = path
        _create_private_file(path)
        self.engine: Engine = create_engine(
            f"sqlite:///{path}", connect_args={"check_same_thread": False, "timeout": 30}
        )
        event.listen(self.engine, "connect", _pragmas)
        event.listen(self.engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        self._ensure_schema()

    def _ensure_schema(self) -> None:
        with self.engine.connect() as conn:
            found = conn.exec_driver_sql("PRAGMA user_version").scalar()
            app_id = conn.exec_driver_sql("PRAGMA application_id").scalar()
        if app_id not in (0, APPLICATION_ID):
            raise RuntimeError(f"{self.path} is not a partner-tui cache file")
        if found and found != SCHEMA_HASH:
            # Derived tables only: drop and resync. The outbox and meta stay.
            with self.engine.begin() as conn:
                for table in CacheModel.metadata.sorted_tables:
                    if table.name not in PRIMARY_TABLES:
                        conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{table.name}"')
                        conn.exec_driver_sql(f'DROP TABLE IF EXISTS "stage_{table.name}"')
                conn.exec_driver_sql("DELETE FROM meta WHERE key IN ('cursor', 'staging_cursor')")
        CacheModel.metadata.create_all(self.engine)
        # In a committed transaction: a PRAGMA write left in an open one is rolled back.
        with self.engine.begin() as conn:
            conn.exec_driver_sql(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.exec_driver_sql(f"PRAGMA user_version = {SCHEMA_HASH}")

    @contextmanager
    def write(self) -> Iterator[Any]:
        """One write transaction (BEGIN IMMEDIATE) on a SQLAlchemy connection."""
        with self.engine.begin() as conn:
            yield conn

    def raw(self) -> sqlite3.Connection:
        """A plain read connection for the UI's hot paths (filtering, counting)."""
        conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        conn.execute("PRAGMA query_only = ON")
        return conn

    def get_meta(self, key: str) -> str | None:
        with self.engine.connect() as conn:
            row = conn.exec_driver_sql("SELECT value FROM meta WHERE key = ?", (key,)).first()
        return None if row is None else str(row[0])

    def is_empty(self) -> bool:
        return self.get_meta("cursor") is None

    def dispose(self) -> None:
        self.engine.dispose()


def _pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # BEGIN is ours (see CacheDB.__init__)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    # FULL: the outbox holds user intent, and WAL with NORMAL may lose the last commits.
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def set_meta(conn: Connection, key: str, value: str) -> None:
    conn.exec_driver_sql(
        "INSERT INTO meta(key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )
