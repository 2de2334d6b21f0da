"""Reading a report you hold, and deciding on it.

The review page holds four forms that all post to /mod/reports/{id}/decide, each naming
its `decision`: the composer (publish, or "preview" to see the alert again), a question
to the reporter, a duplicate of a live alert, and a rejection. DECISIONS says which
service function each one calls.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import ValidationError
from sqlmodel import Session
from starlette.datastructures import FormData

from alerts.models import AlertStatus, Severity
from app.crypto import Crypto
from app.deps import RowId, SessionDep, SettingsDep
from app.errors import Conflict, FieldError, InvalidInput
from app.regions import service as regions_service
from app.reports.models import Category
from app.settings import Settings
from app.web import refuse
from moderation import alert_review, claims, decisions, redaction, security, service
from moderation.models import Moderator
from moderation.schemas import DuplicateIn, PreviewIn, PublishIn, RejectIn, RequestInfoIn
from moderation.web.composer import (
    CHECKED_FLAGS,
    Composer,
    fallback_words,
    languages_context,
    messages,
    preview,
    region_choices,
    still_flagged,
)
from moderation.web.confirm import Question, ask, is_confirmed, plural
from moderation.web.session import (
    FormDep,
    FormRejected,
    ModPage,
    ModPageDep,
    ModSessionDep,
    redirect,
    render,
    same_origin,
)

router = APIRouter(prefix="/mod")


@router.get("/reports/{report_id}")
def review_page(report_id: RowId, page: ModPageDep) -> HTMLResponse:
    return _review(page, report_id)


def _review(
    page: ModPage,
    report_id: int,
    *,
    composer: Composer | None = None,
    errors: list[str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    session, ms, settings = page.session, page.ms, page.settings
    try:
        review = service.review(
            session,
            report_id=report_id,
            moderator=ms.moderator,
            crypto=page.crypto,
            settings=settings,
        )
    except Conflict as exc:
        why = claims.not_yours(
            session, report_id=report_id, moderator=ms.moderator, refusal=exc.message
        )
        return render(
            page.request,
            ms,
            "mod_not_claimed.html",
            status=409,
            report=why.report,
            message=why.message,
            claimable=why.claimable,
        )
    composer, shown, preview_errors = preview(
        session, review=review, composer=composer or Composer.suggested(review), settings=settings
    )
    return render(
        page.request,
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
        segments=redaction.segments,  # for the reporter's answers and added information
        still_flagged=still_flagged(review, composer, settings),
        checked_flags_label=CHECKED_FLAGS,
        region_names=dict(
            zip(composer.regions, regions_service.names(session, composer.regions), strict=True)
        ),
        region_choices=region_choices(session),
        ask_publish=_publish_question(
            report_id,
            shown.recipients if shown else 0,
            shown.needs_approval if shown else False,
            shown.fallbacks if shown else {},
        ),
        **languages_context(),
        ask_reject=_reject_question(report_id),
        ask_duplicate=partial(_duplicate_question, report_id),
    )


# ---- deciding ---------------------------------------------------------------------------------


def _publish_question(
    report_id: int, recipients: int, needs_approval: bool, fallbacks: dict[str, int]
) -> Question:
    """Asked before every alert goes out; it names the languages without a text of their own,
    whose subscribers get the written text."""
    reach = plural(recipients, "subscriber")
    detail = (
        f"A second moderator must approve it; then it goes to {reach}."
        if needs_approval
        else f"It goes out now to {reach}; it cannot be unsent."
    )
    if fallbacks:
        detail += (
            f" {plural(len(fallbacks), 'language')} without a text of their own get the written"
            f" text: {fallback_words(fallbacks)}."
        )
    return Question(
        title="Publish this alert?",
        detail=detail,
        button="Publish",
        cancel=f"/mod/reports/{report_id}",
        submit=("decision", "publish"),
        cancel_submit=("decision", "preview"),
    )


def _reject_question(report_id: int) -> Question:
    return Question(
        title=f"Reject report #{report_id}?",
        detail="Nothing is sent, and the report can no longer be published.",
        button="Reject",
        cancel=f"/mod/reports/{report_id}",
        submit=("decision", "reject"),
        danger=True,
    )


def _duplicate_question(report_id: int, ref: str) -> Question:
    return Question(
        title=f"Add report #{report_id} to alert {ref}?",
        detail="The report is closed as a duplicate and the alert counts one more report;"
        " nothing is sent.",
        button="Add to alert",
        cancel=f"/mod/reports/{report_id}",
        submit=("decision", "duplicate"),
    )


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


@dataclass(frozen=True)
class Decided:
    """Where to go next, and the question to ask before the decision is kept (None: none)."""

    location: str
    question: Question | None = None


def _publish(d: Deciding) -> Decided:
    composer = Composer.from_form(d.form).resolved(d.session)
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
    ref = result.alert_ref or ""
    who = alert_review.audience(d.session, ref=ref)
    recipients = who.would_reach if who.status == AlertStatus.pending_approval else who.waiting
    fallbacks = alert_review.fallback_reach(
        d.session,
        region_codes=data.regions,
        severity=data.severity,
        texts=decisions.written_texts(data),
    )
    pending = who.status == AlertStatus.pending_approval
    return Decided(
        f"/mod/alerts/{ref}?done={result.alert_status}",
        _publish_question(d.report_id, recipients, pending, fallbacks),
    )


def _reject(d: Deciding) -> Decided:
    data = RejectIn.model_validate(d.body(reason=d.form.get("reason", "")))
    decisions.reject(
        d.session, report_id=d.report_id, moderator=d.moderator, data=data, crypto=d.crypto
    )
    return Decided("/mod?done=rejected", _reject_question(d.report_id))


def _request_info(d: Deciding) -> Decided:
    data = RequestInfoIn.model_validate(d.body(question=d.form.get("question", "")))
    decisions.request_info(
        d.session, report_id=d.report_id, moderator=d.moderator, data=data, crypto=d.crypto
    )
    return Decided("/mod?done=asked")


NO_ALERT_CHOSEN = FieldError(
    ("alert_ref",), "missing", "Add to an existing alert: choose the alert this report repeats."
)


def _duplicate(d: Deciding) -> Decided:
    if not str(d.form.get("alert_ref", "")).strip():
        raise InvalidInput([NO_ALERT_CHOSEN])
    data = DuplicateIn.model_validate(d.body(alert_ref=d.form.get("alert_ref", "")))
    result = decisions.duplicate(d.session, report_id=d.report_id, moderator=d.moderator, data=data)
    ref = result.alert_ref or ""
    return Decided(f"/mod/alerts/{ref}?done=duplicate", _duplicate_question(d.report_id, ref))


# What each decision does: read its form, call its service, and say where to go next (and
# what to ask first).
DECISIONS: dict[str, Callable[[Deciding], Decided]] = {
    "publish": _publish,
    "reject": _reject,
    "request_info": _request_info,
    "duplicate": _duplicate,
}
UNKNOWN_DECISION = FieldError(
    ("decision",), "unknown_decision", "choose publish, reject, request_info or duplicate"
)


@router.post("/reports/{report_id}/decide")
def decide(report_id: RowId, page: ModPageDep, form: FormDep) -> Response:
    decision = str(form.get("decision", ""))
    composer = Composer.from_form(form) if "text" in form else None
    if decision == "preview":
        return _review(page, report_id, composer=composer)
    act = DECISIONS.get(decision)
    if act is None:
        raise InvalidInput([UNKNOWN_DECISION])
    try:
        done = act(
            Deciding(page.session, report_id, page.ms.moderator, form, page.crypto, page.settings)
        )
    except (ValidationError, InvalidInput, Conflict) as exc:
        status = exc.status_code if isinstance(exc, Conflict | InvalidInput) else 422
        again = _review(page, report_id, composer=composer, errors=messages(exc), status=status)
        refuse(again)  # what the form said is kept on the page; nothing is written
    if done.question is not None and not is_confirmed(form):
        ask(page.request, page.ms, form, done.question)  # and what the decision wrote is undone
    return redirect(page.request, page.ms, done.location)


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
