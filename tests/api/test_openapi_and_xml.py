"""The documented contract (OpenAPI) and the XML encoding through the HTTP API."""

import json
from datetime import date
from decimal import Decimal

from fastapi.testclient import TestClient

from partner_api.amelding.write import (
    AmeldingDocument,
    AmeldingEmployment,
    AmeldingRecipient,
    amelding_to_json,
    amelding_to_xml,
)
from partner_api.app import create_app
from partner_api.db import Database
from tests.conftest import ORGNRS, make_tenant


def test_openapi_documents_every_endpoint(sqlite_db: Database) -> None:
    api = TestClient(create_app(sqlite_db))
    spec = api.get("/openapi.json").json()
    paths = spec["paths"]
    for path in (
        "/health",
        "/v1/me",
        "/v1/sync/changes",
        "/v1/dashboard",
        "/v1/amelding",
        "/v1/payroll-events",
        "/v1/clients",
    ):
        assert path in paths, path
    events = paths["/v1/payroll-events"]["post"]
    schema_ref = events["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert schema_ref.endswith("/PayrollEventsIn")
    assert {"payroll_runs", "expense_claims", "absences"} <= set(
        spec["components"]["schemas"]["PayrollEventsIn"]["properties"]
    )
    assert "application/xml" in paths["/v1/amelding"]["post"]["requestBody"]["content"]
    assert api.get("/docs").status_code == 200


def test_xml_and_json_of_one_message_import_to_the_same_figures(sqlite_db: Database) -> None:
    tenant = make_tenant(sqlite_db, "Alfa", ORGNRS[:2])
    api = TestClient(create_app(sqlite_db))
    api.headers["Authorization"] = f"Bearer {tenant.token}"

    def doc(orgnr: str, mid: str) -> AmeldingDocument:
        return AmeldingDocument(
            period="2026-10",
            meldings_id=mid,
            opplysningspliktig=orgnr,
            virksomhet=orgnr,
            payout_date=date(2026, 10, 20),
            recipients=[
                AmeldingRecipient(
                    national_id="13830197340",
                    employments=[
                        AmeldingEmployment(arbeidsforhold_id="1", start_date=date(2019, 5, 1))
                    ],
                    salary_lines=[("fastloenn", Decimal("41234.56")), ("bonus", Decimal("5000"))],
                    withholding=Decimal("14000"),
                )
            ],
        )

    as_json = api.post(
        "/v1/amelding",
        content=json.dumps(amelding_to_json(doc(ORGNRS[0], "j1"))),
        headers={"Content-Type": "application/json", "X-Filename": "a.json"},
    )
    as_xml = api.post(
        "/v1/amelding",
        content=amelding_to_xml(doc(ORGNRS[1], "x1")),
        headers={"Content-Type": "application/xml", "X-Filename": "a.xml"},
    )
    assert as_json.status_code == as_xml.status_code == 201, (as_json.text, as_xml.text)
    figures = ("active_employees", "cash_salary_ore", "withholding_ore", "aga_ore")
    assert [as_json.json()[f] for f in figures] == [as_xml.json()[f] for f in figures]
    assert as_xml.json()["cash_salary_ore"] == 4_623_456
    assert as_xml.json()["withholding_ore"] == 1_400_000


def test_oversized_upload_is_413(sqlite_db: Database) -> None:
    tenant = make_tenant(sqlite_db, "Alfa", ORGNRS[:1])
    api = TestClient(create_app(sqlite_db))
    api.headers["Authorization"] = f"Bearer {tenant.token}"
    r = api.post(
        "/v1/amelding",
        content=b" " * (20 * 1024 * 1024 + 10),
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 413
    assert r.json()["type"].endswith("too-large")
