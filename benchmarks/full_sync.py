"""Full sync from empty over loopback, against the raw cost of decoding the same JSON and
inserting the same rows into SQLite with plain ``executemany``, in the same process.

- Measured: ``Syncer.sync()`` into an empty cache file, the server being ``LocalServer`` (the
  real API, in a thread of this process, as ``partner-tui demo`` runs it) on the portfolio.
- Reference: the same pages (same page size, same cursors) are fetched as raw bytes first,
  outside the timing; then ``json.loads`` of each page and ``executemany`` of plain INSERTs of
  its rows into a fresh SQLite file with the cache's tables and indexes and the cache's pragmas
  (WAL, synchronous=FULL), one transaction per page.
- Reported too (info): the time the server takes to produce those pages (the raw fetch).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from benchmarks.common import Context, Result, serve, summary

KEY = "full_sync"  # the JSON key of this measure's headline figure


def _fresh(path: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    return path


def fetch_pages(url: str, token: str, limit: int) -> tuple[list[bytes], float]:
    """Every page of the feed from an empty cursor, as the raw response bodies."""
    import httpx

    pages: list[bytes] = []
    cursor: str | None = None
    started = time.perf_counter()
    with httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120
    ) as http:
        while True:
            params: dict[str, Any] = {"limit": limit}
            if cursor:
                params["cursor"] = cursor
            response = http.get("/v1/sync/changes", params=params)
            response.raise_for_status()
            body = response.content
            pages.append(body)
            page = json.loads(body)
            cursor = page["next_cursor"]
            if not page["has_more"]:
                break
    return pages, time.perf_counter() - started


def raw_insert(pages: list[bytes], path: Path) -> tuple[float, int]:
    """json.loads + executemany INSERT of every row, one transaction per page (timed)."""
    from sqlalchemy import create_engine

    from partner_api.wire import ROW_MODELS
    from partner_tui.core.cache import KIND_TABLES, CacheModel

    _fresh(path)
    engine = create_engine(f"sqlite:///{path}")
    CacheModel.metadata.create_all(engine)  # same tables and indexes as the cache
    engine.dispose()
    columns = {kind: ["version", *ROW_MODELS[kind].model_fields] for kind in KIND_TABLES}
    sql = {
        kind: (
            f'INSERT INTO "{table.__tablename__}" ('
            + ", ".join(f'"{c}"' for c in columns[kind])
            + ") VALUES ("
            + ", ".join("?" for _ in columns[kind])
            + ")"
        )
        for kind, table in KIND_TABLES.items()
    }
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    rows_total = 0
    started = time.perf_counter()
    for body in pages:
        page = json.loads(body)
        rows: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
        for change in page["changes"]:
            kind = change["kind"]
            if kind not in sql or change["op"] != "upsert":
                continue
            data = change["data"]
            data["version"] = change["version"]
            rows[kind].append(tuple(data.get(c) for c in columns[kind]))
        conn.execute("BEGIN IMMEDIATE")
        for kind, batch in rows.items():
            conn.executemany(sql[kind], batch)
            rows_total += len(batch)
        conn.execute("COMMIT")
    seconds = time.perf_counter() - started
    conn.close()
    return seconds, rows_total


def run(ctx: Context) -> list[Result]:
    from benchmarks.common import syncer
    from partner_tui.core.sync import PAGE_LIMIT

    runs = ctx.reps(2, 1)
    work = ctx.work_dir
    sync_s: list[float] = []
    raw_s: list[float] = []
    fetch_s: list[float] = []
    report: Any = None
    with serve(ctx.portfolio.path) as srv:
        url, token = srv.url, srv.token
        pages, fetch = fetch_pages(url, token, PAGE_LIMIT)  # warm-up and reference bytes
        for i in range(runs):
            cache = _fresh(work / f"full-sync-{i}.sqlite")
            with syncer(cache, url, token) as sync:
                started = time.perf_counter()
                report = sync.sync()
                sync_s.append(time.perf_counter() - started)
            seconds, rows = raw_insert(pages, work / "full-sync-raw.sqlite")
            raw_s.append(seconds)
            _, fetch = fetch_pages(url, token, PAGE_LIMIT)
            fetch_s.append(fetch)
    total = report.total if report is not None else 0
    body_mb = sum(len(p) for p in pages) / 1e6
    note = (
        f"{total:,} rows in {len(pages)} pages of {PAGE_LIMIT} ({body_mb:.0f} MB JSON); "
        f"best of {runs}"
    )
    results = [
        Result(
            "full_sync",
            "full sync from empty over loopback",
            min(sync_s),
            "s",
            "ratio",
            2.0,
            min(raw_s),
            "json.loads + executemany, same rows",
            note,
            {
                "sync_s": summary(sync_s),
                "raw_s": summary(raw_s),
                "rows": rows,
                "pages": len(pages),
                "json_mb": body_mb,
                "counts": dict(report.counts) if report is not None else {},
            },
        ),
        Result(
            "full_sync_server_feed",
            "  of which the server producing the pages (raw fetch)",
            min(fetch_s),
            "s",
            note="GET /v1/sync/changes for every page, bytes only",
            extra={"fetch_s": summary(fetch_s)},
        ),
    ]
    if ctx._warm_cache is None:
        ctx.adopt_warm_cache(work / "full-sync-0.sqlite")
    return results
