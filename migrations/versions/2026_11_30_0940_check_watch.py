"""The moderators' watch on the client check: members over the daily limit of different
numbers (subscriber, UTC day, how many), never the numbers.

Revision ID: 0011_check_watch
Revises: 0010_membership
Create Date: 2026-11-30 09:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_check_watch"
down_revision: str | None = "0010_membership"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "check_watch",
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("numbers", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscriber.id"],
            name=op.f("fk_check_watch_subscriber_id_subscriber"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("subscriber_id", "day", name=op.f("pk_check_watch")),
    )


def downgrade() -> None:
    op.drop_table("check_watch")
