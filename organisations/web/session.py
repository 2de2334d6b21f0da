"""An organisation's person in the browser: the moderators' login cookie, for /org.

The same session, CSRF and renderer as /mod (moderation.web.session); a staff account is
sent to /mod, and an account whose organisation was deactivated is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from app.deps import SessionDep
from moderation.models import Role
from moderation.web.session import ModSession, ModSessionDep, SeeOther, render
from organisations import service
from organisations.models import Organisation


@dataclass(frozen=True)
class OrgSession:
    ms: ModSession
    organisation: Organisation

    @property
    def organisation_id(self) -> int:
        assert self.organisation.id is not None
        return self.organisation.id


def org_session(ms: ModSessionDep, session: SessionDep) -> OrgSession:
    if ms.moderator.role != Role.organisation:
        raise SeeOther("/mod")
    return OrgSession(ms, service.of_account(session, ms.moderator))


OrgSessionDep = Annotated[OrgSession, Depends(org_session)]


def render_org(
    request: Request,
    org: OrgSession,
    template: str,
    *,
    status: int = 200,
    lang: str = "en",
    **context: Any,
) -> HTMLResponse:
    """An /org page, with the organisation's name and nav (org_base.html)."""
    return render(
        request,
        org.ms,
        template,
        status=status,
        lang=lang,
        organisation=org.organisation,
        **context,
    )
