"""Read queries over the local cache for the screens: dashboard figures, the partner list model,
filter-picker choices and status counts. UI-free (no textual), plain ``sqlite3``.

The partner list is held in memory as parallel lists with precomputed lowercase search keys
and per-user / per-group index sets, so a filter keystroke is never a SQL query. The text search
(:mod:`partner_tui.core.search`) filters from the previous result while the query grows and keeps
the results for backspace: at 10,000 clients a keystroke costs ≈0.1–1 ms.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from itertools import compress
from typing import TYPE_CHECKING

from partner_tui.core.figures import (
    FigureFilter,
    Figures,
    FilterLike,
    LoadCancelled,
    read_figures,
)
from partner_tui.core.formatting import nb_sort_key
from partner_tui.core.safe_text import clean
from partner_tui.core.search import SMALL, OrderedSearch, SearchIndex

if TYPE_CHECKING:  # pydantic: imported only by dashboard_figures, never on the start path
    from partner_api.wire import DashboardFigures

__all__ = [
    "SORT_COLUMNS",
    "Choice",
    "ClientDetail",
    "ClientFilter",
    "ClientListModel",
    "ClientListRow",
    "ClientListSnapshot",
    "FigureFilter",
    "Figures",
    "GrantLine",
    "LoadCancelled",
    "SortSpec",
    "client_detail",
    "dashboard_figures",
    "get_meta",
    "list_groups",
    "list_months",
    "list_users",
    "outbox_counts",
    "read_figures",
]

ROLE_LETTER = {"ansvarlig": "A", "medarbeider": "M"}


# ---- dashboard ------------------------------------------------------------------------------


def dashboard_figures(
    conn: sqlite3.Connection, month: str, flt: FilterLike, caller_id: int, today: date
) -> DashboardFigures:
    """The eight figures of DESIGN.md §3 for ``month`` over the filtered clients, from the
    cache; equal (``==``) to what ``GET /v1/dashboard`` returns for the same data."""
    from partner_api.wire import DashboardFigures

    return DashboardFigures(**asdict(read_figures(conn, month, flt, caller_id, today)))


# ---- pickers and status ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Choice:
    """One option of a filter picker: a user or a group, with how many clients it has."""

    id: int
    name: str
    count: int


def list_users(conn: sqlite3.Connection, *, include_inactive: bool = False) -> list[Choice]:
    """The firm's users (accountants) by name, with their number of clients."""
    rows = conn.execute(
        "SELECT u.id, u.name, count(DISTINCT a.client_id) FROM user u"
        " LEFT JOIN access_grant a ON a.user_id = u.id"
        + ("" if include_inactive else " WHERE u.active = 1")
        + " GROUP BY u.id"
    ).fetchall()
    choices = [Choice(int(i), clean(n), int(c)) for i, n, c in rows]
    choices.sort(key=lambda ch: (nb_sort_key(ch.name), ch.id))
    return choices


def list_groups(conn: sqlite3.Connection) -> list[Choice]:
    """Client groups by name, with their number of member clients."""
    rows = conn.execute(
        "SELECT g.id, g.name, count(DISTINCT m.client_id) FROM client_group g"
        " LEFT JOIN client_group_member m ON m.group_id = g.id GROUP BY g.id"
    ).fetchall()
    choices = [Choice(int(i), clean(n), int(c)) for i, n, c in rows]
    choices.sort(key=lambda ch: (nb_sort_key(ch.name), ch.id))
    return choices


def list_months(conn: sqlite3.Connection) -> list[str]:
    """Months (``YYYY-MM``) that have figures in the cache, newest first."""
    return [r[0] for r in conn.execute("SELECT DISTINCT month FROM client_month ORDER BY 1 DESC")]


def outbox_counts(conn: sqlite3.Connection) -> tuple[int, int]:
    """(pending or in flight, rejected) outbox items."""
    row = conn.execute(
        "SELECT coalesce(sum(status IN ('pending', 'inflight')), 0),"
        " coalesce(sum(status = 'rejected'), 0) FROM outbox"
    ).fetchone()
    return int(row[0]), int(row[1])


def get_meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


# ---- client detail --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GrantLine:
    user_name: str
    role: str
    role_source: str
    access_level: str
    valid_until: str | None


@dataclass(frozen=True, slots=True)
class ClientDetail:
    id: int
    orgnr: str
    name: str
    status: str
    payroll_enabled: bool
    payout_day: int | None
    uses_partner_altinn: bool
    groups: tuple[str, ...]
    grants: tuple[GrantLine, ...]


