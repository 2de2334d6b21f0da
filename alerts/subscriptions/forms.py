"""What the subscribe, leave and check pages share: the contact form, the code page, and
asking for a code (which the delivery worker sends; the visitor never waits for it).

Steps carry what they need in hidden fields of the page itself (which is never cached),
so nothing identifying is left in the browser's history or storage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, NoReturn

from fastapi import Depends, Form
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from alerts.delivery.messenger import Messenger
from alerts.models import Channel, CodePurpose
from alerts.subscriptions import service as subscriptions
from app.crypto import Crypto
from app.deps import RateLimit
from app.errors import InvalidInput
from app.i18n import Translator, phone_examples
from app.ratelimit import RateLimiter
from app.reports.models import Language
from app.settings import Settings
from app.web import Pages, refuse

LIMITED = [Depends(RateLimit("lookup"))]
Text = Annotated[str, Form(max_length=300)]


@dataclass(frozen=True)
class CodeStep:
    """The page that takes a code back: where it posts (after the language), its words,
    where "send the code again" posts (the form that asked for it, with the same values,
    so the same rate limits and outbox apply) and where "wrong number?" goes: back to
    that form, posting its values when it has more than the contact to keep."""

    path: str
    lead_key: str
    again_path: str
    title_key: str = "subscribe.code_title"
    submit_key: str = "subscribe.code_submit"
    back_posts: bool = False


CONFIRM = CodeStep("/subscribe/code", "subscribe.code_lead", "/subscribe", back_posts=True)
LEAVE = CodeStep("/leave/code", "leave.code_lead", "/leave", "leave.title", "leave.confirm")
SIGN_IN = CodeStep("/check/verify", "check.code_lead", "/check/login", "check.title")
BACK = {"/subscribe": "/subscribe", "/leave": "/leave", "/check/login": "/check"}


@dataclass(frozen=True)
class CodeSent:
    """A code on its way: the page that takes it back, where it went, and what else the form
    that asked for it had (places, severity), carried along so that sending the code again
    or going back keeps it."""

    step: CodeStep
    channel: str
    contact: str
    keep: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ContactForm:
    """A form that asks for a number or address to send a code to: its own path and where it
    posts (both after the language), its words, what the code is for and the page that
    takes the code back."""

    page: str
    action: str
    title_key: str
    lead_key: str
    submit_key: str
    channel_key: str
    purpose: Literal[CodePurpose.leave, CodePurpose.login]
    step: CodeStep


LEAVE_FORM = ContactForm(
    page="leave",
    action="/leave",
    title_key="leave.title",
    lead_key="leave.lead",
    submit_key="leave.submit",
    channel_key="subscribe.channel",
    purpose=CodePurpose.leave,
    step=LEAVE,
)
CHECK_FORM = ContactForm(
    page="check",
    action="/check/login",
    title_key="check.title",
    lead_key="check.lead",
    submit_key="check.login_submit",
    channel_key="check.channel",
    purpose=CodePurpose.login,
    step=SIGN_IN,
)


def error_for(
    exc: InvalidInput,
    _: Translator,
    *,
    contact_field: str = "contact",
    settings: Settings | None = None,
) -> dict[str, str]:
    """Field errors from the services, in the page's language. On a page with a field of its
    own for the phone number (`contact_field` "phone"), a wrong number says what is expected."""
    words = {
        "invalid_phone": "error.invalid_contact",
        "invalid_email": "error.invalid_contact",
        "not_mobile": "error.not_mobile",
        "country_not_served": "error.country_not_served",
        "invalid_code": "error.code",
        "channel_unavailable": "error.channel_unavailable",
        "invalid_invite": "member.invite_invalid",
    }
    if contact_field == "phone":
        words["invalid_phone"] = words["invalid_email"] = "error.invalid_phone"
    elif contact_field == "email":
        words["invalid_phone"] = words["invalid_email"] = "error.invalid_email"
    examples = phone_examples(settings.default_country) if settings else {}
    errors: dict[str, str] = {}
    for error in exc.errors:
        field = str(error.loc[0]) if error.loc else "contact"
        if field == "contact":
            field = contact_field
        elif field == "invite_code":
            field = "invite"  # the form's name for it
        errors.setdefault(field, _(words.get(error.type, "error.invalid"), **examples))
    return errors


def code_page(
    pages: Pages,
    lang: Language,
    sent: CodeSent,
    *,
    settings: Settings,
    error: str | None = None,
    notice: str | None = None,
) -> HTMLResponse:
    _ = Translator(lang.value)
    step = sent.step
    return pages.render(
        "code.html",
        lang=lang.value,
        status_code=422 if error else 200,
        action=f"/{lang.value}{step.path}",
        again_action=f"/{lang.value}{step.again_path}",
        back=f"/{lang.value}{BACK[step.again_path]}",
        back_posts=step.back_posts,
        wrong_key="words.code.wrong_email" if sent.channel == "email" else "words.code.wrong_sms",
        channel=sent.channel,
        contact=sent.contact,
        keep=sent.keep,
        lead=_(step.lead_key, minutes=settings.code_minutes),
        title_key=step.title_key,
        submit_key=step.submit_key,
        errors={"code": error} if error else {},
        notice=notice,
    )


def message_page(
    pages: Pages, lang: Language, title_key: str, message_key: str, status: int
) -> HTMLResponse:
    """A page of one translated title and message: an outcome, or why the step went no further."""
    _ = Translator(lang.value)
    return pages.message(
        lang=lang.value, title=_(title_key), message=_(message_key), status_code=status
    )


def refuse_code(pages: Pages, lang: Language, sent: CodeSent, *, settings: Settings) -> NoReturn:
    """The code page again, saying the code is wrong; the attempt stays counted, so that
    wrong codes add up."""
    _ = Translator(lang.value)
    refuse(
        code_page(pages, lang, sent, settings=settings, error=_("error.code")), keeps_writes=True
    )


def contact_form(
    pages: Pages,
    lang: Language,
    form: ContactForm,
    messenger: Messenger,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    return pages.render(
        "contact.html",
        lang=lang.value,
        page=form.page,
        status_code=422 if errors else 200,
        values=values or {},
        errors=errors or {},
        channels=[c for c in ("sms", "email") if messenger.offers(c)],
        action=form.action,
        title_key=form.title_key,
        lead_key=form.lead_key,
        submit_key=form.submit_key,
        channel_key=form.channel_key,
    )


def ask_for_code(
    pages: Pages,
    lang: Language,
    form: ContactForm,
    *,
    session: Session,
    crypto: Crypto,
    settings: Settings,
    limiter: RateLimiter,
    messenger: Messenger,
    channel: str,
    contact: str,
    again: bool = False,
) -> HTMLResponse:
    """A contact form posted (or "send the code again" on the code page, `again`): a code
    goes to the outbox if there is anyone to send it to (and the contact has not had its
    share of codes), and the code page follows either way, so the page never tells who is
    subscribed."""
    _ = Translator(lang.value)
    try:
        subscriptions.request_code(
            session,
            purpose=form.purpose,
            channel=Channel(channel),
            contact=contact,
            crypto=crypto,
            settings=settings,
            limiter=limiter,
        )
    except (InvalidInput, ValueError) as exc:
        errors = (
            error_for(exc, _) if isinstance(exc, InvalidInput) else {"channel": _("error.invalid")}
        )
        values = {"channel": channel, "contact": contact}
        refuse(contact_form(pages, lang, form, messenger, values=values, errors=errors))
    notice = _("words.code.again_done") if again else None
    sent = CodeSent(form.step, channel, contact)
    return code_page(pages, lang, sent, settings=settings, notice=notice)
