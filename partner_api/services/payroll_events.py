"""Payroll events from the payroll system: runs, travel & expense claims, absences.

Every item is an upsert keyed by the sender's ``external_ref``, so a batch can be resent safely.
Items naming an unknown client or user are reported per item; the rest of the batch applies.

The batch is applied with a few statements, not a few per item: one lookup of the stored rows per
section, one INSERT executed for all the new ones (runs, claims and absences are not synced kinds,
so they need no version stamp from the ORM), changed fields only on the stored ones, then the
automatic roles and one ``client_month`` recompute for everything touched.
"""

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Mapped
from sqlmodel import Session, SQLModel, col

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
_CHUNK = 900  # values per IN-list


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
        existing = _existing_rows(
            session, table, {item.external_ref for item in incoming}, partner_id
        )
        # New rows by external_ref: a reference repeated in the batch updates its first item,
        # as two batches one after the other would.
        new_rows: dict[str, dict[str, Any]] = {}
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
            row = existing.get(item.external_ref)
            pending = new_rows.get(item.external_ref)
            if row is not None:
                touched.add((row.client_id, row.period))
                for key, value in values.items():
                    if getattr(row, key) != value:
                        setattr(row, key, value)
            elif pending is not None:
                touched.add((pending["client_id"], pending["period"]))
                pending.update(values)
            else:
                new_rows[item.external_ref] = {"partner_id": partner_id, **values}
            touched.add((client_id, values["period"]))
            counts[section] += 1
        if new_rows:
            # Not a synced kind: written without the ORM (no version stamp needed).
            session.execute(
                insert(SQLModel.metadata.tables[table.__tablename__]), list(new_rows.values())
            )

    session.flush()
    roles.apply_auto_roles(session, run_clients)
    client_month.recompute(session, partner_id, touched)
    return PayrollEventsResult(**counts, errors=errors)


def _existing_rows(
    session: Session, table: EventTable, refs: set[str], partner_id: int
) -> dict[str, EventRow]:
    """The partner's stored rows of ``table`` with these external refs, by ref (chunked)."""
    found: dict[str, EventRow] = {}
    ordered = sorted(refs)
    for start in range(0, len(ordered), _CHUNK):
        rows = session.execute(
            select(table).where(
                col(table.external_ref).in_(ordered[start : start + _CHUNK]),
                col(table.partner_id) == partner_id,
            )
        ).scalars()
        for row in rows:
            found[row.external_ref] = row
    return found


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
    for start in range(0, len(ordered), _CHUNK):
        chunk = ordered[start : start + _CHUNK]
        for value, row_id in session.execute(
            select(column, col(table.id)).where(
                column.in_(chunk),
                col(table.partner_id) == partner_id,
            )
        ):
            found[value] = row_id
    return found
