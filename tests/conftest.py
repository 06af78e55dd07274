"""Shared fixtures: real databases (SQLite files, PostgreSQL when configured) and a real API."""

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from partner_api.db import Database, migrate, normalise_url
from partner_api.services import portfolio
from partner_api.services.tokens import create_token

PG_URL = os.environ.get("PARTNER_API_TEST_DATABASE_URL")
# CI sets this: there, a test that would skip for want of PostgreSQL or tmux fails instead.
REQUIRE_ALL = bool(os.environ.get("PARTNER_TUI_REQUIRE_ALL"))


def skip_or_fail(reason: str) -> None:
    if REQUIRE_ALL:
        pytest.fail(f"{reason} (PARTNER_TUI_REQUIRE_ALL is set)")
    pytest.skip(reason)


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]

_pg_template: str | None = None


def _pg_admin_engine():  # type: ignore[no-untyped-def]
    assert PG_URL
    return create_engine(normalise_url(PG_URL), isolation_level="AUTOCOMMIT")


def _pg_fresh_database() -> str:
    """A new, migrated PostgreSQL database cloned from a template migrated once per run."""
    global _pg_template
    admin = _pg_admin_engine()
    base = make_url(normalise_url(PG_URL or ""))
    if _pg_template is None:
        name = f"ptui_tmpl_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine = create_engine(base.set(database=name))
        migrate(engine)
        engine.dispose()
        _pg_template = name
    name = f"ptui_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{_pg_template}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def _pg_drop(url: str) -> None:
    name = make_url(url).database
    admin = _pg_admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session", autouse=True)
def _drop_pg_template() -> Iterator[None]:
    yield
    if _pg_template:
        _pg_drop(
            make_url(normalise_url(PG_URL or ""))
            .set(database=_pg_template)
            .render_as_string(hide_password=False)
        )


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path) -> Iterator[Database]:  # type: ignore[no-untyped-def]
    """A fresh, migrated database: SQLite always, PostgreSQL when configured."""
    if request.param == "postgres":
        if not PG_URL:
            skip_or_fail("PostgreSQL not configured: set PARTNER_API_TEST_DATABASE_URL")
        url = _pg_fresh_database()
        database = Database(url)
        yield database
        database.dispose()
        _pg_drop(url)
    else:
        database = Database(str(tmp_path / "api.sqlite"))
        yield database
        database.dispose()


@pytest.fixture
def sqlite_db(tmp_path) -> Iterator[Database]:  # type: ignore[no-untyped-def]
    database = Database(str(tmp_path / "api.sqlite"))
    yield database
    database.dispose()


@dataclass
class Tenant:
    partner_id: int
    admin_id: int
    admin_email: str
    token: str
    staff_id: int
    staff_token: str
    client_ids: list[int]
    orgnrs: list[str]


# Valid organisation numbers (mod 11) for fixtures.
ORGNRS = ["123456785", "974760673", "923609016", "987654325", "910825526", "999999999"]


def make_tenant(db: Database, name: str, orgnrs: list[str]) -> Tenant:
    """A firm with one partneradmin, one ordinary user and a few clients."""
    slug = name.lower().replace(" ", "")
    with db.transaction() as s:
        partner = portfolio.create_partner(s, name, orgnrs[0])
        admin = portfolio.create_user(
            s, partner, f"Admin {name}", f"admin@{slug}.example", partneradmin=True
        )
        staff = portfolio.create_user(s, partner, f"Staff {name}", f"staff@{slug}.example")
        clients = [
            portfolio.create_client(s, partner.id, orgnr, f"Klient {i} {name}")  # type: ignore[arg-type]
            for i, orgnr in enumerate(orgnrs)
        ]
        token = create_token(s, admin)
        staff_token = create_token(s, staff)
        return Tenant(
            partner.id,
            admin.id,
            admin.email,
            token,
            staff.id,
            staff_token,  # type: ignore[arg-type]
            [c.id for c in clients],
            list(orgnrs),
        )  # type: ignore[misc]
