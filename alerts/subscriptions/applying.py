"""Applying to be verified: the form a pending subscriber reaches by the link on the page
after confirming (or in the reply to JOIN), and `POST /api/v1/members/application`.

The link carries a one-time token, never the contact; the form keeps it in a hidden field
and spends it when the application is stored. The API takes that token, or a member token
from the sign-in code (alerts/check/members.py), as its bearer token.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form
from fastapi.responses import HTMLResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from sqlmodel import Session

from alerts import applications
from alerts.check import members
from alerts.models import Subscriber
from alerts.subscriptions import forms
from alerts.subscriptions.forms import LIMITED
from alerts.subscriptions.schemas import RESPONSES
from app.crypto import Crypto
from app.db import aware
from app.deps import CryptoDep, PagesDep, RateLimit, SessionDep, SettingsDep
from app.errors import Conflict, InvalidInput, Unauthorized
from app.i18n import Translator
from app.reports.models import Language
from app.schemas import BODY_ERRORS, Strict
from app.web import Pages, refuse

pages_router = APIRouter(include_in_schema=False)
api_router = APIRouter(tags=["subscriptions"])
Long = Annotated[str, Form(max_length=4000)]  # longer than allowed: the page says by how much
Token = Annotated[str, Form(max_length=100)]


# ---- the page -----------------------------------------------------------------------------


def _form(
    pages: Pages,
    lang: Language,
    token: str,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    return pages.render(
        "apply.html",
        lang=lang.value,
        status_code=422 if errors else 200,
        token=token,
        values=values or {},
        errors=errors or {},
        max_evidence=applications.EVIDENCE_CHARS,
        max_link=applications.LINK_CHARS,
    )


def _expired(pages: Pages, lang: Language) -> HTMLResponse:
    return forms.message_page(pages, lang, "error.title", "apply.link_expired", 404)


@pages_router.get("/{lang}/apply")
def apply_page(
    lang: Language, session: SessionDep, crypto: CryptoDep, pages: PagesDep, t: str = ""
) -> HTMLResponse:
    subscriber = applications.subscriber_for_link(session, token=t[:100], crypto=crypto)
    if subscriber is None:
        return _expired(pages, lang)
    return _form(pages, lang, t[:100])


@pages_router.post("/{lang}/apply", dependencies=LIMITED)
def apply(
    lang: Language,
    session: SessionDep,
    crypto: CryptoDep,
    pages: PagesDep,
    token: Token = "",
    evidence: Long = "",
    link: Long = "",
) -> HTMLResponse:
    _ = Translator(lang.value)
    if applications.subscriber_for_link(session, token=token, crypto=crypto) is None:
        return _expired(pages, lang)
    try:
        applications.checked(evidence, link)
    except InvalidInput as exc:
        errors = {
            str(e.loc[0]): _(
                "apply.error_evidence" if e.loc[0] == "evidence" else "apply.error_link"
            )
            for e in exc.errors
        }
        refuse(
            _form(pages, lang, token, values={"evidence": evidence, "link": link}, errors=errors)
        )
    subscriber = applications.spend_link(session, token=token, crypto=crypto)
    try:
        applications.submit(
            session, subscriber=subscriber, evidence=evidence, link=link, cipher=crypto.cipher
        )
    except Conflict:
        refuse(forms.message_page(pages, lang, "apply.not_now_title", "apply.not_now", 409))
    return forms.message_page(pages, lang, "apply.received_title", "apply.received", 200)


# ---- the API ------------------------------------------------------------------------------


class ApplicationIn(Strict):
    evidence: str = Field(
        min_length=1,
        max_length=applications.EVIDENCE_CHARS,
        description="What lets moderators see that you work: a project that knows you, a few"
        " words. Encrypted, and deleted when a moderator decides",
    )
    link: str | None = Field(
        default=None, max_length=applications.LINK_CHARS, description="A link to your ad"
    )


class ApplicationOut(BaseModel):
    received_at: datetime
    detail: str = "Received: a moderator will decide, and you will be told by SMS or email."


applicant_bearer = HTTPBearer(
    auto_error=False,
    description="A member token from /api/v1/members/verify, or the token (`t`) of the"
    " application link",
)


@dataclass(frozen=True)
class Claim:
    """Who says they are applying: a member token's subscriber, or an application link."""

    member_id: int | None
    link_token: str | None


async def applicant_claim(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(applicant_bearer)],
) -> Claim:
    """Read before the body, so that without a token the answer is 401 whatever was sent."""
    if credentials is None:
        raise Unauthorized(
            "Applying needs a bearer token: a member token (from /api/v1/members/verify) or the"
            " application link's token."
        )
    try:
        return Claim(members.claimed_id(credentials.credentials, settings), None)
    except Unauthorized:
        return Claim(None, credentials.credentials[:100])


def _applicant(session: Session, crypto: Crypto, claim: Claim) -> Subscriber:
    if claim.member_id is not None:
        return members.confirmed(session, claim.member_id)
    try:
        return applications.spend_link(session, token=claim.link_token or "", crypto=crypto)
    except InvalidInput:
        raise Unauthorized("The token is invalid or has expired.") from None


@api_router.post(
    "/members/application",
    status_code=201,
    summary="A pending member applies to be verified: a moderator reads it and decides",
    responses={
        401: {"description": "No member token or link token, or an expired one"},
        409: {"description": "Not pending, or an application is waiting already"},
        **BODY_ERRORS,
        **RESPONSES,
    },
    dependencies=[Depends(RateLimit("lookup"))],
)
def submit_application(
    data: ApplicationIn,
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
    claim: Annotated[Claim, Depends(applicant_claim)],
) -> ApplicationOut:
    subscriber = _applicant(session, crypto, claim)
    application = applications.submit(
        session, subscriber=subscriber, evidence=data.evidence, link=data.link, cipher=crypto.cipher
    )
    return ApplicationOut(received_at=aware(application.received_at))
