"""Alert texts per language: the languages a moderator wrote an alert or an update in, as
encrypted JSON {lang: text}; the existing text stays the written one, which every other
language falls back to.

Revision ID: 0018_alert_texts
Revises: 0017_police_exports
Create Date: 2026-11-30 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_alert_texts"
down_revision: str | None = "0017_police_exports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alert") as batch:
        batch.add_column(sa.Column("texts_enc", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("alert_update") as batch:
        batch.add_column(sa.Column("texts_enc", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alert_update") as batch:
        batch.drop_column("texts_enc")
    with op.batch_alter_table("alert") as batch:
        batch.drop_column("texts_enc")
