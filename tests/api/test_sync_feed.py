"""The change feed: ordering, paging, collapsing, tombstones and the four 410 cases."""

import json
import random
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from partner_api.app import create_app
from partner_api.db import Database
from partner_api.models import (
    SYNC_KINDS,
    AccessGrant,
    AccessTemplate,
    AuditEvent,
    Client,
    ClientGroup,
    ClientGroupMember,
    ClientMonth,
    Partner,
    SyncState,
    Tombstone,
    User,
    utcnow,
)
from partner_api.services import sync_feed
from partner_api.wire import ROW_MODELS
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
        expected += [(v, k, i, "delete") for v, k, i in set(tombs)]
    # One change per (version, kind, id): a row deleted and inserted again under the same id in
    # one transaction is one upsert (it supersedes the delete).
    latest = {c[:3]: c for c in sorted(expected, key=lambda c: c[3] == "upsert")}
    return sorted(latest.values(), key=lambda c: c[:3])


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


def _key(change: dict[str, Any]) -> tuple[Any, ...]:
    return (change["version"], change["kind"], change["id"], change["op"])


def _start_version(db: Database) -> int:
    with db.reading() as s:
        return s.get(SyncState, 1).version  # type: ignore[union-attr]


@pytest.mark.parametrize("limit", [1, 2, 3, 4, 1000])
def test_an_id_deleted_and_used_again_in_one_transaction_is_one_upsert(firm, limit) -> None:  # type: ignore[no-untyped-def]
    """A row and a tombstone with the same (version, kind, id) must not be split by a page
    boundary (the cursor would step over the second half): the feed sends one upsert."""
    api, tenant, db = firm
    with db.transaction() as s:
        grants = [
            AccessGrant(partner_id=tenant.partner_id, user_id=tenant.staff_id, client_id=cid)
            for cid in tenant.client_ids[:3]
        ]
        s.add_all(grants)
    reused, twice = grants[0].id, grants[1].id
    _, cursor, _ = pull_all(api)
    start = _start_version(db)
    with db.transaction() as s:
        for cid in tenant.client_ids:  # same version, an earlier kind than the grants' ...
            s.get(Client, cid).payout_day = 12  # type: ignore[union-attr]
        s.delete(s.get(AccessGrant, reused))
        s.flush()
        s.add(
            AccessGrant(
                id=reused,
                partner_id=tenant.partner_id,
                user_id=tenant.admin_id,
                client_id=tenant.client_ids[3],
                role="ansvarlig",
            )
        )
        s.delete(s.get(AccessGrant, twice))  # deleted, inserted again, deleted again
        s.flush()
        again = AccessGrant(
            id=twice,
            partner_id=tenant.partner_id,
            user_id=tenant.admin_id,
            client_id=tenant.client_ids[2],
        )
        s.add(again)
        s.flush()
        s.delete(again)
        for uid in (tenant.admin_id, tenant.staff_id):  # ... and a later one
            s.get(User, uid).active = True  # type: ignore[union-attr]
            s.get(User, uid).name = f"Bruker {uid}"  # type: ignore[union-attr]
    expected = _feed_from_tables(db, tenant.partner_id, start)
    assert (expected[0][0], "access_grant", reused, "upsert") in expected
    assert (expected[0][0], "access_grant", twice, "delete") in expected

    changes, _, _ = pull_all(api, cursor, limit=limit)
    assert [_key(c) for c in changes] == expected
    (row,) = [c for c in changes if c["kind"] == "access_grant" and c["id"] == reused]
    assert row["data"]["client_id"] == tenant.client_ids[3]
    assert row["data"]["role"] == "ansvarlig"


def _expected_rows(db: Database, partner_id: int) -> dict[tuple[str, int], dict[str, Any]]:
    """Each synced row of the partner as the feed must send it (dates as ISO text)."""
    rows: dict[tuple[str, int], dict[str, Any]] = {}
    with db.reading() as s:
        for kind, table in SYNC_KINDS.items():
            t = table.__table__  # type: ignore[attr-defined]
            fields = list(ROW_MODELS[kind].model_fields)
            scope = t.c.id == partner_id if table is Partner else t.c.partner_id == partner_id
            for row in s.execute(select(*(t.c[f] for f in fields)).where(scope)):
                data = {
                    f: v.isoformat() if isinstance(v, date) else v
                    for f, v in zip(fields, row, strict=True)
                }
                rows[(kind, data["id"])] = data
    return rows


def _every_kind(db: Database, tenant) -> None:  # type: ignore[no-untyped-def]
    """At least one row of every sync kind, with dates, datetimes, JSON text and non-ASCII."""
    with db.transaction() as s:
        s.add(
            AccessGrant(
                partner_id=tenant.partner_id,
                user_id=tenant.admin_id,
                client_id=tenant.client_ids[0],
                valid_until=date(2027, 1, 31),
            )
        )
        s.add(
            AccessTemplate(partner_id=tenant.partner_id, name="Lønn «æøå»", access_level="payroll")
        )
        group = ClientGroup(partner_id=tenant.partner_id, name="Utbetaling 20.")
        s.add(group)
        s.flush()
        s.add(
            ClientGroupMember(
                partner_id=tenant.partner_id, group_id=group.id, client_id=tenant.client_ids[1]
            )
        )
        for month in ("2026-10", "2026-11"):
            s.add(
                ClientMonth(
                    partner_id=tenant.partner_id,
                    client_id=tenant.client_ids[0],
                    month=month,
                    active_employees=3,
                    salary_paid_ore=123_456_789,
                    amelding_status="mottatt",
                )
            )
        s.add(
            AuditEvent(
                partner_id=tenant.partner_id,
                user_id=tenant.admin_id,
                action="client.renamed",
                entity_kind="client",
                entity_id=tenant.client_ids[0],
                client_id=tenant.client_ids[0],
                before=json.dumps({"name": "Gammel"}),
                after=json.dumps({"name": "Ny \u202e [bold]"}),
                note="Acme [/] AS",
            )
        )


