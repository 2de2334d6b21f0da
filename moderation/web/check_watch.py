"""The client check's watch list: members over the daily limit of different numbers."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app.deps import SessionDep
from moderation import check_watch
from moderation.web.session import ModSessionDep, render

router = APIRouter(prefix="/mod")


@router.get("/check-watch")
def check_watch_page(request: Request, ms: ModSessionDep, session: SessionDep) -> HTMLResponse:
    members = check_watch.listing(session, moderator=ms.moderator)
    settings = request.app.state.settings
    return render(
        request,
        ms,
        "mod_check_watch.html",
        members=members,
        most=settings.check_daily_numbers,
        retention_days=settings.check_watch_days,
    )
