"""Payroll events from the payroll system: runs, travel & expense claims, absences.

Every item is an upsert keyed by the sender's ``external_ref``, so a batch can be resent safely.
Items naming an unknown client or user are reported per item; the rest of the batch applies.
"""

from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Mapped
from sqlmodel import Session, col

from partner_api.models import Absence, Client, ExpenseClaim, PayrollRun, User
from partner_api.services import client_month, roles
from partner_api.wire import (
    AbsenceIn,
    ExpenseClaimIn,
    ItemError,
    PayrollEventsIn,
    PayrollEventsResult,
    PayrollRunIn,
)

EventRow = PayrollRun | ExpenseClaim | Absence
EventTable = type[EventRow]
# Tables ``_lookup`` maps a natural key to row ids in: all carry ``id`` and ``partner_id``.
LookupTable = EventTable | type[Client] | type[User]


def apply_events(session: Session, partner_id: int, batch: PayrollEventsIn) -> PayrollEventsResult:
    items: list[PayrollRunIn | ExpenseClaimIn | AbsenceIn] = [
        *batch.payroll_runs,
        *batch.expense_claims,
        *batch.absences,
    ]
    orgnrs = {item.client_orgnr for item in items}
    client_by_orgnr = _lookup(session, Client, col(Client.orgnr), orgnrs, partner_id)
    emails = {r.run_by_email for r in batch.payroll_runs if r.run_by_email}
    user_by_email = _lookup(session, User, col(User.email), emails, partner_id)

    errors: list[ItemError] = []
    touched: set[tuple[int, str]] = set()
    run_clients: set[int] = set()
    counts = {"payroll_runs": 0, "expense_claims": 0, "absences": 0}

    # ``incoming`` stays list[Any]: an item's fields depend on its section (``table is ...``).
    sections: list[tuple[str, EventTable, list[Any]]] = [
        ("payroll_runs", PayrollRun, batch.payroll_runs),
        ("expense_claims", ExpenseClaim, batch.expense_claims),
        ("absences", Absence, batch.absences),
    ]
    for section, table, incoming in sections:
        refs = [item.external_ref for item in incoming]
        existing = _lookup(session, table, col(table.external_ref), set(refs), partner_id)
        for index, item in enumerate(incoming):
            client_id = client_by_orgnr.get(item.client_orgnr)
            if client_id is None:
                errors.append(
                    ItemError(
                        section=section,
                        index=index,
                        detail=f"no client with orgnr {item.client_orgnr}",
                    )
                )
                continue
            values = item.model_dump(exclude={"client_orgnr", "run_by_email"})
            values["client_id"] = client_id
            if table is PayrollRun:
                email = item.run_by_email
                if email and email not in user_by_email:
                    errors.append(
                        ItemError(
                            section=section, index=index, detail=f"no user with email {email}"
                        )
                    )
                    continue
                values["run_by_user_id"] = user_by_email.get(email) if email else None
                run_clients.add(client_id)
            else:
                values["period"] = item.registered_on.strftime("%Y-%m")
            row_id = existing.get(item.external_ref)
            # mypy joins a union of tables passed to Session.get into their base, SQLModel.
            row = cast(EventRow | None, session.get(table, row_id)) if row_id is not None else None
            if row is None:
                row = table(partner_id=partner_id, **values)
                session.add(row)
            else:
                touched.add((row.client_id, row.period))
                for key, value in values.items():
                    setattr(row, key, value)
            touched.add((client_id, values["period"]))
            counts[section] += 1

    session.flush()
    roles.apply_auto_roles(session, run_clients)
    client_month.recompute(session, partner_id, touched)
    return PayrollEventsResult(**counts, errors=errors)


def _lookup(
    session: Session,
    table: LookupTable,
    column: Mapped[Any],
    values: set[Any],
    partner_id: int,
) -> dict[Any, int]:
    """Map ``column`` values to row ids within the partner, in chunks (IN-list limits)."""
    found: dict[Any, int] = {}
    ordered = sorted(v for v in values if v is not None)
    for start in range(0, len(ordered), 900):
        chunk = ordered[start : start + 900]
        for value, row_id in session.execute(
            select(column, col(table.id)).where(
                column.in_(chunk),
                col(table.partner_id) == partner_id,
            )
        ):
            found[value] = row_id
    return found
