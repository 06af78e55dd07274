"""The eight dashboard figures of DESIGN.md §3, computed in SQL over the filtered clients."""

from datetime import date

from sqlalchemy import Select, and_, func, select
from sqlmodel import Session, col

from partner_api.models import AccessGrant, Client, ClientGroupMember, ClientMonth
from partner_api.norwegian_calendar import amelding_deadline, month_add
from partner_api.wire import DashboardFigures, DashboardFilter


def filtered_client_ids(
    partner_id: int, caller_id: int, flt: DashboardFilter
) -> Select[int | None]:
    """A SELECT of the ids of the partner's clients that pass the filter.

    ``role`` applies to the chosen accountant (``user_id``), or to the caller when none is
    chosen: "clients where I am ansvarlig".
    """
    stmt = select(col(Client.id)).where(col(Client.partner_id) == partner_id)
    if flt.group_id is not None:
        stmt = stmt.where(
            col(Client.id).in_(
                select(col(ClientGroupMember.client_id)).where(
                    col(ClientGroupMember.group_id) == flt.group_id,
                    col(ClientGroupMember.partner_id) == partner_id,
                )
            )
        )
    if flt.user_id is not None or flt.role is not None:
        grants = select(col(AccessGrant.client_id)).where(
            col(AccessGrant.partner_id) == partner_id,
            col(AccessGrant.user_id) == (flt.user_id if flt.user_id is not None else caller_id),
        )
        if flt.role is not None:
            grants = grants.where(col(AccessGrant.role) == flt.role)
        stmt = stmt.where(col(Client.id).in_(grants))
    return stmt


def figures(
    session: Session,
    partner_id: int,
    caller_id: int,
    month: str,
    flt: DashboardFilter,
    today: date,
) -> DashboardFigures:
    ids = filtered_client_ids(partner_id, caller_id, flt).subquery()
    payroll_client = and_(col(Client.status) == "active", col(Client.payroll_enabled))

    payroll_clients = session.execute(
        select(func.count())
        .select_from(Client)
        .where(col(Client.id).in_(select(ids)), payroll_client)
    ).scalar_one()

    cm = ClientMonth
    sums = session.execute(
        select(
            func.coalesce(func.sum(cm.active_employees), 0),
            func.coalesce(func.sum(cm.payslips_sent), 0),
            func.coalesce(func.sum(cm.claims), 0),
            func.coalesce(func.sum(cm.absences), 0),
            func.coalesce(func.sum(cm.auto_steps), 0),
            func.coalesce(func.sum(cm.total_steps), 0),
            func.coalesce(func.sum(cm.salary_paid_ore), 0),
        ).where(col(cm.month) == month, col(cm.client_id).in_(select(ids)))
    ).one()

    previous = month_add(month, -1)
    rejected = session.execute(
        select(func.count())
        .select_from(cm)
        .where(
            col(cm.month) == previous,
            col(cm.amelding_status) == "avvist",
            col(cm.client_id).in_(select(ids)),
        )
    ).scalar_one()
    missing = 0
    if today > amelding_deadline(previous):
        reported = select(col(cm.client_id)).where(
            col(cm.month) == previous,
            col(cm.amelding_status).is_not(None),
        )
        missing = session.execute(
            select(func.count())
            .select_from(Client)
            .where(
                col(Client.id).in_(select(ids)),
                payroll_client,
                col(Client.id).not_in(reported),
            )
        ).scalar_one()

    return DashboardFigures(
        month=month,
        payroll_clients=payroll_clients,
        active_employees=int(sums[0]),
        payslips_sent=int(sums[1]),
        claims=int(sums[2]),
        absences=int(sums[3]),
        automation_auto_steps=int(sums[4]),
        automation_total_steps=int(sums[5]),
        amelding_rejected_last_month=rejected,
        amelding_missing_last_month=missing,
        salary_paid_ore=int(sums[6]),
    )
