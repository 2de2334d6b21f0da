"""The client check: "has this number been reported?" Members only by default.

A number is normalised and looked up by its blind index among live alerts (published,
not expired, not retracted). The answer never says a number is safe: no reports is
not a guarantee.
"""

from __future__ import annotations

from sqlmodel import Session

from alerts import service as alerts_service
from alerts.check import watch
from alerts.check.schemas import (
    NOT_A_GUARANTEE,
    WARNED,
    CheckedAlert,
    CheckedUpdate,
    CheckResult,
)
from alerts.models import PURPOSE_ALERT_TEXT, PURPOSE_ALERT_TEXTS, Severity
from alerts.render import mask
from app import tally
from app.crypto import Crypto
from app.errors import FieldError, InvalidInput
from app.identifiers import InvalidIdentifier, normalise_phone
from app.ratelimit import RateLimiter
from app.settings import Settings


def limit_key(*, member_id: int | None, client: str) -> str:
    """Who is checking, for the rate limit (which keeps only a daily pseudonym of it): the
    member, wherever they check from; anyone else by `client` (the web client's address,
    or the SMS sender's number). Never the number checked, nor one bucket for everybody:
    either would let one person switch checking off for others."""
    return f"member:{member_id}" if member_id is not None else f"client:{client}"


def check_number(
    session: Session,
    *,
    number: str,
    member_id: int | None,
    crypto: Crypto,
    settings: Settings,
    limiter: RateLimiter,
) -> CheckResult:
    """The live alerts naming `number`. A member (None: an open check without one) may
    ask about REDFLAG_CHECK_DAILY_NUMBERS different numbers a day: watch.TooManyNumbers
    after that, for new numbers only."""
    try:
        e164 = normalise_phone(number, settings.default_country)
    except InvalidIdentifier as exc:
        raise InvalidInput([FieldError(("number",), exc.code, exc.message)]) from None
    digest = crypto.index.digest("phone", e164)
    if member_id is not None:
        watch.admit(session, member_id=member_id, digest=digest, limiter=limiter, settings=settings)
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
            texts=alerts_service.open_texts(
                alert.texts_enc, cipher=crypto.cipher, purpose=PURPOSE_ALERT_TEXTS
            ),
            report_count=alert.report_count,
            updates=[
                CheckedUpdate(
                    on=update.created_at.date(),
                    text=(news := alerts_service.update_text(update, cipher=crypto.cipher)).text,
                    texts=news.texts,
                )
                for update in alerts_service.updates(session, alert_id=alert.id or 0)
            ],
        )
        for alert in sorted(found, key=lambda a: a.published_at or a.created_at, reverse=True)
    ]
    tally.add(session, "checks")
    if alerts:
        tally.add(session, "checks.hit")
    return CheckResult(
        number=e164,
        number_masked=mask("phone", e164, "partial") or e164,
        found=bool(alerts),
        alerts=alerts,
        notice=WARNED if alerts else NOT_A_GUARANTEE,
    )
