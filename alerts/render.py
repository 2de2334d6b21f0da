"""What a subscriber receives: the moderator's text inside a short translated frame.

The text is the one written for the subscriber's language, or the written text where
none was (written_in); the frame (severity, categories, place, date, part of day, masked
identifiers) is always rendered from the alert's data in the subscriber's language.

SMS length matters (every segment is paid for, and some phones only show the first),
so the renderer counts segments the way the network does: GSM-7 when every character
is in the GSM 03.38 alphabet (160 per single message, 153 per part, extension
characters take two), otherwise UCS-2 (70 per single message, 67 per part, characters
outside the BMP take two). A two-unit character is never split across parts.

The moderator's text is cleaned again here (app.text.clean), however it was stored: an
invisible character would switch a message to UCS-2 or fake a line of it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cache

import phonenumbers
from jinja2 import Environment, PackageLoader, select_autoescape

from app.i18n import LANGUAGES, Translator, translate
from app.text import clean

GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = "^{}\\[~]|€\f"
_BASIC = frozenset(GSM7_BASIC)
_EXTENSION = frozenset(GSM7_EXTENSION)


@dataclass(frozen=True)
class SmsLength:
    encoding: str  # "GSM-7" or "UCS-2"
    characters: int
    units: int  # septets (GSM-7) or 16-bit code units (UCS-2)
    segments: int


def is_gsm7(text: str) -> bool:
    return all(ch in _BASIC or ch in _EXTENSION for ch in text)


def segment_cap(max_segments: int, encoding: str) -> int:
    """The most parts an SMS may take: REDFLAG_SMS_MAX_SEGMENTS of GSM-7, twice as many of
    UCS-2, whose parts hold less than half as much (67 characters, not 153). The cap is on
    the length of a warning, so that Bulgarian and Thai, which are always UCS-2, can carry
    the same warning as Dutch; what that costs shows in the composer, part by part."""
    return max_segments * (2 if encoding == "UCS-2" else 1)


def measure(text: str) -> SmsLength:
    if is_gsm7(text):
        sizes = [2 if ch in _EXTENSION else 1 for ch in text]
        return SmsLength("GSM-7", len(text), sum(sizes), _segments(sizes, 160, 153))
    sizes = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
    return SmsLength("UCS-2", len(text), sum(sizes), _segments(sizes, 70, 67))


def _segments(sizes: list[int], single: int, part: int) -> int:
    total = sum(sizes)
    if total == 0:
        return 0
    if total <= single:
        return 1
    segments, used = 1, 0
    for size in sizes:
        if used + size > part:
            segments, used = segments + 1, 0
        used += size
    return segments


# ---- identifiers ------------------------------------------------------------------------


def mask(kind: str, value: str, policy: str) -> str | None:
    """How an identifier appears in an alert: "full", "partial" (e.g. +31 6 1234**78), or
    not at all ("none")."""
    if policy == "none":
        return None
    if kind == "phone":
        try:
            shown = phonenumbers.format_number(
                phonenumbers.parse(value, None), phonenumbers.PhoneNumberFormat.INTERNATIONAL
            )
        except phonenumbers.NumberParseException:
            shown = value
        return shown if policy == "full" else _mask_digits(shown, keep_last=2, hide=2)
    if policy == "full":
        return value
    if kind == "email":
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    if kind == "plate":
        return value[:2] + "*" * max(len(value) - 3, 1) + value[-1:]
    return value[:2] + "***" + value[-1:] if len(value) > 3 else value[:1] + "***"


def _mask_digits(text: str, *, keep_last: int, hide: int) -> str:
    chars = list(text)
    digit_positions = [i for i, ch in enumerate(chars) if ch.isdigit()]
    for i in digit_positions[-(keep_last + hide) : -keep_last]:
        chars[i] = "*"
    return "".join(chars)


# ---- messages -------------------------------------------------------------------------------


@dataclass
class AlertView:
    """Everything a message is made from, decrypted, in the order it is shown."""

    ref: str
    severity: str
    text: str  # as written: what a language without its own text receives
    region_names: list[str]
    categories: list[str]
    incident_date: date
    part_of_day: str | None = None
    identifiers: list[tuple[str, str]] = field(default_factory=list)  # (kind, normalised value)
    texts: dict[str, str] = field(default_factory=dict)  # {lang: text} of the languages written

    def text_in(self, lang: str) -> str:
        """The text a subscriber reading `lang` receives."""
        return written_in(lang, self.text, self.texts)


def _own_text(lang: str, texts: Mapping[str, str] | None) -> str:
    """The text written for `lang`; "" if none was (or only invisible characters)."""
    own = (texts or {}).get(lang, "")
    return own if clean(own).strip() else ""


def written_in(lang: str, text: str, texts: Mapping[str, str] | None) -> str:
    """The text written for `lang`, or the written text where none was."""
    return _own_text(lang, texts) or text


def fallback_languages(texts: Mapping[str, str] | None) -> list[str]:
    """The languages (in LANGUAGES order) without a text of their own."""
    return [lang for lang in LANGUAGES if not _own_text(lang, texts)]


def render_sms(view: AlertView, lang: str, *, masking: str) -> str:
    t = _translator(lang)
    places = view.region_names[:3] + (
        [f"+{len(view.region_names) - 3}"] if len(view.region_names) > 3 else []
    )
    when = t("sms.date", day=view.incident_date.day, month=view.incident_date.month)
    if view.part_of_day:
        when = f"{when} {t('sms.part_of_day.' + view.part_of_day)}"
    parts = [
        f"{t('sms.severity.' + view.severity)}: "
        + ", ".join(t(f"sms.category.{c}") for c in view.categories)
        + ".",
        f"{', '.join(places)} {when}.",
    ]
    shown = [
        f"{t('sms.kind.' + kind)} {masked}"
        for kind, value in view.identifiers
        if (masked := mask(kind, value, masking)) is not None
    ]
    if shown:
        parts.append("; ".join(shown) + ".")
    parts.append(clean(view.text_in(lang)).strip())
    parts.append(t("sms.footer", ref=view.ref))
    return " ".join(p for p in parts if p)


def _translator(lang: str) -> Callable[..., str]:
    return lambda key, **values: translate(lang, key, **values)


def render_retraction_sms(view: AlertView, lang: str) -> str:
    t = _translator(lang)
    when = t("sms.date", day=view.incident_date.day, month=view.incident_date.month)
    return t("sms.retraction", ref=view.ref, date=when, regions=", ".join(view.region_names[:3]))


def render_update_sms(
    view: AlertView, lang: str, *, text: str, texts: Mapping[str, str] | None = None
) -> str:
    """An update: `text` as written, `texts` the languages written for (written_in)."""
    t = _translator(lang)
    when = t("sms.date", day=view.incident_date.day, month=view.incident_date.month)
    header = t("sms.update", ref=view.ref, date=when, regions=", ".join(view.region_names[:3]))
    news = clean(written_in(lang, text, texts)).strip()
    return f"{header} {news} {t('sms.update_footer')}"


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str


@cache
def _emails() -> Environment:
    return Environment(
        loader=PackageLoader("alerts", "templates"), autoescape=select_autoescape(default=True)
    )


def render_email(view: AlertView, lang: str, *, masking: str, unsubscribe_url: str) -> Email:
    """The alert as an email: the same frame as the SMS, with room to breathe."""
    t = Translator(lang)
    identifiers = [
        (t(f"sms.kind.{kind}"), masked)
        for kind, value in view.identifiers
        if (masked := mask(kind, value, masking)) is not None
    ]
    context = {
        "_": t,
        "lang": lang,
        "view": replace(view, text=clean(view.text_in(lang))),
        "severity": t(f"sms.severity.{view.severity}"),
        "categories": [t(f"category.{c}") for c in view.categories],
        "when": t.date(view.incident_date)
        + (f", {t('part_of_day.' + view.part_of_day).lower()}" if view.part_of_day else ""),
        "identifiers": identifiers,
        "unsubscribe_url": unsubscribe_url,
    }
    subject = t(
        "email.subject",
        severity=context["severity"],
        regions=", ".join(view.region_names[:3]),
        ref=view.ref,
    )
    return Email(
        subject=subject,
        text=_emails().get_template("email_alert.txt").render(context).strip() + "\n",
        html=_emails().get_template("email_alert.html").render(context),
    )


def render_retraction_email(view: AlertView, lang: str, *, unsubscribe_url: str) -> Email:
    t = Translator(lang)
    regions = ", ".join(view.region_names[:3])
    body = t(
        "email.retraction_body", ref=view.ref, date=t.date(view.incident_date), regions=regions
    )
    return _plain_email(
        t, t("email.retraction_subject", ref=view.ref), [body], unsubscribe_url=unsubscribe_url
    )


def render_update_email(
    view: AlertView,
    lang: str,
    *,
    text: str,
    unsubscribe_url: str,
    texts: Mapping[str, str] | None = None,
) -> Email:
    t = Translator(lang)
    regions = ", ".join(view.region_names[:3])
    intro = t("email.update_body", ref=view.ref, date=t.date(view.incident_date), regions=regions)
    return _plain_email(
        t,
        t("email.update_subject", ref=view.ref),
        [intro, clean(written_in(lang, text, texts)).strip()],
        unsubscribe_url=unsubscribe_url,
    )


def _plain_email(
    t: Translator, subject: str, paragraphs: list[str], *, unsubscribe_url: str
) -> Email:
    body = "\n\n".join(paragraphs)
    text = f"{body}\n\n{t('email.footer')}\n{unsubscribe_url}\n"
    html = (
        _emails()
        .get_template("email_plain.html")
        .render(
            {
                "lang": t.lang,
                "paragraphs": paragraphs,
                "footer": t("email.footer"),
                "unsubscribe_url": unsubscribe_url,
                "_": t,
            }
        )
    )
    return Email(subject=subject, text=text, html=html)


def sms_lengths(view: AlertView, *, masking: str) -> dict[str, SmsLength]:
    """How long the SMS is in each language, each with its own language's text."""
    return {lang: measure(render_sms(view, lang, masking=masking)) for lang in LANGUAGES}
