"""HTTP client of the partner API (httpx), speaking the wire models of ``partner_api.wire``.

Failures come out as two exception types the UI can word for a user: ``ApiUnreachable`` (no
answer: offline, DNS, refused, timeout) and ``ApiError`` (the server answered with a problem).
The token is sent as a bearer header and never logged.
"""

from typing import Any

import httpx

from partner_api.wire import ChangesPage, DashboardFigures, Me, Problem

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

    def changes(self, cursor: str | None, limit: int = 1000) -> ChangesPage:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        response = self.request("GET", "/v1/sync/changes", params=params)
        try:
            return ChangesPage.model_validate_json(response.content)
        except ValueError as exc:
            raise ApiError(
                Problem(
                    title="Malformed answer",
                    status=502,
                    detail=f"the sync feed sent a body we cannot read: {exc}",
                )
            ) from exc

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
        text = response.text[:200].strip()
        return Problem(
            title=response.reason_phrase or "HTTP error",
            status=response.status_code,
            detail=text or None,
        )
