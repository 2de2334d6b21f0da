"""The digest: the live alerts for an organisation's regions, to print for workers
without a phone (window, club and street work), in the language they read.

Identifiers are masked by the deployment's policy (REDFLAG_IDENTIFIER_MASKING), as in
an SMS: a printed sheet may be left lying around.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from alerts import service as alerts_service
from alerts.check.schemas import TEXTS
from alerts.models import Alert, AlertRegion, AlertStatus
from alerts.render import mask
from app.crypto import FieldCipher
from app.db import aware, utcnow
from app.regions import service as regions_service
from organisations import service


class DigestUpdate(BaseModel):
    on: date
    text: str
    texts: dict[str, str] = Field(default_factory=dict, description=TEXTS)


class DigestAlert(BaseModel):
    ref: str
    severity: str
    categories: list[str]
    regions: list[str] = Field(description="Region names")
    incident_date: date
    part_of_day: str | None
    identifiers: list[tuple[str, str]] = Field(
        description="(kind, value) masked by the deployment's policy; empty under 'none'"
    )
    text: str
    texts: dict[str, str] = Field(default_factory=dict, description=TEXTS)
    updates: list[DigestUpdate]


@dataclass(frozen=True)
class Digest:
    regions: list[str]  # the organisation's regions, by name
    alerts: list[DigestAlert]  # newest incident first


def live(session: Session, *, organisation_id: int, cipher: FieldCipher, masking: str) -> Digest:
    """The published, unexpired alerts overlapping the organisation's regions (a town's
    alert for a province's organisation, a province's alert for a town's)."""
    codes = service.region_codes(session, organisation_id)
    overlapping = alerts_service.reach(session, codes)
    in_regions = select(AlertRegion.alert_id).where(col(AlertRegion.region_code).in_(overlapping))
    alerts = session.exec(
        select(Alert)
        .where(
            col(Alert.id).in_(in_regions),
            Alert.status == AlertStatus.published,
            Alert.expires_at > utcnow(),
        )
        .order_by(col(Alert.incident_date).desc(), col(Alert.id).desc())
    ).all()
    return Digest(
        regions=regions_service.names(session, codes),
        alerts=[_entry(session, alert, cipher, masking) for alert in alerts],
    )


def _entry(session: Session, alert: Alert, cipher: FieldCipher, masking: str) -> DigestAlert:
    assert alert.id is not None
    view = alerts_service.view(session, alert=alert, cipher=cipher)
    shown = [(kind, mask(kind, value, masking)) for kind, value in view.identifiers]
    return DigestAlert(
        ref=view.ref,
        severity=view.severity,
        categories=view.categories,
        regions=view.region_names,
        incident_date=view.incident_date,
        part_of_day=view.part_of_day,
        identifiers=[(kind, value) for kind, value in shown if value is not None],
        text=view.text,
        texts=view.texts,
        updates=[
            DigestUpdate(
                on=aware(u.created_at).date(),
                text=(news := alerts_service.update_text(u, cipher=cipher)).text,
                texts=news.texts,
            )
            for u in alerts_service.updates(session, alert_id=alert.id)
        ],
    )
