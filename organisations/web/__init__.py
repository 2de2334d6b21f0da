"""The organisations' web pages at /org, on the moderators' login and look.

session (who is signed in, and rendering), home (the organisation's page and invite codes),
digest (the live alerts for its regions, to print), report (a report for a worker who agreed
to it), check (a client's number); admin (/mod/organisations, where admins manage them).
"""

from __future__ import annotations

from fastapi import APIRouter

from organisations.web import admin, check, digest, home, report

router = APIRouter(include_in_schema=False)
for part in (home, digest, report, check, admin):
    router.include_router(part.router)
