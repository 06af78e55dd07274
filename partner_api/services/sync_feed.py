"""The change feed: ``GET /v1/sync/changes`` (DESIGN.md §4, research/sync-api.md §0.4).

Changes come ordered by (version, kind, id), each entity once in its latest state, tombstones
for hard deletes. The cursor is an opaque, HMAC-signed position; it carries no authority: the
caller's partner is checked on every call, and a cursor minted for another partner, an older
database epoch, a pruned history or another schema revision is answered with 410 Gone.
"""

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, Table, and_, select
from sqlmodel import Session, SQLModel, col

from partner_api.models import SYNC_KINDS, Partner, SyncState, Tombstone, utcnow
from partner_api.problems import ProblemError
from partner_api.wire import ROW_MODELS, Change, ChangesPage

# Bump when a sync kind's row shape changes: clients holding an older cursor resync in full.
# 2: access_template and audit_event became sync kinds.
SCHEMA_REVISION = 2
DEFAULT_LIMIT = 1000
MAX_LIMIT = 5000
TOMBSTONE_RETENTION = timedelta(days=45)


@dataclass(frozen=True)
class Position:
    version: int = 0
    kind: str = ""
    id: int = 0


def _sign(secret: str, payload: bytes) -> str:
    return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()[:32]


def encode_cursor(state: SyncState, partner_id: int, pos: Position) -> str:
    payload = json.dumps(
        {
            "e": state.epoch,
            "p": partner_id,
            "s": SCHEMA_REVISION,
            "v": pos.version,
            "k": pos.kind,
            "i": pos.id,
        },
        separators=(",", ":"),
    ).encode()
    body = base64.urlsafe_b64encode(payload).decode().rstrip("=")
    return f"{body}.{_sign(state.secret, payload)}"


def _gone(slug: str, detail: str) -> ProblemError:
    return ProblemError(410, slug, "Sync cursor no longer valid", detail + " Do a full resync.")


def decode_cursor(state: SyncState, partner_id: int, cursor: str | None) -> Position:
    if not cursor:
        return Position()
    try:
        body, signature = cursor.split(".", 1)
        payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        valid = hmac.compare_digest(signature, _sign(state.secret, payload))
        data = json.loads(payload) if valid else None
    except (ValueError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict):
        # A cursor signed with another secret most likely comes from a recreated database.
        raise _gone("sync-epoch-changed", "The cursor was not issued by this database.")
    if data.get("e") != state.epoch:
        raise _gone("sync-epoch-changed", "The database was recreated or restored.")
    if data.get("p") != partner_id:
        raise _gone("sync-scope-changed", "The cursor belongs to another account.")
    if data.get("s") != SCHEMA_REVISION:
        raise _gone("sync-schema-changed", "The sync schema changed.")
    pos = Position(int(data["v"]), str(data["k"]), int(data["i"]))
    if pos.version and pos.version < state.min_valid_version:
        raise _gone("sync-cursor-expired", "The cursor is older than the kept history.")
    if pos.version > state.version:
        raise _gone("sync-epoch-changed", "The cursor is ahead of the database.")
    return pos


def _table(model: type[SQLModel]) -> Table:
    # SQLAlchemy sets ``__table__`` on every table=True model; SQLModel does not declare it.
    return model.__table__  # type: ignore[attr-defined]


def _pages(session: Session, statements: list[Select[Any]], limit: int) -> list[Any]:
    """The first ``limit`` rows of ``statements`` read one after another, in that order.

    Each statement is one contiguous, index-seekable range of the feed order, and the ranges
    follow each other: a range is only read while the earlier ones came up short.
    """
    rows: list[Any] = []
    for stmt in statements:
        if len(rows) >= limit:
            break
        rows.extend(session.execute(stmt.limit(limit - len(rows))).all())
    return rows


