"""Round-trip time of a 1,000-client bulk grant over HTTP (DESIGN.md §8: ≤ 1 s).

Builds a partner with 1,000 clients, 25 users, 12 months of payroll runs per client and
~10,000 existing grants, serves the real API with uvicorn on a loopback port, and times
``POST /v1/access-grants:bulk`` from an httpx client: 1,000 new grants (one user onto every
client), 1,000 changed, 1,000 unchanged, 1,000 revoked, plus a dry run and an idempotent replay.
Each is repeated ``--rounds`` times (with fresh users) and the median and max are printed.

    python benchmarks/bulk_grant_roundtrip.py                      # SQLite (temp file)
    python benchmarks/bulk_grant_roundtrip.py --db postgresql+psycopg://postgres@127.0.0.1/bench
"""

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from partner_api.app import create_app
from partner_api.db import Database
from partner_api.identifiers import make_orgnr
from partner_api.local_server import LocalServer
from partner_api.models import AccessGrant, Client, PayrollRun
from partner_api.services import portfolio
from partner_api.services.tokens import create_token

CLIENTS = 1000


def build(db: Database, rounds: int) -> tuple[str, list[int], list[int]]:
    rng = random.Random(7)
    with db.transaction() as s:
        partner = portfolio.create_partner(s, f"Bench {uuid.uuid4().hex[:6]}", "923609016")
        assert partner.id is not None
        admin = portfolio.create_user(
            s, partner, "Admin", f"admin-{uuid.uuid4().hex[:8]}@bench.example", partneradmin=True
        )
        staff = [
            portfolio.create_user(s, partner, f"Staff {i}", f"s{i}-{uuid.uuid4().hex[:8]}@b.ex")
            for i in range(24 + 2 * rounds)
        ]
        orgnrs: set[str] = set()
        while len(orgnrs) < CLIENTS:
            orgnrs.add(make_orgnr(rng))
        clients = [Client(partner_id=partner.id, orgnr=o, name=f"Klient {o} AS") for o in orgnrs]
        s.add_all(clients)
        s.flush()
        client_ids = [c.id for c in clients if c.id is not None]
        for cid in client_ids:
            for month in range(1, 13):
                s.add(
                    PayrollRun(
                        partner_id=partner.id,
                        client_id=cid,
                        external_ref=f"{cid}-{month}",
                        period=f"2026-{month:02d}",
                        pay_date=date(2026, month, 20),
                        run_by_user_id=rng.choice(staff[:24]).id,
                    )
                )
            for user in rng.sample(staff[:24], 10):
                s.add(
                    AccessGrant(
                        partner_id=partner.id,
                        user_id=user.id,  # type: ignore[arg-type]
                        client_id=cid,
                        access_level=rng.choice(["full", "payroll", "read"]),
                    )
                )
        token = create_token(s, admin)
        fresh = [u.id for u in staff[24:] if u.id is not None]
    return token, client_ids, fresh


def timed(http: httpx.Client, body: dict[str, Any], key: str | None) -> tuple[float, Any]:
    headers = {"Idempotency-Key": key} if key else {}
    start = time.perf_counter()
    response = http.post("/v1/access-grants:bulk", json=body, headers=headers)
    elapsed = time.perf_counter() - start
    response.raise_for_status()
    return elapsed, response


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="database URL or SQLite file (default: a temp SQLite file)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    url = args.db or str(Path(tmp.name) / "bench.sqlite")
    db = Database(url)
    token, client_ids, fresh = build(db, args.rounds)
    times: dict[str, list[float]] = {}

    def record(name: str, seconds: float) -> None:
        times.setdefault(name, []).append(seconds)

    with (
        LocalServer(create_app(db)) as server,
        httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
        ) as http,
    ):
        http.get("/v1/me").raise_for_status()  # warm up the connection and the app
        for r in range(args.rounds):
            user = fresh[r]
            create = {
                "items": [
                    {"user_id": user, "client_id": c, "access_level": "payroll"} for c in client_ids
                ]
            }
            seconds, _ = timed(http, {**create, "dry_run": True}, None)
            record("dry run (1,000 would-create)", seconds)
            key = str(uuid.uuid4())
            seconds, first = timed(http, create, key)
            assert first.json()["summary"]["created"] == CLIENTS, first.json()["summary"]
            record("create 1,000 grants", seconds)
            seconds, replay = timed(http, create, key)
            assert replay.headers.get("idempotent-replayed") == "true"
            record("idempotent replay", seconds)
            seconds, _ = timed(http, create, str(uuid.uuid4()))
            record("1,000 unchanged", seconds)
            update = {
                "items": [
                    {"user_id": user, "client_id": c, "access_level": "read"} for c in client_ids
                ]
            }
            seconds, res = timed(http, update, str(uuid.uuid4()))
            assert res.json()["summary"]["updated"] == CLIENTS
            record("update 1,000 grants", seconds)
            revoke = {
                "items": [{"op": "revoke", "user_id": user, "client_id": c} for c in client_ids]
            }
            seconds, res = timed(http, revoke, str(uuid.uuid4()))
            assert res.json()["summary"]["deleted"] == CLIENTS
            record("revoke 1,000 grants", seconds)
            # Many users onto one client is the other shape; time it once per round too.
            many = {
                "items": [
                    {"user_id": u, "client_id": client_ids[r], "access_level": "read"}
                    for u in fresh
                ]
            }
            seconds, _ = timed(http, many, str(uuid.uuid4()))
            record(f"{len(fresh)} users onto one client", seconds)
            undo = {"items": [{**i, "op": "revoke"} for i in many["items"]]}
            timed(http, undo, str(uuid.uuid4()))  # untimed clean-up for the next round
    backend = "PostgreSQL" if db.url.startswith("postgresql") else "SQLite"
    print(f"{backend}: {CLIENTS} clients, {args.rounds} rounds, round trip over loopback HTTP")
    for name, values in times.items():
        print(
            f"  {name:32s} median {statistics.median(values) * 1000:7.1f} ms"
            f"   max {max(values) * 1000:7.1f} ms"
        )
    db.dispose()
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
