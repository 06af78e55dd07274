"""Access administration: grants (single and bulk), copy, offboarding, role overrides,
access templates, the Altinn tag, and the audit log (conventions: ``WRITE_CONVENTIONS``)."""

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import BaseModel
from sqlmodel import Session

from partner_api.auth import Caller, CallerDep, DbDep
from partner_api.db import Database
from partner_api.models import AccessGrant
from partner_api.problems import ProblemError, not_found, request_id_of
from partner_api.services import access, audit, idempotency
from partner_api.services.audit import Actor
from partner_api.versioning import lock_writers
from partner_api.wire import (
    MAX_BULK_ITEMS,
    AccessTemplateIn,
    AccessTemplateOut,
    AltinnTagIn,
    AltinnTagResult,
    AuditEventRow,
    AuditPage,
    BulkGrantsIn,
    BulkGrantsResult,
    CopyAccessIn,
    GrantItemResult,
    GrantOp,
    GrantSpec,
    GrantState,
    OffboardIn,
    OffboardResult,
)

WRITE_CONVENTIONS = """Conventions for every write here:

- **Who may:** only partneradmins reach ``/v1``; a partneradmin's own access level is
  ``full``. No one may grant, change or end access at a level above their own.
- **Idempotency-Key** is required on ``:bulk``, ``:copy``, ``:offboard`` and ``:altinn-tag``
  (not for ``dry_run``) and honoured on every other write. Same key and same request: the stored
  answer is replayed with ``Idempotent-Replayed: true`` and nothing changes; same key with
  another request: 422; missing where required: 400. Keys are kept 7 days per user.
- **Preconditions:** ``expected_version`` in the body (bulk items too) or ``If-Match: "v<n>"``;
  a mismatch is 412 with ``current_version`` (0 = absent).
- **Bulk answers** are 200 whenever the request was valid, with one result per item (status
  created / updated / unchanged / deleted / failed, the grant before and after, a problem for a
  failed item) and a summary; more than 1,000 items is 413.
- Another partner's users, clients and templates are answered exactly like missing ones: 404.
- Every change writes an audit event (actor, time, before → after, request id).
"""

router = APIRouter(prefix="/v1")

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Client-generated once per intended change (a UUID) and reused on retries.",
    ),
]
IfMatchHeader = Annotated[
    str | None, Header(alias="If-Match", description='The version you saw: "v<version>".')
]
_IF_MATCH = re.compile(r'^"?v?(\d+)"?$')
NEVER_MATCHES = -1


class _Done(Exception):
    """Leave the write transaction without committing, answering ``response``."""

    def __init__(self, response: Response) -> None:
        self.response = response


def _json(content: str, status: int, **headers: str) -> Response:
    if status == 204:
        return Response(status_code=204, headers=headers or None)
    return Response(content, status, headers=headers or None, media_type="application/json")


def _actor(request: Request, who: Caller) -> Actor:
    return Actor(
        partner_id=who.partner_id,
        user_id=who.user_id,
        is_partneradmin=who.is_partneradmin,
        request_id=request_id_of(request),
    )


def write(
    request: Request,
    db: Database,
    who: Caller,
    work: Callable[[Session, Actor], tuple[int, BaseModel | None]],
    *,
    key: str | None,
    request_body: Any = None,
    require_key: bool = False,
    dry_run: bool = False,
) -> Response:
    """Run ``work`` in one write transaction with idempotency, expiry and the audit actor.

    Writers are serialised from the start (the change-version row is locked first), so a
    precondition read here still holds when the change commits, and two requests with the same
    key run one after the other: the second replays the first's answer.
    """
    if key is not None and not 0 < len(key) <= idempotency.MAX_KEY_LENGTH:
        raise ProblemError(
            400,
            "invalid-idempotency-key",
            "Invalid Idempotency-Key",
            f"The Idempotency-Key must be 1 to {idempotency.MAX_KEY_LENGTH} characters.",
        )
    if key is None and require_key and not dry_run:
        raise ProblemError(
            400,
            "idempotency-key-required",
            "Idempotency-Key required",
            "Send an Idempotency-Key header (a new UUID per intended change, reused on retries).",
        )
    use_key = None if dry_run else key
    fp = idempotency.fingerprint(request.method, request.url.path, request_body)
    actor = _actor(request, who)
    try:
        with db.transaction() as session:
            lock_writers(session)  # serialise writers (see above)
            if use_key is not None:
                idempotency.prune(session, user_id=who.user_id)
                stored = idempotency.find(session, who.user_id, use_key)
                if stored is not None:
                    if stored.fingerprint != fp:
                        raise ProblemError(
                            422,
                            "idempotency-key-reused",
                            "Idempotency-Key reused",
                            "This Idempotency-Key was used for another request; use a new key "
                            "for a new change.",
                        )
                    raise _Done(
                        _json(
                            stored.response_json or "",
                            stored.status_code or 200,
                            **{"Idempotent-Replayed": "true"},
                        )
                    )
            access.expire_grants(session, access.today(), who.partner_id, actor.request_id)
            status, result = work(session, actor)
            content = result.model_dump_json() if result is not None else ""
            if dry_run:
                raise _Done(_json(content, status))
            if use_key is not None:
                idempotency.store(session, who.user_id, use_key, fp, status, content)
    except _Done as done:
        return done.response
    return _json(content, status)


