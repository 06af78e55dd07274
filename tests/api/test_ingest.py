"""A-melding import (API and CLI) and payroll events, on SQLite and PostgreSQL."""

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from partner_api.amelding.parse import AmeldingError
from partner_api.amelding.store import import_amelding, import_many
from partner_api.amelding.write import (
    AmeldingDocument,
    AmeldingEmployment,
    AmeldingRecipient,
    amelding_to_json,
)
from partner_api.app import create_app
from partner_api.cli import main as api_cli
from partner_api.db import Database
from partner_api.models import (
    AccessGrant,
    Amelding,
    Client,
    ClientMonth,
    Employee,
    Employment,
    SyncState,
)
from partner_api.services import portfolio
from partner_api.wire import AmeldingImported
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


# ---- import_many: the batch importer ------------------------------------------------------


@dataclass(frozen=True)
class Person:
    national_id: str
    salary: str = "40000.00"  # kroner this month
    start: date = date(2020, 1, 1)
    end: date | None = None
    percent: int = 100
    job: str | None = "AF1"  # None: reported without an arbeidsforholdId
    name: str | None = None  # identifiserendeInformasjon.navn, when given
    extra_job: bool = False  # a second employment, without an arbeidsforholdId


SUB_UNIT = "910825526"  # the virksomhet the test files report under (not a client)


def amelding_file(
    orgnr: str, period: str, meldings_id: str, people: list[Person], replaces: str | None = None
) -> bytes:
    """An a-melding written by the project's writer, with names and odd jobs patched in."""
    recipients = []
    for p in people:
        jobs = [
            AmeldingEmployment(
                arbeidsforhold_id=p.job or "X",
                start_date=p.start,
                end_date=p.end,
                position_percent=Decimal(p.percent),
            )
        ]
        if p.extra_job:
            jobs.append(
                AmeldingEmployment(
                    arbeidsforhold_id="X", start_date=p.start, position_percent=Decimal(20)
                )
            )
        recipients.append(
            AmeldingRecipient(
                national_id=p.national_id,
                employments=tuple(jobs),
                salary_lines=(("fastloenn", Decimal(p.salary)),),
                withholding=Decimal(9000),
            )
        )
    doc = AmeldingDocument(
        period=period,
        meldings_id=meldings_id,
        opplysningspliktig=orgnr,
        virksomhet=SUB_UNIT,
        payout_date=date.fromisoformat(f"{period}-20"),
        recipients=tuple(recipients),
        replaces=replaces,
    )
    tree = amelding_to_json(doc)
    for p, r in zip(
        people, tree["leveranse"]["oppgave"]["virksomhet"][0]["inntektsmottaker"], strict=True
    ):
        if p.name is not None:
            r["identifiserendeInformasjon"] = {"navn": p.name}
        if p.job is None:
            del r["arbeidsforhold"][0]["arbeidsforholdId"]
        if p.extra_job:
            del r["arbeidsforhold"][1]["arbeidsforholdId"]
    return json.dumps(tree).encode()


def table_counts(db: Database) -> dict[str, int]:
    with db.reading() as s:
        return {
            t.__tablename__: s.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (Amelding, Employee, Employment, ClientMonth)
        }


