"""Tenant isolation of every access-administration endpoint, on SQLite and PostgreSQL: another
partner's users, clients and templates are answered exactly like missing ones (404, or a
failed item with a 404 problem inside a bulk answer), and nothing of theirs changes."""

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import col

from partner_api.app import create_app
from partner_api.db import Database
from partner_api.models import AccessGrant, AccessTemplate, Client, User
from tests.conftest import ORGNRS, Tenant, make_tenant


@pytest.fixture
def firms(db: Database):  # type: ignore[no-untyped-def]
    a = make_tenant(db, "Alfa", ORGNRS[:3])
    b = make_tenant(db, "Beta", ORGNRS[3:])
    with db.transaction() as s:
        for user_id, client_id in ((b.staff_id, b.client_ids[0]), (b.admin_id, b.client_ids[1])):
            s.add(
                AccessGrant(
                    partner_id=b.partner_id,
                    user_id=user_id,
                    client_id=client_id,
                    role="ansvarlig",
                    role_source="manual",
                )
            )
    return TestClient(create_app(db)), db, a, b


def snapshot(db: Database, partner_id: int) -> tuple[Any, ...]:
    with db.reading() as s:
        grants = sorted(
            (g.id, g.version, g.user_id, g.client_id, g.access_level, g.role, g.role_source)
            for g in s.execute(
                select(AccessGrant).where(col(AccessGrant.partner_id) == partner_id)
            ).scalars()
        )
        clients = sorted(
            (c.id, c.version, c.uses_partner_altinn, c.status)
            for c in s.execute(select(Client).where(col(Client.partner_id) == partner_id)).scalars()
        )
        users = sorted(
            (u.id, u.version, u.active)
            for u in s.execute(select(User).where(col(User.partner_id) == partner_id)).scalars()
        )
        templates = sorted(
            (t.id, t.version, t.name, t.access_level)
            for t in s.execute(
                select(AccessTemplate).where(col(AccessTemplate.partner_id) == partner_id)
            ).scalars()
        )
    return grants, clients, users, templates


def template_id(db: Database, partner_id: int) -> int:
    with db.reading() as s:
        return int(
            s.execute(
                select(col(AccessTemplate.id)).where(col(AccessTemplate.partner_id) == partner_id)
            )
            .scalars()
            .first()  # type: ignore[arg-type]
        )


