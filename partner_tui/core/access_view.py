"""Reading access for the Access screen (UI-free): one user's grants over ALL clients, or one
client's grants over all users, as plain rows with a text filter."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence, Set
from dataclasses import dataclass
from datetime import date

from partner_tui.core.safe_text import clean

__all__ = [
    "AccessRow",
    "AccessRows",
    "AnsvarligClient",
    "ansvarlig_clients",
    "load_client_view",
    "load_user_view",
    "name_of",
]


@dataclass(frozen=True, slots=True)
class AccessRow:
    """One row: ``key`` is the client id (user view) or the user id (client view)."""

    key: int
    code: str  # orgnr (user view) or e-mail (client view)
    name: str
    access_level: str | None
    role: str | None
    role_source: str | None
    valid_until: date | None


class AccessRows:
    """All rows of a view plus the filtered positions (what the virtual table shows)."""

    def __init__(self, rows: Sequence[AccessRow] = ()) -> None:
        self.rows = list(rows)
        self.shown = list(range(len(self.rows)))
        self._keys = {r.key for r in self.rows}

    def apply(self, text: str) -> None:
        needle = text.strip().casefold()
        self.shown = [
            i
            for i, r in enumerate(self.rows)
            if not needle or needle in r.name.casefold() or needle in r.code.casefold()
        ]

    @property
    def visible_count(self) -> int:
        return len(self.shown)

    def row(self, i: int) -> AccessRow:
        return self.rows[self.shown[i]]

    def visible_keys(self) -> Set[int]:
        return {self.rows[i].key for i in self.shown}

    def all_keys(self) -> Set[int]:
        return self._keys

    def by_key(self, key: int) -> AccessRow | None:
        for r in self.rows:
            if r.key == key:
                return r
        return None


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def load_user_view(conn: sqlite3.Connection, user_id: int) -> AccessRows:
    """Every active client, with ``user_id``'s grant on it (or none)."""
    rows = conn.execute(
        "SELECT c.id, c.orgnr, c.name, a.access_level, a.role, a.role_source, a.valid_until "
        "FROM client c LEFT JOIN access_grant a ON a.client_id = c.id AND a.user_id = ? "
        "WHERE c.status = 'active' ORDER BY c.name COLLATE NB, c.id",
        (user_id,),
    ).fetchall()
    return AccessRows(
        [
            AccessRow(int(i), clean(o), clean(n), lv, ro, rs, _date(vu))
            for i, o, n, lv, ro, rs, vu in rows
        ]
    )


def load_client_view(conn: sqlite3.Connection, client_id: int) -> AccessRows:
    """Every active user, with their grant on ``client_id`` (or none)."""
    rows = conn.execute(
        "SELECT u.id, u.email, u.name, a.access_level, a.role, a.role_source, a.valid_until "
        "FROM user u LEFT JOIN access_grant a ON a.user_id = u.id AND a.client_id = ? "
        "WHERE u.active = 1 ORDER BY u.name COLLATE NB, u.id",
        (client_id,),
    ).fetchall()
    return AccessRows(
        [
            AccessRow(int(i), clean(e), clean(n), lv, ro, rs, _date(vu))
            for i, e, n, lv, ro, rs, vu in rows
        ]
    )


def name_of(conn: sqlite3.Connection, table: str, row_id: int) -> str:
    assert table in ("user", "client")
    found = conn.execute(f'SELECT name FROM "{table}" WHERE id = ?', (row_id,)).fetchone()
    return clean(found[0]) if found else f"#{row_id}"


def client_choices(conn: sqlite3.Connection) -> list[tuple[int, str]]:
    return [
        (int(i), f"{clean(o)} {clean(n)}")
        for i, o, n in conn.execute(
            "SELECT id, orgnr, name FROM client WHERE status = 'active' ORDER BY name COLLATE NB"
        )
    ]


@dataclass(frozen=True, slots=True)
class AnsvarligClient:
    client_id: int
    orgnr: str
    name: str


def ansvarlig_clients(conn: sqlite3.Connection, user_id: int) -> list[AnsvarligClient]:
    """The active clients where the user is ansvarlig: offboarding must hand these over
    (an archived client needs no ansvarlig, as on the server)."""
    return [
        AnsvarligClient(int(i), clean(o), clean(n))
        for i, o, n in conn.execute(
            "SELECT c.id, c.orgnr, c.name FROM access_grant g JOIN client c ON c.id = g.client_id "
            "WHERE g.user_id = ? AND g.role = 'ansvarlig' AND c.status != 'archived' "
            "ORDER BY c.name COLLATE NB, c.id",
            (user_id,),
        )
    ]


def templates(conn: sqlite3.Connection) -> list[tuple[int, str, str, str | None]]:
    return [
        (int(i), clean(n), str(lv), ro)
        for i, n, lv, ro in conn.execute(
            "SELECT id, name, access_level, role FROM access_template ORDER BY name COLLATE NB"
        )
    ]
