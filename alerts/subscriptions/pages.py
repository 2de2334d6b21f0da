"""The public pages for subscribers: sign up, confirm, and leave.

Like the report form: server-rendered, complete without JavaScript, NL/EN/ES, no
cookies; the steps share their forms with the check pages (forms.py).
"""

from __future__ import annotations

from typing import Annotated, Any, NoReturn

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from alerts import applications
from alerts.delivery.messenger import Messenger
from alerts.deps import MessengerDep
from alerts.models import Channel, Membership, Severity
from alerts.subscriptions import applying, forms
from alerts.subscriptions import push as push_subscriptions
from alerts.subscriptions import service as subscriptions
from alerts.subscriptions.forms import LIMITED, Text
from app.crypto import Crypto
from app.deps import CryptoDep, PagesDep, SessionDep, SettingsDep, counter
from app.errors import InvalidInput
from app.i18n import Translator
from app.regions import service as regions_service
from app.reports.models import Language
from app.settings import Settings
from app.web import Pages, refuse

router = APIRouter(include_in_schema=False)
router.include_router(applying.pages_router)
PLACE_FIELDS = ("place", "place2", "place3")  # the first is required


# ---- subscribing ------------------------------------------------------------------------------


def _subscribe_form(
    pages: Pages,
    session: Session,
    messenger: Messenger,
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
        values=values or {"channel": next(iter(_offered(messenger)), "sms")},
        errors=errors or {},
        channels=_offered(messenger),
        places=regions_service.area_labels(session, province_word=_("subscribe.province_word")),
    )


def _offered(messenger: Messenger) -> list[str]:
    return [c for c in ("sms", "email", "push") if messenger.offers(c)]


def _refuse_form(
    pages: Pages,
    session: Session,
    messenger: Messenger,
    lang: Language,
    values: dict[str, str],
    errors: dict[str, str],
) -> NoReturn:
    """The form again, saying what is wrong; nothing the request wrote is kept."""
    refuse(
        _subscribe_form(pages, session, messenger, lang, values=values, errors=errors, status=422)
    )


def _regions(
    session: Session, values: dict[str, str], _: Translator
) -> tuple[list[str], dict[str, str]]:
    """The region codes of the places typed, and the places' errors."""
    codes, errors = [], {}
    places = None
    for field in PLACE_FIELDS:
        typed = values[field]
        if not typed.strip():
            if field == "place":
                errors[field] = _("error.required")
            continue
        found = regions_service.resolve_area(session, typed=typed)
        if found.region is not None:
            codes.append(found.region.code)
            continue
        if found.candidates:
            errors[field] = _(
                "error.place_choose", options=", ".join(c.name for c in found.candidates[:6])
            )
            continue
        if places is None:
            places = regions_service.area_labels(
                session, province_word=_("subscribe.province_word")
            )
        errors[field] = place_error(_, typed, places)
    return codes, errors


def place_error(_: Translator, typed: str, labels: list[str]) -> str:
    """A place nobody knows: the closest names, if any are close ("Asen": Assen)."""
    closest = regions_service.closest_labels(typed, labels)
    if closest:
        return _("words.error.place_closest", options=_.either(closest))
    return _("error.place_unknown")


def _contact(channel: str, phone: str, email: str, contact: str) -> tuple[str, str]:
    """The channel and the contact to use: the chosen channel's field, or the other one when
    only that is filled in (without JavaScript both show); `contact` for older forms."""
    typed = {
        "sms": phone or (contact if channel == "sms" else ""),
        "email": email or (contact if channel == "email" else ""),
    }
    other = "email" if channel == "sms" else "sms"
    if channel in typed and not typed[channel].strip() and typed[other].strip():
        channel = other
    return channel, typed.get(channel, "")


@router.get("/{lang}/subscribe")
def subscribe_page(
    lang: Language, session: SessionDep, pages: PagesDep, messenger: MessengerDep
) -> HTMLResponse:
    return _subscribe_form(pages, session, messenger, lang)


