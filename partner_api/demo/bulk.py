"""Bulk writer for the demo's a-meldinger: the rows ``import_amelding`` would write, in batches.

``import_amelding`` parses one file and then runs about a dozen statements and a figure
recompute for it: roughly 10-15 ms per file here, i.e. minutes for the 7,200 files of a
300-client demo. The demo knows every figure already (it wrote the documents), so this module
derives the same row values straight from the :class:`AmeldingDocument`, the way
``partner_api.amelding.store`` derives them from the parsed file, and inserts a whole month of a
chunk of clients with a few multi-row statements. The caller then has ``client_month`` recomputed
by the real ``client_month.recompute`` (the demo does it through ``apply_events`` with the month's
payroll runs, which touch every client that has an a-melding that month).

``tests/api/test_demo.py`` holds this equal to the real path: the same portfolio generated with
``via_import=True`` (every file through ``import_amelding``/``set_status``) gives the same
``amelding``, ``employee``, ``employment`` and ``client_month`` rows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, insert, update
from sqlmodel import Session, SQLModel

from partner_api.amelding.parse import JSON_SCHEMA_VERSION
from partner_api.amelding.store import to_ore
from partner_api.amelding.write import AmeldingDocument
from partner_api.models import Absence, Amelding, Employee, Employment, ExpenseClaim, utcnow
from partner_api.norwegian_calendar import period_bounds
from partner_api.wire import AbsenceIn, ExpenseClaimIn

__all__ = ["AmeldingRow", "BulkAmeldingWriter", "insert_events", "row_from_document"]

_EMPLOYEE: Table = SQLModel.metadata.tables[Employee.__tablename__]
_EMPLOYMENT: Table = SQLModel.metadata.tables[Employment.__tablename__]
_AMELDING: Table = SQLModel.metadata.tables[Amelding.__tablename__]
_EXPENSE_CLAIM: Table = SQLModel.metadata.tables[ExpenseClaim.__tablename__]
_ABSENCE: Table = SQLModel.metadata.tables[Absence.__tablename__]


@dataclass(frozen=True, slots=True)
class AmeldingRow:
    """One a-melding as stored: the ``amelding`` row's values plus its people and jobs."""

    client_id: int
    period: str
    meldings_id: str
    replaces_meldings_id: str | None
    status: str  # final status: mottatt | avvist | erstattet
    deviations: str  # JSON list
    cash_salary_ore: int
    withholding_ore: int
    aga_ore: int
    active_employees: int
    payout_dates: str  # JSON [[date, amount], ...] as store.import_amelding writes it
    source_name: str
    # (national id, arbeidsforholdId, start, end, position percent) per employment
    employments: tuple[tuple[str, str, Any, Any, float | None], ...]


def row_from_document(
    doc: AmeldingDocument, *, client_id: int, source: str, status: str,
    deviations: Sequence[dict[str, Any]] = (),
) -> AmeldingRow:
    """The values ``import_amelding`` (+ ``set_status``) would store for ``doc`` as JSON."""
    first, last = period_bounds(doc.period)
    active: set[str] = set()
    jobs: list[tuple[str, str, Any, Any, float | None]] = []
    for r in doc.recipients:
        for e in r.employments:
            jobs.append((r.national_id, e.arbeidsforhold_id, e.start_date, e.end_date,
                         float(e.position_percent)))
            if e.start_date <= last and (e.end_date is None or e.end_date >= first):
                active.add(r.national_id)
    withholding = doc.total_withholding()
    payout = [[doc.payout_date.isoformat(), str(Decimal(int(withholding)))]] if withholding else []
    return AmeldingRow(
        client_id=client_id, period=doc.period, meldings_id=doc.meldings_id,
        replaces_meldings_id=doc.replaces, status=status,
        deviations=json.dumps(list(deviations), ensure_ascii=False),
        cash_salary_ore=to_ore(doc.total_salary()), withholding_ore=to_ore(withholding),
        aga_ore=to_ore(doc.aga_amount()), active_employees=len(active),
        payout_dates=json.dumps(payout), source_name=source[:255], employments=tuple(jobs),
    )


