"""The audit log: one ``audit_event`` per change (who, when, what, before → after, request id).

Events are written in the same transaction as the change they describe, through the ORM
session, so they carry the change version and reach every client through the sync feed.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlmodel import Session, col

from partner_api.models import AuditEvent, utcnow
from partner_api.versioning import insert_rows


@dataclass(frozen=True)
class Actor:
    """Who is making a change: a user of the partner, or the system (``user_id`` None)."""

    partner_id: int
    user_id: int | None
    is_partneradmin: bool = False
    request_id: str | None = None


def _dump(value: dict[str, Any] | None) -> str | None:
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def event(
    actor: Actor,
    action: str,
    entity_kind: str,
    entity_id: int | None,
    *,
    subject_user_id: int | None = None,
    client_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str | None = None,
) -> AuditEvent:
    """A new (not yet added) audit event for a change made by ``actor``."""
    return AuditEvent(
        partner_id=actor.partner_id,
        user_id=actor.user_id,
        action=action,
        entity_kind=entity_kind,
        entity_id=entity_id,
        subject_user_id=subject_user_id,
        client_id=client_id,
        before=_dump(before),
        after=_dump(after),
        note=note,
        request_id=actor.request_id,
    )


def record(session: Session, actor: Actor, action: str, entity_kind: str, **kwargs: Any) -> None:
    entity_id = kwargs.pop("entity_id", None)
    session.add(event(actor, action, entity_kind, entity_id, **kwargs))


def row(
    actor: Actor,
    action: str,
    entity_kind: str,
    entity_id: int | None,
    *,
    subject_user_id: int | None = None,
    client_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    note: str | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """An audit event as a row for ``write_rows`` (the fast path of bulk writes)."""
    return {
        "partner_id": actor.partner_id,
        "user_id": actor.user_id,
        "at": at or utcnow(),
        "action": action,
        "entity_kind": entity_kind,
        "entity_id": entity_id,
        "subject_user_id": subject_user_id,
        "client_id": client_id,
        "before": _dump(before),
        "after": _dump(after),
        "note": note,
        "request_id": actor.request_id,
    }


def write_rows(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert many audit events in one statement, stamped with the change version."""
    insert_rows(session, AuditEvent, rows)


def query(
    session: Session,
    partner_id: int,
    *,
    user_id: int | None = None,
    client_id: int | None = None,
    actor_id: int | None = None,
    action: str | None = None,
    since: datetime | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[AuditEvent]:
    """Newest first. ``user_id`` matches the user a change is about (the subject)."""
    stmt = select(AuditEvent).where(col(AuditEvent.partner_id) == partner_id)
    if user_id is not None:
        stmt = stmt.where(
            or_(
                col(AuditEvent.subject_user_id) == user_id,
                (col(AuditEvent.entity_kind) == "user") & (col(AuditEvent.entity_id) == user_id),
            )
        )
    if client_id is not None:
        stmt = stmt.where(col(AuditEvent.client_id) == client_id)
    if actor_id is not None:
        stmt = stmt.where(col(AuditEvent.user_id) == actor_id)
    if action is not None:
        stmt = stmt.where(col(AuditEvent.action) == action)
    if since is not None:
        stmt = stmt.where(col(AuditEvent.at) >= since)
    if before_id is not None:
        stmt = stmt.where(col(AuditEvent.id) < before_id)
    stmt = stmt.order_by(col(AuditEvent.id).desc()).limit(limit)
    return list(session.execute(stmt).scalars())
