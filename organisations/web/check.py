"""/org/check: is this number named in a live alert? The member's check, for organisations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from app.deps import CryptoDep, SessionDep, SettingsDep
from app.errors import InvalidInput
from app.i18n import Translator, phone_examples
from app.web import refuse
from moderation.web.session import FormDep
from organisations import service
from organisations.web.session import OrgSessionDep, render_org

router = APIRouter(prefix="/org")

Number = Annotated[str, Form(max_length=40)]


@router.get("/check")
def check_form(request: Request, org: OrgSessionDep) -> HTMLResponse:
    return render_org(request, org, "org_check.html", section="check", values={}, errors={})


@router.post("/check")
def check(
    request: Request,
    org: OrgSessionDep,
    posted: FormDep,
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
    number: Number = "",
) -> HTMLResponse:
    """The answer, and the form again for the next number; the number is not kept."""
    limiter = request.app.state.limiter
    limiter.hit("check", service.limit_key(org.ms.moderator))
    try:
        result = service.check(
            session,
            organisation=org.organisation,
            person=org.ms.moderator,
            number=number,
            crypto=crypto,
            settings=settings,
            limiter=limiter,
        )
    except InvalidInput:
        message = Translator("en")(
            "error.invalid_phone", **phone_examples(settings.default_country)
        )
        refuse(
            render_org(
                request,
                org,
                "org_check.html",
                status=422,
                section="check",
                values={"number": number},
                errors={"number": message},
            )
        )
    return render_org(
        request, org, "org_check.html", section="check", result=result, values={}, errors={}
    )