def _jsonable(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def _change(version: int, kind: str, id: int, upsert: bool, fields: list[str], row: Any) -> Change:
    if not upsert:
        return Change(kind=kind, id=id, op="delete", version=version)
    data = {f: _jsonable(v) for f, v in zip(fields, row[1:], strict=True)}
    return Change(kind=kind, id=id, op="upsert", version=version, data=data)


def changes(session: Session, partner_id: int, cursor: str | None, limit: int) -> ChangesPage:
    state = session.get(SyncState, 1)
    assert state is not None, "database not initialised"
    pos = decode_cursor(state, partner_id, cursor)
    limit = max(1, min(limit or DEFAULT_LIMIT, MAX_LIMIT))
    # Read every kind as of one snapshot version: rows stamped above it are left for the next
    # call, so a page never mixes a half-committed future with the present.
    high = state.version

    # "(version, kind, id) > pos and version <= high" as ranges that each seek an index on
    # (partner_id, version, id) and stop after ``limit + 1`` rows: the rest of ``pos.version``
    # (for this kind: ids after ``pos.id`` in the cursor's kind, every id in later kinds,
    # nothing in earlier ones), then the versions after it up to the snapshot. One OR of both
    # would make the database scan the partner's rows and sort them.
    same_version = pos.version <= high
    later_versions = pos.version < high
    # Candidates as (version, kind, id, is_upsert, fields, row): up to ``limit + 1`` per kind;
    # only the ones that make the page are turned into ``Change`` objects.
    found: list[tuple[int, str, int, bool, list[str], Any]] = []
    for kind, table in SYNC_KINDS.items():
        tbl = _table(table)
        fields = list(ROW_MODELS[kind].model_fields)
        scope = tbl.c.id == partner_id if table is Partner else tbl.c.partner_id == partner_id
        base = select(tbl.c.version, *(tbl.c[f] for f in fields)).order_by(tbl.c.version, tbl.c.id)
        ranges: list[Select[Any]] = []
        if same_version and kind >= pos.kind:
            tail = [tbl.c.id > pos.id] if kind == pos.kind else []
            ranges.append(base.where(scope, tbl.c.version == pos.version, *tail))
        if later_versions:
            ranges.append(base.where(scope, tbl.c.version > pos.version, tbl.c.version <= high))
        found.extend(
            (row[0], kind, row.id, True, fields, row) for row in _pages(session, ranges, limit + 1)
        )

    # Tombstones in (version, kind, entity_id) order, likewise in seekable ranges.
    tomb = _table(Tombstone)
    base = select(tomb.c.kind, tomb.c.entity_id, tomb.c.version).order_by(
        tomb.c.version, tomb.c.kind, tomb.c.entity_id
    )
    scope = tomb.c.partner_id == partner_id
    ranges = []
    if same_version:
        at_pos = and_(scope, tomb.c.version == pos.version)
        ranges.append(base.where(at_pos, tomb.c.kind == pos.kind, tomb.c.entity_id > pos.id))
        ranges.append(base.where(at_pos, tomb.c.kind > pos.kind))
    if later_versions:
        ranges.append(base.where(scope, tomb.c.version > pos.version, tomb.c.version <= high))
    found.extend(
        (version, kind, entity_id, False, [], None)
        for kind, entity_id, version in _pages(session, ranges, limit + 1)
    )

    found.sort(key=lambda c: c[:4])
    page = [_change(*c) for c in found[:limit]]
    has_more = len(found) > limit
    if page:
        last = page[-1]
        next_pos = Position(last.version, last.kind, last.id)
    elif not has_more:
        # Nothing newer: move the cursor up to the snapshot so later calls start there.
        next_pos = Position(high, "", 0) if high > pos.version else pos
    else:
        next_pos = pos
    return ChangesPage(
        changes=page,
        next_cursor=encode_cursor(state, partner_id, next_pos),
        has_more=has_more,
        server_version=high,
    )


def prune_tombstones(session: Session, now: datetime | None = None) -> int:
    """Drop tombstones past retention; cursors older than them then get 410."""
    cutoff = (now or utcnow()) - TOMBSTONE_RETENTION
    old = (
        session.execute(select(Tombstone).where(col(Tombstone.deleted_at) < cutoff)).scalars().all()
    )
    if not old:
        return 0
    state = session.get(SyncState, 1)
    assert state is not None
    state.min_valid_version = max(state.min_valid_version, *(t.version for t in old))
    for t in old:
        session.delete(t)
    return len(old)
