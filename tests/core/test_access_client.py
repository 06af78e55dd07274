"""The client's access-administration methods against the real API on a loopback port."""

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest

from partner_api.app import create_app
from partner_api.db import Database
from partner_api.local_server import LocalServer
from partner_api.models import AccessGrant
from partner_api.services import access
from partner_api.wire import AccessTemplateIn, GrantOp, GrantSpec, Handover
from partner_tui.core.api_client import ApiClient, ApiError
from tests.conftest import ORGNRS, Tenant, make_tenant


@pytest.fixture
def served(sqlite_db: Database) -> Iterator[tuple[ApiClient, Tenant, Database]]:
    tenant = make_tenant(sqlite_db, "Alfa", ORGNRS[:4])
    with LocalServer(create_app(sqlite_db)) as server, ApiClient(server.url, tenant.token) as api:
        yield api, tenant, sqlite_db


def key() -> str:
    return str(uuid.uuid4())


def test_grant_methods_round_trip(served: tuple[ApiClient, Tenant, Database]) -> None:
    api, t, _ = served
    c0, c1, c2, _c3 = t.client_ids
    created = api.put_grant(t.staff_id, c0, GrantSpec(access_level="payroll"))
    assert created.status == "created" and created.after is not None
    assert api.get_grant(t.staff_id, c0).version == created.after.version
    with pytest.raises(ApiError) as stale:
        api.put_grant(t.staff_id, c0, GrantSpec(access_level="read", expected_version=1))
    assert stale.value.status == 412
    assert stale.value.problem.current_version == created.after.version
    manual = api.put_grant(t.staff_id, c0, GrantSpec(role="ansvarlig"))
    assert manual.after is not None and manual.after.role_source == "manual"
    cleared = api.clear_role_override(t.staff_id, c0)
    assert cleared.after is not None and cleared.after.role_source == "auto"

    items = [GrantOp(user_id=t.admin_id, client_id=c, access_level="read") for c in (c1, c2)]
    preview = api.bulk_grants(items, dry_run=True)
    assert preview.summary.created == 2 and not preview.applied
    with pytest.raises(ValueError):
        api.bulk_grants(items)
    k = key()
    done = api.bulk_grants(items, "atomic", False, k)
    assert done.applied and api.bulk_grants(items, "atomic", False, k) == done  # replayed
    undone = api.bulk_grants(done.inverse_items(), "atomic", False, key())
    assert undone.summary.deleted == 2
    assert {g.client_id for g in api.access_grants(user=t.admin_id)} == set()

    copied = api.copy_access(t.staff_id, t.admin_id, idempotency_key=key())
    assert [r.status for r in copied.results] == ["created"]
    assert api.delete_grant(t.admin_id, c0, idempotency_key=key()).status == "deleted"

    until = access.today() + timedelta(days=3)
    later = api.put_grant(t.staff_id, c1, GrantSpec(access_level="read", valid_until=until))
    assert later.after is not None and later.after.valid_until == until


def test_offboard_tag_templates_and_audit(served: tuple[ApiClient, Tenant, Database]) -> None:
    api, t, db = served
    c0, c1 = t.client_ids[:2]
    with db.transaction() as s:
        s.add(
            AccessGrant(
                partner_id=t.partner_id,
                user_id=t.staff_id,
                client_id=c0,
                role="ansvarlig",
                role_source="manual",
            )
        )
    with pytest.raises(ApiError) as refused:
        api.offboard(t.staff_id, idempotency_key=key())
    assert refused.value.slug == "handover-required"
    assert [c["client_id"] for c in (refused.value.problem.model_extra or {})["clients"]] == [c0]
    plan = api.offboard(t.staff_id, dry_run=True)
    assert [c.client_id for c in plan.handover_required] == [c0]
    done = api.offboard(
        t.staff_id, handover=Handover(default_user_id=t.admin_id), idempotency_key=key()
    )
    assert done.applied and done.summary.deleted == 1 and done.summary.created == 1

    tagged = api.set_altinn_tag([c0, c1], True, idempotency_key=key())
    assert tagged.summary.updated == 2

    templates = api.access_templates()
    assert len(templates) == 3
    new = api.create_access_template(AccessTemplateIn(name="Innsyn", access_level="read"))
    edited = api.update_access_template(
        new.id,
        AccessTemplateIn(name="Innsyn", access_level="payroll", expected_version=new.version),
    )
    assert edited.access_level == "payroll"
    api.delete_access_template(edited.id, expected_version=edited.version)
    assert len(api.access_templates()) == 3

    page = api.audit(limit=2)
    assert len(page.events) == 2 and page.next_cursor is not None
    rest = api.audit(limit=100, cursor=page.next_cursor)
    actions = {e.action for e in page.events + rest.events}
    assert {"user.offboarded", "client.altinn_tag", "access_template.deleted"} <= actions
    assert api.audit(client=c1).events[0].action == "client.altinn_tag"
