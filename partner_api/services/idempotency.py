"""Idempotency keys (research/sync-api.md §0.6).

A write sent with ``Idempotency-Key`` stores its answer in the same transaction as the change;
a retry with the same key and the same request gets that answer again (with
``Idempotent-Replayed: true``) and changes nothing; the same key with another request is 422.
Keys are scoped to the user and kept for ``RETENTION``. Only successful answers are stored: a
refused request (4xx) may be corrected and sent again under the same key.
"""

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlmodel import Session, col

from partner_api.models import IdempotencyKey, utcnow

RETENTION = timedelta(days=7)
MAX_KEY_LENGTH = 200


def fingerprint(method: str, path: str, body: Any) -> str:
    """SHA-256 of the method, the route and the canonical JSON of the (validated) body."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method.upper()} {path}\n{canonical}".encode()).hexdigest()


def find(session: Session, user_id: int, key: str) -> IdempotencyKey | None:
    return session.execute(
        select(IdempotencyKey).where(
            col(IdempotencyKey.user_id) == user_id, col(IdempotencyKey.key) == key
        )
    ).scalar_one_or_none()


def store(session: Session, user_id: int, key: str, fp: str, status_code: int, body: str) -> None:
    session.add(
        IdempotencyKey(
            user_id=user_id, key=key, fingerprint=fp, status_code=status_code, response_json=body
        )
    )


def prune(session: Session, *, user_id: int | None = None, now: datetime | None = None) -> int:
    """Forget keys older than the retention (for one user, or all)."""
    cutoff = (now or utcnow()) - RETENTION
    stmt = delete(IdempotencyKey).where(col(IdempotencyKey.created_at) < cutoff)
    if user_id is not None:
        stmt = stmt.where(col(IdempotencyKey.user_id) == user_id)
    result = session.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0)
