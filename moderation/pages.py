"""The moderators' web interface at /mod: server-rendered, a little JavaScript.

The session is a cookie holding the moderator's JWT (HttpOnly, SameSite=Strict, Secure
over https), renewed while the moderator is active and gone after 15 idle minutes.
Every form carries a CSRF token bound to the login session, and every POST must come
from this site (Origin / Sec-Fetch-Site).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session
from starlette.datastructures import FormData

from alerts.models import AlertStatus, Severity
from app.db import utcnow
from app.deps import CryptoDep, RateLimit, RowId, SessionDep, SettingsDep
from app.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound, RedflagError
from app.reports.models import Category, Report
from app.settings import Settings
from app.web import Pages
from moderation import accounts, alert_review, audit, redaction, security, service
from moderation.models import Moderator, Role
from moderation.schemas import (
    MAX_UPDATE_TEXT,
    DuplicateIn,
    PreviewIn,
    PreviewOut,
    PublishIn,
    RejectIn,
    ReportReview,
    RequestInfoIn,
    RetractIn,
    UpdateIn,
)

COOKIE = "redflag_mod"
router = APIRouter(prefix="/mod", include_in_schema=False)


def make_pages(settings: Settings) -> Pages:
    return Pages(
        settings, packages=("moderation", "app"), css="mod.css", js="mod.js", connect_self=True
    )


class SeeOther(RedflagError):
    """Sends the browser elsewhere (used for "log in first")."""

    status_code = 303

    def __init__(self, location: str, *, clear_cookie: bool = False) -> None:
        super().__init__("See other")
        self.response_headers = {"Location": location}
        if clear_cookie:
            self.response_headers["Set-Cookie"] = (
                f"{COOKIE}=; Max-Age=0; Path=/mod; HttpOnly; SameSite=Strict"
            )


class FormRejected(Forbidden):
    def __init__(self) -> None:
        super().__init__(
            "This form has expired or did not come from this site: reload the page and try again."
        )


@dataclass
class ModSession:
    moderator: Moderator
    claims: security.TokenClaims
    csrf: str
    renewed: tuple[str, int] | None

    @property
    def is_admin(self) -> bool:
        return self.moderator.role == Role.admin


def _secure(settings: Settings) -> bool:
    return settings.public_url.startswith("https://")


def _set_cookie(response: Response, token: str, lifetime: int, settings: Settings) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=lifetime,
        path="/mod",
        httponly=True,
        secure=_secure(settings),
        samesite="strict",
    )


def _same_origin(request: Request) -> bool:
    """Browsers say where a request comes from in Sec-Fetch-Site. Origin is a fallback
    only: under `Referrer-Policy: no-referrer` Chromium sends `Origin: null`."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in {"same-origin", "none"}
    origin = request.headers.get("origin")
    return origin in {None, "null"} or urlsplit(origin).netloc == request.headers.get("host")


def mod_session(request: Request, session: SessionDep, settings: SettingsDep) -> ModSession:
    token = request.cookies.get(COOKIE)
    if not token:
        raise SeeOther("/mod/login")
    try:
        claims = security.decode_token(token, settings)
    except security.InvalidToken:
        raise SeeOther("/mod/login", clear_cookie=True) from None
    moderator = accounts.get_active(session, moderator_id=claims.moderator_id)
    if moderator is None:
        raise SeeOther("/mod/login", clear_cookie=True)
    if claims.scope != security.SCOPE_FULL and request.url.path != "/mod/totp":
        raise SeeOther("/mod/totp")
    renewed = None
    if claims.expires_at - utcnow().timestamp() < settings.token_minutes * 30:  # past half-life
        renewed = security.issue_token(
            moderator_id=claims.moderator_id,
            role=moderator.role,
            settings=settings,
            session_id=claims.session_id,
            scope=claims.scope,
        )
    return ModSession(moderator, claims, security.csrf_token(claims.session_id, settings), renewed)


ModSessionDep = Annotated[ModSession, Depends(mod_session)]


async def posted_form(request: Request, ms: ModSessionDep, settings: SettingsDep) -> FormData:
    if not _same_origin(request):
        raise FormRejected()
    form = await request.form()
    if not security.csrf_ok(ms.claims.session_id, str(form.get("csrf_token", "")), settings):
        raise FormRejected()
    return form


