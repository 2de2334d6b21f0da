"""The alerts API: subscriptions, members and the client check, and Twilio's webhooks."""

from __future__ import annotations

from typing import Annotated, Any, NoReturn

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from alerts import commands, delivery, members, subscriptions
from alerts.check import CheckIn, CheckResult, check_number, limit_key
from alerts.messenger import Messenger
from alerts.models import Channel, ProcessedWebhook, Severity, Subscriber
from alerts.providers import OPTED_OUT
from app.db import utcnow
from app.deps import CryptoDep, RateLimit, SessionDep, SettingsDep, in_transaction
from app.errors import Forbidden, Unauthorized
from app.regions.models import RegionPublic
from app.reports.models import Language
from app.settings import Settings

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


# ---- Twilio's webhooks --------------------------------------------------------------------

webhooks = APIRouter(prefix="/webhooks/twilio", tags=["webhooks"])


async def twilio_params(request: Request) -> dict[str, str]:
    """The POSTed parameters, if Twilio signed them for this URL; 403 otherwise."""
    settings: Settings = request.app.state.settings
    form = await request.form()
    params = {key: str(value) for key, value in form.multi_items()}
    url = settings.public_url.rstrip("/") + request.url.path
    signature = request.headers.get("x-twilio-signature", "")
    token = settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else ""
    if not token or not signature or not RequestValidator(token).validate(url, params, signature):
        raise Forbidden("The request is not signed by Twilio for this address.")
    return params


TwilioParams = Annotated[dict[str, str], Depends(twilio_params)]


def twiml(text: str | None) -> Response:
    reply = MessagingResponse()
    if text:
        reply.message(text)
    return Response(str(reply), media_type="application/xml")


@webhooks.post(
    "/sms", summary="Inbound SMS: JOIN, STOP, HELP, CHECK, LANG", response_class=Response
)
def inbound_sms(
    params: TwilioParams,
    request: Request,
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
) -> Response:
    message_id = params.get("MessageSid") or params.get("SmsSid")
    if message_id:
        key = crypto.index.digest("inbound-sms", message_id)
        if session.get(ProcessedWebhook, key) is not None:
            return twiml(None)  # a replay: already handled, and already answered
        session.add(ProcessedWebhook(key_hash=key, received_at=utcnow()))
        session.flush()
    reply = commands.handle(
        session,
        sender=params.get("From", ""),
        body=params.get("Body", ""),
        crypto=crypto,
        settings=settings,
        limiter=request.app.state.limiter,
    )
    return twiml(reply)


# Twilio's error codes on a status callback that mean "this number cannot receive SMS".
_CANNOT_RECEIVE = {"30005", "30006"}


@webhooks.post(
    "/status", status_code=204, summary="Delivery reports for sent SMS", response_class=Response
)
def status_callback(params: TwilioParams, session: SessionDep) -> Response:
    provider_id = params.get("MessageSid", "")
    code = params.get("ErrorCode") or None
    found = delivery.apply_status(
        session, provider_id=provider_id, status=params.get("MessageStatus", ""), error_code=code
    )
    if found is not None and found.subscriber_id is not None and code is not None:
        subscriber = session.get(Subscriber, found.subscriber_id)
        if subscriber is not None and code in OPTED_OUT:
            subscriptions.remove(session, subscriber=subscriber)
        elif subscriber is not None and code in _CANNOT_RECEIVE:
            subscriber.unreachable_at = utcnow()
            session.add(subscriber)
    return Response(status_code=204)
