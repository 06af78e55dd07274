"""The bulk-edit pipeline without UI (DESIGN.md §7): plan → preview → request → results → undo.

A **plan** is a list of ``GrantOp`` items (the API's own bulk item: "ensure this grant looks
like ..." or "revoke it"); fields left unset keep their value on the server, exactly as in the
request body. ``preview`` works out, per client, the grant before and after from the cache
(offline), or from a dry-run answer (online, exact). ``to_bulk_request`` is the body of
``POST /v1/access-grants:bulk``; ``inverse`` turns an applied answer into the undo plan and
``failed_only`` the retry plan.

Each plan kind (``Plan``, ``CopyPlan``, ``OffboardPlan``, ``AltinnPlan``) knows its own
offline preview, dry run, apply and outbox request, so the app's pipeline treats them alike.

The automatic role (ansvarlig / medarbeider) depends on payroll runs the cache does not hold,
so an offline preview shows it as ``auto`` where the server would decide it.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol, TypeVar

from partner_api.wire import (
    MAX_BULK_ITEMS,
    AltinnTagIn,
    AltinnTagResult,
    BulkGrantsIn,
    BulkGrantsResult,
    BulkSummary,
    CopyAccessIn,
    GrantItemResult,
    GrantOp,
    Handover,
    ItemProblem,
    OffboardIn,
    OffboardResult,
)

__all__ = [
    "AUTO",
    "AltinnPlan",
    "CopyPlan",
    "GrantView",
    "OffboardPlan",
    "Plan",
    "Preview",
    "PreviewRow",
    "failed_only",
    "inverse",
    "preview",
    "preview_from_result",
    "to_bulk_request",
]

AUTO = "auto"  # role shown where the server's automatic rule decides
CHANGE_KINDS = ("grant", "change", "unchanged", "revoke")
LEVEL_RANK = {"read": 0, "payroll": 1, "full": 2}

Progress = Callable[[int, int], None]  # (items done, items in all)
T = TypeVar("T")
R = TypeVar("R", BulkGrantsResult, AltinnTagResult)


def chunks(items: Sequence[T], size: int = MAX_BULK_ITEMS) -> list[list[T]]:
    """The API takes at most 1,000 items per bulk request: bigger plans go as several."""
    return [list(items[i : i + size]) for i in range(0, len(items), size)] or [[]]


def chunk_key(key: str, i: int, n: int) -> str:
    """One idempotency key per request: a resend of chunk i replays chunk i, never another."""
    return key if n == 1 else f"{key}.{i + 1}"


def merge_results(parts: list[R]) -> R:
    """Answers of consecutive chunks as one answer (indexes continue across chunks)."""
    if len(parts) == 1:
        return parts[0]
    results: list[Any] = []
    summary = dict.fromkeys(("created", "updated", "unchanged", "deleted", "failed"), 0)
    for part in parts:
        offset = len(results)
        results += [r.model_copy(update={"index": r.index + offset}) for r in part.results]
        for k in summary:
            summary[k] += getattr(part.summary, k)
    versions = [p.version for p in parts if p.version is not None]
    return type(parts[0])(
        applied=all(p.applied for p in parts),
        dry_run=parts[0].dry_run,
        mode=parts[0].mode,
        version=max(versions) if versions else None,
        summary=BulkSummary(**summary),
        results=results,
    )


class AccessApi(Protocol):
    """The part of ``ApiClient`` the plans use (kept structural so tests may pass the real
    client or a thin wrapper around it)."""

    def bulk_grants(
        self,
        items: list[GrantOp],
        mode: Any = ...,
        dry_run: bool = ...,
        idempotency_key: str | None = ...,
    ) -> BulkGrantsResult: ...

    def copy_access(
        self,
        from_user_id: int,
        to_user_id: int,
        client_ids: Any = ...,
        *,
        mode: Any = ...,
        dry_run: bool = ...,
        idempotency_key: str | None = ...,
    ) -> BulkGrantsResult: ...

    def offboard(
        self,
        user_id: int,
        *,
        handover: Handover | None = ...,
        deactivate: bool = ...,
        dry_run: bool = ...,
        idempotency_key: str | None = ...,
    ) -> OffboardResult: ...

    def set_altinn_tag(
        self,
        client_ids: Any,
        value: bool,
        *,
        mode: Any = ...,
        dry_run: bool = ...,
        idempotency_key: str | None = ...,
    ) -> AltinnTagResult: ...


@dataclass(frozen=True, slots=True)
class GrantView:
    """What the user sees of one grant: level, role, role source, expiry."""

    access_level: str
    role: str
    role_source: str
    valid_until: date | None


@dataclass
class Plan:
    """Grant / change / revoke items (``POST /v1/access-grants:bulk``)."""

    items: list[GrantOp]
    summary: str = ""
    mode: str = "partial"

    @property
    def size(self) -> int:
        return len(self.items)

    def name_ids(self, conn: sqlite3.Connection) -> tuple[set[int], set[int]]:
        return {op.user_id for op in self.items}, {op.client_id for op in self.items}

    def local_preview(self, conn: sqlite3.Connection) -> Preview:
        return preview(self, conn)

    def dry_run(self, api: AccessApi) -> Preview:
        return preview_from_result(self._send(api, True, None, None))

    def apply(self, api: AccessApi, key: str, progress: Progress | None = None) -> BulkGrantsResult:
        return self._send(api, False, key, progress)

    def _send(
        self, api: AccessApi, dry_run: bool, key: str | None, progress: Progress | None
    ) -> BulkGrantsResult:
        parts: list[BulkGrantsResult] = []
        pieces = chunks(self.items)
        for i, piece in enumerate(pieces):
            part = api.bulk_grants(
                piece,
                mode=self.mode,
                dry_run=dry_run,
                idempotency_key=None if key is None else chunk_key(key, i, len(pieces)),
            )
            parts.append(part)
            if progress is not None:
                progress(sum(len(p.results) for p in parts), len(self.items))
            if self.mode == "atomic" and not dry_run and not part.applied:
                break  # an atomic chunk refused: send no more
        return merge_results(parts)

    def requests(self) -> list[tuple[str, str, dict[str, Any]]]:
        """The outbox entries: one bulk request per 1,000 items."""
        return [
            ("POST", "/v1/access-grants:bulk", to_bulk_request(Plan(piece, mode=self.mode)))
            for piece in chunks(self.items)
        ]


@dataclass
class CopyPlan:
    """Give ``to_user`` the access ``from_user`` has (``POST /v1/access-grants:copy``): on all
    the source's clients, or only ``client_ids``. New grants copy level and expiry; existing
    ones are raised, never lowered; roles are the server's rule."""

    from_user: int
    to_user: int
    client_ids: list[int] | None = None
    summary: str = ""
    mode: str = "partial"

    @property
    def size(self) -> int:
        """Clients named (all of the source's count as one request until previewed)."""
        return 1 if self.client_ids is None else len(self.client_ids)

    def _body(self, dry_run: bool) -> CopyAccessIn:
        return CopyAccessIn(
            from_user_id=self.from_user,
            to_user_id=self.to_user,
            client_ids=self.client_ids,
            mode=self.mode,  # type: ignore[arg-type]
            dry_run=dry_run,
        )

    def items(self, conn: sqlite3.Connection) -> list[GrantOp]:
        """The same change as bulk items, worked out from the cache (offline preview)."""
        wanted = set(self.client_ids) if self.client_ids is not None else None
        source = _grants_of(conn, self.from_user)
        target = _grants_of(conn, self.to_user)
        items = []
        for client, (level, until) in sorted(source.items()):
            if wanted is not None and client not in wanted:
                continue
            have = target.get(client)
            if have is None:
                op = GrantOp(
                    user_id=self.to_user,
                    client_id=client,
                    access_level=level,  # type: ignore[arg-type]
                    valid_until=until,
                )
            elif LEVEL_RANK[level] > LEVEL_RANK[have[0]]:
                op = GrantOp(user_id=self.to_user, client_id=client, access_level=level)  # type: ignore[arg-type]
            else:
                op = GrantOp(user_id=self.to_user, client_id=client)
            items.append(op)
        return items

    def name_ids(self, conn: sqlite3.Connection) -> tuple[set[int], set[int]]:
        return {self.from_user, self.to_user}, set(_grants_of(conn, self.from_user))

    def local_preview(self, conn: sqlite3.Connection) -> Preview:
        return preview(Plan(self.items(conn)), conn)

    def _pieces(self) -> list[list[int] | None]:
        return [None] if self.client_ids is None else list(chunks(self.client_ids))

    def dry_run(self, api: AccessApi) -> Preview:
        return preview_from_result(self._send(api, True, None, None))

    def apply(self, api: AccessApi, key: str, progress: Progress | None = None) -> BulkGrantsResult:
        return self._send(api, False, key, progress)

    def _send(
        self, api: AccessApi, dry_run: bool, key: str | None, progress: Progress | None
    ) -> BulkGrantsResult:
        parts: list[BulkGrantsResult] = []
        pieces = self._pieces()
        for i, piece in enumerate(pieces):
            parts.append(
                api.copy_access(
                    self.from_user,
                    self.to_user,
                    piece,
                    mode=self.mode,
                    dry_run=dry_run,
                    idempotency_key=None if key is None else chunk_key(key, i, len(pieces)),
                )
            )
            if progress is not None:
                done = sum(len(p.results) for p in parts)
                progress(done, done if self.client_ids is None else len(self.client_ids))
        return merge_results(parts)

    def requests(self) -> list[tuple[str, str, dict[str, Any]]]:
        return [
            (
                "POST",
                "/v1/access-grants:copy",
                CopyPlan(self.from_user, self.to_user, piece, mode=self.mode)
                ._body(False)
                .model_dump(mode="json"),
            )
            for piece in self._pieces()
        ]