class BulkAmeldingWriter:
    """Writes ``AmeldingRow`` batches for one chunk of clients (it remembers their people).

    Rows must come in import order (a replaced message before the one replacing it), and every
    client's rows must go through the same writer, because it keeps each client's employee and
    employment ids instead of reading them back.
    """

    def __init__(self, partner_id: int) -> None:
        self.partner_id = partner_id
        self._employee: dict[tuple[int, str], int] = {}
        # (employee id, arbeidsforholdId) → (employment id, (start, end, percent))
        self._job: dict[tuple[int, str], tuple[int, tuple[Any, Any, float | None]]] = {}

    def write(self, session: Session, rows: Sequence[AmeldingRow]) -> None:
        if not rows:
            return
        pid = self.partner_id
        employee, jobs = self._employee, self._job
        new_people: dict[tuple[int, str], dict[str, Any]] = {}
        for row in rows:
            cid = row.client_id
            for job in row.employments:
                key = (cid, job[0])
                if key not in employee and key not in new_people:
                    new_people[key] = {"partner_id": pid, "client_id": cid,
                                       "national_id": job[0], "name": None}
        if new_people:
            for emp_id, client_id, nid in session.execute(
                insert(_EMPLOYEE).returning(_EMPLOYEE.c.id, _EMPLOYEE.c.client_id,
                                            _EMPLOYEE.c.national_id),
                list(new_people.values()),
            ):
                employee[(client_id, nid)] = emp_id

        # Later rows overwrite earlier ones, as one import after the other would.
        new_jobs: dict[tuple[int, str], tuple[Any, Any, float | None]] = {}
        changed: dict[tuple[int, str], tuple[Any, Any, float | None]] = {}
        for row in rows:
            cid = row.client_id
            for nid, job_id, start, end, percent in row.employments:
                key = (employee[(cid, nid)], job_id)
                values = (start, end, percent)
                known = jobs.get(key)
                if known is None:
                    new_jobs[key] = values
                elif known[1] != values:
                    changed[key] = values
                else:
                    changed.pop(key, None)
        if new_jobs:
            for job_row_id, emp, job_id in session.execute(
                insert(_EMPLOYMENT).returning(_EMPLOYMENT.c.id, _EMPLOYMENT.c.employee_id,
                                              _EMPLOYMENT.c.arbeidsforhold_id),
                [{"partner_id": pid, "employee_id": emp, "arbeidsforhold_id": job_id,
                  "start_date": v[0], "end_date": v[1], "position_percent": v[2]}
                 for (emp, job_id), v in new_jobs.items()],
            ):
                jobs[(emp, job_id)] = (job_row_id, new_jobs[(emp, job_id)])
        if changed:
            session.execute(update(Employment), [  # ORM bulk UPDATE by primary key
                {"id": jobs[key][0], "start_date": v[0], "end_date": v[1],
                 "position_percent": v[2]}
                for key, v in changed.items()
            ])
            for key, v in changed.items():
                jobs[key] = (jobs[key][0], v)

        session.execute(insert(_AMELDING), [
            {"partner_id": pid, "client_id": row.client_id, "period": row.period,
             "meldings_id": row.meldings_id, "replaces_meldings_id": row.replaces_meldings_id,
             "status": row.status, "deviations": row.deviations,
             "cash_salary_ore": row.cash_salary_ore, "withholding_ore": row.withholding_ore,
             "aga_ore": row.aga_ore, "finansskatt_ore": 0,
             "active_employees": row.active_employees, "payout_dates": row.payout_dates,
             "source_name": row.source_name, "schema_version": JSON_SCHEMA_VERSION,
             "received_at": utcnow()}
            for row in rows
        ])


def insert_events(
    session: Session, partner_id: int, client_ids: Mapping[str, int | None],
    claims: Sequence[ExpenseClaimIn], absences: Sequence[AbsenceIn],
) -> None:
    """New claims and absences stored as ``apply_events`` stores them (no upsert: the demo's
    references are new). ``apply_events`` with the month's runs then recomputes the figures."""
    for table, items in ((_EXPENSE_CLAIM, claims), (_ABSENCE, absences)):
        if items:
            session.execute(insert(table), [
                {**item.model_dump(exclude={"client_orgnr"}), "partner_id": partner_id,
                 "client_id": client_ids[item.client_orgnr],
                 "period": item.registered_on.strftime("%Y-%m")}
                for item in items
            ])
