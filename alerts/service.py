"""Alerts: creating, publishing, retracting, and who they would reach."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import delete, update
from sqlmodel import Session, col, func, select

from alerts.delivery import outbox as delivery
from alerts.models import (
    PURPOSE_ALERT_IDENTIFIER,
    PURPOSE_ALERT_TEXT,
    PURPOSE_ALERT_TEXTS,
    PURPOSE_RETRACT_REASON,
    PURPOSE_UPDATE_TEXT,
    PURPOSE_UPDATE_TEXTS,
    Alert,
    AlertIdentifier,
    AlertRegion,
    AlertReport,
    AlertStatus,
    AlertUpdate,
    Delivery,
    Membership,
    MessageKind,
    Severity,
    Subscriber,
    SubscriberRegion,
)
from alerts.render import AlertView
from app.crypto import Crypto, FieldCipher
from app.db import aware, rows_changed, utcnow
from app.errors import Conflict, FieldError, InvalidInput
from app.receipts import ALPHABET
from app.regions import service as regions_service
from app.regions.models import Region
from app.retention import Policy
from app.text import clean

REF_PREFIX = "RF-"
REF_SYMBOLS = 6
LIVE = (AlertStatus.pending_approval.value, AlertStatus.published.value)


@dataclass(frozen=True)
class AlertDraft:
    """A moderator's alert before it exists: identifiers already normalised."""

    text: str
    severity: Severity
    region_codes: list[str]
    categories: list[str]
    identifiers: list[tuple[str, str]]
    incident_date: date
    part_of_day: str | None
    expires_at: datetime
    texts: dict[str, str] = field(default_factory=dict)  # {lang: text}: the languages written


def readable_text(typed: str, *, loc: tuple[str, ...] = ("text",)) -> str:
    """A moderator's text as subscribers may receive it (app.text.clean), never empty."""
    text = clean(typed).strip()
    if not text:
        raise InvalidInput(
            [FieldError(loc, "string_too_short", "write something subscribers can read")]
        )
    return text


def readable_texts(typed: Mapping[str, str]) -> dict[str, str]:
    """Each language's text as readable_text makes it; InvalidInput naming each empty one."""
    texts, errors = {}, []
    for lang, text in typed.items():
        try:
            texts[lang] = readable_text(text, loc=("texts", lang))
        except InvalidInput as exc:
            errors += exc.errors
    if errors:
        raise InvalidInput(errors)
    return texts


def seal_texts(texts: Mapping[str, str], *, cipher: FieldCipher, purpose: str) -> bytes | None:
    """The languages written, as encrypted JSON; None when there are none."""
    if not texts:
        return None
    return cipher.encrypt(json.dumps(dict(texts), ensure_ascii=False), purpose=purpose)


def open_texts(blob: bytes | None, *, cipher: FieldCipher, purpose: str) -> dict[str, str]:
    if blob is None:
        return {}
    texts = json.loads(cipher.decrypt(blob, purpose=purpose))
    return {str(lang): str(text) for lang, text in texts.items()}


def new_ref() -> str:
    return REF_PREFIX + "".join(secrets.choice(ALPHABET) for _ in range(REF_SYMBOLS))


def normalise_ref(typed: str) -> str:
    cleaned = typed.strip().upper().replace(" ", "")
    return cleaned if cleaned.startswith(REF_PREFIX) else REF_PREFIX + cleaned


def create(session: Session, *, draft: AlertDraft, crypto: Crypto, needs_approval: bool) -> Alert:
    """Store an alert, published at once or waiting for a second moderator."""
    text = readable_text(draft.text)
    texts = readable_texts(draft.texts)
    now = utcnow()
    ref = new_ref()
    while session.exec(select(Alert.id).where(Alert.ref == ref)).first() is not None:
        ref = new_ref()
    alert = Alert(
        ref=ref,
        status=(AlertStatus.pending_approval if needs_approval else AlertStatus.published).value,
        severity=draft.severity.value,
        text_enc=crypto.cipher.encrypt(text, purpose=PURPOSE_ALERT_TEXT),
        texts_enc=seal_texts(texts, cipher=crypto.cipher, purpose=PURPOSE_ALERT_TEXTS),
        categories=draft.categories,
        incident_date=draft.incident_date,
        part_of_day=draft.part_of_day,
        created_at=now,
        published_at=None if needs_approval else now,
        expires_at=draft.expires_at,
    )
    session.add(alert)
    session.flush()
    _add_regions_and_identifiers(session, alert=alert, draft=draft, crypto=crypto)
    if not needs_approval:
        delivery.fan_out(session, alert=alert, reach=reach(session, draft.region_codes))
    return alert


