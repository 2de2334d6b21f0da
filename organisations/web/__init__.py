"""The organisations' web pages at /org, on the moderators' login and look.

session (who is signed in, and rendering), home (the organisation's page and invite codes),
digest (the live alerts for its regions, to print).
"""

from __future__ import annotations

from fastapi import APIRouter

from organisations.web import digest, home

router = APIRouter(include_in_schema=False)
for part in (home, digest):
    router.include_router(part.router)
