"""Sending a one-off message (a code, a link) while answering a request."""

from __future__ import annotations

import anyio.from_thread

from alerts.delivery.providers import Message, Provider, SendError
from alerts.subscriptions.service import Outgoing
from app.errors import FieldError, InvalidInput, RedflagError


class SendFailed(RedflagError):
    status_code = 503

    def __init__(self) -> None:
        super().__init__(
            "The message could not be sent right now. Please try again in a few minutes."
        )


class Messenger:
    def __init__(self, providers: dict[str, Provider]) -> None:
        self.providers = providers

    def offers(self, channel: str) -> bool:
        return channel in self.providers

    def require(self, channel: str) -> None:
        if not self.offers(channel):
            raise InvalidInput(
                [FieldError(("channel",), "channel_unavailable", f"{channel} is not offered here")]
            )

    def send_now(self, outgoing: Outgoing) -> None:
        """From a request handler's thread: send through the app's event loop and wait."""
        self.require(outgoing.channel)
        message = Message(outgoing.channel, outgoing.contact, outgoing.text, outgoing.subject)
        try:
            anyio.from_thread.run(self.providers[outgoing.channel].send, message)
        except SendError:
            raise SendFailed() from None
