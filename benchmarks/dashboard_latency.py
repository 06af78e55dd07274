"""``GET /v1/dashboard`` latency under 20 concurrent clients, on SQLite and on PostgreSQL.

20 threads, each with its own ``httpx.Client`` (keep-alive), send N requests each with varied
filters (month among the 24, group, accountant, role) to LocalServer (the real API in a thread
of this process) and record each request's latency; reported: median, p95 and throughput.
PostgreSQL: a fresh database ``ptui_bench_<id>`` is created, migrated by
``partner_api.db.Database``, filled with the SQLite portfolio's tables (COPY, in dependency
order; the copy time is reported) and dropped at the end.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
import uuid
from contextlib import closing
from pathlib import Path
from typing import Any

from benchmarks.common import Context, Result, serve, summary
from benchmarks.portfolio import Portfolio

CONCURRENCY = 20
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

KEY = "dashboard_sqlite_median"  # the JSON key of this measure's headline figure


def _choices(path: Path) -> dict[str, list[Any]]:
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        return {
            "month": [r[0] for r in conn.execute("SELECT DISTINCT month FROM client_month")],
            "group": [r[0] for r in conn.execute("SELECT id FROM client_group")],
            "user": [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM app_user WHERE active AND NOT is_partneradmin"
                )
            ],
        }


def _requests(choices: dict[str, list[Any]], n: int, seed: int) -> list[dict[str, Any]]:
    """Varied filters: every request has a month; a mix of none, group, user, role."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        params: dict[str, Any] = {"month": rng.choice(choices["month"])}
        kind = rng.random()
        if kind < 0.3 and choices["group"]:
            params["group"] = rng.choice(choices["group"])
        elif kind < 0.6 and choices["user"]:
            params["user"] = rng.choice(choices["user"])
            if rng.random() < 0.5:
                params["role"] = rng.choice(["ansvarlig", "medarbeider"])
        elif kind < 0.75:
            params["role"] = "ansvarlig"
        out.append(params)
    return out


def load(
    url: str, token: str, choices: dict[str, list[Any]], per_client: int
) -> tuple[list[float], float, int]:
    """(latencies in ms, wall seconds, errors) for CONCURRENCY threads × per_client requests."""
    import httpx

    latencies: list[list[float]] = [[] for _ in range(CONCURRENCY)]
    errors = [0] * CONCURRENCY
    barrier = threading.Barrier(CONCURRENCY + 1)

    def client(i: int) -> None:
        plan = _requests(choices, per_client, seed=i)
        with httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120
        ) as http:
            http.get("/health")  # connect outside the timing
            barrier.wait()
            for params in plan:
                started = time.perf_counter()
                response = http.get("/v1/dashboard", params=params)
                latencies[i].append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    errors[i] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CONCURRENCY)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    return [x for xs in latencies for x in xs], wall, sum(errors)


def alone(url: str, token: str, choices: dict[str, list[Any]], n: int) -> list[float]:
    """Latencies (ms) of ``n`` requests from one client, one at a time (no queueing)."""
    import httpx

    out = []
    with httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120
    ) as http:
        http.get("/health")
        for params in _requests(choices, n, seed=99):
            started = time.perf_counter()
            http.get("/v1/dashboard", params=params).raise_for_status()
            out.append((time.perf_counter() - started) * 1000)
    return out


def _results(
    backend: str, lat: list[float], wall: float, errors: int, single: list[float]
) -> list[Result]:
    stats = summary(lat)
    note = (
        f"{CONCURRENCY} concurrent clients × {len(lat) // CONCURRENCY} requests; "
        f"{len(lat) / wall:.1f} req/s; {errors} errors"
    )
    return [
        Result(
            f"dashboard_{backend}_single",
            f"/v1/dashboard, {backend}, one client alone",
            summary(single)["median"],
            "ms",
            note=f"median of {len(single)} sequential requests, same mix of filters",
            extra={"ms": summary(single)},
        ),
        Result(
            f"dashboard_{backend}_median",
            f"/v1/dashboard, {backend}, median",
            stats["median"],
            "ms",
            note=note,
            extra={"ms": stats, "errors": errors},
        ),
        Result(f"dashboard_{backend}_p95", f"/v1/dashboard, {backend}, p95", stats["p95"], "ms"),
        Result(
            f"dashboard_{backend}_throughput",
            f"/v1/dashboard, {backend}, throughput",
            len(lat) / wall,
            "req/s",
        ),
    ]


# ---- PostgreSQL ---------------------------------------------------------------------------


