"""access admin: access templates, audit events as a sync kind, expiry and key indexes

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 17:09:01.953167
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The partner's starting templates (also created for every new partner by
# ``partner_api.services.access.seed_templates``); copied here so the migration never changes
# when that code does.
DEFAULT_TEMPLATES = (
    ("Regnskapsfører – full", "full"),
    ("Lønnsmedarbeider", "payroll"),
    ("Revisor – kun lesing", "read"),
)


def upgrade() -> None:
    op.create_table(
        "access_template",
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("access_level", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.ForeignKeyConstraint(["partner_id"], ["partner.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("partner_id", "name"),
    )
    with op.batch_alter_table("access_template", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_access_template_partner_id"), ["partner_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_access_template_version"), ["version"], unique=False)

    with op.batch_alter_table("access_grant", schema=None) as batch_op:
        batch_op.create_index(
            "ix_access_grant_partner_valid_until", ["partner_id", "valid_until"], unique=False
        )

    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        # Existing events get version 0: a full resync (the schema revision changed) still
        # delivers them.
        batch_op.add_column(
            sa.Column("version", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("subject_user_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("client_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("note", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.create_index(batch_op.f("ix_audit_event_client_id"), ["client_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_audit_event_subject_user_id"), ["subject_user_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_audit_event_version"), ["version"], unique=False)

    with op.batch_alter_table("idempotency_key", schema=None) as batch_op:
        batch_op.create_index("ix_idempotency_key_created_at", ["created_at"], unique=False)

    _seed_templates()


def _seed_templates() -> None:
    """Give every existing partner the default templates, stamped with a fresh change version."""
    conn = op.get_bind()
    partners = [row[0] for row in conn.execute(sa.text("SELECT id FROM partner ORDER BY id"))]
    if not partners:
        return  # a new database: the sync_state row does not exist yet
    version = conn.execute(
        sa.text("UPDATE sync_state SET version = version + 1 WHERE id = 1 RETURNING version")
    ).scalar()
    template = sa.table(
        "access_template",
        sa.column("version", sa.BigInteger()),
        sa.column("partner_id", sa.Integer()),
        sa.column("name", sa.String()),
        sa.column("access_level", sa.String()),
        sa.column("role", sa.String()),
    )
    op.bulk_insert(
        template,
        [
            {
                "version": version or 0,
                "partner_id": partner_id,
                "name": name,
                "access_level": level,
                "role": None,
            }
            for partner_id in partners
            for name, level in DEFAULT_TEMPLATES
        ],
    )


def downgrade() -> None:
    with op.batch_alter_table("idempotency_key", schema=None) as batch_op:
        batch_op.drop_index("ix_idempotency_key_created_at")

    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_event_version"))
        batch_op.drop_index(batch_op.f("ix_audit_event_subject_user_id"))
        batch_op.drop_index(batch_op.f("ix_audit_event_client_id"))
        batch_op.drop_column("note")
        batch_op.drop_column("client_id")
        batch_op.drop_column("subject_user_id")
        batch_op.drop_column("version")

    with op.batch_alter_table("access_grant", schema=None) as batch_op:
        batch_op.drop_index("ix_access_grant_partner_valid_until")

    with op.batch_alter_table("access_template", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_template_version"))
        batch_op.drop_index(batch_op.f("ix_access_template_partner_id"))

    op.drop_table("access_template")