def client_detail(conn: sqlite3.Connection, client_id: int) -> ClientDetail | None:
    row = conn.execute(
        "SELECT id, orgnr, name, status, payroll_enabled, payout_day, uses_partner_altinn"
        " FROM client WHERE id = ?",
        (client_id,),
    ).fetchone()
    if row is None:
        return None
    groups = tuple(
        clean(r[0])
        for r in conn.execute(
            "SELECT g.name FROM client_group_member m JOIN client_group g ON g.id = m.group_id"
            " WHERE m.client_id = ? ORDER BY g.name",
            (client_id,),
        )
    )
    grants = tuple(
        GrantLine(clean(n), r, s, clean(lvl), v)
        for n, r, s, lvl, v in conn.execute(
            "SELECT coalesce(u.name, '#' || a.user_id), a.role, a.role_source, a.access_level,"
            " a.valid_until FROM access_grant a LEFT JOIN user u ON u.id = a.user_id"
            " WHERE a.client_id = ? ORDER BY a.role != 'ansvarlig', u.name",
            (client_id,),
        )
    )
    return ClientDetail(
        id=int(row[0]),
        orgnr=clean(row[1]),
        name=clean(row[2]),
        status=clean(row[3]),
        payroll_enabled=bool(row[4]),
        payout_day=row[5],
        uses_partner_altinn=bool(row[6]),
        groups=groups,
        grants=grants,
    )


# ---- the partner list -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClientFilter:
    """What the partner list shows. ``text``: words (ANDed, case-insensitive) matched against
    orgnr, name, group names and user names. ``role`` applies to ``user_id``, or to the model's
    caller when no user is chosen (like the dashboard), or to any user when there is no caller."""

    text: str = ""
    user_id: int | None = None
    role: str | None = None
    group_id: int | None = None
    altinn: bool | None = None

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(clean(self.text).casefold().split())

    def same_except_text(self, other: ClientFilter) -> bool:
        return (self.user_id, self.role, self.group_id, self.altinn) == (
            other.user_id,
            other.role,
            other.group_id,
            other.altinn,
        )


SORT_COLUMNS = ("orgnr", "name", "groups", "altinn", "users", "status")


@dataclass(frozen=True, slots=True)
class SortSpec:
    column: str = "name"
    descending: bool = False


@dataclass(frozen=True, slots=True)
class ClientListRow:
    id: int
    orgnr: str
    name: str
    status: str
    payroll_enabled: bool
    uses_partner_altinn: bool
    groups: str
    users: str


_EMPTY: frozenset[int] = frozenset()
# A snapshot's search index, and that index by position in each sort order used so far.
_Search = tuple["ClientListSnapshot", SearchIndex, dict["SortSpec", OrderedSearch]]
_MAX_STEPS = 64  # results kept for backspace (then the oldest go; the first, no words, stays)
_KEPT_ORDERS = 2  # search indexes kept per snapshot, one per sort order (the newest)


def _narrows(words: Sequence[str], than: Sequence[str]) -> bool:
    """Whether rows matching ``words`` always match ``than``: each word of ``than`` is inside a
    word of ``words`` (words match as substrings and are ANDed)."""
    return all(any(t in w for w in words) for t in than)


