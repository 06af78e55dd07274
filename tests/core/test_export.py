"""The access report: CSV (BOM, ';') and XLSX read back and compared with the cache rows."""

from __future__ import annotations

import csv
import sqlite3
from dataclasses import astuple
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from partner_tui.cli import main
from partner_tui.core.cache import CacheDB
from partner_tui.core.export import HEADER, access_report, write_csv, write_xlsx


def make_cache(path: Path) -> CacheDB:
    db = CacheDB(path)
    with db.write() as conn:
        ex = conn.exec_driver_sql
        ex(
            "INSERT INTO user (id, version, name, email, is_admin, is_partneradmin, active)"
            " VALUES (?, 1, ?, ?, 0, 0, 1)",
            [(1, "Kari Nordmann", "kari@x.no"), (2, '=HYPERLINK("http://evil")', "@o@x.no")],
        )
        ex(
            "INSERT INTO client (id, version, orgnr, name, payroll_enabled, uses_partner_altinn,"
            " status) VALUES (?, 1, ?, ?, 1, 0, 'active')",
            [(10, "910000001", "Ærlig Bakeri AS"), (11, "910000002", "+Plus; Minus AS")],
        )
        ex(
            "INSERT INTO access_grant (id, version, user_id, client_id, access_level, role,"
            " role_source, valid_until) VALUES (?, 1, ?, ?, ?, ?, ?, ?)",
            [
                (1, 1, 10, "full", "ansvarlig", "auto", None),
                (2, 1, 11, "read", "medarbeider", "manual", "2027-01-31"),
                (3, 2, 11, "payroll", "medarbeider", "auto", None),
            ],
        )
    return db


# Norwegian order: "=" before letters, "+" before letters, "Æ" after "Z".
EXPECTED = [
    (
        '=HYPERLINK("http://evil")',
        "@o@x.no",
        "910000002",
        "+Plus; Minus AS",
        "payroll",
        "medarbeider",
        "auto",
        None,
    ),
    (
        "Kari Nordmann",
        "kari@x.no",
        "910000002",
        "+Plus; Minus AS",
        "read",
        "medarbeider",
        "manual",
        date(2027, 1, 31),
    ),
    (
        "Kari Nordmann",
        "kari@x.no",
        "910000001",
        "Ærlig Bakeri AS",
        "full",
        "ansvarlig",
        "auto",
        None,
    ),
]


def test_report_rows_come_from_the_cache(tmp_path: Path) -> None:
    db = make_cache(tmp_path / "c.sqlite")
    conn = sqlite3.connect(db.path)
    assert [astuple(r) for r in access_report(conn)] == EXPECTED
    assert [astuple(r) for r in access_report(conn, user_id=2)] == EXPECTED[:1]
    assert [astuple(r) for r in access_report(conn, client_id=10)] == EXPECTED[2:]
    conn.close()
    db.dispose()


def test_csv_has_bom_semicolons_and_no_live_formulas(tmp_path: Path) -> None:
    db = make_cache(tmp_path / "c.sqlite")
    conn = sqlite3.connect(db.path)
    out = tmp_path / "r.csv"
    write_csv(access_report(conn), out)
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with out.open(encoding="utf-8-sig", newline="") as f:
        got = list(csv.reader(f, delimiter=";"))
    assert tuple(got[0]) == HEADER
    assert got[3] == [
        "Kari Nordmann",
        "kari@x.no",
        "910000001",
        "Ærlig Bakeri AS",
        "full",
        "ansvarlig",
        "automatisk",
        "",
    ]
    assert got[2][4:7] == ["les", "medarbeider", "manuell"]  # words, not API codes
    assert got[2][3] == "'+Plus; Minus AS" and got[2][7] == "31.01.2027"
    assert got[1][0] == '\'=HYPERLINK("http://evil")' and got[1][1] == "'@o@x.no"
    conn.close()
    db.dispose()


def test_xlsx_reads_back_as_plain_strings(tmp_path: Path) -> None:
    db = make_cache(tmp_path / "c.sqlite")
    conn = sqlite3.connect(db.path)
    out = tmp_path / "r.xlsx"
    write_xlsx(access_report(conn), out)
    ws = openpyxl.load_workbook(out).active
    assert ws is not None
    values = [tuple(c.value for c in row) for row in ws.iter_rows()]
    assert values[0] == HEADER and ws["A1"].font.bold
    assert values[3][:4] == EXPECTED[2][:4] and values[3][7] is None
    assert values[3][4:7] == ("full", "ansvarlig", "automatisk")
    assert values[2][4:7] == ("les", "medarbeider", "manuell")
    assert values[2][7].date() == date(2027, 1, 31)  # type: ignore[union-attr]
    assert values[1][0] == '=HYPERLINK("http://evil")'
    assert ws["A2"].data_type == "s"  # a string, not a formula
    assert ws.column_dimensions["D"].width >= len("+Plus; Minus AS")
    conn.close()
    db.dispose()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_cli_export_access_headless(tmp_path: Path, monkeypatch, capsys, fmt: str) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PARTNER_TUI_HOME", str(tmp_path / "home"))
    make_cache(tmp_path / "c.sqlite").dispose()
    out = tmp_path / f"report.{fmt}"
    code = main(
        [
            "export",
            "access",
            "--format",
            fmt,
            "--out",
            str(out),
            "--cache",
            str(tmp_path / "c.sqlite"),
            "--user",
            "1",
        ]
    )
    assert code == 0 and "2 rows" in capsys.readouterr().out
    if fmt == "csv":
        with out.open(encoding="utf-8-sig", newline="") as f:
            got = list(csv.reader(f, delimiter=";"))
        assert [r[3] for r in got[1:]] == ["'+Plus; Minus AS", "Ærlig Bakeri AS"]
    else:
        ws = openpyxl.load_workbook(out).active
        assert ws is not None and [c.value for c in ws["D"]][1:] == [
            "+Plus; Minus AS",
            "Ærlig Bakeri AS",
        ]


def test_cli_export_without_a_cache_says_so(tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PARTNER_TUI_HOME", str(tmp_path / "home"))
    code = main(
        [
            "export",
            "access",
            "--out",
            str(tmp_path / "x.csv"),
            "--cache",
            str(tmp_path / "none.sqlite"),
        ]
    )
    assert code == 1 and "no cache" in capsys.readouterr().err