FormDep = Annotated[FormData, Depends(posted_form)]


def _pages(request: Request) -> Pages:
    pages: Pages = request.app.state.mod_pages
    return pages


def render(
    request: Request, ms: ModSession | None, template: str, *, status: int = 200, **context: Any
) -> HTMLResponse:
    settings: Settings = request.app.state.settings
    response = _pages(request).render(
        template,
        lang="en",
        status_code=status,
        me=ms.moderator if ms else None,
        is_admin=ms.is_admin if ms else False,
        csrf=ms.csrf if ms else "",
        notice=request.query_params.get("done"),
        **context,
    )
    return _finish(response, ms, settings)


def redirect(request: Request, ms: ModSession, location: str) -> Response:
    return _finish(RedirectResponse(location, status_code=303), ms, request.app.state.settings)


R = TypeVar("R", bound=Response)


def _finish(response: R, ms: ModSession | None, settings: Settings) -> R:
    if ms is not None and ms.renewed is not None:
        _set_cookie(response, *ms.renewed, settings)
    return response


# ---- logging in and out -----------------------------------------------------------------------


@router.get("/login")
def login_page(request: Request) -> HTMLResponse:
    return render(request, None, "mod_login.html", error=None, username="")


@router.post("/login", dependencies=[Depends(RateLimit("login"))])
def login(
    request: Request,
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=40)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    otp: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    if not _same_origin(request):
        raise FormRejected()
    try:
        result = accounts.authenticate(
            session,
            username=username,
            password=password,
            otp=otp or None,
            settings=settings,
            cipher=crypto.cipher,
        )
    except accounts.LoginFailed as exc:
        session.commit()  # the failure count and the audit entry stay
        return render(
            request, None, "mod_login.html", status=401, error=exc.message, username=username
        )
    scope = security.SCOPE_TOTP_SETUP if result.needs_totp_setup else security.SCOPE_FULL
    token, lifetime = security.issue_token(
        moderator_id=result.moderator.id or 0,
        role=result.moderator.role,
        settings=settings,
        scope=scope,
    )
    response = RedirectResponse("/mod/totp" if result.needs_totp_setup else "/mod", status_code=303)
    _set_cookie(response, token, lifetime, settings)
    return response


@router.post("/logout")
def logout(request: Request, ms: ModSessionDep, form: FormDep, session: SessionDep) -> Response:
    audit.record(
        session,
        moderator_id=ms.moderator.id,
        action="logout",
        target_type="moderator",
        target_id=ms.moderator.id,
    )
    response = RedirectResponse("/mod/login", status_code=303)
    response.delete_cookie(
        COOKIE,
        path="/mod",
        httponly=True,
        samesite="strict",
        secure=_secure(request.app.state.settings),
    )
    return response


@router.get("/totp")
def totp_page(
    request: Request, ms: ModSessionDep, session: SessionDep, crypto: CryptoDep
) -> HTMLResponse:
    secret = None
    if not ms.moderator.totp_confirmed:
        secret = accounts.begin_totp_setup(session, moderator=ms.moderator, cipher=crypto.cipher)
    return render(
        request,
        ms,
        "mod_totp.html",
        secret=secret,
        uri=security.totp_uri(secret, ms.moderator.username) if secret else None,
        error=None,
    )


@router.post("/totp")
def totp_confirm(
    request: Request,
    ms: ModSessionDep,
    form: FormDep,
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
) -> Response:
    try:
        accounts.confirm_totp(
            session, moderator=ms.moderator, code=str(form.get("code", "")), cipher=crypto.cipher
        )
    except (InvalidInput, Conflict) as exc:
        session.rollback()
        return render(
            request, ms, "mod_totp.html", status=422, secret=None, uri=None, error=exc.message
        )
    token, lifetime = security.issue_token(
        moderator_id=ms.moderator.id or 0,
        role=ms.moderator.role,
        settings=settings,
        session_id=ms.claims.session_id,
    )
    response = RedirectResponse("/mod?done=totp", status_code=303)
    _set_cookie(response, token, lifetime, settings)
    return response


