"""Initial schema: regions, and reports with their identifiers and messages.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-22 13:48
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "region",
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("parent_code", sa.String(16), nullable=True),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("search_text", sa.String(4000), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_code"], ["region.code"], name=op.f("fk_region_parent_code_region")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_region")),
    )
    op.create_index(op.f("ix_region_parent_code"), "region", ["parent_code"])

    op.create_table(
        "report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("receipt_hash", sa.LargeBinary(), nullable=False),
        sa.Column("form_token_hash", sa.LargeBinary(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("region_code", sa.String(16), nullable=False),
        sa.Column("incident_date", sa.Date(), nullable=False),
        sa.Column("part_of_day", sa.String(16), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("urgency", sa.Integer(), nullable=False),
        sa.Column("what_happened_enc", sa.LargeBinary(), nullable=True),
        sa.Column("perpetrator_description_enc", sa.LargeBinary(), nullable=True),
        sa.Column("consent_police", sa.Boolean(), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("text_purged_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["region_code"], ["region.code"], name=op.f("fk_report_region_code_region")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report")),
        sa.UniqueConstraint("form_token_hash", name=op.f("uq_report_form_token_hash")),
        sa.UniqueConstraint("receipt_hash", name=op.f("uq_report_receipt_hash")),
    )
    op.create_index(op.f("ix_report_region_code"), "report", ["region_code"])
    op.create_index(op.f("ix_report_status"), "report", ["status"])

    op.create_table(
        "report_identifier",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("value_enc", sa.LargeBinary(), nullable=False),
        sa.Column("blind_index", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["report.id"],
            name=op.f("fk_report_identifier_report_id_report"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_identifier")),
    )
    op.create_index(op.f("ix_report_identifier_blind_index"), "report_identifier", ["blind_index"])
    op.create_index(op.f("ix_report_identifier_report_id"), "report_identifier", ["report_id"])

    op.create_table(
        "report_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(16), nullable=False),
        sa.Column("body_enc", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["report.id"],
            name=op.f("fk_report_message_report_id_report"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_message")),
    )
    op.create_index(op.f("ix_report_message_report_id"), "report_message", ["report_id"])


def downgrade() -> None:
    op.drop_table("report_message")
    op.drop_table("report_identifier")
    op.drop_table("report")
    op.drop_table("region")
