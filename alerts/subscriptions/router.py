"""The subscriptions API: subscribe, confirm, and leave."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends, Request
from sqlmodel import Session

from alerts.deps import MessengerDep
from alerts.membership import InviteOutcome
from alerts.models import Channel, CodePurpose, Membership, Severity, Subscriber
from alerts.subscriptions import applying, push
from alerts.subscriptions import service as subscriptions
from alerts.subscriptions.schemas import (
    RESPONSES,
    Accepted,
    CodeIn,
    LeaveIn,
    PushLeaveIn,
    PushRenewIn,
    PushSubscriptionOut,
    SubscribeIn,
    SubscriptionOut,
)
from app.crypto import Crypto
from app.deps import CryptoDep, RateLimit, SessionDep, SettingsDep, counter
from app.errors import FieldError, InvalidInput
from app.regions.models import Region, RegionPublic
from app.reports.models import Language
from app.schemas import BODY_ERRORS
from app.settings import Settings

router = APIRouter(tags=["subscriptions"])
LEFT = "The subscription is deleted; nothing more will be sent."
router.include_router(applying.api_router)


def subscription_out(
    session: Session, subscriber: Subscriber, invite: InviteOutcome | None = None
) -> SubscriptionOut:
    assert subscriber.id is not None
    codes = subscriptions.region_codes(session, subscriber.id)
    regions = [session.get(Region, c) for c in codes]
    return SubscriptionOut(
        channel=Channel(subscriber.channel),
        regions=[
            RegionPublic(code=r.code, name=r.name, level=r.level) for r in regions if r is not None
        ],
        language=Language(subscriber.language),
        min_severity=list(Severity)[subscriber.min_severity_rank],
        membership=Membership(subscriber.membership),
        invite=invite,
    )


@router.post(
    "/subscriptions",
    status_code=202,
    summary="Ask for alerts: a code (SMS) or a link (email) comes to confirm; push is at once",
    responses={**BODY_ERRORS, **RESPONSES},
    dependencies=[Depends(RateLimit("lookup"))],
)
def subscribe(
    data: SubscribeIn,
    request: Request,
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
    send: MessengerDep,
) -> Accepted | PushSubscriptionOut:
    """SMS and email: a code or link confirms, and the answer is the same whoever asks.
    Push (`push` in place of `contact`): no code, the browser holds its subscription; the
    answer is the subscription, with a link to apply when the member is pending."""
    send.require(data.channel)
    if data.channel is Channel.push:
        return _subscribe_push(data, session, crypto, settings, counter(request, "join"))
    if data.contact is None or data.push is not None:
        raise InvalidInput(
            [FieldError(("contact",), "missing", f"{data.channel} needs `contact` (and no `push`)")]
        )
    subscriptions.request_subscription(
        session,
        channel=data.channel,
        contact=data.contact,
        regions=data.regions,
        language=data.language.value,
        min_severity=data.min_severity,
        crypto=crypto,
        settings=settings,
        limiter=request.app.state.limiter,
        link_base=settings.public_url,
        invite_code=data.invite_code,
    )
    return Accepted()


def _subscribe_push(
    data: SubscribeIn,
    session: Session,
    crypto: Crypto,
    settings: Settings,
    joins: Callable[[], None],
) -> PushSubscriptionOut:
    if data.push is None or data.contact is not None:
        raise InvalidInput(
            [FieldError(("push",), "missing", "push needs `push` (and no `contact`)")]
        )
    confirmed = push.subscribe(
        session,
        keys=push.checked_keys(
            data.push.endpoint, data.push.keys.p256dh, data.push.keys.auth, settings=settings
        ),
        regions=data.regions,
        language=data.language.value,
        min_severity=data.min_severity,
        crypto=crypto,
        settings=settings,
        joins=joins,
        invite_code=data.invite_code,
    )
    out = subscription_out(session, confirmed.subscriber, confirmed.invite)
    link = push.apply_link(session, confirmed.subscriber, crypto=crypto, settings=settings)
    return PushSubscriptionOut(**out.model_dump(), apply_url=link)


@router.post(
    "/subscriptions/confirm",
    summary="Confirm with the code (or the email link's token)",
    responses={**BODY_ERRORS, **RESPONSES},
    dependencies=[Depends(RateLimit("lookup"))],
)
def confirm(
    data: CodeIn, session: SessionDep, crypto: CryptoDep, settings: SettingsDep
) -> SubscriptionOut:
    confirmed = subscriptions.confirm(
        session,
        channel=data.channel,
        contact=data.contact,
        code=data.code,
        crypto=crypto,
        settings=settings,
    )
    return subscription_out(session, confirmed.subscriber, confirmed.invite)


@router.post(
    "/subscriptions/unsubscribe",
    summary="Stop alerts: without `code` a code is sent; with it, the subscription is deleted",
    responses={**BODY_ERRORS, **RESPONSES},
    dependencies=[Depends(RateLimit("lookup"))],
)
def unsubscribe(
    data: LeaveIn,
    request: Request,
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
) -> Accepted:
    if data.code is None:
        subscriptions.request_code(
            session,
            purpose=CodePurpose.leave,
            channel=data.channel,
            contact=data.contact,
            crypto=crypto,
            settings=settings,
            limiter=request.app.state.limiter,
        )
        return Accepted()
    subscriptions.leave(
        session,
        channel=data.channel,
        contact=data.contact,
        code=data.code,
        crypto=crypto,
        settings=settings,
    )
    return Accepted(detail=LEFT)


@router.post(
    "/subscriptions/push/renew",
    summary="The service worker's renewed subscription (pushsubscriptionchange)",
    responses={**BODY_ERRORS, **RESPONSES},
    dependencies=[Depends(RateLimit("lookup"))],
)
def renew_push(
    data: PushRenewIn, session: SessionDep, crypto: CryptoDep, settings: SettingsDep
) -> Accepted:
    """The same answer whether the old subscription was known, and proved, or not."""
    keys = push.checked_keys(
        data.push.endpoint, data.push.keys.p256dh, data.push.keys.auth, settings=settings
    )
    push.renew(
        session, old_endpoint=data.old_endpoint, old_auth=data.old_auth, keys=keys, crypto=crypto
    )
    return Accepted()


@router.post(
    "/subscriptions/push/unsubscribe",
    summary="Stop push alerts to this browser: its subscription's endpoint deletes it",
    responses={**BODY_ERRORS, **RESPONSES},
    dependencies=[Depends(RateLimit("lookup"))],
)
def unsubscribe_push(data: PushLeaveIn, session: SessionDep, crypto: CryptoDep) -> Accepted:
    """The same answer whether the endpoint was subscribed or not."""
    push.leave(session, endpoint=data.endpoint, crypto=crypto)
    return Accepted(detail=LEFT)
