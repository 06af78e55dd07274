"""The FastAPI application factory."""

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

from partner_api import problems
from partner_api.db import Database


def create_app(db: Database | str) -> FastAPI:
    database = db if isinstance(db, Database) else Database(db)
    app = FastAPI(
        title="partner-api",
        version="0.1.0",
        summary="Partneradmin: clients, access, payroll figures and sync for partner-tui.",
    )
    app.state.db = database
    problems.install(app)

    @app.middleware("http")
    async def request_id(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        rid = problems.request_id_of(request)
        response: Response = await call_next(request)
        response.headers["X-Request-ID"] = rid
        return response

    from partner_api.routes import access, clients, core, ingest

    app.openapi_tags = [
        {"name": "access", "description": access.WRITE_CONVENTIONS},
        {"name": "audit", "description": "Every change, who made it, before → after."},
    ]
    app.include_router(core.router)
    app.include_router(ingest.router)
    app.include_router(clients.router)
    app.include_router(access.router)
    return app
