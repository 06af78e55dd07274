"""Database tables of the API service (SQLModel).

Every tenant-owned row carries ``partner_id``; every query is scoped by the caller's partner.
Rows of the *sync kinds* (see ``SYNC_KINDS``) carry ``version``: the change version of the
write transaction that last touched them (set automatically by ``partner_api.versioning``).
Money is stored as integer øre so that sums are exact on SQLite and PostgreSQL alike.
"""

from datetime import UTC, date, datetime

from sqlalchemy import BigInteger, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class Versioned(SQLModel):
    """Mixin: ``version`` is the change version of the row's last write (the sync cursor)."""

    version: int = Field(default=0, sa_type=BigInteger, index=True)


class SyncState(SQLModel, table=True):
    """One row (id=1): the database's gap-free change counter and its identity."""

    __tablename__ = "sync_state"
    id: int = Field(default=1, primary_key=True)
    version: int = Field(default=0, sa_type=BigInteger)
    epoch: str  # new on every database creation or demo reset: old cursors get 410
    min_valid_version: int = Field(default=0, sa_type=BigInteger)  # raised by tombstone pruning
    secret: str  # HMAC key for cursors


class Tombstone(SQLModel, table=True):
    __tablename__ = "tombstone"
    __table_args__ = (
        Index("ix_tombstone_partner_version", "partner_id", "version"),
        # The change feed's resume order: (version, kind, entity_id) within a partner.
        Index(
            "ix_tombstone_partner_version_kind_entity",
            "partner_id",
            "version",
            "kind",
            "entity_id",
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    partner_id: int
    kind: str
    entity_id: int = Field(sa_type=BigInteger)
    version: int = Field(sa_type=BigInteger)
    deleted_at: datetime = Field(default_factory=utcnow)


class Partner(Versioned, table=True):
    __tablename__ = "partner"
    id: int | None = Field(default=None, primary_key=True)
    name: str
    orgnr: str
    internal_client_id: int | None = None
    # Reference to the Altinn agent system user (never a secret).
    altinn_system_user_ref: str | None = None
    altinn_status: str = "not_configured"


class User(Versioned, table=True):
    __tablename__ = "app_user"
    __table_args__ = (Index("ix_app_user_partner_version_id", "partner_id", "version", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    partner_id: int = Field(foreign_key="partner.id", index=True)
    name: str
    email: str = Field(unique=True)
    is_admin: bool = False
    is_partneradmin: bool = False
    active: bool = True


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    prefix: str
    last4: str
    token_hash: str = Field(unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class Client(Versioned, table=True):
    __tablename__ = "client"
    __table_args__ = (
        UniqueConstraint("partner_id", "orgnr"),
        Index("ix_client_partner_version_id", "partner_id", "version", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    partner_id: int = Field(foreign_key="partner.id", index=True)
    orgnr: str = Field(index=True)
    name: str
    payroll_enabled: bool = True
    payout_day: int | None = None
    uses_partner_altinn: bool = False
    status: str = "active"  # active | archived


# Access levels, lowest first: a user may grant at most their own level (DESIGN.md §3).
ACCESS_LEVELS = ("read", "payroll", "full")


class AccessGrant(Versioned, table=True):
    __tablename__ = "access_grant"
    __table_args__ = (
        UniqueConstraint("user_id", "client_id"),
        # Expiry sweeps look for "valid_until < today" per partner on every write and sync.
        Index("ix_access_grant_partner_valid_until", "partner_id", "valid_until"),
        Index("ix_access_grant_partner_version_id", "partner_id", "version", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    partner_id: int = Field(foreign_key="partner.id", index=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    client_id: int = Field(foreign_key="client.id", index=True)
    access_level: str = "full"  # one of ACCESS_LEVELS
    role: str = "medarbeider"  # ansvarlig | medarbeider
    role_source: str = "auto"  # auto | manual
    valid_until: date | None = None  # last day of access; the grant ends by itself after it


class AccessTemplate(Versioned, table=True):
    """A named access preset of the partner ("Lønnsmedarbeider"): a level and optionally a role.

    Applying a template copies its values onto the grant; editing the template later does not
    change grants made from it.
    """

    __tablename__ = "access_template"
    __table_args__ = (
        UniqueConstraint("partner_id", "name"),
        Index("ix_access_template_partner_version_id", "partner_id", "version", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    partner_id: int = Field(foreign_key="partner.id", index=True)
    name: str
    access_level: str  # one of ACCESS_LEVELS
    role: str | None = None  # a role set by hand on grants made from it; None = automatic


class ClientGroup(Versioned, table=True):
    __tablename__ = "client_group"
    __table_args__ = (
        UniqueConstraint("partner_id", "name"),
        Index("ix_client_group_partner_version_id", "partner_id", "version", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    partner_id: int = Field(foreign_key="partner.id", index=True)
    name: str


class ClientGroupMember(Versioned, table=True):
    __tablename__ = "client_group_member"
    __table_args__ = (
        UniqueConstraint("group_id", "client_id"),
        Index("ix_client_group_member_partner_version_id", "partner_id", "version", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    partner_id: int = Field(foreign_key="partner.id", index=True)
    group_id: int = Field(foreign_key="client_group.id", index=True)
    client_id: int = Field(foreign_key="client.id", index=True)


class Employee(SQLModel, table=True):
    """An employee of a client. The national id never leaves the server unmasked."""

    __tablename__ = "employee"
    __table_args__ = (UniqueConstraint("client_id", "national_id"),)
    id: int | None = Field(default=None, primary_key=True)
    partner_id: int = Field(foreign_key="partner.id", index=True)
    client_id: int = Field(foreign_key="client.id", index=True)
    national_id: str
    name: str | None = None


class Employment(SQLModel, table=True):
    __tablename__ = "employment"
    __table_args__ = (UniqueConstraint("employee_id", "arbeidsforhold_id"),)
    id: int | None = Field(default=None, primary_key=True)
    partner_id: int = Field(foreign_key="partner.id", index=True)
    employee_id: int = Field(foreign_key="employee.id", index=True)
    arbeidsforhold_id: str
    start_date: date | None = None
    end_date: date | None = None
    position_percent: float | None = None


class PayrollRun(SQLModel, table=True):
    __tablename__ = "payroll_run"
    __table_args__ = (
        UniqueConstraint("partner_id", "external_ref"),
        Index("ix_payroll_run_client_period", "client_id", "period"),
    )
    id: int | None = Field(default=None, primary_key=True)
    partner_id: int = Field(foreign_key="partner.id", index=True)
    client_id: int = Field(foreign_key="client.id")
    external_ref: str  # the sender's id for the run: batches are upserts, safe to resend
    period: str  # YYYY-MM
    pay_date: date
    status: str = "draft"  # draft → calculated → approved → paid → closed
    run_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    payslip_count: int = 0
    payslips_sent: int = 0
    auto_tax_card: bool = False
    auto_payslip: bool = False
    auto_amelding: bool = False
    auto_payment: bool = False
    auto_posting: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class ExpenseClaim(SQLModel, table=True):
    __tablename__ = "expense_claim"
    __table_args__ = (
        UniqueConstraint("partner_id", "external_ref"),
        Index("ix_expense_claim_client_period", "client_id", "period"),
    )
    id: int | None = Field(default=None, primary_key=True)
    partner_id: int = Field(foreign_key="partner.id", index=True)
    client_id: int = Field(foreign_key="client.id")
    external_ref: str
    period: str
    registered_on: date
    kind: str = "travel"  # travel | expense
    amount_ore: int = Field(default=0, sa_type=BigInteger)


class Absence(SQLModel, table=True):
    __tablename__ = "absence"
    __table_args__ = (
        UniqueConstraint("partner_id", "external_ref"),
        Index("ix_absence_client_period", "client_id", "period"),
    )
    id: int | None = Field(default=None, primary_key=True)
    partner_id: int = Field(foreign_key="partner.id", index=True)
    client_id: int = Field(foreign_key="client.id")
    external_ref: str
    period: str
    registered_on: date
    kind: str = "sick"
    days: float = 1.0


class Amelding(SQLModel, table=True):
    __tablename__ = "amelding"
    __table_args__ = (
        UniqueConstraint("partner_id", "meldings_id"),
        Index("ix_amelding_client_period", "client_id", "period"),
    )
    id: int | None = Field(default=None, primary_key=True)
    partner_id: int = Field(foreign_key="partner.id", index=True)
    client_id: int = Field(foreign_key="client.id")
    period: str
    meldings_id: str
    replaces_meldings_id: str | None = None
    status: str = "mottatt"  # mottatt | avvist | erstattet
    deviations: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    cash_salary_ore: int = Field(default=0, sa_type=BigInteger)
    withholding_ore: int = Field(default=0, sa_type=BigInteger)
    aga_ore: int = Field(default=0, sa_type=BigInteger)
    finansskatt_ore: int = Field(default=0, sa_type=BigInteger)
    active_employees: int = 0
    payout_dates: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    source_name: str = ""
    schema_version: str = ""
    received_at: datetime = Field(default_factory=utcnow)


class ClientMonth(Versioned, table=True):
    """Derived figures per client per month: what the cache syncs for dashboard and reports.

    Recomputed from the raw tables whenever something under it changes
    (``partner_api.services.client_month``).
    """

    __tablename__ = "client_month"
    __table_args__ = (
        UniqueConstraint("client_id", "month"),
        Index("ix_client_month_partner_version_id", "partner_id", "version", "id"),
        Index("ix_client_month_partner_month", "partner_id", "month"),
    )
    id: int | None = Field(default=None, primary_key=True)
    partner_id: int = Field(foreign_key="partner.id", index=True)
    client_id: int = Field(foreign_key="client.id")
    month: str = Field(index=True)
    active_employees: int = 0
    payslips_sent: int = 0
    claims: int = 0
    absences: int = 0
    auto_steps: int = 0
    total_steps: int = 0
    salary_paid_ore: int = Field(default=0, sa_type=BigInteger)
    withholding_ore: int = Field(default=0, sa_type=BigInteger)
    aga_ore: int = Field(default=0, sa_type=BigInteger)
    # Status of the client's latest (not replaced) a-melding for the month; None = none received.
    amelding_status: str | None = None


class TaxCard(SQLModel, table=True):
    __tablename__ = "tax_card"
    __table_args__ = (UniqueConstraint("employee_id", "income_year"),)
    id: int | None = Field(default=None, primary_key=True)
    partner_id: int = Field(foreign_key="partner.id", index=True)
    employee_id: int = Field(foreign_key="employee.id")
    income_year: int
    result_status: str
    card_kind: str | None = None
    table_number: str | None = None
    percentage: float | None = None
    issued_on: date | None = None
    fetched_at: datetime = Field(default_factory=utcnow)


class Job(Versioned, table=True):
    __tablename__ = "job"
    id: int | None = Field(default=None, primary_key=True)
    partner_id: int = Field(foreign_key="partner.id", index=True)
    kind: str
    status: str = "queued"
    created_by_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None


class JobItem(Versioned, table=True):
    __tablename__ = "job_item"
    id: int | None = Field(default=None, primary_key=True)
    partner_id: int = Field(foreign_key="partner.id", index=True)
    job_id: int = Field(foreign_key="job.id", index=True)
    client_id: int | None = Field(default=None, foreign_key="client.id")
    status: str = "queued"
    attempts: int = 0
    last_error: str | None = None


class AuditEvent(Versioned, table=True):
    """Who changed what, when, from what to what (JSON), under which request id.

    ``user_id`` is the actor (None: the system, e.g. an expired grant); ``subject_user_id`` and
    ``client_id`` name the user and client the change is about (no foreign keys: the log
    outlives what it describes).
    """

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_partner_version_id", "partner_id", "version", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    partner_id: int = Field(foreign_key="partner.id", index=True)
    user_id: int | None = Field(default=None, foreign_key="app_user.id")
    at: datetime = Field(default_factory=utcnow)
    action: str
    entity_kind: str
    entity_id: int | None = None
    subject_user_id: int | None = Field(default=None, index=True)
    client_id: int | None = Field(default=None, index=True)
    before: str | None = Field(default=None, sa_column=Column(Text))
    after: str | None = Field(default=None, sa_column=Column(Text))
    note: str | None = None
    request_id: str | None = None


class IdempotencyKey(SQLModel, table=True):
    __tablename__ = "idempotency_key"
    __table_args__ = (
        UniqueConstraint("user_id", "key"),
        Index("ix_idempotency_key_created_at", "created_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id")
    key: str
    fingerprint: str
    status_code: int | None = None
    response_json: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow)


# Kinds delivered by the sync feed, in the order used to break version ties: kind name → table.
SYNC_KINDS: dict[str, type[Versioned]] = {
    "access_grant": AccessGrant,
    "access_template": AccessTemplate,
    "audit_event": AuditEvent,
    "client": Client,
    "client_group": ClientGroup,
    "client_group_member": ClientGroupMember,
    "client_month": ClientMonth,
    "partner": Partner,
    "user": User,
}
KIND_OF_TABLE: dict[type[SQLModel], str] = {table: kind for kind, table in SYNC_KINDS.items()}
