"""The change feed: ordering, paging, collapsing, tombstones and the four 410 cases."""

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from partner_api.app import create_app
from partner_api.db import Database
from partner_api.models import (
    SYNC_KINDS,
    AccessGrant,
    Client,
    ClientGroup,
    ClientGroupMember,
    Partner,
    SyncState,
    Tombstone,
    User,
    utcnow,
)
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


def _feed_from_tables(db: Database, partner_id: int, after_version: int) -> list[tuple]:  # type: ignore[type-arg]
    """What the feed must deliver, read straight from the tables (not through the feed)."""
    expected = []
    with db.reading() as s:
        for kind, table in SYNC_KINDS.items():
            t = table.__table__  # type: ignore[attr-defined]
            scope = t.c.id == partner_id if table is Partner else t.c.partner_id == partner_id
            rows = s.execute(select(t.c.version, t.c.id).where(scope, t.c.version > after_version))
            expected += [(v, kind, i, "upsert") for v, i in rows]
        tombs = s.execute(
            select(Tombstone.version, Tombstone.kind, Tombstone.entity_id).where(
                Tombstone.partner_id == partner_id, Tombstone.version > after_version
            )
        )
        expected += [(v, k, i, "delete") for v, k, i in tombs]
    return sorted(expected, key=lambda c: (c[0], c[1], c[2], c[3] == "upsert"))


@pytest.mark.parametrize("limit", [1, 2, 3, 7])
def test_tiny_pages_through_one_version_across_kinds(firm, limit) -> None:  # type: ignore[no-untyped-def]
    """Cursors that stop inside one version, in the middle of a kind or at its last row, must
    resume exactly after it: same-version rows of later kinds and tombstones included."""
    api, tenant, db = firm
    with db.transaction() as s:
        grants = [
            AccessGrant(partner_id=tenant.partner_id, user_id=tenant.staff_id, client_id=cid)
            for cid in tenant.client_ids[:3]
        ]
        s.add_all(grants)
        old_group = ClientGroup(partner_id=tenant.partner_id, name="Gammel")
        s.add(old_group)
        s.flush()
        old_member = ClientGroupMember(
            partner_id=tenant.partner_id, group_id=old_group.id, client_id=tenant.client_ids[0]
        )
        s.add(old_member)
    _, cursor, _ = pull_all(api)
    with db.reading() as s:
        start = s.get(SyncState, 1).version  # type: ignore[union-attr]
    with db.transaction() as s:  # one version touching many kinds, with deletes among them
        for cid in tenant.client_ids:
            s.get(Client, cid).payout_day = 20  # type: ignore[union-attr]
        for uid in (tenant.admin_id, tenant.staff_id):
            s.get(User, uid).name = "Nytt navn"  # type: ignore[union-attr]
        group = ClientGroup(partner_id=tenant.partner_id, name="Gruppe")
        s.add(group)
        s.flush()
        for cid in tenant.client_ids:
            s.add(ClientGroupMember(partner_id=tenant.partner_id, group_id=group.id, client_id=cid))
        s.delete(s.get(AccessGrant, grants[0].id))
        s.delete(s.get(AccessGrant, grants[1].id))  # not the highest id: SQLite would reuse it
        s.delete(s.get(ClientGroupMember, old_member.id))  # a tombstone after other kinds
        s.add(
            AccessGrant(
                partner_id=tenant.partner_id,
                user_id=tenant.admin_id,
                client_id=tenant.client_ids[3],
            )
        )
    expected = _feed_from_tables(db, tenant.partner_id, start)
    assert len({c[0] for c in expected}) == 1
    assert len({c[1] for c in expected}) >= 4
    assert {c[3] for c in expected} == {"upsert", "delete"}

    changes, _, pages = pull_all(api, cursor, limit=limit)
    got = [(c["version"], c["kind"], c["id"], c["op"]) for c in changes]
    assert got == expected
    assert pages >= len(expected) // limit

    # And a full feed from scratch in tiny pages equals the one-page feed and the tables.
    whole, end, _ = pull_all(api, limit=1000)
    paged, _, _ = pull_all(api, limit=limit)
    assert [(c["version"], c["kind"], c["id"], c["op"]) for c in paged] == [
        (c["version"], c["kind"], c["id"], c["op"]) for c in whole
    ]
    everything = _feed_from_tables(db, tenant.partner_id, 0)
    assert [(c["version"], c["kind"], c["id"], c["op"]) for c in whole] == everything
    again, _, _ = pull_all(api, end, limit=limit)
    assert again == []