def get_by_ref(session: Session, *, ref: str, for_update: bool = False) -> Alert | None:
    query = select(Alert).where(Alert.ref == normalise_ref(ref))
    if for_update:
        query = query.with_for_update()
    return session.exec(query).first()


def publish(session: Session, *, alert: Alert) -> None:
    """A pending alert goes out (after its second approval)."""
    if alert.status != AlertStatus.pending_approval:
        raise Conflict(f"Alert {alert.ref} is {alert.status}, not waiting for approval.")
    alert.status = AlertStatus.published.value
    alert.published_at = utcnow()
    session.add(alert)
    session.flush()
    assert alert.id is not None
    delivery.fan_out(
        session, alert=alert, reach=reach(session, region_codes(session, alert_id=alert.id))
    )


def retract(session: Session, *, alert: Alert, reason: str, cipher: FieldCipher) -> None:
    if alert.status not in LIVE:
        raise Conflict(f"Alert {alert.ref} is {alert.status} and cannot be retracted.")
    alert.status = AlertStatus.retracted.value
    alert.retracted_at = utcnow()
    alert.retract_reason_enc = cipher.encrypt(reason, purpose=PURPOSE_RETRACT_REASON)
    session.add(alert)
    session.flush()
    delivery.retract(session, alert=alert)


def add_update(
    session: Session,
    *,
    alert: Alert,
    text: str,
    cipher: FieldCipher,
    texts: Mapping[str, str] | None = None,
) -> tuple[int, int]:
    """News about a live alert, for everyone it went to, as written and in the languages
    written for (`texts`, {lang: text}). Returns (its number, recipients)."""
    text = readable_text(text)
    written = readable_texts(texts or {})
    if not is_live(alert):
        state = "expired" if alert.status == AlertStatus.published else alert.status
        raise Conflict(
            f"Alert {alert.ref} is {state.replace('_', ' ')}: only a published alert that has"
            " not expired can be updated."
        )
    assert alert.id is not None
    latest = session.exec(
        select(func.max(AlertUpdate.number)).where(AlertUpdate.alert_id == alert.id)
    ).one()
    number = (latest or 0) + 1
    session.add(
        AlertUpdate(
            alert_id=alert.id,
            number=number,
            text_enc=cipher.encrypt(text, purpose=PURPOSE_UPDATE_TEXT),
            texts_enc=seal_texts(written, cipher=cipher, purpose=PURPOSE_UPDATE_TEXTS),
            created_at=utcnow(),
        )
    )
    session.flush()
    return number, delivery.send_update(session, alert=alert, number=number)


@dataclass(frozen=True)
class UpdateText:
    """An update's text as written, and the languages written for."""

    text: str
    texts: dict[str, str]


def update_text(update: AlertUpdate, *, cipher: FieldCipher) -> UpdateText:
    return UpdateText(
        text=cipher.decrypt(update.text_enc, purpose=PURPOSE_UPDATE_TEXT),
        texts=open_texts(update.texts_enc, cipher=cipher, purpose=PURPOSE_UPDATE_TEXTS),
    )


def update_texts(
    session: Session, *, keys: set[tuple[int, int]], cipher: FieldCipher
) -> dict[tuple[int, int], UpdateText]:
    """The decrypted texts of these (alert id, update number) pairs."""
    if not keys:
        return {}
    rows = session.exec(
        select(AlertUpdate).where(col(AlertUpdate.alert_id).in_({alert_id for alert_id, _ in keys}))
    )
    return {
        (u.alert_id, u.number): update_text(u, cipher=cipher)
        for u in rows
        if (u.alert_id, u.number) in keys
    }


def updates(session: Session, *, alert_id: int) -> list[AlertUpdate]:
    return list(
        session.exec(
            select(AlertUpdate)
            .where(AlertUpdate.alert_id == alert_id)
            .order_by(col(AlertUpdate.number))
        )
    )


