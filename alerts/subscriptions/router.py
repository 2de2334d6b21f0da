"""The subscriptions API: subscribe, confirm, and leave."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlmodel import Session

from alerts.deps import MessengerDep
from alerts.membership import InviteOutcome
from alerts.models import Channel, CodePurpose, Membership, Severity, Subscriber
from alerts.subscriptions import applying
from alerts.subscriptions import service as subscriptions
from alerts.subscriptions.schemas import (
    RESPONSES,
    Accepted,
    CodeIn,
    LeaveIn,
    SubscribeIn,
    SubscriptionOut,
)
from app.deps import CryptoDep, RateLimit, SessionDep, SettingsDep
from app.regions.models import Region, RegionPublic
from app.reports.models import Language
from app.schemas import BODY_ERRORS

router = APIRouter(tags=["subscriptions"])
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
    summary="Ask for alerts: a code (SMS) or a link (email) comes to confirm",
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
) -> Accepted:
    send.require(data.channel)
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
    return Accepted(detail="The subscription is deleted; nothing more will be sent.")
