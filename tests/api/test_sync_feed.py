"""The change feed: ordering, paging, collapsing, tombstones and the four 410 cases."""

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from partner_api.app import create_app
from partner_api.db import Database
from partner_api.models import AccessGrant, Client, SyncState, Tombstone, utcnow
from partner_api.services import sync_feed
from tests.conftest import ORGNRS, make_tenant


@pytest.fixture
def firm(db: Database):  # type: ignore[no-untyped-def]
    tenant = make_tenant(db, "Alfa", ORGNRS[:4])
    api = TestClient(create_app(db))
    api.headers["Authorization"] = f"Bearer {tenant.token}"
    return api, tenant, db


def pull_all(api: TestClient, cursor: str | None = None, limit: int = 1000):  # type: ignore[no-untyped-def]
    changes, pages = [], 0
    while True:
        params = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        r = api.get("/v1/sync/changes", params=params)
        assert r.status_code == 200, r.text
        page = r.json()
        changes += page["changes"]
        cursor = page["next_cursor"]
        pages += 1
        if not page["has_more"]:
            return changes, cursor, pages


def test_full_feed_is_ordered_and_pages_lose_nothing(firm) -> None:  # type: ignore[no-untyped-def]
    api, tenant, _ = firm
    whole, _, _ = pull_all(api, limit=1000)
    paged, _, pages = pull_all(api, limit=2)
    assert pages > 3
    key = [(c["version"], c["kind"], c["id"]) for c in paged]
    assert key == sorted(key)
    assert [(c["kind"], c["id"]) for c in paged] == [(c["kind"], c["id"]) for c in whole]
    assert {c["id"] for c in whole if c["kind"] == "client"} == set(tenant.client_ids)


def test_incremental_feed_collapses_to_latest_state(firm) -> None:  # type: ignore[no-untyped-def]
    api, tenant, db = firm
    _, cursor, _ = pull_all(api)
    for name in ("Første navn", "Andre navn", "Siste navn"):
        with db.transaction() as s:
            s.get(Client, tenant.client_ids[0]).name = name  # type: ignore[union-attr]
    changes, cursor2, _ = pull_all(api, cursor)
    assert [(c["kind"], c["id"], c["data"]["name"]) for c in changes] == [
        ("client", tenant.client_ids[0], "Siste navn")
    ]
    again, _, _ = pull_all(api, cursor2)
    assert again == []


def test_delete_leaves_a_tombstone_in_the_feed(firm) -> None:  # type: ignore[no-untyped-def]
    api, tenant, db = firm
    with db.transaction() as s:
        grant = AccessGrant(
            partner_id=tenant.partner_id, user_id=tenant.staff_id, client_id=tenant.client_ids[1]
        )
        s.add(grant)
    _, cursor, _ = pull_all(api)
    with db.transaction() as s:
        s.delete(s.get(AccessGrant, grant.id))
    changes, _, _ = pull_all(api, cursor)
    assert [(c["kind"], c["id"], c["op"]) for c in changes] == [
        ("access_grant", grant.id, "delete")
    ]


def test_one_transaction_has_one_version(firm) -> None:  # type: ignore[no-untyped-def]
    api, tenant, db = firm
    _, cursor, _ = pull_all(api)
    with db.transaction() as s:
        for cid in tenant.client_ids:
            s.get(Client, cid).payout_day = 25  # type: ignore[union-attr]
    changes, _, _ = pull_all(api, cursor)
    assert len(changes) == len(tenant.client_ids)
    assert len({c["version"] for c in changes}) == 1


def test_epoch_change_answers_410(firm) -> None:  # type: ignore[no-untyped-def]
    api, _, db = firm
    _, cursor, _ = pull_all(api)
    with db.transaction() as s:
        s.get(SyncState, 1).epoch = "restored-from-backup"  # type: ignore[union-attr]
    r = api.get("/v1/sync/changes", params={"cursor": cursor})
    assert r.status_code == 410
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"].endswith("sync-epoch-changed")


def test_pruned_tombstones_expire_old_cursors(firm) -> None:  # type: ignore[no-untyped-def]
    api, tenant, db = firm
    _, old_cursor, _ = pull_all(api)
    with db.transaction() as s:
        s.delete(s.get(Client, tenant.client_ids[3]))
    with db.transaction() as s:
        tomb = s.execute(select(Tombstone)).scalars().one()
        tomb.deleted_at = utcnow() - timedelta(days=46)
    with db.transaction() as s:
        assert sync_feed.prune_tombstones(s) == 1
    r = api.get("/v1/sync/changes", params={"cursor": old_cursor})
    assert r.status_code == 410
    assert r.json()["type"].endswith("sync-cursor-expired")
    # A full resync still works, and no longer shows the deleted client.
    changes, _, _ = pull_all(api)
    assert tenant.client_ids[3] not in {c["id"] for c in changes if c["kind"] == "client"}


@pytest.mark.parametrize("tamper", ["flip-signature", "garbage", "schema"])
def test_tampered_or_foreign_cursors_are_410(firm, tamper, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    api, _, _ = firm
    _, cursor, _ = pull_all(api)
    if tamper == "flip-signature":
        cursor = cursor[:-1] + ("0" if cursor[-1] != "0" else "1")
    elif tamper == "garbage":
        cursor = "not-a-cursor"
    else:
        monkeypatch.setattr(sync_feed, "SCHEMA_REVISION", sync_feed.SCHEMA_REVISION + 1)
    r = api.get("/v1/sync/changes", params={"cursor": cursor})
    assert r.status_code == 410
    expected = "sync-schema-changed" if tamper == "schema" else "sync-epoch-changed"
    assert r.json()["type"].endswith(expected)
