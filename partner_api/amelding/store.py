"""Import a-meldinger into the database: find the client, replace, store, recompute figures.

``import_many`` is the importer: it takes a batch of files and imports each as if they had been
imported one after the other, in order. A file that cannot be imported (unreadable, no such
client, a meldingsId that conflicts with an earlier message) adds nothing to the database and is
returned as its :class:`AmeldingError`; the other files still import. ``import_amelding`` is the
one-file form (it raises the error), used by the API and the CLI.

What one file does, in order:

* the client is the partner's client with the opplysningspliktig's orgnr, else the first
  virksomhet's orgnr that is a client;
* a meldingsId seen before is idempotent if it was for the same client and month (nothing is
  written; the stored message is reported), an error otherwise;
* ``erstatterMeldingsId`` marks the named message ``erstattet`` (also one earlier in the batch),
  and is an error if that message belongs to another client or month;
* employees are upserted by national id within the client (a name in the file wins), and their
  employments by ``arbeidsforholdId`` (``#n`` for the n-th one without an id);
* the ``amelding`` row is stored with its amounts in øre, and ``client_month`` is recomputed for
  every (client, month) that got a new message.

The database work is done per batch, not per file: one lookup each for the clients, the known
meldingsIds and the clients' employees with their employments (IN-lists in chunks of ``_CHUNK``;
stored names only when a file gives one), one INSERT executed for all new rows of a table
(``amelding``, ``employee`` and ``employment`` are not synced kinds, so they need no version stamp
from the ORM), updates only for values that changed, and one recompute of the figures.
"""

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Table, bindparam, insert, select, update
from sqlmodel import Session, SQLModel, col

from partner_api.amelding.parse import AmeldingError, ParsedAmelding, parse_amelding
from partner_api.models import Amelding, Client, Employee, Employment, utcnow
from partner_api.services import client_month
from partner_api.wire import AmeldingImported, AmeldingStatusIn

MAX_UPLOAD_BYTES = 20 * 1024 * 1024

_CHUNK = 900  # values per IN-list (SQLite's historical limit is 999 bound parameters)

_AMELDING: Table = SQLModel.metadata.tables[Amelding.__tablename__]
_EMPLOYEE: Table = SQLModel.metadata.tables[Employee.__tablename__]
_EMPLOYMENT: Table = SQLModel.metadata.tables[Employment.__tablename__]

ImportResult = AmeldingImported | AmeldingError
# (start date, end date, position percent) of an employment
_JobValues = tuple[date | None, date | None, float | None]


