"""The delivery index a worker claims from holds only claimable rows, ordered by due time.

The old index (status, due_at) made a claim sort every pending row each time, because it
asks for two statuses in due order; a fan-out to N recipients cost O(N²/batch).

Revision ID: 0006_claimable_index
Revises: 0005_delivery_tally
Create Date: 2026-11-23 01:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_claimable_index"
down_revision: str | None = "0005_delivery_tally"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CLAIMABLE = "status IN ('pending', 'sending')"  # as alerts.models.CLAIMABLE at this revision


def upgrade() -> None:
    op.drop_index("ix_delivery_due", table_name="delivery")
    op.create_index(
        "ix_delivery_due",
        "delivery",
        ["due_at"],
        postgresql_where=sa.text(CLAIMABLE),
        sqlite_where=sa.text(CLAIMABLE),
    )


def downgrade() -> None:
    op.drop_index("ix_delivery_due", table_name="delivery")
    op.create_index("ix_delivery_due", "delivery", ["status", "due_at"])
