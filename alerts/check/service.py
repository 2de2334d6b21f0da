"""The client check: "has this number been reported?" Members only by default.

A number is normalised and looked up by its blind index among live alerts (published,
not expired, not retracted). The answer never says a number is safe: no reports is
not a guarantee.
"""

from __future__ import annotations

from sqlmodel import Session

from alerts import service as alerts_service
from alerts.check.schemas import CheckedAlert, CheckResult
from alerts.models import PURPOSE_ALERT_TEXT, Severity
from alerts.render import mask
from app.crypto import BlindIndex, Crypto
from app.errors import FieldError, InvalidInput
from app.identifiers import InvalidIdentifier, normalise_phone
from app.settings import Settings


def limit_key(index: BlindIndex, subscriber_id: int | None, fallback: str) -> str:
    """Who is checking, for the rate limit: the member, never their number."""
    who = f"member:{subscriber_id}" if subscriber_id is not None else f"anon:{fallback}"
    return index.digest("check-limit", who).hex()[:32]


def check_number(
    session: Session, *, number: str, crypto: Crypto, settings: Settings
) -> CheckResult:
    try:
        e164 = normalise_phone(number, settings.default_country)
    except InvalidIdentifier as exc:
        raise InvalidInput([FieldError(("number",), exc.code, exc.message)]) from None
    digest = crypto.index.digest("phone", e164)
    found = alerts_service.live_alerts_matching(session, blind_indexes=[digest]).get(digest, [])
    regions = alerts_service.region_names_by_alert(session, alert_ids=[a.id for a in found if a.id])
    alerts = [
        CheckedAlert(
            ref=alert.ref,
            severity=Severity(alert.severity),
            incident_date=alert.incident_date,
            regions=regions.get(alert.id or 0, []),
            categories=alert.categories,
            text=crypto.cipher.decrypt(alert.text_enc, purpose=PURPOSE_ALERT_TEXT),
            report_count=alert.report_count,
        )
        for alert in sorted(found, key=lambda a: a.published_at or a.created_at, reverse=True)
    ]
    return CheckResult(
        number=e164,
        number_masked=mask("phone", e164, "partial") or e164,
        found=bool(alerts),
        alerts=alerts,
    )
