"""For admins: members by id, state, how and when they were verified, and regions (never a
contact), with verify, suspend, reinstate and remove. Verifying, suspending and removing
ask first (confirm.py); each is in the audit log with a fixed reason code."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session
from starlette.datastructures import FormData

from alerts import membership as membership_service
from alerts.membership import Reason
from alerts.models import Membership
from app.crypto import FieldCipher
from app.deps import CryptoDep, SessionDep
from app.errors import Conflict, NotFound
from app.web import refuse
from moderation import members
from moderation.models import Moderator
from moderation.web.confirm import Question, ask, is_confirmed
from moderation.web.session import (
    FormDep,
    ModSession,
    ModSessionDep,
    admin_only,
    redirect,
    render,
    row_id,
)

router = APIRouter(prefix="/mod")

REASONS = {
    Reason.passed_on_alerts: "Passed alerts on",
    Reason.not_a_sex_worker: "Not a sex worker",
    Reason.abuse: "Abuse of the service",
    Reason.other: "Other",
}

# What the members page asks before an action: (title, what it does, the button).
QUESTIONS: dict[str, tuple[str, str, str]] = {
    "verify": (
        "Verify member {}?",
        "They receive alerts for their regions and can check numbers from now on.",
        "Verify",
    ),
    "suspend": (
        "Suspend member {}?",
        "They receive no alerts and no check results until an admin reinstates them; messages"
        " still waiting for them are cancelled.",
        "Suspend",
    ),
    "remove": (
        "Remove member {}?",
        "Their subscription is deleted, as STOP does: this cannot be undone. They may sign up"
        " again, and are then pending.",
        "Remove",
    ),
}


def question(action: str, member_id: int, reason: Reason | None = None) -> Question | None:
    if action not in QUESTIONS:
        return None
    title, detail, button = QUESTIONS[action]
    if reason is not None and action != "verify":
        detail = f"Reason: {REASONS[reason].lower()}. {detail}"
    return Question(
        title=title.format(member_id),
        detail=detail,
        button=button,
        cancel="/mod/members",
        submit=("action", action),
        danger=action != "verify",
    )


def _page(
    request: Request,
    ms: ModSession,
    session: Session,
    state: Membership | None,
    *,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    return render(
        request,
        ms,
        "mod_members.html",
        status=status,
        members=membership_service.list_members(session, state=state),
        state=state,
        states=[s for s in Membership if s is not Membership.removed],
        reasons=REASONS,
        question=question,
        error=error,
    )


@router.get("/members")
def members_page(
    request: Request, ms: ModSessionDep, session: SessionDep, state: str = ""
) -> HTMLResponse:
    admin_only(ms)
    chosen = Membership(state) if state in Membership.__members__ else None
    return _page(request, ms, session, chosen)


def _reason(form: FormData) -> Reason:
    typed = str(form.get("reason", ""))
    if typed not in Reason.__members__:
        raise Conflict("Choose a reason from the list.")
    return Reason(typed)


def _act(
    session: Session,
    admin: Moderator,
    action: str,
    target: int,
    form: FormData,
    cipher: FieldCipher,
) -> None:
    if action == "verify":
        members.verify(session, moderator=admin, member_id=target, cipher=cipher)
    elif action == "suspend":
        members.suspend(session, moderator=admin, member_id=target, reason=_reason(form))
    elif action == "reinstate":
        members.reinstate(session, moderator=admin, member_id=target)
    elif action == "remove":
        members.remove(session, moderator=admin, member_id=target, reason=_reason(form))
    else:
        raise Conflict("Unknown action.")


@router.post("/members")
def members_action(
    request: Request, ms: ModSessionDep, form: FormDep, session: SessionDep, crypto: CryptoDep
) -> Response:
    admin_only(ms)
    action = str(form.get("action", ""))
    target = row_id(form.get("member_id"))
    try:
        if target is None or target == 0:
            raise NotFound("No such member.")
        _act(session, ms.moderator, action, target, form, crypto.cipher)
    except (Conflict, NotFound) as exc:
        refuse(_page(request, ms, session, None, error=exc.message, status=422))
    asked = question(action, target, _reason(form) if action in {"suspend", "remove"} else None)
    if asked is not None and not is_confirmed(form):
        ask(request, ms, form, asked)  # and what the action wrote is undone
    return redirect(request, ms, "/mod/members?done=saved")
