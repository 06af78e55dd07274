"""Access administration over HTTP, on SQLite and PostgreSQL: declarative grants, bulk
(partial, atomic, dry run, idempotent retries), preconditions, undo, copy, offboarding with
handover, role overrides, expiry, templates, the Altinn tag and the audit log."""

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select
from sqlmodel import col

from partner_api.app import create_app
from partner_api.db import Database
from partner_api.models import AccessGrant, AuditEvent, Client, Partner, PayrollRun, SyncState
from partner_api.services import access, portfolio
from partner_api.services.tokens import create_token
from partner_api.wire import AuditEventRow, BulkGrantsResult, GrantItemResult, GrantOp
from tests.conftest import ORGNRS, Tenant, make_tenant

TODAY = access.today()


@dataclass
class Firm:
    api: TestClient
    db: Database
    a: Tenant
    b: Tenant
    a_admin2: int  # a second partneradmin of firm A
    a_admin2_token: str
    a_user3: int  # another ordinary user of firm A


@pytest.fixture
def firm(db: Database) -> Firm:
    a = make_tenant(db, "Alfa", ORGNRS[:4])
    b = make_tenant(db, "Beta", ORGNRS[4:])
    with db.transaction() as s:
        partner = s.get(Partner, a.partner_id)
        assert partner is not None
        admin2 = portfolio.create_user(
            s, partner, "Admin To", "admin2@alfa.example", partneradmin=True
        )
        user3 = portfolio.create_user(s, partner, "Tredje Bruker", "user3@alfa.example")
        token2 = create_token(s, admin2)
        ids = (admin2.id, user3.id)
    assert ids[0] is not None and ids[1] is not None
    return Firm(TestClient(create_app(db)), db, a, b, ids[0], token2, ids[1])


def hdr(token: str, key: str | None = None, **extra: str) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}", **extra}
    if key is not None:
        headers["Idempotency-Key"] = key
    return headers


def key() -> str:
    return str(uuid.uuid4())


def grants_of(db: Database, partner_id: int) -> set[tuple[Any, ...]]:
    """Every grant of the partner as (user, client, level, role, role_source, valid_until)."""
    with db.reading() as s:
        rows = s.execute(select(AccessGrant).where(col(AccessGrant.partner_id) == partner_id))
        return {
            (g.user_id, g.client_id, g.access_level, g.role, g.role_source, g.valid_until)
            for g in rows.scalars()
        }


def audit_count(db: Database, partner_id: int) -> int:
    with db.reading() as s:
        return int(
            s.execute(
                select(func.count())
                .select_from(AuditEvent)
                .where(col(AuditEvent.partner_id) == partner_id)
            ).scalar_one()
        )


def archive(db: Database, client_id: int) -> None:
    with db.transaction() as s:
        client = s.get(Client, client_id)
        assert client is not None
        client.status = "archived"


def add_grant(db: Database, partner_id: int, user_id: int, client_id: int, **values: Any) -> None:
    with db.transaction() as s:
        s.add(AccessGrant(partner_id=partner_id, user_id=user_id, client_id=client_id, **values))


def bulk(f: Firm, items: list[dict[str, Any]], k: str | None = "auto", **body: Any) -> Response:
    return f.api.post(
        "/v1/access-grants:bulk",
        json={"items": items, **body},
        headers=hdr(f.a.token, key() if k == "auto" else k),
    )


# ---- single grants -------------------------------------------------------------------------


def test_put_and_delete_are_declarative_and_audited(firm: Firm) -> None:
    f, a = firm, firm.a
    url = f"/v1/access-grants/{a.staff_id}/{a.client_ids[0]}"
    r = f.api.put(url, json={"access_level": "payroll"}, headers=hdr(a.token))
    assert r.status_code == 201, r.text
    created = GrantItemResult.model_validate(r.json())
    assert created.status == "created" and created.before is None
    assert created.after is not None
    assert (created.after.access_level, created.after.role, created.after.role_source) == (
        "payroll",
        "medarbeider",
        "auto",
    )
    rid = r.headers["x-request-id"]

    again = f.api.put(url, json={"access_level": "payroll"}, headers=hdr(a.token))
    assert again.status_code == 200 and again.json()["status"] == "unchanged"

    # A field left out keeps its value; an explicit null clears it.
    until = (TODAY + timedelta(days=30)).isoformat()
    r = f.api.put(url, json={"valid_until": until}, headers=hdr(a.token))
    assert r.json()["status"] == "updated"
    assert r.json()["after"]["access_level"] == "payroll"
    assert r.json()["after"]["valid_until"] == until
    r = f.api.put(url, json={"access_level": "read", "valid_until": None}, headers=hdr(a.token))
    assert r.json()["before"]["valid_until"] == until
    assert r.json()["after"]["valid_until"] is None

    got = f.api.get(url, headers=hdr(a.token))
    assert got.headers["etag"] == f'"v{got.json()["version"]}"'
    assert got.json()["access_level"] == "read"

    gone = f.api.delete(url, headers=hdr(a.token))
    assert gone.json()["status"] == "deleted" and gone.json()["after"] is None
    assert f.api.delete(url, headers=hdr(a.token)).json()["status"] == "unchanged"
    assert f.api.get(url, headers=hdr(a.token)).status_code == 404

    events = f.api.get("/v1/audit", params={"user": a.staff_id}, headers=hdr(a.token)).json()
    actions = [e["action"] for e in events["events"]]
    assert actions == [
        "access_grant.deleted",
        "access_grant.updated",
        "access_grant.updated",
        "access_grant.created",
    ]
    first = AuditEventRow.model_validate(events["events"][-1])
    assert first.user_id == a.admin_id and first.request_id == rid
    assert first.before is None and first.after is not None
    assert first.after["access_level"] == "payroll"
    assert first.client_id == a.client_ids[0] and first.subject_user_id == a.staff_id


