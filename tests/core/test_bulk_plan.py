"""The bulk pipeline core: preview from the cache, request body, undo and retry plans."""

import sqlite3
from collections.abc import Iterator
from datetime import date

import pytest

from partner_api.app import create_app
from partner_api.db import Database
from partner_api.local_server import LocalServer
from partner_api.models import AccessGrant
from partner_api.wire import GrantOp
from partner_tui.core import bulk
from partner_tui.core.api_client import ApiClient
from partner_tui.core.bulk import GrantView, Plan
from partner_tui.core.cache import CacheDB
from partner_tui.core.sync import Syncer
from tests.conftest import ORGNRS, Tenant, make_tenant


def memory_cache() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.executescript(
        "CREATE TABLE access_grant (id INTEGER PRIMARY KEY, version INT, user_id INT, "
        "client_id INT, access_level TEXT, role TEXT, role_source TEXT, valid_until TEXT);"
        "CREATE TABLE access_template (id INTEGER PRIMARY KEY, version INT, name TEXT, "
        "access_level TEXT, role TEXT);"
        "INSERT INTO access_grant VALUES (1, 1, 7, 100, 'read', 'medarbeider', 'auto', NULL);"
        "INSERT INTO access_grant VALUES (2, 1, 7, 101, 'payroll', 'ansvarlig', 'manual', "
        "'2030-01-31');"
        "INSERT INTO access_template VALUES (5, 1, 'Full', 'full', 'ansvarlig');"
        "CREATE TABLE client (id INTEGER PRIMARY KEY, status TEXT);"
        "INSERT INTO client VALUES (100, 'active'), (101, 'active');"
    )
    return conn


def test_preview_counts_grant_change_unchanged_revoke() -> None:
    conn = memory_cache()
    plan = Plan(
        [
            GrantOp(user_id=7, client_id=100, access_level="read"),  # unchanged
            GrantOp(user_id=7, client_id=101, access_level="read"),  # change
            GrantOp(user_id=7, client_id=102, access_level="payroll"),  # grant
            GrantOp(user_id=7, client_id=103, template_id=5),  # grant via template
            GrantOp(op="revoke", user_id=7, client_id=100),  # revoke
        ]
    )
    result = bulk.preview(plan, conn)
    # payroll → read lowers a level: counted apart, so a grant never lowers one silently
    assert result.totals == {"grant": 2, "change": 1, "unchanged": 1, "revoke": 1, "lowered": 1}
    assert [r.lowers for r in result.rows] == [False, True, False, False, False]
    change = result.rows[1]
    assert change.before == GrantView("payroll", "ansvarlig", "manual", date(2030, 1, 31))
    assert change.after == GrantView("read", "ansvarlig", "manual", date(2030, 1, 31))
    assert result.rows[2].after == GrantView("payroll", "auto", "auto", None)
    assert result.rows[3].after == GrantView("full", "ansvarlig", "manual", None)
    assert result.rows[4].before is not None and result.rows[4].after is None


def test_preview_expiry_clear_and_role_back_to_auto() -> None:
    conn = memory_cache()
    plan = Plan(
        [
            GrantOp(user_id=7, client_id=101, valid_until=None),
            GrantOp(user_id=7, client_id=100, valid_until=date(2031, 5, 1)),
            GrantOp(user_id=7, client_id=104),  # new grant without a level: would fail
        ]
    )
    rows = bulk.preview(plan, conn).rows
    assert rows[0].after is not None and rows[0].after.valid_until is None
    assert rows[0].change == "change"
    assert rows[1].after is not None and rows[1].after.valid_until == date(2031, 5, 1)
    assert rows[2].change == "failed" and "access_level" in rows[2].reason


def test_request_body_keeps_unset_apart_from_null() -> None:
    plan = Plan(
        [
            GrantOp(user_id=1, client_id=2, access_level="read"),
            GrantOp(user_id=1, client_id=3, valid_until=None),
        ]
    )
    body = bulk.to_bulk_request(plan)
    assert body == {
        "mode": "partial",
        "dry_run": False,
        "items": [
            {"user_id": 1, "client_id": 2, "access_level": "read"},
            {"user_id": 1, "client_id": 3, "valid_until": None},
        ],
    }


