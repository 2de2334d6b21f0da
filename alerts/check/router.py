"""The client check's API: a member signs in with a code, then checks numbers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from alerts.check import members
from alerts.check.schemas import CheckIn, CheckResult, MemberToken
from alerts.check.service import check_number, limit_key
from alerts.deps import MessengerDep
from alerts.models import CodePurpose
from alerts.subscriptions import service as subscriptions
from alerts.subscriptions.schemas import RESPONSES, Accepted, CodeIn, ContactIn
from app.deps import CryptoDep, RateLimit, SessionDep, SettingsDep, client_address
from app.errors import Unauthorized
from app.schemas import BODY_ERRORS

router = APIRouter(tags=["subscriptions"])


@router.post(
    "/members/login",
    status_code=202,
    summary="A sign-in code for the client check, sent to a subscribed number or address",
    responses={**BODY_ERRORS, **RESPONSES},
    dependencies=[Depends(RateLimit("lookup"))],
)
def member_login(
    data: ContactIn,
    request: Request,
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
    send: MessengerDep,
) -> Accepted:
    send.require(data.channel)
    subscriptions.request_code(
        session,
        purpose=CodePurpose.login,
        channel=data.channel,
        contact=data.contact,
        crypto=crypto,
        settings=settings,
        limiter=request.app.state.limiter,
    )
    return Accepted()


@router.post(
    "/members/verify",
    summary="Exchange the sign-in code for a short-lived member token",
    responses={**BODY_ERRORS, **RESPONSES},
    dependencies=[Depends(RateLimit("lookup"))],
)
def member_verify(
    data: CodeIn, session: SessionDep, crypto: CryptoDep, settings: SettingsDep
) -> MemberToken:
    token, lifetime = members.sign_in(
        session,
        channel=data.channel,
        contact=data.contact,
        code=data.code,
        crypto=crypto,
        settings=settings,
    )
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
    responses={
        401: {"description": "A member token is needed"},
        403: {"description": "The member is not verified yet, or suspended"},
        **BODY_ERRORS,
        **RESPONSES,
        429: {
            "description": "Too many checks; or, for a member, a new number after "
            "REDFLAG_CHECK_DAILY_NUMBERS different ones today (numbers checked today still "
            "answer): Retry-After"
        },
    },
    dependencies=[Depends(RateLimit("lookup"))],
)
def check(
    data: CheckIn,
    request: Request,
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
    member_id: Annotated[int | None, Depends(checker_claim)],
) -> CheckResult:
    if member_id is not None:
        members.require_verified(members.confirmed(session, member_id))
    who = limit_key(member_id=member_id, client=client_address(request))
    request.app.state.limiter.hit("check", who)
    return check_number(
        session,
        number=data.number,
        member_id=member_id,
        crypto=crypto,
        settings=settings,
        limiter=request.app.state.limiter,
    )
