"""HTTP client of the partner API (httpx), speaking the wire models of ``partner_api.wire``.

Failures come out as two exception types the UI can word for a user: ``ApiUnreachable`` (no
answer: offline, DNS, refused, timeout) and ``ApiError`` (the server answered with a problem).
The token is sent as a bearer header and never logged.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from pydantic_core import from_json

from partner_api.wire import (
    AccessTemplateIn,
    AccessTemplateOut,
    AltinnTagIn,
    AltinnTagResult,
    AuditPage,
    BulkGrantsIn,
    BulkGrantsResult,
    BulkMode,
    ChangesPage,
    CopyAccessIn,
    DashboardFigures,
    GrantItemResult,
    GrantOp,
    GrantSpec,
    GrantState,
    Handover,
    Me,
    OffboardIn,
    OffboardResult,
    Problem,
)

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)


class ApiUnreachable(Exception):
    """The API could not be reached at all."""


class ApiError(Exception):
    """The API answered with an error (an RFC 9457 problem)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(f"{problem.status} {problem.title}: {problem.detail or ''}".strip())
        self.problem = problem

    @property
    def status(self) -> int:
        return self.problem.status

    @property
    def slug(self) -> str:
        return self.problem.type.rsplit("/", 1)[-1]


def malformed_feed(detail: str) -> ApiError:
    return ApiError(
        Problem(
            title="Malformed answer",
            status=502,
            detail=f"the sync feed sent a body we cannot read: {detail}",
        )
    )


@dataclass
class FeedPage:
    """A ``ChangesPage`` as decoded JSON: ``changes`` holds the change objects as dicts
    (kind, id, op, version, data), not yet checked one by one."""

    changes: list[Any]
    next_cursor: str
    has_more: bool
    server_version: int