@pytest.mark.parametrize("limit", [1, 2, 3, 1000])
def test_the_feed_sends_every_row_as_it_is_in_the_tables(firm, limit) -> None:  # type: ignore[no-untyped-def]
    api, tenant, db = firm
    _every_kind(db, tenant)
    changes, _, _ = pull_all(api, limit=limit)
    assert {c["kind"] for c in changes} == set(SYNC_KINDS)
    assert [_key(c) for c in changes] == _feed_from_tables(db, tenant.partner_id, 0)
    sent = {(c["kind"], c["id"]): c["data"] for c in changes}
    assert sent == _expected_rows(db, tenant.partner_id)
    assert all(c["data"] is None for c in changes if c["op"] == "delete")
    grant = next(d for (k, _), d in sent.items() if k == "access_grant" and d["valid_until"])
    assert grant["valid_until"] == "2027-01-31"
    (event,) = [d for (k, _), d in sent.items() if k == "audit_event"]
    assert json.loads(event["after"]) == {"name": "Ny \u202e [bold]"}


def _random_history(db: Database, tenant, rng: random.Random) -> None:  # type: ignore[no-untyped-def]
    """One write transaction of random inserts, updates and deletes over several kinds."""
    with db.transaction() as s:
        for _ in range(rng.randint(1, 6)):
            what = rng.choice(["grant", "ungrant", "client", "user", "group", "member", "month"])
            if what == "grant":
                uid = rng.choice([tenant.admin_id, tenant.staff_id])
                cid = rng.choice(tenant.client_ids)
                found = s.execute(
                    select(AccessGrant).where(
                        AccessGrant.user_id == uid, AccessGrant.client_id == cid
                    )
                ).scalar_one_or_none()
                if found is None:
                    s.add(AccessGrant(partner_id=tenant.partner_id, user_id=uid, client_id=cid))
                else:
                    found.access_level = rng.choice(["read", "payroll", "full"])
            elif what == "ungrant":
                grants = (
                    s.execute(
                        select(AccessGrant).where(AccessGrant.partner_id == tenant.partner_id)
                    )
                    .scalars()
                    .all()
                )
                if grants:
                    s.delete(rng.choice(grants))
            elif what == "client":
                s.get(Client, rng.choice(tenant.client_ids)).payout_day = rng.randint(1, 28)  # type: ignore[union-attr]
            elif what == "user":
                s.get(
                    User, rng.choice([tenant.admin_id, tenant.staff_id])
                ).name = f"N{rng.random()}"  # type: ignore[union-attr]
            elif what == "group":
                s.add(ClientGroup(partner_id=tenant.partner_id, name=f"G{rng.random()}"))
            elif what == "member":
                groups = (
                    s.execute(
                        select(ClientGroup).where(ClientGroup.partner_id == tenant.partner_id)
                    )
                    .scalars()
                    .all()
                )
                members = (
                    s.execute(
                        select(ClientGroupMember).where(
                            ClientGroupMember.partner_id == tenant.partner_id
                        )
                    )
                    .scalars()
                    .all()
                )
                if members and rng.random() < 0.5:
                    s.delete(rng.choice(members))
                elif groups:
                    gid, cid = rng.choice(groups).id, rng.choice(tenant.client_ids)
                    if all((m.group_id, m.client_id) != (gid, cid) for m in members):
                        s.add(
                            ClientGroupMember(
                                partner_id=tenant.partner_id, group_id=gid, client_id=cid
                            )
                        )
            else:
                cid = rng.choice(tenant.client_ids)
                month = f"2026-{rng.randint(1, 12):02d}"
                found_month = s.execute(
                    select(ClientMonth).where(
                        ClientMonth.client_id == cid, ClientMonth.month == month
                    )
                ).scalar_one_or_none()
                if found_month is None:
                    s.add(ClientMonth(partner_id=tenant.partner_id, client_id=cid, month=month))
                else:
                    found_month.claims += 1
            s.flush()


@pytest.mark.parametrize("seed", [1, 2])
def test_random_histories_page_like_the_tables_from_every_cursor(firm, seed) -> None:  # type: ignore[no-untyped-def]
    """Versions that interleave kinds, deletes among them: from the cursor after each write,
    pages of 1, 2 and 3 give exactly the changes the tables hold after that version."""
    api, tenant, db = firm
    rng = random.Random(seed)
    cursors: list[tuple[str, int]] = []
    _, cursor, _ = pull_all(api)
    for _ in range(12):
        cursors.append((cursor, _start_version(db)))
        _random_history(db, tenant, rng)
        _, cursor, _ = pull_all(api, cursor)
    for cursor, version in cursors[::3]:
        expected = _feed_from_tables(db, tenant.partner_id, version)
        for limit in (1, 2, 3):
            changes, _, pages = pull_all(api, cursor, limit=limit)
            assert [_key(c) for c in changes] == expected, (version, limit)
            assert pages <= len(expected) // limit + 2
    # And from scratch, where the feed holds the rows' latest state only.
    changes, _, _ = pull_all(api, limit=2)
    assert {(c["kind"], c["id"]): c["data"] for c in changes if c["op"] == "upsert"} == (
        _expected_rows(db, tenant.partner_id)
    )
