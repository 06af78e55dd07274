"""The dashboard's figures from the cache (UI-free, plain ``sqlite3``, no pydantic).

Split from :mod:`partner_tui.core.queries` (which re-exports these) so the app's start path
imports only what its first frame needs; the client list model loads in the background.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from partner_api.norwegian_calendar import amelding_deadline, month_add

__all__ = [
    "FigureFilter",
    "Figures",
    "FilterLike",
    "LoadCancelled",
    "figures_from_row",
    "figures_statement",
    "read_figures",
]


class LoadCancelled(Exception):
    """A load was told to stop (``should_stop``) before it finished: there is no result."""


class FilterLike(Protocol):
    """What the figures need of a filter: :class:`FigureFilter` or ``wire.DashboardFilter``."""

    @property
    def group_id(self) -> int | None: ...
    @property
    def user_id(self) -> int | None: ...
    @property
    def role(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class FigureFilter:
    """The dashboard's filter (the fields of ``wire.DashboardFilter``, without pydantic)."""

    group_id: int | None = None
    user_id: int | None = None
    role: str | None = None


@dataclass(frozen=True, slots=True)
class Figures:
    """The eight figures of DESIGN.md §3: the fields of ``wire.DashboardFigures`` as a plain
    dataclass, so the dashboard's first frame needs no pydantic."""

    month: str
    payroll_clients: int
    active_employees: int
    payslips_sent: int
    claims: int
    absences: int
    automation_auto_steps: int
    automation_total_steps: int
    amelding_rejected_last_month: int
    amelding_missing_last_month: int
    salary_paid_ore: int

    @property
    def automation_percent(self) -> float | None:
        if not self.automation_total_steps:
            return None
        return 100.0 * self.automation_auto_steps / self.automation_total_steps


def _filtered_ids(flt: FilterLike, caller_id: int) -> tuple[str, dict[str, object]]:
    """SQL selecting the ids of the clients that pass ``flt`` (same rules as the server:
    ``role`` applies to the chosen accountant, or to the caller when none is chosen)."""
    sql = "SELECT id FROM client WHERE 1 = 1"
    params: dict[str, object] = {}
    if flt.group_id is not None:
        sql += " AND id IN (SELECT client_id FROM client_group_member WHERE group_id = :group)"
        params["group"] = flt.group_id
    if flt.user_id is not None or flt.role is not None:
        sql += " AND id IN (SELECT client_id FROM access_grant WHERE user_id = :user"
        params["user"] = flt.user_id if flt.user_id is not None else caller_id
        if flt.role is not None:
            sql += " AND role = :role"
            params["role"] = flt.role
        sql += ")"
    return sql, params


_PAYROLL_CLIENT = "status = 'active' AND payroll_enabled = 1"


def figures_statement(
    month: str, flt: FilterLike, caller_id: int, today: date, *, columns_before: str = ""
) -> tuple[str, dict[str, object]]:
    """The one SELECT behind :func:`read_figures`: (sql, params). Its row ends with the ten
    values :func:`figures_from_row` reads; ``columns_before`` (ending in a comma) come first,
    so another read can share the statement (the app's start-up read does)."""
    ids, params = _filtered_ids(flt, caller_id)
    previous = month_add(month, -1)
    missing = "0"
    if today > amelding_deadline(previous):
        missing = (
            f"(SELECT count(*) FROM client WHERE id IN (SELECT id FROM ids) AND {_PAYROLL_CLIENT}"
            " AND id NOT IN (SELECT client_id FROM client_month"
            " WHERE month = :previous AND amelding_status IS NOT NULL))"
        )
    sql = (
        f"WITH ids AS ({ids}) SELECT {columns_before}"
        f" (SELECT count(*) FROM client WHERE id IN (SELECT id FROM ids) AND {_PAYROLL_CLIENT}),"
        " s.*,"
        " (SELECT count(*) FROM client_month WHERE month = :previous"
        " AND amelding_status = 'avvist' AND client_id IN (SELECT id FROM ids)),"
        f" {missing}"
        " FROM (SELECT coalesce(sum(active_employees), 0), coalesce(sum(payslips_sent), 0),"
        " coalesce(sum(claims), 0), coalesce(sum(absences), 0), coalesce(sum(auto_steps), 0),"
        " coalesce(sum(total_steps), 0), coalesce(sum(salary_paid_ore), 0)"
        " FROM client_month WHERE month = :month AND client_id IN (SELECT id FROM ids)) AS s"
    )
    return sql, {**params, "month": month, "previous": previous}


def figures_from_row(row: Sequence[Any], month: str) -> Figures:
    """The figures from the last ten values of a :func:`figures_statement` row."""
    payroll, employees, payslips, claims, absences, auto, steps, salary, rejected, missing = (
        int(v) for v in row[-10:]
    )
    return Figures(
        month=month,
        payroll_clients=payroll,
        active_employees=employees,
        payslips_sent=payslips,
        claims=claims,
        absences=absences,
        automation_auto_steps=auto,
        automation_total_steps=steps,
        amelding_rejected_last_month=rejected,
        amelding_missing_last_month=missing,
        salary_paid_ore=salary,
    )


def read_figures(
    conn: sqlite3.Connection, month: str, flt: FilterLike, caller_id: int, today: date
) -> Figures:
    """:func:`dashboard_figures` as a plain :class:`Figures` (what the app shows: plain
    ``sqlite3`` and no pydantic, so it is ready before the rest of the app has loaded).

    One statement: SQLite runs all of it with the GIL released, so the app can compute the
    figures in a thread while Textual starts without the two taking turns for the GIL."""
    sql, params = figures_statement(month, flt, caller_id, today)
    return figures_from_row(conn.execute(sql, params).fetchone(), month)