@router.post("/{lang}/subscribe", dependencies=LIMITED)
def subscribe(
    request: Request,
    lang: Language,
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
    pages: PagesDep,
    messenger: MessengerDep,
    channel: Text = "",
    phone: Text = "",
    email: Text = "",
    contact: Text = "",
    place: Text = "",
    place2: Text = "",
    place3: Text = "",
    severity: Text = "",
    invite: Text = "",
    again: Text = "",
    edit: Text = "",
    push: Annotated[str, Form(max_length=2000)] = "",
) -> HTMLResponse:
    """The form; also "send the code again" (`again`) and "wrong number?" (`edit`: the
    form again, as filled in) from the code page. Push: the subscription the page's
    script made (`push`), in effect at once."""
    _ = Translator(lang.value)
    if channel == "push":
        return _subscribe_push(
            request, lang, session, crypto, settings, pages, messenger, push=push,
            values={
                "channel": channel, "place": place, "place2": place2, "place3": place3,
                "severity": severity, "invite": invite,
            },
        )  # fmt: skip
    channel, contact = _contact(channel, phone, email, contact)
    field = "email" if channel == "email" else "phone"
    places = {
        "place": place, "place2": place2, "place3": place3, "severity": severity,
        "invite": invite,
    }  # fmt: skip
    values = {"channel": channel, field: contact, **places}
    if edit:
        return _subscribe_form(pages, session, messenger, lang, values=values)
    codes, errors = _regions(session, values, _)
    if channel not in {"sms", "email"} or not messenger.offers(channel):
        errors["channel"] = _("error.channel_unavailable")
    if not contact.strip():
        errors[field] = _("error.required")
    if errors:
        _refuse_form(pages, session, messenger, lang, values, errors)
    try:
        subscriptions.request_subscription(
            session,
            channel=Channel(channel),
            contact=contact,
            regions=codes,
            language=lang.value,
            min_severity=Severity.high if severity == "serious" else None,
            crypto=crypto,
            settings=settings,
            limiter=request.app.state.limiter,
            link_base=settings.public_url,
            invite_code=invite,
        )
    except InvalidInput as exc:
        errors = forms.error_for(exc, _, contact_field=field, settings=settings)
        _refuse_form(pages, session, messenger, lang, values, errors)
    if channel == "email":
        return pages.message(
            lang=lang.value,
            title=_("subscribe.email_sent_title"),
            message=_("subscribe.email_sent", hours=settings.link_hours),
            status_code=200,
        )
    notice = _("words.code.again_done") if again else None
    sent = forms.CodeSent(forms.CONFIRM, channel, contact, keep=places)
    return forms.code_page(pages, lang, sent, settings=settings, notice=notice)


def _subscribe_push(
    request: Request,
    lang: Language,
    session: Session,
    crypto: Crypto,
    settings: Settings,
    pages: Pages,
    messenger: Messenger,
    *,
    push: str,
    values: dict[str, str],
) -> HTMLResponse:
    _ = Translator(lang.value)
    codes, errors = _regions(session, values, _)
    if not messenger.offers("push"):
        errors["channel"] = _("error.channel_unavailable")
    elif not push.strip():
        errors["channel"] = _("push.needs_js")
    keys = None
    if "channel" not in errors:
        try:
            keys = push_subscriptions.subscription_from_page(push, settings=settings)
        except InvalidInput:
            errors["channel"] = _("push.unsupported")
    if errors or keys is None:
        _refuse_form(pages, session, messenger, lang, values, errors)
    try:
        confirmed = push_subscriptions.subscribe(
            session,
            keys=keys,
            regions=codes,
            language=lang.value,
            min_severity=Severity.high if values["severity"] == "serious" else None,
            crypto=crypto,
            settings=settings,
            joins=counter(request, "join"),
            invite_code=values["invite"],
        )
    except InvalidInput as exc:
        _refuse_form(pages, session, messenger, lang, values, forms.error_for(exc, _))
    return _done(pages, session, lang, confirmed, crypto=crypto, settings=settings)


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
    place: Text = "",
    place2: Text = "",
    place3: Text = "",
    severity: Text = "",
    invite: Text = "",
) -> HTMLResponse:
    try:
        confirmed = subscriptions.confirm(
            session,
            channel=Channel(channel),
            contact=contact,
            code=code,
            crypto=crypto,
            settings=settings,
        )
    except (InvalidInput, ValueError):
        keep = {
            "place": place, "place2": place2, "place3": place3, "severity": severity,
            "invite": invite,
        }  # fmt: skip
        sent = forms.CodeSent(forms.CONFIRM, channel, contact, keep=keep)
        forms.refuse_code(pages, lang, sent, settings=settings)
    return _done(pages, session, lang, confirmed, crypto=crypto, settings=settings)


