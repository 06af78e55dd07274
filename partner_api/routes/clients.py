"""Clients: list, read, create."""

from fastapi import APIRouter, Request
from pydantic import Field
from sqlalchemy import select
from sqlmodel import col

from partner_api.auth import CallerDep, DbDep
from partner_api.models import Client
from partner_api.problems import not_found, request_id_of
from partner_api.services import audit
from partner_api.services.audit import Actor
from partner_api.services.portfolio import create_client
from partner_api.wire import ClientRow, WireModel

router = APIRouter(prefix="/v1/clients", tags=["clients"])


class ClientIn(WireModel):
    orgnr: str = Field(pattern=r"^\d{9}$")
    name: str = Field(min_length=1, max_length=200)
    payroll_enabled: bool = True
    payout_day: int | None = Field(default=None, ge=1, le=31)
    uses_partner_altinn: bool = False


@router.get("", response_model=list[ClientRow])
def list_clients(who: CallerDep, db: DbDep) -> list[Client]:
    with db.reading() as session:
        return list(
            session.execute(
                select(Client)
                .where(col(Client.partner_id) == who.partner_id)
                .order_by(col(Client.id))
            ).scalars()
        )


@router.get("/{client_id}", response_model=ClientRow)
def get_client(client_id: int, who: CallerDep, db: DbDep) -> Client:
    with db.reading() as session:
        client = session.get(Client, client_id)
        if client is None or client.partner_id != who.partner_id:
            raise not_found("client")
        return client


@router.post("", response_model=ClientRow, status_code=201)
def post_client(body: ClientIn, request: Request, who: CallerDep, db: DbDep) -> Client:
    with db.transaction() as session:
        client = create_client(session, who.partner_id, **body.model_dump())
        actor = Actor(who.partner_id, who.user_id, who.is_partneradmin, request_id_of(request))
        audit.record(
            session,
            actor,
            "client.created",
            "client",
            entity_id=client.id,
            client_id=client.id,
            after=ClientRow.model_validate(client, from_attributes=True).model_dump(mode="json"),
        )
        return client
