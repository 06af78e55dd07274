"""The contract between the API and its clients: request and response bodies.

This module imports pydantic and nothing else heavy, so ``partner_tui`` imports it without
pulling in FastAPI, SQLAlchemy engines or server routes.
"""

import json
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Role = Literal["ansvarlig", "medarbeider"]
RoleSource = Literal["auto", "manual"]
# Lowest first; a caller may grant at most their own level.
AccessLevel = Literal["read", "payroll", "full"]
ACCESS_LEVEL_ORDER: tuple[AccessLevel, ...] = ("read", "payroll", "full")
AmeldingStatus = Literal["mottatt", "avvist", "erstattet"]
PayrollRunStatus = Literal["draft", "calculated", "approved", "paid", "closed"]

MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"


class WireModel(BaseModel):
    model_config = ConfigDict(extra="ignore")


# ---- sync ---------------------------------------------------------------------------------


class Change(WireModel):
    kind: str
    id: int
    op: Literal["upsert", "delete"]
    version: int
    data: dict[str, Any] | None = None


class ChangesPage(WireModel):
    changes: list[Change]
    next_cursor: str
    has_more: bool
    server_version: int


# Row shapes of the sync kinds (the ``data`` of an upsert).


class PartnerRow(WireModel):
    id: int
    name: str
    orgnr: str
    altinn_status: str


class UserRow(WireModel):
    id: int
    name: str
    email: str
    is_admin: bool
    is_partneradmin: bool
    active: bool


class ClientRow(WireModel):
    id: int
    orgnr: str
    name: str
    payroll_enabled: bool
    payout_day: int | None
    uses_partner_altinn: bool
    status: str


class AccessGrantRow(WireModel):
    id: int
    user_id: int
    client_id: int
    access_level: str
    role: Role
    role_source: RoleSource
    valid_until: date | None


class AccessTemplateRow(WireModel):
    id: int
    name: str
    access_level: str
    role: Role | None


