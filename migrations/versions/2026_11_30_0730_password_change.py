"""Passwords an admin reset: the account must choose a new one at its next login.

Revision ID: 0008_password_change
Revises: 0007_moderator_sessions
Create Date: 2026-11-30 07:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_password_change"
down_revision: str | None = "0007_moderator_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("moderator", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "must_change_password", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("moderator", schema=None) as batch_op:
        batch_op.drop_column("must_change_password")
