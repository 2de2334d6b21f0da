"""The organisations' web pages at /org, on the moderators' login and look.

session (who is signed in, and rendering), home (the organisation's page and invite codes).
"""

from __future__ import annotations

from fastapi import APIRouter

from organisations.web import home

router = APIRouter(include_in_schema=False)
for part in (home,):
    router.include_router(part.router)