@pytest.fixture
def served(sqlite_db: Database) -> Iterator[tuple[str, Tenant, Database]]:
    tenant = make_tenant(sqlite_db, "Alfa", ORGNRS)
    with sqlite_db.transaction() as s:
        s.add(
            AccessGrant(
                partner_id=tenant.partner_id,
                user_id=tenant.staff_id,
                client_id=tenant.client_ids[0],
                access_level="read",
            )
        )
    with LocalServer(create_app(sqlite_db)) as server:
        yield server.url, tenant, sqlite_db


def server_grants(url: str, token: str, user_id: int) -> set[tuple[object, ...]]:
    with ApiClient(url, token) as api:
        return {
            (g.client_id, g.access_level, g.role, g.role_source, g.valid_until)
            for g in api.access_grants(user=user_id)
        }


def test_preview_matches_dry_run_and_undo_restores_exactly(served, tmp_path) -> None:  # type: ignore[no-untyped-def]
    url, tenant, _db = served
    cache = CacheDB(tmp_path / "c.sqlite")
    staff, c = tenant.staff_id, tenant.client_ids
    plan = Plan(
        [
            GrantOp(user_id=staff, client_id=c[0], access_level="payroll"),
            GrantOp(user_id=staff, client_id=c[1], access_level="read"),
            GrantOp(user_id=staff, client_id=c[2], op="revoke"),
        ]
    )
    before = server_grants(url, tenant.token, staff)
    with ApiClient(url, tenant.token) as api:
        Syncer(api, cache).sync()
        conn = cache.raw()
        local = bulk.preview(plan, conn)
        dry = api.bulk_grants(plan.items, dry_run=True)
        remote = bulk.preview_from_result(dry)
        assert (
            local.totals == remote.totals == {"grant": 1, "change": 1, "unchanged": 1, "revoke": 0}
        )
        assert [r.change for r in local.rows] == [r.change for r in remote.rows]
        applied = api.bulk_grants(plan.items, idempotency_key="apply-1")
        assert applied.applied
        undo = bulk.inverse(applied)
        assert len(undo.items) == 2 and undo.mode == "atomic"
        Syncer(api, cache).sync()
        undo_preview = bulk.preview(undo, conn)
        assert undo_preview.totals == {
            "grant": 0,
            "change": 1,
            "unchanged": 0,
            "revoke": 1,
            "lowered": 1,
        }  # the undo takes payroll back down to read
        api.bulk_grants(undo.items, mode="atomic", idempotency_key="undo-1")
        conn.close()
    assert server_grants(url, tenant.token, staff) == before


def test_failed_only_keeps_just_the_failed_items(served) -> None:  # type: ignore[no-untyped-def]
    url, tenant, _db = served
    plan = Plan(
        [
            GrantOp(user_id=tenant.staff_id, client_id=tenant.client_ids[1], access_level="read"),
            GrantOp(user_id=tenant.staff_id, client_id=999_999, access_level="read"),
        ]
    )
    with ApiClient(url, tenant.token) as api:
        result = api.bulk_grants(plan.items, idempotency_key="k")
    assert [r.status for r in result.results] == ["created", "failed"]
    retry = bulk.failed_only(plan, result)
    assert [(op.client_id) for op in retry.items] == [999_999]
    rows = bulk.preview_from_result(result).rows
    assert rows[1].change == "failed" and rows[1].reason


