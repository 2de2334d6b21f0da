"""FastAPI dependencies of the alerts API and pages, as `Annotated` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from alerts.delivery.messenger import Messenger


async def get_messenger(request: Request) -> Messenger:
    """Which channels are offered (app.main builds it from the providers)."""
    messenger: Messenger = request.app.state.messenger
    return messenger


MessengerDep = Annotated[Messenger, Depends(get_messenger)]