def test_new_grant_needs_a_level_and_a_future_expiry(firm: Firm) -> None:
    f, a = firm, firm.a
    url = f"/v1/access-grants/{a.staff_id}/{a.client_ids[0]}"
    r = f.api.put(url, json={}, headers=hdr(a.token))
    assert r.status_code == 422 and r.json()["type"].endswith("access-level-required")
    yesterday = (TODAY - timedelta(days=1)).isoformat()
    r = f.api.put(
        url, json={"access_level": "read", "valid_until": yesterday}, headers=hdr(a.token)
    )
    assert r.status_code == 422 and r.json()["type"].endswith("valid-until-in-past")
    r = f.api.put(url, json={"access_level": "admin"}, headers=hdr(a.token))
    assert r.status_code == 422  # not one of the levels
    r = f.api.put(url, json={"access_level": "read", "acces_level": "x"}, headers=hdr(a.token))
    assert r.status_code == 422  # a misspelt field is refused, not ignored
    assert grants_of(f.db, a.partner_id) == set()


# ---- bulk ----------------------------------------------------------------------------------


def test_partial_bulk_applies_all_but_the_archived_client(firm: Firm) -> None:
    f, a = firm, firm.a
    archive(f.db, a.client_ids[3])
    items = [{"user_id": a.staff_id, "client_id": c, "access_level": "full"} for c in a.client_ids]
    r = bulk(f, items)
    assert r.status_code == 200, r.text
    body = BulkGrantsResult.model_validate(r.json())
    assert body.applied and body.mode == "partial" and body.version is not None
    assert body.summary.created == 3 and body.summary.failed == 1
    failed = body.results[3]
    assert failed.status == "failed" and failed.problem is not None
    assert failed.problem.status == 409 and failed.problem.type.endswith("client-archived")
    assert failed.before is None and failed.after is None
    assert {r.after.version for r in body.results[:3] if r.after} == {body.version}
    assert {g[1] for g in grants_of(f.db, a.partner_id)} == set(a.client_ids[:3])
    assert audit_count(f.db, a.partner_id) == 3


def test_atomic_bulk_rolls_back_everything(firm: Firm) -> None:
    f, a = firm, firm.a
    archive(f.db, a.client_ids[3])
    with f.db.reading() as s:
        version_before = s.get(SyncState, 1).version  # type: ignore[union-attr]
    items = [{"user_id": a.staff_id, "client_id": c, "access_level": "read"} for c in a.client_ids]
    r = bulk(f, items, mode="atomic")
    assert r.status_code == 200
    body = BulkGrantsResult.model_validate(r.json())
    assert body.applied is False and body.version is None
    assert [x.status for x in body.results] == ["created", "created", "created", "failed"]
    assert grants_of(f.db, a.partner_id) == set()
    assert audit_count(f.db, a.partner_id) == 0
    with f.db.reading() as s:
        assert s.get(SyncState, 1).version == version_before  # type: ignore[union-attr]


def test_dry_run_previews_and_writes_nothing(firm: Firm) -> None:
    f, a = firm, firm.a
    add_grant(f.db, a.partner_id, a.staff_id, a.client_ids[0], access_level="read")
    items = [
        {"user_id": a.staff_id, "client_id": c, "access_level": "read"} for c in a.client_ids[:3]
    ]
    before = grants_of(f.db, a.partner_id)
    r = bulk(f, items, k=None, dry_run=True)  # a dry run needs no Idempotency-Key
    assert r.status_code == 200, r.text
    body = BulkGrantsResult.model_validate(r.json())
    assert (body.applied, body.dry_run) == (False, True)
    assert [x.status for x in body.results] == ["unchanged", "created", "created"]
    assert body.results[1].after is not None and body.results[1].after.id is None
    assert grants_of(f.db, a.partner_id) == before
    assert audit_count(f.db, a.partner_id) == 0


def test_idempotent_retry_changes_once_and_replays(firm: Firm) -> None:
    f, a = firm, firm.a
    items = [{"user_id": a.staff_id, "client_id": c, "access_level": "full"} for c in a.client_ids]
    k = key()
    first = bulk(f, items, k=k)
    assert first.status_code == 200 and "idempotent-replayed" not in first.headers
    events = audit_count(f.db, a.partner_id)
    second = bulk(f, items, k=k)
    assert second.status_code == 200
    assert second.headers["idempotent-replayed"] == "true"
    assert second.content == first.content
    assert audit_count(f.db, a.partner_id) == events == len(a.client_ids)
    assert len(grants_of(f.db, a.partner_id)) == len(a.client_ids)

    other = bulk(f, items[:1], k=k)
    assert other.status_code == 422 and other.json()["type"].endswith("idempotency-key-reused")
    missing = bulk(f, items, k=None)
    assert missing.status_code == 400
    assert missing.json()["type"].endswith("idempotency-key-required")
    # Keys are per user: another admin may use the same key for their own request.
    r = f.api.post(
        "/v1/access-grants:bulk",
        json={"items": [{"op": "revoke", "user_id": a.staff_id, "client_id": a.client_ids[0]}]},
        headers=hdr(f.a_admin2_token, k),
    )
    assert r.status_code == 200 and r.json()["summary"]["deleted"] == 1


