"""/org/report: a report for a worker who agreed to it, on the public report form's fields."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from app.deps import CryptoDep, SessionDep, SettingsDep
from app.errors import InvalidInput
from app.i18n import LANGUAGE_NAMES
from app.reports import pages as report_pages
from app.reports.models import Language
from app.reports.service import AlreadySubmitted
from app.web import refuse
from moderation.web.session import FormDep
from organisations import service
from organisations.web.session import OrgSession, OrgSessionDep, render_org

router = APIRouter(prefix="/org")

NO_CONSENT = "The worker must agree to this report: ask them, then tick the box."
WRONG_LANGUAGE = "Choose the language the report is written in."


class OrgReportForm(report_pages.ReportForm):
    """The public report form's fields, the worker's consent, and the report's language
    (the page is in English; the report may not be)."""

    worker_consent: str = ""
    language: str = ""


def _form(
    request: Request,
    org: OrgSession,
    session: Session,
    *,
    values: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    return render_org(
        request,
        org,
        "org_report.html",
        status=status,
        section="report",
        values=values,
        errors=errors,
        error=error,
        languages=list(LANGUAGE_NAMES.items()),
        # As the public form: a double tap files one report, not two.
        form_token=values.get("form_token") or secrets.token_urlsafe(24),
        **report_pages.form_fields(session),
    )


@router.get("/report")
def report_form(request: Request, org: OrgSessionDep, session: SessionDep) -> HTMLResponse:
    return _form(request, org, session, values={"incident_date": "", "language": "nl"}, errors={})


@router.post("/report")
def send_report(
    request: Request,
    org: OrgSessionDep,
    posted: FormDep,
    form: Annotated[OrgReportForm, Form()],
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
) -> HTMLResponse:
    """The receipt code is shown on the answer once; it is stored as a keyed hash only."""
    request.app.state.limiter.hit("submit", service.limit_key(org.ms.moderator))
    # Read in English, the page's language; the report keeps the language it is written in.
    reading = report_pages.read_form(session, settings, Language.en, form)
    if form.language not in LANGUAGE_NAMES:
        reading.errors["language"] = WRONG_LANGUAGE
    if not form.worker_consent:
        reading.errors["worker_consent"] = NO_CONSENT
    values = form.model_dump()
    if reading.errors or reading.data is None:
        refuse(_form(request, org, session, values=values, errors=reading.errors, status=422))
    try:
        code = service.submit_report(
            session,
            person=org.ms.moderator,
            data=reading.data.model_copy(update={"language": Language(form.language)}),
            crypto=crypto,
            default_region=settings.default_country,
            form_token=form.form_token or None,
        )
    except AlreadySubmitted as exc:
        refuse(_form(request, org, session, values={}, errors={}, status=409, error=exc.message))
    except InvalidInput as exc:  # only if a region went out of use between the two
        reading.add(exc.errors)
        refuse(_form(request, org, session, values=values, errors=reading.errors, status=422))
    return render_org(request, org, "org_report_sent.html", section="report", receipt_code=code)
