"""Police exports: which report, who prepared and who approved; and when a report was
shared (after which its consent cannot be withdrawn).

Revision ID: 0017_police_exports
Revises: 0016_police_consent
Create Date: 2026-11-30 13:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_police_exports"
down_revision: str | None = "0016_police_consent"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "police_export",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("prepared_by_id", sa.Integer(), nullable=False),
        sa.Column("prepared_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_by_id", sa.Integer(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["report.id"],
            name=op.f("fk_police_export_report_id_report"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["prepared_by_id"],
            ["moderator.id"],
            name=op.f("fk_police_export_prepared_by_id_moderator"),
        ),
        sa.ForeignKeyConstraint(
            ["approved_by_id"],
            ["moderator.id"],
            name=op.f("fk_police_export_approved_by_id_moderator"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_police_export")),
        sa.UniqueConstraint("report_id", name=op.f("uq_police_export_report_id")),
    )
    with op.batch_alter_table("report") as batch:
        batch.add_column(sa.Column("police_shared_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("report") as batch:
        batch.drop_column("police_shared_at")
    op.drop_table("police_export")