def _grants_of(conn: sqlite3.Connection, user_id: int) -> dict[int, tuple[str, date | None]]:
    return {
        int(cid): (level, date.fromisoformat(until) if until else None)
        for cid, level, until in conn.execute(
            "SELECT client_id, access_level, valid_until FROM access_grant WHERE user_id = ?",
            (user_id,),
        )
    }


@dataclass
class AltinnPlan:
    """Set (or clear) the partner's Altinn tag on clients (``POST /v1/clients:altinn-tag``)."""

    client_ids: list[int]
    value: bool
    summary: str = ""
    mode: str = "partial"

    @property
    def size(self) -> int:
        return len(self.client_ids)

    def name_ids(self, conn: sqlite3.Connection) -> tuple[set[int], set[int]]:
        return set(), set(self.client_ids)

    def local_preview(self, conn: sqlite3.Connection) -> Preview:
        return preview_altinn(self, conn)

    def dry_run(self, api: AccessApi) -> Preview:
        return Preview.of(altinn_rows(self._send(api, True, None, None)))

    def apply(self, api: AccessApi, key: str, progress: Progress | None = None) -> AltinnTagResult:
        return self._send(api, False, key, progress)

    def _send(
        self, api: AccessApi, dry_run: bool, key: str | None, progress: Progress | None
    ) -> AltinnTagResult:
        parts: list[AltinnTagResult] = []
        pieces = chunks(self.client_ids)
        for i, piece in enumerate(pieces):
            part = api.set_altinn_tag(
                piece,
                self.value,
                mode=self.mode,
                dry_run=dry_run,
                idempotency_key=None if key is None else chunk_key(key, i, len(pieces)),
            )
            parts.append(part)
            if progress is not None:
                progress(sum(len(p.results) for p in parts), len(self.client_ids))
            if self.mode == "atomic" and not dry_run and not part.applied:
                break
        return merge_results(parts)

    def requests(self) -> list[tuple[str, str, dict[str, Any]]]:
        return [
            (
                "POST",
                "/v1/clients:altinn-tag",
                altinn_request(AltinnPlan(piece, self.value, "", self.mode)),
            )
            for piece in chunks(self.client_ids)
        ]


