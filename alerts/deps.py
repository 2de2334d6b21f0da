"""FastAPI dependencies of the alerts API and pages, as `Annotated` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from alerts.delivery.messenger import Messenger


async def get_messenger(request: Request) -> Messenger:
    """What sends a code or a link while a request waits (app.main builds it)."""
    messenger: Messenger = request.app.state.messenger
    return messenger


MessengerDep = Annotated[Messenger, Depends(get_messenger)]
