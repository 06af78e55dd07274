"""Alembic environment: run with a connection handed over by ``partner_api.db.migrate``."""

from alembic import context
from sqlalchemy import Connection, create_engine
from sqlmodel import SQLModel

import partner_api.models  # noqa: F401  (registers the tables on SQLModel.metadata)

target_metadata = SQLModel.metadata
config = context.config


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:  # `alembic` CLI use: take the URL from -x db=...
        url = context.get_x_argument(as_dictionary=True).get("db", "sqlite:///partner.db")
        with create_engine(url).begin() as conn:
            _run_with(conn)
    else:
        _run_with(connection)


def _run_with(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


run()
