"""For admins: the audit log and the moderators' accounts."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session
from starlette.datastructures import FormData

from app.deps import SessionDep
from app.errors import Conflict, InvalidInput, NotFound
from app.web import refuse
from moderation import accounts, audit
from moderation.models import Moderator, Role
from moderation.web.confirm import Question, ask, is_confirmed
from moderation.web.session import (
    FormDep,
    ModSessionDep,
    admin_only,
    redirect,
    render,
    row_id,
)

router = APIRouter(prefix="/mod")


@router.get("/audit")
def audit_page(
    request: Request, ms: ModSessionDep, session: SessionDep, before: int | None = None
) -> HTMLResponse:
    admin_only(ms)
    entries = audit.entries(session, before_id=before, limit=100)
    return render(
        request,
        ms,
        "mod_audit.html",
        entries=entries,
        older=entries[-1].id if len(entries) == 100 else None,
    )


@router.get("/moderators")
def moderators_page(request: Request, ms: ModSessionDep, session: SessionDep) -> HTMLResponse:
    admin_only(ms)
    return render(
        request,
        ms,
        "mod_moderators.html",
        moderators=accounts.list_all(session),
        error=None,
        question=question,
    )


def _create(session: Session, admin: Moderator, target: int, form: FormData) -> Moderator:
    """A new account, from the form's username, password and role."""
    return accounts.create(
        session,
        admin=admin,
        username=str(form.get("username", "")),
        password=str(form.get("password", "")),
        # Only staff here: organisations' people are added on /mod/organisations.
        role=Role.admin if form.get("role") == Role.admin else Role.moderator,
    )


def _deactivate(session: Session, admin: Moderator, target: int, form: FormData) -> Moderator:
    """The account can no longer log in."""
    return accounts.set_active(session, admin=admin, moderator_id=target, active=False)


def _activate(session: Session, admin: Moderator, target: int, form: FormData) -> Moderator:
    """The account can log in again."""
    return accounts.set_active(session, admin=admin, moderator_id=target, active=True)


def _make_admin(session: Session, admin: Moderator, target: int, form: FormData) -> Moderator:
    """The account becomes an admin."""
    return accounts.set_role(session, admin=admin, moderator_id=target, role=Role.admin)


def _make_moderator(session: Session, admin: Moderator, target: int, form: FormData) -> Moderator:
    """The account becomes a plain moderator."""
    return accounts.set_role(session, admin=admin, moderator_id=target, role=Role.moderator)


def _reset_totp(session: Session, admin: Moderator, target: int, form: FormData) -> Moderator:
    """The account sets up its second factor again at its next login."""
    return accounts.reset_totp(session, admin=admin, moderator_id=target)


def _reset_password(
    session: Session, admin: Moderator, target: int, form: FormData
) -> accounts.PasswordReset:
    """A one-time password, shown to the admin once; a new one is chosen at login."""
    return accounts.reset_password(session, admin=admin, moderator_id=target)


# What each button on the moderators page does: (session, the admin, the account it is
# about, the form) -> the accounts service's call. Each records itself in the audit log.
Action = Callable[[Session, Moderator, int, FormData], object]
ACTIONS: dict[str, Action] = {
    "create": _create,
    "deactivate": _deactivate,
    "activate": _activate,
    "make_admin": _make_admin,
    "make_moderator": _make_moderator,
    "reset_totp": _reset_totp,
    "reset_password": _reset_password,
}


# What the moderators page asks before an action that cannot be undone: (title, what it
# does, the button), for the account's username.
QUESTIONS: dict[str, tuple[str, str, str]] = {
    "deactivate": (
        "Deactivate {}?",
        "They are logged out everywhere at once and cannot log in until an admin activates"
        " the account again.",
        "Deactivate",
    ),
    "reset_password": (
        "Reset {}'s password?",
        "Their password stops working and their sessions end; you hand them a one-time"
        " password, shown once.",
        "Reset password",
    ),
    "reset_totp": (
        "Reset {}'s two-factor authentication?",
        "Their authenticator app stops working; they set up a new one at their next login.",
        "Reset two-factor",
    ),
}


def question(action: str, username: str) -> Question | None:
    if action not in QUESTIONS:
        return None
    title, detail, button = QUESTIONS[action]
    return Question(
        title=title.format(username),
        detail=detail,
        button=button,
        cancel="/mod/moderators",
        submit=("action", action),
        danger=True,
    )


@router.post("/moderators")
def moderators_action(
    request: Request, ms: ModSessionDep, form: FormDep, session: SessionDep
) -> Response:
    admin_only(ms)
    name = str(form.get("action", ""))
    action = ACTIONS.get(name)
    target = row_id(form.get("moderator_id"))
    try:
        if action is None:
            raise Conflict("Unknown action.")
        if target is None:
            raise NotFound("No such moderator.")
        done = action(session, ms.moderator, target, form)
    except (InvalidInput, Conflict, NotFound) as exc:
        error = exc.message
    except ValueError:  # a role that does not exist
        error = "Choose a valid role."
    else:
        account = done.moderator if isinstance(done, accounts.PasswordReset) else done
        asked = question(name, getattr(account, "username", ""))
        if asked is not None and not is_confirmed(form):
            ask(request, ms, form, asked)  # and what the action wrote is undone
        if isinstance(done, accounts.PasswordReset):  # shown in this answer only, never a URL
            return render(
                request,
                ms,
                "mod_moderators.html",
                moderators=accounts.list_all(session),
                error=None,
                reset=done,
                question=question,
            )
        return redirect(request, ms, "/mod/moderators?done=saved")
    page = render(
        request,
        ms,
        "mod_moderators.html",
        status=422,
        moderators=accounts.list_all(session),
        error=error,
        question=question,
    )
    refuse(page)
