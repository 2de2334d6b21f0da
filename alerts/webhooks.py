"""Twilio's webhooks: inbound SMS (the subscribers' commands) and delivery status.

Both check Twilio's signature against REDFLAG_PUBLIC_URL; anything unsigned is a 403.
"""

from __future__ import annotations

import logging
from typing import Annotated, NoReturn

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.exc import DBAPIError
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from alerts.delivery import verdict
from alerts.models import ProcessedWebhook
from alerts.subscriptions import commands
from app.db import utcnow
from app.deps import CryptoDep, SessionDep, SettingsDep
from app.errors import Forbidden
from app.handlers import is_unavailable
from app.i18n import Translator
from app.settings import Settings
from app.web import refuse

router = APIRouter(
    prefix="/webhooks/twilio",
    tags=["webhooks"],
    responses={403: {"description": "Not signed by Twilio for this address"}},
)
log = logging.getLogger("redflag.webhooks")


async def twilio_params(request: Request) -> dict[str, str]:
    """The POSTed parameters, if Twilio signed them for this URL; 403 otherwise."""
    settings: Settings = request.app.state.settings
    form = await request.form()
    params = {key: str(value) for key, value in form.multi_items()}
    url = settings.public_url.rstrip("/") + request.url.path
    signature = request.headers.get("x-twilio-signature", "")
    token = settings.twilio_auth_token.get_secret_value() if settings.twilio_auth_token else ""
    if not token or not signature or not RequestValidator(token).validate(url, params, signature):
        raise Forbidden("The request is not signed by Twilio for this address.")
    return params


TwilioParams = Annotated[dict[str, str], Depends(twilio_params)]


def twiml(text: str | None) -> Response:
    """A reply for Twilio to send (none for None)."""
    reply = MessagingResponse()
    if text:
        reply.message(text)
    return Response(str(reply), media_type="application/xml")


@router.post("/sms", summary="Inbound SMS: JOIN, STOP, HELP, CHECK, LANG", response_class=Response)
def inbound_sms(
    params: TwilioParams,
    request: Request,
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
) -> Response:
    try:
        message_id = params.get("MessageSid") or params.get("SmsSid")
        if message_id:
            key = crypto.index.digest("inbound-sms", message_id)
            if session.get(ProcessedWebhook, key) is not None:
                return twiml(None)  # a replay: already handled, and already answered
            session.add(ProcessedWebhook(key_hash=key, received_at=utcnow()))
            session.flush()
        reply = commands.handle(
            session,
            sender=params.get("From", ""),
            body=params.get("Body", ""),
            crypto=crypto,
            settings=settings,
            limiter=request.app.state.limiter,
        )
    except DBAPIError as exc:
        if not is_unavailable(exc):
            raise
        try_again_later(params.get("Body", ""))
    return twiml(reply)


def try_again_later(body: str) -> NoReturn:
    """The database is unreachable. Twilio does not retry an inbound SMS, so a 503 would
    lose a JOIN or CHECK without the sender knowing: tell them to send it again, in the
    keyword's language (a subscriber's own is in the database), else English."""
    log.warning("database unavailable; an inbound SMS was answered: try again later")
    language = commands.parse(body).language or "en"
    refuse(twiml(Translator(language)("sms.unavailable")))  # 200: Twilio sends the reply


@router.post(
    "/status", status_code=204, summary="Delivery reports for sent SMS", response_class=Response
)
def status_callback(params: TwilioParams, session: SessionDep) -> Response:
    verdict.status_report(
        session,
        provider_id=params.get("MessageSid", ""),
        status=params.get("MessageStatus", ""),
        error_code=params.get("ErrorCode") or None,
    )
    return Response(status_code=204)