@dataclass
class OffboardPlan:
    """End all of a user's access (``POST /v1/users/{id}:offboard``). Where the user was
    ansvarlig, ``per_client[client]`` — or else ``handover_to`` — takes over the role.
    (The API can also deactivate the user; the app leaves that to user administration,
    because an undo could not bring a deactivated user's access back.)"""

    user_id: int
    handover_to: int | None = None
    summary: str = ""
    size: int = 1
    per_client: dict[int, int] = field(default_factory=dict)

    def handover(self) -> Handover | None:
        if not self.handover_to and not self.per_client:
            return None
        return Handover(default_user_id=self.handover_to or None, per_client=dict(self.per_client))

    def name_ids(self, conn: sqlite3.Connection) -> tuple[set[int], set[int]]:
        users = {self.user_id, *self.per_client.values()}
        if self.handover_to:
            users.add(self.handover_to)
        clients = {
            int(c)
            for (c,) in conn.execute(
                "SELECT client_id FROM access_grant WHERE user_id = ?", (self.user_id,)
            )
        }
        return users, clients

    def local_preview(self, conn: sqlite3.Connection) -> Preview:
        return _handovers_first(preview_offboard(self, conn))

    def dry_run(self, api: AccessApi) -> Preview:
        return _handovers_first(Preview.of(result_rows(self._call(api, True))))

    def apply(self, api: AccessApi, key: str, progress: Progress | None = None) -> OffboardResult:
        return self._call(api, False, key)  # one request, however many grants

    def _call(self, api: AccessApi, dry_run: bool, key: str | None = None) -> OffboardResult:
        return api.offboard(
            self.user_id, handover=self.handover(), dry_run=dry_run, idempotency_key=key
        )

    def requests(self) -> list[tuple[str, str, dict[str, Any]]]:
        return [("POST", f"/v1/users/{self.user_id}:offboard", offboard_request(self))]


