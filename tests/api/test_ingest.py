"""A-melding import (API and CLI) and payroll events, on SQLite and PostgreSQL."""

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from partner_api.app import create_app
from partner_api.cli import main as api_cli
from partner_api.db import Database
from partner_api.models import AccessGrant, Amelding, ClientMonth, Employee
from partner_api.services import portfolio
from tests.conftest import ORGNRS, make_tenant
from tests.samples import samples_dir

EXAMPLE = "amelding/skatteetaten-docs/amelding-filopplasting-request.example.json"


def example_bytes() -> bytes:
    root = samples_dir()
    if root is None or not (root / EXAMPLE).exists():
        pytest.skip("shared/samples not present")
    return (root / EXAMPLE).read_bytes()


@pytest.fixture
def firm(db: Database):  # type: ignore[no-untyped-def]
    tenant = make_tenant(db, "Alfa", ORGNRS[:2])
    api = TestClient(create_app(db))
    api.headers["Authorization"] = f"Bearer {tenant.token}"
    return api, tenant, db


def post(api: TestClient, data: bytes, name: str, kind: str = "json"):  # type: ignore[no-untyped-def]
    return api.post(
        "/v1/amelding",
        content=data,
        headers={"Content-Type": f"application/{kind}", "X-Filename": name},
    )


def test_skatteetaten_example_yields_the_hand_worked_figures(firm) -> None:  # type: ignore[no-untyped-def]
    api, tenant, db = firm
    data = example_bytes()
    # Before its client exists, the file is refused with the orgnr named.
    r = post(api, data, "example.json")
    assert r.status_code == 422
    assert "211785462" in r.json()["detail"] and "example.json" in r.json()["detail"]

    with db.transaction() as s:
        client = portfolio.create_client(s, tenant.partner_id, "211785462", "EDAG Test AS")
    r = post(api, data, "example.json")
    assert r.status_code == 201, r.text
    body = r.json()
    # Worked out by hand from the file:
    #  - one inntektsmottaker, arbeidsforhold 2026-01-31..2026-02-28: active on 31 Jan → 1
    #  - cash salary: the kontantytelse loennsinntekt 23989.5; the naturalytelse pension
    #    (1569.5) is not cash salary → 23 989,50 kr
    #  - withholding: forskuddstrekk -17022 → 17 022 kr
    #  - AGA: sumArbeidsgiveravgift 34605 (= 245428.0 × 14.1 % = 34605.35, truncated) kr
    assert body["period"] == "2026-01"
    assert body["active_employees"] == 1
    assert body["cash_salary_ore"] == 2_398_950
    assert body["withholding_ore"] == 1_702_200
    assert body["aga_ore"] == 3_460_500
    with db.reading() as s:
        month = s.execute(
            select(ClientMonth).where(ClientMonth.client_id == client.id)
        ).scalar_one()
        assert (
            month.month,
            month.active_employees,
            month.salary_paid_ore,
            month.amelding_status,
        ) == ("2026-01", 1, 2_398_950, "mottatt")
        employee = s.execute(select(Employee)).scalar_one()
        assert employee.national_id == "08842199736"

    # Importing the same file again changes nothing.
    again = post(api, data, "example.json")
    assert again.status_code == 201 and again.json() == body


def test_replacement_message_replaces(firm) -> None:  # type: ignore[no-untyped-def]
    api, tenant, db = firm
    doc = json.loads(example_bytes())
    with db.transaction() as s:
        portfolio.create_client(s, tenant.partner_id, "211785462", "EDAG Test AS")
    assert post(api, json.dumps(doc).encode(), "first.json").status_code == 201
    lev = doc["leveranse"]
    first_id = lev["meldingsId"]
    lev["erstatterMeldingsId"] = first_id
    lev["meldingsId"] = "replacement-1"
    lev["oppgave"]["virksomhet"][0]["inntektsmottaker"][0]["inntekt"][0]["beloep"] = "30000.00"
    r = post(api, json.dumps(doc).encode(), "second.json")
    assert r.status_code == 201, r.text
    assert r.json()["replaced_meldings_id"] == first_id
    with db.reading() as s:
        statuses = dict(s.execute(select(Amelding.meldings_id, Amelding.status)).all())
        month = s.execute(select(ClientMonth)).scalar_one()
    assert statuses == {first_id: "erstattet", "replacement-1": "mottatt"}
    assert month.salary_paid_ore == 3_000_000


