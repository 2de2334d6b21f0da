"""The verification queue: pending members' applications, oldest first, with Verify and
Reject (each asks first: confirm.py). Every moderator works it; each application shown is
audited as read, and its evidence is deleted at the decision."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.deps import CryptoDep, SessionDep
from app.errors import Conflict, NotFound
from app.web import refuse
from moderation import members
from moderation.web.confirm import Question, ask, is_confirmed
from moderation.web.session import FormDep, ModSessionDep, redirect, render, row_id

router = APIRouter(prefix="/mod")
PATH = "/mod/applications"

# What each decision asks first: (title, what it does, the button).
QUESTIONS: dict[str, tuple[str, str, str]] = {
    "verify": (
        "Verify member {}?",
        "They receive alerts for their regions and can check numbers from now on, and are told"
        " so. The application is deleted.",
        "Verify",
    ),
    "reject": (
        "Reject member {}'s application?",
        "They stay pending (no alerts, no checks) and get a short, kind message without"
        " reasons. The application is deleted; they may apply again or use an invite code.",
        "Reject",
    ),
}


def question(action: str, member_id: int) -> Question | None:
    if action not in QUESTIONS:
        return None
    title, detail, button = QUESTIONS[action]
    return Question(
        title=title.format(member_id),
        detail=detail,
        button=button,
        cancel=PATH,
        submit=("action", action),
        danger=action == "reject",
    )


@router.get("/applications")
def applications_page(
    request: Request, ms: ModSessionDep, session: SessionDep, crypto: CryptoDep
) -> HTMLResponse:
    waiting = members.waiting(session, moderator=ms.moderator, cipher=crypto.cipher)
    return render(
        request,
        ms,
        "mod_applications.html",
        applications=waiting,
        question=question,
        error=None,
        retention_days=request.app.state.settings.application_days,
    )


@router.post("/applications")
def applications_action(
    request: Request, ms: ModSessionDep, form: FormDep, session: SessionDep, crypto: CryptoDep
) -> Response:
    action = str(form.get("action", ""))
    target = row_id(form.get("member_id"))
    try:
        if target is None or target == 0:
            raise NotFound("No such member.")
        if action == "verify":
            members.verify(session, moderator=ms.moderator, member_id=target, cipher=crypto.cipher)
        elif action == "reject":
            members.reject(session, moderator=ms.moderator, member_id=target, cipher=crypto.cipher)
        else:
            raise Conflict("Unknown action.")
    except (Conflict, NotFound) as exc:
        # Without the applications: nothing is read that the audit log would not show.
        page = render(
            request, ms, "mod_applications.html", status=422, applications=None,
            question=question, error=exc.message, retention_days=0,
        )  # fmt: skip
        refuse(page)
    asked = question(action, target)
    if asked is not None and not is_confirmed(form):
        ask(request, ms, form, asked)  # and what the action wrote is undone
    return redirect(request, ms, f"{PATH}?done={action}")