def offline_form(
    plan: AnyPlan, conn: sqlite3.Connection, queued: QueuedTouches | None = None
) -> AnyPlan:
    """The plan as it goes to the outbox: each grant item carries the version of the grant
    the user saw in the cache (0: absent), so a change someone makes on the server before the
    queue is sent makes that item fail as a conflict instead of being overwritten. Grants the
    outbox already changes (an earlier queued change of this user) stay unguarded: the cache
    cannot know their next version. A copy goes as the bulk items the preview showed, for the
    same reason."""
    if isinstance(plan, CopyPlan):
        plan = Plan(plan.items(conn), plan.summary, plan.mode)
    if not isinstance(plan, Plan):
        return plan
    queued = queued or QueuedTouches()
    versions = {
        (int(u), int(c)): int(v)
        for u, c, v in conn.execute("SELECT user_id, client_id, version FROM access_grant")
    }
    items = []
    for op in plan.items:
        pair = (op.user_id, op.client_id)
        if op.expected_version is not None or pair in queued.pairs or op.user_id in queued.users:
            items.append(op)
        else:
            fields = op.model_dump(exclude_unset=True)
            fields["expected_version"] = versions.get(pair, 0)
            items.append(GrantOp(**fields))
    return Plan(items, plan.summary, plan.mode)


@dataclass
class QueuedTouches:
    """What the outbox's pending changes already touch: (user, client) grants, and users
    whose every grant changes (an offboarding)."""

    pairs: set[tuple[int, int]] = field(default_factory=set)
    users: set[int] = field(default_factory=set)


def _handovers_first(shown: Preview) -> Preview:
    """An offboarding's preview lists who takes over first: the rows worth checking, above
    the many grants that end."""
    return Preview(sorted(shown.rows, key=lambda r: r.change == "revoke"), shown.totals)


AnyPlan = Plan | CopyPlan | AltinnPlan | OffboardPlan
AnyResult = BulkGrantsResult | AltinnTagResult | OffboardResult


