"""What every measure shares: the result row, statistics, the run context and its fixtures
(a token, a warm cache, a loopback server, child processes)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

from benchmarks.portfolio import Portfolio

# The "today" every app run uses: the dashboard opens on the portfolio's last month (2026-11).
TODAY = date(2026, 12, 10)
ROOT = Path(__file__).resolve().parent.parent

BudgetKind = Literal["ratio", "max", "info"]


@dataclass
class Result:
    """One printed line (and one JSON entry) of a measure.

    ``kind``: ``ratio`` — ok when value / reference ≤ limit; ``max`` — ok when value ≤ limit;
    ``info`` — reported, no budget. ``value`` None means the measure was not available.
    """

    key: str
    label: str
    value: float | None
    unit: str
    kind: BudgetKind = "info"
    limit: float | None = None
    reference: float | None = None
    reference_label: str = ""
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.reference:
            return None
        return self.value / self.reference

    @property
    def ok(self) -> bool | None:
        if self.value is None or self.limit is None or self.kind == "info":
            return None
        if self.kind == "ratio":
            ratio = self.ratio
            return None if ratio is None else ratio <= self.limit
        return self.value <= self.limit

    @property
    def budget(self) -> str:
        if self.kind == "ratio" and self.limit is not None:
            return f"≤ {self.limit:g}× ref"
        if self.kind == "max" and self.limit is not None:
            return f"≤ {fmt(self.limit, self.unit)}"
        return "—"

    @property
    def verdict(self) -> str:
        if self.value is None:
            return "n/a"
        ok = self.ok
        if ok is None:
            return "info"
        if ok:
            return "ok"
        if self.kind == "ratio":
            assert self.ratio is not None and self.limit is not None
            return f"OVER ×{self.ratio / self.limit:.2f}"
        assert self.limit is not None and self.value is not None
        return f"OVER ×{self.value / self.limit:.2f}" if self.limit else "OVER"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(ratio=self.ratio, ok=self.ok, budget=self.budget, verdict=self.verdict)
        return data


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "s":
        return f"{value:,.2f} s" if value < 10 else f"{value:,.1f} s"
    if unit == "ms":
        return f"{value:,.1f} ms" if value < 1000 else f"{value:,.0f} ms"
    if unit == "MB":
        return f"{value:,.1f} MB"
    if unit in ("B", "rows", "req", "clients"):
        return f"{value:,.0f} {unit}"
    if unit == "req/s":
        return f"{value:,.1f} req/s"
    return f"{value:,.3g} {unit}".strip()


def median(xs: Sequence[float]) -> float:
    return float(statistics.median(xs))


def p95(xs: Sequence[float]) -> float:
    """Nearest-rank 95th percentile."""
    s = sorted(xs)
    if not s:
        raise ValueError("no samples")
    k = max(0, min(len(s) - 1, round(0.95 * len(s) + 0.5) - 1))
    return float(s[k])


def summary(xs: Sequence[float]) -> dict[str, float]:
    return {
        "n": len(xs),
        "median": median(xs),
        "p95": p95(xs),
        "min": min(xs),
        "max": max(xs),
        "mean": statistics.fmean(xs),
    }


class NotAvailable(Exception):
    """A measure cannot run here (e.g. the endpoint does not exist yet)."""


@dataclass
class Context:
    data_dir: Path
    portfolio: Portfolio
    quick: bool = False
    skip_postgres: bool = False
    pg_url: str | None = None
    log: Callable[[str], None] = print
    _warm_cache: Path | None = None

    @property
    def work_dir(self) -> Path:
        path = self.data_dir / "work"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def reps(self, full: Any, quick: Any) -> Any:
        return quick if self.quick else full

    # ---- fixtures ---------------------------------------------------------------------------

    def warm_cache(self) -> Path:
        """A cache file fully synced from the portfolio (built once per portfolio, reused)."""
        if self._warm_cache is not None:
            return self._warm_cache
        path = self.data_dir / f"cache-{self.portfolio.path.stem}.sqlite"
        if not _cache_complete(path):
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
            self.log(f"  (building the warm cache {path.name} once)")
            with serve(self.portfolio.path) as srv:
                sync_into(path, srv.url, srv.token)
        self._warm_cache = path
        return path

    def adopt_warm_cache(self, synced: Path) -> None:
        """Keep a cache a measure has just fully synced from the portfolio as the warm cache."""
        path = self.data_dir / f"cache-{self.portfolio.path.stem}.sqlite"
        if _cache_complete(path) or not _cache_complete(synced):
            return
        import sqlite3

        with closing(sqlite3.connect(synced)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        for suffix in ("-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        os.replace(synced, path)
        for suffix in ("-wal", "-shm"):
            Path(str(synced) + suffix).unlink(missing_ok=True)
        self._warm_cache = path


def _cache_complete(path: Path) -> bool:
    """A fully synced cache whose tables have the columns the code has now (a cache from an
    older schema would be emptied by CacheDB and resynced by the app)."""
    if not path.exists():
        return False
    import sqlite3

    from partner_tui.core.cache import KIND_TABLES

    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            for table in KIND_TABLES.values():
                name = str(table.__tablename__)
                have = [r[1] for r in conn.execute(f'PRAGMA table_info("{name}")')]
                if have != [c.name for c in table.__table__.columns]:  # type: ignore[attr-defined]
                    return False
            row = conn.execute("SELECT value FROM meta WHERE key = 'cursor'").fetchone()
            staging = conn.execute("SELECT value FROM meta WHERE key = 'staging_cursor'").fetchone()
            clients = conn.execute("SELECT count(*) FROM client").fetchone()[0]
            return row is not None and staging is None and clients > 0
    except sqlite3.Error:
        return False


def admin_token(db: Any) -> str:
    """A fresh API token for the portfolio's first active partneradmin."""
    from sqlalchemy import select
    from sqlmodel import col

    from partner_api.models import User
    from partner_api.services.tokens import create_token

    with db.transaction() as session:
        admin = (
            session.execute(
                select(User)
                .where(col(User.is_partneradmin), col(User.active))
                .order_by(col(User.id))
            )
            .scalars()
            .first()
        )
        if admin is None:
            raise RuntimeError("the portfolio has no active partneradmin")
        return str(create_token(session, admin))


