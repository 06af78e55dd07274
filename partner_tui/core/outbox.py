"""The outbox: writes queued in the cache until the API has them (DESIGN.md §5).

An item is the user's intent, so it is never dropped silently:

- it gets its ``Idempotency-Key`` once, when queued, and sends that same key on every retry,
  so a write that reached the server before a crash is replayed, not applied twice;
- no answer (offline, timeout, 5xx, 429) → it stays ``pending`` and is tried again later;
- 401/403 → it stays ``pending`` and pushing stops: the user must fix the token first;
- any other refusal → ``rejected`` with the server's reason, visible until dismissed;
- success → ``applied`` with the server's answer.

Items are sent oldest first; an item is marked ``inflight`` in its own transaction before it
is sent, and ``inflight`` items found at start-up (the app was killed mid-send) go back to
``pending`` — their key makes the resend safe.
"""

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from partner_tui.core.api_client import ApiClient, ApiError, ApiUnreachable
from partner_tui.core.bulk import QueuedTouches
from partner_tui.core.cache import CacheDB
from partner_tui.core.i18n import problem_text

PENDING, INFLIGHT, APPLIED, REJECTED = "pending", "inflight", "applied", "rejected"
_RETRY_STATUSES = {408, 425, 429, 500, 502, 503, 504}
_AUTH_STATUSES = {401, 403}


@dataclass(frozen=True)
class QueuedWrite:
    id: int
    created_at: str
    idempotency_key: str
    method: str
    path: str
    body: Any
    summary: str
    status: str
    attempts: int
    last_problem: str | None


@dataclass
class PushReport:
    applied: list[QueuedWrite] = field(default_factory=list)
    rejected: list[QueuedWrite] = field(default_factory=list)
    still_pending: int = 0
    stopped_because: str | None = None  # "offline" | "auth" | None
    answers: dict[int, Any] = field(default_factory=dict)  # item id → the server's JSON answer


def enqueue(cache: CacheDB, method: str, path: str, body: Any, summary: str) -> QueuedWrite:
    """Queue one write; the idempotency key is fixed here, once, for every future retry."""
    now = datetime.now(UTC).isoformat(timespec="seconds")
    key = str(uuid.uuid4())
    with cache.write() as conn:
        conn.exec_driver_sql(
            "INSERT INTO outbox (created_at, idempotency_key, method, path, body, summary, "
            "status, attempts) VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
            (
                now,
                key,
                method.upper(),
                path,
                json.dumps(body, ensure_ascii=False),
                summary,
                PENDING,
            ),
        )
        row_id = conn.exec_driver_sql("SELECT last_insert_rowid()").scalar_one()
    item = get(cache, int(row_id))
    assert item is not None
    return item


def get(cache: CacheDB, item_id: int) -> QueuedWrite | None:
    items = _select(cache, "WHERE id = ?", (item_id,))
    return items[0] if items else None


def listed(cache: CacheDB, *statuses: str) -> list[QueuedWrite]:
    marks = ", ".join("?" for _ in statuses)
    return _select(cache, f"WHERE status IN ({marks}) ORDER BY id", statuses)


def recover_inflight(cache: CacheDB) -> int:
    """Put items that were being sent when the app died back in the queue."""
    with cache.write() as conn:
        result = conn.exec_driver_sql(
            "UPDATE outbox SET status = ? WHERE status = ?", (PENDING, INFLIGHT)
        )
        return int(result.rowcount or 0)


def dismiss(cache: CacheDB, item_id: int) -> bool:
    """Remove a rejected item the user has read; pending items cannot be dismissed here."""
    with cache.write() as conn:
        result = conn.exec_driver_sql(
            "DELETE FROM outbox WHERE id = ? AND status = ?", (item_id, REJECTED)
        )
        return bool(result.rowcount)


