"""The access report (who can access what), written as CSV or XLSX. UI-free.

CSV: UTF-8 with a byte-order mark and ``;`` as separator — what Excel with Norwegian regional
settings opens correctly by double-click (it uses ``;`` because ``,`` is the decimal mark).
XLSX: openpyxl (imported lazily), bold header, column widths, every cell a plain string or
date — never a formula, even when a name starts with ``=``, ``+``, ``-`` or ``@``.
CSV cells starting with those characters get a leading ``'`` so spreadsheets do not run them.
"""

from __future__ import annotations

import csv
import sqlite3
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from partner_tui.core.formatting import nb_sort_key
from partner_tui.core.i18n import t
from partner_tui.core.safe_text import clean

__all__ = ["HEADER", "ReportRow", "access_report", "write_csv", "write_report", "write_xlsx"]

HEADER = (
    "Bruker",
    "E-post",
    "Orgnr",
    "Klient",
    "Tilgang",
    "Rolle",
    "Rollekilde",
    "Gyldig til",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class ReportRow:
    user: str
    email: str
    orgnr: str
    client: str
    access_level: str
    role: str
    role_source: str
    valid_until: date | None


def access_report(
    conn: sqlite3.Connection, *, user_id: int | None = None, client_id: int | None = None
) -> list[ReportRow]:
    """Every grant in the cache (or one user's / one client's), by user then client name
    (Norwegian alphabetical order: æ, ø, å after z)."""
    where, args = [], []
    if user_id is not None:
        where.append("a.user_id = ?")
        args.append(user_id)
    if client_id is not None:
        where.append("a.client_id = ?")
        args.append(client_id)
    sql = (
        "SELECT u.name, u.email, c.orgnr, c.name, a.access_level, a.role, a.role_source, "
        "a.valid_until FROM access_grant a JOIN user u ON u.id = a.user_id "
        "JOIN client c ON c.id = a.client_id" + (" WHERE " + " AND ".join(where) if where else "")
    )
    found = sorted(
        conn.execute(sql.replace("SELECT u.name", "SELECT u.id, c.id, u.name"), args),
        key=lambda r: (nb_sort_key(clean(r[2])), r[0], nb_sort_key(clean(r[5])), r[1]),
    )
    return [
        ReportRow(
            clean(un),
            clean(em),
            clean(org),
            clean(cn),
            lv,
            ro,
            rs,
            date.fromisoformat(vu) if vu else None,
        )
        for _uid, _cid, un, em, org, cn, lv, ro, rs, vu in found
    ]


def _shown(row: ReportRow) -> tuple[object, ...]:
    """The row as a person reads it: levels and role sources in Norwegian, not API codes."""
    return (
        row.user,
        row.email,
        row.orgnr,
        row.client,
        t(f"access.level.{row.access_level}"),
        row.role,
        t("detail.manual" if row.role_source == "manual" else "detail.auto"),
        row.valid_until,
    )


def _csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def write_csv(rows: list[ReportRow], path: Path) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        out = csv.writer(f, delimiter=";")
        out.writerow(HEADER)
        for row in rows:
            out.writerow([_csv_cell(v) for v in _shown(row)])


def write_xlsx(rows: list[ReportRow], path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.cell.cell import TYPE_STRING
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Tilganger"
    ws.append(list(HEADER))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    widths = [len(h) for h in HEADER]
    for r, row in enumerate(rows, start=2):
        for c, value in enumerate(_shown(row), start=1):
            cell = ws.cell(row=r, column=c)
            if isinstance(value, date):
                cell.value = value
                cell.number_format = "DD.MM.YYYY"
                widths[c - 1] = max(widths[c - 1], 10)
            else:
                text = "" if value is None else str(value)
                cell.value = text
                cell.data_type = TYPE_STRING  # never a formula, whatever it starts with
                widths[c - 1] = max(widths[c - 1], len(text))
    for i, width in enumerate(widths):
        ws.column_dimensions[chr(ord("A") + i)].width = min(60, width + 2)
    ws.freeze_panes = "A2"
    wb.save(path)


def write_report(rows: list[ReportRow], path: Path, fmt: str | None = None) -> None:
    kind = (fmt or path.suffix.lstrip(".")).lower()
    if kind == "xlsx":
        write_xlsx(rows, path)
    elif kind == "csv":
        write_csv(rows, path)
    else:
        raise ValueError(f"unknown export format: {kind!r} (csv or xlsx)")
