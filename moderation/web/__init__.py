"""The moderators' web interface at /mod: server-rendered, a little JavaScript.

session (the cookie, CSRF, rendering), login (logging in and out, the second factor),
queue, review (reading a report and deciding; composer holds the alert composer),
alerts, admin (the audit log, accounts), members (membership), applications (the
verification queue), check_watch (members who check too many numbers); for admins,
statistics (and the yearly evaluation), objections (by reported people) and police
(exports); confirm asks before what cannot be undone. Each page calls one service
function; a form refused for what it said comes back with the reason (app.web.refuse).
"""

from __future__ import annotations

from fastapi import APIRouter

from moderation.web import (
    admin,
    alerts,
    applications,
    check_watch,
    login,
    members,
    objections,
    police,
    queue,
    review,
    statistics,
)
from moderation.web.session import make_pages

__all__ = ["make_pages", "router"]

router = APIRouter(include_in_schema=False)
for part in (
    login,
    queue,
    review,
    alerts,
    admin,
    members,
    applications,
    check_watch,
    statistics,
    objections,
    police,
):
    router.include_router(part.router)