def test_same_key_sent_concurrently_applies_once(firm: Firm) -> None:
    from concurrent.futures import ThreadPoolExecutor

    f, a = firm, firm.a
    items = [{"user_id": a.staff_id, "client_id": c, "access_level": "full"} for c in a.client_ids]
    k = key()
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: bulk(f, items, k=k), range(4)))
    assert [r.status_code for r in answers] == [200] * 4
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in answers) == 3
    assert len({r.content for r in answers}) == 1
    assert audit_count(f.db, a.partner_id) == len(a.client_ids)


def test_more_than_1000_items_is_413(firm: Firm) -> None:
    f, a = firm, firm.a
    items = [{"user_id": a.staff_id, "client_id": i, "access_level": "read"} for i in range(1001)]
    r = bulk(f, items)
    assert r.status_code == 413 and r.json()["type"].endswith("too-many-items")


def test_duplicate_and_unknown_items_fail_alone(firm: Firm) -> None:
    f, a = firm, firm.a
    c0 = a.client_ids[0]
    items: list[dict[str, Any]] = [
        {"user_id": a.staff_id, "client_id": c0, "access_level": "read"},
        {"user_id": a.staff_id, "client_id": c0, "access_level": "full"},
        {"user_id": a.staff_id, "client_id": 999_999, "access_level": "read"},
        {"user_id": 999_999, "client_id": c0, "access_level": "read"},
        {"user_id": a.staff_id, "client_id": a.client_ids[1], "template_id": 999_999},
    ]
    body = bulk(f, items).json()
    assert [x["status"] for x in body["results"]] == ["created"] + ["failed"] * 4
    slugs = [x["problem"]["type"].rsplit("/", 1)[-1] for x in body["results"][1:]]
    assert slugs == ["duplicate-item", "not-found", "not-found", "not-found"]


# ---- concurrent edits ----------------------------------------------------------------------


def test_two_admins_editing_one_grant_get_412(firm: Firm) -> None:
    f, a = firm, firm.a
    url = f"/v1/access-grants/{a.staff_id}/{a.client_ids[0]}"
    f.api.put(url, json={"access_level": "read"}, headers=hdr(a.token))
    seen = f.api.get(url, headers=hdr(a.token))
    etag, version = seen.headers["etag"], seen.json()["version"]

    # The second admin saves first, from the same version.
    r = f.api.put(
        url,
        json={"access_level": "payroll", "expected_version": version},
        headers=hdr(f.a_admin2_token),
    )
    assert r.status_code == 200 and r.json()["status"] == "updated"
    new_version = r.json()["after"]["version"]

    # The first admin's save, from the version they saw, is refused with the current version.
    r = f.api.put(url, json={"access_level": "full"}, headers=hdr(a.token, **{"If-Match": etag}))
    assert r.status_code == 412, r.text
    assert r.json()["type"].endswith("version-conflict")
    assert r.json()["current_version"] == new_version
    r = f.api.delete(url, params={"expected_version": version}, headers=hdr(a.token))
    assert r.status_code == 412 and r.json()["current_version"] == new_version
    r = f.api.put(url, json={"access_level": "full"}, headers=hdr(a.token, **{"If-Match": "W/x"}))
    assert r.status_code == 412
    # In a bulk request the conflict is one failed item; expected_version 0 means "absent".
    body = bulk(
        f,
        [
            {
                "user_id": a.staff_id,
                "client_id": a.client_ids[0],
                "access_level": "full",
                "expected_version": version,
            },
            {
                "user_id": a.staff_id,
                "client_id": a.client_ids[1],
                "access_level": "full",
                "expected_version": 0,
            },
        ],
    ).json()
    assert [x["status"] for x in body["results"]] == ["failed", "created"]
    assert body["results"][0]["problem"]["status"] == 412
    assert body["results"][0]["problem"]["current_version"] == new_version
    # Only the second admin's edit landed.
    levels = {(g[1], g[2]) for g in grants_of(f.db, a.partner_id)}
    assert levels == {(a.client_ids[0], "payroll"), (a.client_ids[1], "full")}


# ---- undo ----------------------------------------------------------------------------------


