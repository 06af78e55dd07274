"""Incremental sync of 100 changes: 100 clients renamed on the server (through the ORM, in one
transaction, so the change versions are stamped as in production), then ``Syncer.sync()`` timed
on a cache that was up to date. Server: LocalServer on a throw-away copy of the portfolio."""

from __future__ import annotations

import shutil
import sqlite3
import time
from contextlib import closing
from pathlib import Path

from benchmarks.common import Context, Result, serve, summary, syncer
from benchmarks.portfolio import working_copy

CHANGES = 100

KEY = "incremental_sync_100"  # the JSON key of this measure's headline figure


def rename_clients(db: object, ids: list[int]) -> None:
    from sqlalchemy import select
    from sqlmodel import col

    from partner_api.models import Client

    with db.transaction() as session:  # type: ignore[attr-defined]
        for client in session.execute(select(Client).where(col(Client.id).in_(ids))).scalars():
            client.name = client.name[:-2] if client.name.endswith(" ·") else client.name + " ·"


def prepare_cache(ctx: Context, url: str, name: str) -> Path:
    """A copy of the warm cache, pointed at this server (same data, same epoch)."""
    cache = ctx.work_dir / name
    for suffix in ("", "-wal", "-shm"):
        Path(str(cache) + suffix).unlink(missing_ok=True)
    source = ctx.warm_cache()
    with closing(sqlite3.connect(source)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copyfile(source, cache)
    with closing(sqlite3.connect(cache)) as conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'api_url'", (url,))
        conn.commit()
    return cache


def run(ctx: Context) -> list[Result]:
    runs = ctx.reps(7, 2)
    server_copy = working_copy(ctx.portfolio, ctx.work_dir)
    times: list[float] = []
    with serve(server_copy) as srv:
        cache = prepare_cache(ctx, srv.url, "incremental.sqlite")
        with closing(sqlite3.connect(server_copy)) as conn:
            ids = [r[0] for r in conn.execute("SELECT id FROM client ORDER BY id")]
        with syncer(cache, srv.url, srv.token) as sync:
            # Brings the copy up to date and warms up; a full resync here means the server's
            # sync schema moved on since the warm cache was built (then it is up to date now).
            sync.sync()
            for i in range(runs):
                batch = [ids[(i * CHANGES + k) % len(ids)] for k in range(CHANGES)]
                rename_clients(srv.db, batch)
                started = time.perf_counter()
                report = sync.sync()
                times.append((time.perf_counter() - started) * 1000)
                if report.full or report.counts.get("client") != min(CHANGES, len(ids)):
                    raise RuntimeError(
                        f"expected {CHANGES} client changes, got "
                        f"{report.counts} (full={report.full})"
                    )
    return [
        Result(
            "incremental_sync_100",
            "incremental sync of 100 changes",
            sorted(times)[len(times) // 2],
            "ms",
            "max",
            100.0,
            note=f"median of {runs}; includes GET /v1/me and one feed page",
            extra={"ms": summary(times)},
        )
    ]
