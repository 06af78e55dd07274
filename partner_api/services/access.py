"""Access administration: declarative grants (one or a thousand), copying access, offboarding
with ansvarlig handover, role overrides, expiry, access templates and the Altinn tag.

Every function here takes the caller's session inside one write transaction and writes through
the ORM (change versions, tombstones) plus one audit event per change. Bulk work is planned
first — every item checked against what the database holds now — and then applied in one
flush: partial mode applies the items that passed, atomic mode applies nothing if any failed,
a dry run applies nothing and answers the same shape.

Who may grant what: only partneradmins reach the API, and a partneradmin's own level is
``full``. The rule "no one grants a level above their own" is enforced here for any actor:
an actor who is not a partneradmin has, on each client, the level of their own grant there
(none: they may not change access on that client).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select
from sqlmodel import Session, col

from partner_api.models import (
    ACCESS_LEVELS,
    AccessGrant,
    AccessTemplate,
    Client,
    User,
    utcnow,
)
from partner_api.problems import PROBLEM_BASE, ProblemError, not_found
from partner_api.services import audit
from partner_api.services.audit import Actor
from partner_api.services.roles import latest_runner
from partner_api.versioning import (
    current_transaction_version,
    delete_rows,
    insert_rows,
    update_rows,
)
from partner_api.wire import (
    AccessTemplateIn,
    AccessTemplateOut,
    AltinnTagIn,
    AltinnTagItemResult,
    AltinnTagResult,
    AltinnTagState,
    BulkGrantsResult,
    BulkMode,
    BulkSummary,
    ClientRef,
    CopyAccessIn,
    GrantItemResult,
    GrantOp,
    GrantState,
    Handover,
    HandoverPlan,
    ItemProblem,
    ItemStatus,
    OffboardIn,
    OffboardResult,
)

if TYPE_CHECKING:
    from partner_api.db import Database

LEVEL_RANK = {level: rank for rank, level in enumerate(ACCESS_LEVELS)}
FULL = LEVEL_RANK["full"]
NO_ACCESS = -1
CHANGED: frozenset[str] = frozenset({"created", "updated", "deleted"})
DEFAULT_TEMPLATES = (
    ("Regnskapsfører – full", "full"),
    ("Lønnsmedarbeider", "payroll"),
    ("Revisor – kun lesing", "read"),
)
OSLO = ZoneInfo("Europe/Oslo")


def today() -> date:
    """The current date in Norway: grants with ``valid_until`` before it have ended."""
    return datetime.now(OSLO).date()


def item_problem(status: int, slug: str, title: str, detail: str, **extra: Any) -> ItemProblem:
    return ItemProblem(type=PROBLEM_BASE + slug, title=title, status=status, detail=detail, **extra)


def raise_item_problem(problem: ItemProblem) -> None:
    """Answer a single-item request with the item's problem."""
    extra = dict(problem.model_extra or {})
    if problem.current_version is not None:
        extra["current_version"] = problem.current_version
    slug = problem.type.removeprefix(PROBLEM_BASE)
    raise ProblemError(problem.status, slug, problem.title, problem.detail, **extra)


def grant_state(grant: Any) -> GrantState:
    """The wire state of a grant (an ORM object or a row of its columns)."""
    return GrantState(
        id=grant.id,
        version=grant.version,
        user_id=grant.user_id,
        client_id=grant.client_id,
        access_level=grant.access_level,
        role=grant.role,
        role_source=grant.role_source,
        valid_until=grant.valid_until,
    )


def _table(model: Any) -> Any:
    return model.__table__


def _jsonable(state: GrantState | AltinnTagState | None) -> dict[str, Any] | None:
    return None if state is None else state.model_dump(mode="json")


def summarise(statuses: Iterable[str]) -> BulkSummary:
    summary = BulkSummary()
    for status in statuses:
        setattr(summary, status, getattr(summary, status) + 1)
    return summary


# ---- lookups, always scoped to the actor's partner -----------------------------------------


def _in_chunks(ids: Iterable[int], size: int = 900) -> Iterable[list[int]]:
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]


# Bulk paths read plain rows (attribute access like the ORM objects, without their ~0.1 ms
# bookkeeping each) and write through versioning.insert_rows / update_rows / delete_rows.
_USER_COLUMNS = ("id", "partner_id", "name", "active")
_CLIENT_COLUMNS = ("id", "partner_id", "orgnr", "name", "status", "uses_partner_altinn", "version")