def test_altinn_preview_undo_and_retry_plans() -> None:
    from partner_api.wire import AltinnTagResult, BulkSummary

    conn = sqlite3.connect(":memory:")
    conn.executescript(
        "CREATE TABLE client (id INTEGER PRIMARY KEY, uses_partner_altinn INT);"
        "INSERT INTO client VALUES (1, 0), (2, 1), (3, 0);"
    )
    plan = bulk.AltinnPlan([1, 2, 3, 4], True, "tag")
    result = bulk.preview_altinn(plan, conn)
    assert result.totals == {"grant": 0, "change": 2, "unchanged": 1, "revoke": 0, "failed": 1}
    assert (result.rows[0].before_text, result.rows[0].after_text) == ("nei", "partner")
    answer = AltinnTagResult.model_validate(
        {
            "applied": True,
            "dry_run": False,
            "mode": "partial",
            "version": 9,
            "summary": BulkSummary(updated=2, unchanged=1, failed=1).model_dump(),
            "results": [
                {
                    "index": 0,
                    "status": "updated",
                    "client_id": 1,
                    "before": {"uses_partner_altinn": False, "version": 1},
                    "after": {"uses_partner_altinn": True, "version": 2},
                },
                {"index": 1, "status": "unchanged", "client_id": 2},
                {"index": 2, "status": "updated", "client_id": 3},
                {
                    "index": 3,
                    "status": "failed",
                    "client_id": 4,
                    "problem": {
                        "type": "about:blank",
                        "title": "Not found",
                        "status": 404,
                        "detail": "No such client.",
                    },
                },
            ],
        }
    )
    undo = bulk.undo_plan(plan, answer, "undo")
    assert isinstance(undo, bulk.AltinnPlan)
    assert (undo.client_ids, undo.value, undo.mode) == ([1, 3], False, "atomic")
    retry = bulk.retry_plan(plan, answer)
    assert isinstance(retry, bulk.AltinnPlan) and retry.client_ids == [4]
    assert bulk.altinn_request(retry) == {
        "client_ids": [4],
        "value": True,
        "mode": "partial",
        "dry_run": False,
    }
    rows = bulk.result_rows(answer)
    assert rows[3].change == "failed" and rows[3].reason == "No such client."


def test_offboard_request_and_offline_preview() -> None:
    plan = bulk.OffboardPlan(7, handover_to=9)
    assert bulk.offboard_request(plan) == {
        "dry_run": False,
        "handover": {"default_user_id": 9, "per_client": {}},
        "deactivate": False,
    }
    assert bulk.offboard_request(bulk.OffboardPlan(7))["handover"] is None
    result = bulk.preview_offboard(plan, memory_cache())
    # both grants end; user 9 takes over as ansvarlig on 101 with the leaver's level
    assert result.totals == {"grant": 1, "change": 0, "unchanged": 0, "revoke": 2}
    handed = next(r for r in result.rows if r.change == "grant")
    assert (handed.user_id, handed.client_id) == (9, 101) and handed.after is not None
    assert (handed.after.access_level, handed.after.role) == ("payroll", "ansvarlig")


def test_offboard_request_per_client_handover() -> None:
    plan = bulk.OffboardPlan(7, per_client={100: 9, 101: 8})
    body = bulk.offboard_request(plan)
    assert body["handover"] == {"default_user_id": None, "per_client": {"100": 9, "101": 8}}
    assert plan.requests() == [("POST", "/v1/users/7:offboard", body)]
    users, clients = plan.name_ids(memory_cache())
    assert users == {7, 8, 9} and clients == {100, 101}


def test_copy_plan_offline_preview_raises_never_lowers_and_copies_expiry() -> None:
    conn = memory_cache()
    conn.executescript(
        "INSERT INTO access_grant VALUES (3, 1, 8, 100, 'full', 'ansvarlig', 'manual', NULL);"
        "INSERT INTO access_grant VALUES (4, 1, 8, 101, 'read', 'medarbeider', 'auto', NULL);"
        "INSERT INTO access_grant VALUES (5, 1, 8, 102, 'read', 'medarbeider', 'auto', "
        "'2031-03-31');"
    )
    plan = bulk.CopyPlan(from_user=8, to_user=7)
    rows = {r.client_id: r for r in plan.local_preview(conn).rows}
    assert rows[100].change == "change" and rows[100].after is not None
    assert rows[100].after.access_level == "full"  # read raised to full
    assert rows[100].after.role == "medarbeider"  # roles are not copied
    assert rows[101].change == "unchanged"  # payroll is never lowered to read
    assert rows[102].change == "grant" and rows[102].after is not None
    assert rows[102].after.valid_until == date(2031, 3, 31)  # a new grant copies the expiry
    only = bulk.CopyPlan(from_user=8, to_user=7, client_ids=[102])
    assert [r.client_id for r in only.local_preview(conn).rows] == [102]
    assert only.requests() == [
        (
            "POST",
            "/v1/access-grants:copy",
            {
                "from_user_id": 8,
                "to_user_id": 7,
                "client_ids": [102],
                "mode": "partial",
                "dry_run": False,
            },
        )
    ]