@dataclass(slots=True)
class ClientListSnapshot:
    """Every client of the cache, as parallel lists (row index = position)."""

    ids: list[int] = field(default_factory=list)
    orgnr: list[str] = field(default_factory=list)
    name: list[str] = field(default_factory=list)
    status: list[str] = field(default_factory=list)
    payroll: list[bool] = field(default_factory=list)
    altinn: list[bool] = field(default_factory=list)
    not_altinn: list[bool] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    users: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    by_group: dict[int, frozenset[int]] = field(default_factory=dict)
    by_user: dict[int, frozenset[int]] = field(default_factory=dict)
    by_user_role: dict[tuple[int, str], frozenset[int]] = field(default_factory=dict)
    by_role: dict[str, frozenset[int]] = field(default_factory=dict)

    @classmethod
    def load(
        cls, conn: sqlite3.Connection, *, should_stop: Callable[[], bool] | None = None
    ) -> ClientListSnapshot:
        """Every client with its groups and users (≈0.5 s at 10,000 clients and 100,000
        grants). ``should_stop`` is polled every few thousand rows: when it turns true the
        load raises :class:`LoadCancelled` (the app is closing)."""

        def check() -> None:
            if should_stop is not None and should_stop():
                raise LoadCancelled

        snap = cls()
        rows = conn.execute(
            "SELECT id, orgnr, name, status, payroll_enabled, uses_partner_altinn FROM client"
        ).fetchall()
        snap.ids = [int(r[0]) for r in rows]
        snap.orgnr = [clean(r[1]) for r in rows]
        snap.name = [clean(r[2]) for r in rows]
        snap.status = [clean(r[3]) for r in rows]
        snap.payroll = [bool(r[4]) for r in rows]
        snap.altinn = [bool(r[5]) for r in rows]
        index = {r[0]: i for i, r in enumerate(rows)}
        n = len(rows)
        check()

        # Names are cleaned and keyed once per group / user, not once per membership / grant.
        # Sort tuples (key, name) and (rank, key, name, role, text) break ties by name.
        group_parts: dict[object, tuple[str, str]] = {}
        for gid, gname in conn.execute("SELECT id, name FROM client_group"):
            cleaned = clean(gname)
            group_parts[gid] = (nb_sort_key(cleaned), cleaned)
        client_groups: list[list[tuple[str, str]]] = [[] for _ in range(n)]
        by_group: dict[int, list[int]] = defaultdict(list)
        for client_id, group_id in conn.execute(
            "SELECT client_id, group_id FROM client_group_member"
        ):
            i = index.get(client_id)
            gpart = group_parts.get(group_id)
            if i is None or gpart is None:
                continue
            client_groups[i].append(gpart)
            by_group[int(group_id)].append(i)
        check()

        user_names = {uid: clean(uname) for uid, uname in conn.execute("SELECT id, name FROM user")}
        user_parts: dict[tuple[object, object], tuple[int, str, str, str, str]] = {}
        client_users: list[list[tuple[int, str, str, str, str]]] = [[] for _ in range(n)]
        by_user_role: dict[tuple[int, str], list[int]] = defaultdict(list)
        grants = conn.execute("SELECT client_id, user_id, role FROM access_grant")
        while batch := grants.fetchmany(5000):
            for client_id, user_id, role in batch:
                i = index.get(client_id)
                if i is None:
                    continue
                part = user_parts.get((user_id, role))
                if part is None:
                    uname = user_names.get(user_id)
                    if uname is None:
                        uname = clean(f"#{user_id}")
                    part = (
                        0 if role == "ansvarlig" else 1,
                        nb_sort_key(uname),
                        uname,
                        role,
                        f"{uname} ({ROLE_LETTER.get(role, '?')})",
                    )
                    user_parts[(user_id, role)] = part
                client_users[i].append(part)
                by_user_role[(int(user_id), role)].append(i)
            check()

        for i in range(n):
            groups = client_groups[i]
            users = client_users[i]
            if len(groups) > 1:
                groups.sort()
            if len(users) > 1:
                users.sort()
            snap.groups.append(", ".join([g[1] for g in groups]))
            snap.users.append(", ".join([u[4] for u in users]))
            snap.keys.append(
                "\x1f".join(
                    [snap.orgnr[i], snap.name[i], *[g[1] for g in groups], *[u[2] for u in users]]
                ).casefold()
            )
        check()
        snap.not_altinn = [not a for a in snap.altinn]
        snap.by_group = {k: frozenset(v) for k, v in by_group.items()}
        snap.by_user_role = {k: frozenset(v) for k, v in by_user_role.items()}
        by_user: dict[int, set[int]] = defaultdict(set)
        by_role: dict[str, set[int]] = defaultdict(set)
        for (uid, role), members in snap.by_user_role.items():
            by_user[uid] |= members
            by_role[role] |= members
        snap.by_user = {k: frozenset(v) for k, v in by_user.items()}
        snap.by_role = {k: frozenset(v) for k, v in by_role.items()}
        return snap

    def sort_key(self, column: str) -> Sequence[object]:
        if column == "orgnr":
            return self.orgnr
        # Clients with the same groups (or users, or none) follow each other by name.
        if column == "groups":
            return [
                (nb_sort_key(g) if g else "\U0010ffff", nb_sort_key(n))
                for g, n in zip(self.groups, self.name, strict=True)
            ]
        if column == "altinn":
            return [(not a, nb_sort_key(n)) for a, n in zip(self.altinn, self.name, strict=True)]
        if column == "users":
            return [
                (nb_sort_key(u) if u else "\U0010ffff", nb_sort_key(n))
                for u, n in zip(self.users, self.name, strict=True)
            ]
        if column == "status":
            return [(s, nb_sort_key(n)) for s, n in zip(self.status, self.name, strict=True)]
        return [nb_sort_key(n) for n in self.name]


