"""The change feed: ``GET /v1/sync/changes`` (DESIGN.md §4, research/sync-api.md §0.4).

Changes come ordered by (version, kind, id), each entity once in its latest state, tombstones
for hard deletes. The cursor is an opaque, HMAC-signed position; it carries no authority: the
caller's partner is checked on every call, and a cursor minted for another partner, an older
database epoch, a pruned history or another schema revision is answered with 410 Gone.

A page is built in two steps, because a full sync reads hundreds of thousands of rows: first
where it ends, from the number of rows per version of every kind (counted by the database on
the indexes over (partner_id, version, id), no row read); then only the rows up to that key,
written straight to JSON (by SQLite itself where it can; no wire-model object per row). A row
and a tombstone with the same (version, kind, id) (an id deleted and used again in one
transaction) are sent as one upsert, so a page boundary can never fall between them.
"""

import base64
import hashlib
import hmac
import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from operator import itemgetter
from typing import Any

from pydantic_core import to_json
from sqlalchemy import (
    Boolean,
    Date,
    Integer,
    String,
    Table,
    and_,
    bindparam,
    func,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.types import TypeDecorator, TypeEngine
from sqlmodel import Session, SQLModel, col

from partner_api.models import SYNC_KINDS, Partner, SyncState, Tombstone, utcnow
from partner_api.problems import ProblemError
from partner_api.wire import ROW_MODELS, ChangesPage

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


# Sorts after every kind name; with MAX_ID it makes "everything up to version V" a Position.
_AFTER_ALL_KINDS = "\U0010ffff"
MAX_ID = 2**63 - 1


def _unwrap(column_type: TypeEngine[Any]) -> TypeEngine[Any]:
    while isinstance(column_type, TypeDecorator):  # e.g. SQLModel's UTCDateTime
        column_type = column_type.impl_instance
    return column_type


def _is_temporal(column_type: TypeEngine[Any]) -> bool:
    """Date and datetime columns: sent as ISO text."""
    try:
        return issubclass(_unwrap(column_type).python_type, date)
    except NotImplementedError:
        return False


@dataclass(frozen=True)
class _Kind:
    """How the feed reads one sync kind (built once per kind)."""

    name: str
    table: Table
    fields: tuple[str, ...]  # the wire row's fields, in order (``id`` among them)
    temporal: tuple[str, ...]  # those of them that are date / datetime columns
    by_own_id: bool  # ``partner``: the row *is* the tenant
    sqlite_json: str | None  # see _sqlite_change_json


def _sqlite_change_json(name: str, table: Table, fields: tuple[str, ...]) -> str | None:
    """SQL that makes SQLite (JSON1) write an upsert change of the kind as JSON text, the same
    JSON the Python path writes; None when a column needs Python (a datetime: its ISO text is
    not what SQLite stores)."""
    items = []
    for f in fields:
        column_type = _unwrap(table.c[f].type)
        quoted = f'"{f}"'
        if isinstance(column_type, Boolean):  # stored as 0 / 1
            value = (
                f"json(CASE WHEN {quoted} IS NULL THEN NULL WHEN {quoted} "
                "THEN 'true' ELSE 'false' END)"
            )
        elif isinstance(column_type, Integer | String) or type(column_type) is Date:
            value = quoted  # a date is stored as its ISO text
        else:
            return None
        items.append(f"'{f}', {value}")
    return (
        f"json_object('kind', '{name}', 'id', \"id\", 'op', 'upsert', 'version', \"version\", "
        f"'data', json_object({', '.join(items)}))"
    )


def _kinds() -> tuple[_Kind, ...]:
    kinds = []
    for name, model in SYNC_KINDS.items():
        table = _table(model)
        fields = tuple(ROW_MODELS[name].model_fields)
        temporal = tuple(f for f in fields if _is_temporal(table.c[f].type))
        json_sql = _sqlite_change_json(name, table, fields)
        kinds.append(_Kind(name, table, fields, temporal, model is Partner, json_sql))
    return tuple(sorted(kinds, key=lambda k: k.name))


_KINDS = _kinds()
_KIND_BY_NAME = {kind.name: kind for kind in _KINDS}


# ---- statements ---------------------------------------------------------------------------
#
# Each page runs a handful of statements whose shape depends only on where the cursor stands
# relative to each kind; they are built once per shape, with the positions as bound parameters
# (building and compiling SQLAlchemy statements per page would cost as much as running them).
# Parameters: pid (partner), lo_v / lo_kind / lo_id (after this key), hi_v / hi_id (up to this
# key), n (a LIMIT).

# A range of one kind's rows, contiguous in (version, id) and seekable on the index
# (partner_id, version, id):
#   ("at_lo", after_lo_id, up_to_hi_id): version = lo_v [and id > lo_id] [and id <= hi_id]
#   ("between", include_hi_v):           lo_v < version < hi_v (or <= hi_v)
#   ("at_hi",):                          version = hi_v and id <= hi_id
_Shape = tuple[Any, ...]


def _shapes(name: str, lo: Position, hi: Position) -> list[_Shape]:
    """The ranges, in feed order, that hold the kind's rows with lo < (version, kind, id) <= hi:
    the rest of ``lo``'s version (ids after ``lo.id`` in ``lo``'s kind, every id in later kinds,
    nothing in earlier ones), the versions in between, then the start of ``hi``'s version. One
    OR of them all would make the database scan the partner's rows and sort them."""
    if lo.version == hi.version:
        if lo.kind <= name <= hi.kind:
            return [("at_lo", name == lo.kind, name == hi.kind)]
        return []
    shapes: list[_Shape] = []
    if name >= lo.kind:
        shapes.append(("at_lo", name == lo.kind, False))
    shapes.append(("between", name < hi.kind))
    if name == hi.kind:
        shapes.append(("at_hi",))
    return shapes


def _where(kind: _Kind, shape: _Shape) -> list[Any]:
    tbl = kind.table
    scope = tbl.c.id if kind.by_own_id else tbl.c.partner_id
    conditions = [scope == bindparam("pid")]
    if shape[0] == "at_lo":
        conditions.append(tbl.c.version == bindparam("lo_v"))
        if shape[1]:
            conditions.append(tbl.c.id > bindparam("lo_id"))
        if shape[2]:
            conditions.append(tbl.c.id <= bindparam("hi_id"))
    elif shape[0] == "between":
        conditions.append(tbl.c.version > bindparam("lo_v"))
        if shape[1]:
            conditions.append(tbl.c.version <= bindparam("hi_v"))
        else:
            conditions.append(tbl.c.version < bindparam("hi_v"))
    else:
        conditions += [tbl.c.version == bindparam("hi_v"), tbl.c.id <= bindparam("hi_id")]
    return conditions


_STATEMENTS: dict[Any, Any] = {}


def _statement(build: Callable[..., Any], *args: Any) -> Any:
    """``build(*args)``, built once per distinct arguments."""
    key = (build.__name__, *args)
    stmt = _STATEMENTS.get(key)
    if stmt is None:
        stmt = _STATEMENTS[key] = build(*args)
    return stmt


def _params(partner_id: int, lo: Position, hi: Position, **more: Any) -> dict[str, Any]:
    return {
        "pid": partner_id,
        "lo_v": lo.version,
        "lo_kind": lo.kind,
        "lo_id": lo.id,
        "hi_v": hi.version,
        "hi_id": hi.id,
        **more,
    }


def _runs_statement(arms: tuple[tuple[str, int, _Shape], ...]) -> Any:
    """Per arm (kind, part, shape): (kind, part, version, rows) over the range's first ``n``
    rows, in one UNION ALL."""
    selects = []
    for name, part, shape in arms:
        kind = _KIND_BY_NAME[name]
        tbl = kind.table
        first = (
            select(tbl.c.version)
            .where(*_where(kind, shape))
            .order_by(tbl.c.version, tbl.c.id)
            .limit(bindparam("n"))
            .subquery()
        )
        selects.append(
            select(
                literal_column(f"'{name}'").label("kind"),
                literal_column(str(part)).label("part"),
                first.c.version,
                func.count().label("rows"),
            ).group_by(first.c.version)
        )
    return union_all(*selects)


def _runs(
    session: Session, partner_id: int, pos: Position, high: int, limit: int
) -> dict[str, list[tuple[int, int]]]:
    """Per kind, (version, number of rows) over its first ``limit`` rows after ``pos`` up to
    ``high``, counted by the database in one statement: the keys never reach Python."""
    top = Position(high, _AFTER_ALL_KINDS, MAX_ID)
    arms = tuple(
        (kind.name, part, shape)
        for kind in _KINDS
        for part, shape in enumerate(_shapes(kind.name, pos, top))
    )
    stmt = _statement(_runs_statement, arms)
    found = sorted(session.execute(stmt, _params(partner_id, pos, top, n=limit)).all())
    # A kind's ranges follow each other in the feed order (part 0 before part 1): take their
    # runs in that order until ``limit`` rows are counted.
    runs: dict[str, list[tuple[int, int]]] = {}
    left: dict[str, int] = {}
    for name, _part, version, n in found:
        room = left.get(name, limit)
        if room > 0:
            runs.setdefault(name, []).append((int(version), min(int(n), room)))
            left[name] = room - n
    return runs


def _tombstones_statement(later_versions: bool) -> Any:
    """Tombstone keys after (lo_v, lo_kind, lo_id) up to hi_v, the first ``n`` in feed order,
    once each (an entity deleted twice in one transaction has two tombstones, one key)."""
    tomb = _table(Tombstone)
    keys = (tomb.c.version, tomb.c.kind, tomb.c.entity_id)
    scope = tomb.c.partner_id == bindparam("pid")
    at_lo = and_(scope, tomb.c.version == bindparam("lo_v"))
    ranges = [
        and_(at_lo, tomb.c.kind == bindparam("lo_kind"), tomb.c.entity_id > bindparam("lo_id")),
        and_(at_lo, tomb.c.kind > bindparam("lo_kind")),
    ]
    if later_versions:
        ranges.append(
            and_(scope, tomb.c.version > bindparam("lo_v"), tomb.c.version <= bindparam("hi_v"))
        )
    parts = [
        select(*keys).where(r).distinct().order_by(*keys).limit(bindparam("n")).subquery()
        for r in ranges
    ]
    merged = union_all(*(select(*p.c) for p in parts)).subquery()
    return select(*merged.c).order_by(*merged.c).limit(bindparam("n"))


@dataclass
class _Boundary:
    """Where a page ends: its last key, and whether anything follows it."""

    last: Position | None
    has_more: bool
    kinds: set[str] = field(default_factory=set)  # the kinds with rows on the page


def _boundary(
    session: Session, partner_id: int, pos: Position, high: int, limit: int
) -> tuple[_Boundary, list[tuple[int, str, int]]]:
    """The last key of the page of ``limit`` changes after ``pos``, from row counts per version
    (read from the indexes; no row is read), and the page's tombstone keys.

    Every stream is counted up to ``limit + 1`` keys. A stream cut off there has its last
    version counted short, but then it alone holds more than ``limit`` keys up to that
    version, so the page ends inside its block at that version, never after it.
    """
    want = limit + 1
    # version -> kind -> rows of the kind at that version
    counts: dict[int, dict[str, int]] = {}
    for name, runs in _runs(session, partner_id, pos, high, want).items():
        for version, n in runs:
            counts.setdefault(version, {})[name] = n
    later = pos.version < high
    stmt = _statement(_tombstones_statement, later)
    top = Position(high, _AFTER_ALL_KINDS, MAX_ID)
    tombs = [
        (int(v), str(k), int(i))
        for v, k, i in session.execute(stmt, _params(partner_id, pos, top, n=want))
    ]
    tomb_ids: dict[tuple[int, str], list[int]] = {}
    for v, k, i in tombs:
        tomb_ids.setdefault((v, k), []).append(i)
        counts.setdefault(v, {}).setdefault(k, 0)
    total = sum(sum(c.values()) for c in counts.values()) + len(tombs)

    # Walk the versions, then the kinds inside the version where the page fills up.
    taken = 0
    last: tuple[int, str, int] | None = None  # (version, kind, position in its block, 1-based)
    for version in sorted(counts):
        by_kind = counts[version]
        for name in sorted(by_kind):
            size = by_kind[name] + len(tomb_ids.get((version, name), ()))
            if taken + size >= limit:
                last = (version, name, limit - taken)
                taken = limit
                break
            taken += size
            last = (version, name, size)
        if taken >= limit:
            break
    if last is None:
        return _Boundary(None, False), []
    version, name, nth = last
    end = Position(version, name, _nth_key(session, name, partner_id, pos, version, nth, tomb_ids))
    page_tombs = [t for t in tombs if t <= (end.version, end.kind, end.id)]
    with_rows = {
        k for v, by_kind in counts.items() if v <= end.version for k, n in by_kind.items() if n
    }
    return _Boundary(end, total > taken, with_rows), page_tombs


def _nth_statement(name: str, after_lo: bool, offset: bool) -> Any:
    kind = _KIND_BY_NAME[name]
    tbl = kind.table
    scope = tbl.c.id if kind.by_own_id else tbl.c.partner_id
    stmt = select(tbl.c.id).where(scope == bindparam("pid"), tbl.c.version == bindparam("hi_v"))
    if after_lo:
        stmt = stmt.where(tbl.c.id > bindparam("lo_id"))
    stmt = stmt.order_by(tbl.c.id)
    if offset:
        return stmt.offset(bindparam("n") - 1).limit(1)
    return stmt.limit(bindparam("n"))


def _nth_key(
    session: Session,
    name: str,
    partner_id: int,
    pos: Position,
    version: int,
    nth: int,
    tomb_ids: dict[tuple[int, str], list[int]],
) -> int:
    """The id of the ``nth`` key of kind ``name`` at ``version`` after ``pos`` (rows and
    tombstones alike; a row and a tombstone with one id are two keys here, one change on the
    page)."""
    tombs = tomb_ids.get((version, name), [])
    if name not in _KIND_BY_NAME:  # tombstones of a kind that is no longer synced
        return sorted(tombs)[nth - 1] if len(tombs) >= nth else MAX_ID
    after_lo = (version, name) == (pos.version, pos.kind)
    params = _params(partner_id, pos, Position(version, name, MAX_ID), n=nth)
    if tombs:
        stmt = _statement(_nth_statement, name, after_lo, False)
        ids = sorted([*session.execute(stmt, params).scalars(), *tombs])
        found = ids[nth - 1] if len(ids) >= nth else None
    else:
        stmt = _statement(_nth_statement, name, after_lo, True)
        found = session.execute(stmt, params).scalar()
    # None: the rows went away since they were counted (a database reading each statement
    # at its own snapshot); then the page takes all of the kind at that version.
    return MAX_ID if found is None else int(found)


def _rows_statement(name: str, shape: _Shape, as_json: bool) -> Any:
    kind = _KIND_BY_NAME[name]
    tbl = kind.table
    if as_json:
        assert kind.sqlite_json is not None
        columns = [tbl.c.version, tbl.c.id, literal_column(kind.sqlite_json)]
    else:
        columns = [*(tbl.c[f] for f in kind.fields), tbl.c.version]
    return select(*columns).where(*_where(kind, shape)).order_by(tbl.c.version, tbl.c.id)


_COMPILED: dict[Any, tuple[str, tuple[str, ...]]] = {}  # statement → (SQL, parameter order)


def _sqlite_rows(session: Session, stmt: Any, params: dict[str, Any]) -> list[Any]:
    """``stmt``'s rows as plain tuples, straight from the sqlite3 cursor: a full sync reads
    hundreds of thousands of rows, and SQLAlchemy's Row objects would cost about as much as
    SQLite producing their JSON. For statements whose parameters and columns need no type
    processing (integers in, integers and text out)."""
    compiled = _COMPILED.get(stmt)
    if compiled is None:
        done = stmt.compile(dialect=session.get_bind().dialect)
        compiled = _COMPILED[stmt] = (done.string, tuple(done.positiontup or ()))
    sql, names = compiled
    dbapi = session.connection().connection.driver_connection
    assert isinstance(dbapi, sqlite3.Connection)
    return dbapi.execute(sql, [params[name] for name in names]).fetchall()


def _kind_changes(
    session: Session, kind: _Kind, partner_id: int, pos: Position, end: Position, sqlite: bool
) -> list[Any]:
    """The kind's upserts with pos < key <= end in feed order, as (version, id, change) with
    the change as a wire dict or, written by SQLite, as JSON text."""
    name = kind.name
    as_json = sqlite and kind.sqlite_json is not None
    params = _params(partner_id, pos, end)
    out: list[Any] = []
    for shape in _shapes(name, pos, end):
        stmt = _statement(_rows_statement, name, shape, as_json)
        if as_json:
            out += _sqlite_rows(session, stmt, params)
            continue
        rows = session.execute(stmt, params).all()
        fields, temporal = kind.fields, kind.temporal
        for row in rows:
            data = dict(zip(fields, row, strict=False))  # the version comes last
            for f in temporal:
                value = data[f]
                if value is not None:
                    data[f] = value.isoformat()
            version, id_ = row[-1], data["id"]
            change = {"kind": name, "id": id_, "op": "upsert", "version": version, "data": data}
            out.append((version, id_, change))
    return out


_ENTRY_KEY = itemgetter(0, 1, 2, 3)


def _page_changes(
    session: Session,
    partner_id: int,
    pos: Position,
    end: Position,
    tombs: list[tuple[int, str, int]],
    kinds: set[str],
) -> list[dict[str, Any] | str]:
    """Every change with pos < (version, kind, id) <= end in feed order, each as a wire dict
    or as its JSON text: ``tombs`` are its tombstones' keys, ``kinds`` the kinds that may have
    rows in it."""
    sqlite = session.get_bind().dialect.name == "sqlite"
    found = {}
    for kind in _KINDS:
        if kind.name in kinds:
            rows = _kind_changes(session, kind, partner_id, pos, end, sqlite)
            if rows:
                found[kind.name] = rows
    if not tombs and len(found) <= 1:
        return [row[2] for rows in found.values() for row in rows]
    # Merge by sorting on (version, kind, id, is_upsert). A row and a tombstone with one key
    # (an id deleted and used again in one transaction) come as delete, upsert; the upsert
    # supersedes the delete.
    entries: list[tuple[int, str, int, bool, Any]] = [
        (v, k, i, False, {"kind": k, "id": i, "op": "delete", "version": v, "data": None})
        for v, k, i in tombs
    ]
    for name, rows in found.items():
        entries += [(row[0], name, row[1], True, row[2]) for row in rows]
    entries.sort(key=_ENTRY_KEY)
    changes: list[dict[str, Any] | str] = []
    previous: tuple[Any, ...] = ()
    for entry in entries:
        key = entry[:3]
        if key == previous:
            changes[-1] = entry[4]
        else:
            changes.append(entry[4])
        previous = key
    return changes


def _page_json(changes: list[dict[str, Any] | str], tail: dict[str, Any]) -> bytes:
    """``{"changes": [...], **tail}`` as JSON, the changes given as dicts or as JSON text."""
    if all(isinstance(change, dict) for change in changes):
        return to_json({"changes": changes, **tail})
    texts = [c if isinstance(c, str) else to_json(c).decode() for c in changes]
    return b'{"changes":[' + ",".join(texts).encode() + b"]," + to_json(tail)[1:]


def changes_json(session: Session, partner_id: int, cursor: str | None, limit: int) -> bytes:
    """The next page of the feed after ``cursor``, as the JSON body of a ``ChangesPage``.

    Built straight from the rows, without wire-model objects: where the page ends is worked out
    from row counts first, then only the page's rows are read.
    """
    state = session.get(SyncState, 1)
    assert state is not None, "database not initialised"
    pos = decode_cursor(state, partner_id, cursor)
    limit = max(1, min(limit or DEFAULT_LIMIT, MAX_LIMIT))
    # Read every kind as of one snapshot version: rows stamped above it are left for the next
    # call, so a page never mixes a half-committed future with the present.
    high = state.version
    boundary, tombs = _boundary(session, partner_id, pos, high, limit)
    entries: list[dict[str, Any] | str] = []
    if boundary.last is not None:
        entries = _page_changes(session, partner_id, pos, boundary.last, tombs, boundary.kinds)
        next_pos = boundary.last
    else:
        # Nothing newer: move the cursor up to the snapshot so later calls start there.
        next_pos = Position(high, "", 0) if high > pos.version else pos
    return _page_json(
        entries,
        {
            "next_cursor": encode_cursor(state, partner_id, next_pos),
            "has_more": boundary.has_more,
            "server_version": high,
        },
    )


def changes(session: Session, partner_id: int, cursor: str | None, limit: int) -> ChangesPage:
    """``changes_json`` as a ``ChangesPage`` (for callers in Python; the route sends bytes)."""
    return ChangesPage.model_validate_json(changes_json(session, partner_id, cursor, limit))


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