# ---- the queue --------------------------------------------------------------------------------


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
    pending = [a for a in alert_review.list_alerts(session, status=AlertStatus.pending_approval)]
    return render(
        request,
        ms,
        "mod_queue.html",
        status=status,
        items=service.queue(session),
        pending=pending,
        error=error,
    )


@router.post("/queue/next")
def next_report(
    request: Request, ms: ModSessionDep, form: FormDep, session: SessionDep, settings: SettingsDep
) -> Response:
    try:
        report = service.claim_next(session, moderator=ms.moderator, settings=settings)
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
        service.claim(session, report_id=report_id, moderator=ms.moderator, settings=settings)
    except Conflict as exc:
        session.rollback()
        return _queue(request, ms, session, error=exc.message, status=409)
    return redirect(request, ms, f"/mod/reports/{report_id}")


@router.post("/reports/{report_id}/release")
def release(
    request: Request, report_id: RowId, ms: ModSessionDep, form: FormDep, session: SessionDep
) -> Response:
    try:
        service.release(session, report_id=report_id, moderator=ms.moderator)
    except Conflict as exc:
        session.rollback()
        return _queue(request, ms, session, error=exc.message, status=409)
    return redirect(request, ms, "/mod?done=released")


# ---- reviewing and deciding -----------------------------------------------------------------


URGENCY_SEVERITY = {3: Severity.high, 2: Severity.medium, 1: Severity.low}


def _default_composer(review: ReportReview) -> dict[str, Any]:
    return {
        "text": review.suggested_text,
        "severity": URGENCY_SEVERITY.get(review.urgency, Severity.medium).value,
        "regions": [review.region.code],
        "extra_regions": "",
        "categories": [c.value for c in review.categories],
        "identifiers": [f"{i.kind.value}|{i.value}" for i in review.identifiers],
        "new_identifiers": [("phone", "")],
        "expires_in_days": 90,
    }


def _composer_from(form: FormData) -> dict[str, Any]:
    return {
        "text": str(form.get("text", "")),
        "severity": str(form.get("severity", "")),
        "regions": [str(r) for r in form.getlist("regions")],
        "extra_regions": str(form.get("extra_regions", "")),
        "categories": [str(c) for c in form.getlist("categories")],
        "identifiers": [str(i) for i in form.getlist("identifiers")],
        "new_identifiers": [(str(form.get("new_kind", "phone")), str(form.get("new_value", "")))],
        "expires_in_days": str(form.get("expires_in_days", "90")),
    }


def _content(composer: dict[str, Any]) -> dict[str, Any]:
    """The composer's form values as the API's AlertContent takes them."""
    identifiers = [
        dict(zip(("kind", "value"), item.split("|", 1), strict=True))
        for item in composer["identifiers"]
        if "|" in item
    ]
    identifiers += [{"kind": k, "value": v} for k, v in composer["new_identifiers"] if v.strip()]
    extra = [c for c in re.split(r"[\s,;]+", composer["extra_regions"]) if c]
    return {
        "text": composer["text"],
        "severity": composer["severity"],
        "regions": list(dict.fromkeys(composer["regions"] + extra)),
        "categories": composer["categories"],
        "identifiers": identifiers,
    }


def _preview(
    session: Session, review: ReportReview, composer: dict[str, Any], settings: Settings
) -> tuple[PreviewOut | None, list[str]]:
    try:
        data = PreviewIn.model_validate(
            {
                **_content(composer),
                "incident_date": review.incident_date,
                "part_of_day": review.part_of_day,
            }
        )
        return alert_review.preview(session, data=data, settings=settings), []
    except ValidationError as exc:
        return None, _messages(exc)
    except InvalidInput as exc:
        return None, [e.message for e in exc.errors]


def _messages(exc: ValidationError) -> list[str]:
    return [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]


@router.get("/reports/{report_id}")
def review_page(
    request: Request,
    report_id: RowId,
    ms: ModSessionDep,
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
) -> HTMLResponse:
    return _review(request, ms, session, crypto, settings, report_id)