def _done(
    pages: Pages,
    session: Session,
    lang: Language,
    confirmed: subscriptions.Confirmed,
    *,
    crypto: Crypto,
    settings: Settings,
) -> HTMLResponse:
    _ = Translator(lang.value)
    subscriber = confirmed.subscriber
    assert subscriber.id is not None
    names = ", ".join(
        regions_service.names(session, subscriptions.region_codes(session, subscriber.id))
    )
    title = _("subscribe.done_title")
    if subscriber.membership == Membership.verified:
        # How to stop depends on the channel: an email subscriber has no SMS to answer.
        message = _(f"subscribe.done_{subscriber.channel}", regions=names)
    elif subscriber.membership == Membership.suspended:
        title, message = _("member.suspended_title"), _("member.check_suspended")
    else:
        said = [_(f"member.invite_{confirmed.invite.value}")] if confirmed.invite else []
        title = _("member.pending_title")
        message = " ".join(
            [*said, _("member.done_pending", regions=names), _("member.how_to_verify")]
        )
        if not applications.is_waiting(session, subscriber_id=subscriber.id):
            link = applications.form_link(
                session, subscriber=subscriber, crypto=crypto, settings=settings
            )
            return pages.render(
                "pending.html", lang=lang.value, title=title, message=message, apply_link=link
            )
    return pages.message(lang=lang.value, title=title, message=message, status_code=200)


@router.get("/{lang}/subscribe/confirm")
def confirm_link_page(lang: Language, pages: PagesDep, t: str = "") -> HTMLResponse:
    """Mail scanners open links: confirming takes a tap on this page, not just the visit."""
    return pages.render("confirm.html", lang=lang.value, token=t[:100])


@router.post("/{lang}/subscribe/confirm", dependencies=LIMITED)
def confirm_link(
    lang: Language,
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
    pages: PagesDep,
    token: Text = "",
) -> HTMLResponse:
    try:
        confirmed = subscriptions.confirm_link(
            session, token=token, crypto=crypto, settings=settings
        )
    except InvalidInput:
        return forms.message_page(pages, lang, "error.title", "unsubscribe.invalid", 404)
    return _done(pages, session, lang, confirmed, crypto=crypto, settings=settings)


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


@router.post("/{lang}/leave/push", dependencies=LIMITED)
def leave_push(
    lang: Language,
    session: SessionDep,
    crypto: CryptoDep,
    pages: PagesDep,
    endpoint: Annotated[str, Form(max_length=1024)] = "",
) -> HTMLResponse:
    """The subscribe page's "stop notifications on this phone": the browser's endpoint
    deletes its subscription. The same page whether it was subscribed or not."""
    push_subscriptions.leave(session, endpoint=endpoint, crypto=crypto)
    return forms.message_page(pages, lang, "leave.done_title", "push.left", 200)


@router.get("/{lang}/leave")
def leave_page(lang: Language, pages: PagesDep, messenger: MessengerDep) -> HTMLResponse:
    return forms.contact_form(pages, lang, forms.LEAVE_FORM, messenger)


@router.post("/{lang}/leave", dependencies=LIMITED)
def leave_request(
    request: Request,
    lang: Language,
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
    pages: PagesDep,
    messenger: MessengerDep,
    channel: Text = "",
    contact: Text = "",
    again: Text = "",
) -> HTMLResponse:
    return forms.ask_for_code(
        pages,
        lang,
        forms.LEAVE_FORM,
        session=session,
        crypto=crypto,
        settings=settings,
        limiter=request.app.state.limiter,
        messenger=messenger,
        channel=channel,
        contact=contact,
        again=bool(again),
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
        sent = forms.CodeSent(forms.LEAVE, channel, contact)
        forms.refuse_code(pages, lang, sent, settings=settings)
    return forms.message_page(pages, lang, "leave.done_title", "leave.done", 200)
