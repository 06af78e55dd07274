"""Fixtures for the Pilot tests: a real cache file with hand-written rows (hostile names
included) and a fake syncer that stands in for the network by writing rows into the cache."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest

from partner_tui.core.cache import CacheDB, set_meta

TODAY = date(2026, 12, 10)  # dashboard opens on november 2026; 2026-10's deadline has passed

USERS = [(1, "Kari Nordmann"), (2, "Ola Hansen"), (3, "Per [bold]Pål")]
# (id, orgnr, name, payroll_enabled, status, uses_partner_altinn)
CLIENTS = [
    (1, "910000001", "Acme [/] AS", True, "active", True),
    (2, "910000002", "[@click=app.quit] Rør AS", True, "active", False),
    (3, "910000003", "Bakeriet Ærlig AS", True, "active", False),
    (4, "910000004", "Øst Regnskap AS", True, "archived", False),
    (5, "910000005", "Åsen Bygg AS", False, "active", True),
    (6, "910000006", "Acme\x1b]0;PWNED\x07 Nord AS", True, "active", False),
]
GROUPS = [(10, "Utbetaling 20."), (11, "[link=https://evil.example]VIP")]
MEMBERS = [(10, 1), (10, 2), (11, 3), (11, 6)]
GRANTS = [
    (1, 1, "ansvarlig"),
    (2, 1, "medarbeider"),
    (2, 2, "ansvarlig"),
    (1, 3, "ansvarlig"),
    (3, 6, "medarbeider"),
    (1, 6, "medarbeider"),
]
# (client, month, employees, payslips, claims, absences, auto, steps, salary øre, status)
MONTHS = [
    (1, "2026-11", 12, 12, 3, 1, 40, 50, 123_456_789, "mottatt"),
    (2, "2026-11", 5, 4, 2, 0, 10, 25, 2_150_050, "avvist"),
    (3, "2026-11", 7, 7, 0, 2, 20, 35, 3_800_000, None),
    (6, "2026-11", 1, 1, 1, 0, 5, 5, 1_000_000, "mottatt"),
    (1, "2026-10", 11, 11, 1, 0, 30, 50, 100_000_000, "mottatt"),
    (2, "2026-10", 5, 5, 0, 1, 10, 25, 2_000_000, "avvist"),
    (3, "2026-10", 6, 6, 2, 0, 15, 35, 3_500_000, "mottatt"),
]


def insert_rows(conn, *, clients=CLIENTS, version: int = 1) -> None:  # type: ignore[no-untyped-def]
    ex = conn.exec_driver_sql
    ex(
        "INSERT OR REPLACE INTO user (id, version, name, email, is_admin, is_partneradmin, active)"
        " VALUES (?, ?, ?, ?, 0, 1, 1)",
        [(i, version, n, f"u{i}@x.no") for i, n in USERS],
    )
    ex(
        "INSERT OR REPLACE INTO client (id, version, orgnr, name, payroll_enabled, payout_day,"
        " uses_partner_altinn, status) VALUES (?, ?, ?, ?, ?, 20, ?, ?)",
        [(c, version, o, n, p, a, s) for c, o, n, p, s, a in clients],
    )
    ex(
        "INSERT OR REPLACE INTO client_group (id, version, name) VALUES (?, ?, ?)",
        [(g, version, n) for g, n in GROUPS],
    )
    ex(
        "INSERT OR REPLACE INTO client_group_member (id, version, group_id, client_id)"
        " VALUES (?, ?, ?, ?)",
        [(k, version, g, c) for k, (g, c) in enumerate(MEMBERS, 1)],
    )
    ex(
        "INSERT OR REPLACE INTO access_grant (id, version, user_id, client_id, access_level, role,"
        " role_source) VALUES (?, ?, ?, ?, 'full', ?, 'auto')",
        [(k, version, u, c, r) for k, (u, c, r) in enumerate(GRANTS, 1)],
    )
    ex(
        "INSERT OR REPLACE INTO client_month (id, version, client_id, month, active_employees,"
        " payslips_sent, claims, absences, auto_steps, total_steps, salary_paid_ore,"
        " withholding_ore, aga_ore, amelding_status)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?)",
        [(k, version, *row) for k, row in enumerate(MONTHS, 1)],
    )


def fill_cache(db: CacheDB, *, last_sync_at: str = "2026-12-03T13:05:00+00:00") -> None:
    with db.write() as conn:
        insert_rows(conn)
        set_meta(conn, "cursor", "c1")
        set_meta(conn, "last_sync_at", last_sync_at)
        set_meta(conn, "me_user_id", "1")
        conn.exec_driver_sql(
            "INSERT INTO outbox (created_at, idempotency_key, method, path, body, summary,"
            " status, attempts) VALUES ('2026-12-01T00:00:00Z', ?, 'POST', '/x', '{}', '',"
            " 'pending', 0)",
            [("k1",), ("k2",)],
        )


@pytest.fixture()
def cache(tmp_path: Path) -> Iterator[CacheDB]:
    db = CacheDB(tmp_path / "cache.sqlite")
    fill_cache(db)
    yield db
    db.dispose()


@pytest.fixture()
def empty_cache(tmp_path: Path) -> Iterator[CacheDB]:
    db = CacheDB(tmp_path / "empty.sqlite")
    yield db
    db.dispose()


@dataclass
class FakeReport:
    full: bool
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.2


class FakeSyncer:
    """Stands in for the network: writes rows into the (real) cache, or fails like the API."""

    def __init__(
        self,
        cache: CacheDB,
        *,
        fail: Exception | None = None,
        extra_client: tuple[int, str, str] | None = None,
    ) -> None:
        self.cache, self.fail, self.extra_client = cache, fail, extra_client
        self.calls = 0

    def sync(self) -> FakeReport:
        self.calls += 1
        if self.fail is not None:
            raise self.fail
        full = self.cache.is_empty()
        with self.cache.write() as conn:
            insert_rows(conn, version=1 + self.calls)
            if self.extra_client:
                cid, orgnr, name = self.extra_client
                conn.exec_driver_sql(
                    "INSERT OR REPLACE INTO client (id, version, orgnr, name, payroll_enabled,"
                    " uses_partner_altinn, status) VALUES (?, 9, ?, ?, 1, 0, 'active')",
                    (cid, orgnr, name),
                )
            set_meta(conn, "cursor", f"c{self.calls}")
            set_meta(conn, "last_sync_at", "2026-12-10T09:00:00+00:00")
            set_meta(conn, "me_user_id", "1")
        return FakeReport(full=full, counts={"client": len(CLIENTS)})


class FakeProblem:
    def __init__(self, detail: str) -> None:
        self.detail, self.title, self.status = detail, "Feil", 500


class ApiError(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.problem = FakeProblem(detail)


class ApiUnreachable(Exception):
    pass
