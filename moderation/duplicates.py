"""Which live alerts a report under review may repeat: those naming one of its
identifiers, and those covering its place (the town itself, its province, or a town in a
province the report names). The moderator picks one; moderation.decisions.duplicate adds
the report to it."""

from __future__ import annotations

from sqlmodel import Session, col, select

from alerts import service as alerts_service
from alerts.models import PURPOSE_ALERT_TEXT, Alert, AlertIdentifier, AlertRegion, AlertStatus
from app.crypto import Crypto
from app.db import utcnow
from moderation.schemas import DuplicateCandidate

SHORT_TEXT = 90  # characters of the alert's text shown beside it


def candidates(
    session: Session,
    *,
    region_code: str,
    blind_indexes: list[bytes],
    crypto: Crypto,
    limit: int = 20,
) -> list[DuplicateCandidate]:
    """Live alerts sharing an identifier or a region with the report: those sharing an
    identifier first, then the newest."""
    by_identifier = set(
        session.exec(
            select(AlertIdentifier.alert_id).where(
                col(AlertIdentifier.blind_index).in_(blind_indexes)
            )
        ).all()
    )
    places = alerts_service.reach(session, [region_code])
    by_region = set(
        session.exec(
            select(AlertRegion.alert_id).where(col(AlertRegion.region_code).in_(places))
        ).all()
    )
    alerts = session.exec(
        select(Alert)
        .where(
            col(Alert.status).in_(alerts_service.LIVE),
            col(Alert.expires_at) > utcnow(),
            col(Alert.id).in_(by_identifier | by_region),
        )
        .order_by(col(Alert.id).desc())
    ).all()
    alerts = sorted(alerts, key=lambda a: a.id not in by_identifier)[:limit]
    names = alerts_service.region_names_by_alert(
        session, alert_ids=[a.id for a in alerts if a.id is not None]
    )
    return [
        DuplicateCandidate(
            ref=a.ref,
            status=AlertStatus(a.status),
            incident_date=a.incident_date,
            regions=names.get(a.id or 0, []),
            text=_short(crypto.cipher.decrypt(a.text_enc, purpose=PURPOSE_ALERT_TEXT)),
            same_identifier=a.id in by_identifier,
            same_region=a.id in by_region,
        )
        for a in alerts
    ]


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SHORT_TEXT else text[: SHORT_TEXT - 1].rstrip() + "…"