@dataclass(frozen=True, slots=True)
class PreviewRow:
    user_id: int  # 0 for a change of the client itself (the Altinn tag)
    client_id: int
    before: GrantView | None
    after: GrantView | None
    change: str  # grant | change | unchanged | revoke | failed
    reason: str = ""
    before_text: str | None = None  # shown instead of ``before`` (Altinn tag: yes / no)
    after_text: str | None = None
    code: str = ""  # the problem type's last segment (``client-archived``), to show it localized

    @property
    def lowers(self) -> bool:
        """The change takes a level down (full → read): worth a second look."""
        if self.change != "change" or self.before is None or self.after is None:
            return False
        return LEVEL_RANK[self.after.access_level] < LEVEL_RANK[self.before.access_level]


@dataclass
class Preview:
    rows: list[PreviewRow]
    totals: dict[str, int] = field(default_factory=dict)

    @staticmethod
    def of(rows: list[PreviewRow]) -> Preview:
        counted = Counter(r.change for r in rows)
        totals = {k: counted.get(k, 0) for k in CHANGE_KINDS}
        if counted.get("failed"):
            totals["failed"] = counted["failed"]
        lowered = sum(1 for r in rows if r.lowers)
        if lowered:  # a grant can lower a level: never silently
            totals["lowered"] = lowered
        return Preview(rows, totals)


def _current(
    conn: sqlite3.Connection, pairs: set[tuple[int, int]]
) -> dict[tuple[int, int], GrantView]:
    out: dict[tuple[int, int], GrantView] = {}
    users = sorted({u for u, _ in pairs})
    for start in range(0, len(users), 500):
        chunk = users[start : start + 500]
        marks = ",".join("?" for _ in chunk)
        for uid, cid, level, role, source, until in conn.execute(
            "SELECT user_id, client_id, access_level, role, role_source, valid_until "
            f"FROM access_grant WHERE user_id IN ({marks})",
            chunk,
        ):
            if (uid, cid) in pairs:
                out[(uid, cid)] = GrantView(
                    level, role, source, date.fromisoformat(until) if until else None
                )
    return out


def _templates(conn: sqlite3.Connection) -> dict[int, tuple[str, str | None]]:
    return {
        int(tid): (level, role)
        for tid, level, role in conn.execute("SELECT id, access_level, role FROM access_template")
    }


_REVOKED = "__revoked__"


@dataclass(frozen=True, slots=True)
class _Failure:
    """Why the server would refuse an item (the problem type's code and its English text)."""

    code: str
    reason: str


def _after(
    op: GrantOp, before: GrantView | None, templates: dict[int, tuple[str, str | None]]
) -> GrantView | _Failure | str:
    """The grant after ``op`` as the server would make it, or why it would fail (a string is
    one of the markers ``AUTO`` — revoking nothing — and ``_REVOKED``)."""
    if op.op == "revoke":
        return AUTO if before is None else _REVOKED
    template = templates.get(op.template_id) if op.template_id is not None else None
    if op.template_id is not None and template is None:
        return _Failure("not-found", "No such access template.")
    level = (
        op.access_level
        or (template[0] if template else None)
        or (before.access_level if before else None)
    )
    if level is None:
        return _Failure("access-level-required", "A new grant needs access_level or template_id.")
    if op.role_source == "auto":
        source, role = "auto", before.role if before and before.role_source == "auto" else AUTO
    elif op.role is not None:
        source, role = "manual", op.role
    elif op.role_source == "manual":
        source, role = "manual", before.role if before else AUTO
    elif template is not None and template[1] is not None:
        source, role = "manual", template[1]
    elif before is not None:
        source, role = before.role_source, before.role
    else:
        source, role = "auto", AUTO
    if "valid_until" in op.model_fields_set:
        until = op.valid_until
        if until is not None and until < date.today():  # as the server refuses it
            return _Failure("valid-until-in-past", f"valid_until {until} is before today.")
    else:
        until = before.valid_until if before else None
    return GrantView(level, role, source, until)


