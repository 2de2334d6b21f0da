"""Alerts: the list, one alert with its history, four-eyes approval (or sending it back to
its author), updates, retraction. What goes out asks first (confirm.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NoReturn

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from alerts.models import AlertStatus, Severity
from app.db import utcnow
from app.deps import SessionDep
from app.errors import Conflict, Forbidden, InvalidInput
from app.regions import service as regions_service
from app.reports.models import Category
from app.web import refuse
from moderation import alert_review, audit, sent_back
from moderation.schemas import (
    MAX_NOTE,
    MAX_UPDATE_TEXT,
    AlertDetail,
    ResubmitIn,
    RetractIn,
    SendBackIn,
    UpdateIn,
)
from moderation.web.composer import (
    CHECKED_FLAGS,
    asks_for_check,
    languages_context,
    messages,
    named_regions,
    region_choices,
    tick_message,
    typed_texts,
)
from moderation.web.confirm import Question, ask, is_confirmed, plural
from moderation.web.session import FormDep, ModPage, ModPageDep, ModSessionDep, redirect, render

router = APIRouter(prefix="/mod")


@router.get("/alerts")
def alerts_page(request: Request, ms: ModSessionDep, session: SessionDep) -> HTMLResponse:
    return render(request, ms, "mod_alerts.html", alerts=alert_review.list_alerts(session))


@router.get("/alerts/{ref}")
def alert_page(ref: str, page: ModPageDep) -> HTMLResponse:
    return _alert(page, ref)


# ---- the questions before what goes out ---------------------------------------------------


def _approve_question(ref: str, who: alert_review.Audience) -> Question:
    return Question(
        title=f"Approve and publish {ref}?",
        detail=f"It goes out now to {plural(who.would_reach, 'subscriber')} by SMS and email;"
        " it cannot be unsent.",
        button="Approve and publish",
        cancel=f"/mod/alerts/{ref}",
    )


def _update_question(ref: str, who: alert_review.Audience, text: str | None = None) -> Question:
    return Question(
        title=f"Send this update on {ref}?",
        detail=f"It goes to {plural(who.reached + who.waiting, 'recipient')} of the alert,"
        " in their language; it cannot be unsent.",
        button="Send update",
        cancel=f"/mod/alerts/{ref}",
        quote=text,
    )


def _retract_question(ref: str, who: alert_review.Audience) -> Question:
    if who.status == AlertStatus.pending_approval:
        detail = "Nothing has gone out yet: it will never be sent."
    else:
        told = f"This tells {plural(who.reached, 'recipient')} that the alert is withdrawn"
        cancels = f"cancels {plural(who.waiting, 'message')} not sent yet"
        if who.reached and who.waiting:
            detail = f"{told}, and {cancels}."
        elif who.reached:
            detail = f"{told}."
        elif who.waiting:
            detail = f"Nobody has received it yet: this {cancels}."
        else:
            detail = "Nobody has received it."
        detail += " It cannot be published again."
    return Question(
        title=f"Retract alert {ref}?",
        detail=detail,
        button="Retract",
        cancel=f"/mod/alerts/{ref}",
        danger=True,
    )


def _alert(
    page: ModPage,
    ref: str,
    *,
    error: str | None = None,
    status: int = 200,
    update: Mapping[str, object] | None = None,
    update_flagged: bool = False,
    edit: Mapping[str, object] | None = None,
) -> HTMLResponse:
    """The alert's page; `update` is an update as typed, shown again (with the redaction
    check when it was refused for flags)."""
    session = page.session
    detail = alert_review.detail(session, ref=ref, crypto=page.crypto, settings=page.settings)
    who = alert_review.audience(session, ref=ref)
    history = audit.entries(session, target=("alert", detail.ref), limit=50)
    return render(
        page.request,
        page.ms,
        "mod_alert.html",
        status=status,
        alert=detail,
        history=history,
        error=error,
        can_update=detail.status == AlertStatus.published and detail.expires_at > utcnow(),
        open_update=update is not None,
        update=update or {"text": "", "texts": {}},
        update_flagged=update_flagged,
        checked_flags_label=CHECKED_FLAGS,
        max_update=MAX_UPDATE_TEXT,
        max_note=MAX_NOTE,
        ask_approve=_approve_question(detail.ref, who),
        ask_update=_update_question(detail.ref, who),
        ask_retract=_retract_question(detail.ref, who),
        edit=edit or _as_it_is(detail),
        severities=[s.value for s in Severity],
        all_categories=[c.value for c in Category],
        region_choices=region_choices(session) if detail.sent_back else [],
        **languages_context(),
    )


def _refused(
    page: ModPage,
    ref: str,
    exc: Conflict | Forbidden | InvalidInput | ValidationError,
    *,
    edit: Mapping[str, object] | None = None,
) -> NoReturn:
    """The alert's page again, saying what is wrong; nothing is kept."""
    status = 422 if isinstance(exc, ValidationError) else exc.status_code
    check = asks_for_check(exc)
    error = tick_message(check, "above the button") if check else "; ".join(messages(exc))
    refuse(_alert(page, ref, error=error, status=status, edit=edit))


@router.post("/alerts/{ref}/approve")
def approve(ref: str, page: ModPageDep, form: FormDep) -> Response:
    who = alert_review.audience(page.session, ref=ref)
    try:
        result = alert_review.approve(page.session, ref=ref, moderator=page.ms.moderator)
    except (Conflict, Forbidden) as exc:
        _refused(page, ref, exc)
    if not is_confirmed(form):
        ask(page.request, page.ms, form, _approve_question(result.ref, who))
    return redirect(page.request, page.ms, f"/mod/alerts/{result.ref}?done=approved")


