"""Applications: a pending subscriber's evidence that they work, encrypted, one per
subscriber, deleted at the moderator's decision or after REDFLAG_APPLICATION_DAYS.

Revision ID: 0012_applications
Revises: 0011_check_watch
Create Date: 2026-11-30 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_applications"
down_revision: str | None = "0011_check_watch"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "application",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("evidence_enc", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscriber.id"],
            name=op.f("fk_application_subscriber_id_subscriber"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application")),
        sa.UniqueConstraint("subscriber_id", name=op.f("uq_application_subscriber_id")),
    )


def downgrade() -> None:
    op.drop_table("application")
