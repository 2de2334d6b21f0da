"""Alerts: the list, one alert with its history, four-eyes approval, updates, retraction."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from alerts.models import AlertStatus
from app.crypto import Crypto
from app.db import utcnow
from app.deps import CryptoDep, SessionDep, SettingsDep
from app.errors import Conflict, Forbidden
from app.settings import Settings
from app.web import refuse
from moderation import alert_review, audit
from moderation.schemas import MAX_UPDATE_TEXT, RetractIn, UpdateIn
from moderation.web.session import FormDep, ModSession, ModSessionDep, redirect, render

router = APIRouter(prefix="/mod")


@router.get("/alerts")
def alerts_page(request: Request, ms: ModSessionDep, session: SessionDep) -> HTMLResponse:
    return render(request, ms, "mod_alerts.html", alerts=alert_review.list_alerts(session))


@router.get("/alerts/{ref}")
def alert_page(
    request: Request,
    ref: str,
    ms: ModSessionDep,
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
) -> HTMLResponse:
    return _alert(request, ms, session, crypto, settings, ref)


def _alert(
    request: Request,
    ms: ModSession,
    session: Session,
    crypto: Crypto,
    settings: Settings,
    ref: str,
    *,
    error: str | None = None,
    status: int = 200,
    open_update: bool = False,
) -> HTMLResponse:
    detail = alert_review.detail(session, ref=ref, crypto=crypto, settings=settings)
    history = audit.entries(session, target=("alert", detail.ref), limit=50)
    return render(
        request,
        ms,
        "mod_alert.html",
        status=status,
        alert=detail,
        history=history,
        error=error,
        can_update=detail.status == AlertStatus.published and detail.expires_at > utcnow(),
        open_update=open_update,
        max_update=MAX_UPDATE_TEXT,
    )


@router.post("/alerts/{ref}/approve")
def approve(
    request: Request,
    ref: str,
    ms: ModSessionDep,
    form: FormDep,
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
) -> Response:
    try:
        result = alert_review.approve(session, ref=ref, moderator=ms.moderator)
    except (Conflict, Forbidden) as exc:
        refuse(
            _alert(
                request,
                ms,
                session,
                crypto,
                settings,
                ref,
                error=exc.message,
                status=exc.status_code,
            )
        )
    return redirect(request, ms, f"/mod/alerts/{result.ref}?done=approved")


@router.post("/alerts/{ref}/update")
def send_update(
    request: Request,
    ref: str,
    ms: ModSessionDep,
    form: FormDep,
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
) -> Response:
    try:
        data = UpdateIn.model_validate({"text": form.get("text", "")})
        result = alert_review.send_update(
            session, ref=ref, moderator=ms.moderator, data=data, crypto=crypto
        )
    except ValidationError:
        error, status = f"Write the update: 1 to {MAX_UPDATE_TEXT} characters.", 422
    except Conflict as exc:
        error, status = exc.message, 409
    else:
        return redirect(request, ms, f"/mod/alerts/{result.ref}?done=updated")
    page = _alert(
        request, ms, session, crypto, settings, ref, error=error, status=status, open_update=True
    )
    refuse(page)


@router.post("/alerts/{ref}/retract")
def retract(
    request: Request,
    ref: str,
    ms: ModSessionDep,
    form: FormDep,
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
) -> Response:
    try:
        data = RetractIn.model_validate({"reason": form.get("reason", "")})
        result = alert_review.retract(
            session, ref=ref, moderator=ms.moderator, data=data, crypto=crypto
        )
    except ValidationError:
        error, status = "Give a reason for retracting.", 422
    except Conflict as exc:
        error, status = exc.message, 409
    else:
        return redirect(request, ms, f"/mod/alerts/{result.ref}?done=retracted")
    refuse(_alert(request, ms, session, crypto, settings, ref, error=error, status=status))
