"""Derived per-client-per-month figures (``client_month``), recomputed from the raw tables.

Whatever changes a-meldinger, payroll runs, claims or absences calls ``recompute`` for the
(client, month) pairs it touched, in the same transaction, so the synced figures never lag.
"""

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import case, func, select
from sqlmodel import Session, col

from partner_api.models import Absence, Amelding, ClientMonth, ExpenseClaim, PayrollRun

AUTOMATION_STEPS = (
    "auto_tax_card",
    "auto_payslip",
    "auto_amelding",
    "auto_payment",
    "auto_posting",
)
_CHUNK = 500

Key = tuple[int, str]  # (client_id, month)


def recompute(session: Session, partner_id: int, keys: Iterable[Key]) -> int:
    """Recompute the rows for ``keys``; returns how many rows changed."""
    by_client: dict[int, set[str]] = defaultdict(set)
    for client_id, month in keys:
        by_client[client_id].add(month)
    changed = 0
    clients = sorted(by_client)
    for start in range(0, len(clients), _CHUNK):
        chunk = clients[start : start + _CHUNK]
        wanted = {(c, m) for c in chunk for m in by_client[c]}
        months = sorted({m for _, m in wanted})
        figures = _aggregate(session, chunk, months)
        existing = {
            (row.client_id, row.month): row
            for row in session.execute(
                select(ClientMonth).where(
                    col(ClientMonth.client_id).in_(chunk),
                    col(ClientMonth.month).in_(months),
                )
            ).scalars()
        }
        for key in sorted(wanted):
            values = figures.get(key)
            row = existing.get(key)
            if values is None:
                if row is not None:
                    session.delete(row)
                    changed += 1
                continue
            if row is None:
                # A synced kind: added through the ORM, which stamps its change version.
                session.add(
                    ClientMonth(partner_id=partner_id, client_id=key[0], month=key[1], **values)
                )
                changed += 1
                continue
            differ = [(k, v) for k, v in values.items() if getattr(row, k) != v]
            if differ:
                changed += 1
                for k, v in differ:  # only what changed: an unchanged row keeps its version
                    setattr(row, k, v)
    return changed


def _blank() -> dict[str, Any]:
    return {
        "active_employees": 0,
        "payslips_sent": 0,
        "claims": 0,
        "absences": 0,
        "auto_steps": 0,
        "total_steps": 0,
        "salary_paid_ore": 0,
        "withholding_ore": 0,
        "aga_ore": 0,
        "amelding_status": None,
    }


def _aggregate(
    session: Session, clients: list[int], months: list[str]
) -> dict[Key, dict[str, Any]]:
    out: dict[Key, dict[str, Any]] = {}

    def slot(client_id: int, month: str) -> dict[str, Any]:
        figures = out.get((client_id, month))
        if figures is None:
            figures = out[(client_id, month)] = _blank()
        return figures

    # Latest a-melding per (client, month) that has not been replaced.
    rows = session.execute(
        select(
            col(Amelding.client_id),
            col(Amelding.period),
            col(Amelding.active_employees),
            col(Amelding.cash_salary_ore),
            col(Amelding.withholding_ore),
            col(Amelding.aga_ore),
            col(Amelding.status),
        )
        .where(
            col(Amelding.client_id).in_(clients),
            col(Amelding.period).in_(months),
            col(Amelding.status) != "erstattet",
        )
        .order_by(col(Amelding.received_at), col(Amelding.id))
    )
    for client_id, month, employees, salary, withholding, aga, status in rows:
        # Later rows overwrite earlier ones: the latest wins.
        slot(client_id, month).update(
            active_employees=employees,
            salary_paid_ore=salary,
            withholding_ore=withholding,
            aga_ore=aga,
            amelding_status=status,
        )

    auto = sum(case((getattr(PayrollRun, step), 1), else_=0) for step in AUTOMATION_STEPS)
    for client_id, month, sent, autos, runs in session.execute(
        select(
            col(PayrollRun.client_id),
            col(PayrollRun.period),
            func.sum(PayrollRun.payslips_sent),
            func.sum(auto),
            func.count(),
        )
        .where(col(PayrollRun.client_id).in_(clients), col(PayrollRun.period).in_(months))
        .group_by(col(PayrollRun.client_id), col(PayrollRun.period))
    ):
        s = slot(client_id, month)
        s.update(
            payslips_sent=int(sent),
            auto_steps=int(autos),
            total_steps=int(runs) * len(AUTOMATION_STEPS),
        )

    for table, field in ((ExpenseClaim, "claims"), (Absence, "absences")):
        for client_id, month, count in session.execute(
            select(col(table.client_id), col(table.period), func.count())
            .where(col(table.client_id).in_(clients), col(table.period).in_(months))
            .group_by(col(table.client_id), col(table.period))
        ):
            slot(client_id, month)[field] = int(count)
    return out
