"""The queue: what waits for review, taking the next report, claiming and giving back."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from alerts.models import AlertStatus
from app.deps import RowId, SessionDep, SettingsDep
from app.errors import Conflict, NotFound
from app.web import refuse
from moderation import alert_review, claims
from moderation.web.session import FormDep, ModSession, ModSessionDep, redirect, render

router = APIRouter(prefix="/mod")


@router.get("")
@router.get("/")
def queue_page(request: Request, ms: ModSessionDep, session: SessionDep) -> HTMLResponse:
    return _queue(request, ms, session)


def _queue(
    request: Request,
    ms: ModSession,
    session: Session,
    *,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    return render(
        request,
        ms,
        "mod_queue.html",
        status=status,
        items=claims.queue(session),
        pending=alert_review.list_alerts(session, status=AlertStatus.pending_approval),
        error=error,
    )


@router.post("/queue/next")
def next_report(
    request: Request, ms: ModSessionDep, form: FormDep, session: SessionDep, settings: SettingsDep
) -> Response:
    try:
        report = claims.claim_next(session, moderator=ms.moderator, settings=settings)
    except NotFound:
        return redirect(request, ms, "/mod?done=empty")
    return redirect(request, ms, f"/mod/reports/{report.id}")


@router.post("/reports/{report_id}/claim")
def claim(
    request: Request,
    report_id: RowId,
    ms: ModSessionDep,
    form: FormDep,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    try:
        claims.claim(session, report_id=report_id, moderator=ms.moderator, settings=settings)
    except Conflict as exc:
        refuse(_queue(request, ms, session, error=exc.message, status=409))
    return redirect(request, ms, f"/mod/reports/{report_id}")


@router.post("/reports/{report_id}/release")
def release(
    request: Request, report_id: RowId, ms: ModSessionDep, form: FormDep, session: SessionDep
) -> Response:
    try:
        claims.release(session, report_id=report_id, moderator=ms.moderator)
    except Conflict as exc:
        refuse(_queue(request, ms, session, error=exc.message, status=409))
    return redirect(request, ms, "/mod?done=released")
