"""sync indexes: seekable change-feed ranges per partner, client_month by partner and month

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 18:15:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The change feed reads each sync kind as "partner_id = ? AND version in a range ORDER BY
# version, id" (``partner_api.services.sync_feed``); these let it seek and stop instead of
# scanning the partner's rows and sorting them. ``partner`` is left out: it is read by its
# primary key. Copied here so the migration never changes when ``SYNC_KINDS`` does.
FEED_TABLES = (
    "access_grant",
    "access_template",
    "audit_event",
    "client",
    "client_group",
    "client_group_member",
    "client_month",
    "app_user",
)


def upgrade() -> None:
    for table in FEED_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(
                f"ix_{table}_partner_version_id", ["partner_id", "version", "id"], unique=False
            )

    with op.batch_alter_table("tombstone", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tombstone_partner_version_kind_entity",
            ["partner_id", "version", "kind", "entity_id"],
            unique=False,
        )

    with op.batch_alter_table("client_month", schema=None) as batch_op:
        # The dashboard reads a partner's figures for a range of months.
        batch_op.create_index(
            "ix_client_month_partner_month", ["partner_id", "month"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("client_month", schema=None) as batch_op:
        batch_op.drop_index("ix_client_month_partner_month")

    with op.batch_alter_table("tombstone", schema=None) as batch_op:
        batch_op.drop_index("ix_tombstone_partner_version_kind_entity")

    for table in reversed(FEED_TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f"ix_{table}_partner_version_id")
