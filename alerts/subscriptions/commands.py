"""SMS commands: JOIN, STOP, HELP, CHECK, LANG, in each of the nine languages.

Case and accents do not matter ("aanmelden assen", "Idioma ES", "AYUDA", "LIMBĂ RO"), nor
Thai vowel and tone marks; each language's words are its catalogue's. The keyword
also says which language the sender speaks, so a first reply already comes in it.
Every reply fits one SMS where it can.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import delete
from sqlmodel import Session, col, select

from alerts import applications, membership
from alerts.check.schemas import CheckedAlert, CheckResult
from alerts.check.service import check_number, limit_key
from alerts.check.watch import TooManyNumbers
from alerts.membership import InviteOutcome
from alerts.models import Channel, Membership, ProcessedWebhook, Subscriber
from alerts.render import mask
from alerts.subscriptions import service as subscriptions
from app import receipts
from app.crypto import Crypto
from app.db import rows_changed, utcnow
from app.errors import InvalidInput, RateLimited
from app.i18n import LANGUAGES, Translator, catalog
from app.identifiers import InvalidIdentifier, normalise_phone
from app.ratelimit import RateLimiter
from app.regions import service as regions_service
from app.regions.models import Region, RegionLevel
from app.regions.service import fold
from app.retention import Policy
from app.settings import Settings

ACTIONS = ("join", "stop", "help", "check", "language")
# Words that mean the same in every language: STOP always stops (carriers expect it).
EVERY_LANGUAGE = {
    **dict.fromkeys(("STOP", "STOPALL", "CANCEL", "END", "QUIT"), "stop"),
    "INFO": "help",
    "CHECK": "check",
}


def _keywords() -> dict[str, tuple[str, str | None]]:
    """keyword -> (action, the language it is a word of; None when it belongs to all): each
    language's own words from its catalogue (`sms.words.join`, ...), folded as typed ones
    are, then the words of every language."""
    found: dict[str, tuple[str, str | None]] = {}
    for lang in LANGUAGES:
        words = catalog(lang)
        for action in ACTIONS:
            for word in str(words[f"sms.words.{action}"]).split():
                found[fold(word).upper()] = (action, lang)
    found.update({word: (action, None) for word, action in EVERY_LANGUAGE.items()})
    return found


def _language_words() -> dict[str, str]:
    """What someone types to choose a language (`LANG NL`, `TAAL ENGELS`), from each
    catalogue's `language.words`."""
    return {
        fold(word).upper(): lang
        for lang in LANGUAGES
        for word in str(catalog(lang)["language.words"]).split()
    }


KEYWORDS = _keywords()
LANGUAGE_WORDS = _language_words()


@dataclass(frozen=True)
class Command:
    action: str  # join, stop, help, check, language, unknown
    argument: str
    language: str | None


def parse(body: str) -> Command:
    words = fold(body).upper().split()
    if not words:
        return Command("unknown", "", None)
    action, language = KEYWORDS.get(words[0], ("unknown", None))
    argument = (
        body.strip().split(None, 1)[1] if action != "unknown" and len(body.split()) > 1 else ""
    )
    return Command(action, argument.strip(), language)


def handle(
    session: Session,
    *,
    sender: str,
    body: str,
    crypto: Crypto,
    settings: Settings,
    limiter: RateLimiter,
) -> str:
    """Carry out one inbound SMS; returns the reply text."""
    command = parse(body)
    try:
        phone = normalise_phone(sender, settings.default_country)
    except InvalidIdentifier:
        return Translator(command.language or "en")("sms.help")
    subscriber = subscriptions.find(
        session, index=crypto.index, channel="sms", contact=phone, lock=True
    )
    lang = (
        command.language
        or (subscriber.language if subscriber else None)
        or _default_language(settings)
    )
    t = Translator(lang)
    if command.action == "join":
        return _join(session, t, subscriber, phone, command, crypto, settings)
    if command.action == "stop":
        if subscriber is not None:
            subscriptions.remove(session, subscriber=subscriber)
        return t("sms.stopped")
    if command.action == "language":
        return _language(session, subscriber, command, lang)
    if command.action == "check":
        return _check(session, t, subscriber, phone, command, crypto, settings, limiter)
    return t("sms.help")


def _default_language(settings: Settings) -> str:
    return "nl" if settings.default_country == "NL" else "en"


def _join(
    session: Session,
    t: Translator,
    subscriber: Subscriber | None,
    phone: str,
    command: Command,
    crypto: Crypto,
    settings: Settings,
) -> str:
    if not command.argument:
        return t("sms.join_unknown")
    place, invite = _place_and_invite(session, command.argument)
    regions, suggestions = _places(session, place)
    if len(regions) != 1:
        choices = regions or suggestions  # never joined on a guess: the sender picks
        if not choices:
            return t("sms.join_unknown")
        return t("sms.join_which", options=", ".join(f"{r.name} ({r.code})" for r in choices[:4]))
    if subscriber is None:  # the sender proved the number by sending from it
        subscriber = subscriptions._new_subscriber(
            session, channel=Channel.sms, contact=phone, language=t.lang, crypto=crypto
        )
    subscriber.confirmed_at = subscriber.confirmed_at or utcnow()
    subscriber.unreachable_at = None
    if command.language:
        subscriber.language = command.language
    session.add(subscriber)
    subscriptions.set_regions(
        session, subscriber=subscriber, codes=[regions[0].code], replace=False
    )
    assert subscriber.id is not None
    names = ", ".join(
        regions_service.names(session, subscriptions.region_codes(session, subscriber.id))
    )
    digest = membership.invite_hash(crypto.index, invite) if invite else None
    outcome = membership.on_confirmed(
        session,
        subscriber=subscriber,
        settings=settings,
        invite_hash_hex=digest.hex() if digest else None,
    )
    if subscriber.membership == Membership.verified:
        return t("sms.joined", regions=names)
    if subscriber.membership == Membership.suspended:
        return t("member.sms_suspended")
    if outcome is not None and outcome is not InviteOutcome.accepted:
        return t(f"member.sms_invite_{outcome.value}")
    if applications.is_waiting(session, subscriber_id=subscriber.id):
        return t("member.sms_pending", regions=names)
    link = applications.form_link(session, subscriber=subscriber, crypto=crypto, settings=settings)
    return t("apply.sms_pending", regions=names, link=link)


