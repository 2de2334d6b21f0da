"""Which channels this service sends on, for the forms and routes that take a contact.

Codes and links are never sent while a request waits: they go to the outbox
(outbox.send_once) and the delivery worker sends them, so no answer tells by its time or
its status whether a number or address is subscribed.
"""

from __future__ import annotations

from alerts.delivery.providers import Provider
from app.errors import FieldError, InvalidInput


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
