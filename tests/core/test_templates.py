"""Access template changes: validated before they are sent or queued; queued ones push later."""

from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from partner_api.app import create_app
from partner_api.db import Database
from partner_api.local_server import LocalServer
from partner_tui.core import outbox, templates
from partner_tui.core.api_client import ApiClient
from partner_tui.core.cache import CacheDB
from partner_tui.core.sync import Syncer
from tests.conftest import ORGNRS, Tenant, make_tenant


@pytest.fixture
def served(sqlite_db: Database) -> Iterator[tuple[str, Tenant]]:
    tenant = make_tenant(sqlite_db, "Alfa", ORGNRS)
    with LocalServer(create_app(sqlite_db)) as server:
        yield server.url, tenant


def test_bad_values_are_refused_before_anything_is_sent() -> None:
    with pytest.raises(ValidationError):
        templates.create("   ", "full", None)
    with pytest.raises(ValidationError):
        templates.create("Sjef", "owner", None)
    change = templates.create("  Sjef ", "full", "ansvarlig")
    assert (change.method, change.path) == ("POST", "/v1/access-templates")
    assert change.body == {"name": "Sjef", "access_level": "full", "role": "ansvarlig"}


def test_queued_template_changes_push_in_order_and_stale_edits_are_rejected(
    served: tuple[str, Tenant], tmp_path
) -> None:  # type: ignore[no-untyped-def]
    url, tenant = served
    cache = CacheDB(tmp_path / "c.sqlite")
    with ApiClient(url, tenant.token) as api:
        Syncer(api, cache).sync()
        conn = cache.raw()
        seen = {tp.name: tp for tp in templates.load_templates(conn)}
        conn.close()
        revisor = seen["Revisor – kun lesing"]
        # offline: a new template and an edit are queued (FIFO) ...
        for change in (
            templates.create("Lønn ansvarlig", "payroll", "ansvarlig"),
            templates.update(revisor, "Revisor", "read", None),
        ):
            outbox.enqueue(cache, change.method, change.path, change.body, change.summary)
        # ... while someone else edits the same template on the server
        templates.update(revisor, "Revisor (ekstern)", "read", None).send(api)
        report = outbox.push(cache, api)
        names = {tp.name: (tp.access_level, tp.role) for tp in api.access_templates()}
    assert [i.summary for i in report.applied] == ["Ny mal: Lønn ansvarlig"]
    assert [i.summary for i in report.rejected] == ["Endre mal: Revisor – kun lesing"]
    rejected = outbox.listed(cache, outbox.REJECTED)[0]
    assert rejected.last_problem and "Endret av noen andre" in rejected.last_problem
    assert names["Lønn ansvarlig"] == ("payroll", "ansvarlig")
    assert "Revisor (ekstern)" in names and "Revisor" not in names  # nothing overwritten
    cache.dispose()
