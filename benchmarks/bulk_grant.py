"""A 1,000-client bulk grant, round trip: ``POST /v1/access-grants:bulk`` (with an
``Idempotency-Key``) giving one accountant read access to 1,000 clients they had no grant on,
timed from the request until the answer is decoded. Server: LocalServer on a throw-away copy
of the portfolio. Each run is followed by its undo (the answer's inverse items, revoking the
1,000 grants), which is timed too; a dry run of the same request is reported as well, and the
incremental sync that brings the 1,000 new grants into an up-to-date cache."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from contextlib import closing
from typing import Any

from benchmarks.common import Context, NotAvailable, Result, median, serve, summary, syncer
from benchmarks.incremental_sync import prepare_cache
from benchmarks.portfolio import working_copy

PATH = "/v1/access-grants:bulk"
TARGET = 1000

KEY = "bulk_grant_1000"  # the JSON key of this measure's headline figure


def _has_route() -> bool:
    from partner_api.app import create_app

    probe = create_app("sqlite://")  # an in-memory database: only the routes are wanted
    try:
        return PATH in probe.openapi().get("paths", {})
    finally:
        probe.state.db.dispose()


def _pick(path: Any, n: int) -> tuple[int, list[int]]:
    """An active, ordinary user and up to ``n`` active clients they have no grant on."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        user = conn.execute(
            "SELECT u.id FROM app_user u WHERE u.active AND NOT u.is_partneradmin"
            " ORDER BY (SELECT count(*) FROM access_grant a WHERE a.user_id = u.id), u.id"
            " LIMIT 1"
        ).fetchone()[0]
        clients = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM client WHERE status = 'active' AND id NOT IN"
                " (SELECT client_id FROM access_grant WHERE user_id = ?) ORDER BY id LIMIT ?",
                (user, n),
            )
        ]
    return int(user), clients


def _post(http: Any, body: dict[str, Any]) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    response = http.post(
        PATH,
        content=json.dumps(body),
        headers={"Idempotency-Key": str(uuid.uuid4()), "Content-Type": "application/json"},
    )
    answer = response.json()
    seconds = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"{PATH} answered {response.status_code}: {str(answer)[:500]}")
    return seconds * 1000, answer


def run(ctx: Context) -> list[Result]:
    import httpx

    if not _has_route():
        raise NotAvailable(f"POST {PATH} is not in the API yet")
    runs = ctx.reps(3, 1)
    server_copy = working_copy(ctx.portfolio, ctx.work_dir)
    user, clients = _pick(server_copy, TARGET)
    items = [
        {"op": "ensure", "user_id": user, "client_id": c, "access_level": "read"} for c in clients
    ]
    grant_ms: list[float] = []
    undo_ms: list[float] = []
    dry_ms: list[float] = []
    sync_ms: list[float] = []
    with (
        serve(server_copy) as srv,
        httpx.Client(
            base_url=srv.url, headers={"Authorization": f"Bearer {srv.token}"}, timeout=120
        ) as http,
    ):
        cache = prepare_cache(ctx, srv.url, "bulk-grant.sqlite")
        with syncer(cache, srv.url, srv.token) as sync:
            sync.sync()
            _post(http, {"mode": "partial", "dry_run": True, "items": items[:10]})  # warm-up
            for _ in range(runs):
                ms, _ = _post(http, {"mode": "partial", "dry_run": True, "items": items})
                dry_ms.append(ms)
                ms, answer = _post(http, {"mode": "partial", "dry_run": False, "items": items})
                grant_ms.append(ms)
                created = answer["summary"]["created"]
                if created != len(items):
                    raise RuntimeError(f"expected {len(items)} created, got {answer['summary']}")
                started = time.perf_counter()
                report = sync.sync()
                sync_ms.append((time.perf_counter() - started) * 1000)
                if report.counts.get("access_grant", 0) < len(items):
                    raise RuntimeError(f"the sync after the bulk grant got {report.counts}")
                undo = [
                    {
                        "op": "revoke",
                        "user_id": r["user_id"],
                        "client_id": r["client_id"],
                        "expected_version": r["after"]["version"],
                    }
                    for r in answer["results"]
                    if r["status"] == "created"
                ]
                ms, answer = _post(http, {"mode": "atomic", "dry_run": False, "items": undo})
                undo_ms.append(ms)
                if answer["summary"]["deleted"] != len(items):
                    raise RuntimeError(f"the undo deleted {answer['summary']}")
                sync.sync()
    n = len(items)
    note = f"{n:,} items, median of {runs}; LocalServer on a copy of the portfolio"
    return [
        Result(
            "bulk_grant_1000",
            f"bulk grant on {n:,} clients, round trip",
            median(grant_ms),
            "ms",
            "max",
            1000.0,
            note=note,
            extra={"grant_ms": summary(grant_ms), "items": n},
        ),
        Result(
            "bulk_grant_dry_run",
            "  the same as a dry run (preview)",
            median(dry_ms),
            "ms",
            extra={"ms": summary(dry_ms)},
        ),
        Result(
            "bulk_grant_undo",
            "  its undo (atomic revoke of the same grants)",
            median(undo_ms),
            "ms",
            extra={"ms": summary(undo_ms)},
        ),
        Result(
            "bulk_grant_sync",
            "  incremental sync of its changes into the cache",
            median(sync_ms),
            "ms",
            extra={"ms": summary(sync_ms)},
        ),
    ]