def push(
    cache: CacheDB, api: ApiClient, *, progress: Callable[[int, int], None] | None = None
) -> PushReport:
    """Send pending items oldest first until done, offline, or refused for auth."""
    recover_inflight(cache)
    queue = listed(cache, PENDING)
    report = PushReport()
    for done, item in enumerate(queue):
        _mark(cache, item.id, INFLIGHT, attempts=item.attempts + 1)
        try:
            response = api.request(
                item.method,
                item.path,
                json=item.body,
                headers={"Idempotency-Key": item.idempotency_key},
            )
        except ApiUnreachable as exc:
            _mark(cache, item.id, PENDING, problem=str(exc))
            report.stopped_because = "offline"
            break
        except ApiError as exc:
            reason = problem_text(exc.problem.type, exc.problem.detail or exc.problem.title)
            if exc.status in _AUTH_STATUSES:
                _mark(cache, item.id, PENDING, problem=reason)
                report.stopped_because = "auth"
                break
            if exc.status in _RETRY_STATUSES:
                _mark(cache, item.id, PENDING, problem=reason)
                report.stopped_because = "offline"
                break
            _mark(cache, item.id, REJECTED, problem=reason)
            report.rejected.append(item)
        else:
            answer = response.json() if response.content else None
            version = answer.get("version") if isinstance(answer, dict) else None
            failures = failed_items(answer)
            if failures:
                # A bulk answer is 200 even when some clients failed: those failures are the
                # user's business, so the item stays visible as rejected with each reason.
                _mark(cache, item.id, REJECTED, problem=failures, server_version=version)
                report.rejected.append(item)
            else:
                _mark(cache, item.id, APPLIED, server_version=version)
                report.applied.append(item)
            report.answers[item.id] = answer
        if progress:
            progress(done + 1, len(queue))
    report.still_pending = len(listed(cache, PENDING))
    return report


def failed_items(answer: Any) -> str | None:
    """The failed items of a bulk answer as one readable line, or None when none failed
    (or when the answer is not a bulk answer)."""
    if not isinstance(answer, dict) or not isinstance(answer.get("results"), list):
        return None
    failed = [r for r in answer["results"] if isinstance(r, dict) and r.get("status") == "failed"]
    if not failed:
        return None
    parts = []
    for r in failed[:5]:
        problem = r.get("problem") or {}
        who = f"klient {r.get('client_id')}" if r.get("client_id") is not None else "element"
        text = problem.get("detail") or problem.get("title") or "feilet"
        parts.append(f"{who}: {problem_text(problem.get('type'), text)}")
    more = f" (+{len(failed) - 5} flere)" if len(failed) > 5 else ""
    applied = "" if answer.get("applied", True) else " — ingenting ble endret"
    return f"{len(failed)} av {len(answer['results'])} feilet{applied}: " + "; ".join(parts) + more


def prune_applied(cache: CacheDB) -> int:
    with cache.write() as conn:
        result = conn.exec_driver_sql("DELETE FROM outbox WHERE status = ?", (APPLIED,))
        return int(result.rowcount or 0)


def _mark(
    cache: CacheDB,
    item_id: int,
    status: str,
    *,
    attempts: int | None = None,
    problem: str | None = None,
    server_version: int | None = None,
) -> None:
    with cache.write() as conn:
        _update(conn, item_id, status, attempts, problem, server_version)


def _update(
    conn: Connection,
    item_id: int,
    status: str,
    attempts: int | None,
    problem: str | None,
    server_version: int | None,
) -> None:
    conn.exec_driver_sql(
        "UPDATE outbox SET status = ?, attempts = coalesce(?, attempts), "
        "last_problem = coalesce(?, last_problem), server_version = coalesce(?, server_version) "
        "WHERE id = ?",
        (status, attempts, problem, server_version, item_id),
    )


def _select(cache: CacheDB, where: str, params: tuple[Any, ...]) -> list[QueuedWrite]:
    with cache.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT id, created_at, idempotency_key, method, path, body, summary, status, "
            f"attempts, last_problem FROM outbox {where}",
            params,
        ).all()
    return [
        QueuedWrite(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], r[7], r[8], r[9])
        for r in rows
    ]


def queued_touches(cache: CacheDB) -> QueuedTouches:
    """The grants the pending (and in-flight) writes will change, read from their bodies."""
    touched = QueuedTouches()
    for item in listed(cache, PENDING, INFLIGHT):
        body = item.body if isinstance(item.body, dict) else {}
        if item.path.endswith(":offboard"):
            user = item.path.removeprefix("/v1/users/").split(":", 1)[0]
            if user.isdigit():
                touched.users.add(int(user))
            handover = body.get("handover") or {}
            touched.users.update(
                int(u)
                for u in [
                    handover.get("default_user_id"),
                    *dict(handover.get("per_client") or {}).values(),
                ]
                if u
            )
        for op in body.get("items") or []:
            if isinstance(op, dict) and "user_id" in op and "client_id" in op:
                touched.pairs.add((int(op["user_id"]), int(op["client_id"])))
        if item.path.endswith(":copy") and body.get("to_user_id"):
            touched.users.add(int(body["to_user_id"]))
    return touched