def test_inverse_of_a_bulk_restores_the_exact_previous_rows(firm: Firm) -> None:
    f, a = firm, firm.a
    c0, c1, c2, c3 = a.client_ids
    later = TODAY + timedelta(days=60)
    add_grant(
        f.db,
        a.partner_id,
        a.staff_id,
        c0,
        access_level="full",
        role="ansvarlig",
        role_source="manual",
        valid_until=later,
    )
    add_grant(f.db, a.partner_id, a.staff_id, c1, access_level="read")
    add_grant(
        f.db,
        a.partner_id,
        f.a_user3,
        c3,
        access_level="payroll",
        role="ansvarlig",
        role_source="manual",
    )
    original = grants_of(f.db, a.partner_id)

    items = [
        {"op": "revoke", "user_id": a.staff_id, "client_id": c0},
        {
            "user_id": a.staff_id,
            "client_id": c1,
            "access_level": "payroll",
            "valid_until": (TODAY + timedelta(days=5)).isoformat(),
            "role": "ansvarlig",
        },
        {"user_id": a.staff_id, "client_id": c2, "access_level": "full"},
        {"user_id": f.a_user3, "client_id": c3, "role_source": "auto", "valid_until": None},
        {"user_id": f.a_user3, "client_id": c0, "access_level": "read"},
        {"op": "revoke", "user_id": f.a_user3, "client_id": c2},  # unchanged: nothing to undo
    ]
    done = BulkGrantsResult.model_validate(bulk(f, items).json())
    assert [x.status for x in done.results] == [
        "deleted",
        "updated",
        "created",
        "updated",
        "created",
        "unchanged",
    ]
    assert grants_of(f.db, a.partner_id) != original

    inverse = done.inverse_items()
    assert len(inverse) == 5
    payload = [op.model_dump(mode="json", exclude_unset=True) for op in inverse]
    undone = bulk(f, payload, mode="atomic").json()
    assert undone["applied"], undone
    assert grants_of(f.db, a.partner_id) == original

    # Undoing again is refused item by item: the rows moved on since that bulk.
    again = bulk(f, payload, mode="atomic").json()
    assert again["applied"] is False
    assert {x["problem"]["status"] for x in again["results"] if x["problem"]} == {412}
    assert grants_of(f.db, a.partner_id) == original


def test_inverse_of_single_results() -> None:
    created = GrantItemResult.model_validate(
        {
            "index": 0,
            "status": "created",
            "user_id": 1,
            "client_id": 2,
            "before": None,
            "after": {
                "id": 9,
                "version": 7,
                "user_id": 1,
                "client_id": 2,
                "access_level": "read",
                "role": "medarbeider",
                "role_source": "auto",
                "valid_until": None,
            },
        }
    )
    assert created.inverse() == GrantOp(op="revoke", user_id=1, client_id=2, expected_version=7)
    failed = GrantItemResult(index=0, status="failed", user_id=1, client_id=2)
    assert failed.inverse() is None


# ---- copy access ---------------------------------------------------------------------------


