"""The membership API: the verification queue (moderators) and /api/v1/moderation/members
(admins). Members are shown by id, state, how and when they were verified, and regions:
never a contact. /api/v1/invites, which organisations use too, is in organisations/router.py."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from alerts import membership
from alerts.membership import MemberRow, Reason
from alerts.models import Membership
from app.deps import CryptoDep, RowId, SessionDep
from app.schemas import BODY_ERRORS, Strict
from moderation import members
from moderation.deps import Admin, CurrentModerator, current_moderator, require_admin

_UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {"description": "No token, or an invalid or expired one"},
    403: {"description": "Not allowed for this role"},
}
_CONFLICT: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such member"},
    409: {"description": "The member is not in a state this applies to"},
    422: {"description": "A field is missing or wrong"},
}


class ReasonIn(Strict):
    reason: Reason = Field(description="Why: a fixed list, as the audit log keeps no free text")


class MemberOut(BaseModel):
    id: int
    channel: str
    membership: Membership
    confirmed: bool
    created_at: datetime
    verified_at: datetime | None
    verified_how: str | None
    verified_by: str | None = Field(description='"moderator:3": who verified them')
    regions: list[str] = Field(description="Region codes")


def _out(row: MemberRow) -> MemberOut:
    return MemberOut(**row.__dict__)


# The verification queue (pending, verify, reject) is every moderator's work; the rest is
# admins'. Each route names its own: `Depends(require_admin)` or an `Admin` parameter.
router = APIRouter(
    prefix="/moderation/members",
    tags=["membership"],
    dependencies=[Depends(current_moderator)],
    responses={**_UNAUTHORIZED},
)


class ApplicationOut(BaseModel):
    id: int = Field(description="The member's id: verify or reject by it")
    received_at: datetime
    regions: list[str] = Field(description="Region codes")
    language: str
    evidence: str = Field(description="What the applicant wrote; deleted at the decision")
    link: str | None = Field(description="A link to their ad, if they gave one")


@router.get(
    "/pending",
    summary="The verification queue: applications waiting, oldest first (each read is audited)",
)
def pending_applications(
    moderator: CurrentModerator, session: SessionDep, crypto: CryptoDep
) -> list[ApplicationOut]:
    return [
        ApplicationOut(
            id=a.member_id,
            received_at=a.received_at,
            regions=a.regions,
            language=a.language,
            evidence=a.evidence,
            link=a.link,
        )
        for a in members.waiting(session, moderator=moderator, cipher=crypto.cipher)
    ]


@router.get(
    "", summary="Members, newest first (never their contact)", dependencies=[Depends(require_admin)]
)
def list_members(
    session: SessionDep,
    state: Annotated[Membership | None, Query(description="Only members in this state")] = None,
) -> list[MemberOut]:
    return [_out(row) for row in membership.list_members(session, state=state)]


@router.post(
    "/{member_id}/verify",
    summary="Verify a pending member (way: application if one was waiting, else moderator);"
    " the application's evidence is deleted and the member is told",
    responses=_CONFLICT,
)
def verify(
    member_id: RowId, moderator: CurrentModerator, session: SessionDep, crypto: CryptoDep
) -> MemberOut:
    return _out(
        members.verify(session, moderator=moderator, member_id=member_id, cipher=crypto.cipher)
    )


@router.post(
    "/{member_id}/reject",
    summary="Turn down a pending member's application: its evidence is deleted, the member"
    " stays pending and is told (without reasons)",
    responses=_CONFLICT,
)
def reject(
    member_id: RowId, moderator: CurrentModerator, session: SessionDep, crypto: CryptoDep
) -> MemberOut:
    return _out(
        members.reject(session, moderator=moderator, member_id=member_id, cipher=crypto.cipher)
    )


@router.post(
    "/{member_id}/suspend",
    summary="Suspend a member: no alerts, no check results",
    responses={**BODY_ERRORS, **_CONFLICT},
)
def suspend(member_id: RowId, data: ReasonIn, admin: Admin, session: SessionDep) -> MemberOut:
    return _out(members.suspend(session, moderator=admin, member_id=member_id, reason=data.reason))


@router.post("/{member_id}/reinstate", summary="Lift a member's suspension", responses=_CONFLICT)
def reinstate(member_id: RowId, admin: Admin, session: SessionDep) -> MemberOut:
    return _out(members.reinstate(session, moderator=admin, member_id=member_id))


@router.post(
    "/{member_id}/remove",
    status_code=204,
    summary="Remove a member: the subscription is deleted, as STOP does",
    responses={**BODY_ERRORS, **_CONFLICT},
)
def remove(member_id: RowId, data: ReasonIn, admin: Admin, session: SessionDep) -> None:
    members.remove(session, moderator=admin, member_id=member_id, reason=data.reason)
