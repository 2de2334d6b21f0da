"""Preparing, approving and reading police exports. Every step is audited (who and which
export, never the contents), and each approval is counted for the statistics."""

from __future__ import annotations

from sqlmodel import Session, col, select

from app import tally
from app.crypto import Crypto
from app.db import aware, utcnow
from app.errors import Conflict, NotFound
from app.regions import service as regions_service
from app.reports.models import (
    PURPOSE_DESCRIPTION,
    PURPOSE_IDENTIFIER,
    PURPOSE_TEXT,
    Category,
    PartOfDay,
    PoliceConsent,
    Report,
    ReportIdentifier,
    ReportStatus,
)
from moderation import audit
from moderation.models import Moderator
from moderation.police.models import (
    ExportOut,
    ExportStatus,
    Package,
    PackageIdentifier,
    PoliceExport,
)

CONTACT_THROUGH_SERVICE = (
    "The reporter asked for help filing a police report. Reach them only through the"
    " service: the moderators can ask them through their report's status page."
)


def prepare(session: Session, *, report_id: int, admin: Moderator) -> PoliceExport:
    """An export of a report whose reporter consented; refused without consent."""
    report = session.get(Report, report_id, with_for_update=True)
    if report is None:
        raise NotFound("No such report.")
    if report.police_consent == PoliceConsent.none:
        raise Conflict("The reporter did not consent to sharing this report with the police.")
    if report.status == ReportStatus.withdrawn:
        raise Conflict("The reporter withdrew this report.")
    if session.exec(select(PoliceExport.id).where(PoliceExport.report_id == report_id)).first():
        raise Conflict("This report has an export already.")
    export = PoliceExport(report_id=report_id, prepared_by_id=admin.id or 0, prepared_at=utcnow())
    session.add(export)
    session.flush()
    _audit(session, "police_export.prepare", export, admin)
    return export


def approve(session: Session, *, export_id: int, admin: Moderator) -> PoliceExport:
    """The second admin's approval: only then can the package be read, and the reporter can
    no longer take the consent back."""
    export = _get(session, export_id)
    if export.approved_at is not None:
        raise Conflict("This export is approved already.")
    if export.prepared_by_id == admin.id:
        raise Conflict("A second admin must approve: not the one who prepared it.")
    report = session.get(Report, export.report_id, with_for_update=True)
    assert report is not None  # the export goes with its report
    if report.police_consent == PoliceConsent.none:
        raise Conflict("The reporter withdrew their consent: this export cannot be approved.")
    now = utcnow()
    export.approved_by_id, export.approved_at = admin.id, now
    report.police_shared_at = now
    session.add_all([export, report])
    session.flush()
    tally.add(session, "police.exports")
    _audit(session, "police_export.approve", export, admin)
    return export


def package(session: Session, *, export_id: int, admin: Moderator, crypto: Crypto) -> Package:
    """The approved export's contents, read from the report now (audited as downloaded)."""
    export = _get(session, export_id)
    if export.approved_at is None:
        raise Conflict("A second admin must approve this export before it can be read.")
    report = session.get(Report, export.report_id)
    assert report is not None
    consent = PoliceConsent(report.police_consent)
    cipher = crypto.cipher
    identifiers = session.exec(
        select(ReportIdentifier)
        .where(ReportIdentifier.report_id == report.id)
        .order_by(col(ReportIdentifier.id))
    ).all()
    _audit(session, "police_export.download", export, admin)
    return Package(
        export_id=export.id or 0,
        consent=consent,
        incident_date=report.incident_date,
        part_of_day=PartOfDay(report.part_of_day),
        municipality=regions_service.names(session, [report.region_code])[0],
        categories=[Category(c) for c in report.categories],
        identifiers=[
            PackageIdentifier(
                kind=i.kind, value=cipher.decrypt(i.value_enc, purpose=PURPOSE_IDENTIFIER)
            )
            for i in identifiers
        ],
        description=_open(crypto, report.perpetrator_description_enc, PURPOSE_DESCRIPTION),
        what_happened=(
            _open(crypto, report.what_happened_enc, PURPOSE_TEXT)
            if consent == PoliceConsent.contact
            else None
        ),
        contact=CONTACT_THROUGH_SERVICE if consent == PoliceConsent.contact else None,
    )


def listing(session: Session) -> list[ExportOut]:
    exports = session.exec(select(PoliceExport).order_by(col(PoliceExport.id).desc())).all()
    return [public(session, e) for e in exports]


def public(session: Session, export: PoliceExport) -> ExportOut:
    report = session.get(Report, export.report_id)
    assert report is not None
    names = {
        m.id: m.username
        for m in session.exec(
            select(Moderator).where(
                col(Moderator.id).in_([export.prepared_by_id, export.approved_by_id])
            )
        )
    }
    consent = PoliceConsent(report.police_consent)
    if export.approved_at is not None:
        status = ExportStatus.approved
    elif consent == PoliceConsent.none:
        status = ExportStatus.withdrawn
    else:
        status = ExportStatus.waiting
    return ExportOut(
        id=export.id or 0,
        report_id=export.report_id,
        status=status,
        consent=consent,
        prepared_by=names.get(export.prepared_by_id, "?"),
        prepared_at=aware(export.prepared_at),
        approved_by=names.get(export.approved_by_id) if export.approved_by_id else None,
        approved_at=aware(export.approved_at),
    )


def _get(session: Session, export_id: int) -> PoliceExport:
    export = session.get(PoliceExport, export_id, with_for_update=True)
    if export is None:
        raise NotFound("No such export.")
    return export


def _open(crypto: Crypto, value: bytes | None, purpose: str) -> str | None:
    return crypto.cipher.decrypt(value, purpose=purpose) if value else None


def _audit(session: Session, action: str, export: PoliceExport, admin: Moderator) -> None:
    audit.record(
        session,
        moderator_id=admin.id,
        action=action,
        target_type="police_export",
        target_id=export.id,
    )
