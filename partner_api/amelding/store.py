"""Import a-meldinger into the database: find the client, replace, store, recompute figures.

Each file is imported in its own transaction by the caller: a bad file imports nothing and
the other files still import.
"""

import json
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import or_, select
from sqlmodel import Session, col

from partner_api.amelding.parse import AmeldingError, ParsedAmelding, parse_amelding
from partner_api.models import Amelding, Client, Employee, Employment
from partner_api.services import client_month
from partner_api.wire import AmeldingImported, AmeldingStatusIn

MAX_UPLOAD_BYTES = 20 * 1024 * 1024


def to_ore(amount: Decimal) -> int:
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def import_amelding(
    session: Session, partner_id: int, data: bytes, source: str
) -> AmeldingImported:
    parsed = parse_amelding(data, source)
    client = _find_client(session, partner_id, parsed, source)
    assert client.id is not None

    existing = session.execute(
        select(Amelding).where(
            col(Amelding.partner_id) == partner_id,
            col(Amelding.meldings_id) == parsed.meldings_id,
        )
    ).scalar_one_or_none()
    if existing is not None:
        if existing.client_id != client.id or existing.period != parsed.period:
            raise AmeldingError(
                source,
                "leveranse.meldingsId",
                f"{parsed.meldings_id} was already imported for another client or month",
            )
        return _result(source, existing, client, replaced=existing.replaces_meldings_id)

    replaced_id = None
    if parsed.replaces_meldings_id:
        replaced = session.execute(
            select(Amelding).where(
                col(Amelding.partner_id) == partner_id,
                col(Amelding.meldings_id) == parsed.replaces_meldings_id,
            )
        ).scalar_one_or_none()
        if replaced is not None:
            if replaced.client_id != client.id or replaced.period != parsed.period:
                raise AmeldingError(
                    source,
                    "leveranse.erstatterMeldingsId",
                    f"{parsed.replaces_meldings_id} is a message for another client or month",
                )
            replaced.status = "erstattet"
            replaced_id = replaced.meldings_id

    _store_employees(session, partner_id, client.id, parsed)
    row = Amelding(
        partner_id=partner_id,
        client_id=client.id,
        period=parsed.period,
        meldings_id=parsed.meldings_id,
        replaces_meldings_id=parsed.replaces_meldings_id,
        status="mottatt",
        cash_salary_ore=to_ore(parsed.cash_salary),
        withholding_ore=to_ore(parsed.withholding),
        aga_ore=to_ore(parsed.aga),
        finansskatt_ore=to_ore(parsed.finansskatt),
        active_employees=parsed.active_employee_count(),
        payout_dates=json.dumps(
            [[d.isoformat(), str(amount)] for d, amount in parsed.withholding_per_payout]
        ),
        source_name=source[:255],
        schema_version=parsed.schema_version,
    )
    session.add(row)
    session.flush()
    client_month.recompute(session, partner_id, [(client.id, parsed.period)])
    return _result(source, row, client, replaced=replaced_id)


def set_status(session: Session, amelding: Amelding, feedback: AmeldingStatusIn) -> None:
    """Record the tax authority's feedback (mottatt / avvist) on a message."""
    amelding.status = feedback.status
    amelding.deviations = json.dumps(feedback.deviations, ensure_ascii=False)
    session.flush()
    client_month.recompute(session, amelding.partner_id, [(amelding.client_id, amelding.period)])


def _find_client(session: Session, partner_id: int, parsed: ParsedAmelding, source: str) -> Client:
    candidates = [parsed.opplysningspliktig_orgnr, *parsed.virksomhet_orgnrs]
    clients = (
        session.execute(
            select(Client).where(
                col(Client.partner_id) == partner_id,
                or_(*(col(Client.orgnr) == orgnr for orgnr in candidates)),
            )
        )
        .scalars()
        .all()
    )
    by_orgnr = {c.orgnr: c for c in clients}
    for orgnr in candidates:  # the legal entity first, then its sub-units
        if orgnr in by_orgnr:
            return by_orgnr[orgnr]
    raise AmeldingError(
        source,
        "leveranse.opplysningspliktig.norskIdentifikator",
        f"no client with orgnr {', '.join(candidates)}; create the client first",
    )


def _store_employees(
    session: Session, partner_id: int, client_id: int, parsed: ParsedAmelding
) -> None:
    ids = {r.national_id for r in parsed.income_recipients if r.national_id}
    known = {
        e.national_id: e
        for e in session.execute(
            select(Employee).where(col(Employee.client_id) == client_id)
        ).scalars()
    }
    for recipient in parsed.income_recipients:
        nid = recipient.national_id
        if not nid:
            continue
        employee = known.get(nid)
        if employee is None:
            employee = Employee(
                partner_id=partner_id, client_id=client_id, national_id=nid, name=recipient.name
            )
            session.add(employee)
            known[nid] = employee
        elif recipient.name and employee.name != recipient.name:
            employee.name = recipient.name
    session.flush()
    employee_ids = [known[n].id for n in ids]
    jobs = {
        (e.employee_id, e.arbeidsforhold_id): e
        for e in session.execute(
            select(Employment).where(col(Employment.employee_id).in_(employee_ids))
        ).scalars()
    }
    for recipient in parsed.income_recipients:
        if not recipient.national_id:
            continue
        employee_id = known[recipient.national_id].id
        assert employee_id is not None
        for n, job in enumerate(recipient.employments):
            job_id = job.arbeidsforhold_id or f"#{n}"
            row = jobs.get((employee_id, job_id))
            if row is None:
                row = Employment(
                    partner_id=partner_id, employee_id=employee_id, arbeidsforhold_id=job_id
                )
                session.add(row)
                jobs[(employee_id, job_id)] = row
            row.start_date = job.start_date
            row.end_date = job.end_date
            row.position_percent = (
                float(job.position_percent) if job.position_percent is not None else None
            )


def _result(source: str, row: Amelding, client: Client, replaced: str | None) -> AmeldingImported:
    assert client.id is not None
    return AmeldingImported(
        source=source,
        meldings_id=row.meldings_id,
        client_id=client.id,
        client_orgnr=client.orgnr,
        period=row.period,
        status=row.status,  # type: ignore[arg-type]  # str column; pydantic checks the Literal
        replaced_meldings_id=replaced,
        active_employees=row.active_employees,
        cash_salary_ore=row.cash_salary_ore,
        withholding_ore=row.withholding_ore,
        aga_ore=row.aga_ore,
    )