@router.post("/alerts/{ref}/update")
def send_update(ref: str, page: ModPageDep, form: FormDep) -> Response:
    who = alert_review.audience(page.session, ref=ref)
    typed = {"text": form.get("text", ""), "texts": typed_texts(form)}
    check = None
    try:
        data = UpdateIn.model_validate(
            {**typed, "checked_flags": form.get("checked_flags") == "true"}
        )
        result = alert_review.send_update(
            page.session,
            ref=ref,
            moderator=page.ms.moderator,
            data=data,
            crypto=page.crypto,
            settings=page.settings,
        )
    except (ValidationError, InvalidInput) as exc:
        check = asks_for_check(exc)
        error = (
            tick_message(check, "below the update")
            if check
            else f"Write the update, and each language's text you add: 1 to {MAX_UPDATE_TEXT}"
            f" characters ({'; '.join(messages(exc))})."
        )
        status = 422
    except Conflict as exc:
        error, status = exc.message, 409
    else:
        if not is_confirmed(form):
            ask(page.request, page.ms, form, _update_question(result.ref, who, data.text))
        return redirect(page.request, page.ms, f"/mod/alerts/{result.ref}?done=updated")
    refuse(
        _alert(
            page, ref, error=error, status=status, update=typed, update_flagged=check is not None
        )
    )


@router.post("/alerts/{ref}/retract")
def retract(ref: str, page: ModPageDep, form: FormDep) -> Response:
    who = alert_review.audience(page.session, ref=ref)
    try:
        data = RetractIn.model_validate({"reason": form.get("reason", "")})
        result = alert_review.retract(
            page.session, ref=ref, moderator=page.ms.moderator, data=data, crypto=page.crypto
        )
    except ValidationError:
        error, status = "Give a reason for retracting.", 422
    except Conflict as exc:
        error, status = exc.message, 409
    else:
        if not is_confirmed(form):
            ask(page.request, page.ms, form, _retract_question(result.ref, who))
        return redirect(page.request, page.ms, f"/mod/alerts/{result.ref}?done=retracted")
    refuse(_alert(page, ref, error=error, status=status))


@router.post("/alerts/{ref}/send-back")
def send_back(ref: str, page: ModPageDep, form: FormDep) -> Response:
    """Not asked first: the author only has to resubmit it."""
    try:
        data = SendBackIn.model_validate({"note": form.get("note", "")})
        result = sent_back.send_back(
            page.session, ref=ref, moderator=page.ms.moderator, data=data, crypto=page.crypto
        )
    except ValidationError:
        error = f"Write a note for the author: 1 to {MAX_NOTE} characters."
        refuse(_alert(page, ref, error=error, status=422))
    except (Conflict, Forbidden) as exc:
        _refused(page, ref, exc)
    return redirect(page.request, page.ms, f"/mod/alerts/{result.ref}?done=sent_back")


def _as_it_is(alert: AlertDetail) -> Mapping[str, object]:
    """The change form's fields as the alert stands."""
    return {
        "text": alert.text,
        "texts": alert.texts,
        "severity": alert.severity.value,
        "regions": list(zip(alert.region_codes, alert.regions, strict=True)),
        "more_regions": "",
        "categories": [c.value for c in alert.categories],
        "identifiers": [f"{i.kind.value}|{i.value}" for i in alert.identifiers],
        "all_identifiers": [f"{i.kind.value}|{i.value}" for i in alert.identifiers],
    }


@router.post("/alerts/{ref}/resubmit")
def resubmit(ref: str, page: ModPageDep, form: FormDep) -> Response:
    """The author's changed alert: it waits for approval again."""
    ticked = [str(c) for c in form.getlist("regions")]
    identifiers = [str(i) for i in form.getlist("identifiers")]
    more = str(form.get("more_regions", ""))
    typed: dict[str, object] = {
        "text": str(form.get("text", "")),
        "texts": typed_texts(form),
        "severity": str(form.get("severity", "")),
        "categories": [str(c) for c in form.getlist("categories")],
        "more_regions": more,
        "all_identifiers": [str(i) for i in form.getlist("all_identifiers")],
        "identifiers": identifiers,
        "checked_flags": form.get("checked_flags") == "true",
    }
    try:
        codes = list(dict.fromkeys(ticked + named_regions(page.session, more)))
        data = ResubmitIn.model_validate(
            {
                **{
                    k: typed[k]
                    for k in ("text", "texts", "severity", "categories", "checked_flags")
                },
                "regions": codes,
                "identifiers": [
                    dict(zip(("kind", "value"), i.split("|", 1), strict=True))
                    for i in identifiers
                    if "|" in i
                ],
            }
        )
        result = sent_back.resubmit(
            page.session,
            ref=ref,
            moderator=page.ms.moderator,
            data=data,
            crypto=page.crypto,
            settings=page.settings,
        )
    except (ValidationError, InvalidInput, Conflict, Forbidden) as exc:
        names = regions_service.names(page.session, ticked)
        flagged = asks_for_check(exc) is not None
        edit = {**typed, "regions": list(zip(ticked, names, strict=True)), "flagged": flagged}
        _refused(page, ref, exc, edit=edit)
    return redirect(page.request, page.ms, f"/mod/alerts/{result.ref}?done=resubmitted")
