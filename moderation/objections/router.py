"""The objections' API: anyone objects and reads the answer with the case code (in a
header, never a URL); admins work the queue."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request

from app.deps import CryptoDep, RateLimit, RowId, SessionDep, SettingsDep
from app.schemas import BODY_ERRORS
from moderation.deps import Admin, require_admin
from moderation.objections import service
from moderation.objections.models import (
    CaseReceipt,
    CaseStatus,
    DecisionIn,
    ObjectionIn,
    ObjectionItem,
    ObjectionStatus,
)

router = APIRouter(prefix="/objections", tags=["objections"])

_LIMITS: dict[int | str, dict[str, Any]] = {
    429: {"description": "Too many from this client, or about this identifier: Retry-After"}
}


@router.post(
    "",
    status_code=201,
    summary="Object to being listed: the same answer whether or not the identifier is",
    responses={
        **BODY_ERRORS,
        422: {"description": "A field is missing or wrong; `detail` names it"},
        **_LIMITS,
    },
    dependencies=[Depends(RateLimit("submit"))],
)
def object_to_listing(
    data: ObjectionIn,
    request: Request,
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
) -> CaseReceipt:
    code, _ = service.submit(
        session, data=data, crypto=crypto, settings=settings, limiter=request.app.state.limiter
    )
    return CaseReceipt(case_code=code, status=ObjectionStatus.received)


@router.get(
    "/status",
    summary="An objection's status, and the answer once decided",
    responses={404: {"description": "No objection matches this case code"}, **_LIMITS},
    dependencies=[Depends(RateLimit("lookup"))],
)
def objection_status(
    session: SessionDep,
    crypto: CryptoDep,
    case_code: Annotated[str, Header(alias="X-Case-Code", max_length=40)],
) -> CaseStatus:
    return service.status_of(service.find(session, crypto=crypto, typed=case_code), crypto=crypto)


admin_router = APIRouter(
    prefix="/moderation/objections",
    tags=["objections"],
    dependencies=[Depends(require_admin)],
    responses={
        401: {"description": "No token, or an invalid or expired one"},
        403: {"description": "Not an admin"},
    },
)


@admin_router.get("", summary="Objections: undecided first, with where each is listed")
def objections_queue(admin: Admin, session: SessionDep, crypto: CryptoDep) -> list[ObjectionItem]:
    return service.queue(session, crypto=crypto, admin=admin)


@admin_router.post(
    "/{objection_id}/decide",
    summary="Decide: upheld or partly upheld takes the identifier out of its alerts and"
    " corrects live ones (upheld retracts one that named nothing else); rejected changes nothing",
    responses={
        **BODY_ERRORS,
        404: {"description": "No such objection"},
        409: {"description": "Decided already"},
        422: {"description": "A field is missing or wrong"},
    },
)
def decide(
    objection_id: RowId, data: DecisionIn, admin: Admin, session: SessionDep, crypto: CryptoDep
) -> CaseStatus:
    decided = service.decide(
        session,
        objection_id=objection_id,
        outcome=data.outcome,
        answer=data.reason,
        admin=admin,
        crypto=crypto,
    )
    return service.status_of(decided.objection, crypto=crypto)
