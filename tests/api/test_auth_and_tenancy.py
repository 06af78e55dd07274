"""Authentication, the partneradmin rule, and tenant isolation, on SQLite and PostgreSQL."""

import pytest
from fastapi.testclient import TestClient

from partner_api.app import create_app
from partner_api.db import Database
from tests.conftest import ORGNRS, make_tenant


@pytest.fixture
def two_firms(db: Database):  # type: ignore[no-untyped-def]
    a = make_tenant(db, "Alfa", ORGNRS[:3])
    b = make_tenant(db, "Beta", ORGNRS[3:])
    return TestClient(create_app(db)), a, b


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_health_needs_no_token(two_firms) -> None:  # type: ignore[no-untyped-def]
    api, _, _ = two_firms
    assert api.get("/health").json() == {"status": "ok"}


@pytest.mark.parametrize("header", [None, "Bearer nope", "Bearer pa_forged_000000", "Basic abc"])
def test_missing_or_bad_token_is_401_problem(two_firms, header) -> None:  # type: ignore[no-untyped-def]
    api, _, _ = two_firms
    r = api.get("/v1/me", headers={"Authorization": header} if header else {})
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == 401 and body["type"].endswith(("unauthenticated", "invalid-token"))
    assert body["request_id"] == r.headers["x-request-id"]


def test_non_partneradmin_gets_403(two_firms) -> None:  # type: ignore[no-untyped-def]
    api, a, _ = two_firms
    r = api.get("/v1/sync/changes", headers=auth(a.staff_token))
    assert r.status_code == 403
    assert r.json()["type"].endswith("not-partneradmin")
    assert "staff@alfa.example" in r.json()["detail"]


def test_me_names_the_caller(two_firms) -> None:  # type: ignore[no-untyped-def]
    api, a, _ = two_firms
    body = api.get("/v1/me", headers=auth(a.token)).json()
    assert body["user"]["email"] == "admin@alfa.example"
    assert body["partner"]["name"] == "Alfa"


def test_clients_of_another_partner_are_404(two_firms) -> None:  # type: ignore[no-untyped-def]
    api, a, b = two_firms
    own = api.get(f"/v1/clients/{a.client_ids[0]}", headers=auth(a.token))
    assert own.status_code == 200 and own.json()["orgnr"] == a.orgnrs[0]
    for foreign in b.client_ids:
        r = api.get(f"/v1/clients/{foreign}", headers=auth(a.token))
        assert r.status_code == 404, foreign
        assert r.json()["type"].endswith("not-found")
    listed = {c["id"] for c in api.get("/v1/clients", headers=auth(a.token)).json()}
    assert listed == set(a.client_ids)


def test_dashboard_with_another_partners_user_is_404(two_firms) -> None:  # type: ignore[no-untyped-def]
    api, a, b = two_firms
    r = api.get(
        "/v1/dashboard", params={"month": "2026-10", "user": b.admin_id}, headers=auth(a.token)
    )
    assert r.status_code == 404


def test_sync_feed_shows_only_own_partner(two_firms) -> None:  # type: ignore[no-untyped-def]
    api, a, b = two_firms
    page = api.get("/v1/sync/changes", headers=auth(a.token)).json()
    clients = {c["id"] for c in page["changes"] if c["kind"] == "client"}
    users = {c["data"]["email"] for c in page["changes"] if c["kind"] == "user"}
    assert clients == set(a.client_ids)
    assert users == {"admin@alfa.example", "staff@alfa.example"}
    # A cursor minted for firm A is refused for firm B rather than leaking A's position.
    r = api.get("/v1/sync/changes", params={"cursor": page["next_cursor"]}, headers=auth(b.token))
    assert r.status_code == 410


def test_payroll_events_cannot_touch_another_partners_client(two_firms) -> None:  # type: ignore[no-untyped-def]
    api, a, b = two_firms
    r = api.post(
        "/v1/payroll-events",
        headers=auth(a.token),
        json={
            "payroll_runs": [
                {
                    "client_orgnr": b.orgnrs[0],
                    "external_ref": "x1",
                    "period": "2026-10",
                    "pay_date": "2026-10-20",
                }
            ]
        },
    )
    assert r.status_code == 200
    body = r.json()
    assert body["payroll_runs"] == 0
    assert body["errors"][0]["detail"] == f"no client with orgnr {b.orgnrs[0]}"


def test_validation_errors_are_problems_with_pointer(two_firms) -> None:  # type: ignore[no-untyped-def]
    api, a, _ = two_firms
    r = api.get("/v1/dashboard", params={"month": "2026-13"}, headers=auth(a.token))
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["pointer"] == "/query/month"