class ClientListModel:
    """The partner list in memory: filter and sort every client, read the visible window.

    ``ClientListModel(conn)`` loads every client once; ``apply(filter, sort)`` recomputes the
    visible rows (no SQL); ``reload()`` re-reads the cache after a sync. Not thread-safe: build a
    :class:`ClientListSnapshot` in a worker and hand it over with :meth:`set_snapshot`.
    """

    def __init__(
        self, conn: sqlite3.Connection | None = None, *, caller_id: int | None = None
    ) -> None:
        self._conn = conn
        self.caller_id = caller_id
        self._snap = ClientListSnapshot()
        self._orders: dict[SortSpec, list[int]] = {}
        self._ranks: dict[SortSpec, list[int]] = {}
        self._visible: list[int] = []
        self._visible_ids: frozenset[int] | None = None
        self._row_of: tuple[ClientListSnapshot, dict[int, int]] | None = None
        # The text search: the index of a snapshot, and the results of the words typed so far
        # (each narrows the one before), so typing filters only the previous result and
        # backspace finds its result here. Valid for one ``_context`` (pickers and sort).
        self._search: _Search | None = None
        self._steps: list[tuple[tuple[str, ...], list[int], int | None]] = []
        self._context: tuple[object, ...] | None = None
        self.filter = ClientFilter()
        self.sort = SortSpec()
        if conn is not None:
            self.reload()

    # -- loading
    def reload(self, conn: sqlite3.Connection | None = None) -> None:
        """Re-read every client from the cache and re-apply the current filter and sort."""
        conn = conn or self._conn
        if conn is None:
            raise ValueError("ClientListModel has no connection to reload from")
        self.set_snapshot(ClientListSnapshot.load(conn))
        self.prepare_search()  # this path blocks anyway: the first keystroke need not

    def set_snapshot(self, snap: ClientListSnapshot) -> None:
        self._snap = snap
        self._orders.clear()
        self._ranks.clear()
        self._visible = []
        self._force_apply()

    # -- filter and sort
    def _order(self, sort: SortSpec) -> list[int]:
        """Every row index in ``sort`` order (cached per sort)."""
        order = self._orders.get(sort)
        if order is None:
            keys = self._snap.sort_key(sort.column)
            ascending = self._orders.get(SortSpec(sort.column, False))
            if ascending is None:
                ids = self._snap.ids
                ascending = sorted(range(len(ids)), key=lambda i: (keys[i], ids[i]))
                self._orders[SortSpec(sort.column, False)] = ascending
            order = ascending[::-1] if sort.descending else ascending
            self._orders[sort] = order
        return order

    def _rank(self, sort: SortSpec) -> list[int]:
        """Position of each row index in ``sort`` order."""
        rank = self._ranks.get(sort)
        if rank is None:
            rank = [0] * len(self._snap.ids)
            for pos, i in enumerate(self._order(sort)):
                rank[i] = pos
            self._ranks[sort] = rank
        return rank

    def _membership(self, flt: ClientFilter) -> list[frozenset[int]]:
        snap = self._snap
        sets: list[frozenset[int]] = []
        if flt.group_id is not None:
            sets.append(snap.by_group.get(flt.group_id, _EMPTY))
        user = (
            flt.user_id
            if flt.user_id is not None
            else (self.caller_id if flt.role is not None else None)
        )
        if user is not None:
            if flt.role is not None:
                sets.append(snap.by_user_role.get((user, flt.role), _EMPTY))
            else:
                sets.append(snap.by_user.get(user, _EMPTY))
        elif flt.role is not None:
            sets.append(snap.by_role.get(flt.role, _EMPTY))
        return sorted(sets, key=len)

    def apply(self, flt: ClientFilter | None = None, sort: SortSpec | None = None) -> None:
        """Recompute the visible rows for ``flt`` and ``sort`` (defaults: the current ones)."""
        self.filter = self.filter if flt is None else flt
        self.sort = self.sort if sort is None else sort
        self._run()

    def _force_apply(self) -> None:
        self._steps.clear()
        self._run()

    def prepare_search(self) -> OrderedSearch:
        """The text-search index of the current snapshot in the current sort order, built now
        if it is not yet (≈100 + 55 ms at 10,000 clients). Safe to call from a worker thread:
        an index is used only while its snapshot is still the model's."""
        snap, sort = self._snap, self.sort
        search = self._search
        if search is None or search[0] is not snap:
            search = (snap, SearchIndex.build(snap.keys), {})
            if self._snap is snap:
                self._search = search
        by_sort = search[2]
        ordered = by_sort.get(sort)
        if ordered is None:
            for stale in list(by_sort)[: 1 - _KEPT_ORDERS]:  # ≈7 MB each at 10,000 clients
                by_sort.pop(stale, None)  # (a worker thread may have dropped it already)
            ordered = by_sort[sort] = search[1].ordered(self._order(sort))
        return ordered

    def _base_rows(self, flt: ClientFilter) -> list[int]:
        """The rows that pass the pickers (not the text), in sort order."""
        # C-level compress/map instead of list comprehensions: ~3x faster at 10k rows.
        snap = self._snap
        sets = self._membership(flt)
        rows: list[int]
        if sets:  # start from the smallest set, put in sort order
            rows = sorted(sets.pop(0), key=self._rank(self.sort).__getitem__)
        else:
            rows = list(self._order(self.sort))
        for members in sets:
            rows = list(compress(rows, map(members.__contains__, rows)))
        if flt.altinn is not None:
            flags = snap.altinn if flt.altinn else snap.not_altinn
            rows = list(compress(rows, map(flags.__getitem__, rows)))
        return rows

    def _run(self) -> None:
        flt, steps = self.filter, self._steps
        context = (flt.user_id, flt.role, flt.group_id, flt.altinn, self.caller_id, self.sort)
        if context != self._context or not steps:
            self._context = context
            steps[:] = [((), self._base_rows(flt), None)]
        words = flt.words
        # Back to the newest result these words narrow (each of its words is inside one of
        # ours): backspace ends there, typing goes on from there. The first step (no words)
        # is narrowed by any words.
        while len(steps) > 1 and not _narrows(words, steps[-1][0]):
            steps.pop()
        done, rows, mask = steps[-1]
        if words != done:
            todo = [w for w in words if w not in done]  # ``rows`` already match the others
            search = self.prepare_search()
            if len(rows) < SMALL * search.index.size:  # few rows: test those
                rows, mask = search.index.filter(rows, todo), None
            else:  # many: a pass over every row, as masks by position in the sort order
                mask = search.mask(todo, search.mask_of(rows) if mask is None else mask)
                rows = search.rows(mask)
            steps.append((words, rows, mask))
            if len(steps) > _MAX_STEPS:
                del steps[1]
        self._visible = rows
        self._visible_ids = None

    # -- reading
    @property
    def total(self) -> int:
        return len(self._snap.ids)

    @property
    def visible_count(self) -> int:
        return len(self._visible)

    def row_id(self, i: int) -> int:
        return self._snap.ids[self._visible[i]]

    @property
    def snapshot(self) -> ClientListSnapshot:
        return self._snap

    def snapshot_row(self, i: int) -> int:
        """Where visible row ``i`` is in :attr:`snapshot`'s lists (no row object built)."""
        return self._visible[i]

    def row(self, i: int) -> ClientListRow:
        s, j = self._snap, self._visible[i]
        return ClientListRow(
            id=s.ids[j],
            orgnr=s.orgnr[j],
            name=s.name[j],
            status=s.status[j],
            payroll_enabled=s.payroll[j],
            uses_partner_altinn=s.altinn[j],
            groups=s.groups[j],
            users=s.users[j],
        )

    def rows(self, start: int, stop: int) -> list[ClientListRow]:
        return [self.row(i) for i in range(max(0, start), min(stop, self.visible_count))]

    def visible_ids(self) -> frozenset[int]:
        if self._visible_ids is None:
            ids = self._snap.ids
            self._visible_ids = frozenset(ids[j] for j in self._visible)
        return self._visible_ids

    def all_ids(self) -> Iterable[int]:
        return iter(self._snap.ids)

    def index_of(self, client_id: int) -> int | None:
        """Visible position of a client, or None when it is filtered out."""
        snap = self._snap
        if self._row_of is None or self._row_of[0] is not snap:
            self._row_of = (snap, {cid: row for row, cid in enumerate(snap.ids)})
        row = self._row_of[1].get(client_id)
        if row is None:
            return None
        try:
            return self._visible.index(row)
        except ValueError:
            return None
