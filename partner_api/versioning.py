"""The gap-free change version (DESIGN.md §4).

Every write transaction that touches a synced row bumps the counter row in ``sync_state`` once,
first, and stamps that version on every synced row it inserts or changes; deleting a synced row
writes a tombstone with the same version. The row lock on ``sync_state`` serialises writers, so
versions become visible in commit order and a reader never passes a version that commits later.

This runs as a ``before_flush`` hook, so no service code can forget it. Writes must go through
the ORM session (no Core ``delete()`` on synced tables) for the hook to see them.
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, bindparam, delete, event, insert, text, update
from sqlalchemy.orm import Session, UOWTransaction
from sqlalchemy.orm.util import identity_key
from sqlmodel import SQLModel

from partner_api.models import KIND_OF_TABLE, Tombstone, utcnow

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


def lock_writers(session: Session) -> None:
    """Serialise this write transaction with every other writer from now on, without using up
    a version: PostgreSQL locks the counter row (the lock the first version bump would take);
    SQLite's write transactions already hold the database lock (BEGIN IMMEDIATE).

    Take it before reading anything a precondition depends on, so the read still holds when
    the transaction commits.
    """
    if session.get_bind().dialect.name != "sqlite":
        session.execute(text("SELECT version FROM sync_state WHERE id = 1 FOR UPDATE"))


# ---- many rows at once ------------------------------------------------------------------------
#
# Building ORM objects costs ~0.3 ms a row with SQLModel, which a 1,000-item bulk write cannot
# afford. These helpers write many rows of one table in one executemany statement and keep the
# same invariants as the flush hook: every inserted or changed row of a synced kind gets this
# transaction's version, every deleted one leaves a tombstone. Use them, never bare Core DML, for
# synced tables.


def _table(model: type[SQLModel]) -> Table:
    return model.__table__  # type: ignore[attr-defined]


def insert_rows(
    session: Session,
    model: type[SQLModel],
    rows: Sequence[dict[str, Any]],
    *,
    returning: Sequence[str] = (),
) -> list[Any]:
    """Insert ``rows`` (every column given, defaults are not applied; the same columns in each)
    and return the ``returning`` columns of the new rows (in no particular order)."""
    if not rows:
        return []
    table = _table(model)
    if model in KIND_OF_TABLE:
        version = current_transaction_version(session)
        rows = [{**row, "version": version} for row in rows]
    if _is_postgres(session):
        return _pg_insert(session, table, rows, returning)
    stmt = insert(table)
    if returning:
        returned = stmt.returning(*(table.c[name] for name in returning))
        return list(session.execute(returned, list(rows)))
    session.execute(stmt, list(rows))
    return []


def update_rows(session: Session, model: type[SQLModel], changes: Sequence[dict[str, Any]]) -> int:
    """Apply each change (``id`` plus column → value; the same columns in each) to its row.
    Returns the version stamped on the rows (0 for a table that is not synced). ORM objects of
    these rows already in the session are expired, so they reload if read again."""
    if not changes:
        return 0
    table = _table(model)
    rows = list(changes)
    version = 0
    if model in KIND_OF_TABLE:
        version = current_transaction_version(session)
        rows = [{**row, "version": version} for row in rows]
    if _is_postgres(session):
        _pg_update(session, table, rows)
    else:
        # Bind names must differ from the column names (SQLAlchemy reserves those for SET).
        columns = [name for name in rows[0] if name != "id"]
        params = [{f"b_{name}": value for name, value in row.items()} for row in rows]
        values: dict[str, Any] = {name: bindparam(f"b_{name}") for name in columns}
        stmt = update(table).where(table.c.id == bindparam("b_id")).values(values)
        session.execute(stmt, params)
    for obj in _loaded(session, model, [row["id"] for row in rows]):
        session.expire(obj)
    return version


def delete_rows(session: Session, model: type[SQLModel], rows: Sequence[Any]) -> None:
    """Delete rows (anything with ``id`` and ``partner_id``) of one table and, for a synced
    kind, write their tombstones. ORM objects of these rows leave the session."""
    if not rows:
        return
    table = _table(model)
    kind = KIND_OF_TABLE.get(model)
    ids = [row.id for row in rows]
    for obj in _loaded(session, model, ids):
        session.expunge(obj)
    for start in range(0, len(ids), 900):
        session.execute(delete(table).where(table.c.id.in_(ids[start : start + 900])))
    if kind is not None:
        version = current_transaction_version(session)
        now = utcnow()
        tombstones = [
            {
                "partner_id": _partner_of(row),
                "kind": kind,
                "entity_id": row.id,
                "version": version,
                "deleted_at": now,
            }
            for row in rows
        ]
        insert_rows(session, Tombstone, tombstones)


def _loaded(session: Session, model: type[SQLModel], ids: Sequence[Any]) -> list[Any]:
    found = []
    for row_id in ids:
        obj = session.identity_map.get(identity_key(model, row_id))
        if obj is not None:
            found.append(obj)
    return found


# PostgreSQL: one statement over arrays (``unnest``) instead of an executemany. psycopg parses
# a multi-row VALUES statement in Python, which costs ~0.1 s per 1,000 rows; arrays are a
# handful of parameters whatever the row count.


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _pg_arrays(
    session: Session, table: Table, rows: Sequence[dict[str, Any]]
) -> tuple[list[str], list[str], dict[str, list[Any]]]:
    dialect = session.get_bind().dialect
    names = list(rows[0])
    casts, params = [], {}
    for i, name in enumerate(names):
        column_type = table.c[name].type
        process = column_type.bind_processor(dialect)
        values = [row[name] for row in rows]
        params[f"a{i}"] = [process(v) for v in values] if process else values
        casts.append(f"CAST(:a{i} AS {column_type.compile(dialect=dialect)}[])")
    quote = dialect.identifier_preparer.quote
    return [quote(n) for n in names], casts, params


def _pg_insert(
    session: Session, table: Table, rows: Sequence[dict[str, Any]], returning: Sequence[str]
) -> list[Any]:
    quote = session.get_bind().dialect.identifier_preparer.quote
    names, casts, params = _pg_arrays(session, table, rows)
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(names)}) "
        f"SELECT * FROM unnest({', '.join(casts)})"
    )
    if returning:
        sql += " RETURNING " + ", ".join(quote(n) for n in returning)
        return list(session.execute(text(sql), params))
    session.execute(text(sql), params)
    return []


def _pg_update(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    quote = session.get_bind().dialect.identifier_preparer.quote
    names, casts, params = _pg_arrays(session, table, rows)
    target = quote(table.name)
    sets = ", ".join(f"{n} = v.{n}" for n in names if n != quote("id"))
    sql = (
        f"UPDATE {target} SET {sets} FROM unnest({', '.join(casts)}) AS v({', '.join(names)}) "
        f"WHERE {target}.id = v.id"
    )
    session.execute(text(sql), params)


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
