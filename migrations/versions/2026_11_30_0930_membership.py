"""Membership: a subscriber is pending, verified, suspended (or removed: the row goes), with
when, how and by whom they were verified (never the evidence); invite codes as keyed hashes.

Every subscriber from before this revision becomes verified, way "migration": they joined
when confirming was enough. docs/operations.md says how to undo that.

Revision ID: 0010_membership
Revises: 0009_one_off_messages
Create Date: 2026-11-30 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_membership"
down_revision: str | None = "0009_one_off_messages"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("subscriber", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("membership", sa.String(length=10), nullable=False, server_default="pending")
        )
        batch_op.add_column(sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("verified_how", sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column("verified_by", sa.String(length=24), nullable=True))
        batch_op.create_index("ix_subscriber_membership", ["membership"], unique=False)
    op.execute(
        "UPDATE subscriber SET membership = 'verified', verified_how = 'migration',"
        " verified_at = CURRENT_TIMESTAMP"
    )
    op.create_table(
        "invite",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("issued_by", sa.String(length=24), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invite")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_invite_code_hash")),
    )


def downgrade() -> None:
    op.drop_table("invite")
    with op.batch_alter_table("subscriber", schema=None) as batch_op:
        batch_op.drop_index("ix_subscriber_membership")
        batch_op.drop_column("verified_by")
        batch_op.drop_column("verified_how")
        batch_op.drop_column("verified_at")
        batch_op.drop_column("membership")
