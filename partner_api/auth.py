"""Bearer-token authentication: only active partneradmin users may call ``/v1``."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from partner_api.db import Database
from partner_api.problems import ProblemError
from partner_api.services.tokens import user_for_token

_bearer = HTTPBearer(auto_error=False, description="An API token from `partner-api create-token`.")


@dataclass(frozen=True)
class Caller:
    user_id: int
    partner_id: int
    name: str
    is_partneradmin: bool = True


def database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    if credentials is None or not credentials.credentials:
        raise ProblemError(
            401,
            "unauthenticated",
            "Authentication required",
            "Send an API token as 'Authorization: Bearer <token>'.",
        )
    db = database(request)
    with db.reading() as session:
        user = user_for_token(session, credentials.credentials)
    if user is None:
        raise ProblemError(
            401,
            "invalid-token",
            "Invalid token",
            "The API token is unknown, revoked, or its user is deactivated.",
        )
    if not user.is_partneradmin:
        raise ProblemError(
            403,
            "not-partneradmin",
            "Partneradmin role required",
            f"{user.email} does not have the partneradmin role.",
        )
    assert user.id is not None
    return Caller(
        user_id=user.id,
        partner_id=user.partner_id,
        name=user.name,
        is_partneradmin=user.is_partneradmin,
    )


CallerDep = Annotated[Caller, Depends(caller)]
DbDep = Annotated[Database, Depends(database)]
