"""/org/digest: the live alerts for the organisation's regions, on one printable page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app.db import utcnow
from app.deps import CryptoDep, SessionDep, SettingsDep
from app.i18n import LANGUAGE_NAMES
from organisations import digest
from organisations.web.session import OrgSessionDep, render_org

router = APIRouter(prefix="/org")


@router.get("/digest")
def digest_page(
    request: Request,
    org: OrgSessionDep,
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
    lang: str = "",
) -> HTMLResponse:
    """In the language asked for (?lang=nl), else English; an unknown one is English too,
    with the choice of languages on the page."""
    chosen = lang if lang in LANGUAGE_NAMES else "en"
    found = digest.live(
        session,
        organisation_id=org.organisation_id,
        cipher=crypto.cipher,
        masking=settings.identifier_masking,
    )
    return render_org(
        request,
        org,
        "org_digest.html",
        lang=chosen,
        section="digest",
        digest=found,
        printed=utcnow().date(),
        public_url=settings.public_url,
    )
