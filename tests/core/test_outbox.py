"""The outbox against the real API on a loopback port: queued writes survive everything."""

import multiprocessing
import os
import signal
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from partner_api.app import create_app
from partner_api.db import Database
from partner_api.local_server import LocalServer
from partner_api.models import Client
from partner_tui.core import outbox
from partner_tui.core.api_client import ApiClient
from partner_tui.core.cache import CacheDB
from tests.conftest import ORGNRS, Tenant, make_tenant


@pytest.fixture
def served(sqlite_db: Database) -> Iterator[tuple[str, Tenant, Database]]:
    tenant = make_tenant(sqlite_db, "Alfa", ORGNRS[:2])
    with LocalServer(create_app(sqlite_db)) as server:
        yield server.url, tenant, sqlite_db


def new_client(orgnr: str, name: str) -> dict[str, object]:
    return {"orgnr": orgnr, "name": name}


def server_clients(db: Database) -> dict[str, str]:
    with db.reading() as s:
        return {c.orgnr: c.name for c in s.execute(select(Client)).scalars()}


def test_offline_writes_wait_then_apply_in_order(served, tmp_path: Path) -> None:
    url, tenant, db = served
    cache = CacheDB(tmp_path / "c.sqlite")
    first = outbox.enqueue(cache, "POST", "/v1/clients", new_client(ORGNRS[2], "Én AS"), "ny")
    outbox.enqueue(cache, "POST", "/v1/clients", new_client(ORGNRS[3], "To AS"), "ny")
    with ApiClient("http://127.0.0.1:9", tenant.token) as offline:
        report = outbox.push(cache, offline)
    assert report.stopped_because == "offline" and report.still_pending == 2
    assert outbox.get(cache, first.id).attempts == 1  # type: ignore[union-attr]
    with ApiClient(url, tenant.token) as api:
        report = outbox.push(cache, api)
    assert [i.summary for i in report.applied] == ["ny", "ny"]
    assert report.still_pending == 0
    assert server_clients(db)[ORGNRS[2]] == "Én AS" and server_clients(db)[ORGNRS[3]] == "To AS"


def test_rejected_write_stays_visible_with_the_reason(served, tmp_path: Path) -> None:
    url, tenant, _ = served
    cache = CacheDB(tmp_path / "c.sqlite")
    dup = outbox.enqueue(cache, "POST", "/v1/clients", new_client(ORGNRS[0], "Dup AS"), "dup")
    ok = outbox.enqueue(cache, "POST", "/v1/clients", new_client(ORGNRS[4], "Ok AS"), "ok")
    with ApiClient(url, tenant.token) as api:
        report = outbox.push(cache, api)
    assert [i.id for i in report.rejected] == [dup.id]
    assert [i.id for i in report.applied] == [ok.id]
    rejected = outbox.listed(cache, outbox.REJECTED)
    assert [(i.id, i.last_problem) for i in rejected] == [
        (dup.id, f"A client with orgnr {ORGNRS[0]} already exists.")
    ]
    # A second push neither retries nor forgets it; only the user's dismissal removes it.
    with ApiClient(url, tenant.token) as api:
        assert outbox.push(cache, api).rejected == []
    assert outbox.dismiss(cache, ok.id) is False  # applied items are not "dismissed"
    assert outbox.dismiss(cache, dup.id) is True
    assert outbox.listed(cache, outbox.REJECTED) == []


def test_refused_token_pauses_the_queue(served, tmp_path: Path) -> None:
    url, tenant, _ = served
    cache = CacheDB(tmp_path / "c.sqlite")
    outbox.enqueue(cache, "POST", "/v1/clients", new_client(ORGNRS[2], "X AS"), "x")
    with ApiClient(url, tenant.staff_token) as not_admin:
        report = outbox.push(cache, not_admin)
    assert report.stopped_because == "auth" and report.still_pending == 1
    assert "partneradmin" in (outbox.listed(cache, outbox.PENDING)[0].last_problem or "")


def _enqueue_then_die(path: str, url: str, token: str) -> None:
    """Child process: queue a write, claim it as in flight, and get killed mid-send."""
    cache = CacheDB(Path(path))
    outbox.enqueue(cache, "POST", "/v1/clients", new_client(ORGNRS[5], "Overlever AS"), "ny")

    class Dies(httpx.HTTPTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            os.kill(os.getpid(), signal.SIGKILL)  # as if the terminal was closed mid-send
            raise AssertionError("unreachable")

    with ApiClient(url, token, transport=Dies()) as api:
        outbox.push(cache, api)


def test_outbox_survives_a_killed_app(served, tmp_path: Path) -> None:
    url, tenant, db = served
    path = tmp_path / "c.sqlite"
    CacheDB(path).dispose()
    child = multiprocessing.get_context("spawn").Process(
        target=_enqueue_then_die, args=(str(path), url, tenant.token)
    )
    child.start()
    child.join(30)
    assert child.exitcode == -signal.SIGKILL
    raw = sqlite3.connect(path)
    assert raw.execute("SELECT status, summary FROM outbox").fetchall() == [("inflight", "ny")]
    raw.close()
    cache = CacheDB(path)
    with ApiClient(url, tenant.token) as api:
        report = outbox.push(cache, api)
    assert [i.summary for i in report.applied] == ["ny"]
    assert server_clients(db)[ORGNRS[5]] == "Overlever AS"
    assert outbox.listed(cache, outbox.PENDING, outbox.INFLIGHT) == []


def test_partly_failed_bulk_stays_visible_as_rejected(served, tmp_path: Path) -> None:
    url, tenant, db = served
    from partner_api.models import Client as ClientRow

    with db.transaction() as s:
        s.get(ClientRow, tenant.client_ids[1]).status = "archived"  # type: ignore[union-attr]
    cache = CacheDB(tmp_path / "c.sqlite")
    body = {
        "mode": "partial",
        "items": [
            {"op": "ensure", "user_id": tenant.staff_id, "client_id": cid, "access_level": "read"}
            for cid in tenant.client_ids
        ],
    }
    item = outbox.enqueue(cache, "POST", "/v1/access-grants:bulk", body, "tilgang til 2")
    with ApiClient(url, tenant.token) as api:
        report = outbox.push(cache, api)
    assert [i.id for i in report.rejected] == [item.id]
    stored = outbox.get(cache, item.id)
    assert stored is not None and stored.status == outbox.REJECTED
    assert (stored.last_problem or "").startswith(f"1 av 2 feilet: klient {tenant.client_ids[1]}")
