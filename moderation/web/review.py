"""Reading a report you hold, and deciding on it.

The review page holds four forms that all post to /mod/reports/{id}/decide, each naming
its `decision`: the composer (publish, or "preview" to see the alert again), a question
to the reporter, a duplicate of a live alert, and a rejection. DECISIONS says which
service function each one calls.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import ValidationError
from sqlmodel import Session
from starlette.datastructures import FormData

from alerts.models import Severity
from app.crypto import Crypto
from app.deps import CryptoDep, RowId, SessionDep, SettingsDep
from app.errors import Conflict, FieldError, InvalidInput
from app.reports.models import Category
from app.settings import Settings
from app.web import refuse
from moderation import alert_review, claims, decisions, redaction, security, service
from moderation.models import Moderator
from moderation.schemas import DuplicateIn, PreviewIn, PublishIn, RejectIn, RequestInfoIn
from moderation.web.composer import CHECKED_FLAGS, Composer, messages, preview, still_flagged
from moderation.web.session import (
    FormDep,
    FormRejected,
    ModSession,
    ModSessionDep,
    redirect,
    render,
    same_origin,
)

router = APIRouter(prefix="/mod")


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
    crypto: Crypto,
    settings: Settings,
    report_id: int,
    *,
    composer: Composer | None = None,
    errors: list[str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    try:
        review = service.review(
            session, report_id=report_id, moderator=ms.moderator, crypto=crypto, settings=settings
        )
    except Conflict as exc:
        why = claims.not_yours(
            session, report_id=report_id, moderator=ms.moderator, refusal=exc.message
        )
        return render(
            request,
            ms,
            "mod_not_claimed.html",
            status=409,
            report=why.report,
            message=why.message,
            claimable=why.claimable,
        )
    composer = composer or Composer.suggested(review)
    shown, preview_errors = preview(session, review=review, composer=composer, settings=settings)
    return render(
        request,
        ms,
        "mod_review.html",
        status=status,
        review=review,
        composer=composer,
        preview=shown,
        errors=errors or preview_errors,
        severities=[s.value for s in Severity],
        all_categories=[c.value for c in Category],
        text_pieces=redaction.segments(review.what_happened, review.what_happened_flags),
        description_pieces=redaction.segments(review.description or "", review.description_flags),
        still_flagged=still_flagged(review, composer, settings),
        checked_flags_label=CHECKED_FLAGS,
    )


# ---- deciding ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deciding:
    """One decision as posted: who decides on which report, and the form they sent."""

    session: Session
    report_id: int
    moderator: Moderator
    form: FormData
    crypto: Crypto
    settings: Settings

    def body(self, **fields: object) -> dict[str, object]:
        """The fields as the API's body for this decision, with the version decided on."""
        return {"version": self.form.get("version"), **fields}


def _publish(d: Deciding) -> str:
    composer = Composer.from_form(d.form)
    data = PublishIn.model_validate(
        d.body(
            **composer.content(),
            expires_in_days=composer.expires_in_days or 90,
            checked_flags=composer.checked_flags,
        )
    )
    result = decisions.publish(
        d.session,
        report_id=d.report_id,
        moderator=d.moderator,
        data=data,
        crypto=d.crypto,
        settings=d.settings,
    )
    return f"/mod/alerts/{result.alert_ref}?done={result.alert_status}"


def _reject(d: Deciding) -> str:
    data = RejectIn.model_validate(d.body(reason=d.form.get("reason", "")))
    decisions.reject(
        d.session, report_id=d.report_id, moderator=d.moderator, data=data, crypto=d.crypto
    )
    return "/mod?done=rejected"


def _request_info(d: Deciding) -> str:
    data = RequestInfoIn.model_validate(d.body(question=d.form.get("question", "")))
    decisions.request_info(
        d.session, report_id=d.report_id, moderator=d.moderator, data=data, crypto=d.crypto
    )
    return "/mod?done=asked"


def _duplicate(d: Deciding) -> str:
    data = DuplicateIn.model_validate(d.body(alert_ref=d.form.get("alert_ref", "")))
    result = decisions.duplicate(d.session, report_id=d.report_id, moderator=d.moderator, data=data)
    return f"/mod/alerts/{result.alert_ref}?done=duplicate"


# What each decision does: read its form, call its service, and say where to go next.
DECISIONS: dict[str, Callable[[Deciding], str]] = {
    "publish": _publish,
    "reject": _reject,
    "request_info": _request_info,
    "duplicate": _duplicate,
}
UNKNOWN_DECISION = FieldError(
    ("decision",), "unknown_decision", "choose publish, reject, request_info or duplicate"
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
    composer = Composer.from_form(form) if "text" in form else None
    if decision == "preview":
        return _review(request, ms, session, crypto, settings, report_id, composer=composer)
    act = DECISIONS.get(decision)
    if act is None:
        raise InvalidInput([UNKNOWN_DECISION])
    try:
        location = act(Deciding(session, report_id, ms.moderator, form, crypto, settings))
    except (ValidationError, InvalidInput, Conflict) as exc:
        status = exc.status_code if isinstance(exc, Conflict | InvalidInput) else 422
        page = _review(
            request,
            ms,
            session,
            crypto,
            settings,
            report_id,
            composer=composer,
            errors=messages(exc),
            status=status,
        )
        refuse(page)  # what the form said is kept on the page; nothing is written
    return redirect(request, ms, location)


NOT_JSON = object()  # the live preview's body, when it is not JSON at all


async def json_body(request: Request) -> object:
    """The request's body as JSON, read on the event loop so the route need not be async."""
    try:
        return await request.json()
    except ValueError:  # not JSON, or not UTF-8
        return NOT_JSON


@router.post("/preview")
def live_preview(
    request: Request,
    ms: ModSessionDep,
    body: Annotated[object, Depends(json_body)],
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    """The composer's live preview (JSON); the same CSRF token, sent as a header.

    An ordinary (sync) route: its database work runs in the thread pool, not on the loop."""
    if not same_origin(request) or not security.csrf_ok(
        ms.token.session_id, request.headers.get("x-csrf-token", ""), settings
    ):
        raise FormRejected()
    if body is NOT_JSON:
        return JSONResponse({"errors": ["The preview takes a JSON body."]}, status_code=400)
    try:
        data = PreviewIn.model_validate(body)
        result = alert_review.preview(session, data=data, settings=settings)
    except (ValidationError, InvalidInput) as exc:
        return JSONResponse({"errors": messages(exc)}, status_code=422)
    return JSONResponse(result.model_dump(mode="json"))
