"""Health, identity, sync feed and dashboard."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from partner_api.auth import CallerDep, DbDep
from partner_api.models import Partner, User
from partner_api.norwegian_calendar import last_complete_month
from partner_api.problems import not_found, request_id_of
from partner_api.services import access, dashboard, sync_feed
from partner_api.wire import (
    MONTH_PATTERN,
    ChangesPage,
    DashboardFigures,
    DashboardFilter,
    Me,
    PartnerRow,
    Role,
    UserRow,
)

router = APIRouter()


@router.get("/health", tags=["meta"])
def health(db: DbDep) -> dict[str, str]:
    with db.reading() as session:
        session.get(Partner, 0)  # proves the database answers
    return {"status": "ok"}


@router.get("/v1/me", response_model=Me, tags=["meta"])
def me(who: CallerDep, db: DbDep) -> Me:
    with db.reading() as session:
        user = session.get(User, who.user_id)
        partner = session.get(Partner, who.partner_id)
        return Me(
            user=UserRow.model_validate(user, from_attributes=True),
            partner=PartnerRow.model_validate(partner, from_attributes=True),
        )


@router.get("/v1/sync/changes", response_model=ChangesPage, tags=["sync"])
def sync_changes(
    request: Request,
    who: CallerDep,
    db: DbDep,
    cursor: Annotated[str | None, Query(description="Opaque; omit for a full snapshot.")] = None,
    limit: Annotated[int, Query(ge=1, le=sync_feed.MAX_LIMIT)] = sync_feed.DEFAULT_LIMIT,
) -> Response:
    """Changes after ``cursor`` ordered by (version, kind, id); 410 means resync in full."""
    access.expire_due(db, who.partner_id, request_id_of(request))
    with db.reading() as session:
        body = sync_feed.changes_json(session, who.partner_id, cursor, limit)
    # The feed serialises its rows itself (a full sync is thousands of rows a page): the body
    # is a ``ChangesPage`` as documented, sent as is.
    return Response(body, media_type="application/json")


@router.get("/v1/dashboard", response_model=DashboardFigures, tags=["dashboard"])
def get_dashboard(
    who: CallerDep,
    db: DbDep,
    month: Annotated[str | None, Query(pattern=MONTH_PATTERN)] = None,
    group: Annotated[int | None, Query(description="Client group id")] = None,
    user: Annotated[int | None, Query(description="Accountant (user id) with access")] = None,
    role: Annotated[Role | None, Query(description="Role of that user (or of the caller)")] = None,
) -> DashboardFigures:
    today = date.today()
    flt = DashboardFilter(group_id=group, user_id=user, role=role)
    with db.reading() as session:
        if user is not None:
            row = session.get(User, user)
            if row is None or row.partner_id != who.partner_id:
                raise not_found("user")
        return dashboard.figures(
            session, who.partner_id, who.user_id, month or last_complete_month(today), flt, today
        )
