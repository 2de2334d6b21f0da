"""Tally: monthly counts for the statistics of what leaves no lasting row (client checks
and hits, objections received and decided); a name and a count, never who or what.

Revision ID: 0015_tally
Revises: 0014_objections
Create Date: 2026-11-30 13:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_tally"
down_revision: str | None = "0014_objections"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tally",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("month", "name", name=op.f("pk_tally")),
    )


def downgrade() -> None:
    op.drop_table("tally")