def preview(plan: Plan, conn: sqlite3.Connection) -> Preview:
    """Before → after per item from the cache, with totals grant / change / unchanged / revoke."""
    pairs = {(op.user_id, op.client_id) for op in plan.items}
    current = _current(conn, pairs)
    templates = _templates(conn)
    rows: list[PreviewRow] = []
    for op in plan.items:
        before = current.get((op.user_id, op.client_id))
        after = _after(op, before, templates)
        if after == _REVOKED:
            rows.append(PreviewRow(op.user_id, op.client_id, before, None, "revoke"))
        elif after == AUTO:  # revoking what is not there
            rows.append(PreviewRow(op.user_id, op.client_id, None, None, "unchanged"))
        elif isinstance(after, _Failure):
            rows.append(
                PreviewRow(
                    op.user_id, op.client_id, before, None, "failed", after.reason, code=after.code
                )
            )
        elif isinstance(after, GrantView):
            kind = "grant" if before is None else ("unchanged" if after == before else "change")
            rows.append(PreviewRow(op.user_id, op.client_id, before, after, kind))
    return Preview.of(rows)


def _view(state: Any) -> GrantView | None:
    if state is None:
        return None
    return GrantView(state.access_level, state.role, state.role_source, state.valid_until)


_STATUS_CHANGE = {
    "created": "grant",
    "updated": "change",
    "unchanged": "unchanged",
    "deleted": "revoke",
    "failed": "failed",
}


def problem_code(problem: ItemProblem | None) -> str:
    """``client-archived`` of ``https://…/problems/client-archived``."""
    return problem.type.rstrip("/").rsplit("/", 1)[-1] if problem is not None else ""


def _reason(problem: ItemProblem | None) -> str:
    return (problem.detail or problem.title or "") if problem is not None else ""


def result_row(item: GrantItemResult) -> PreviewRow:
    after = None if item.status == "deleted" else _view(item.after)
    return PreviewRow(
        item.user_id,
        item.client_id,
        _view(item.before),
        after,
        _STATUS_CHANGE[item.status],
        _reason(item.problem),
        code=problem_code(item.problem),
    )


def preview_from_result(result: BulkGrantsResult) -> Preview:
    """The same preview from the server's (dry-run or real) per-item answer."""
    return Preview.of([result_row(r) for r in result.results])


def to_bulk_request(plan: Plan, *, dry_run: bool = False) -> dict[str, Any]:
    """The JSON body of ``POST /v1/access-grants:bulk`` (unset fields left out: keep)."""
    body = BulkGrantsIn(items=list(plan.items), mode=plan.mode, dry_run=dry_run)  # type: ignore[arg-type]
    return body.model_dump(mode="json", exclude_unset=True) | {
        "mode": plan.mode,
        "dry_run": dry_run,
    }


def inverse(result: BulkGrantsResult, summary: str = "") -> Plan:
    """The undo plan of an applied answer: each changed grant back to its before-state,
    guarded by ``expected_version`` (atomic: all or nothing)."""
    return Plan(result.inverse_items(), summary=summary, mode="atomic")


def failed_only(plan: Plan, result: BulkGrantsResult) -> Plan:
    """The items of ``plan`` that failed in ``result`` (matched by index), to retry."""
    failed = {r.index for r in result.results if r.status == "failed"}
    return Plan([op for i, op in enumerate(plan.items) if i in failed], plan.summary, plan.mode)


# ---- the Altinn tag -----------------------------------------------------------------------


def _tag(value: bool | None) -> str:
    return "–" if value is None else ("partner" if value else "nei")


def preview_altinn(plan: AltinnPlan, conn: sqlite3.Connection) -> Preview:
    wanted = set(plan.client_ids)
    current = {
        int(cid): bool(tag)
        for cid, tag in conn.execute("SELECT id, uses_partner_altinn FROM client")
        if int(cid) in wanted
    }
    rows = []
    for cid in plan.client_ids:
        before = current.get(cid)
        if before is None:
            rows.append(
                PreviewRow(0, cid, None, None, "failed", "No such client.", "–", "–", "not-found")
            )
            continue
        change = "unchanged" if before == plan.value else "change"
        rows.append(PreviewRow(0, cid, None, None, change, "", _tag(before), _tag(plan.value)))
    return Preview.of(rows)


