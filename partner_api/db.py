"""Engine, sessions and schema for the API service.

SQLite (a file, the embedded default) or PostgreSQL (by URL). The schema is created and upgraded
only through Alembic migrations, so a production database and a demo file never drift apart.
"""

import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from partner_api import versioning
from partner_api.models import SyncState

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

# SQLite: whether the transaction about to begin will write. pysqlite would BEGIN lazily
# (deferred), and a deferred transaction that reads and then writes fails with SQLITE_BUSY at
# once instead of waiting; writers therefore take the lock up front with BEGIN IMMEDIATE, while
# readers stay deferred so they never queue behind a writer (WAL lets them read concurrently).
_sqlite_write_intent: ContextVar[bool] = ContextVar("sqlite_write_intent", default=True)


def normalise_url(url_or_path: str) -> str:
    """Accept a SQLAlchemy URL or a plain file path (taken as SQLite)."""
    if "://" in url_or_path:
        if url_or_path.startswith("postgresql://"):
            # psycopg 3 is the driver we ship; plain postgresql:// would ask for psycopg2.
            return "postgresql+psycopg://" + url_or_path.removeprefix("postgresql://")
        return url_or_path
    return f"sqlite:///{Path(url_or_path).expanduser().resolve()}"


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # we send BEGIN ourselves (see make_engine)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE" if _sqlite_write_intent.get() else "BEGIN")


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration and make sure the sync counter row exists."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    with Session(engine) as session:
        if session.get(SyncState, 1) is None:
            session.add(SyncState(id=1, epoch=uuid.uuid4().hex, secret=secrets.token_hex(32)))
            session.commit()


def is_migrated(engine: Engine) -> bool:
    return inspect(engine).has_table("sync_state")


class Database:
    """The service's handle on its database: an engine plus a session factory."""

    def __init__(self, url: str, *, create: bool = True) -> None:
        versioning.install(Session)
        self.url = normalise_url(url)
        self.engine = make_engine(self.url)
        if create:
            migrate(self.engine)
        self._sessions = sessionmaker(self.engine, class_=Session, expire_on_commit=False)

    def session(self) -> Session:
        return self._sessions()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A writing session: commits on success, rolls back on any error."""
        token = _sqlite_write_intent.set(True)
        try:
            with self._sessions() as session, session.begin():
                yield session
        finally:
            _sqlite_write_intent.reset(token)

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only session (never takes SQLite's write lock)."""
        token = _sqlite_write_intent.set(False)
        try:
            with self._sessions() as session:
                yield session
        finally:
            _sqlite_write_intent.reset(token)

    def dispose(self) -> None:
        self.engine.dispose()
