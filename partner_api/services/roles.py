"""The role rule: whoever ran a client's latest payroll run is ``ansvarlig`` on it.

Everyone else with access is ``medarbeider``. A role set by hand (``role_source = manual``)
sticks until the override is cleared.
"""

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlmodel import Session, col

from partner_api.models import AccessGrant, PayrollRun


def latest_runner(session: Session, client_ids: list[int]) -> dict[int, int | None]:
    """Who ran each client's latest payroll run (by period, pay date, id); clients without
    runs are left out. One row per client comes back (a window function), not every run."""
    rank = (
        func.row_number()
        .over(
            partition_by=col(PayrollRun.client_id),
            order_by=(
                col(PayrollRun.period).desc(),
                col(PayrollRun.pay_date).desc(),
                col(PayrollRun.id).desc(),
            ),
        )
        .label("rank")
    )
    runs = (
        select(
            col(PayrollRun.client_id).label("client_id"),
            col(PayrollRun.run_by_user_id).label("user_id"),
            rank,
        )
        .where(col(PayrollRun.client_id).in_(client_ids))
        .subquery()
    )
    rows = session.execute(select(runs.c.client_id, runs.c.user_id).where(runs.c.rank == 1))
    return {client_id: user_id for client_id, user_id in rows}


def apply_auto_roles(session: Session, client_ids: Iterable[int]) -> int:
    """Set the automatic role on every non-overridden grant of these clients."""
    ids = sorted(set(client_ids))
    changed = 0
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        runner = latest_runner(session, chunk)
        grants = session.execute(
            select(AccessGrant).where(
                col(AccessGrant.client_id).in_(chunk),
                col(AccessGrant.role_source) == "auto",
            )
        ).scalars()
        for grant in grants:
            role = "ansvarlig" if runner.get(grant.client_id) == grant.user_id else "medarbeider"
            if grant.role != role:
                grant.role = role
                changed += 1
    return changed