def stored(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """What the importer stored, by natural keys (no ids, versions or timestamps)."""
    with db.reading() as s:
        orgnr = dict(s.execute(select(Client.id, Client.orgnr)).all())
        people = {
            e.id: (orgnr[e.client_id], e.national_id) for e in s.execute(select(Employee)).scalars()
        }
        return {
            "amelding": sorted(
                (
                    orgnr[a.client_id],
                    a.period,
                    a.meldings_id,
                    a.replaces_meldings_id,
                    a.status,
                    a.cash_salary_ore,
                    a.withholding_ore,
                    a.aga_ore,
                    a.active_employees,
                    a.payout_dates,
                    a.source_name,
                    a.schema_version,
                )
                for a in s.execute(select(Amelding)).scalars()
            ),
            "employee": sorted(
                (orgnr[e.client_id], e.national_id, e.name)
                for e in s.execute(select(Employee)).scalars()
            ),
            "employment": sorted(
                (
                    people[j.employee_id],
                    j.arbeidsforhold_id,
                    j.start_date,
                    j.end_date,
                    j.position_percent,
                )
                for j in s.execute(select(Employment)).scalars()
            ),
            "client_month": sorted(
                (
                    orgnr[m.client_id],
                    m.month,
                    m.active_employees,
                    m.salary_paid_ore,
                    m.withholding_ore,
                    m.aga_ore,
                    m.amelding_status,
                )
                for m in s.execute(select(ClientMonth)).scalars()
            ),
        }


def test_import_many_imports_the_good_files_and_nothing_of_the_bad(db: Database) -> None:
    tenant = make_tenant(db, "Alfa", ORGNRS[:2])
    a, b = ORGNRS[:2]
    files = [
        (
            amelding_file(a, "2026-09", "good-a", [Person("12345678901"), Person("12345678902")]),
            "good-a.json",
        ),
        # No client has this orgnr (nor the sub-unit's).
        (
            amelding_file("211785462", "2026-09", "stranger", [Person("22345678901")]),
            "stranger.json",
        ),
        (b'{"leveranse": {"meldingsId": ', "broken.json"),
        # A meldingsId taken (earlier in this batch) by another client's message.
        (amelding_file(b, "2026-09", "good-a", [Person("32345678901")]), "clash.json"),
        # A correction naming another client's message.
        (
            amelding_file(b, "2026-09", "fix", [Person("42345678901")], replaces="good-a"),
            "wrong-fix.json",
        ),
        (
            amelding_file(b, "2026-09", "good-b", [Person("52345678901", salary="50000.00")]),
            "good-b.json",
        ),
    ]
    assert set(table_counts(db).values()) == {0}
    with db.transaction() as s:
        results = import_many(s, tenant.partner_id, files)

    assert [r.source for r in results] == [name for _, name in files]
    good_a, stranger, broken, clash, wrong_fix, good_b = results
    assert isinstance(good_a, AmeldingImported) and isinstance(good_b, AmeldingImported)
    assert (good_a.client_orgnr, good_a.status, good_a.active_employees) == (a, "mottatt", 2)
    assert (good_b.client_orgnr, good_b.cash_salary_ore) == (b, 5_000_000)
    assert isinstance(stranger, AmeldingError) and "211785462" in stranger.message
    assert stranger.field == "leveranse.opplysningspliktig.norskIdentifikator"
    assert isinstance(broken, AmeldingError) and "not valid JSON" in broken.message
    assert isinstance(clash, AmeldingError) and clash.field == "leveranse.meldingsId"
    assert isinstance(wrong_fix, AmeldingError)
    assert wrong_fix.field == "leveranse.erstatterMeldingsId"

    # Exactly the two good files' rows: the bad ones added no message, person or job.
    assert table_counts(db) == {"amelding": 2, "employee": 3, "employment": 3, "client_month": 2}
    with db.reading() as s:
        ids = set(s.execute(select(Employee.national_id)).scalars())
        statuses = dict(s.execute(select(Amelding.meldings_id, Amelding.status)).all())
        salaries = dict(s.execute(select(ClientMonth.client_id, ClientMonth.salary_paid_ore)).all())
    assert ids == {"12345678901", "12345678902", "52345678901"}
    assert statuses == {"good-a": "mottatt", "good-b": "mottatt"}
    assert salaries == dict(zip(tenant.client_ids, (8_000_000, 5_000_000), strict=True))

    # The one-file form raises the file's error and stores nothing.
    with pytest.raises(AmeldingError, match=r"stranger\.json"), db.transaction() as s:
        import_amelding(s, tenant.partner_id, files[1][0], "stranger.json")
    assert table_counts(db)["amelding"] == 2


def test_import_many_replaces_within_the_batch(db: Database) -> None:
    tenant = make_tenant(db, "Alfa", ORGNRS[:2])
    a = ORGNRS[0]
    files = [
        (amelding_file(a, "2026-10", "m1", [Person("12345678901", salary="40000.00")]), "m1.json"),
        (
            amelding_file(
                a, "2026-10", "m2", [Person("12345678901", salary="45000.00")], replaces="m1"
            ),
            "m2.json",
        ),
    ]
    with db.transaction() as s:
        first, second = import_many(s, tenant.partner_id, files)
    assert isinstance(first, AmeldingImported) and isinstance(second, AmeldingImported)
    # As one import after the other: m1 was received (then replaced by m2).
    assert (first.status, first.replaced_meldings_id) == ("mottatt", None)
    assert (second.status, second.replaced_meldings_id) == ("mottatt", "m1")
    with db.reading() as s:
        statuses = dict(s.execute(select(Amelding.meldings_id, Amelding.status)).all())
        month = s.execute(select(ClientMonth)).scalar_one()
    assert statuses == {"m1": "erstattet", "m2": "mottatt"}
    assert (month.month, month.salary_paid_ore, month.amelding_status) == (
        "2026-10",
        4_500_000,
        "mottatt",
    )
    assert table_counts(db) == {"amelding": 2, "employee": 1, "employment": 1, "client_month": 1}


def test_import_many_twice_changes_nothing(db: Database) -> None:
    tenant = make_tenant(db, "Alfa", ORGNRS[:2])
    a, b = ORGNRS[:2]
    files = [
        (
            amelding_file(
                a,
                "2026-10",
                "a1",
                [
                    Person("12345678901", name="Kari Nordmann"),
                    Person("12345678902", job=None, extra_job=True),
                ],
            ),
            "a1.json",
        ),
        (amelding_file(b, "2026-10", "b1", [Person("22345678901")]), "b1.json"),
        (
            amelding_file(
                a, "2026-10", "a2", [Person("12345678901", salary="41000.00")], replaces="a1"
            ),
            "a2.json",
        ),
        (
            amelding_file(a, "2026-11", "a3", [Person("12345678901", end=date(2026, 11, 15))]),
            "a3.json",
        ),
    ]
    with db.transaction() as s:
        first = import_many(s, tenant.partner_id, files)

    def state() -> tuple[Any, ...]:
        with db.reading() as s:
            months = sorted(
                tuple(m.model_dump().items()) for m in s.execute(select(ClientMonth)).scalars()
            )
            version = s.execute(select(SyncState.version)).scalar_one()
        return table_counts(db), stored(db), months, version

    before = state()
    with db.transaction() as s:
        again = import_many(s, tenant.partner_id, files)
    # No new rows, the same figures, not even a new change version for the sync feed.
    assert state() == before
    repeated = [r for r in again if isinstance(r, AmeldingImported)]
    assert len(repeated) == len(first) == 4
    assert [r.meldings_id for r in repeated] == ["a1", "b1", "a2", "a3"]
    assert [r.status for r in repeated] == ["erstattet", "mottatt", "mottatt", "mottatt"]
    assert before[0] == {"amelding": 4, "employee": 3, "employment": 4, "client_month": 3}


def test_import_many_stores_what_one_file_at_a_time_stores(tmp_path: Path) -> None:
    """One batch and the same files one by one (one transaction each) give the same rows."""
    a, b = ORGNRS[:2]
    kari, ola, per = "12345678901", "12345678902", "12345678903"
    files = [
        (
            amelding_file(
                a,
                "2026-09",
                "a9",
                [
                    Person(kari, name="Kari Nordmann"),
                    Person(ola, start=date(2026, 9, 10), percent=60),
                    Person(per, job=None, extra_job=True),
                ],
            ),
            "a9.json",
        ),
        (amelding_file(b, "2026-09", "b9", [Person(kari, name="Kari Nordmann")]), "b9.json"),
        (amelding_file(a, "2026-09", "a9", [Person(kari)]), "a9-again.json"),  # a repeat
        (amelding_file("211785462", "2026-09", "x9", [Person("99999999999")]), "stranger.json"),
        (
            amelding_file(
                a,
                "2026-10",
                "a10",
                [
                    Person(kari, salary="41000.00"),  # no name given: keeps "Kari Nordmann"
                    Person(ola, start=date(2026, 9, 10), end=date(2026, 10, 15), percent=60),
                    Person("12345678904", name="Per Hansen"),
                ],
            ),
            "a10.json",
        ),
        (
            amelding_file(
                a,
                "2026-10",
                "a10b",
                [
                    Person(kari, salary="42000.00", name="Kari Nordmann-Hansen"),
                    Person(ola, start=date(2026, 9, 10), end=date(2026, 10, 15), percent=80),
                ],
                replaces="a10",
            ),
            "a10b.json",
        ),
        (amelding_file(b, "2026-10", "b10", [Person(kari)], replaces="a9"), "b10.json"),
        (b"<not-an-a-melding/>", "junk.xml"),
        (amelding_file(b, "2026-10", "b10", [Person(kari)]), "b10.json"),
    ]
    batch_db, single_db = (
        Database(str(tmp_path / "batch.sqlite")),
        Database(str(tmp_path / "single.sqlite")),
    )
    try:
        tenants = [make_tenant(d, "Alfa", ORGNRS[:2]) for d in (batch_db, single_db)]
        with batch_db.transaction() as s:
            batch = [
                r.model_dump() if isinstance(r, AmeldingImported) else str(r)
                for r in import_many(s, tenants[0].partner_id, files)
            ]
        single: list[Any] = []
        for data, name in files:
            try:
                with single_db.transaction() as s:
                    single.append(
                        import_amelding(s, tenants[1].partner_id, data, name).model_dump()
                    )
            except AmeldingError as exc:
                single.append(str(exc))
        assert batch == single
        assert sum(isinstance(r, str) for r in batch) == 3
        assert stored(batch_db) == stored(single_db)
        names = {n for _, _, n in stored(batch_db)["employee"]}
        assert names == {"Kari Nordmann-Hansen", "Kari Nordmann", "Per Hansen", None}
    finally:
        batch_db.dispose()
        single_db.dispose()
