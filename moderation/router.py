"""The moderation API: /api/v1/auth, /api/v1/moderation, /api/v1/admin. Bearer tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query
from pydantic import BaseModel

from alerts.check.watch import WatchedMember
from alerts.models import AlertStatus
from app.db import aware
from app.deps import MAX_ROW_ID, CryptoDep, RateLimit, RowId, SessionDep, SettingsDep
from app.reports.models import Report, ReportStatus
from app.schemas import BODY_ERRORS
from moderation import (
    accounts,
    alert_review,
    audit,
    check_watch,
    claims,
    decisions,
    phrasebook,
    security,
    sent_back,
    service,
)
from moderation.deps import (
    Admin,
    AnyModerator,
    CurrentModerator,
    LoginAttemptsDep,
    current_moderator,
    require_admin,
)
from moderation.models import ModeratorPublic
from moderation.schemas import (
    AlertAction,
    AlertDetail,
    AlertSummary,
    DecisionOut,
    DuplicateIn,
    ModeratorCreate,
    PasswordChangeIn,
    PasswordResetOut,
    Phrase,
    PreviewIn,
    PreviewOut,
    PublishIn,
    QueueItem,
    RejectIn,
    ReportReview,
    RequestInfoIn,
    ResubmitIn,
    RetractIn,
    RoleIn,
    SendBackIn,
    TokenOut,
    TotpConfirmIn,
    TotpSetupOut,
    UpdateIn,
    UpdateOut,
)

_UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {"description": "No token, or an invalid or expired one"},
    403: {"description": "Not allowed for this role"},
}
_CONFLICT: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such report or alert"},
    409: {"description": "Wrong state, claimed by someone else, or a stale version"},
    422: {"description": "A field is missing or wrong"},
}
_BODY_CONFLICT = {**BODY_ERRORS, **_CONFLICT}

auth_router = APIRouter(prefix="/auth", tags=["auth"])


@auth_router.post(
    "/token",
    summary="Log in (OAuth2 password flow, with `otp` when two-factor is on)",
    responses={
        401: {"description": "Wrong username, password or code"},
        429: {"description": "Too many failures from this client for this account: Retry-After"},
    },
    dependencies=[Depends(RateLimit("login"))],
)
def login(
    username: Annotated[str, Form(max_length=40)],
    password: Annotated[str, Form(max_length=200)],
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
    attempts: LoginAttemptsDep,
    otp: Annotated[str | None, Form(max_length=8)] = None,
) -> TokenOut:
    result = accounts.authenticate(
        session,
        username=username,
        password=password,
        otp=otp,
        settings=settings,
        cipher=crypto.cipher,
        attempts=attempts,
    )
    moderator = result.moderator
    scope = result.scope
    token, lifetime = security.token_for(moderator, settings=settings, scope=scope)
    return TokenOut(access_token=token, expires_in=lifetime, scope=scope)


@auth_router.post(
    "/logout",
    status_code=204,
    summary="Log out: ends every token of this account, here and on other devices",
    responses=_UNAUTHORIZED,
)
def logout(moderator: AnyModerator, session: SessionDep) -> None:
    accounts.log_out(session, moderator=moderator)


@auth_router.post(
    "/password",
    summary="Change your password: ends every other token of the account; a new one is returned",
    responses={
        422: {"description": "The current password is wrong, or the new one too weak"},
        429: {"description": "Too many wrong passwords from this client: Retry-After"},
        **BODY_ERRORS,
        **_UNAUTHORIZED,
    },
    dependencies=[Depends(RateLimit("login"))],
)
def change_password(
    data: PasswordChangeIn,
    moderator: AnyModerator,
    session: SessionDep,
    settings: SettingsDep,
    attempts: LoginAttemptsDep,
) -> TokenOut:
    accounts.change_password(
        session,
        moderator=moderator,
        current=data.current_password,
        new=data.new_password,
        attempts=attempts,
    )
    scope = accounts.token_scope(moderator, settings=settings)
    token, lifetime = security.token_for(moderator, settings=settings, scope=scope)
    return TokenOut(access_token=token, expires_in=lifetime, scope=scope)


@auth_router.post(
    "/totp/setup",
    summary="Start setting up a second factor",
    responses={409: {"description": "A second factor is already set up"}, **_UNAUTHORIZED},
)
def totp_setup(moderator: AnyModerator, session: SessionDep, crypto: CryptoDep) -> TotpSetupOut:
    secret = accounts.begin_totp_setup(session, moderator=moderator, cipher=crypto.cipher)
    return TotpSetupOut(secret=secret, otpauth_uri=security.totp_uri(secret, moderator.username))


@auth_router.post(
    "/totp/confirm",
    summary="Confirm the second factor with a code",
    responses={
        409: {"description": "No set-up is waiting to be confirmed"},
        **BODY_ERRORS,
        **_UNAUTHORIZED,
    },
)
def totp_confirm(
    data: TotpConfirmIn,
    moderator: AnyModerator,
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
) -> TokenOut:
    accounts.confirm_totp(session, moderator=moderator, code=data.code, cipher=crypto.cipher)
    scope = accounts.token_scope(moderator, settings=settings)  # a reset password still first
    token, lifetime = security.token_for(moderator, settings=settings, scope=scope)
    return TokenOut(access_token=token, expires_in=lifetime, scope=scope)


# ---- the queue and decisions ----------------------------------------------------------------

router = APIRouter(
    prefix="/moderation",
    tags=["moderation"],
    dependencies=[Depends(current_moderator)],
    responses={**_UNAUTHORIZED},
)


class ClaimOut(BaseModel):
    report_id: int
    status: ReportStatus
    version: int
    claimed_by: str | None
    claim_expires_at: datetime | None


def _claim_out(report: Report, moderator_name: str | None) -> ClaimOut:
    return ClaimOut(
        report_id=report.id or 0,
        status=ReportStatus(report.status),
        version=report.version,
        claimed_by=moderator_name if report.claimed_by_id else None,
        claim_expires_at=aware(report.claim_expires_at),
    )


@router.get("/queue", summary="Reports awaiting review, most urgent first")
def get_queue(session: SessionDep) -> list[QueueItem]:
    return claims.queue(session)


@router.post(
    "/queue/next", summary="Claim the most urgent report nobody holds", responses=_CONFLICT
)
def claim_next(moderator: CurrentModerator, session: SessionDep, settings: SettingsDep) -> ClaimOut:
    report = claims.claim_next(session, moderator=moderator, settings=settings)
    return _claim_out(report, moderator.username)


@router.post(
    "/reports/{report_id}/claim", summary="Claim a report, or renew your claim", responses=_CONFLICT
)
def claim(
    report_id: RowId, moderator: CurrentModerator, session: SessionDep, settings: SettingsDep
) -> ClaimOut:
    report = claims.claim(session, report_id=report_id, moderator=moderator, settings=settings)
    return _claim_out(report, moderator.username)


@router.post(
    "/reports/{report_id}/release", summary="Give a report back to the queue", responses=_CONFLICT
)
def release(report_id: RowId, moderator: CurrentModerator, session: SessionDep) -> ClaimOut:
    return _claim_out(claims.release(session, report_id=report_id, moderator=moderator), None)


@router.get(
    "/reports/{report_id}",
    summary="Read a report you hold, with redaction help",
    responses=_CONFLICT,
)
def read_report(
    report_id: RowId,
    moderator: CurrentModerator,
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
) -> ReportReview:
    return service.review(
        session, report_id=report_id, moderator=moderator, crypto=crypto, settings=settings
    )


@router.post(
    "/reports/{report_id}/publish",
    summary="Publish the report as an alert",
    responses=_BODY_CONFLICT,
)
def publish(
    report_id: RowId,
    data: PublishIn,
    moderator: CurrentModerator,
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
) -> DecisionOut:
    return decisions.publish(
        session,
        report_id=report_id,
        moderator=moderator,
        data=data,
        crypto=crypto,
        settings=settings,
    )


@router.post("/reports/{report_id}/reject", summary="Reject the report", responses=_BODY_CONFLICT)
def reject(
    report_id: RowId,
    data: RejectIn,
    moderator: CurrentModerator,
    session: SessionDep,
    crypto: CryptoDep,
) -> DecisionOut:
    return decisions.reject(
        session, report_id=report_id, moderator=moderator, data=data, crypto=crypto
    )


@router.post(
    "/reports/{report_id}/request-info",
    summary="Ask the reporter a question",
    responses=_BODY_CONFLICT,
)
def request_info(
    report_id: RowId,
    data: RequestInfoIn,
    moderator: CurrentModerator,
    session: SessionDep,
    crypto: CryptoDep,
) -> DecisionOut:
    return decisions.request_info(
        session, report_id=report_id, moderator=moderator, data=data, crypto=crypto
    )


@router.post(
    "/reports/{report_id}/duplicate",
    summary="Add the report to an existing alert",
    responses=_BODY_CONFLICT,
)
def duplicate(
    report_id: RowId, data: DuplicateIn, moderator: CurrentModerator, session: SessionDep
) -> DecisionOut:
    return decisions.duplicate(session, report_id=report_id, moderator=moderator, data=data)


@router.post(
    "/preview",
    summary="What an alert would look like, and whom it would reach",
    responses=BODY_ERRORS,
)
def preview(data: PreviewIn, session: SessionDep, settings: SettingsDep) -> PreviewOut:
    return alert_review.preview(session, data=data, settings=settings)


@router.get("/phrasebook", summary="Common sentences of alerts, in every language")
def get_phrasebook() -> list[Phrase]:
    return phrasebook.phrases()


@router.get("/alerts", summary="Alerts, newest first")
def list_alerts(session: SessionDep, status: AlertStatus | None = None) -> list[AlertSummary]:
    return alert_review.list_alerts(session, status=status)


@router.get(
    "/alerts/{ref}", summary="One alert, with what each language receives", responses=_CONFLICT
)
def get_alert(
    ref: str, session: SessionDep, crypto: CryptoDep, settings: SettingsDep
) -> AlertDetail:
    return alert_review.detail(session, ref=ref, crypto=crypto, settings=settings)


@router.post(
    "/alerts/{ref}/approve", summary="Approve an alert (not your own)", responses=_CONFLICT
)
def approve(ref: str, moderator: CurrentModerator, session: SessionDep) -> AlertAction:
    return alert_review.approve(session, ref=ref, moderator=moderator)


@router.post(
    "/alerts/{ref}/updates",
    summary="Send news about a live alert to everyone it went to",
    responses=_BODY_CONFLICT,
    status_code=201,
)
def send_update(
    ref: str,
    data: UpdateIn,
    moderator: CurrentModerator,
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
) -> UpdateOut:
    return alert_review.send_update(
        session, ref=ref, moderator=moderator, data=data, crypto=crypto, settings=settings
    )


@router.post("/alerts/{ref}/retract", summary="Retract an alert", responses=_BODY_CONFLICT)
def retract(
    ref: str, data: RetractIn, moderator: CurrentModerator, session: SessionDep, crypto: CryptoDep
) -> AlertAction:
    return alert_review.retract(session, ref=ref, moderator=moderator, data=data, crypto=crypto)


@router.post(
    "/alerts/{ref}/send-back",
    summary="Send a pending alert back to its author with a note (not your own)",
    responses=_BODY_CONFLICT,
)
def send_back(
    ref: str, data: SendBackIn, moderator: CurrentModerator, session: SessionDep, crypto: CryptoDep
) -> AlertAction:
    return sent_back.send_back(session, ref=ref, moderator=moderator, data=data, crypto=crypto)


@router.post(
    "/alerts/{ref}/resubmit",
    summary="Your alert, changed after it was sent back: it waits for approval again",
    responses=_BODY_CONFLICT,
)
def resubmit(
    ref: str,
    data: ResubmitIn,
    moderator: CurrentModerator,
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
) -> AlertAction:
    return sent_back.resubmit(
        session, ref=ref, moderator=moderator, data=data, crypto=crypto, settings=settings
    )


@router.get("/audit", summary="The audit log (admins)", dependencies=[Depends(require_admin)])
def get_audit(
    session: SessionDep,
    before: Annotated[
        int | None, Query(ge=1, le=MAX_ROW_ID, description="Entries older than this id")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[audit.AuditEntryPublic]:
    return audit.entries(session, before_id=before, limit=limit)


# ---- accounts (admins) -------------------------------------------------------------------------

admin_router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    dependencies=[Depends(require_admin)],
    responses={**_UNAUTHORIZED},
)


@admin_router.get("/moderators", summary="All moderator accounts")
def list_moderators(session: SessionDep) -> list[ModeratorPublic]:
    return accounts.list_all(session)


@admin_router.post(
    "/moderators",
    status_code=201,
    summary="Create a moderator account",
    responses=_BODY_CONFLICT,
)
def create_moderator(data: ModeratorCreate, admin: Admin, session: SessionDep) -> ModeratorPublic:
    moderator = accounts.create(
        session, username=data.username, password=data.password, role=data.role, admin=admin
    )
    return accounts.public(moderator)


@admin_router.post(
    "/moderators/{moderator_id}/deactivate", summary="Deactivate an account", responses=_CONFLICT
)
def deactivate(moderator_id: RowId, admin: Admin, session: SessionDep) -> ModeratorPublic:
    return accounts.public(
        accounts.set_active(session, admin=admin, moderator_id=moderator_id, active=False)
    )


@admin_router.post(
    "/moderators/{moderator_id}/activate", summary="Reactivate an account", responses=_CONFLICT
)
def activate(moderator_id: RowId, admin: Admin, session: SessionDep) -> ModeratorPublic:
    return accounts.public(
        accounts.set_active(session, admin=admin, moderator_id=moderator_id, active=True)
    )


@admin_router.post(
    "/moderators/{moderator_id}/role",
    summary="Change an account's role",
    responses=_BODY_CONFLICT,
)
def change_role(
    moderator_id: RowId, data: RoleIn, admin: Admin, session: SessionDep
) -> ModeratorPublic:
    return accounts.public(
        accounts.set_role(session, admin=admin, moderator_id=moderator_id, role=data.role)
    )


@admin_router.post(
    "/moderators/{moderator_id}/reset-totp",
    summary="Remove a lost second factor",
    responses=_CONFLICT,
)
def reset_totp(moderator_id: RowId, admin: Admin, session: SessionDep) -> ModeratorPublic:
    return accounts.public(accounts.reset_totp(session, admin=admin, moderator_id=moderator_id))


@admin_router.post(
    "/moderators/{moderator_id}/reset-password",
    summary="A one-time password for a forgotten one; a new one must be chosen at login",
    responses=_CONFLICT,
)
def reset_password(moderator_id: RowId, admin: Admin, session: SessionDep) -> PasswordResetOut:
    reset = accounts.reset_password(session, admin=admin, moderator_id=moderator_id)
    return PasswordResetOut(
        moderator=accounts.public(reset.moderator), one_time_password=reset.one_time_password
    )


# ---- the client check's watch list --------------------------------------------------------


@router.get(
    "/check-watch",
    summary="Members who asked about more different numbers in a day than the check allows",
    description="Any moderator (moderators verify, suspend and remove members). Newest day "
    "first; member id, UTC day and how many different numbers, never which numbers or the "
    "contact. Each call is recorded in the audit log (`check_watch.view`).",
)
def get_check_watch(moderator: CurrentModerator, session: SessionDep) -> list[WatchedMember]:
    return check_watch.listing(session, moderator=moderator)
