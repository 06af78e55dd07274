"""The gap-free change version (DESIGN.md §4).

Every write transaction that touches a synced row bumps the counter row in ``sync_state`` once,
first, and stamps that version on every synced row it inserts or changes; deleting a synced row
writes a tombstone with the same version. The row lock on ``sync_state`` serialises writers, so
versions become visible in commit order and a reader never passes a version that commits later.

This runs as a ``before_flush`` hook, so no service code can forget it. Writes must go through
the ORM session (no Core ``delete()`` on synced tables) for the hook to see them.
"""

from typing import Any

from sqlalchemy import event, text
from sqlalchemy.orm import Session, UOWTransaction

from partner_api.models import KIND_OF_TABLE, Tombstone

_VERSION_KEY = "change_version"


def current_transaction_version(session: Session) -> int:
    """The version of this transaction's writes, bumping the counter on first use."""
    version = session.info.get(_VERSION_KEY)
    if version is None:
        version = session.execute(
            text("UPDATE sync_state SET version = version + 1 WHERE id = 1 RETURNING version")
        ).scalar_one()
        session.info[_VERSION_KEY] = version
    return int(version)


def _before_flush(session: Session, _ctx: UOWTransaction, _instances: Any) -> None:
    touched = [obj for obj in session.new if type(obj) in KIND_OF_TABLE]
    touched += [
        obj
        for obj in session.dirty
        if type(obj) in KIND_OF_TABLE and session.is_modified(obj, include_collections=False)
    ]
    deleted = [obj for obj in session.deleted if type(obj) in KIND_OF_TABLE]
    if not touched and not deleted:
        return
    version = current_transaction_version(session)
    for obj in touched:
        obj.version = version
    for obj in deleted:
        session.add(
            Tombstone(
                partner_id=_partner_of(obj),
                kind=KIND_OF_TABLE[type(obj)],
                entity_id=obj.id,
                version=version,
            )
        )


def _partner_of(obj: Any) -> int:
    # Partner rows are their own tenant.
    return int(getattr(obj, "partner_id", None) or obj.id)


def _forget_version(session: Session, *_args: Any) -> None:
    session.info.pop(_VERSION_KEY, None)


def install(session_class: type[Session] = Session) -> None:
    """Register the hooks once for every session of ``session_class``."""
    if not event.contains(session_class, "before_flush", _before_flush):
        event.listen(session_class, "before_flush", _before_flush)
        event.listen(session_class, "after_commit", _forget_version)
        event.listen(session_class, "after_rollback", _forget_version)
        event.listen(session_class, "after_soft_rollback", _forget_version)