def altinn_rows(result: AltinnTagResult) -> list[PreviewRow]:
    rows = []
    for item in result.results:
        before = item.before.uses_partner_altinn if item.before else None
        after = item.after.uses_partner_altinn if item.after else None
        change = {"updated": "change", "unchanged": "unchanged"}.get(item.status, "failed")
        rows.append(
            PreviewRow(
                0,
                item.client_id,
                None,
                None,
                change,
                _reason(item.problem),
                _tag(before),
                _tag(after),
                code=problem_code(item.problem),
            )
        )
    return rows


def altinn_request(plan: AltinnPlan, *, dry_run: bool = False) -> dict[str, Any]:
    body = AltinnTagIn(
        client_ids=list(plan.client_ids),
        value=plan.value,
        mode=plan.mode,  # type: ignore[arg-type]
        dry_run=dry_run,
    )
    return body.model_dump(mode="json")


# ---- either kind ----------------------------------------------------------------------------


def plan_size(plan: AnyPlan) -> int:
    return plan.size


def offboard_request(plan: OffboardPlan, *, dry_run: bool = False) -> dict[str, Any]:
    return OffboardIn(dry_run=dry_run, handover=plan.handover()).model_dump(mode="json")


def preview_offboard(plan: OffboardPlan, conn: sqlite3.Connection) -> Preview:
    """Offline: every grant of the user ends, and where they were ansvarlig (on an active
    client) the named successor becomes ansvarlig with at least the leaver's level (a higher
    level of their own is kept) — as the server does it."""
    grants = list(
        conn.execute(
            "SELECT g.client_id, g.access_level, g.role, c.status FROM access_grant g "
            "LEFT JOIN client c ON c.id = g.client_id WHERE g.user_id = ? ORDER BY g.client_id",
            (plan.user_id,),
        )
    )
    items = [GrantOp(op="revoke", user_id=plan.user_id, client_id=int(c)) for c, *_ in grants]
    for client, level, role, status in grants:
        successor = plan.per_client.get(int(client), plan.handover_to)
        if role != "ansvarlig" or status == "archived" or not successor:
            continue
        has = conn.execute(
            "SELECT access_level FROM access_grant WHERE user_id = ? AND client_id = ?",
            (successor, client),
        ).fetchone()
        keeps = has is not None and LEVEL_RANK[has[0]] >= LEVEL_RANK[level]
        items.append(
            GrantOp(
                user_id=successor,
                client_id=int(client),
                role="ansvarlig",
                access_level=None if keeps else level,
            )
        )
    return preview(Plan(items), conn)


def result_rows(result: AnyResult) -> list[PreviewRow]:
    if isinstance(result, AltinnTagResult):
        return altinn_rows(result)
    return [result_row(r) for r in result.results]


def undo_plan(plan: AnyPlan, result: AnyResult, summary: str = "") -> AnyPlan | None:
    """The inverse of an applied change (None when it changed nothing)."""
    if isinstance(result, AltinnTagResult):
        if not result.applied or not isinstance(plan, AltinnPlan):
            return None
        changed = [r.client_id for r in result.results if r.status == "updated"]
        if not changed:
            return None
        return AltinnPlan(changed, not plan.value, summary, mode="atomic")
    if isinstance(result, OffboardResult):
        if not result.applied:
            return None
        items = [op for r in result.results if (op := r.inverse()) is not None]
        return Plan(items, summary, mode="atomic") if items else None
    undo = inverse(result, summary)
    return undo if undo.items else None


def retry_plan(plan: AnyPlan, result: AnyResult) -> AnyPlan:
    """Only the items that failed, to send again."""
    if isinstance(plan, AltinnPlan):
        failed = {r.client_id for r in result.results if r.status == "failed"}
        return AltinnPlan(
            [c for c in plan.client_ids if c in failed], plan.value, plan.summary, plan.mode
        )
    if isinstance(plan, OffboardPlan):
        return plan  # one request: send it again
    assert isinstance(result, BulkGrantsResult)
    if isinstance(plan, CopyPlan):
        failed_clients = [r.client_id for r in result.results if r.status == "failed"]
        return CopyPlan(plan.from_user, plan.to_user, failed_clients, plan.summary, plan.mode)
    return failed_only(plan, result)