def _dump(body: BaseModel) -> dict[str, Any]:
    return body.model_dump(mode="json", exclude_unset=True)


def _expected(if_match: str | None, body_value: int | None) -> int | None:
    if if_match is None:
        return body_value
    tag = if_match.strip()
    if tag.startswith("W/"):
        return NEVER_MATCHES  # a weak tag never matches If-Match (RFC 9110 §13.1.1)
    match = _IF_MATCH.match(tag)
    if match is None:
        raise ProblemError(
            400, "invalid-if-match", "Invalid If-Match", 'If-Match must look like "v17".'
        )
    return int(match.group(1))


def _too_many(count: int) -> None:
    if count > MAX_BULK_ITEMS:
        raise ProblemError(
            413,
            "too-many-items",
            "Too many items",
            f"A bulk request may have at most {MAX_BULK_ITEMS} items; this one has {count}. "
            "Split it.",
            max_items=MAX_BULK_ITEMS,
        )


# ---- grants ------------------------------------------------------------------------------------


@router.get("/access-grants", response_model=list[GrantState], tags=["access"])
def list_grants(
    who: CallerDep,
    db: DbDep,
    user: Annotated[int | None, Query(description="Only this user's grants")] = None,
    client: Annotated[int | None, Query(description="Only grants on this client")] = None,
) -> list[GrantState]:
    with db.reading() as session:
        if user is not None:
            access.get_user(session, who.partner_id, user)
        if client is not None:
            access.get_client(session, who.partner_id, client)
        rows = access.list_grants(session, who.partner_id, user, client)
        return [access.grant_state(g) for g in rows]


def _grant_or_404(session: Session, who: Caller, user_id: int, client_id: int) -> AccessGrant:
    access.get_user(session, who.partner_id, user_id)
    access.get_client(session, who.partner_id, client_id)
    grant = access.find_grant(session, who.partner_id, user_id, client_id)
    if grant is None:
        raise not_found("access grant")
    return grant


@router.get("/access-grants/{user_id}/{client_id}", response_model=GrantState, tags=["access"])
def get_grant(
    user_id: int, client_id: int, who: CallerDep, db: DbDep, response: Response
) -> GrantState:
    """The grant, with ``ETag: "v<version>"`` for a later ``If-Match``."""
    with db.reading() as session:
        grant = _grant_or_404(session, who, user_id, client_id)
        response.headers["ETag"] = f'"v{grant.version}"'
        return access.grant_state(grant)


@router.put(
    "/access-grants/{user_id}/{client_id}",
    response_model=GrantItemResult,
    tags=["access"],
    responses={201: {"model": GrantItemResult, "description": "Created"}},
)
def put_grant(
    user_id: int,
    client_id: int,
    spec: GrantSpec,
    request: Request,
    who: CallerDep,
    db: DbDep,
    idempotency_key: IdempotencyKeyHeader = None,
    if_match: IfMatchHeader = None,
) -> Response:
    """Ensure the grant is present with these values (fields left out keep their value).

    ``role`` sets the role by hand (it sticks until cleared); ``role_source: auto`` clears it.
    Answers 201 when the grant was created, else 200 (status updated / unchanged).
    """
    op = GrantOp.model_validate(
        {**_dump(spec), "op": "ensure", "user_id": user_id, "client_id": client_id}
    )
    expected = _expected(if_match, spec.expected_version)
    if expected is not None:
        op.expected_version = expected

    def work(session: Session, actor: Actor) -> tuple[int, BaseModel]:
        _user_and_client(session, who, user_id, client_id)
        result = access.put_grant(session, actor, op)
        return (201 if result.status == "created" else 200), result

    body = {"spec": _dump(spec), "if_match": if_match}
    return write(request, db, who, work, key=idempotency_key, request_body=body)


