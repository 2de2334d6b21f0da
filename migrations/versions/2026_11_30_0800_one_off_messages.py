"""One-off messages (codes and links) go through the outbox: a delivery row with no alert
and its own encrypted text, so that no request waits for a provider (and none tells by its
time or its answer whether a number or address is subscribed).

Revision ID: 0009_one_off_messages
Revises: 0008_password_change
Create Date: 2026-11-30 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_one_off_messages"
down_revision: str | None = "0008_password_change"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CLAIMABLE = "status IN ('pending', 'sending')"  # as alerts.models.CLAIMABLE at this revision


def _claimable_index() -> None:
    op.create_index(
        "ix_delivery_due",
        "delivery",
        ["due_at"],
        postgresql_where=sa.text(CLAIMABLE),
        sqlite_where=sa.text(CLAIMABLE),
    )


def upgrade() -> None:
    # SQLite rebuilds the table in batch mode: the partial index is made again after it.
    op.drop_index("ix_delivery_due", table_name="delivery")
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.add_column(sa.Column("text_enc", sa.LargeBinary(), nullable=True))
        batch_op.alter_column("alert_id", existing_type=sa.Integer(), nullable=True)
    _claimable_index()


def downgrade() -> None:
    op.execute("DELETE FROM delivery WHERE alert_id IS NULL")
    op.drop_index("ix_delivery_due", table_name="delivery")
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.alter_column("alert_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("text_enc")
    _claimable_index()
