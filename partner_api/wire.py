"""The contract between the API and its clients: request and response bodies.

This module imports pydantic and nothing else heavy, so ``partner_tui`` imports it without
pulling in FastAPI, SQLAlchemy engines or server routes.
"""

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["ansvarlig", "medarbeider"]
RoleSource = Literal["auto", "manual"]
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
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None
