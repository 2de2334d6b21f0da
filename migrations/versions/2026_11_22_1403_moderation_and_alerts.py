"""Moderation and alerts: moderators, the append-only audit log, claims on reports,
alerts with their regions and identifiers, subscribers.

Revision ID: 0002_moderation
Revises: 0001_initial
Create Date: 2026-11-22 14:03:14.153745
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_moderation"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alert",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(16), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("text_enc", sa.LargeBinary(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("incident_date", sa.Date(), nullable=False),
        sa.Column("part_of_day", sa.String(16), nullable=True),
        sa.Column("report_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retracted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retract_reason_enc", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert")),
        sa.UniqueConstraint("ref", name=op.f("uq_alert_ref")),
    )
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_status"), ["status"], unique=False)

    op.create_table(
        "moderator",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(40), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("totp_secret_enc", sa.LargeBinary(), nullable=True),
        sa.Column("totp_confirmed", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderator")),
        sa.UniqueConstraint("username", name=op.f("uq_moderator_username")),
    )
    op.create_table(
        "subscriber",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("contact_enc", sa.LargeBinary(), nullable=False),
        sa.Column("contact_index", sa.LargeBinary(), nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("min_severity_rank", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriber")),
        sa.UniqueConstraint(
            "channel", "contact_index", name=op.f("uq_subscriber_channel_contact_index")
        ),
    )
    op.create_table(
        "alert_identifier",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("value_enc", sa.LargeBinary(), nullable=False),
        sa.Column("blind_index", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alert.id"],
            name=op.f("fk_alert_identifier_alert_id_alert"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_identifier")),
    )
    with op.batch_alter_table("alert_identifier", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_alert_identifier_alert_id"), ["alert_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_alert_identifier_blind_index"), ["blind_index"], unique=False
        )

    op.create_table(
        "alert_region",
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(16), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alert.id"],
            name=op.f("fk_alert_region_alert_id_alert"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["region_code"], ["region.code"], name=op.f("fk_alert_region_region_code_region")
        ),
        sa.PrimaryKeyConstraint("alert_id", "region_code", name=op.f("pk_alert_region")),
    )
    with op.batch_alter_table("alert_region", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_alert_region_region_code"), ["region_code"], unique=False
        )

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("moderator_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("target_type", sa.String(16), nullable=False),
        sa.Column("target_id", sa.String(40), nullable=False),
        sa.ForeignKeyConstraint(
            ["moderator_id"], ["moderator.id"], name=op.f("fk_audit_log_moderator_id_moderator")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_action"), ["action"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_audit_log_moderator_id"), ["moderator_id"], unique=False
        )

    op.create_table(
        "subscriber_region",
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("region_code", sa.String(16), nullable=False),
        sa.ForeignKeyConstraint(
            ["region_code"], ["region.code"], name=op.f("fk_subscriber_region_region_code_region")
        ),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscriber.id"],
            name=op.f("fk_subscriber_region_subscriber_id_subscriber"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("subscriber_id", "region_code", name=op.f("pk_subscriber_region")),
    )
    with op.batch_alter_table("subscriber_region", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_subscriber_region_region_code"), ["region_code"], unique=False
        )

    op.create_table(
        "alert_report",
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alert.id"],
            name=op.f("fk_alert_report_alert_id_alert"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["report.id"],
            name=op.f("fk_alert_report_report_id_report"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("alert_id", "report_id", name=op.f("pk_alert_report")),
    )
    with op.batch_alter_table("alert_report", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_report_report_id"), ["report_id"], unique=False)

    op.create_table(
        "alert_review",
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=True),
        sa.Column("published_by_id", sa.Integer(), nullable=False),
        sa.Column("approved_by_id", sa.Integer(), nullable=True),
        sa.Column("needs_approval", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alert.id"],
            name=op.f("fk_alert_review_alert_id_alert"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["approved_by_id"],
            ["moderator.id"],
            name=op.f("fk_alert_review_approved_by_id_moderator"),
        ),
        sa.ForeignKeyConstraint(
            ["published_by_id"],
            ["moderator.id"],
            name=op.f("fk_alert_review_published_by_id_moderator"),
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["report.id"],
            name=op.f("fk_alert_review_report_id_report"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("alert_id", name=op.f("pk_alert_review")),
    )
    op.create_table(
        "moderation_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=True),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("moderator_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("body_enc", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alert.id"],
            name=op.f("fk_moderation_note_alert_id_alert"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["moderator_id"],
            ["moderator.id"],
            name=op.f("fk_moderation_note_moderator_id_moderator"),
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["report.id"],
            name=op.f("fk_moderation_note_report_id_report"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_moderation_note")),
    )
    with op.batch_alter_table("moderation_note", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_moderation_note_alert_id"), ["alert_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_moderation_note_report_id"), ["report_id"], unique=False
        )

    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("claim_expires_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch_op.create_index(
            batch_op.f("ix_report_claimed_by_id"), ["claimed_by_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_report_claimed_by_id_moderator"), "moderator", ["claimed_by_id"], ["id"]
        )
        batch_op.create_index(
            "ix_report_queue", ["status", "urgency", "submitted_at"], unique=False
        )

    _make_audit_log_append_only()


def downgrade() -> None:
    _drop_audit_log_triggers()
    with op.batch_alter_table("report", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_report_claimed_by_id_moderator"), type_="foreignkey"
        )
        batch_op.drop_index("ix_report_queue")
        batch_op.drop_index(batch_op.f("ix_report_claimed_by_id"))
        batch_op.drop_column("version")
        batch_op.drop_column("decided_at")
        batch_op.drop_column("claim_expires_at")
        batch_op.drop_column("claimed_by_id")

    with op.batch_alter_table("moderation_note", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_moderation_note_report_id"))
        batch_op.drop_index(batch_op.f("ix_moderation_note_alert_id"))

    op.drop_table("moderation_note")
    op.drop_table("alert_review")
    with op.batch_alter_table("alert_report", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_report_report_id"))

    op.drop_table("alert_report")
    with op.batch_alter_table("subscriber_region", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subscriber_region_region_code"))

    op.drop_table("subscriber_region")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_moderator_id"))
        batch_op.drop_index(batch_op.f("ix_audit_log_action"))

    op.drop_table("audit_log")
    with op.batch_alter_table("alert_region", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_region_region_code"))

    op.drop_table("alert_region")
    with op.batch_alter_table("alert_identifier", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_identifier_blind_index"))
        batch_op.drop_index(batch_op.f("ix_alert_identifier_alert_id"))

    op.drop_table("alert_identifier")
    op.drop_table("subscriber")
    op.drop_table("moderator")
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_status"))

    op.drop_table("alert")


def _make_audit_log_append_only() -> None:
    """The database itself refuses to change or remove an audit entry."""
    if op.get_bind().dialect.name == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"
            )
        return
    op.execute(
        "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$"
    )
    op.execute(
        "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE "
        "ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
    )


def _drop_audit_log_triggers() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
        return
    op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
    op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