def requests(a: Tenant, b: Tenant, b_template: int) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, url, keyword arguments) that each name something of firm B."""
    bu, bc = b.staff_id, b.client_ids[0]
    au, ac = a.staff_id, a.client_ids[0]
    tpl = {"name": "Kapret", "access_level": "read"}
    return [
        ("GET", f"/v1/access-grants?user={bu}", {}),
        ("GET", f"/v1/access-grants?client={bc}", {}),
        ("GET", f"/v1/access-grants/{bu}/{bc}", {}),
        ("GET", f"/v1/access-grants/{bu}/{ac}", {}),
        ("GET", f"/v1/access-grants/{au}/{bc}", {}),
        ("PUT", f"/v1/access-grants/{bu}/{bc}", {"json": {"access_level": "read"}}),
        ("PUT", f"/v1/access-grants/{bu}/{ac}", {"json": {"access_level": "read"}}),
        ("PUT", f"/v1/access-grants/{au}/{bc}", {"json": {"access_level": "read"}}),
        ("PUT", f"/v1/access-grants/{au}/{ac}", {"json": {"template_id": b_template}}),
        ("DELETE", f"/v1/access-grants/{bu}/{bc}", {}),
        ("DELETE", f"/v1/access-grants/{au}/{bc}", {}),
        ("DELETE", f"/v1/access-grants/{bu}/{bc}/role-override", {}),
        ("POST", "/v1/access-grants:copy", {"json": {"from_user_id": bu, "to_user_id": au}}),
        ("POST", "/v1/access-grants:copy", {"json": {"from_user_id": au, "to_user_id": bu}}),
        ("POST", f"/v1/users/{bu}:offboard", {"json": {}}),
        ("POST", f"/v1/users/{bu}:offboard", {"json": {"dry_run": True}}),
        ("GET", f"/v1/audit?user={bu}", {}),
        ("GET", f"/v1/audit?client={bc}", {}),
        ("GET", f"/v1/audit?actor={b.admin_id}", {}),
        ("PUT", f"/v1/access-templates/{b_template}", {"json": tpl}),
        ("DELETE", f"/v1/access-templates/{b_template}", {}),
    ]


def test_every_endpoint_answers_404_for_another_partners_ids(firms) -> None:  # type: ignore[no-untyped-def]
    api, db, a, b = firms
    before = snapshot(db, b.partner_id)
    b_template = template_id(db, b.partner_id)
    for method, url, kwargs in requests(a, b, b_template):
        headers = {"Authorization": f"Bearer {a.token}", "Idempotency-Key": str(uuid.uuid4())}
        r = api.request(method, url, headers=headers, **kwargs)
        assert r.status_code == 404, (method, url, r.status_code, r.text)
        assert r.json()["type"].endswith("not-found"), (method, url)
        assert r.json()["detail"].startswith("No such"), (method, url)
    assert snapshot(db, b.partner_id) == before


def test_bulk_items_naming_another_partner_fail_as_not_found(firms) -> None:  # type: ignore[no-untyped-def]
    api, db, a, b = firms
    before = snapshot(db, b.partner_id)
    headers = {"Authorization": f"Bearer {a.token}"}
    items = [
        {"user_id": b.staff_id, "client_id": b.client_ids[0], "access_level": "full"},
        {"op": "revoke", "user_id": b.admin_id, "client_id": b.client_ids[1]},
        {"user_id": a.staff_id, "client_id": b.client_ids[1], "access_level": "full"},
        {"user_id": b.staff_id, "client_id": a.client_ids[0], "access_level": "full"},
        {
            "user_id": a.staff_id,
            "client_id": a.client_ids[0],
            "template_id": template_id(db, b.partner_id),
        },
        {"user_id": a.staff_id, "client_id": a.client_ids[1], "access_level": "read"},
    ]
    for mode in ("partial", "atomic"):
        r = api.post(
            "/v1/access-grants:bulk",
            json={"items": items, "mode": mode},
            headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
        )
        assert r.status_code == 200, r.text
        results = r.json()["results"]
        assert [x["status"] for x in results[:5]] == ["failed"] * 5, mode
        assert {x["problem"]["status"] for x in results[:5]} == {404}
        assert {x["problem"]["detail"] for x in results[:5]} == {
            "No such user.",
            "No such client.",
            "No such access template.",
        }
        # No before-state of firm B's grant leaks out.
        assert all(x["before"] is None for x in results[:5])

    copy = api.post(
        "/v1/access-grants:copy",
        json={"from_user_id": a.staff_id, "to_user_id": a.admin_id, "client_ids": b.client_ids},
        headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
    ).json()
    assert {x["problem"]["status"] for x in copy["results"]} == {404}

    tag = api.post(
        "/v1/clients:altinn-tag",
        json={"client_ids": [*b.client_ids, a.client_ids[0]], "value": True},
        headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
    ).json()
    assert [x["status"] for x in tag["results"]] == ["failed"] * len(b.client_ids) + ["updated"]
    assert all(x["before"] is None for x in tag["results"][:-1])

    offboard = api.post(
        f"/v1/users/{a.staff_id}:offboard",
        json={"handover": {"per_client": {str(b.client_ids[0]): b.admin_id}}},
        headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
    )
    assert offboard.status_code == 404  # naming firm B's user as the new ansvarlig
    assert snapshot(db, b.partner_id) == before


def test_templates_and_audit_lists_are_per_partner(firms) -> None:  # type: ignore[no-untyped-def]
    api, _, a, b = firms
    ha = {"Authorization": f"Bearer {a.token}"}
    hb = {"Authorization": f"Bearer {b.token}"}
    r = api.post(
        "/v1/access-templates", json={"name": "Bare Alfa", "access_level": "read"}, headers=ha
    )
    assert r.status_code == 201
    names_b = {t["name"] for t in api.get("/v1/access-templates", headers=hb).json()}
    assert "Bare Alfa" not in names_b and len(names_b) == 3
    # Same name in another firm is fine.
    assert (
        api.post(
            "/v1/access-templates", json={"name": "Bare Alfa", "access_level": "read"}, headers=hb
        ).status_code
        == 201
    )
    assert api.get("/v1/audit", headers=hb).json()["events"][0]["after"]["name"] == "Bare Alfa"
    assert len(api.get("/v1/audit", headers=ha).json()["events"]) == 1
    assert api.get("/v1/access-grants", headers=ha).json() == []