def update_recipients(session: Session, *, alert_id: int, number: int) -> int:
    return session.exec(
        select(func.count()).where(
            Delivery.alert_id == alert_id,
            Delivery.kind == MessageKind.update,
            Delivery.update_no == number,
        )
    ).one()


def expire(session: Session, policy: Policy) -> int:
    """Retention: published alerts past their end are marked expired (client checks
    already stop matching them at that moment). Returns how many."""
    return rows_changed(
        session,
        update(Alert)
        .where(col(Alert.status) == AlertStatus.published, col(Alert.expires_at) <= policy.now)
        .values(status=AlertStatus.expired.value)
        .execution_options(synchronize_session=False),
    )


def link_report(session: Session, *, alert: Alert, report_id: int, count: bool) -> None:
    """Record that a report stands behind an alert; `count` raises its report count."""
    assert alert.id is not None
    session.add(AlertReport(alert_id=alert.id, report_id=report_id))
    if count:
        alert.report_count += 1
        session.add(alert)
    session.flush()


def is_live(alert: Alert, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return alert.status == AlertStatus.published and aware(alert.expires_at) > now


def region_codes(session: Session, *, alert_id: int) -> list[str]:
    return list(
        session.exec(select(AlertRegion.region_code).where(AlertRegion.alert_id == alert_id))
    )


def region_names_by_alert(session: Session, *, alert_ids: Iterable[int]) -> dict[int, list[str]]:
    """Each alert's regions by name (by code where a region has no row), in one query."""
    rows = session.execute(
        select(col(AlertRegion.alert_id), col(AlertRegion.region_code), col(Region.name))
        .join(Region, col(Region.code) == col(AlertRegion.region_code), isouter=True)
        .where(col(AlertRegion.alert_id).in_(set(alert_ids)))
        .order_by(col(AlertRegion.alert_id), col(AlertRegion.region_code))
    )
    names: dict[int, list[str]] = {}
    for alert_id, code, name in rows:
        names.setdefault(alert_id, []).append(name or code)
    return names


def with_ancestors(session: Session, codes: Iterable[str]) -> set[str]:
    """The regions and every region above them: a province subscriber hears of its towns."""
    result: set[str] = set()
    pending = set(codes)
    while pending:
        result |= pending
        parents = session.exec(
            select(Region.parent_code).where(
                col(Region.code).in_(pending), col(Region.parent_code).is_not(None)
            )
        ).all()
        pending = {p for p in parents if p and p not in result}
    return result


def with_descendants(session: Session, codes: Iterable[str]) -> set[str]:
    """The regions and every region below them."""
    result: set[str] = set()
    pending = set(codes)
    while pending:
        result |= pending
        children = session.exec(
            select(Region.code).where(col(Region.parent_code).in_(pending))
        ).all()
        pending = {c for c in children if c not in result}
    return result


def reach(session: Session, region_codes: Iterable[str]) -> set[str]:
    """Subscriber regions that overlap the alert's: the region itself, everything above it
    (a province subscriber hears of its towns) and below it (an alert for a province
    reaches its towns' subscribers)."""
    codes = set(region_codes)
    return with_ancestors(session, codes) | with_descendants(session, codes)


def count_recipients(session: Session, *, region_codes: Sequence[str], severity: Severity) -> int:
    """Verified members who would receive an alert for these regions and severity."""
    by_language = recipients_by_language(session, region_codes=region_codes, severity=severity)
    return sum(by_language.values())  # each member reads one language


def recipients_by_language(
    session: Session, *, region_codes: Sequence[str], severity: Severity
) -> dict[str, int]:
    """The verified members who would receive an alert for these regions and severity, by
    the language they read: {lang: members} (a language without any: left out)."""
    if not region_codes:
        return {}
    overlapping = reach(session, region_codes)
    query = (
        select(Subscriber.language, func.count(func.distinct(Subscriber.id)))
        .join(SubscriberRegion, col(SubscriberRegion.subscriber_id) == Subscriber.id)
        .where(
            col(SubscriberRegion.region_code).in_(overlapping),
            col(Subscriber.confirmed_at).is_not(None),
            col(Subscriber.membership) == Membership.verified,
            Subscriber.min_severity_rank <= severity.rank,
        )
        .group_by(col(Subscriber.language))
    )
    return {lang: int(n) for lang, n in session.exec(query).all()}


def live_alerts_matching(
    session: Session, *, blind_indexes: Iterable[bytes]
) -> dict[bytes, list[Alert]]:
    """Published, unexpired alerts naming any of these identifiers, by blind index."""
    digests = list(set(blind_indexes))
    if not digests:
        return {}
    rows = session.exec(
        select(AlertIdentifier.blind_index, Alert)
        .join(Alert, col(Alert.id) == AlertIdentifier.alert_id)
        .where(
            col(AlertIdentifier.blind_index).in_(digests),
            Alert.status == AlertStatus.published,
            Alert.expires_at > utcnow(),
        )
    ).all()
    found: dict[bytes, list[Alert]] = {}
    for digest, alert in rows:
        found.setdefault(digest, []).append(alert)
    return found


def view(session: Session, *, alert: Alert, cipher: FieldCipher) -> AlertView:
    """The alert decrypted, with region names, ready to render."""
    assert alert.id is not None
    identifiers = session.exec(
        select(AlertIdentifier).where(AlertIdentifier.alert_id == alert.id)
    ).all()
    return AlertView(
        ref=alert.ref,
        severity=alert.severity,
        text=cipher.decrypt(alert.text_enc, purpose=PURPOSE_ALERT_TEXT),
        texts=open_texts(alert.texts_enc, cipher=cipher, purpose=PURPOSE_ALERT_TEXTS),
        region_names=region_names_by_alert(session, alert_ids=[alert.id]).get(alert.id, []),
        categories=list(alert.categories),
        incident_date=alert.incident_date,
        part_of_day=alert.part_of_day,
        identifiers=[
            (i.kind, cipher.decrypt(i.value_enc, purpose=PURPOSE_ALERT_IDENTIFIER))
            for i in identifiers
        ],
    )


PLACEHOLDER_REF = REF_PREFIX + "X" * REF_SYMBOLS  # as long as a real one


def draft_view(session: Session, *, draft: AlertDraft) -> AlertView:
    """What a draft will look like to subscribers, before it has a reference."""
    return AlertView(
        ref=PLACEHOLDER_REF,
        severity=draft.severity.value,
        text=readable_text(draft.text),
        texts=readable_texts(draft.texts),
        region_names=regions_service.names(session, draft.region_codes),
        categories=draft.categories,
        incident_date=draft.incident_date,
        part_of_day=draft.part_of_day,
        identifiers=draft.identifiers,
    )


def revise(session: Session, *, alert: Alert, draft: AlertDraft, crypto: Crypto) -> None:
    """A pending alert as its author changed it: texts, severity, regions, categories,
    identifiers. Nothing has gone out yet, so nothing else changes."""
    if alert.status != AlertStatus.pending_approval:
        raise Conflict(f"Alert {alert.ref} is {alert.status}: only a pending alert can be changed.")
    assert alert.id is not None
    alert.text_enc = crypto.cipher.encrypt(readable_text(draft.text), purpose=PURPOSE_ALERT_TEXT)
    alert.texts_enc = seal_texts(
        readable_texts(draft.texts), cipher=crypto.cipher, purpose=PURPOSE_ALERT_TEXTS
    )
    alert.severity = draft.severity.value
    alert.categories = draft.categories
    session.add(alert)
    session.execute(delete(AlertRegion).where(col(AlertRegion.alert_id) == alert.id))
    session.execute(delete(AlertIdentifier).where(col(AlertIdentifier.alert_id) == alert.id))
    _add_regions_and_identifiers(session, alert=alert, draft=draft, crypto=crypto)


def _add_regions_and_identifiers(
    session: Session, *, alert: Alert, draft: AlertDraft, crypto: Crypto
) -> None:
    assert alert.id is not None
    for code in dict.fromkeys(draft.region_codes):
        session.add(AlertRegion(alert_id=alert.id, region_code=code))
    for kind, value in dict.fromkeys(draft.identifiers):
        session.add(
            AlertIdentifier(
                alert_id=alert.id,
                kind=kind,
                value_enc=crypto.cipher.encrypt(value, purpose=PURPOSE_ALERT_IDENTIFIER),
                blind_index=crypto.index.digest(kind, value),
            )
        )
    session.flush()
