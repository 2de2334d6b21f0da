"""The public pages for subscribers: sign up, confirm, leave, and check a number.

Like the report form: server-rendered, complete without JavaScript, NL/EN/ES, no
cookies. Steps carry what they need in hidden fields of the page itself (which is
never cached), so nothing identifying is left in the browser's history or storage.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlmodel import Session

from alerts.check import members
from alerts.check.service import check_number, limit_key
from alerts.delivery.messenger import Messenger, SendFailed
from alerts.models import Channel, Severity
from alerts.subscriptions import service as subscriptions
from app.deps import CryptoDep, RateLimit, SessionDep, SettingsDep
from app.errors import InvalidInput, RateLimited, Unauthorized
from app.i18n import Translator
from app.regions import service as regions_service
from app.reports.models import Language
from app.settings import Settings
from app.web import Pages

router = APIRouter(include_in_schema=False)
LIMITED = [Depends(RateLimit("lookup"))]


def _pages(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


def _messenger(request: Request) -> Messenger:
    messenger: Messenger = request.app.state.messenger
    return messenger


PagesDep = Annotated[Pages, Depends(_pages)]
MessengerDep = Annotated[Messenger, Depends(_messenger)]
Text = Annotated[str, Form(max_length=300)]


def _error_for(exc: InvalidInput, _: Translator) -> dict[str, str]:
    """Field errors from the services, in the page's language."""
    words = {
        "invalid_phone": "error.invalid_contact",
        "invalid_email": "error.invalid_contact",
        "not_mobile": "error.not_mobile",
        "invalid_code": "error.code",
        "channel_unavailable": "error.channel_unavailable",
    }
    errors: dict[str, str] = {}
    for error in exc.errors:
        field = str(error.loc[0]) if error.loc else "contact"
        errors.setdefault(field, _(words.get(error.type, "error.invalid")))
    return errors


def _send(
    send: Messenger, outgoing: subscriptions.Outgoing | None, _: Translator
) -> dict[str, str]:
    if outgoing is None:
        return {}
    try:
        send.send_now(outgoing)
    except SendFailed:
        return {"contact": _("error.send_failed")}
    return {}


# ---- subscribing ------------------------------------------------------------------------------


