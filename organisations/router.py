"""The organisations' API: /api/v1/org for an organisation's people (bearer tokens, as
moderators log in), and /api/v1/invites, which moderators and organisations share."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from alerts.check.schemas import CheckIn, CheckResult
from alerts.deps import MessengerDep
from alerts.models import Channel
from alerts.subscriptions.schemas import Accepted
from app.db import aware
from app.deps import CryptoDep, SessionDep, SettingsDep
from app.errors import FieldError, InvalidInput
from app.reports.models import ReportReceipt, ReportStatus
from app.schemas import BODY_ERRORS
from moderation.deps import AnyModerator, FullScopeAccount
from organisations import digest, service
from organisations.deps import OrgPersonDep
from organisations.digest import DigestAlert
from organisations.models import InviteCounts, OrganisationOut
from organisations.schemas import (
    AlertEmailIn,
    InviteIn,
    InviteOut,
    ThirdPartyReportIn,
)

_UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {"description": "No token, or an invalid or expired one"},
    403: {
        "description": "Not an organisation's account, or the organisation is not active;"
        " or two-factor authentication is not set up yet"
    },
    429: {"description": "Too many requests from this account; see Retry-After"},
}
_INPUT: dict[int | str, dict[str, Any]] = {
    **BODY_ERRORS,
    422: {"description": "A field is missing or wrong; `detail` names each field and problem"},
}


class AccountLimit:
    """A route dependency counting the request against one rate-limit bucket, keyed on the
    account (its people share an office's address, and a program may run anywhere)."""

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket

    def __call__(self, request: Request, account: AnyModerator) -> None:
        request.app.state.limiter.hit(self.bucket, service.limit_key(account))


invites_router = APIRouter(prefix="/invites", tags=["membership"], responses=_UNAUTHORIZED)


@invites_router.post(
    "",
    status_code=201,
    summary="A single-use invite code: whoever signs up with it is verified at once"
    " (a moderator's, or in the name of an organisation)",
    responses=BODY_ERRORS,
    dependencies=[Depends(AccountLimit("lookup"))],
)
def issue_invite(
    account: FullScopeAccount,
    session: SessionDep,
    crypto: CryptoDep,
    data: InviteIn | None = None,
) -> InviteOut:
    code, invite = service.invite_for(
        session, account=account, index=crypto.index, valid_days=(data or InviteIn()).valid_days
    )
    return InviteOut(code=code, expires_at=aware(invite.expires_at))


router = APIRouter(prefix="/org", tags=["organisations"], responses=_UNAUTHORIZED)


@router.get(
    "",
    summary="Your organisation: its name, regions and invite codes' counts",
    dependencies=[Depends(AccountLimit("lookup"))],
)
def own_organisation(org: OrgPersonDep, session: SessionDep) -> OrganisationOut:
    return service.profile(session, org.organisation)


class DigestOut(BaseModel):
    regions: list[str] = Field(description="Your organisation's regions, by name")
    alerts: list[DigestAlert] = Field(description="Live alerts, newest incident first")


@router.get(
    "/digest",
    summary="The live alerts for your regions, identifiers masked as in an SMS: what the"
    " printable digest (/org/digest) shows",
    dependencies=[Depends(AccountLimit("lookup"))],
)
def digest_alerts(
    org: OrgPersonDep, session: SessionDep, crypto: CryptoDep, settings: SettingsDep
) -> DigestOut:
    found = digest.live(
        session,
        organisation_id=org.organisation_id,
        cipher=crypto.cipher,
        masking=settings.identifier_masking,
    )
    return DigestOut(regions=found.regions, alerts=found.alerts)


@router.get(
    "/invites",
    summary="How many of your organisation's invite codes were used, expired or are open"
    " (never who used one)",
    dependencies=[Depends(AccountLimit("lookup"))],
)
def invite_counts(org: OrgPersonDep, session: SessionDep) -> InviteCounts:
    return service.invite_counts(session, org.organisation_id)


@router.post(
    "/reports",
    status_code=201,
    summary="Send a report for a worker who agreed to it: marked third-party in the queue;"
    " follow it with its receipt code at /api/v1/reports/status",
    responses=_INPUT,
    dependencies=[Depends(AccountLimit("submit"))],
)
def submit_report(
    data: ThirdPartyReportIn,
    org: OrgPersonDep,
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
) -> ReportReceipt:
    code = service.submit_report(
        session,
        person=org.person,
        data=data,
        crypto=crypto,
        default_region=settings.default_country,
    )
    return ReportReceipt(receipt_code=code, status=ReportStatus.submitted)


@router.post(
    "/check",
    summary="Is this number named in a live alert? (as a member's check answers)",
    responses=_INPUT,
    dependencies=[Depends(AccountLimit("check"))],
)
def check(
    data: CheckIn,
    request: Request,
    org: OrgPersonDep,
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
) -> CheckResult:
    return service.check(
        session,
        organisation=org.organisation,
        person=org.person,
        number=data.number,
        crypto=crypto,
        settings=settings,
        limiter=request.app.state.limiter,
    )


@router.post(
    "/alert-email",
    status_code=202,
    summary="Your regions' alerts by email: a confirmation link goes to the address, and"
    " alerts follow once it is opened (the same answer whatever the address)",
    responses=_INPUT,
    dependencies=[Depends(AccountLimit("lookup"))],
)
def alert_email(
    data: AlertEmailIn,
    request: Request,
    org: OrgPersonDep,
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
    send: MessengerDep,
) -> Accepted:
    if not send.offers(Channel.email):
        raise InvalidInput(
            [FieldError(("email",), "channel_unavailable", "email is not offered here")]
        )
    service.request_alert_email(
        session,
        organisation=org.organisation,
        person=org.person,
        email=data.email,
        language=data.language.value,
        crypto=crypto,
        settings=settings,
        limiter=request.app.state.limiter,
    )
    return Accepted()
