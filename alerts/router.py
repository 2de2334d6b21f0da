"""The alerts API: subscriptions, members and the client check."""

from __future__ import annotations

from typing import Annotated, Any, NoReturn

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from alerts.check import members
from alerts.check.service import CheckIn, CheckResult, check_number, limit_key
from alerts.delivery.messenger import Messenger
from alerts.models import Channel, Severity, Subscriber
from alerts.subscriptions import service as subscriptions
from app.deps import CryptoDep, RateLimit, SessionDep, SettingsDep, in_transaction
from app.errors import Unauthorized
from app.regions.models import RegionPublic
from app.reports.models import Language

ACCEPTED = "If this number or address can be used, a message is on its way."
_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"description": "A field is missing or wrong; `detail` names each field and problem"},
    429: {"description": "Too many requests from this client"},
    503: {"description": "The code could not be sent right now"},
}


def messenger(request: Request) -> Messenger:
    found: Messenger = request.app.state.messenger
    return found


MessengerDep = Annotated[Messenger, Depends(messenger)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ContactIn(Strict):
    channel: Channel
    contact: str = Field(
        min_length=3, max_length=254, description="A mobile number, or an email address"
    )


class SubscribeIn(ContactIn):
    regions: list[str] = Field(min_length=1, max_length=20, description="Region codes, any level")
    language: Language = Language.nl
    min_severity: Severity | None = Field(
        default=None, description="Only alerts at least this severe"
    )


class CodeIn(ContactIn):
    code: str = Field(min_length=4, max_length=64)


class LeaveIn(ContactIn):
    code: str | None = Field(
        default=None, max_length=64, description="Leave out to get a code first"
    )


class Accepted(BaseModel):
    detail: str = ACCEPTED


class SubscriptionOut(BaseModel):
    channel: Channel
    regions: list[RegionPublic]
    language: Language
    min_severity: Severity


class MemberToken(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 (OAuth2's token type, not a secret)
    expires_in: int


router = APIRouter(tags=["subscriptions"])


def _commit_and_raise(session: Session, exc: Exception) -> NoReturn:
    session.commit()  # wrong codes must add up even though this request fails
    raise exc


def subscription_out(session: Session, subscriber: Subscriber) -> SubscriptionOut:
    from app.regions.models import Region

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
    )


@router.post(
    "/subscriptions",
    status_code=202,
    summary="Ask for alerts: a code (SMS) or a link (email) comes to confirm",
    responses=_ERRORS,
    dependencies=[Depends(RateLimit("lookup"))],
)
def subscribe(
    data: SubscribeIn,
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
    send: MessengerDep,
) -> Accepted:
    send.require(data.channel)
    outgoing = subscriptions.request_subscription(
        session,
        channel=data.channel,
        contact=data.contact,
        regions=data.regions,
        language=data.language.value,
        min_severity=data.min_severity,
        crypto=crypto,
        settings=settings,
        link_base=settings.public_url,
    )
    send.send_now(outgoing)
    return Accepted()


@router.post(
    "/subscriptions/confirm",
    summary="Confirm with the code (or the email link's token)",
    responses=_ERRORS,
    dependencies=[Depends(RateLimit("lookup"))],
)
def confirm(
    data: CodeIn, session: SessionDep, crypto: CryptoDep, settings: SettingsDep
) -> SubscriptionOut:
    try:
        subscriber = subscriptions.confirm(
            session,
            channel=data.channel,
            contact=data.contact,
            code=data.code,
            crypto=crypto,
            settings=settings,
        )
    except subscriptions.CodeRejected as exc:
        _commit_and_raise(session, exc)
    return subscription_out(session, subscriber)


@router.post(
    "/subscriptions/unsubscribe",
    summary="Stop alerts: without `code` a code is sent; with it, the subscription is deleted",
    responses=_ERRORS,
    dependencies=[Depends(RateLimit("lookup"))],
)
def unsubscribe(
    data: LeaveIn, session: SessionDep, crypto: CryptoDep, settings: SettingsDep, send: MessengerDep
) -> Accepted:
    if data.code is None:
        outgoing = subscriptions.request_leave(
            session, channel=data.channel, contact=data.contact, crypto=crypto, settings=settings
        )
        if outgoing is not None:
            send.send_now(outgoing)
        return Accepted()
    try:
        subscriptions.leave(
            session,
            channel=data.channel,
            contact=data.contact,
            code=data.code,
            crypto=crypto,
            settings=settings,
        )
    except subscriptions.CodeRejected as exc:
        _commit_and_raise(session, exc)
    return Accepted(detail="The subscription is deleted; nothing more will be sent.")


# ---- members and the client check -------------------------------------------------------------


@router.post(
    "/members/login",
    status_code=202,
    summary="A sign-in code for the client check, sent to a subscribed number or address",
    responses=_ERRORS,
    dependencies=[Depends(RateLimit("lookup"))],
)
def member_login(
    data: ContactIn,
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
    send: MessengerDep,
) -> Accepted:
    send.require(data.channel)
    outgoing = subscriptions.request_member_code(
        session, channel=data.channel, contact=data.contact, crypto=crypto, settings=settings
    )
    if outgoing is not None:
        send.send_now(outgoing)
    return Accepted()


@router.post(
    "/members/verify",
    summary="Exchange the sign-in code for a short-lived member token",
    responses=_ERRORS,
    dependencies=[Depends(RateLimit("lookup"))],
)
def member_verify(
    data: CodeIn, session: SessionDep, crypto: CryptoDep, settings: SettingsDep
) -> MemberToken:
    try:
        subscriber = subscriptions.verify_member(
            session,
            channel=data.channel,
            contact=data.contact,
            code=data.code,
            crypto=crypto,
            settings=settings,
        )
    except subscriptions.CodeRejected as exc:
        _commit_and_raise(session, exc)
    assert subscriber.id is not None
    token, lifetime = members.issue(subscriber.id, settings)
    return MemberToken(access_token=token, expires_in=lifetime)


member_bearer = HTTPBearer(
    auto_error=False, description="A member token from /api/v1/members/verify"
)


async def checker_claim(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(member_bearer)],
) -> int | None:
    """Who is checking, as their token claims: a member (required unless
    REDFLAG_CHECK_ACCESS=open). That the member is still subscribed is checked with the
    check itself, in the same transaction."""
    if credentials is not None:
        return members.claimed_id(credentials.credentials, settings)
    if settings.check_access == "open":
        return None
    raise Unauthorized("Checking numbers is for members: sign in at /api/v1/members/login.")


@router.post(
    "/check",
    summary="Is this number named in a live alert?",
    responses={401: {"description": "A member token is needed"}, **_ERRORS},
    dependencies=[Depends(RateLimit("lookup"))],
)
async def check(
    data: CheckIn,
    request: Request,
    crypto: CryptoDep,
    settings: SettingsDep,
    member_id: Annotated[int | None, Depends(checker_claim)],
) -> CheckResult:
    def work(session: Session) -> CheckResult:
        if member_id is not None:
            members.confirmed(session, member_id)
        request.app.state.limiter.hit("check", limit_key(crypto.index, member_id, "web"))
        return check_number(session, number=data.number, crypto=crypto, settings=settings)

    return await in_transaction(request, work)