def test_local_failures_carry_a_problem_code_for_a_localized_reason() -> None:
    rows = bulk.preview(
        Plan(
            [GrantOp(user_id=7, client_id=104), GrantOp(user_id=7, client_id=105, template_id=99)]
        ),
        memory_cache(),
    ).rows
    assert [(r.change, r.code) for r in rows] == [
        ("failed", "access-level-required"),
        ("failed", "not-found"),
    ]
    from partner_tui.screens.bulk_screens import reason_text

    assert reason_text(rows[0], "nb") == "Ny tilgang trenger et nivå eller en mal"
    unknown = bulk.PreviewRow(7, 104, None, None, "failed", "Something new.", code="new-kind")
    assert reason_text(unknown, "nb") == "Something new."  # never lost


def test_a_plan_over_1000_items_goes_in_chunks_with_progress_and_replays(served) -> None:  # type: ignore[no-untyped-def]
    """The API refuses more than 1,000 items per request (413): 1,001 go as 1,000 + 1."""
    import random

    from partner_api.identifiers import make_orgnr
    from partner_api.services import portfolio

    url, tenant, db = served
    rng, orgnrs = random.Random(5), set()
    while len(orgnrs) < 1_001:
        orgnrs.add(make_orgnr(rng))
    with db.transaction() as s:
        new = [
            portfolio.create_client(s, tenant.partner_id, o, f"Massekunde {i}")
            for i, o in enumerate(sorted(orgnrs - set(ORGNRS)))
        ]
        s.flush()
        ids = [c.id for c in new][:1_001]
    assert len(ids) == 1_001
    plan = Plan([GrantOp(user_id=tenant.staff_id, client_id=c, access_level="read") for c in ids])
    assert [len(b["items"]) for _m, _p, b in plan.requests()] == [1_000, 1]
    seen: list[tuple[int, int]] = []
    with ApiClient(url, tenant.token) as api:
        dry = plan.dry_run(api)
        assert dry.totals["grant"] == 1_001
        result = plan.apply(api, "big-1", lambda done, total: seen.append((done, total)))
        assert seen == [(1_000, 1_001), (1_001, 1_001)]
        assert result.applied and result.summary.created == 1_001
        assert [r.index for r in result.results] == list(range(1_001))
        assert {r.client_id for r in result.results} == set(ids)
        again = plan.apply(api, "big-1")  # the same key: both answers replayed, nothing redone
        assert again.summary.created == 1_001 and again.version == result.version
        undo = bulk.undo_plan(plan, result)
        assert isinstance(undo, Plan) and len(undo.items) == 1_001
        undone = undo.apply(api, "big-undo")
        assert undone.applied and undone.summary.deleted == 1_001
    assert server_grants(url, tenant.token, tenant.staff_id) == {
        (tenant.client_ids[0], "read", "medarbeider", "auto", None)
    }


def test_offline_offboard_preview_matches_the_servers_dry_run(served, tmp_path) -> None:  # type: ignore[no-untyped-def]
    url, tenant, _db = served
    staff, admin, c = tenant.staff_id, tenant.admin_id, tenant.client_ids
    cache = CacheDB(tmp_path / "c.sqlite")
    with ApiClient(url, tenant.token) as api:
        api.bulk_grants(
            [
                GrantOp(user_id=staff, client_id=c[0], access_level="payroll", role="ansvarlig"),
                GrantOp(user_id=staff, client_id=c[1], access_level="full", role="ansvarlig"),
                GrantOp(user_id=staff, client_id=c[2], access_level="read"),
                GrantOp(user_id=admin, client_id=c[1], access_level="read"),
            ],
            idempotency_key="setup",
        )
        Syncer(api, cache).sync()
        plan = bulk.OffboardPlan(staff, handover_to=admin, per_client={c[0]: admin})
        conn = cache.raw()
        local = plan.local_preview(conn)
        conn.close()
        remote = plan.dry_run(api)
    assert local.totals == remote.totals == {"grant": 1, "change": 1, "unchanged": 0, "revoke": 3}

    def shape(p: bulk.Preview) -> set[tuple[object, ...]]:
        return {
            (
                r.user_id,
                r.client_id,
                r.change,
                r.after.access_level if r.after else None,
                r.after.role if r.after else None,
            )
            for r in p.rows
        }

    assert shape(local) == shape(remote)
    assert (admin, c[0], "grant", "payroll", "ansvarlig") in shape(local)  # the leaver's level
    # the admin's read is raised to the leaver's full: an ansvarlig must be able to work
    assert (admin, c[1], "change", "full", "ansvarlig") in shape(local)
    cache.dispose()


