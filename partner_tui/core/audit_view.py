"""The audit log as the app shows it (UI-free): who changed what, when, before → after.

Audit events are a sync kind, so the log is read from the cache and works offline. Each event
keeps the server's ``before`` / ``after`` as JSON text; ``describe_change`` turns them into one
short line of what changed ("nivå les → full", "Altinn-tagg nei → ja").
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import date
from typing import Any

from partner_tui.core.formatting import format_date, format_datetime, parse_iso_utc
from partner_tui.core.i18n import t
from partner_tui.core.safe_text import clean

__all__ = ["AuditRow", "describe_change", "load_audit"]

# (field, label key) in the order a change is described
_FIELDS = (
    ("access_level", "audit.f.level"),
    ("role", "audit.f.role"),
    ("role_source", "audit.f.source"),
    ("valid_until", "audit.f.until"),
    ("uses_partner_altinn", "audit.f.altinn"),
    ("name", "audit.f.name"),
)


@dataclass(frozen=True, slots=True)
class AuditRow:
    id: int
    at: str  # shown local time
    actor: str
    action: str
    subject: str  # the user the change is about ("" when none)
    client: str  # "orgnr name" ("" when none)
    change: str
    request_id: str

    def search_text(self) -> str:
        return " ".join(
            (self.actor, self.action, self.subject, self.client, self.change, self.request_id)
        ).casefold()


def _value(field: str, value: Any, language: str) -> str:
    if value is None:
        return "–"
    if field == "access_level":
        return t(f"access.level.{value}", language)
    if field == "role_source":
        return t("detail.manual" if value == "manual" else "detail.auto", language)
    if field == "valid_until":
        try:
            return format_date(date.fromisoformat(str(value)), language)
        except ValueError:
            return clean(str(value))
    if field == "uses_partner_altinn":
        return t("detail.yes" if value else "detail.no", language)
    return clean(str(value))


def _load(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        loaded = json.loads(text)
    except ValueError:
        return None
    return loaded if isinstance(loaded, dict) else None


def describe_change(before: str | None, after: str | None, language: str = "nb") -> str:
    """One line: a new row ("ny: full · ansvarlig"), a removed one ("fjernet: …"), or the
    fields that differ ("nivå les → full")."""
    old, new = _load(before), _load(after)

    def summary(row: dict[str, Any]) -> str:
        return " · ".join(
            _value(f, row[f], language) for f, _k in _FIELDS if row.get(f) is not None
        )

    if old is None and new is not None:
        return t("audit.created", language, what=summary(new))
    if new is None and old is not None:
        return t("audit.removed", language, what=summary(old))
    if old is None or new is None:
        return ""
    return ", ".join(
        f"{t(key, language)} {_value(f, old.get(f), language)} → {_value(f, new.get(f), language)}"
        for f, key in _FIELDS
        if f in old or f in new
        if old.get(f) != new.get(f)
    )


def load_audit(
    conn: sqlite3.Connection,
    *,
    user_id: int | None = None,
    client_id: int | None = None,
    language: str = "nb",
    limit: int = 5_000,
) -> list[AuditRow]:
    """Newest first: the events about ``user_id`` (as the subject or the one who acted), or
    about ``client_id``, or all."""
    where, args = "", []
    if user_id is not None:
        where, args = "WHERE e.subject_user_id = ? OR e.user_id = ?", [user_id, user_id]
    elif client_id is not None:
        where, args = "WHERE e.client_id = ?", [client_id]
    users = {int(i): clean(n) for i, n in conn.execute("SELECT id, name FROM user")}
    rows = []
    for eid, actor, at, action, subject, client, orgnr, cname, before, after, req in conn.execute(
        "SELECT e.id, e.user_id, e.at, e.action, e.subject_user_id, e.client_id, c.orgnr, "
        "c.name, e.before, e.after, e.request_id FROM audit_event e "
        f"LEFT JOIN client c ON c.id = e.client_id {where} "
        "ORDER BY e.at DESC, e.id DESC LIMIT ?",
        [*args, limit],
    ):
        when = parse_iso_utc(at)
        action_key = f"audit.a.{action}"
        action_text = t(action_key, language)
        rows.append(
            AuditRow(
                id=int(eid),
                at=format_datetime(when, language) if when else clean(str(at)),
                actor=users.get(actor, f"#{actor}") if actor is not None else "",
                action=clean(action) if action_text == action_key else action_text,
                subject=users.get(subject, f"#{subject}") if subject is not None else "",
                client=f"{clean(orgnr)} {clean(cname)}" if client is not None and orgnr else "",
                change=describe_change(before, after, language),
                request_id=clean(req or ""),
            )
        )
    return rows
