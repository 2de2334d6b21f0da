"""The anonymous intake API. Receipt codes travel in bodies and headers, never in URLs."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header

from app.deps import CryptoDep, RateLimit, SessionDep, SettingsDep
from app.reports import service
from app.reports.models import (
    AddInformationIn,
    ReceiptCodeIn,
    ReplyIn,
    ReportCreate,
    ReportReceipt,
    ReportStatus,
    ReportStatusPublic,
)
from app.schemas import BODY_ERRORS

router = APIRouter(prefix="/reports", tags=["reports"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    413: {"description": "The body is larger than 64 KB"},
    422: {"description": "A field is missing or wrong; `detail` names each field and problem"},
    429: {"description": "Too many requests from this client; see Retry-After"},
}
_LOOKUP_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No report matches this receipt code"},
    **_ERRORS,
}
_BODY_LOOKUP_ERRORS = {**BODY_ERRORS, **_LOOKUP_ERRORS}


@router.post(
    "",
    status_code=201,
    summary="Submit a report anonymously",
    responses={**BODY_ERRORS, **_ERRORS},
    dependencies=[Depends(RateLimit("submit"))],
)
def submit_report(
    data: ReportCreate, session: SessionDep, crypto: CryptoDep, settings: SettingsDep
) -> ReportReceipt:
    _, code = service.submit(
        session, data=data, crypto=crypto, default_region=settings.default_country
    )
    return ReportReceipt(receipt_code=code, status=ReportStatus.submitted)


@router.get(
    "/status",
    summary="A report's status and any questions from the moderators",
    responses=_LOOKUP_ERRORS,
    dependencies=[Depends(RateLimit("lookup"))],
)
def report_status(
    session: SessionDep,
    crypto: CryptoDep,
    receipt_code: Annotated[str, Header(alias="X-Receipt-Code", max_length=40)],
) -> ReportStatusPublic:
    report = service.find_by_receipt(session, crypto=crypto, receipt_code=receipt_code)
    return service.status_of(session, report=report, cipher=crypto.cipher)


@router.post(
    "/reply",
    summary="Answer a moderator's question",
    responses={409: {"description": "There is no open question"}, **_BODY_LOOKUP_ERRORS},
    dependencies=[Depends(RateLimit("lookup"))],
)
def reply_to_question(data: ReplyIn, session: SessionDep, crypto: CryptoDep) -> ReportStatusPublic:
    report = service.find_by_receipt(session, crypto=crypto, receipt_code=data.receipt_code)
    service.reply(session, report=report, message=data.message, cipher=crypto.cipher)
    return service.status_of(session, report=report, cipher=crypto.cipher)


@router.post(
    "/add",
    summary="Add information to a report that is still open, without being asked",
    responses={
        409: {"description": "The report is closed (decided or withdrawn), or has 10 additions"},
        **_BODY_LOOKUP_ERRORS,
    },
    dependencies=[Depends(RateLimit("lookup"))],
)
def add_information(
    data: AddInformationIn, session: SessionDep, crypto: CryptoDep
) -> ReportStatusPublic:
    report = service.find_by_receipt(session, crypto=crypto, receipt_code=data.receipt_code)
    service.add_information(session, report=report, message=data.message, cipher=crypto.cipher)
    return service.status_of(session, report=report, cipher=crypto.cipher)


@router.post(
    "/withdraw",
    summary="Withdraw a report before it is published; its text is deleted at once",
    responses={409: {"description": "Already published or withdrawn"}, **_BODY_LOOKUP_ERRORS},
    dependencies=[Depends(RateLimit("lookup"))],
)
def withdraw_report(
    data: ReceiptCodeIn, session: SessionDep, crypto: CryptoDep
) -> ReportStatusPublic:
    report = service.find_by_receipt(session, crypto=crypto, receipt_code=data.receipt_code)
    service.withdraw(session, report=report)
    return service.status_of(session, report=report, cipher=crypto.cipher)


@router.post(
    "/police-consent/withdraw",
    summary="Take back what you allowed the police, until it has been shared",
    responses={409: {"description": "Shared with the police already"}, **_BODY_LOOKUP_ERRORS},
    dependencies=[Depends(RateLimit("lookup"))],
)
def withdraw_police_consent(
    data: ReceiptCodeIn, session: SessionDep, crypto: CryptoDep
) -> ReportStatusPublic:
    report = service.find_by_receipt(session, crypto=crypto, receipt_code=data.receipt_code)
    service.withdraw_police_consent(session, report=report)
    return service.status_of(session, report=report, cipher=crypto.cipher)