@dataclass
class Served:
    url: str
    token: str
    db: Any  # partner_api.db.Database


@contextmanager
def serve(db_path_or_url: Path | str) -> Iterator[Served]:
    """The real API (LocalServer, in a thread) over a database, with an admin token."""
    from partner_api.app import create_app
    from partner_api.db import Database
    from partner_api.local_server import LocalServer

    database = Database(str(db_path_or_url))
    token = admin_token(database)
    try:
        with LocalServer(create_app(database)) as server:
            yield Served(server.url, token, database)
    finally:
        database.dispose()


@contextmanager
def syncer(cache_path: Path, url: str, token: str) -> Iterator[Any]:
    """A ``Syncer`` (kept open, as the app keeps it) from ``url`` into the cache file."""
    from partner_tui.core.api_client import ApiClient
    from partner_tui.core.cache import CacheDB
    from partner_tui.core.sync import Syncer

    cache = CacheDB(cache_path)
    try:
        with ApiClient(url, token) as client:
            yield Syncer(client, cache)
    finally:
        cache.dispose()


def sync_into(cache_path: Path, url: str, token: str) -> Any:
    with syncer(cache_path, url, token) as s:
        return s.sync()


def run_child(
    module: str, args: Sequence[str], *, timeout: float = 600, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Run ``python -m module args`` and parse the JSON object on its last stdout line."""
    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), full_env.get("PYTHONPATH", "")) if p
    )
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
        cwd=ROOT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{module} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise RuntimeError(
            f"{module} printed no result:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        )
    return dict(json.loads(lines[-1]))


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    out = fn()
    return time.perf_counter() - started, out