def _user_and_client(session: Session, who: Caller, user_id: int, client_id: int) -> None:
    access.get_user(session, who.partner_id, user_id)
    access.get_client(session, who.partner_id, client_id)


@router.delete(
    "/access-grants/{user_id}/{client_id}", response_model=GrantItemResult, tags=["access"]
)
def delete_grant(
    user_id: int,
    client_id: int,
    request: Request,
    who: CallerDep,
    db: DbDep,
    expected_version: Annotated[int | None, Query(ge=0)] = None,
    idempotency_key: IdempotencyKeyHeader = None,
    if_match: IfMatchHeader = None,
) -> Response:
    """Ensure the grant is absent (status deleted, or unchanged when there was none)."""
    op = GrantOp(op="revoke", user_id=user_id, client_id=client_id)
    op.expected_version = _expected(if_match, expected_version)

    def work(session: Session, actor: Actor) -> tuple[int, BaseModel]:
        _user_and_client(session, who, user_id, client_id)
        return 200, access.put_grant(session, actor, op)

    body = {"expected_version": expected_version, "if_match": if_match}
    return write(request, db, who, work, key=idempotency_key, request_body=body)


@router.delete(
    "/access-grants/{user_id}/{client_id}/role-override",
    response_model=GrantItemResult,
    tags=["access"],
)
def clear_role_override(
    user_id: int,
    client_id: int,
    request: Request,
    who: CallerDep,
    db: DbDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Clear a role set by hand: the automatic rule (who ran the client's latest payroll run
    is ansvarlig) decides again."""

    def work(session: Session, actor: Actor) -> tuple[int, BaseModel]:
        return 200, access.clear_role_override(session, actor, user_id, client_id)

    return write(request, db, who, work, key=idempotency_key)


@router.post("/access-grants:bulk", response_model=BulkGrantsResult, tags=["access"])
def bulk_grants(
    body: BulkGrantsIn,
    request: Request,
    who: CallerDep,
    db: DbDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Ensure / revoke up to 1,000 grants. ``mode=partial`` (default) applies every item that
    passes; ``mode=atomic`` applies all or none (``applied: false`` and per-item reasons when
    one fails); ``dry_run`` answers the same shape and writes nothing. Many users onto one
    client, or one user onto many, are both just items."""
    _too_many(len(body.items))

    def work(session: Session, actor: Actor) -> tuple[int, BaseModel]:
        planner = access.GrantPlanner(session, actor)
        return 200, planner.run(body.items, body.mode, body.dry_run, "bulk")

    return write(
        request,
        db,
        who,
        work,
        key=idempotency_key,
        request_body=_dump(body),
        require_key=True,
        dry_run=body.dry_run,
    )


@router.post("/access-grants:copy", response_model=BulkGrantsResult, tags=["access"])
def copy_access(
    body: CopyAccessIn,
    request: Request,
    who: CallerDep,
    db: DbDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Copy one user's access to another (all the source's clients, or ``client_ids``); the
    answer has the bulk shape, one item per client."""

    def work(session: Session, actor: Actor) -> tuple[int, BaseModel]:
        return 200, access.copy_access(session, actor, body)

    return write(
        request,
        db,
        who,
        work,
        key=idempotency_key,
        request_body=_dump(body),
        require_key=True,
        dry_run=body.dry_run,
    )


@router.post("/users/{user_id}:offboard", response_model=OffboardResult, tags=["access"])
def offboard(
    user_id: int,
    body: OffboardIn,
    request: Request,
    who: CallerDep,
    db: DbDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """End all of a user's access (optionally deactivate them), all or nothing.

    Where the user is ansvarlig, someone must take over: ``handover.default_user_id`` for all
    such clients and/or ``handover.per_client`` ({client_id: user_id}). The new ansvarlig gets
    the role by hand (and, if they had no access there, the departing user's level). Without a
    handover for every such client the request is refused with 409 ``handover-required`` and
    the list of clients; a dry run instead answers the plan with ``handover_required``.
    """

    def work(session: Session, actor: Actor) -> tuple[int, BaseModel]:
        return 200, access.offboard(session, actor, user_id, body)

    return write(
        request,
        db,
        who,
        work,
        key=idempotency_key,
        request_body=_dump(body),
        require_key=True,
        dry_run=body.dry_run,
    )


# ---- Altinn tag --------------------------------------------------------------------------------


@router.post("/clients:altinn-tag", response_model=AltinnTagResult, tags=["clients"])
def altinn_tag(
    body: AltinnTagIn,
    request: Request,
    who: CallerDep,
    db: DbDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    """Set or clear "uses the partner's Altinn settings" on up to 1,000 clients (bulk
    semantics as for grants; archived clients fail)."""
    _too_many(len(body.client_ids))

    def work(session: Session, actor: Actor) -> tuple[int, BaseModel]:
        return 200, access.set_altinn_tag(session, actor, body)

    return write(
        request,
        db,
        who,
        work,
        key=idempotency_key,
        request_body=_dump(body),
        require_key=True,
        dry_run=body.dry_run,
    )


# ---- access templates ----------------------------------------------------------------------


@router.get("/access-templates", response_model=list[AccessTemplateOut], tags=["access"])
def list_templates(who: CallerDep, db: DbDep) -> list[AccessTemplateOut]:
    with db.reading() as session:
        return [access.template_out(t) for t in access.list_templates(session, who.partner_id)]


@router.post(
    "/access-templates", response_model=AccessTemplateOut, status_code=201, tags=["access"]
)
def create_template(
    body: AccessTemplateIn,
    request: Request,
    who: CallerDep,
    db: DbDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    def work(session: Session, actor: Actor) -> tuple[int, BaseModel]:
        return 201, access.create_template(session, actor, body)

    return write(request, db, who, work, key=idempotency_key, request_body=_dump(body))


@router.put("/access-templates/{template_id}", response_model=AccessTemplateOut, tags=["access"])
def update_template(
    template_id: int,
    body: AccessTemplateIn,
    request: Request,
    who: CallerDep,
    db: DbDep,
    idempotency_key: IdempotencyKeyHeader = None,
    if_match: IfMatchHeader = None,
) -> Response:
    """Edit a template (grants made from it earlier keep their values)."""
    expected = _expected(if_match, body.expected_version)

    def work(session: Session, actor: Actor) -> tuple[int, BaseModel]:
        return 200, access.update_template(session, actor, template_id, body, expected)

    request_body = {"body": _dump(body), "if_match": if_match}
    return write(request, db, who, work, key=idempotency_key, request_body=request_body)


@router.delete("/access-templates/{template_id}", status_code=204, tags=["access"])
def delete_template(
    template_id: int,
    request: Request,
    who: CallerDep,
    db: DbDep,
    expected_version: Annotated[int | None, Query(ge=1)] = None,
    idempotency_key: IdempotencyKeyHeader = None,
    if_match: IfMatchHeader = None,
) -> Response:
    expected = _expected(if_match, expected_version)

    def work(session: Session, actor: Actor) -> tuple[int, BaseModel | None]:
        access.delete_template(session, actor, template_id, expected)
        return 204, None

    request_body = {"expected_version": expected_version, "if_match": if_match}
    return write(request, db, who, work, key=idempotency_key, request_body=request_body)


# ---- audit -------------------------------------------------------------------------------------


@router.get("/audit", response_model=AuditPage, tags=["audit"])
def get_audit(
    who: CallerDep,
    db: DbDep,
    user: Annotated[int | None, Query(description="Changes about this user")] = None,
    client: Annotated[int | None, Query(description="Changes about this client")] = None,
    actor: Annotated[int | None, Query(description="Changes made by this user")] = None,
    action: Annotated[str | None, Query(description="e.g. access_grant.created")] = None,
    since: Annotated[
        datetime | None, Query(description="Events at or after this time (UTC if no offset)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> AuditPage:
    """The partner's audit events, newest first."""
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)  # a time without an offset is taken as UTC
    before_id = None
    if cursor is not None:
        if not cursor.isdigit():
            raise ProblemError(400, "invalid-cursor", "Invalid cursor", "Use next_cursor as is.")
        before_id = int(cursor)
    with db.reading() as session:
        for user_id in (user, actor):
            if user_id is not None:
                access.get_user(session, who.partner_id, user_id)
        if client is not None:
            access.get_client(session, who.partner_id, client)
        rows = audit.query(
            session,
            who.partner_id,
            user_id=user,
            client_id=client,
            actor_id=actor,
            action=action,
            since=since,
            before_id=before_id,
            limit=limit + 1,
        )
    page = rows[:limit]
    events = [AuditEventRow.model_validate(r, from_attributes=True) for r in page]
    next_cursor = str(page[-1].id) if len(rows) > limit else None
    return AuditPage(events=events, next_cursor=next_cursor)
