"""Objections by a reported person: the identifier by blind index only, the objector's
reason and contact encrypted (deleted at the decision), the answer.

Revision ID: 0014_objections
Revises: 0013_organisations
Create Date: 2026-11-30 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_objections"
down_revision: str | None = "0013_organisations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "objection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_hash", sa.LargeBinary(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("blind_index", sa.LargeBinary(), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("reason_enc", sa.LargeBinary(), nullable=True),
        sa.Column("contact_enc", sa.LargeBinary(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("answer_enc", sa.LargeBinary(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_objection")),
        sa.UniqueConstraint("case_hash", name=op.f("uq_objection_case_hash")),
    )
    op.create_index(op.f("ix_objection_blind_index"), "objection", ["blind_index"])
    op.create_index(op.f("ix_objection_status"), "objection", ["status"])


def downgrade() -> None:
    op.drop_index(op.f("ix_objection_status"), "objection")
    op.drop_index(op.f("ix_objection_blind_index"), "objection")
    op.drop_table("objection")