def _subscribe_form(
    pages: Pages,
    session: Session,
    settings: Settings,
    send: Messenger,
    lang: Language,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    _ = Translator(lang.value)
    return pages.render(
        "subscribe.html",
        lang=lang.value,
        page="subscribe",
        status_code=status,
        values=values or {"channel": "sms" if send.offers("sms") else "email"},
        errors=errors or {},
        channels=[c for c in ("sms", "email") if send.offers(c)],
        places=regions_service.area_labels(session, province_word=_("subscribe.province_word")),
    )


@router.get("/{lang}/subscribe")
def subscribe_page(
    lang: Language, session: SessionDep, settings: SettingsDep, pages: PagesDep, send: MessengerDep
) -> HTMLResponse:
    return _subscribe_form(pages, session, settings, send, lang)


@router.post("/{lang}/subscribe", dependencies=LIMITED)
def subscribe(
    lang: Language,
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
    pages: PagesDep,
    send: MessengerDep,
    channel: Text = "",
    contact: Text = "",
    place: Text = "",
    place2: Text = "",
    place3: Text = "",
    severity: Text = "",
) -> HTMLResponse:
    _ = Translator(lang.value)
    values = {
        "channel": channel,
        "contact": contact,
        "place": place,
        "place2": place2,
        "place3": place3,
        "severity": severity,
    }
    errors: dict[str, str] = {}
    codes = []
    for field, typed in (("place", place), ("place2", place2), ("place3", place3)):
        if not typed.strip():
            if field == "place":
                errors[field] = _("error.required")
            continue
        found = regions_service.resolve_area(session, typed=typed)
        if found.region is not None:
            codes.append(found.region.code)
        elif found.candidates:
            errors[field] = _(
                "error.place_choose", options=", ".join(c.name for c in found.candidates[:6])
            )
        else:
            errors[field] = _("error.place_unknown")
    if channel not in {"sms", "email"} or not send.offers(channel):
        errors["channel"] = _("error.channel_unavailable")
    if not contact.strip():
        errors["contact"] = _("error.required")
    if errors:
        return _subscribe_form(
            pages, session, settings, send, lang, values=values, errors=errors, status=422
        )
    try:
        outgoing = subscriptions.request_subscription(
            session,
            channel=Channel(channel),
            contact=contact,
            regions=codes,
            language=lang.value,
            min_severity=Severity.high if severity == "serious" else None,
            crypto=crypto,
            settings=settings,
            link_base=settings.public_url,
        )
    except InvalidInput as exc:
        session.rollback()
        errors = _error_for(exc, _)
        return _subscribe_form(
            pages, session, settings, send, lang, values=values, errors=errors, status=422
        )
    errors = _send(send, outgoing, _)
    if errors:
        session.rollback()
        return _subscribe_form(
            pages, session, settings, send, lang, values=values, errors=errors, status=503
        )
    if channel == "email":
        return pages.message(
            lang=lang.value,
            title=_("subscribe.email_sent_title"),
            message=_("subscribe.email_sent", hours=settings.link_hours),
            status_code=200,
        )
    return _code_page(
        pages,
        lang,
        "/subscribe/code",
        channel,
        contact,
        _("subscribe.code_lead", minutes=settings.code_minutes),
    )


def _code_page(
    pages: Pages,
    lang: Language,
    action: str,
    channel: str,
    contact: str,
    lead: str,
    *,
    error: str | None = None,
    title_key: str = "subscribe.code_title",
    submit_key: str = "subscribe.code_submit",
) -> HTMLResponse:
    return pages.render(
        "code.html",
        lang=lang.value,
        status_code=422 if error else 200,
        action=f"/{lang.value}{action}",
        channel=channel,
        contact=contact,
        lead=lead,
        title_key=title_key,
        submit_key=submit_key,
        errors={"code": error} if error else {},
    )


@router.post("/{lang}/subscribe/code", dependencies=LIMITED)
def subscribe_code(
    lang: Language,
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
    pages: PagesDep,
    channel: Text = "",
    contact: Text = "",
    code: Text = "",
) -> HTMLResponse:
    _ = Translator(lang.value)
    try:
        subscriber = subscriptions.confirm(
            session,
            channel=Channel(channel),
            contact=contact,
            code=code,
            crypto=crypto,
            settings=settings,
        )
    except (InvalidInput, ValueError) as exc:
        session.commit()  # wrong codes add up
        error = (
            _error_for(exc, _).get("code", _("error.code"))
            if isinstance(exc, InvalidInput)
            else _("error.code")
        )
        lead = _("subscribe.code_lead", minutes=settings.code_minutes)
        return _code_page(pages, lang, "/subscribe/code", channel, contact, lead, error=error)
    return _done(pages, session, lang, subscriber)


def _done(pages: Pages, session: Session, lang: Language, subscriber: Any) -> HTMLResponse:
    _ = Translator(lang.value)
    names = regions_service.names(session, subscriptions.region_codes(session, subscriber.id))
    return pages.message(
        lang=lang.value,
        title=_("subscribe.done_title"),
        message=_("subscribe.done", regions=", ".join(names)),
        status_code=200,
    )


@router.get("/{lang}/subscribe/confirm")
def confirm_link_page(lang: Language, pages: PagesDep, t: str = "") -> HTMLResponse:
    """Mail scanners open links: confirming takes a tap on this page, not just the visit."""
    return pages.render("confirm.html", lang=lang.value, token=t[:100])


@router.post("/{lang}/subscribe/confirm", dependencies=LIMITED)
def confirm_link(
    lang: Language, session: SessionDep, crypto: CryptoDep, pages: PagesDep, token: Text = ""
) -> HTMLResponse:
    _ = Translator(lang.value)
    try:
        subscriber = subscriptions.confirm_link(session, token=token, crypto=crypto)
    except InvalidInput:
        return pages.message(
            lang=lang.value,
            title=_("error.title"),
            message=_("unsubscribe.invalid"),
            status_code=404,
        )
    return _done(pages, session, lang, subscriber)


# ---- leaving ----------------------------------------------------------------------------------


@router.get("/u/{token}")
def unsubscribe_page(
    token: str, session: SessionDep, crypto: CryptoDep, pages: PagesDep
) -> HTMLResponse:
    subscriber = subscriptions.subscriber_from_token(session, index=crypto.index, token=token)
    lang = subscriber.language if subscriber else "en"
    if subscriber is None:
        _ = Translator(lang)
        return pages.message(
            lang=lang, title=_("error.title"), message=_("unsubscribe.invalid"), status_code=404
        )
    return pages.render("unsubscribe.html", lang=lang, token=token)


@router.post("/u/{token}")
def unsubscribe(
    token: str, session: SessionDep, crypto: CryptoDep, pages: PagesDep
) -> HTMLResponse:
    """The button on the page, and mail clients' one-click unsubscribe (RFC 8058)."""
    subscriber = subscriptions.subscriber_from_token(session, index=crypto.index, token=token)
    lang = subscriber.language if subscriber else "en"
    _ = Translator(lang)
    if subscriber is not None:
        subscriptions.remove(session, subscriber=subscriber)
    return pages.message(
        lang=lang, title=_("leave.done_title"), message=_("leave.done"), status_code=200
    )


@router.get("/{lang}/leave")
def leave_page(lang: Language, pages: PagesDep, send: MessengerDep) -> HTMLResponse:
    return pages.render(
        "contact.html", lang=lang.value, page="leave", **_contact_context("leave", send)
    )


def _contact_context(kind: str, send: Messenger) -> dict[str, Any]:
    return {
        "kind": kind,
        "action": f"/{kind}" if kind == "leave" else "/check/login",
        "title_key": "leave.title" if kind == "leave" else "check.title",
        "lead_key": "leave.lead" if kind == "leave" else "check.lead",
        "submit_key": "leave.submit" if kind == "leave" else "check.login_submit",
        "channel_key": "subscribe.channel" if kind == "leave" else "check.channel",
        "channels": [c for c in ("sms", "email") if send.offers(c)],
    }


@router.post("/{lang}/leave", dependencies=LIMITED)
def leave_request(
    lang: Language,
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
    pages: PagesDep,
    send: MessengerDep,
    channel: Text = "",
    contact: Text = "",
) -> HTMLResponse:
    _ = Translator(lang.value)
    try:
        outgoing = subscriptions.request_leave(
            session, channel=Channel(channel), contact=contact, crypto=crypto, settings=settings
        )
    except (InvalidInput, ValueError) as exc:
        session.rollback()
        errors = (
            _error_for(exc, _) if isinstance(exc, InvalidInput) else {"channel": _("error.invalid")}
        )
        context = _contact_context("leave", send)
        return pages.render(
            "contact.html",
            lang=lang.value,
            page="leave",
            status_code=422,
            errors=errors,
            values={"channel": channel, "contact": contact},
            **context,
        )
    _send(send, outgoing, _)  # the same page whether or not the number is subscribed
    return _code_page(
        pages,
        lang,
        "/leave/code",
        channel,
        contact,
        _("leave.code_lead"),
        title_key="leave.title",
        submit_key="leave.confirm",
    )


@router.post("/{lang}/leave/code", dependencies=LIMITED)
def leave(
    lang: Language,
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
    pages: PagesDep,
    channel: Text = "",
    contact: Text = "",
    code: Text = "",
) -> HTMLResponse:
    _ = Translator(lang.value)
    try:
        subscriptions.leave(
            session,
            channel=Channel(channel),
            contact=contact,
            code=code,
            crypto=crypto,
            settings=settings,
        )
    except (InvalidInput, ValueError):
        session.commit()  # wrong codes add up
        return _code_page(
            pages,
            lang,
            "/leave/code",
            channel,
            contact,
            _("leave.code_lead"),
            error=_("error.code"),
            title_key="leave.title",
            submit_key="leave.confirm",
        )
    return pages.message(
        lang=lang.value, title=_("leave.done_title"), message=_("leave.done"), status_code=200
    )


# ---- the client check ------------------------------------------------------------------------


@router.get("/{lang}/check")
def check_page(
    lang: Language, pages: PagesDep, settings: SettingsDep, send: MessengerDep
) -> HTMLResponse:
    if settings.check_access == "open":
        return pages.render("check.html", lang=lang.value, page="check", token="")
    return pages.render(
        "contact.html", lang=lang.value, page="check", **_contact_context("check", send)
    )


@router.post("/{lang}/check/login", dependencies=LIMITED)
def check_login(
    lang: Language,
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
    pages: PagesDep,
    send: MessengerDep,
    channel: Text = "",
    contact: Text = "",
) -> HTMLResponse:
    _ = Translator(lang.value)
    try:
        outgoing = subscriptions.request_member_code(
            session, channel=Channel(channel), contact=contact, crypto=crypto, settings=settings
        )
    except (InvalidInput, ValueError) as exc:
        session.rollback()
        errors = (
            _error_for(exc, _) if isinstance(exc, InvalidInput) else {"channel": _("error.invalid")}
        )
        return pages.render(
            "contact.html",
            lang=lang.value,
            page="check",
            status_code=422,
            errors=errors,
            values={"channel": channel, "contact": contact},
            **_contact_context("check", send),
        )
    _send(send, outgoing, _)
    return _code_page(
        pages,
        lang,
        "/check/verify",
        channel,
        contact,
        _("check.code_lead"),
        title_key="check.title",
    )


@router.post("/{lang}/check/verify", dependencies=LIMITED)
def check_verify(
    lang: Language,
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
    pages: PagesDep,
    channel: Text = "",
    contact: Text = "",
    code: Text = "",
) -> HTMLResponse:
    _ = Translator(lang.value)
    try:
        subscriber = subscriptions.verify_member(
            session,
            channel=Channel(channel),
            contact=contact,
            code=code,
            crypto=crypto,
            settings=settings,
        )
    except (InvalidInput, ValueError):
        session.commit()
        return _code_page(
            pages,
            lang,
            "/check/verify",
            channel,
            contact,
            _("check.code_lead"),
            error=_("error.code"),
            title_key="check.title",
        )
    assert subscriber.id is not None
    token, _lifetime = members.issue(subscriber.id, settings)
    return pages.render("check.html", lang=lang.value, page="check", token=token)


@router.post("/{lang}/check", dependencies=LIMITED)
def check(
    request: Request,
    lang: Language,
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
    pages: PagesDep,
    token: Annotated[str, Form(max_length=2000)] = "",
    number: Text = "",
) -> HTMLResponse:
    _ = Translator(lang.value)
    member_id = None
    try:
        if token or settings.check_access == "members":
            member_id = members.member(session, token, settings).id
    except Unauthorized:
        return pages.message(
            lang=lang.value, title=_("error.title"), message=_("check.expired"), status_code=401
        )
    try:
        request.app.state.limiter.hit("check", limit_key(crypto.index, member_id, "web"))
        result = check_number(session, number=number, crypto=crypto, settings=settings)
    except RateLimited:
        return pages.message(
            lang=lang.value,
            title=_("error.title"),
            message=_("error.rate_limited"),
            status_code=429,
        )
    except (InvalidInput, ValidationError):
        return pages.render(
            "check.html",
            lang=lang.value,
            page="check",
            token=token,
            status_code=422,
            values={"number": number},
            errors={"number": _("error.invalid_phone")},
        )
    return pages.render("check.html", lang=lang.value, page="check", token=token, result=result)
