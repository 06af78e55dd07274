"""Migration 0002 on a database holding data from 0001, on SQLite and PostgreSQL: templates are
seeded for existing partners with a fresh change version, audit events gain ``version`` (0),
and it downgrades cleanly."""

import uuid
from collections.abc import Iterator

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url

from partner_api.db import MIGRATIONS_DIR, normalise_url
from tests.conftest import BACKENDS, PG_URL, skip_or_fail


@pytest.fixture(params=BACKENDS)
def empty_engine(request: pytest.FixtureRequest, tmp_path) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'm.sqlite'}")
        yield engine
        engine.dispose()
        return
    if not PG_URL:
        skip_or_fail("PostgreSQL not configured: set PARTNER_API_TEST_DATABASE_URL")
    base = make_url(normalise_url(PG_URL or ""))
    name = f"ptui_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(base.set(database=name))
    yield engine
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def migrate_to(engine: Engine, revision: str, *, down: bool = False) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)


def test_0002_upgrades_a_populated_0001_database_and_back(empty_engine: Engine) -> None:
    engine = empty_engine
    migrate_to(engine, "0001")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO sync_state (id, version, epoch, min_valid_version, secret) "
                "VALUES (1, 41, 'e', 0, 's')"
            )
        )
        for pid, name in ((1, "Alfa"), (2, "Beta")):
            conn.execute(
                text(
                    "INSERT INTO partner (id, version, name, orgnr, altinn_status) "
                    "VALUES (:id, 1, :name, '123456785', 'not_configured')"
                ),
                {"id": pid, "name": name},
            )
        conn.execute(
            text(
                "INSERT INTO audit_event (partner_id, at, action, entity_kind) "
                "VALUES (1, CURRENT_TIMESTAMP, 'old.event', 'client')"
            )
        )

    migrate_to(engine, "head")
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT partner_id, name, access_level, version FROM access_template ORDER BY id")
        ).all()
        assert [(r[0], r[2]) for r in rows] == [
            (1, "full"),
            (1, "payroll"),
            (1, "read"),
            (2, "full"),
            (2, "payroll"),
            (2, "read"),
        ]
        assert rows[1][1] == "Lønnsmedarbeider"
        assert {r[3] for r in rows} == {42}
        assert conn.execute(text("SELECT version FROM sync_state")).scalar() == 42
        assert conn.execute(text("SELECT version, note FROM audit_event")).one() == (0, None)
    indexes = {ix["name"] for ix in inspect(engine).get_indexes("access_grant")}
    assert "ix_access_grant_partner_valid_until" in indexes

    migrate_to(engine, "0001", down=True)
    insp = inspect(engine)
    assert not insp.has_table("access_template")
    assert "version" not in {c["name"] for c in insp.get_columns("audit_event")}
    migrate_to(engine, "head")  # and up again
