"""Alert updates: news about a published alert, sent to everyone it went to.

Revision ID: 0004_alert_updates
Revises: 0003_delivery
Create Date: 2026-11-22 21:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_alert_updates"
down_revision: str | None = "0003_delivery"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alert_update",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("text_enc", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alert.id"],
            name=op.f("fk_alert_update_alert_id_alert"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_update")),
        sa.UniqueConstraint("alert_id", "number", name=op.f("uq_alert_update_alert_id_number")),
    )
    # One row per recipient and message: an alert's updates are messages of their own.
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("update_no", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.drop_constraint("uq_delivery_alert_id_subscriber_id_channel_kind", type_="unique")
        batch_op.create_unique_constraint(
            batch_op.f("uq_delivery_alert_id_subscriber_id_channel_kind_update_no"),
            ["alert_id", "subscriber_id", "channel", "kind", "update_no"],
        )


def downgrade() -> None:
    op.execute("DELETE FROM delivery WHERE kind = 'update'")
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_delivery_alert_id_subscriber_id_channel_kind_update_no"), type_="unique"
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_delivery_alert_id_subscriber_id_channel_kind"),
            ["alert_id", "subscriber_id", "channel", "kind"],
        )
        batch_op.drop_column("update_no")
    op.drop_table("alert_update")