def _review(
    request: Request,
    ms: ModSession,
    session: Session,
    crypto: Any,
    settings: Settings,
    report_id: int,
    *,
    composer: dict[str, Any] | None = None,
    errors: list[str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    try:
        review = service.review(
            session, report_id=report_id, moderator=ms.moderator, crypto=crypto, settings=settings
        )
    except Conflict as exc:
        return _not_yours(request, ms, session, report_id, exc.message)
    composer = composer or _default_composer(review)
    preview, preview_errors = _preview(session, review, composer, settings)
    return render(
        request,
        ms,
        "mod_review.html",
        status=status,
        review=review,
        composer=composer,
        preview=preview,
        errors=(errors or []) + ([] if errors else preview_errors),
        severities=[s.value for s in Severity],
        all_categories=[c.value for c in Category],
        text_pieces=redaction.segments(review.what_happened, review.what_happened_flags),
        description_pieces=redaction.segments(review.description or "", review.description_flags),
    )


def _not_yours(
    request: Request, ms: ModSession, session: Session, report_id: int, message: str
) -> HTMLResponse:
    """Why the report is not shown: who holds it, or that it must be claimed first."""
    report = session.get(Report, report_id)
    claimable = report is not None and report.status in service.AWAITING
    held = report is not None and service.claim_is_live(report, utcnow())
    if report is not None and held and report.claimed_by_id != ms.moderator.id:
        holder = session.get(Moderator, report.claimed_by_id)
        until = service.aware(report.claim_expires_at)
        name = holder.username if holder else "Someone"
        message = f"{name} is working on this report until {until:%H:%M} UTC."
        claimable = False
    return render(
        request,
        ms,
        "mod_not_claimed.html",
        status=409,
        report=report,
        message=message,
        claimable=claimable,
    )


@router.post("/reports/{report_id}/decide")
def decide(
    request: Request,
    report_id: RowId,
    ms: ModSessionDep,
    form: FormDep,
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
) -> Response:
    decision = str(form.get("decision", ""))
    composer = _composer_from(form) if "text" in form else None
    version = form.get("version")
    try:
        if decision == "preview":
            return _review(request, ms, session, crypto, settings, report_id, composer=composer)
        if decision == "publish":
            assert composer is not None
            data = PublishIn.model_validate(
                {
                    **_content(composer),
                    "version": version,
                    "expires_in_days": composer["expires_in_days"] or 90,
                }
            )
            result = service.publish(
                session,
                report_id=report_id,
                moderator=ms.moderator,
                data=data,
                crypto=crypto,
                settings=settings,
            )
            return redirect(
                request, ms, f"/mod/alerts/{result.alert_ref}?done={result.alert_status}"
            )
        if decision == "reject":
            service.reject(
                session,
                report_id=report_id,
                moderator=ms.moderator,
                data=RejectIn.model_validate(
                    {"version": version, "reason": form.get("reason", "")}
                ),
                crypto=crypto,
            )
            return redirect(request, ms, "/mod?done=rejected")
        if decision == "request_info":
            data_q = RequestInfoIn.model_validate(
                {"version": version, "question": form.get("question", "")}
            )
            service.request_info(
                session, report_id=report_id, moderator=ms.moderator, data=data_q, crypto=crypto
            )
            return redirect(request, ms, "/mod?done=asked")
        if decision == "duplicate":
            data_d = DuplicateIn.model_validate(
                {"version": version, "alert_ref": form.get("alert_ref", "")}
            )
            result = service.duplicate(
                session, report_id=report_id, moderator=ms.moderator, data=data_d
            )
            return redirect(request, ms, f"/mod/alerts/{result.alert_ref}?done=duplicate")
    except ValidationError as exc:
        session.rollback()
        return _review(
            request,
            ms,
            session,
            crypto,
            settings,
            report_id,
            composer=composer,
            errors=_messages(exc),
            status=422,
        )
    except (InvalidInput, Conflict) as exc:
        session.rollback()
        messages = (
            [e.message for e in exc.errors] if isinstance(exc, InvalidInput) else [exc.message]
        )
        return _review(
            request,
            ms,
            session,
            crypto,
            settings,
            report_id,
            composer=composer,
            errors=messages,
            status=exc.status_code,
        )
    raise InvalidInput(
        [
            FieldError(
                ("decision",),
                "unknown_decision",
                "choose publish, reject, request_info or duplicate",
            )
        ]
    )


@router.post("/preview")
async def live_preview(
    request: Request, ms: ModSessionDep, session: SessionDep, settings: SettingsDep
) -> Response:
    """The composer's live preview (JSON); the same CSRF token, sent as a header."""
    if not _same_origin(request) or not security.csrf_ok(
        ms.claims.session_id, request.headers.get("x-csrf-token", ""), settings
    ):
        raise FormRejected()
    try:
        data = PreviewIn.model_validate(await request.json())
        result = alert_review.preview(session, data=data, settings=settings)
    except ValidationError as exc:
        return JSONResponse({"errors": _messages(exc)}, status_code=422)
    except InvalidInput as exc:
        return JSONResponse({"errors": [e.message for e in exc.errors]}, status_code=422)
    return JSONResponse(result.model_dump(mode="json"))


# ---- alerts ---------------------------------------------------------------------------------


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
    crypto: Any,
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
        session.rollback()
        return _alert(
            request, ms, session, crypto, settings, ref, error=exc.message, status=exc.status_code
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
    def again(error: str, status: int) -> HTMLResponse:
        return _alert(
            request,
            ms,
            session,
            crypto,
            settings,
            ref,
            error=error,
            status=status,
            open_update=True,
        )

    try:
        data = UpdateIn.model_validate({"text": form.get("text", "")})
        result = alert_review.send_update(
            session, ref=ref, moderator=ms.moderator, data=data, crypto=crypto
        )
    except ValidationError:
        return again(f"Write the update: 1 to {MAX_UPDATE_TEXT} characters.", 422)
    except Conflict as exc:
        session.rollback()
        return again(exc.message, 409)
    return redirect(request, ms, f"/mod/alerts/{result.ref}?done=updated")


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
        return _alert(
            request,
            ms,
            session,
            crypto,
            settings,
            ref,
            error="Give a reason for retracting.",
            status=422,
        )
    except Conflict as exc:
        session.rollback()
        return _alert(request, ms, session, crypto, settings, ref, error=exc.message, status=409)
    return redirect(request, ms, f"/mod/alerts/{result.ref}?done=retracted")


# ---- for admins -------------------------------------------------------------------------------


def _admin(ms: ModSession) -> None:
    if not ms.is_admin:
        raise Forbidden("Only an admin can see this page.")


@router.get("/audit")
def audit_page(
    request: Request, ms: ModSessionDep, session: SessionDep, before: int | None = None
) -> HTMLResponse:
    _admin(ms)
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
    _admin(ms)
    return render(
        request, ms, "mod_moderators.html", moderators=accounts.list_all(session), error=None
    )


@router.post("/moderators")
def moderators_action(
    request: Request, ms: ModSessionDep, form: FormDep, session: SessionDep
) -> Response:
    _admin(ms)
    action = str(form.get("action", ""))
    target = int(str(form.get("moderator_id", "0")) or 0)
    try:
        if action == "create":
            created = accounts.create(
                session,
                username=str(form.get("username", "")),
                password=str(form.get("password", "")),
                role=Role(str(form.get("role", "moderator"))),
            )
            audit.record(
                session,
                moderator_id=ms.moderator.id,
                action="moderator.create",
                target_type="moderator",
                target_id=created.id,
            )
        elif action in {"deactivate", "activate"}:
            accounts.set_active(
                session, admin=ms.moderator, moderator_id=target, active=action == "activate"
            )
        elif action in {"make_admin", "make_moderator"}:
            role = Role.admin if action == "make_admin" else Role.moderator
            accounts.set_role(session, admin=ms.moderator, moderator_id=target, role=role)
        elif action == "reset_totp":
            accounts.reset_totp(session, admin=ms.moderator, moderator_id=target)
        else:
            raise Conflict("Unknown action.")
    except (InvalidInput, Conflict, NotFound, ValueError) as exc:
        session.rollback()
        message = exc.message if isinstance(exc, RedflagError) else "Choose a valid role."
        return render(
            request,
            ms,
            "mod_moderators.html",
            status=422,
            moderators=accounts.list_all(session),
            error=message,
        )
    return redirect(request, ms, "/mod/moderators?done=saved")