def _place_and_invite(session: Session, typed: str) -> tuple[str, str | None]:
    """JOIN's argument as (place, invite code): "ASSEN K7QF-3MZP" or "ASSEN K7QF 3MZP". A
    code only when more than the code was sent and the whole is not a place by itself
    ("ZAANSTAD" reads as a code too)."""
    words = typed.split()
    for n in (1, 2):
        tail = words[-n:]
        if len(words) <= n or (n == 2 and any(len(w) != receipts.GROUP for w in tail)):
            continue
        code = "".join(tail)
        if receipts.normalise(code, membership.INVITE_SYMBOLS) is None:
            continue
        if len(_places(session, typed)[0]) == 1:
            return typed, None
        return " ".join(words[:-n]), code
    return typed, None


def _places(session: Session, typed: str) -> tuple[list[Region], list[Region]]:
    """(exact, suggestions): regions of any level whose code, name or alias is exactly
    what was typed, towns first; failing that, towns whose names start with it."""
    code = typed.strip().upper()
    by_code = session.get(Region, code)
    if by_code is not None and by_code.active:
        return [by_code], []
    folded = fold(typed)
    rows = session.exec(
        select(Region).where(
            Region.active, col(Region.search_text).contains(folded, autoescape=True)
        )
    ).all()
    exact = [r for r in rows if folded in r.search_text.split("|")]
    towns = [r for r in exact if r.level == RegionLevel.municipality]
    # "Groningen" is a town and a province: the town, unless the province is asked by code.
    starting = sorted(
        (
            r
            for r in rows
            if r.level == RegionLevel.municipality
            and any(name.startswith(folded) for name in r.search_text.split("|"))
        ),
        key=lambda r: r.name,
    )
    return towns or exact, starting


def _language(session: Session, subscriber: Subscriber | None, command: Command, lang: str) -> str:
    wanted = LANGUAGE_WORDS.get(
        fold(command.argument).upper().split()[0] if command.argument else ""
    )
    if wanted is None or wanted not in LANGUAGES:
        return Translator(lang)("sms.help")
    if subscriber is not None:
        subscriber.language = wanted
        session.add(subscriber)
    return Translator(wanted)("sms.language_set")


def _check(
    session: Session,
    t: Translator,
    subscriber: Subscriber | None,
    sender: str,
    command: Command,
    crypto: Crypto,
    settings: Settings,
    limiter: RateLimiter,
) -> str:
    if settings.check_access == "members" and (
        subscriber is None or subscriber.confirmed_at is None
    ):
        return t("sms.check_members")
    # Before the number is even read: a member not verified learns nothing about it.
    if subscriber is not None and subscriber.membership == Membership.suspended:
        return t("member.sms_suspended")
    if subscriber is not None and not membership.is_verified(subscriber):
        return t("member.sms_check_pending")
    if not command.argument:
        return t("sms.check_usage")
    try:
        who = limit_key(member_id=subscriber.id if subscriber else None, client=sender)
        limiter.hit("check", who)
        result = check_number(
            session,
            number=command.argument,
            member_id=subscriber.id if subscriber else None,
            crypto=crypto,
            settings=settings,
            limiter=limiter,
        )
    except TooManyNumbers as refused:
        return t("checklimit.sms_refused", count=refused.most)
    except RateLimited:
        return t("sms.check_limit")
    except InvalidInput:
        return t("sms.check_invalid")
    return sms_answer(result, t)


def sms_answer(result: CheckResult, t: Translator) -> str:
    shown = mask("phone", result.number, "partial") or result.number
    if not result.alerts:
        return t("sms.check_none", number=shown)
    items = " ".join(_sms_item(a, t) for a in result.alerts[:3])
    return t("sms.check_found", number=shown, items=re.sub(r"\s+", " ", items))


def _sms_item(alert: CheckedAlert, t: Translator) -> str:
    severity = t(f"sms.severity.{alert.severity.value}")
    when = f"{alert.incident_date.day}/{alert.incident_date.month}"
    what = ", ".join(t(f"sms.category.{c.value}") for c in alert.categories)
    return f"{alert.ref} {severity} {when} {', '.join(alert.regions[:2])}: {what}."


def prune_processed(session: Session, policy: Policy) -> int:
    """Retention: the record of inbound messages already handled is only needed while
    Twilio might send one again (hours); kept as long as delivery rows. Returns how many."""
    return rows_changed(
        session,
        delete(ProcessedWebhook).where(
            col(ProcessedWebhook.received_at) <= policy.before(policy.delivery_days)
        ),
    )
