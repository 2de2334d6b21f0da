"""For admins: /mod/organisations. Every organisation with its regions, people and invite
counts (never who used a code); creating one, changing its regions, adding a person, and
deactivating (asked first, moderation.web.confirm) or activating it. Regions are typed by
name or code, as in the alert composer. Each change is in the audit log by id."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ValidationError
from sqlmodel import Session
from starlette.datastructures import FormData

from app.deps import SessionDep
from app.errors import Conflict, FieldError, InvalidInput, NotFound
from app.web import refuse
from moderation.models import Moderator
from moderation.web.composer import named_regions, region_choices
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
from organisations import service
from organisations.models import OrganisationCreate, PersonCreate, RegionsIn

router = APIRouter(prefix="/mod")

PAGE = "/mod/organisations"

# What the page asks before deactivating: (title, what it does, the button), for the name.
DEACTIVATE = (
    "Deactivate {}?",
    "Its people are logged out everywhere at once and can no longer log in. Activating it"
    " again leaves each of them inactive: reactivate them on the Moderators page.",
    "Deactivate",
)


def question(action: str, name: str) -> Question | None:
    if action != "deactivate":
        return None
    title, detail, button = DEACTIVATE
    return Question(
        title=title.format(name),
        detail=detail,
        button=button,
        cancel=PAGE,
        submit=("action", action),
        danger=True,
    )


def _page(
    request: Request,
    ms: ModSession,
    session: Session,
    *,
    error: str | None = None,
    error_at: tuple[int, str] | None = None,
    typed: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The page; an error is shown at the form it is about (`error_at`: the organisation's
    id, 0 for the new one, and the action), with what was typed there (never a password)."""
    return render(
        request,
        ms,
        "mod_organisations.html",
        status=status,
        organisations=service.overview(session),
        choices=region_choices(session),
        question=question,
        error=error,
        error_at=error_at,
        typed=typed or {},
    )


@router.get("/organisations")
def organisations_page(request: Request, ms: ModSessionDep, session: SessionDep) -> HTMLResponse:
    admin_only(ms)
    return _page(request, ms, session)


def _regions(session: Session, form: FormData) -> list[str]:
    """The regions ticked (codes) and those typed by name, each once; at least one."""
    ticked = [str(code) for code in form.getlist("regions")]
    codes = ticked + named_regions(session, str(form.get("more_regions", "")), field="Regions")
    if not codes:
        raise InvalidInput([FieldError(("regions",), "too_short", "at least one town or province")])
    return list(dict.fromkeys(codes))


Body = TypeVar("Body", bound=BaseModel)


def _valid(model: type[Body], values: dict[str, object]) -> Body:
    """The form's values as the API takes them, so the page keeps the API's rules; what is
    wrong named by field (never the value)."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise InvalidInput(
            [FieldError(tuple(e["loc"]), e["type"], e["msg"]) for e in exc.errors()]
        ) from None


def _create(session: Session, admin: Moderator, target: int, form: FormData) -> int:
    """A new organisation, from its name and its regions typed by name or code."""
    data = _valid(
        OrganisationCreate,
        {"name": str(form.get("name", "")), "regions": _regions(session, form)},
    )
    organisation = service.create(session, name=data.name, regions=data.regions, admin=admin)
    assert organisation.id is not None
    return organisation.id


def _set_regions(session: Session, admin: Moderator, target: int, form: FormData) -> int:
    """Its regions: those still ticked and those typed."""
    data = _valid(RegionsIn, {"regions": _regions(session, form)})
    service.set_regions(session, organisation_id=target, regions=data.regions, admin=admin)
    return target


def _add_person(session: Session, admin: Moderator, target: int, form: FormData) -> int:
    """A login for one of its people, with the password the admin hands over."""
    data = _valid(
        PersonCreate,
        {"username": str(form.get("username", "")), "password": str(form.get("password", ""))},
    )
    service.add_person(
        session,
        organisation_id=target,
        username=data.username,
        password=data.password,
        admin=admin,
    )
    return target


def _deactivate(session: Session, admin: Moderator, target: int, form: FormData) -> int:
    """It and its people can no longer act; their tokens end."""
    service.set_active(session, organisation_id=target, active=False, admin=admin)
    return target


def _activate(session: Session, admin: Moderator, target: int, form: FormData) -> int:
    """It can act again (its people each wait for an admin)."""
    service.set_active(session, organisation_id=target, active=True, admin=admin)
    return target


# What each button does: (session, the admin, the organisation it is about (0 for a new
# one), the form) -> the organisation's id. Each records itself in the audit log.
Action = Callable[[Session, Moderator, int, FormData], int]
ACTIONS: dict[str, Action] = {
    "create": _create,
    "regions": _set_regions,
    "add_person": _add_person,
    "deactivate": _deactivate,
    "activate": _activate,
}
# What the page says once it is done (?done=…).
DONE = {
    "create": "created",
    "regions": "regions",
    "add_person": "person",
    "deactivate": "deactivated",
    "activate": "activated",
}
# The forms whose mistakes are shown at the form, with what was typed in it (never a
# password); any other mistake is shown at the top.
FORMS = ("create", "regions", "add_person")
KEPT = ("name", "more_regions", "username")


@router.post("/organisations")
def organisations_action(
    request: Request, ms: ModSessionDep, form: FormDep, session: SessionDep
) -> Response:
    admin_only(ms)
    name = str(form.get("action", ""))
    action = ACTIONS.get(name)
    target = row_id(form.get("organisation_id"))
    try:
        if action is None:
            raise Conflict("Unknown action.")
        if target is None or (target == 0 and name != "create"):
            raise NotFound("No such organisation.")
        done = action(session, ms.moderator, target, form)
    except (InvalidInput, Conflict, NotFound) as exc:
        shown_at = None
        if target is not None and name in FORMS and not isinstance(exc, NotFound):
            shown_at = (target, name)
        page = _page(
            request,
            ms,
            session,
            status=422,
            error=exc.message,
            error_at=shown_at,
            typed={k: str(form.get(k, "")) for k in KEPT},
        )
        refuse(page)
    asked = question(name, service.get(session, done).name)
    if asked is not None and not is_confirmed(form):
        ask(request, ms, form, asked)  # and what the action wrote is undone
    return redirect(request, ms, f"{PAGE}?done={DONE[name]}#organisation-{done}")
