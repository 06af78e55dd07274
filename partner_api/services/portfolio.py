"""Creating the partner's firm, users, clients, groups and grants (admin and demo paths)."""

from sqlalchemy import select
from sqlmodel import Session, col

from partner_api.identifiers import is_valid_orgnr
from partner_api.models import AccessGrant, Client, ClientGroup, ClientGroupMember, Partner, User
from partner_api.problems import ProblemError
from partner_api.services.access import seed_templates


def create_partner(session: Session, name: str, orgnr: str) -> Partner:
    partner = Partner(name=name, orgnr=orgnr)
    session.add(partner)
    session.flush()
    assert partner.id is not None
    seed_templates(session, partner.id)
    return partner


def create_user(
    session: Session,
    partner: Partner,
    name: str,
    email: str,
    *,
    partneradmin: bool = False,
    admin: bool = False,
) -> User:
    assert partner.id is not None
    user = User(
        partner_id=partner.id,
        name=name,
        email=email.lower(),
        is_admin=admin or partneradmin,
        is_partneradmin=partneradmin,
    )
    session.add(user)
    session.flush()
    return user


def create_client(
    session: Session,
    partner_id: int,
    orgnr: str,
    name: str,
    *,
    payroll_enabled: bool = True,
    payout_day: int | None = None,
    uses_partner_altinn: bool = False,
    status: str = "active",
) -> Client:
    if not is_valid_orgnr(orgnr):
        raise ProblemError(
            422,
            "invalid-orgnr",
            "Invalid organisation number",
            f"{orgnr!r} is not a valid organisasjonsnummer (mod 11).",
        )
    duplicate = session.execute(
        select(col(Client.id)).where(
            col(Client.partner_id) == partner_id, col(Client.orgnr) == orgnr
        )
    ).first()
    if duplicate:
        raise ProblemError(
            409, "duplicate-client", "Client exists", f"A client with orgnr {orgnr} already exists."
        )
    client = Client(
        partner_id=partner_id,
        orgnr=orgnr,
        name=name,
        payroll_enabled=payroll_enabled,
        payout_day=payout_day,
        uses_partner_altinn=uses_partner_altinn,
        status=status,
    )
    session.add(client)
    session.flush()
    return client


def create_group(session: Session, partner_id: int, name: str) -> ClientGroup:
    group = ClientGroup(partner_id=partner_id, name=name)
    session.add(group)
    session.flush()
    return group


def add_members(session: Session, group: ClientGroup, client_ids: list[int]) -> None:
    assert group.id is not None
    for client_id in client_ids:
        session.add(
            ClientGroupMember(partner_id=group.partner_id, group_id=group.id, client_id=client_id)
        )


def grant(
    session: Session, partner_id: int, user_id: int, client_id: int, level: str = "full"
) -> AccessGrant:
    row = AccessGrant(
        partner_id=partner_id, user_id=user_id, client_id=client_id, access_level=level
    )
    session.add(row)
    return row
