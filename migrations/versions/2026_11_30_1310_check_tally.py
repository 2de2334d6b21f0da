"""Check tally: how many client checks a month, and how many found a live alert (for the
statistics); nothing about who asked or what.

Revision ID: 0015_check_tally
Revises: 0014_objections
Create Date: 2026-11-30 13:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_check_tally"
down_revision: str | None = "0014_objections"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "check_tally",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("checks", sa.Integer(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_check_tally")),
    )


def downgrade() -> None:
    op.drop_table("check_tally")
