"""The cache's SQLModel tables: the SQLAlchemy side of the local cache.

Imported lazily (by ``partner_tui.core.cache`` when a table, the engine or a write is first
needed, and by the sync), so that opening the app and reading its start-up figures, which use
plain ``sqlite3``, never pays for importing SQLAlchemy and SQLModel.
"""

import hashlib
from datetime import date

from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from partner_tui.core.cache import SCHEMA_HASH


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


def schema_hash() -> int:
    """The hash of the derived tables' columns, as stored in the file's ``user_version``."""
    ddl = "|".join(
        f"{t.name}:" + ",".join(f"{c.name} {c.type}" for c in t.columns)
        for t in sorted(CacheModel.metadata.sorted_tables, key=lambda t: t.name)
        if t.name not in PRIMARY_TABLES
    )
    return int(hashlib.sha256(ddl.encode()).hexdigest()[:7], 16)


if schema_hash() != SCHEMA_HASH:  # the constant lets the start path skip this import
    raise RuntimeError(
        "the cache tables changed: set SCHEMA_HASH in partner_tui/core/cache.py to "
        f"{schema_hash():#x}"
    )