class ApiClient:
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {token}", "User-Agent": "partner-tui"},
            timeout=timeout,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "ApiClient":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ApiUnreachable(f"cannot reach {self.base_url}: {_reason(exc)}") from exc
        if response.status_code >= 400:
            raise ApiError(_problem_of(response))
        return response

    def me(self) -> Me:
        return Me.model_validate_json(self.request("GET", "/v1/me").content)

    def _feed_body(self, cursor: str | None, limit: int) -> bytes:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        return self.request("GET", "/v1/sync/changes", params=params).content

    def changes(self, cursor: str | None, limit: int = 1000) -> ChangesPage:
        """One page of the change feed as wire models."""
        body = self._feed_body(cursor, limit)
        try:
            return ChangesPage.model_validate_json(body)
        except ValueError as exc:
            raise malformed_feed(str(exc)) from exc

    def feed_page(self, cursor: str | None, limit: int = 1000) -> FeedPage:
        """One page of the change feed, decoded but not turned into models: a full sync is
        hundreds of thousands of changes, and the syncer checks each one as it reads it."""
        body = self._feed_body(cursor, limit)
        try:
            page = from_json(body)
        except ValueError as exc:
            raise malformed_feed(str(exc)) from exc
        if not isinstance(page, dict):
            raise malformed_feed("the body is not an object")
        changes, next_cursor = page.get("changes"), page.get("next_cursor")
        has_more, server_version = page.get("has_more"), page.get("server_version")
        if (
            not isinstance(changes, list)
            or not isinstance(next_cursor, str)
            or not isinstance(has_more, bool)
            or type(server_version) is not int
        ):
            raise malformed_feed("changes, next_cursor, has_more or server_version is missing")
        return FeedPage(changes, next_cursor, has_more, server_version)

    def dashboard(
        self,
        month: str,
        *,
        group: int | None = None,
        user: int | None = None,
        role: str | None = None,
    ) -> DashboardFigures:
        params = {
            k: v
            for k, v in {"month": month, "group": group, "user": user, "role": role}.items()
            if v is not None
        }
        response = self.request("GET", "/v1/dashboard", params=params)
        return DashboardFigures.model_validate_json(response.content)

    # ---- access administration -------------------------------------------------------------
    #
    # Writes take the caller's Idempotency-Key: generate it once per intended change (the outbox
    # stores it) and pass the same key on every retry. Bulk-style writes require one unless
    # ``dry_run``; the others accept one.

    def _write(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        idempotency_key: str | None = None,
        required: bool = False,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        if required and idempotency_key is None:
            raise ValueError("an idempotency_key is required for this write (except dry runs)")
        sent = dict(headers or {})
        if idempotency_key is not None:
            sent["Idempotency-Key"] = idempotency_key
        return self.request(method, path, json=json, params=params, headers=sent)

    def access_grants(
        self, *, user: int | None = None, client: int | None = None
    ) -> list[GrantState]:
        params = {k: v for k, v in {"user": user, "client": client}.items() if v is not None}
        response = self.request("GET", "/v1/access-grants", params=params)
        return [GrantState.model_validate(row) for row in response.json()]

    def get_grant(self, user_id: int, client_id: int) -> GrantState:
        response = self.request("GET", f"/v1/access-grants/{user_id}/{client_id}")
        return GrantState.model_validate_json(response.content)

    def put_grant(
        self,
        user_id: int,
        client_id: int,
        spec: GrantSpec,
        *,
        idempotency_key: str | None = None,
    ) -> GrantItemResult:
        """Ensure the grant exists with ``spec`` (fields not set in ``spec`` keep their value;
        ``spec.expected_version`` guards against overwriting someone else's edit: 412)."""
        response = self._write(
            "PUT",
            f"/v1/access-grants/{user_id}/{client_id}",
            json=spec.model_dump(mode="json", exclude_unset=True),
            idempotency_key=idempotency_key,
        )
        return GrantItemResult.model_validate_json(response.content)

    def delete_grant(
        self,
        user_id: int,
        client_id: int,
        *,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> GrantItemResult:
        params = {"expected_version": expected_version} if expected_version is not None else None
        response = self._write(
            "DELETE",
            f"/v1/access-grants/{user_id}/{client_id}",
            params=params,
            idempotency_key=idempotency_key,
        )
        return GrantItemResult.model_validate_json(response.content)

    def clear_role_override(
        self, user_id: int, client_id: int, *, idempotency_key: str | None = None
    ) -> GrantItemResult:
        response = self._write(
            "DELETE",
            f"/v1/access-grants/{user_id}/{client_id}/role-override",
            idempotency_key=idempotency_key,
        )
        return GrantItemResult.model_validate_json(response.content)

    def bulk_grants(
        self,
        items: Sequence[GrantOp],
        mode: BulkMode = "partial",
        dry_run: bool = False,
        idempotency_key: str | None = None,
    ) -> BulkGrantsResult:
        """Up to 1,000 ensure / revoke items; per-item results (``result.inverse_items()``
        builds the undo)."""
        body = BulkGrantsIn(items=list(items), mode=mode, dry_run=dry_run)
        response = self._write(
            "POST",
            "/v1/access-grants:bulk",
            # exclude_unset keeps "left out" (keep the value) apart from an explicit null.
            json=body.model_dump(mode="json", exclude_unset=True),
            idempotency_key=idempotency_key,
            required=not dry_run,
        )
        return BulkGrantsResult.model_validate_json(response.content)

    def copy_access(
        self,
        from_user_id: int,
        to_user_id: int,
        client_ids: Sequence[int] | None = None,
        *,
        mode: BulkMode = "partial",
        dry_run: bool = False,
        idempotency_key: str | None = None,
    ) -> BulkGrantsResult:
        body = CopyAccessIn(
            from_user_id=from_user_id,
            to_user_id=to_user_id,
            client_ids=list(client_ids) if client_ids is not None else None,
            mode=mode,
            dry_run=dry_run,
        )
        response = self._write(
            "POST",
            "/v1/access-grants:copy",
            json=body.model_dump(mode="json"),
            idempotency_key=idempotency_key,
            required=not dry_run,
        )
        return BulkGrantsResult.model_validate_json(response.content)

    def offboard(
        self,
        user_id: int,
        *,
        handover: Handover | None = None,
        deactivate: bool = False,
        dry_run: bool = False,
        idempotency_key: str | None = None,
    ) -> OffboardResult:
        """End all of a user's access. Without a handover where the user is ansvarlig, a real
        run raises ApiError 409 ``handover-required`` (``problem.model_extra["clients"]``);
        a dry run returns the plan with ``handover_required``."""
        body = OffboardIn(dry_run=dry_run, handover=handover, deactivate=deactivate)
        response = self._write(
            "POST",
            f"/v1/users/{user_id}:offboard",
            json=body.model_dump(mode="json"),
            idempotency_key=idempotency_key,
            required=not dry_run,
        )
        return OffboardResult.model_validate_json(response.content)

    def set_altinn_tag(
        self,
        client_ids: Sequence[int],
        value: bool,
        *,
        mode: BulkMode = "partial",
        dry_run: bool = False,
        idempotency_key: str | None = None,
    ) -> AltinnTagResult:
        body = AltinnTagIn(client_ids=list(client_ids), value=value, mode=mode, dry_run=dry_run)
        response = self._write(
            "POST",
            "/v1/clients:altinn-tag",
            json=body.model_dump(mode="json"),
            idempotency_key=idempotency_key,
            required=not dry_run,
        )
        return AltinnTagResult.model_validate_json(response.content)

    def access_templates(self) -> list[AccessTemplateOut]:
        response = self.request("GET", "/v1/access-templates")
        return [AccessTemplateOut.model_validate(row) for row in response.json()]

    def create_access_template(
        self, template: AccessTemplateIn, *, idempotency_key: str | None = None
    ) -> AccessTemplateOut:
        response = self._write(
            "POST",
            "/v1/access-templates",
            json=template.model_dump(mode="json", exclude_unset=True),
            idempotency_key=idempotency_key,
        )
        return AccessTemplateOut.model_validate_json(response.content)

    def update_access_template(
        self, template_id: int, template: AccessTemplateIn, *, idempotency_key: str | None = None
    ) -> AccessTemplateOut:
        response = self._write(
            "PUT",
            f"/v1/access-templates/{template_id}",
            json=template.model_dump(mode="json", exclude_unset=True),
            idempotency_key=idempotency_key,
        )
        return AccessTemplateOut.model_validate_json(response.content)

    def delete_access_template(
        self,
        template_id: int,
        *,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> None:
        params = {"expected_version": expected_version} if expected_version is not None else None
        self._write(
            "DELETE",
            f"/v1/access-templates/{template_id}",
            params=params,
            idempotency_key=idempotency_key,
        )

    def audit(
        self,
        *,
        user: int | None = None,
        client: int | None = None,
        actor: int | None = None,
        action: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> AuditPage:
        """Audit events, newest first; pass ``next_cursor`` back for the next page."""
        params = {
            k: v
            for k, v in {
                "user": user,
                "client": client,
                "actor": actor,
                "action": action,
                "since": since.isoformat() if since is not None else None,
                "limit": limit,
                "cursor": cursor,
            }.items()
            if v is not None
        }
        response = self.request("GET", "/v1/audit", params=params)
        return AuditPage.model_validate_json(response.content)


def _reason(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.ConnectError):
        return "connection refused or host not found"
    return type(exc).__name__


def _problem_of(response: httpx.Response) -> Problem:
    try:
        return Problem.model_validate(response.json())
    except ValueError:
        # Not a problem document: most likely not a partner-api at all (a web server, a
        # proxy's error page). Say so instead of echoing a page of HTML.
        return Problem(
            title=response.reason_phrase or "HTTP error",
            status=response.status_code,
            detail=(
                f"{response.request.url} answered HTTP {response.status_code} without an API "
                "problem document; is this the address of a partner-api server?"
            ),
        )
