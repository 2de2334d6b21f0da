"""For admins: objections by reported people, with where each is listed and the deadline;
deciding asks first (confirm.py), as it changes or withdraws alerts."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.deps import CryptoDep, SessionDep
from app.errors import Conflict, FieldError, InvalidInput, NotFound
from app.web import refuse
from moderation.objections import service
from moderation.objections.models import OUTCOMES, ObjectionStatus
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
PATH = "/mod/objections"

OUTCOME_WORDS = {
    ObjectionStatus.upheld: (
        "Uphold",
        "The identifier leaves every alert naming it, so checks no longer find it; live"
        " alerts naming it get a correction sent to everyone they went to, and one that"
        " named nothing else is retracted.",
    ),
    ObjectionStatus.partly_upheld: (
        "Partly uphold",
        "The identifier leaves every alert naming it, so checks no longer find it; live"
        " alerts naming it stay, and their recipients get a correction.",
    ),
    ObjectionStatus.rejected: ("Reject", "Nothing changes in the alerts."),
}


def question(chosen: ObjectionStatus | str, objection_id: int) -> Question:
    outcome = ObjectionStatus(chosen)
    button, detail = OUTCOME_WORDS[outcome]
    return Question(
        title=f"{button} objection {objection_id}?",
        detail=detail
        + " The objector's reason and contact are deleted; they can read your answer.",
        button=button,
        cancel=PATH,
        submit=("outcome", outcome.value),
        danger=outcome != ObjectionStatus.rejected,
    )


def _page(
    request: Request,
    ms: ModSession,
    session: SessionDep,
    crypto: CryptoDep,
    *,
    status: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    return render(
        request, ms, "mod_objections.html", section="objections",
        items=service.queue(session, crypto=crypto, admin=ms.moderator),
        outcomes=[(o.value, OUTCOME_WORDS[o][0]) for o in OUTCOMES], question=question,
        status=status, error=error,
    )  # fmt: skip


@router.get("/objections")
def objections_page(
    request: Request, ms: ModSessionDep, session: SessionDep, crypto: CryptoDep
) -> HTMLResponse:
    admin_only(ms)
    return _page(request, ms, session, crypto)


@router.post("/objections")
def decide(
    request: Request, ms: ModSessionDep, form: FormDep, session: SessionDep, crypto: CryptoDep
) -> Response:
    admin_only(ms)
    target = row_id(form.get("objection_id"))
    outcome = str(form.get("outcome", ""))
    try:
        if not target:
            raise NotFound("No such objection.")
        answer = str(form.get("answer", "")).strip()
        problems = []
        if outcome not in {o.value for o in OUTCOMES}:
            problems.append(
                FieldError(
                    ("outcome",), "invalid_outcome", "choose uphold, partly uphold or reject"
                )
            )
        if not answer:
            problems.append(
                FieldError(("answer",), "missing", "write the answer the objector will read")
            )
        if problems:
            raise InvalidInput(problems)
        service.decide(
            session,
            objection_id=target,
            outcome=ObjectionStatus(outcome),
            answer=answer,
            admin=ms.moderator,
            crypto=crypto,
        )
    except (Conflict, NotFound, InvalidInput) as exc:
        refuse(_page(request, ms, session, crypto, status=422, error=exc.message))
    if not is_confirmed(form):
        ask(request, ms, form, question(ObjectionStatus(outcome), target))
    return redirect(request, ms, f"{PATH}?done=decided")
