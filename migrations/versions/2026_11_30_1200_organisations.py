"""Organisations: their regions and people (accounts with role "organisation"), and reports
they sent on a worker's behalf (report.third_party).

Revision ID: 0013_organisations
Revises: 0012_applications
Create Date: 2026-11-30 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_organisations"
down_revision: str | None = "0012_applications"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "organisation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation")),
        sa.UniqueConstraint("name", name=op.f("uq_organisation_name")),
    )
    op.create_table(
        "organisation_region",
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_organisation_region_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["region_code"],
            ["region.code"],
            name=op.f("fk_organisation_region_region_code_region"),
        ),
        sa.PrimaryKeyConstraint(
            "organisation_id", "region_code", name=op.f("pk_organisation_region")
        ),
    )
    op.create_table(
        "organisation_member",
        sa.Column("moderator_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["moderator_id"],
            ["moderator.id"],
            name=op.f("fk_organisation_member_moderator_id_moderator"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_organisation_member_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("moderator_id", name=op.f("pk_organisation_member")),
    )
    op.create_index(
        op.f("ix_organisation_member_organisation_id"),
        "organisation_member",
        ["organisation_id"],
    )
    with op.batch_alter_table("report") as batch:
        batch.add_column(
            sa.Column("third_party", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("report") as batch:
        batch.drop_column("third_party")
    op.drop_index(op.f("ix_organisation_member_organisation_id"), "organisation_member")
    op.drop_table("organisation_member")
    op.drop_table("organisation_region")
    op.drop_table("organisation")