def copy_to_postgres(portfolio: Portfolio, pg_url: str) -> tuple[float, dict[str, int]]:
    """Copy every table of the SQLite portfolio into the (migrated, empty) database."""
    import psycopg
    from sqlalchemy.engine import make_url
    from sqlmodel import SQLModel

    import partner_api.models  # noqa: F401  (fills SQLModel.metadata)

    url = make_url(pg_url).set(drivername="postgresql")
    counts: dict[str, int] = {}
    started = time.perf_counter()
    with (
        closing(sqlite3.connect(f"file:{portfolio.path}?mode=ro", uri=True)) as src,
        psycopg.connect(url.render_as_string(hide_password=False)) as dst,
    ):
        present = {r[0] for r in src.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        tables = [t for t in SQLModel.metadata.sorted_tables if t.name in present]
        with dst.cursor() as cur:
            cur.execute("TRUNCATE " + ", ".join(f'"{t.name}"' for t in tables) + " CASCADE")
            try:  # a bulk load of consistent data: skip the per-row foreign-key triggers
                cur.execute("SET session_replication_role = replica")
            except psycopg.Error:
                dst.rollback()
                cur.execute("TRUNCATE " + ", ".join(f'"{t.name}"' for t in tables) + " CASCADE")
            for table in tables:
                cols = [c.name for c in table.columns]
                names = ", ".join(f'"{c}"' for c in cols)
                bools = [
                    i for i, c in enumerate(table.columns) if c.type.python_type is bool
                ]  # SQLite holds 0/1
                n = 0
                with cur.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
                    for row in src.execute(f'SELECT {names} FROM "{table.name}"'):
                        if bools:
                            row = list(row)
                            for i in bools:
                                if row[i] is not None:
                                    row[i] = bool(row[i])
                        copy.write_row(row)
                        n += 1
                counts[table.name] = n
                if "id" in cols and n:
                    cur.execute(
                        f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'),"
                        f' (SELECT max(id) FROM "{table.name}"))'
                    )
            cur.execute("SET session_replication_role = DEFAULT")
        dst.commit()
        dst.autocommit = True
        dst.execute("ANALYZE")
    return time.perf_counter() - started, counts


def _admin(pg_url: str) -> Any:
    from sqlalchemy import create_engine

    from partner_api.db import normalise_url

    return create_engine(normalise_url(pg_url), isolation_level="AUTOCOMMIT")


def run_postgres(ctx: Context, per_client: int, choices: dict[str, list[Any]]) -> list[Result]:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from partner_api.db import Database, normalise_url

    base = ctx.pg_url or DEFAULT_PG
    name = f"ptui_bench_{uuid.uuid4().hex[:10]}"
    admin = _admin(base)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # no server, no rights: report, don't fail the run
        admin.dispose()
        return [
            Result(
                "dashboard_postgres_median",
                "/v1/dashboard, postgres, median",
                None,
                "ms",
                note=f"PostgreSQL not available: {type(exc).__name__}: "
                f"{str(exc).splitlines()[0][:120]}",
            )
        ]
    url = make_url(normalise_url(base)).set(database=name).render_as_string(hide_password=False)
    try:
        Database(url).dispose()  # migrate
        copy_s, counts = copy_to_postgres(ctx.portfolio, url)
        with serve(url) as srv:
            load(srv.url, srv.token, choices, 2)  # warm-up
            single = alone(srv.url, srv.token, choices, per_client)
            lat, wall, errors = load(srv.url, srv.token, choices, per_client)
        results = _results("postgres", lat, wall, errors, single)
        results.append(
            Result(
                "postgres_copy",
                "  copy of the portfolio into PostgreSQL",
                copy_s,
                "s",
                note=f"{sum(counts.values()):,} rows, COPY",
                extra={"rows": counts},
            )
        )
        return results
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(ctx: Context) -> list[Result]:
    per_client = ctx.reps(25, 3)
    choices = _choices(ctx.portfolio.path)
    with serve(ctx.portfolio.path) as srv:
        load(srv.url, srv.token, choices, 2)  # warm-up
        single = alone(srv.url, srv.token, choices, per_client)
        lat, wall, errors = load(srv.url, srv.token, choices, per_client)
    results = _results("sqlite", lat, wall, errors, single)
    if ctx.skip_postgres:
        results.append(
            Result(
                "dashboard_postgres_median",
                "/v1/dashboard, postgres, median",
                None,
                "ms",
                note="skipped (--skip-postgres)",
            )
        )
    else:
        results += run_postgres(ctx, per_client, choices)
    return results
