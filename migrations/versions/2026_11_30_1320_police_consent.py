"""Police consent as a choice: none, intelligence or contact, instead of one boolean
(true becomes intelligence, what it meant).

Revision ID: 0016_police_consent
Revises: 0015_tally
Create Date: 2026-11-30 13:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_police_consent"
down_revision: str | None = "0015_tally"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("report") as batch:
        batch.add_column(
            sa.Column("police_consent", sa.String(length=12), server_default="none", nullable=False)
        )
    op.execute("UPDATE report SET police_consent = 'intelligence' WHERE consent_police")
    with op.batch_alter_table("report") as batch:
        batch.drop_column("consent_police")


def downgrade() -> None:
    with op.batch_alter_table("report") as batch:
        batch.add_column(
            sa.Column("consent_police", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.execute("UPDATE report SET consent_police = (police_consent <> 'none')")
    with op.batch_alter_table("report") as batch:
        batch.drop_column("police_consent")