def to_ore(amount: Decimal) -> int:
    return int((amount * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def import_amelding(
    session: Session, partner_id: int, data: bytes, source: str
) -> AmeldingImported:
    """Import one file; raises its :class:`AmeldingError` if it cannot be imported."""
    (result,) = import_many(session, partner_id, [(data, source)])
    if isinstance(result, AmeldingError):
        raise result
    return result


def import_many(
    session: Session, partner_id: int, files: Sequence[tuple[bytes, str]]
) -> list[ImportResult]:
    """Import ``files`` (``(data, source)`` pairs) in order; one result per file, in order.

    The outcome is the same as importing the files one by one with ``import_amelding``, each in
    its own transaction, skipping the ones that fail. Nothing is committed here: the caller owns
    the transaction.
    """
    results: list[ImportResult | None] = [None] * len(files)
    parsed: list[tuple[int, ParsedAmelding]] = []
    for index, (data, source) in enumerate(files):
        try:
            parsed.append((index, parse_amelding(data, source)))
        except AmeldingError as exc:
            results[index] = exc
    if parsed:
        _Batch(session, partner_id).run(files, parsed, results)
    assert all(r is not None for r in results)
    return [r for r in results if r is not None]


def set_status(session: Session, amelding: Amelding, feedback: AmeldingStatusIn) -> None:
    """Record the tax authority's feedback (mottatt / avvist) on a message."""
    amelding.status = feedback.status
    amelding.deviations = json.dumps(feedback.deviations, ensure_ascii=False)
    session.flush()
    client_month.recompute(session, amelding.partner_id, [(amelding.client_id, amelding.period)])


# ---- the batch ----------------------------------------------------------------------------


@dataclass(slots=True)
class _Client:
    id: int
    orgnr: str


@dataclass(slots=True)
class _Message:
    """An a-melding the batch knows: one stored before (``stored``) or one new in this batch
    (``row``: the values to insert; its ``status`` is filled in when it is inserted)."""

    meldings_id: str
    client_id: int
    period: str
    status: str
    replaces: str | None
    active_employees: int
    cash_salary_ore: int
    withholding_ore: int
    aga_ore: int
    stored: Amelding | None = None
    row: dict[str, Any] | None = None


_PersonKey = tuple[int, str]  # (client id, national id)


class _Batch:
    def __init__(self, session: Session, partner_id: int) -> None:
        self.session = session
        self.partner_id = partner_id

    def run(
        self,
        files: Sequence[tuple[bytes, str]],
        parsed: list[tuple[int, ParsedAmelding]],
        results: list[ImportResult | None],
    ) -> None:
        clients = self._clients([p for _, p in parsed])
        messages = self._stored_messages([p for _, p in parsed])
        accepted: list[tuple[ParsedAmelding, _Client]] = []
        new_messages: list[_Message] = []
        # Decide file by file, in order, as one import after the other would. Nothing a file
        # changes (a replaced message's status, its own row) is recorded before it is accepted.
        for index, p in parsed:
            source = files[index][1]
            try:
                client = _find_client(clients, p, source)
                result, new = _decide(messages, p, client, source)
            except AmeldingError as exc:
                results[index] = exc
                continue
            results[index] = result
            if new is not None:
                accepted.append((p, client))
                new_messages.append(new)
        if not accepted:
            return
        self._store_people(accepted)
        rows = []
        for message in new_messages:
            assert message.row is not None
            rows.append({**message.row, "partner_id": self.partner_id, "status": message.status})
        self.session.execute(insert(_AMELDING), rows)
        self.session.flush()  # the status of replaced messages that were stored before
        client_month.recompute(
            self.session, self.partner_id, {(c.id, p.period) for p, c in accepted}
        )

    def _clients(self, parsed: list[ParsedAmelding]) -> dict[str, _Client]:
        orgnrs = sorted(
            {o for p in parsed for o in (p.opplysningspliktig_orgnr, *p.virksomhet_orgnrs)}
        )
        found: dict[str, _Client] = {}
        for chunk in _chunks(orgnrs):
            for client_id, orgnr in self.session.execute(
                select(col(Client.id), col(Client.orgnr)).where(
                    col(Client.partner_id) == self.partner_id, col(Client.orgnr).in_(chunk)
                )
            ):
                found[orgnr] = _Client(client_id, orgnr)
        return found

    def _stored_messages(self, parsed: list[ParsedAmelding]) -> dict[str, _Message]:
        ids = sorted(
            {p.meldings_id for p in parsed}
            | {p.replaces_meldings_id for p in parsed if p.replaces_meldings_id}
        )
        found: dict[str, _Message] = {}
        for chunk in _chunks(ids):
            for row in self.session.execute(
                select(Amelding).where(
                    col(Amelding.partner_id) == self.partner_id,
                    col(Amelding.meldings_id).in_(chunk),
                )
            ).scalars():
                found[row.meldings_id] = _Message(
                    meldings_id=row.meldings_id,
                    client_id=row.client_id,
                    period=row.period,
                    status=row.status,
                    replaces=row.replaces_meldings_id,
                    active_employees=row.active_employees,
                    cash_salary_ore=row.cash_salary_ore,
                    withholding_ore=row.withholding_ore,
                    aga_ore=row.aga_ore,
                    stored=row,
                )
        return found

    def _store_people(self, accepted: list[tuple[ParsedAmelding, _Client]]) -> None:
        """Upsert the employees (by national id per client) and their employments."""
        session, partner_id = self.session, self.partner_id
        # The files in order: an employment's values are the last ones reported; a person's
        # name is the last one given (a file without a name keeps it).
        first_name: dict[_PersonKey, str | None] = {}  # as reported the first time
        last_name: dict[_PersonKey, str] = {}  # the last name given, if any
        jobs: dict[tuple[_PersonKey, str], _JobValues] = {}
        for parsed, client in accepted:
            for recipient in parsed.income_recipients:
                national_id = recipient.national_id
                if not national_id:
                    continue
                key = (client.id, national_id)
                name = recipient.name
                if key not in first_name:
                    first_name[key] = name
                if name:
                    last_name[key] = name
                for n, job in enumerate(recipient.employments):
                    percent = job.position_percent
                    jobs[(key, job.arbeidsforhold_id or f"#{n}")] = (
                        job.start_date,
                        job.end_date,
                        float(percent) if percent is not None else None,
                    )

        # What is stored for the batch's clients: employee ids by (client, national id), and
        # employment (id, values) by (employee id, arbeidsforholdId). One query per chunk of
        # clients; the employee side is read from the (client_id, national_id) index alone.
        person_ids: dict[_PersonKey, int] = {}
        stored_jobs: dict[tuple[int, str], tuple[int, _JobValues]] = {}
        for chunk in _chunks(sorted({c.id for _, c in accepted})):
            rows = session.execute(
                select(
                    col(Employee.id),
                    col(Employee.client_id),
                    col(Employee.national_id),
                    col(Employment.id),
                    col(Employment.arbeidsforhold_id),
                    col(Employment.start_date),
                    col(Employment.end_date),
                    col(Employment.position_percent),
                )
                .outerjoin(Employment, col(Employment.employee_id) == col(Employee.id))
                .where(col(Employee.client_id).in_(chunk))
            )
            for person_id, client_id, national_id, job_id, job_key, start, end, percent in rows:
                person_ids[(client_id, national_id)] = person_id
                if job_id is not None:
                    stored_jobs[(person_id, job_key)] = (job_id, (start, end, percent))

        renamed = self._renamed({k: v for k, v in last_name.items() if k in person_ids}, person_ids)
        if renamed:
            session.execute(
                update(_EMPLOYEE)
                .where(_EMPLOYEE.c.id == bindparam("person_id"))
                .values(name=bindparam("new_name")),
                renamed,
            )
        new_people = [
            {
                "partner_id": partner_id,
                "client_id": key[0],
                "national_id": key[1],
                "name": last_name.get(key, first_name[key]),
            }
            for key in first_name
            if key not in person_ids
        ]
        if new_people:
            for person_id, client_id, national_id in session.execute(
                insert(_EMPLOYEE).returning(
                    _EMPLOYEE.c.id, _EMPLOYEE.c.client_id, _EMPLOYEE.c.national_id
                ),
                new_people,
            ):
                person_ids[(client_id, national_id)] = person_id

        changed: list[dict[str, Any]] = []
        new_jobs: list[dict[str, Any]] = []
        for (key, job_key), values in jobs.items():
            person_id = person_ids[key]
            stored_job = stored_jobs.get((person_id, job_key))
            if stored_job is None:
                new_jobs.append(
                    {
                        "partner_id": partner_id,
                        "employee_id": person_id,
                        "arbeidsforhold_id": job_key,
                        "start_date": values[0],
                        "end_date": values[1],
                        "position_percent": values[2],
                    }
                )
            elif stored_job[1] != values:
                changed.append(
                    {
                        "job_id": stored_job[0],
                        "new_start": values[0],
                        "new_end": values[1],
                        "new_percent": values[2],
                    }
                )
        if changed:
            session.execute(
                update(_EMPLOYMENT)
                .where(_EMPLOYMENT.c.id == bindparam("job_id"))
                .values(
                    start_date=bindparam("new_start"),
                    end_date=bindparam("new_end"),
                    position_percent=bindparam("new_percent"),
                ),
                changed,
            )
        if new_jobs:
            session.execute(insert(_EMPLOYMENT), new_jobs)

    def _renamed(
        self, names: dict[_PersonKey, str], person_ids: dict[_PersonKey, int]
    ) -> list[dict[str, Any]]:
        """``person_id``/``new_name`` of the stored employees whose name differs from ``names``."""
        wanted = {person_ids[key]: name for key, name in names.items()}
        renamed: list[dict[str, Any]] = []
        for chunk in _chunks(sorted(wanted)):
            for person_id, stored_name in self.session.execute(
                select(col(Employee.id), col(Employee.name)).where(col(Employee.id).in_(chunk))
            ):
                if stored_name != wanted[person_id]:
                    renamed.append({"person_id": person_id, "new_name": wanted[person_id]})
        return renamed


def _decide(
    messages: dict[str, _Message], parsed: ParsedAmelding, client: _Client, source: str
) -> tuple[AmeldingImported, _Message | None]:
    """The result of importing ``parsed`` now, and its new message (None: a repeat).

    Raises AmeldingError, having changed nothing, if the file conflicts with a known message.
    """
    known = messages.get(parsed.meldings_id)
    if known is not None:
        if known.client_id != client.id or known.period != parsed.period:
            raise AmeldingError(
                source,
                "leveranse.meldingsId",
                f"{parsed.meldings_id} was already imported for another client or month",
            )
        return _imported(source, known, client, known.replaces), None

    replaced_id = None
    if parsed.replaces_meldings_id:
        replaced = messages.get(parsed.replaces_meldings_id)
        if replaced is not None:
            if replaced.client_id != client.id or replaced.period != parsed.period:
                raise AmeldingError(
                    source,
                    "leveranse.erstatterMeldingsId",
                    f"{parsed.replaces_meldings_id} is a message for another client or month",
                )
            replaced.status = "erstattet"
            if replaced.stored is not None:
                replaced.stored.status = "erstattet"
            replaced_id = replaced.meldings_id

    message = _Message(
        meldings_id=parsed.meldings_id,
        client_id=client.id,
        period=parsed.period,
        status="mottatt",
        replaces=parsed.replaces_meldings_id,
        active_employees=parsed.active_employee_count(),
        cash_salary_ore=to_ore(parsed.cash_salary),
        withholding_ore=to_ore(parsed.withholding),
        aga_ore=to_ore(parsed.aga),
    )
    message.row = {
        "client_id": client.id,
        "period": parsed.period,
        "meldings_id": parsed.meldings_id,
        "replaces_meldings_id": parsed.replaces_meldings_id,
        "deviations": "[]",
        "cash_salary_ore": message.cash_salary_ore,
        "withholding_ore": message.withholding_ore,
        "aga_ore": message.aga_ore,
        "finansskatt_ore": to_ore(parsed.finansskatt),
        "active_employees": message.active_employees,
        "payout_dates": json.dumps(
            [[d.isoformat(), str(amount)] for d, amount in parsed.withholding_per_payout]
        ),
        "source_name": source[:255],
        "schema_version": parsed.schema_version,
        "received_at": utcnow(),
    }
    messages[parsed.meldings_id] = message
    return _imported(source, message, client, replaced_id), message


def _imported(
    source: str, message: _Message, client: _Client, replaced: str | None
) -> AmeldingImported:
    return AmeldingImported(
        source=source,
        meldings_id=message.meldings_id,
        client_id=client.id,
        client_orgnr=client.orgnr,
        period=message.period,
        status=message.status,  # type: ignore[arg-type]  # pydantic checks the Literal
        replaced_meldings_id=replaced,
        active_employees=message.active_employees,
        cash_salary_ore=message.cash_salary_ore,
        withholding_ore=message.withholding_ore,
        aga_ore=message.aga_ore,
    )


def _find_client(clients: dict[str, _Client], parsed: ParsedAmelding, source: str) -> _Client:
    candidates = [parsed.opplysningspliktig_orgnr, *parsed.virksomhet_orgnrs]
    for orgnr in candidates:  # the legal entity first, then its sub-units
        if orgnr in clients:
            return clients[orgnr]
    raise AmeldingError(
        source,
        "leveranse.opplysningspliktig.norskIdentifikator",
        f"no client with orgnr {', '.join(candidates)}; create the client first",
    )


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


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