def test_queued_changes_never_overwrite_newer_ones_on_the_server(served, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from partner_tui.core import outbox

    url, tenant, _db = served
    staff, c = tenant.staff_id, tenant.client_ids
    cache = CacheDB(tmp_path / "c.sqlite")

    def queue(plan: bulk.AnyPlan) -> None:
        conn = cache.raw()
        guarded = bulk.offline_form(plan, conn, outbox.queued_touches(cache))
        conn.close()
        for method, path, body in guarded.requests():
            outbox.enqueue(cache, method, path, body, plan.summary)

    with ApiClient(url, tenant.token) as api:
        Syncer(api, cache).sync()  # the cache: staff has read on c0 and nothing on c1, c2
        # offline: raise c0 to full, give c1 read; then c2 read, and later c2 full (own edits)
        queue(
            Plan(
                [
                    GrantOp(user_id=staff, client_id=c[0], access_level="full"),
                    GrantOp(user_id=staff, client_id=c[1], access_level="read"),
                ],
                "første",
            )
        )
        queue(Plan([GrantOp(user_id=staff, client_id=c[2], access_level="read")], "andre"))
        queue(Plan([GrantOp(user_id=staff, client_id=c[2], access_level="full")], "tredje"))
        # meanwhile another admin revokes c0 and gives c1 payroll, on the server
        api.bulk_grants(
            [
                GrantOp(op="revoke", user_id=staff, client_id=c[0]),
                GrantOp(user_id=staff, client_id=c[1], access_level="payroll"),
            ],
            idempotency_key="someone-else",
        )
        report = outbox.push(cache, api)
    assert [i.summary for i in report.rejected] == ["første"]
    assert [i.summary for i in report.applied] == ["andre", "tredje"]
    reason = outbox.listed(cache, outbox.REJECTED)[0].last_problem or ""
    assert reason.count("Endret av noen andre") == 2
    got = {(cl, lv) for cl, lv, *_ in server_grants(url, tenant.token, staff)}
    # the revoke and the other admin's level stand; the user's own two queued edits both apply
    assert got == {(c[1], "payroll"), (c[2], "full")}
    cache.dispose()


def test_an_offline_copy_goes_as_the_guarded_items_the_preview_showed(served, tmp_path) -> None:  # type: ignore[no-untyped-def]
    url, tenant, _db = served
    cache = CacheDB(tmp_path / "c.sqlite")
    with ApiClient(url, tenant.token) as api:
        Syncer(api, cache).sync()
    conn = cache.raw()
    plan = bulk.offline_form(bulk.CopyPlan(tenant.staff_id, tenant.admin_id), conn)
    conn.close()
    assert isinstance(plan, Plan)
    assert [(op.client_id, op.access_level, op.expected_version) for op in plan.items] == [
        (tenant.client_ids[0], "read", 0)  # the admin had no grant there: must still be absent
    ]
    cache.dispose()


def test_offline_preview_refuses_a_past_expiry_and_dates_read_like_people_write_them() -> None:
    from datetime import timedelta

    from partner_tui.screens.bulk_screens import parse_day

    past = date.today() - timedelta(days=1)
    rows = bulk.preview(
        Plan([GrantOp(user_id=7, client_id=100, valid_until=past)]), memory_cache()
    ).rows
    assert (rows[0].change, rows[0].code) == ("failed", "valid-until-in-past")
    assert parse_day("31.3.27") == date(2027, 3, 31)
    assert parse_day("31.03.2027") == parse_day("2027-03-31") == date(2027, 3, 31)