def test_copy_access_all_or_selected_clients(firm: Firm) -> None:
    f, a = firm, firm.a
    c0, c1, c2, _ = a.client_ids
    later = TODAY + timedelta(days=10)
    add_grant(f.db, a.partner_id, a.staff_id, c0, access_level="full", valid_until=later)
    add_grant(f.db, a.partner_id, a.staff_id, c1, access_level="read")
    add_grant(f.db, a.partner_id, f.a_user3, c1, access_level="payroll")

    preview = f.api.post(
        "/v1/access-grants:copy",
        json={"from_user_id": a.staff_id, "to_user_id": f.a_user3, "dry_run": True},
        headers=hdr(a.token),
    ).json()
    assert [x["status"] for x in preview["results"]] == ["created", "unchanged"]
    assert preview["applied"] is False

    r = f.api.post(
        "/v1/access-grants:copy",
        json={"from_user_id": a.staff_id, "to_user_id": f.a_user3},
        headers=hdr(a.token, key()),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert [(x["client_id"], x["status"]) for x in body["results"]] == [
        (c0, "created"),
        (c1, "unchanged"),  # payroll is above the source's read: never lowered
    ]
    assert (f.a_user3, c0, "full", "medarbeider", "auto", later) in grants_of(f.db, a.partner_id)

    r = f.api.post(
        "/v1/access-grants:copy",
        json={
            "from_user_id": a.staff_id,
            "to_user_id": f.a_admin2,
            "client_ids": [c1, c2, f.b.client_ids[0]],
        },
        headers=hdr(a.token, key()),
    ).json()
    assert [x["status"] for x in r["results"]] == ["created", "failed", "failed"]
    assert r["results"][1]["problem"]["type"].endswith("no-source-grant")
    missing = f.api.post(
        "/v1/access-grants:copy",
        json={"from_user_id": a.staff_id, "to_user_id": f.a_user3},
        headers=hdr(a.token),
    )
    assert missing.status_code == 400


# ---- offboarding ---------------------------------------------------------------------------


def test_offboarding_needs_a_handover_then_ends_all_access(firm: Firm) -> None:
    f, a = firm, firm.a
    c0, c1, c2, c3 = a.client_ids
    add_grant(
        f.db,
        a.partner_id,
        a.staff_id,
        c0,
        access_level="payroll",
        role="ansvarlig",
        role_source="manual",
    )
    add_grant(f.db, a.partner_id, a.staff_id, c1, access_level="full", role="ansvarlig")
    add_grant(f.db, a.partner_id, a.staff_id, c2, access_level="read")
    add_grant(f.db, a.partner_id, a.staff_id, c3, access_level="read", role="ansvarlig")
    archive(f.db, c3)  # archived: no ansvarlig needed there
    add_grant(f.db, a.partner_id, f.a_user3, c1, access_level="read")
    url = f"/v1/users/{a.staff_id}:offboard"

    r = f.api.post(url, json={}, headers=hdr(a.token, key()))
    assert r.status_code == 409, r.text
    assert r.json()["type"].endswith("handover-required")
    assert [c["client_id"] for c in r.json()["clients"]] == [c0, c1]
    assert len(grants_of(f.db, a.partner_id)) == 5

    plan = f.api.post(url, json={"dry_run": True}, headers=hdr(a.token)).json()
    assert plan["applied"] is False
    assert [c["client_id"] for c in plan["handover_required"]] == [c0, c1]
    assert plan["summary"]["deleted"] == 4

    handover = {"default_user_id": f.a_user3, "per_client": {str(c0): f.a_admin2}}
    plan = f.api.post(
        url, json={"dry_run": True, "handover": handover}, headers=hdr(a.token)
    ).json()
    assert plan["handover_required"] == []
    assert {(h["client_id"], h["to_user_id"]) for h in plan["handovers"]} == {
        (c0, f.a_admin2),
        (c1, f.a_user3),
    }

    r = f.api.post(
        url, json={"handover": handover, "deactivate": True}, headers=hdr(a.token, key())
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["applied"] and body["deactivated"]
    assert body["summary"] == {
        "created": 1,
        "updated": 1,
        "unchanged": 0,
        "deleted": 4,
        "failed": 0,
    }
    assert grants_of(f.db, a.partner_id) == {
        # c0: the new ansvarlig had no access and gets the departing user's level.
        (f.a_admin2, c0, "payroll", "ansvarlig", "manual", None),
        # c1: the new ansvarlig's read is raised to the departing user's full.
        (f.a_user3, c1, "full", "ansvarlig", "manual", None),
    }
    # Deactivated: the user's token no longer works.
    assert f.api.get("/v1/me", headers=hdr(a.staff_token)).status_code == 401
    actions = {
        e["action"]
        for e in f.api.get("/v1/audit", params={"user": a.staff_id}, headers=hdr(a.token)).json()[
            "events"
        ]
    }
    assert {"access_grant.deleted", "user.offboarded", "user.deactivated"} <= actions


def test_offboarding_handover_must_be_a_colleague(firm: Firm) -> None:
    f, a = firm, firm.a
    add_grant(f.db, a.partner_id, a.staff_id, a.client_ids[0], role="ansvarlig")
    url = f"/v1/users/{a.staff_id}:offboard"
    for target, status in ((a.staff_id, 422), (f.b.admin_id, 404), (999_999, 404)):
        r = f.api.post(
            url, json={"handover": {"default_user_id": target}}, headers=hdr(a.token, key())
        )
        assert r.status_code == status, (target, r.text)
    assert len(grants_of(f.db, a.partner_id)) == 1


# ---- roles ---------------------------------------------------------------------------------


def test_role_override_sticks_until_cleared(firm: Firm) -> None:
    f, a = firm, firm.a
    c0 = a.client_ids[0]
    with f.db.transaction() as s:
        s.add(
            PayrollRun(
                partner_id=a.partner_id,
                client_id=c0,
                external_ref="r1",
                period="2026-10",
                pay_date=date(2026, 10, 20),
                run_by_user_id=a.staff_id,
            )
        )
    body = bulk(
        f,
        [{"user_id": u, "client_id": c0, "access_level": "full"} for u in (a.staff_id, f.a_user3)],
    ).json()
    assert [x["after"]["role"] for x in body["results"]] == ["ansvarlig", "medarbeider"]

    url = f"/v1/access-grants/{f.a_user3}/{c0}"
    r = f.api.put(url, json={"role": "ansvarlig"}, headers=hdr(a.token)).json()
    assert (r["after"]["role"], r["after"]["role_source"]) == ("ansvarlig", "manual")
    # A later level change does not touch the role set by hand.
    r = f.api.put(url, json={"access_level": "read"}, headers=hdr(a.token)).json()
    assert (r["after"]["role"], r["after"]["role_source"]) == ("ansvarlig", "manual")

    r = f.api.delete(url + "/role-override", headers=hdr(a.token))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "updated"
    assert (r.json()["after"]["role"], r.json()["after"]["role_source"]) == (
        "medarbeider",
        "auto",
    )
    r = f.api.delete(
        f"/v1/access-grants/{f.a_user3}/{a.client_ids[1]}/role-override", headers=hdr(a.token)
    )
    assert r.status_code == 404


# ---- expiry --------------------------------------------------------------------------------


def test_expired_grants_end_and_reach_clients_through_sync(firm: Firm) -> None:
    f, a = firm, firm.a
    add_grant(f.db, a.partner_id, a.staff_id, a.client_ids[0], valid_until=TODAY)
    add_grant(f.db, a.partner_id, f.a_user3, a.client_ids[0])
    page = f.api.get("/v1/sync/changes", headers=hdr(a.token)).json()
    cursor = page["next_cursor"]
    with f.db.transaction() as s:  # time passes: the grant's last day was yesterday
        grant = s.execute(
            select(AccessGrant).where(col(AccessGrant.user_id) == a.staff_id)
        ).scalar_one()
        grant.valid_until = TODAY - timedelta(days=1)
        grant_id = grant.id
    page = f.api.get("/v1/sync/changes", params={"cursor": cursor}, headers=hdr(a.token)).json()
    by_kind = {(c["kind"], c["op"]) for c in page["changes"]}
    # The edit above, then its expiry on this call: one delete plus its audit event.
    assert ("access_grant", "delete") in by_kind
    deletes = [c for c in page["changes"] if c["op"] == "delete"]
    assert [(c["kind"], c["id"]) for c in deletes] == [("access_grant", grant_id)]
    audit_rows = [
        AuditEventRow.model_validate(c["data"])
        for c in page["changes"]
        if c["kind"] == "audit_event"
    ]
    assert [(e.action, e.user_id, e.entity_id) for e in audit_rows] == [
        ("access_grant.expired", None, grant_id)
    ]
    assert audit_rows[0].before is not None and audit_rows[0].before["user_id"] == a.staff_id
    assert {g[0] for g in grants_of(f.db, a.partner_id)} == {f.a_user3}


def test_expire_grants_function_and_command(firm: Firm) -> None:
    from partner_api.cli import main as api_cli

    f, a = firm, firm.a
    soon = TODAY + timedelta(days=3)
    add_grant(f.db, a.partner_id, a.staff_id, a.client_ids[0], valid_until=soon)
    add_grant(f.db, f.b.partner_id, f.b.staff_id, f.b.client_ids[0], valid_until=soon)
    with f.db.transaction() as s:
        assert access.expire_grants(s, soon) == 0  # the last day still counts
    with f.db.transaction() as s:
        assert access.expire_grants(s, soon + timedelta(days=1), partner_id=a.partner_id) == 1
    assert grants_of(f.db, a.partner_id) == set()
    assert len(grants_of(f.db, f.b.partner_id)) == 1
    assert (
        api_cli(
            ["expire-grants", "--db", f.db.url, "--today", (soon + timedelta(days=1)).isoformat()]
        )
        == 0
    )
    assert grants_of(f.db, f.b.partner_id) == set()


def test_expiry_runs_before_a_write(firm: Firm) -> None:
    f, a = firm, firm.a
    add_grant(
        f.db,
        a.partner_id,
        a.staff_id,
        a.client_ids[0],
        access_level="read",
        valid_until=TODAY - timedelta(days=1),
    )
    # The grant ended yesterday, so ensuring it now creates a new one.
    r = f.api.put(
        f"/v1/access-grants/{a.staff_id}/{a.client_ids[0]}",
        json={"access_level": "read"},
        headers=hdr(a.token),
    )
    assert r.status_code == 201 and r.json()["before"] is None


# ---- templates -----------------------------------------------------------------------------


def test_templates_are_editable_and_usable(firm: Firm) -> None:
    f, a = firm, firm.a
    listed = f.api.get("/v1/access-templates", headers=hdr(a.token)).json()
    assert [(t["name"], t["access_level"]) for t in listed] == [
        ("Regnskapsfører – full", "full"),
        ("Lønnsmedarbeider", "payroll"),
        ("Revisor – kun lesing", "read"),
    ]
    r = f.api.post(
        "/v1/access-templates",
        json={"name": "Lønnsansvarlig", "access_level": "payroll", "role": "ansvarlig"},
        headers=hdr(a.token),
    )
    assert r.status_code == 201, r.text
    tpl = r.json()
    dup = f.api.post(
        "/v1/access-templates",
        json={"name": "Lønnsansvarlig", "access_level": "read"},
        headers=hdr(a.token),
    )
    assert dup.status_code == 409

    body = bulk(
        f,
        [
            {"user_id": a.staff_id, "client_id": a.client_ids[0], "template_id": tpl["id"]},
            {"user_id": a.staff_id, "client_id": a.client_ids[1], "template_id": listed[2]["id"]},
        ],
    ).json()
    afters = [
        (x["after"]["access_level"], x["after"]["role"], x["after"]["role_source"])
        for x in body["results"]
    ]
    assert afters == [("payroll", "ansvarlig", "manual"), ("read", "medarbeider", "auto")]

    url = f"/v1/access-templates/{tpl['id']}"
    edit = {"name": "Lønnsansvarlig", "access_level": "full", "role": None}
    stale = f.api.put(url, json=edit, headers=hdr(a.token, **{"If-Match": '"v1"'}))
    assert stale.status_code == 412 and stale.json()["current_version"] == tpl["version"]
    ok = f.api.put(url, json=edit, headers=hdr(a.token, **{"If-Match": f'"v{tpl["version"]}"'}))
    assert ok.status_code == 200 and ok.json()["access_level"] == "full"
    # Grants made from the template earlier keep their values.
    assert (a.staff_id, a.client_ids[0], "payroll", "ansvarlig", "manual", None) in grants_of(
        f.db, a.partner_id
    )
    assert f.api.delete(url, headers=hdr(a.token)).status_code == 204
    assert f.api.delete(url, headers=hdr(a.token)).status_code == 404
    actions = [
        e["action"]
        for e in f.api.get("/v1/audit", headers=hdr(a.token)).json()["events"]
        if e["entity_kind"] == "access_template"
    ]
    assert actions == [
        "access_template.deleted",
        "access_template.updated",
        "access_template.created",
    ]


# ---- Altinn tag ----------------------------------------------------------------------------


def test_altinn_tag_in_bulk(firm: Firm) -> None:
    f, a = firm, firm.a
    archive(f.db, a.client_ids[3])
    url = "/v1/clients:altinn-tag"
    body = {"client_ids": a.client_ids, "value": True}
    assert f.api.post(url, json=body, headers=hdr(a.token)).status_code == 400
    atomic = f.api.post(url, json={**body, "mode": "atomic"}, headers=hdr(a.token, key())).json()
    assert atomic["applied"] is False
    preview = f.api.post(url, json={**body, "dry_run": True}, headers=hdr(a.token)).json()
    assert preview["summary"]["updated"] == 3 and preview["summary"]["failed"] == 1

    k = key()
    r = f.api.post(url, json=body, headers=hdr(a.token, k))
    assert r.status_code == 200, r.text
    result = r.json()
    assert [x["status"] for x in result["results"]] == ["updated"] * 3 + ["failed"]
    assert result["results"][0]["before"]["uses_partner_altinn"] is False
    assert result["results"][0]["after"] == {
        "uses_partner_altinn": True,
        "version": result["version"],
    }
    replay = f.api.post(url, json=body, headers=hdr(a.token, k))
    assert replay.headers["idempotent-replayed"] == "true" and replay.content == r.content
    again = f.api.post(url, json=body, headers=hdr(a.token, key())).json()
    assert again["summary"]["unchanged"] == 3 and again["version"] is None
    tagged = {
        c["id"]: c["uses_partner_altinn"]
        for c in f.api.get("/v1/clients", headers=hdr(a.token)).json()
    }
    assert tagged == {**dict.fromkeys(a.client_ids[:3], True), a.client_ids[3]: False}
    events = f.api.get(
        "/v1/audit", params={"client": a.client_ids[0]}, headers=hdr(a.token)
    ).json()["events"]
    assert [e["action"] for e in events] == ["client.altinn_tag"]


# ---- audit log -----------------------------------------------------------------------------


def test_audit_filters_and_pages(firm: Firm) -> None:
    f, a = firm, firm.a
    bulk(f, [{"user_id": a.staff_id, "client_id": c, "access_level": "read"} for c in a.client_ids])
    f.api.post(
        "/v1/access-grants:bulk",
        json={
            "items": [{"user_id": f.a_user3, "client_id": a.client_ids[0], "access_level": "read"}]
        },
        headers=hdr(f.a_admin2_token, key()),
    )
    everything = f.api.get("/v1/audit", headers=hdr(a.token)).json()["events"]
    assert len(everything) == 5
    ids = [e["id"] for e in everything]
    assert ids == sorted(ids, reverse=True)
    by_actor = f.api.get("/v1/audit", params={"actor": f.a_admin2}, headers=hdr(a.token)).json()
    assert [e["subject_user_id"] for e in by_actor["events"]] == [f.a_user3]
    by_client = f.api.get(
        "/v1/audit", params={"client": a.client_ids[0]}, headers=hdr(a.token)
    ).json()
    assert {e["subject_user_id"] for e in by_client["events"]} == {a.staff_id, f.a_user3}
    naive = (TODAY - timedelta(days=2)).isoformat() + "T00:00:00"
    assert (
        len(f.api.get("/v1/audit", params={"since": naive}, headers=hdr(a.token)).json()["events"])
        == 5
    )
    future = (TODAY + timedelta(days=2)).isoformat() + "T00:00:00Z"
    assert (
        f.api.get("/v1/audit", params={"since": future}, headers=hdr(a.token)).json()["events"]
        == []
    )

    seen, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = f.api.get("/v1/audit", params=params, headers=hdr(a.token)).json()
        seen += [e["id"] for e in page["events"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids
    # The other firm sees none of it.
    assert f.api.get("/v1/audit", headers=hdr(f.b.token)).json()["events"] == []


def test_new_sync_kinds_reach_the_feed(firm: Firm) -> None:
    f, a = firm, firm.a
    bulk(f, [{"user_id": a.staff_id, "client_id": a.client_ids[0], "access_level": "read"}])
    changes = f.api.get("/v1/sync/changes", headers=hdr(a.token)).json()["changes"]
    kinds = {c["kind"] for c in changes}
    assert {"access_template", "audit_event", "access_grant"} <= kinds
    templates = [c["data"]["name"] for c in changes if c["kind"] == "access_template"]
    assert len(templates) == 3
    b_changes = f.api.get("/v1/sync/changes", headers=hdr(f.b.token)).json()["changes"]
    assert not [c for c in b_changes if c["kind"] == "audit_event"]

    # Bulk writes (one statement per kind of change) keep the feed's rules: one version for
    # the whole request, a tombstone for each revoked grant.
    cursor = f.api.get("/v1/sync/changes", headers=hdr(a.token)).json()["next_cursor"]
    grant_id = next(c["id"] for c in changes if c["kind"] == "access_grant")
    done = bulk(
        f,
        [
            {"op": "revoke", "user_id": a.staff_id, "client_id": a.client_ids[0]},
            {"user_id": a.staff_id, "client_id": a.client_ids[1], "access_level": "full"},
        ],
    ).json()
    page = f.api.get("/v1/sync/changes", params={"cursor": cursor}, headers=hdr(a.token)).json()
    assert {c["version"] for c in page["changes"]} == {done["version"]}
    assert sorted((c["kind"], c["op"]) for c in page["changes"]) == [
        ("access_grant", "delete"),
        ("access_grant", "upsert"),
        ("audit_event", "upsert"),
        ("audit_event", "upsert"),
    ]
    assert next(c["id"] for c in page["changes"] if c["op"] == "delete") == grant_id


# ---- who may do what ---------------------------------------------------------------------------


def test_no_one_grants_above_their_own_level(firm: Firm) -> None:
    """A non-partneradmin actor's own level is their grant on the client (partneradmins: full)."""
    f, a = firm, firm.a
    c0, c1 = a.client_ids[:2]
    add_grant(f.db, a.partner_id, f.a_user3, c0, access_level="payroll")
    add_grant(f.db, a.partner_id, a.admin_id, c0, access_level="full")
    actor = access.Actor(partner_id=a.partner_id, user_id=f.a_user3, is_partneradmin=False)
    with f.db.transaction() as s:
        result = access.GrantPlanner(s, actor).run(
            [
                GrantOp(user_id=a.staff_id, client_id=c0, access_level="full"),
                GrantOp(user_id=a.staff_id, client_id=c1, access_level="read"),
                GrantOp(op="revoke", user_id=a.admin_id, client_id=c0),
                GrantOp(user_id=f.a_admin2, client_id=c0, access_level="payroll"),
            ],
            "partial",
            dry_run=False,
        )
    statuses = [
        (x.status, x.problem.type.rsplit("/", 1)[-1] if x.problem else None) for x in result.results
    ]
    assert statuses == [
        ("failed", "level-above-own"),
        ("failed", "level-above-own"),  # no own access on c1 at all
        ("failed", "level-above-own"),  # cannot end a grant above one's own level either
        ("created", None),
    ]
    # The partneradmin (full) can.
    r = f.api.put(
        f"/v1/access-grants/{a.staff_id}/{c0}", json={"access_level": "full"}, headers=hdr(a.token)
    )
    assert r.status_code == 201


def test_ordinary_users_cannot_change_access(firm: Firm) -> None:
    f, a = firm, firm.a
    r = f.api.put(
        f"/v1/access-grants/{a.staff_id}/{a.client_ids[0]}",
        json={"access_level": "read"},
        headers=hdr(a.staff_token),
    )
    assert r.status_code == 403


def test_creating_a_client_is_audited(firm: Firm) -> None:
    f, a = firm, firm.a
    r = f.api.post(
        "/v1/clients", json={"orgnr": "974760673", "name": "Ny Klient AS"}, headers=hdr(f.b.token)
    )
    assert r.status_code == 201, r.text
    events = f.api.get("/v1/audit", headers=hdr(f.b.token)).json()["events"]
    assert [(e["action"], e["client_id"], e["after"]["name"]) for e in events] == [
        ("client.created", r.json()["id"], "Ny Klient AS")
    ]
    assert f.api.get("/v1/audit", headers=hdr(a.token)).json()["events"] == []


def test_undo_of_an_offboard_restores_access_to_a_client_archived_since(firm: Firm) -> None:
    f = firm
    staff, (c1, c2, *_rest) = f.a.staff_id, f.a.client_ids
    add_grant(f.db, f.a.partner_id, staff, c1, access_level="payroll")
    add_grant(f.db, f.a.partner_id, staff, c2, access_level="read")
    archive(f.db, c2)
    before = grants_of(f.db, f.a.partner_id)
    answer = f.api.post(f"/v1/users/{staff}:offboard", json={}, headers=hdr(f.a.token, key()))
    assert answer.status_code == 200, answer.text
    from partner_api.wire import OffboardResult

    done = OffboardResult.model_validate_json(answer.content)
    assert {r.client_id for r in done.results if r.status == "deleted"} == {c1, c2}
    undo = [op for r in done.results if (op := r.inverse()) is not None]
    assert all(op.restore for op in undo)
    body = {
        "mode": "atomic",
        "items": [op.model_dump(mode="json", exclude_unset=True) for op in undo],
    }
    restored = bulk(f, body["items"], mode="atomic")
    assert restored.status_code == 200, restored.text
    assert restored.json()["applied"] is True
    assert grants_of(f.db, f.a.partner_id) == before  # the archived client's grant too
    # ... but a new grant on the archived client is still refused, and a restore must be
    # guarded by the version the undo saw
    refused = bulk(f, [{"user_id": f.a_user3, "client_id": c2, "access_level": "read"}])
    assert refused.json()["results"][0]["problem"]["type"].endswith("client-archived")
    unguarded = bulk(
        f, [{"user_id": f.a_user3, "client_id": c2, "access_level": "read", "restore": True}]
    )
    assert unguarded.status_code == 422


def test_a_new_ansvarlig_with_a_higher_level_keeps_it(firm: Firm) -> None:
    f, a = firm, firm.a
    c0 = a.client_ids[0]
    add_grant(f.db, a.partner_id, a.staff_id, c0, access_level="read", role="ansvarlig")
    add_grant(f.db, a.partner_id, f.a_user3, c0, access_level="full")
    r = f.api.post(
        f"/v1/users/{a.staff_id}:offboard",
        json={"handover": {"default_user_id": f.a_user3}},
        headers=hdr(a.token, key()),
    )
    assert r.status_code == 200, r.text
    assert grants_of(f.db, a.partner_id) == {(f.a_user3, c0, "full", "ansvarlig", "manual", None)}
