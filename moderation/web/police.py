"""For admins: police exports. Prepare one of a consenting report, approve another admin's
(each asks first: confirm.py), and read an approved one on a page to print."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.deps import CryptoDep, RowId, SessionDep
from app.errors import Conflict, NotFound
from app.web import refuse
from moderation.police import service
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
PATH = "/mod/police-exports"


def _page(
    request: Request,
    ms: ModSession,
    session: SessionDep,
    *,
    status: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    return render(
        request, ms, "mod_police.html", section="police", status=status, error=error,
        exports=service.listing(session), approve_question=approve_question,
    )  # fmt: skip


def approve_question(export_id: int) -> Question:
    return Question(
        title=f"Approve police export {export_id}?",
        detail="The package can then be read and given to the police, and the reporter can no"
        " longer take their consent back.",
        button="Approve",
        cancel=PATH,
        danger=True,
    )


@router.get("/police-exports")
def exports_page(request: Request, ms: ModSessionDep, session: SessionDep) -> HTMLResponse:
    admin_only(ms)
    return _page(request, ms, session)


@router.post("/police-exports")
def prepare(request: Request, ms: ModSessionDep, form: FormDep, session: SessionDep) -> Response:
    admin_only(ms)
    try:
        report_id = row_id(form.get("report_id"))
        if not report_id:
            raise NotFound("No such report.")
        service.prepare(session, report_id=report_id, admin=ms.moderator)
    except (Conflict, NotFound) as exc:
        refuse(_page(request, ms, session, status=422, error=exc.message))
    return redirect(request, ms, f"{PATH}?done=prepared")


@router.post("/police-exports/{export_id}/approve")
def approve(
    export_id: RowId, request: Request, ms: ModSessionDep, form: FormDep, session: SessionDep
) -> Response:
    admin_only(ms)
    try:
        service.approve(session, export_id=export_id, admin=ms.moderator)
    except (Conflict, NotFound) as exc:
        refuse(_page(request, ms, session, status=422, error=exc.message))
    if not is_confirmed(form):
        ask(request, ms, form, approve_question(export_id))
    return redirect(request, ms, f"{PATH}?done=approved")


@router.get("/police-exports/{export_id}")
def package_page(
    export_id: RowId, request: Request, ms: ModSessionDep, session: SessionDep, crypto: CryptoDep
) -> HTMLResponse:
    """The approved package, to print or save as PDF (audited as downloaded)."""
    admin_only(ms)
    try:
        package = service.package(session, export_id=export_id, admin=ms.moderator, crypto=crypto)
    except Conflict as exc:
        refuse(_page(request, ms, session, status=409, error=exc.message))
    return render(request, ms, "mod_police_package.html", section="police", package=package)
