"""Data in: a-melding files and payroll events."""

from typing import Annotated

from fastapi import APIRouter, Header, Request
from sqlalchemy import select
from sqlmodel import col

from partner_api.amelding.parse import AmeldingError
from partner_api.amelding.store import MAX_UPLOAD_BYTES, import_amelding, set_status
from partner_api.auth import CallerDep, DbDep
from partner_api.models import Amelding
from partner_api.problems import ProblemError, not_found
from partner_api.services.payroll_events import apply_events
from partner_api.wire import (
    AmeldingImported,
    AmeldingStatusIn,
    PayrollEventsIn,
    PayrollEventsResult,
)

router = APIRouter(prefix="/v1", tags=["ingest"])


@router.post(
    "/amelding",
    response_model=AmeldingImported,
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "application/xml": {"schema": {"type": "string"}},
            },
        }
    },
)
async def post_amelding(
    request: Request,
    who: CallerDep,
    db: DbDep,
    x_filename: Annotated[str | None, Header(description="Name of the file, for messages")] = None,
) -> AmeldingImported:
    """Import one a-melding (JSON of Skatteetaten's REST API, or XML v2_1–v2_3)."""
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_UPLOAD_BYTES:
            raise ProblemError(
                413,
                "too-large",
                "File too large",
                f"An a-melding may be at most {MAX_UPLOAD_BYTES // 2**20} MiB.",
            )
    source = x_filename or "upload"
    try:
        with db.transaction() as session:
            return import_amelding(session, who.partner_id, bytes(body), source)
    except AmeldingError as exc:
        raise ProblemError(
            422, "invalid-amelding", "Invalid a-melding", str(exc), field=exc.field
        ) from exc


@router.post("/amelding/{meldings_id}/status", response_model=AmeldingImported)
def post_amelding_status(
    meldings_id: str, feedback: AmeldingStatusIn, who: CallerDep, db: DbDep
) -> AmeldingImported:
    """Record the tax authority's feedback on a message: ``mottatt`` or ``avvist``."""
    from partner_api.amelding.store import _result
    from partner_api.models import Client

    with db.transaction() as session:
        row = session.execute(
            select(Amelding).where(
                col(Amelding.partner_id) == who.partner_id,
                col(Amelding.meldings_id) == meldings_id,
            )
        ).scalar_one_or_none()
        if row is None:
            raise not_found("a-melding")
        set_status(session, row, feedback)
        client = session.get(Client, row.client_id)
        assert client is not None
        return _result(row.source_name, row, client, replaced=None)


@router.post("/payroll-events", response_model=PayrollEventsResult)
def post_payroll_events(batch: PayrollEventsIn, who: CallerDep, db: DbDep) -> PayrollEventsResult:
    """Upsert payroll runs, travel & expense claims and absences (keyed by ``external_ref``).

    Items naming an unknown client or user are listed in ``errors``; the rest apply.
    """
    with db.transaction() as session:
        return apply_events(session, who.partner_id, batch)