def _rows_by_id(
    session: Session, model: Any, columns: Sequence[str], partner_id: int, ids: Iterable[int]
) -> dict[int, Any]:
    table = model.__table__
    found: dict[int, Any] = {}
    for chunk in _in_chunks(ids):
        stmt = select(*(table.c[name] for name in columns)).where(
            table.c.partner_id == partner_id, table.c.id.in_(chunk)
        )
        for row in session.execute(stmt):
            found[row.id] = row
    return found


def users_by_id(session: Session, partner_id: int, ids: Iterable[int]) -> dict[int, Any]:
    """Users of the partner as rows (id, name, active)."""
    return _rows_by_id(session, User, _USER_COLUMNS, partner_id, ids)


def clients_by_id(session: Session, partner_id: int, ids: Iterable[int]) -> dict[int, Any]:
    """Clients of the partner as rows (id, orgnr, name, status, uses_partner_altinn, version)."""
    return _rows_by_id(session, Client, _CLIENT_COLUMNS, partner_id, ids)


def get_user(session: Session, partner_id: int, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or user.partner_id != partner_id:
        raise not_found("user")
    return user


def get_client(session: Session, partner_id: int, client_id: int) -> Client:
    client = session.get(Client, client_id)
    if client is None or client.partner_id != partner_id:
        raise not_found("client")
    return client


def find_grant(
    session: Session, partner_id: int, user_id: int, client_id: int
) -> AccessGrant | None:
    return session.execute(
        select(AccessGrant).where(
            col(AccessGrant.partner_id) == partner_id,
            col(AccessGrant.user_id) == user_id,
            col(AccessGrant.client_id) == client_id,
        )
    ).scalar_one_or_none()


def list_grants(
    session: Session, partner_id: int, user_id: int | None, client_id: int | None
) -> list[AccessGrant]:
    stmt = select(AccessGrant).where(col(AccessGrant.partner_id) == partner_id)
    if user_id is not None:
        stmt = stmt.where(col(AccessGrant.user_id) == user_id)
    if client_id is not None:
        stmt = stmt.where(col(AccessGrant.client_id) == client_id)
    return list(session.execute(stmt.order_by(col(AccessGrant.id))).scalars())


def ceilings(session: Session, actor: Actor, client_ids: Iterable[int]) -> dict[int, int]:
    """The highest level rank the actor may grant on each client (NO_ACCESS: none)."""
    ids = set(client_ids)
    if actor.is_partneradmin or actor.user_id is None:
        return dict.fromkeys(ids, FULL)
    ceiling = dict.fromkeys(ids, NO_ACCESS)
    for chunk in _in_chunks(ids):
        rows = session.execute(
            select(col(AccessGrant.client_id), col(AccessGrant.access_level)).where(
                col(AccessGrant.user_id) == actor.user_id, col(AccessGrant.client_id).in_(chunk)
            )
        )
        for client_id, level in rows:
            ceiling[client_id] = LEVEL_RANK.get(level, NO_ACCESS)
    return ceiling


def overall_ceiling(session: Session, actor: Actor) -> int:
    if actor.is_partneradmin or actor.user_id is None:
        return FULL
    levels = session.execute(
        select(col(AccessGrant.access_level)).where(col(AccessGrant.user_id) == actor.user_id)
    ).scalars()
    return max((LEVEL_RANK.get(level, NO_ACCESS) for level in levels), default=NO_ACCESS)


def _above_own(level: str) -> ItemProblem:
    return item_problem(
        403,
        "level-above-own",
        "Level above your own",
        f"You cannot grant or change access at level '{level}', above your own.",
    )


# ---- planning and applying grant items -----------------------------------------------------


@dataclass
class Failure:
    """An item already known to fail (e.g. copying from a client the source has no access to)."""

    user_id: int
    client_id: int
    problem: ItemProblem


@dataclass
class Planned:
    index: int
    user_id: int
    client_id: int
    status: ItemStatus
    before: GrantState | None = None
    after: GrantState | None = None
    problem: ItemProblem | None = None
    grant: Any = None  # the current row (updated / deleted)

    def result(self) -> GrantItemResult:
        return GrantItemResult(
            index=self.index,
            status=self.status,
            user_id=self.user_id,
            client_id=self.client_id,
            before=self.before,
            after=self.after,
            problem=self.problem,
        )


class GrantPlanner:
    """Plans grant items against the current rows, then applies the ones that passed."""

    def __init__(self, session: Session, actor: Actor, on: date | None = None) -> None:
        self.session = session
        self.actor = actor
        self.today = on or today()

    def plan(self, items: Sequence[GrantOp | Failure]) -> list[Planned]:
        ops = [op for op in items if isinstance(op, GrantOp)]
        partner = self.actor.partner_id
        users = users_by_id(self.session, partner, (op.user_id for op in ops))
        clients = clients_by_id(self.session, partner, (op.client_id for op in ops))
        grants = self._grants(set(users), set(clients))
        template_ids = {op.template_id for op in ops if op.template_id is not None}
        templates = (
            {
                t.id: t
                for t in self.session.execute(
                    select(AccessTemplate).where(
                        col(AccessTemplate.partner_id) == partner,
                        col(AccessTemplate.id).in_(sorted(template_ids)),
                    )
                ).scalars()
            }
            if template_ids
            else {}
        )
        # The automatic role is needed for new grants without a role and for "back to auto".
        ensure_clients = sorted(
            {
                op.client_id
                for op in ops
                if op.op == "ensure"
                and op.client_id in clients
                and (
                    op.role_source == "auto"
                    or (op.role is None and (op.user_id, op.client_id) not in grants)
                )
            }
        )
        runner = latest_runner(self.session, ensure_clients) if ensure_clients else {}
        ceiling = ceilings(self.session, self.actor, clients)
        seen: set[tuple[int, int]] = set()
        planned = []
        for index, item in enumerate(items):
            if isinstance(item, Failure):
                planned.append(
                    Planned(index, item.user_id, item.client_id, "failed", problem=item.problem)
                )
                continue
            planned.append(
                self._plan_one(
                    index, item, users, clients, grants, templates, runner, ceiling, seen
                )
            )
        return planned

    def _grants(self, user_ids: set[int], client_ids: set[int]) -> dict[tuple[int, int], Any]:
        found: dict[tuple[int, int], Any] = {}
        if not user_ids or not client_ids:
            return found
        table = _table(AccessGrant)
        # Few users and many clients is the usual shape: chunk over the smaller side.
        by_user = len(user_ids) <= len(client_ids)
        outer, inner = (user_ids, client_ids) if by_user else (client_ids, user_ids)
        outer_col = table.c.user_id if by_user else table.c.client_id
        for chunk in _in_chunks(outer):
            rows = self.session.execute(
                select(table).where(
                    table.c.partner_id == self.actor.partner_id, outer_col.in_(chunk)
                )
            )
            for grant in rows:
                other = grant.client_id if by_user else grant.user_id
                if other in inner:
                    found[(grant.user_id, grant.client_id)] = grant
        return found

    def _plan_one(
        self,
        index: int,
        op: GrantOp,
        users: dict[int, Any],
        clients: dict[int, Any],
        grants: dict[tuple[int, int], Any],
        templates: dict[int | None, AccessTemplate],
        runner: dict[int, int | None],
        ceiling: dict[int, int],
        seen: set[tuple[int, int]],
    ) -> Planned:
        key = (op.user_id, op.client_id)
        current = grants.get(key)
        before = grant_state(current) if current is not None else None
        item = Planned(index, op.user_id, op.client_id, "failed", before=before, grant=current)

        def fail(problem: ItemProblem) -> Planned:
            item.problem = problem
            return item

        if key in seen:
            return fail(
                item_problem(
                    422,
                    "duplicate-item",
                    "Duplicate item",
                    "The same user and client appear more than once in this request.",
                )
            )
        seen.add(key)
        user = users.get(op.user_id)
        if user is None:
            return fail(item_problem(404, "not-found", "Not found", "No such user."))
        client = clients.get(op.client_id)
        if client is None:
            return fail(item_problem(404, "not-found", "Not found", "No such client."))
        if op.expected_version is not None:
            current_version = current.version if current is not None else 0
            if current_version != op.expected_version:
                return fail(
                    item_problem(
                        412,
                        "version-conflict",
                        "Changed by someone else",
                        f"Expected version {op.expected_version} of the grant; it is now at "
                        f"{current_version}" + (" (absent)." if current is None else "."),
                        current_version=current_version,
                    )
                )
        cap = ceiling.get(op.client_id, NO_ACCESS)
        if current is not None and LEVEL_RANK.get(current.access_level, FULL) > cap:
            return fail(_above_own(current.access_level))

        if op.op == "revoke":
            item.status = "unchanged" if current is None else "deleted"
            return item

        if client.status == "archived" and not op.restore:
            return fail(
                item_problem(
                    409,
                    "client-archived",
                    "Client archived",
                    f"{client.name} ({client.orgnr}) is archived; access to it cannot be given "
                    "or changed.",
                )
            )
        if not user.active:
            return fail(
                item_problem(
                    409, "user-inactive", "User deactivated", f"{user.name} is deactivated."
                )
            )
        template = None
        if op.template_id is not None:
            template = templates.get(op.template_id)
            if template is None:
                return fail(item_problem(404, "not-found", "Not found", "No such access template."))
        level = (
            op.access_level
            or (template.access_level if template is not None else None)
            or (current.access_level if current is not None else None)
        )
        if level is None:
            return fail(
                item_problem(
                    422,
                    "access-level-required",
                    "Access level required",
                    "A new grant needs access_level or template_id.",
                )
            )
        if LEVEL_RANK[level] > cap:
            return fail(_above_own(level))

        auto_role = "ansvarlig" if runner.get(op.client_id) == op.user_id else "medarbeider"
        if op.role_source == "auto":
            source, role = "auto", auto_role
        elif op.role is not None:
            source, role = "manual", op.role
        elif op.role_source == "manual":
            source, role = "manual", current.role if current is not None else auto_role
        elif template is not None and template.role is not None:
            source, role = "manual", template.role
        elif current is not None:
            source, role = current.role_source, current.role
        else:
            source, role = "auto", auto_role

        if "valid_until" in op.model_fields_set:
            valid_until = op.valid_until
        else:
            valid_until = current.valid_until if current is not None else None
        if valid_until is not None and valid_until < self.today:
            return fail(
                item_problem(
                    422,
                    "valid-until-in-past",
                    "Expiry in the past",
                    f"valid_until {valid_until.isoformat()} is before today "
                    f"({self.today.isoformat()}).",
                )
            )

        item.after = GrantState(
            id=current.id if current is not None else None,
            version=current.version if current is not None else None,
            user_id=op.user_id,
            client_id=op.client_id,
            access_level=level,  # type: ignore[arg-type]
            role=role,  # type: ignore[arg-type]
            role_source=source,  # type: ignore[arg-type]
            valid_until=valid_until,
        )
        if current is None:
            item.status = "created"
        elif item.after == before:
            item.status = "unchanged"
        else:
            item.status = "updated"
        return item

    def apply(self, planned: list[Planned], note: str | None = None) -> None:
        """Write the planned changes (items that are not failed) and their audit events.

        One statement per kind of change (versioning.insert_rows / update_rows / delete_rows
        keep the change-version and tombstone rules): a 1,000-item bulk stays well under
        a second.
        """
        session = self.session
        changed = [p for p in planned if p.status in CHANGED]
        if not changed:
            return
        session.flush()  # anything pending goes first, under the same version
        created = [p for p in changed if p.status == "created"]
        updated = [p for p in changed if p.status == "updated"]
        deleted = [p for p in changed if p.status == "deleted"]
        version = current_transaction_version(session)

        def values(state: GrantState) -> dict[str, Any]:
            return {
                "access_level": state.access_level,
                "role": state.role,
                "role_source": state.role_source,
                "valid_until": state.valid_until,
            }

        new_ids = {
            (user_id, client_id): grant_id
            for grant_id, user_id, client_id in insert_rows(
                session,
                AccessGrant,
                [
                    {
                        "partner_id": self.actor.partner_id,
                        "user_id": p.user_id,
                        "client_id": p.client_id,
                        **values(p.after),  # type: ignore[arg-type]
                    }
                    for p in created
                ],
                returning=("id", "user_id", "client_id"),
            )
        }
        update_rows(
            session,
            AccessGrant,
            [{"id": p.grant.id, **values(p.after)} for p in updated],  # type: ignore[arg-type]
        )
        delete_rows(session, AccessGrant, [p.grant for p in deleted])
        for p in created:
            assert p.after is not None
            p.after = p.after.model_copy(
                update={"id": new_ids[(p.user_id, p.client_id)], "version": version}
            )
        for p in updated:
            assert p.after is not None
            p.after = p.after.model_copy(update={"version": version})
        now = utcnow()
        audit.write_rows(
            session,
            [
                audit.row(
                    self.actor,
                    f"access_grant.{p.status}",
                    "access_grant",
                    (p.after or p.before).id,  # type: ignore[union-attr]
                    subject_user_id=p.user_id,
                    client_id=p.client_id,
                    before=_jsonable(p.before),
                    after=_jsonable(p.after),
                    note=note,
                    at=now,
                )
                for p in changed
            ],
        )

    def run(
        self,
        items: Sequence[GrantOp | Failure],
        mode: BulkMode,
        dry_run: bool,
        note: str | None = None,
    ) -> BulkGrantsResult:
        planned = self.plan(items)
        applied, version = self.finish(planned, mode, dry_run, note)
        return BulkGrantsResult(
            applied=applied,
            dry_run=dry_run,
            mode=mode,
            version=version,
            summary=summarise(p.status for p in planned),
            results=[p.result() for p in planned],
        )

    def finish(
        self, planned: list[Planned], mode: BulkMode, dry_run: bool, note: str | None
    ) -> tuple[bool, int | None]:
        failed = any(p.status == "failed" for p in planned)
        applied = not dry_run and not (mode == "atomic" and failed)
        if not applied or not any(p.status in CHANGED for p in planned):
            return applied, None
        self.apply(planned, note)
        return applied, current_transaction_version(self.session)


def put_grant(session: Session, actor: Actor, op: GrantOp) -> GrantItemResult:
    """One declarative grant change; a failed item becomes the request's problem."""
    planner = GrantPlanner(session, actor)
    planned = planner.plan([op])
    item = planned[0]
    if item.problem is not None:
        raise_item_problem(item.problem)
    planner.finish(planned, "atomic", False, None)
    return item.result()


def clear_role_override(
    session: Session, actor: Actor, user_id: int, client_id: int
) -> GrantItemResult:
    get_user(session, actor.partner_id, user_id)
    get_client(session, actor.partner_id, client_id)
    if find_grant(session, actor.partner_id, user_id, client_id) is None:
        raise not_found("access grant")
    return put_grant(
        session,
        actor,
        GrantOp(op="ensure", user_id=user_id, client_id=client_id, role_source="auto"),
    )


# ---- copy access, offboarding ----------------------------------------------------------------


def copy_access(session: Session, actor: Actor, body: CopyAccessIn) -> BulkGrantsResult:
    source = get_user(session, actor.partner_id, body.from_user_id)
    target = get_user(session, actor.partner_id, body.to_user_id)
    if source.id == target.id:
        raise ProblemError(
            422, "same-user", "Same user", "Copying access needs two different users."
        )
    stmt = select(AccessGrant).where(
        col(AccessGrant.partner_id) == actor.partner_id,
        col(AccessGrant.user_id) == source.id,
    )
    by_client = {g.client_id: g for g in session.execute(stmt).scalars()}
    wanted = body.client_ids if body.client_ids is not None else sorted(by_client)
    target_level = {
        g.client_id: LEVEL_RANK.get(g.access_level, FULL)
        for g in list_grants(session, actor.partner_id, target.id, None)
    }
    items: list[GrantOp | Failure] = []
    for client_id in wanted:
        grant = by_client.get(client_id)
        if grant is None:
            items.append(
                Failure(
                    body.to_user_id,
                    client_id,
                    item_problem(
                        404,
                        "no-source-grant",
                        "Nothing to copy",
                        f"No such client, or {source.name} has no access to it.",
                    ),
                )
            )
        elif client_id in target_level:
            # An existing grant keeps its expiry and is never lowered.
            raises = LEVEL_RANK.get(grant.access_level, FULL) > target_level[client_id]
            level = grant.access_level if raises else None
            items.append(
                GrantOp(
                    op="ensure",
                    user_id=body.to_user_id,
                    client_id=client_id,
                    access_level=level,
                )
            )
        else:
            items.append(
                GrantOp(
                    op="ensure",
                    user_id=body.to_user_id,
                    client_id=client_id,
                    access_level=grant.access_level,
                    valid_until=grant.valid_until,
                )
            )
    note = f"copied from user {source.id}"
    return GrantPlanner(session, actor).run(items, body.mode, body.dry_run, note)


def offboard(session: Session, actor: Actor, user_id: int, body: OffboardIn) -> OffboardResult:
    """End all of a user's access; where they are ansvarlig, hand the role over first.

    All or nothing: if any part fails (e.g. the new ansvarlig may not get access), nothing
    changes and the result says why.
    """
    user = get_user(session, actor.partner_id, user_id)
    grants = list_grants(session, actor.partner_id, user_id, None)
    clients = clients_by_id(session, actor.partner_id, (g.client_id for g in grants))
    handover = body.handover or Handover()
    for target_id in {handover.default_user_id, *handover.per_client.values()} - {None}:
        assert target_id is not None
        target = get_user(session, actor.partner_id, target_id)
        if target.id == user.id:
            raise ProblemError(
                422,
                "invalid-handover",
                "Invalid handover",
                f"{user.name} cannot take over from themselves.",
            )
        if not target.active:
            raise ProblemError(
                409, "user-inactive", "User deactivated", f"{target.name} is deactivated."
            )

    handovers: list[HandoverPlan] = []
    required: list[ClientRef] = []
    for grant in sorted(grants, key=lambda g: g.client_id):
        client = clients[grant.client_id]
        if grant.role != "ansvarlig" or client.status == "archived":
            continue  # an archived client needs no ansvarlig
        to = handover.per_client.get(grant.client_id, handover.default_user_id)
        if to is None:
            required.append(ClientRef(client_id=client.id, orgnr=client.orgnr, name=client.name))
        else:
            handovers.append(
                HandoverPlan(client_id=grant.client_id, from_user_id=user_id, to_user_id=to)
            )
    if required and not body.dry_run:
        raise ProblemError(
            409,
            "handover-required",
            "A new ansvarlig is needed",
            f"{user.name} is ansvarlig on {len(required)} client(s). Name who takes over "
            "(handover.default_user_id or handover.per_client) before the access ends.",
            clients=[r.model_dump() for r in required],
        )

    existing = (
        {
            (g.user_id, g.client_id): g.access_level
            for g in session.execute(
                select(AccessGrant).where(
                    col(AccessGrant.partner_id) == actor.partner_id,
                    col(AccessGrant.client_id).in_([h.client_id for h in handovers]),
                )
            ).scalars()
        }
        if handovers
        else {}
    )
    by_client = {g.client_id: g for g in grants}
    items: list[GrantOp | Failure] = [
        GrantOp(op="revoke", user_id=user_id, client_id=g.client_id) for g in grants
    ]
    for h in handovers:
        # The new ansvarlig gets at least the leaver's level there (an ansvarlig who can only
        # read cannot run the payroll); a higher level of their own is kept.
        theirs = existing.get((h.to_user_id, h.client_id))
        leavers = by_client[h.client_id].access_level
        keeps_level = theirs is not None and LEVEL_RANK[theirs] >= LEVEL_RANK[leavers]
        items.append(
            GrantOp(
                op="ensure",
                user_id=h.to_user_id,
                client_id=h.client_id,
                role="ansvarlig",
                access_level=None if keeps_level else leavers,  # type: ignore[arg-type]
            )
        )
    planner = GrantPlanner(session, actor)
    planned = planner.plan(items)
    note = f"offboarding of user {user_id}"
    applied, version = planner.finish(planned, "atomic", body.dry_run, note)
    deactivate = body.deactivate and user.active
    if applied:
        if deactivate:
            user.active = False
            audit.record(
                session,
                actor,
                "user.deactivated",
                "user",
                entity_id=user_id,
                subject_user_id=user_id,
                before={"active": True},
                after={"active": False},
                note=note,
            )
        audit.record(
            session,
            actor,
            "user.offboarded",
            "user",
            entity_id=user_id,
            subject_user_id=user_id,
            after={
                "grants_ended": sum(1 for p in planned if p.status == "deleted"),
                "handovers": [h.model_dump() for h in handovers],
            },
        )
        session.flush()
        version = current_transaction_version(session)
    return OffboardResult(
        applied=applied,
        dry_run=body.dry_run,
        version=version,
        user_id=user_id,
        deactivated=deactivate,
        summary=summarise(p.status for p in planned),
        results=[p.result() for p in planned],
        handovers=handovers,
        handover_required=required,
    )


# ---- expiry ------------------------------------------------------------------------------------


def _expired(partner_id: int | None, on: date) -> Any:
    stmt = select(AccessGrant).where(
        col(AccessGrant.valid_until).is_not(None), col(AccessGrant.valid_until) < on
    )
    if partner_id is not None:
        stmt = stmt.where(col(AccessGrant.partner_id) == partner_id)
    return stmt


def expiry_due(session: Session, partner_id: int, on: date | None = None) -> bool:
    """Cheap (indexed) check: does the partner have grants past their ``valid_until``?"""
    stmt = select(
        exists().where(
            col(AccessGrant.partner_id) == partner_id,
            col(AccessGrant.valid_until).is_not(None),
            col(AccessGrant.valid_until) < (on or today()),
        )
    )
    return bool(session.execute(stmt).scalar())


def expire_due(db: "Database", partner_id: int, request_id: str | None = None) -> int:
    """End the partner's expired grants if there are any (a read first: usually there are
    none, and then no write lock is taken). Called before every sync-feed read."""
    on = today()
    with db.reading() as session:
        if not expiry_due(session, partner_id, on):
            return 0
    with db.transaction() as session:
        return expire_grants(session, on, partner_id, request_id)


def expire_grants(
    session: Session,
    on: date | None = None,
    partner_id: int | None = None,
    request_id: str | None = None,
) -> int:
    """End every grant whose ``valid_until`` is before ``on`` (today): delete it (a tombstone
    reaches every client through sync) and write an audit event by the system."""
    on = on or today()
    rows = list(session.execute(_expired(partner_id, on)).scalars())
    for grant in rows:
        session.add(
            audit.event(
                Actor(partner_id=grant.partner_id, user_id=None, request_id=request_id),
                "access_grant.expired",
                "access_grant",
                grant.id,
                subject_user_id=grant.user_id,
                client_id=grant.client_id,
                before=_jsonable(grant_state(grant)),
                note=f"valid until {grant.valid_until}",
            )
        )
        session.delete(grant)
    if rows:
        session.flush()
    return len(rows)


# ---- Altinn tag ---------------------------------------------------------------------------


def set_altinn_tag(session: Session, actor: Actor, body: AltinnTagIn) -> AltinnTagResult:
    clients = clients_by_id(session, actor.partner_id, body.client_ids)
    results: list[AltinnTagItemResult] = []
    seen: set[int] = set()
    for index, client_id in enumerate(body.client_ids):
        client = clients.get(client_id)
        item = AltinnTagItemResult(index=index, status="failed", client_id=client_id)
        results.append(item)
        if client_id in seen:
            item.problem = item_problem(
                422, "duplicate-item", "Duplicate item", "The client appears more than once."
            )
            continue
        seen.add(client_id)
        if client is None:
            item.problem = item_problem(404, "not-found", "Not found", "No such client.")
            continue
        item.before = AltinnTagState(
            uses_partner_altinn=client.uses_partner_altinn, version=client.version
        )
        if client.status == "archived":
            item.problem = item_problem(
                409,
                "client-archived",
                "Client archived",
                f"{client.name} ({client.orgnr}) is archived and cannot be changed.",
            )
            continue
        if client.uses_partner_altinn == body.value:
            item.status, item.after = "unchanged", item.before
        else:
            item.status = "updated"
            item.after = AltinnTagState(uses_partner_altinn=body.value, version=client.version)
    failed = any(r.status == "failed" for r in results)
    applied = not body.dry_run and not (body.mode == "atomic" and failed)
    version = None
    changed = [r for r in results if r.status == "updated"]
    if applied and changed:
        session.flush()
        version = update_rows(
            session,
            Client,
            [{"id": r.client_id, "uses_partner_altinn": body.value} for r in changed],
        )
        now = utcnow()
        rows = []
        for r in changed:
            r.after = AltinnTagState(uses_partner_altinn=body.value, version=version)
            rows.append(
                audit.row(
                    actor,
                    "client.altinn_tag",
                    "client",
                    r.client_id,
                    client_id=r.client_id,
                    before=_jsonable(r.before),
                    after=_jsonable(r.after),
                    at=now,
                )
            )
        audit.write_rows(session, rows)
    return AltinnTagResult(
        applied=applied,
        dry_run=body.dry_run,
        mode=body.mode,
        version=version,
        summary=summarise(r.status for r in results),
        results=results,
    )


# ---- access templates ------------------------------------------------------------------------


def seed_templates(session: Session, partner_id: int) -> None:
    for name, level in DEFAULT_TEMPLATES:
        session.add(AccessTemplate(partner_id=partner_id, name=name, access_level=level))


def template_out(template: AccessTemplate) -> AccessTemplateOut:
    return AccessTemplateOut.model_validate(template, from_attributes=True)


def list_templates(session: Session, partner_id: int) -> list[AccessTemplate]:
    return list(
        session.execute(
            select(AccessTemplate)
            .where(col(AccessTemplate.partner_id) == partner_id)
            .order_by(col(AccessTemplate.id))
        ).scalars()
    )


def _template_state(t: AccessTemplate) -> dict[str, Any]:
    return {"name": t.name, "access_level": t.access_level, "role": t.role, "version": t.version}


def _check_template(
    session: Session, actor: Actor, body: AccessTemplateIn, own_id: int | None
) -> None:
    if LEVEL_RANK[body.access_level] > overall_ceiling(session, actor):
        raise_item_problem(_above_own(body.access_level))
    clash = session.execute(
        select(col(AccessTemplate.id)).where(
            col(AccessTemplate.partner_id) == actor.partner_id,
            col(AccessTemplate.name) == body.name,
        )
    ).scalar_one_or_none()
    if clash is not None and clash != own_id:
        raise ProblemError(
            409, "duplicate-template", "Template exists", f"A template named {body.name!r} exists."
        )


def create_template(session: Session, actor: Actor, body: AccessTemplateIn) -> AccessTemplateOut:
    _check_template(session, actor, body, None)
    template = AccessTemplate(
        partner_id=actor.partner_id, name=body.name, access_level=body.access_level, role=body.role
    )
    session.add(template)
    session.flush()
    audit.record(
        session,
        actor,
        "access_template.created",
        "access_template",
        entity_id=template.id,
        after=_template_state(template),
    )
    return template_out(template)


def get_template(session: Session, partner_id: int, template_id: int) -> AccessTemplate:
    template = session.get(AccessTemplate, template_id)
    if template is None or template.partner_id != partner_id:
        raise not_found("access template")
    return template


def _check_version(current: int, expected: int | None) -> None:
    if expected is not None and expected != current:
        raise ProblemError(
            412,
            "version-conflict",
            "Changed by someone else",
            f"Expected version {expected}; it is now at {current}.",
            current_version=current,
        )


def update_template(
    session: Session,
    actor: Actor,
    template_id: int,
    body: AccessTemplateIn,
    expected_version: int | None,
) -> AccessTemplateOut:
    template = get_template(session, actor.partner_id, template_id)
    _check_version(template.version, expected_version)
    if LEVEL_RANK.get(template.access_level, FULL) > overall_ceiling(session, actor):
        raise_item_problem(_above_own(template.access_level))
    _check_template(session, actor, body, template.id)
    before = _template_state(template)
    template.name, template.access_level, template.role = body.name, body.access_level, body.role
    session.flush()
    after = _template_state(template)
    if after != before:
        audit.record(
            session,
            actor,
            "access_template.updated",
            "access_template",
            entity_id=template.id,
            before=before,
            after=after,
        )
    return template_out(template)


def delete_template(
    session: Session, actor: Actor, template_id: int, expected_version: int | None
) -> None:
    template = get_template(session, actor.partner_id, template_id)
    _check_version(template.version, expected_version)
    if LEVEL_RANK.get(template.access_level, FULL) > overall_ceiling(session, actor):
        raise_item_problem(_above_own(template.access_level))
    audit.record(
        session,
        actor,
        "access_template.deleted",
        "access_template",
        entity_id=template.id,
        before=_template_state(template),
    )
    session.delete(template)
    session.flush()
