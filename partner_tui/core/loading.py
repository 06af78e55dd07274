"""What the app reads from the cache, in two stages (UI-free, plain ``sqlite3``).

1. :func:`read_start` — a handful of rows (meta, outbox counts, the first month) and the
   figures of the dashboard as it opens (last complete month, no filter). The app runs it in a
   thread while Textual starts, so the first frame can already show the figures.
2. :func:`read_lists` — the in-memory client list, users and groups: about half a second at
   10,000 clients, so the app builds it in a background worker after the dashboard's first frame.

Each stage reads one consistent state of the cache (one statement, or one read transaction),
even while a sync commits pages in between.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from partner_api.norwegian_calendar import last_complete_month
from partner_tui.core.figures import (
    FigureFilter,
    Figures,
    LoadCancelled,
    figures_from_row,
    figures_statement,
)
from partner_tui.core.formatting import parse_iso_utc

if TYPE_CHECKING:  # the client list model is imported by read_lists, in the background
    from partner_tui.core.queries import Choice, ClientListSnapshot

__all__ = [
    "ListData",
    "LoadCancelled",
    "StartFacts",
    "StartRead",
    "read_lists",
    "read_start",
    "read_start_facts",
]


@dataclass(frozen=True, slots=True)
class StartFacts:
    """The cache facts the dashboard and the status line need at start."""

    has_data: bool = False
    last_sync_at: datetime | None = None
    pending: int = 0
    rejected: int = 0
    me_user_id: int | None = None
    first_month: str | None = None  # the oldest month with figures: stepping back stops there


@dataclass(frozen=True, slots=True)
class StartRead:
    """The start facts and the figures the dashboard opens with: ``month`` (the last complete
    one), no filter, for ``caller_id``; ``figures`` is None when the cache has no data."""

    facts: StartFacts
    month: str
    caller_id: int
    figures: Figures | None


@dataclass(slots=True)
class ListData:
    """The client list (every client, in memory), users and groups for the pickers."""

    snapshot: ClientListSnapshot
    users: list[Choice]
    groups: list[Choice]


@contextmanager
def _read_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One consistent snapshot (WAL: readers see the last commit before BEGIN)."""
    conn.execute("BEGIN")
    try:
        yield conn
    finally:
        conn.rollback()


# The start facts as columns of one SELECT: the same as queries.outbox_counts() and get_meta().
_FACT_COLUMNS = (
    " (SELECT coalesce(sum(status IN ('pending', 'inflight')), 0) FROM outbox),"
    " (SELECT coalesce(sum(status = 'rejected'), 0) FROM outbox),"
    " (SELECT value FROM meta WHERE key = 'me_user_id'),"
    " (SELECT value FROM meta WHERE key = 'cursor'),"
    " (SELECT value FROM meta WHERE key = 'last_sync_at'),"
    " (SELECT min(month) FROM client_month),"  # a seek on the month index, not a scan
)


def _facts_from_row(row: Sequence[Any]) -> StartFacts:
    pending, rejected, me, cursor, last_sync, first_month = row[:6]
    me = None if me is None else str(me)
    return StartFacts(
        has_data=cursor is not None,
        last_sync_at=parse_iso_utc(None if last_sync is None else str(last_sync)),
        pending=int(pending),
        rejected=int(rejected),
        me_user_id=int(me) if me and me.isdigit() else None,
        first_month=first_month,
    )


def read_start_facts(conn: sqlite3.Connection) -> StartFacts:
    return _facts_from_row(conn.execute("SELECT" + _FACT_COLUMNS.rstrip(",")).fetchone())


def read_start(conn: sqlite3.Connection, today: date, caller_id: int | None) -> StartRead:
    """:func:`read_start_facts` and the opening dashboard's figures in one statement (so one
    consistent state, and SQLite runs it all with the GIL released: the app reads this in a
    thread while Textual starts). ``caller_id`` None: the cache's own user (``me_user_id``)."""
    month = last_complete_month(today)
    # The opening dashboard has no filter: the caller does not enter its figures.
    sql, params = figures_statement(month, FigureFilter(), 0, today, columns_before=_FACT_COLUMNS)
    row = conn.execute(sql, params).fetchone()
    facts = _facts_from_row(row)
    who = caller_id if caller_id is not None else facts.me_user_id
    figures = figures_from_row(row, month) if facts.has_data else None
    return StartRead(facts, month, who if who is not None else 0, figures)


def read_lists(conn: sqlite3.Connection, should_stop: Callable[[], bool] | None = None) -> ListData:
    """The client list, users and groups; raises :class:`LoadCancelled` as soon as
    ``should_stop`` turns true (polled inside long SQL statements too), so closing the app
    while the list is being built never waits for it."""
    if should_stop is None:
        with _read_transaction(conn):
            return _lists(conn, None)
    # Polled every few thousand SQLite VM steps: a true answer interrupts the statement.
    conn.set_progress_handler(should_stop, 5000)
    try:
        with _read_transaction(conn):
            return _lists(conn, should_stop)
    except sqlite3.OperationalError:
        if should_stop():
            raise LoadCancelled from None
        raise
    finally:
        conn.set_progress_handler(None, 0)


def _lists(conn: sqlite3.Connection, should_stop: Callable[[], bool] | None) -> ListData:
    from partner_tui.core.queries import ClientListSnapshot, list_groups, list_users

    users = list_users(conn)
    groups = list_groups(conn)
    snapshot = ClientListSnapshot.load(conn, should_stop=should_stop)
    return ListData(snapshot=snapshot, users=users, groups=groups)
