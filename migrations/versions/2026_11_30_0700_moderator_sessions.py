"""Moderator sessions that end: a token version per account; lock-outs move to the rate
limiter (per client and account), so the account-wide lock's columns go, and a mark for
an account guessed at from many clients.

Revision ID: 0007_moderator_sessions
Revises: 0006_claimable_index
Create Date: 2026-11-30 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_moderator_sessions"
down_revision: str | None = "0006_claimable_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("moderator", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("token_version", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("crowd_guess_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_column("failed_logins")
        batch_op.drop_column("locked_until")


def downgrade() -> None:
    with op.batch_alter_table("moderator", schema=None) as batch_op:
        batch_op.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("failed_logins", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.drop_column("crowd_guess_at")
        batch_op.drop_column("token_version")
