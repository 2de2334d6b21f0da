"""Delivery tallies: per-alert message counts that stay when delivery rows are pruned.

Revision ID: 0005_delivery_tally
Revises: 0004_alert_updates
Create Date: 2026-11-22 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_delivery_tally"
down_revision: str | None = "0004_alert_updates"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "delivery_tally",
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alert.id"],
            name=op.f("fk_delivery_tally_alert_id_alert"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "alert_id", "channel", "kind", "status", name=op.f("pk_delivery_tally")
        ),
    )


def downgrade() -> None:
    op.drop_table("delivery_tally")
