"""The client check's pages: a member signs in with a code, then checks a number.

The member token travels in a hidden field of the check page (never a cookie), so it
is gone when the page is closed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlmodel import Session

from alerts.check import members
from alerts.check.service import check_number, limit_key
from alerts.check.watch import TooManyNumbers
from alerts.deps import MessengerDep
from alerts.models import Channel, Membership
from alerts.subscriptions import forms
from alerts.subscriptions import service as subscriptions
from alerts.subscriptions.forms import LIMITED, Text
from app.deps import CryptoDep, PagesDep, SessionDep, SettingsDep, SupportDep, client_address
from app.errors import InvalidInput, RateLimited, Unauthorized
from app.i18n import Translator, phone_examples
from app.regions import service as regions_service
from app.reports.models import Language
from app.support import service as support_service
from app.support.models import SupportFile
from app.support.service import Care
from app.web import Pages, refuse

router = APIRouter(include_in_schema=False)


@router.get("/{lang}/check")
def check_page(
    lang: Language,
    pages: PagesDep,
    settings: SettingsDep,
    messenger: MessengerDep,
    support: SupportDep,
) -> HTMLResponse:
    if settings.check_access == "open":
        care = support_service.national(support)
        return pages.render("check.html", lang=lang.value, page="check", token="", care=care)
    return forms.contact_form(pages, lang, forms.CHECK_FORM, messenger)


@router.post("/{lang}/check/login", dependencies=LIMITED)
def check_login(
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
        forms.CHECK_FORM,
        session=session,
        crypto=crypto,
        settings=settings,
        limiter=request.app.state.limiter,
        messenger=messenger,
        channel=channel,
        contact=contact,
        again=bool(again),
    )


@router.post("/{lang}/check/verify", dependencies=LIMITED)
def check_verify(
    lang: Language,
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
    pages: PagesDep,
    support: SupportDep,
    channel: Text = "",
    contact: Text = "",
    code: Text = "",
) -> HTMLResponse:
    try:
        token, _lifetime = members.sign_in(
            session,
            channel=Channel(channel),
            contact=contact,
            code=code,
            crypto=crypto,
            settings=settings,
        )
    except (InvalidInput, ValueError):
        sent = forms.CodeSent(forms.SIGN_IN, channel, contact)
        forms.refuse_code(pages, lang, sent, settings=settings)
    member = members.confirmed(session, members.claimed_id(token, settings))
    if member.membership != Membership.verified:
        return _not_a_member(pages, lang, Membership(member.membership))
    care = _care(session, support, member.id)
    return pages.render("check.html", lang=lang.value, page="check", token=token, care=care)


@router.post("/{lang}/check", dependencies=LIMITED)
def check(
    request: Request,
    lang: Language,
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
    pages: PagesDep,
    support: SupportDep,
    token: Annotated[str, Form(max_length=2000)] = "",
    number: Text = "",
) -> HTMLResponse:
    _ = Translator(lang.value)
    member_id = None
    try:
        if token or settings.check_access == "members":
            member = members.member(session, token, settings)
            members.require_verified(member)
            member_id = member.id
    except Unauthorized:
        return forms.message_page(pages, lang, "error.title", "check.expired", 401)
    except members.NotAMember as exc:  # before the number is read: it tells nothing
        return _not_a_member(pages, lang, exc.state)
    care = _care(session, support, member_id)
    try:
        who = limit_key(member_id=member_id, client=client_address(request))
        request.app.state.limiter.hit("check", who)
        result = check_number(
            session,
            number=number,
            member_id=member_id,
            crypto=crypto,
            settings=settings,
            limiter=request.app.state.limiter,
        )
    except TooManyNumbers as refused:
        # The form again, with the member's token: numbers checked today still answer.
        # Returned, not refused: the request keeps the watch-list entry it wrote.
        return pages.render(
            "check.html",
            lang=lang.value,
            page="check",
            token=token,
            status_code=429,
            values={"number": number},
            errors={"number": _("checklimit.refused", count=refused.most)},
            care=care,
        )
    except RateLimited:
        return forms.message_page(pages, lang, "error.title", "error.rate_limited", 429)
    except (InvalidInput, ValidationError):
        refuse(
            pages.render(
                "check.html",
                lang=lang.value,
                page="check",
                token=token,
                status_code=422,
                values={"number": number},
                errors={
                    "number": _("error.invalid_phone", **phone_examples(settings.default_country))
                },
                care=care,
            )
        )
    return pages.render(
        "check.html", lang=lang.value, page="check", token=token, result=result, care=care
    )


def _not_a_member(pages: Pages, lang: Language, state: Membership) -> HTMLResponse:
    """What a pending or suspended member sees instead of the check."""
    _ = Translator(lang.value)
    if state is Membership.suspended:
        title, message = _("member.suspended_title"), _("member.check_suspended")
    else:
        title = _("member.pending_title")
        message = f"{_('member.check_pending')} {_('member.how_to_verify')}"
    return pages.message(lang=lang.value, title=title, message=message, status_code=403)


def _care(session: Session, support: SupportFile, member_id: int | None) -> Care:
    """Support for the member's regions when we know them; otherwise the national list."""
    if member_id is None:
        return support_service.national(support)
    places = regions_service.with_ancestors(session, subscriptions.region_codes(session, member_id))
    return support_service.for_places(support, places)