class AuditEventRow(WireModel):
    """One audit event. In the sync feed ``before``/``after`` arrive as JSON text; validating
    the row through this model (or reading ``GET /v1/audit``) gives them as objects."""

    id: int
    user_id: int | None  # the actor; None = the system (e.g. an expired grant)
    at: datetime
    action: str
    entity_kind: str
    entity_id: int | None
    subject_user_id: int | None
    client_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    note: str | None
    request_id: str | None

    @field_validator("before", "after", mode="before")
    @classmethod
    def _parse_json(cls, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value


class ClientGroupRow(WireModel):
    id: int
    name: str


class ClientGroupMemberRow(WireModel):
    id: int
    group_id: int
    client_id: int


class ClientMonthRow(WireModel):
    id: int
    client_id: int
    month: str
    active_employees: int
    payslips_sent: int
    claims: int
    absences: int
    auto_steps: int
    total_steps: int
    salary_paid_ore: int
    withholding_ore: int
    aga_ore: int
    amelding_status: AmeldingStatus | None


ROW_MODELS: dict[str, type[WireModel]] = {
    "access_grant": AccessGrantRow,
    "access_template": AccessTemplateRow,
    "audit_event": AuditEventRow,
    "client": ClientRow,
    "client_group": ClientGroupRow,
    "client_group_member": ClientGroupMemberRow,
    "client_month": ClientMonthRow,
    "partner": PartnerRow,
    "user": UserRow,
}


# ---- dashboard ----------------------------------------------------------------------------


class DashboardFilter(WireModel):
    group_id: int | None = None
    user_id: int | None = None
    role: Role | None = None


class DashboardFigures(WireModel):
    """The eight figures of DESIGN.md §3 for one month over the filtered clients."""

    month: str
    payroll_clients: int
    active_employees: int
    payslips_sent: int
    claims: int
    absences: int
    automation_auto_steps: int
    automation_total_steps: int
    amelding_rejected_last_month: int
    amelding_missing_last_month: int
    salary_paid_ore: int

    @property
    def automation_percent(self) -> float | None:
        if not self.automation_total_steps:
            return None
        return 100.0 * self.automation_auto_steps / self.automation_total_steps


# ---- payroll events -----------------------------------------------------------------------


class PayrollRunIn(WireModel):
    client_orgnr: str
    external_ref: str = Field(min_length=1, max_length=200)
    period: str = Field(pattern=MONTH_PATTERN)
    pay_date: date
    status: PayrollRunStatus = "draft"
    run_by_email: str | None = None
    payslip_count: int = Field(default=0, ge=0)
    payslips_sent: int = Field(default=0, ge=0)
    auto_tax_card: bool = False
    auto_payslip: bool = False
    auto_amelding: bool = False
    auto_payment: bool = False
    auto_posting: bool = False


class ExpenseClaimIn(WireModel):
    client_orgnr: str
    external_ref: str = Field(min_length=1, max_length=200)
    registered_on: date
    kind: Literal["travel", "expense"] = "travel"
    amount_ore: int = Field(default=0, ge=0)


class AbsenceIn(WireModel):
    client_orgnr: str
    external_ref: str = Field(min_length=1, max_length=200)
    registered_on: date
    kind: str = "sick"
    days: float = Field(default=1.0, gt=0)


class PayrollEventsIn(WireModel):
    """One batch of payroll events; every item is an upsert keyed by ``external_ref``."""

    payroll_runs: list[PayrollRunIn] = Field(default_factory=list, max_length=5000)
    expense_claims: list[ExpenseClaimIn] = Field(default_factory=list, max_length=5000)
    absences: list[AbsenceIn] = Field(default_factory=list, max_length=5000)


class ItemError(WireModel):
    section: str
    index: int
    detail: str


class PayrollEventsResult(WireModel):
    payroll_runs: int
    expense_claims: int
    absences: int
    errors: list[ItemError]


# ---- a-melding import ---------------------------------------------------------------------


class AmeldingImported(WireModel):
    source: str
    meldings_id: str
    client_id: int
    client_orgnr: str
    period: str
    status: AmeldingStatus
    replaced_meldings_id: str | None
    active_employees: int
    cash_salary_ore: int
    withholding_ore: int
    aga_ore: int


class AmeldingStatusIn(WireModel):
    """Feedback (tilbakemelding) on an a-melding: received or rejected, with deviations."""

    status: Literal["mottatt", "avvist"]
    deviations: list[dict[str, Any]] = Field(default_factory=list)


# ---- misc ---------------------------------------------------------------------------------


class Me(WireModel):
    user: UserRow
    partner: PartnerRow


class Problem(WireModel):
    """RFC 9457 problem details. Extension members are kept (``model_extra``)."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None
    # 412 Precondition Failed: the version the resource has now (0 = it does not exist).
    current_version: int | None = None


# ---- access administration ----------------------------------------------------------------
#
# Grants are declarative: "ensure present (with these values)" or "ensure absent". A field left
# out of an ``ensure`` keeps the grant's current value (or the default for a new grant); an
# explicit ``"valid_until": null`` clears the expiry. Bulk writes answer 200 with one result per
# item whenever the envelope was valid; each result carries the grant's state before and after,
# so a client can build the inverse plan (``GrantItemResult.inverse``) for undo.

ItemStatus = Literal["created", "updated", "unchanged", "deleted", "failed"]
BulkMode = Literal["partial", "atomic"]
MAX_BULK_ITEMS = 1000


class RequestModel(BaseModel):
    """Request bodies refuse unknown fields: a misspelt field must not silently do nothing."""

    model_config = ConfigDict(extra="forbid")


class GrantSpec(RequestModel):
    """The wanted state of one grant (``PUT /v1/access-grants/{user_id}/{client_id}``)."""

    access_level: AccessLevel | None = Field(
        default=None, description="Required for a new grant unless template_id is given."
    )
    template_id: int | None = Field(
        default=None, description="Take access_level (and role, if the template has one)."
    )
    role: Role | None = Field(default=None, description="Set by hand: implies role_source=manual.")
    role_source: RoleSource | None = Field(
        default=None, description="'auto' clears a manual role (back to the automatic rule)."
    )
    valid_until: date | None = Field(
        default=None, description="Last day of access. Omitted: unchanged; null: no expiry."
    )
    expected_version: int | None = Field(
        default=None,
        ge=0,
        description="Apply only if the grant still has this version (0: only if absent); "
        "else 412 / a failed item with current_version.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> "GrantSpec":
        if self.access_level is not None and self.template_id is not None:
            raise ValueError("give access_level or template_id, not both")
        if self.role is not None and self.role_source == "auto":
            raise ValueError("role_source 'auto' takes no role (the automatic rule sets it)")
        return self


class GrantOp(GrantSpec):
    """One item of ``POST /v1/access-grants:bulk``."""

    op: Literal["ensure", "revoke"] = "ensure"
    user_id: int
    client_id: int
    restore: bool = Field(
        default=False,
        description="This item undoes an earlier change (as built by an undo): it may bring "
        "back a grant on a client archived since, which a new grant may not. Needs "
        "expected_version, so it only restores what the undo saw.",
    )

    @model_validator(mode="after")
    def _restore_is_guarded(self) -> "GrantOp":
        if self.restore and self.expected_version is None:
            raise ValueError("restore needs expected_version")
        return self


class BulkGrantsIn(RequestModel):
    mode: BulkMode = "partial"
    dry_run: bool = False
    # The limit is checked by the route (413) rather than here, for a clearer answer.
    items: list[GrantOp]


class GrantState(WireModel):
    """A grant as stored (``id`` and ``version`` are None in a plan for a grant not yet made)."""

    id: int | None
    version: int | None
    user_id: int
    client_id: int
    access_level: AccessLevel
    role: Role
    role_source: RoleSource
    valid_until: date | None


class ItemProblem(Problem):
    """Why one item failed (RFC 9457 shape, inside a 200 bulk answer)."""


class GrantItemResult(WireModel):
    index: int
    status: ItemStatus
    user_id: int
    client_id: int
    before: GrantState | None = None
    after: GrantState | None = None
    problem: ItemProblem | None = None

    def inverse(self) -> GrantOp | None:
        """The item that undoes this one, guarded by ``expected_version`` so an undo never
        overwrites a change someone made since; None when there is nothing to undo."""
        if self.status == "created" and self.after is not None:
            return GrantOp(
                op="revoke",
                user_id=self.user_id,
                client_id=self.client_id,
                expected_version=self.after.version,
            )
        if self.status in ("updated", "deleted") and self.before is not None:
            b = self.before
            return GrantOp(
                op="ensure",
                user_id=self.user_id,
                client_id=self.client_id,
                access_level=b.access_level,
                role=b.role if b.role_source == "manual" else None,
                role_source=b.role_source,
                valid_until=b.valid_until,
                expected_version=self.after.version if self.after is not None else 0,
                restore=True,
            )
        return None


class BulkSummary(WireModel):
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    failed: int = 0


class BulkGrantsResult(WireModel):
    """``applied`` is false for a dry run and for an atomic request with a failed item (then
    the other items show what they would have done). ``version`` is the change version of the
    write (None when nothing was written): the change has reached a client's cache once its
    sync cursor has passed it."""

    applied: bool
    dry_run: bool
    mode: BulkMode
    version: int | None
    summary: BulkSummary
    results: list[GrantItemResult]

    def inverse_items(self) -> list[GrantOp]:
        """The bulk items that undo an applied request (submit them with mode=atomic)."""
        if not self.applied:
            return []
        return [op for r in self.results if (op := r.inverse()) is not None]


class CopyAccessIn(RequestModel):
    """Give ``to_user_id`` the access ``from_user_id`` has, on all of the source's clients or
    the listed ones. A new grant copies the level and expiry; an existing grant of the target
    is only raised to the source's level, never lowered, and keeps its expiry. Roles are not
    copied: the automatic rule (or a role already set by hand on the target's grant) decides."""

    from_user_id: int
    to_user_id: int
    client_ids: list[int] | None = Field(default=None, max_length=MAX_BULK_ITEMS)
    mode: BulkMode = "partial"
    dry_run: bool = False


class Handover(RequestModel):
    """Who becomes ansvarlig where the departing user was: one user for all, or per client."""

    default_user_id: int | None = None
    per_client: dict[int, int] = Field(default_factory=dict)


class OffboardIn(RequestModel):
    dry_run: bool = False
    handover: Handover | None = None
    deactivate: bool = Field(default=False, description="Also deactivate the user (tokens stop).")


class ClientRef(WireModel):
    client_id: int
    orgnr: str
    name: str


class HandoverPlan(WireModel):
    client_id: int
    from_user_id: int
    to_user_id: int


class OffboardResult(WireModel):
    """The plan (dry run) or what was done: every grant that ends, every ansvarlig handover.

    ``handover_required`` lists clients where the user is ansvarlig and no new ansvarlig was
    named; a real (not dry-run) request in that state is refused with 409 and the same list.
    """

    applied: bool
    dry_run: bool
    version: int | None
    user_id: int
    deactivated: bool
    summary: BulkSummary
    results: list[GrantItemResult]
    handovers: list[HandoverPlan]
    handover_required: list[ClientRef]


class AltinnTagIn(RequestModel):
    client_ids: list[int]
    value: bool
    mode: BulkMode = "partial"
    dry_run: bool = False


class AltinnTagState(WireModel):
    uses_partner_altinn: bool
    version: int | None


class AltinnTagItemResult(WireModel):
    index: int
    status: Literal["updated", "unchanged", "failed"]
    client_id: int
    before: AltinnTagState | None = None
    after: AltinnTagState | None = None
    problem: ItemProblem | None = None


class AltinnTagResult(WireModel):
    applied: bool
    dry_run: bool
    mode: BulkMode
    version: int | None
    summary: BulkSummary
    results: list[AltinnTagItemResult]


class AccessTemplateIn(RequestModel):
    name: str = Field(min_length=1, max_length=100)
    access_level: AccessLevel
    role: Role | None = None
    expected_version: int | None = Field(default=None, ge=1)


class AccessTemplateOut(WireModel):
    id: int
    version: int
    name: str
    access_level: str
    role: Role | None


class AuditPage(WireModel):
    events: list[AuditEventRow]
    next_cursor: str | None
