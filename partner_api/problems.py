"""RFC 9457 problem details: one exception type, one handler, stable ``type`` URIs."""

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_BASE = "https://partner-tui.invalid/problems/"
log = logging.getLogger("partner_api")


class ProblemError(Exception):
    """Raise from anywhere in a request to answer with ``application/problem+json``."""

    def __init__(
        self, status: int, slug: str, title: str, detail: str | None = None, **extra: Any
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.extra = extra


def not_found(what: str) -> ProblemError:
    # Same answer for "does not exist" and "belongs to another partner": no tenant probing.
    return ProblemError(404, "not-found", "Not found", f"No such {what}.")


def problem_response(
    request: Request, status: int, slug: str, title: str, detail: str | None, **extra: Any
) -> JSONResponse:
    body = {
        "type": PROBLEM_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "request_id": request_id_of(request),
        **extra,
    }
    headers = {"X-Request-ID": body["request_id"]}
    return JSONResponse(body, status, headers=headers, media_type="application/problem+json")


def request_id_of(request: Request) -> str:
    rid = getattr(request.state, "request_id", None)
    if rid is None:
        rid = request.headers.get("x-request-id") or uuid.uuid4().hex
        request.state.request_id = rid
    return str(rid)


def install(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(request, exc.status, exc.slug, exc.title, exc.detail, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"pointer": "/" + "/".join(str(p) for p in e.get("loc", ())), "detail": e.get("msg")}
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"pointer": "", "detail": "invalid"}
        detail = f"{first['pointer']}: {first['detail']}"
        return problem_response(
            request, 422, "validation", "Invalid request", detail, errors=errors
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        return problem_response(request, exc.status_code, slug, str(exc.detail), str(exc.detail))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return problem_response(
            request,
            500,
            "internal",
            "Internal error",
            "The server failed on this request; it has been logged with its request id.",
        )