@pytest.mark.parametrize(
    ("content", "field_part"),
    [
        (b"", ""),
        (b"hello, not a file", ""),
        (b"[1, 2, 3]", ""),
        (b'{"foo": {}}', "leveranse"),
        (
            b'{"leveranse": {"kalendermaaned": "2026-13", "meldingsId": "x", '
            b'"opplysningspliktig": {"norskIdentifikator": "211785462"}, "oppgave": {}}}',
            "kalendermaaned",
        ),
    ],
)
def test_bad_files_are_refused_with_file_and_field(firm, content, field_part) -> None:  # type: ignore[no-untyped-def]
    api, _, db = firm
    r = post(api, content, "bad.json")
    assert r.status_code == 422
    problem = r.json()
    assert problem["type"].endswith("invalid-amelding")
    assert problem["detail"].startswith("bad.json")
    assert field_part in problem["field"]
    with db.reading() as s:
        assert s.execute(select(Amelding)).first() is None


def test_cli_imports_good_files_and_reports_bad_ones(
    sqlite_db: Database, tmp_path: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    data = example_bytes()
    tenant = make_tenant(sqlite_db, "Alfa", ["211785462"])
    good = tmp_path / "good.json"
    good.write_bytes(data)
    broken = json.loads(data)
    broken["leveranse"]["meldingsId"] = "m-2"
    broken["leveranse"]["oppgave"]["virksomhet"][0]["inntektsmottaker"][0]["forskuddstrekk"][0][
        "beloep"
    ] = "abc"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(broken))
    missing = tmp_path / "missing.json"
    rc = api_cli(
        [
            "import-amelding",
            "--db",
            str(sqlite_db.url.removeprefix("sqlite:///")),
            str(bad),
            str(good),
            str(missing),
        ]
    )
    out, err = capsys.readouterr()
    assert rc == 1
    assert "good.json: 2026-01 211785462" in out
    assert (
        "bad.json: leveranse.oppgave.virksomhet[0].inntektsmottaker[0].forskuddstrekk[0]"
        ".beloep" in err
    )
    assert "missing.json: cannot read" in err
    assert "2 of 3 files not imported" in err
    with sqlite_db.reading() as s:
        assert [a.meldings_id for a in s.execute(select(Amelding)).scalars()] == [
            json.loads(data)["leveranse"]["meldingsId"]
        ]
    assert tenant.partner_id


def test_payroll_events_upsert_and_set_roles(firm) -> None:  # type: ignore[no-untyped-def]
    api, tenant, db = firm
    with db.transaction() as s:
        for uid in (tenant.admin_id, tenant.staff_id):
            portfolio.grant(s, tenant.partner_id, uid, tenant.client_ids[0])
    run = {
        "client_orgnr": ORGNRS[0],
        "external_ref": "run-1",
        "period": "2026-10",
        "pay_date": "2026-10-20",
        "status": "closed",
        "run_by_email": "staff@alfa.example",
        "payslip_count": 4,
        "payslips_sent": 4,
        "auto_tax_card": True,
        "auto_payslip": True,
    }
    events = {
        "payroll_runs": [run],
        "expense_claims": [
            {
                "client_orgnr": ORGNRS[0],
                "external_ref": f"c{i}",
                "registered_on": f"2026-10-0{i + 1}",
            }
            for i in range(3)
        ],
        "absences": [
            {"client_orgnr": ORGNRS[0], "external_ref": "a1", "registered_on": "2026-10-15"},
            {"client_orgnr": "000000000", "external_ref": "a2", "registered_on": "2026-10-15"},
        ],
    }
    r = api.post("/v1/payroll-events", json=events)
    assert r.status_code == 200
    assert r.json() == {
        "payroll_runs": 1,
        "expense_claims": 3,
        "absences": 1,
        "errors": [{"section": "absences", "index": 1, "detail": "no client with orgnr 000000000"}],
    }
    # Resending the same batch is harmless (upsert by external_ref).
    assert api.post("/v1/payroll-events", json=events).status_code == 200
    with db.reading() as s:
        month = s.execute(select(ClientMonth)).scalar_one()
        roles = dict(s.execute(select(AccessGrant.user_id, AccessGrant.role)).all())
    assert (
        month.payslips_sent,
        month.claims,
        month.absences,
        month.auto_steps,
        month.total_steps,
    ) == (4, 3, 1, 2, 5)
    assert roles == {tenant.staff_id: "ansvarlig", tenant.admin_id: "medarbeider"}

    # A later run by the admin moves ansvarlig; a manual override sticks.
    with db.transaction() as s:
        grant = s.execute(
            select(AccessGrant).where(AccessGrant.user_id == tenant.staff_id)
        ).scalar_one()
        grant.role, grant.role_source = "ansvarlig", "manual"
    later = run | {
        "external_ref": "run-2",
        "period": "2026-11",
        "pay_date": "2026-11-20",
        "run_by_email": "admin@alfa.example",
    }
    assert api.post("/v1/payroll-events", json={"payroll_runs": [later]}).status_code == 200
    with db.reading() as s:
        roles = dict(s.execute(select(AccessGrant.user_id, AccessGrant.role)).all())
    assert roles == {tenant.staff_id: "ansvarlig", tenant.admin_id: "ansvarlig"}
