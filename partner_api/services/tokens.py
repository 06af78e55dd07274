"""API tokens: random, prefixed, shown once, stored as SHA-256 (DESIGN.md §6)."""

import hashlib
import secrets
import zlib

from sqlmodel import Session, col, select

from partner_api.models import ApiToken, User

TOKEN_PREFIX = "pa_"


def _hash(token: str) -> str:
    # A fast hash is right here: tokens carry 256 random bits, so there is nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


def new_token_string() -> str:
    body = secrets.token_urlsafe(32)
    # A short checksum lets secret scanners tell a real token from a random string.
    check = format(zlib.crc32(body.encode()) & 0xFFFFFF, "06x")
    return f"{TOKEN_PREFIX}{body}_{check}"


def create_token(session: Session, user: User) -> str:
    """Store a new token for ``user`` and return it; this is the only time it is visible."""
    token = new_token_string()
    assert user.id is not None
    session.add(
        ApiToken(user_id=user.id, prefix=token[:7], last4=token[-4:], token_hash=_hash(token))
    )
    return token


def user_for_token(session: Session, token: str) -> User | None:
    row = session.exec(
        select(ApiToken).where(
            col(ApiToken.token_hash) == _hash(token), col(ApiToken.revoked_at).is_(None)
        )
    ).first()
    if row is None:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return user
