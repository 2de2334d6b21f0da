"""The pages people actually use: the report form, the receipt, the status page.

Server-rendered and complete without JavaScript. Form posts are turned into the same
`ReportCreate` the API takes, so both paths share one validation and one service.
"""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, NamedTuple

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, ValidationError
from sqlmodel import Session

from app.crypto import Crypto
from app.deps import CryptoDep, PagesDep, RateLimit, SessionDep, SettingsDep, SupportDep
from app.errors import Conflict, FieldError, InvalidInput
from app.i18n import Translator, negotiate, phone_examples
from app.regions import service as regions_service
from app.reports import service
from app.reports.models import (
    MAX_ADDITIONS,
    MAX_DESCRIPTION,
    MAX_MESSAGE,
    MAX_TEXT,
    Category,
    Language,
    PartOfDay,
    PerpetratorIn,
    Report,
    ReportCreate,
    latest_date_anywhere,
)
from app.settings import Settings
from app.support import service as support_service
from app.support.models import SupportFile
from app.support.service import Care
from app.web import Pages, refuse

router = APIRouter(include_in_schema=False)


class ReportForm(BaseModel):
    """The form exactly as a browser posts it: every field a string, all may be empty."""

    place: str = ""
    incident_date: str = ""
    part_of_day: str = ""
    categories: list[str] = []
    what_happened: str = ""
    phones: str = ""
    emails: str = ""
    plates: str = ""
    handles: str = ""
    description: str = ""
    police_consent: str = "none"
    form_token: str = ""


class CodeForm(BaseModel):
    receipt_code: str = ""
    message: str = ""
    addition: str = ""
    confirm: str = ""


class StatusDeps(NamedTuple):
    """What the status page needs besides the report: to read it, and whom to call."""

    session: Session
    crypto: Crypto
    support: SupportFile


def _status_deps(session: SessionDep, crypto: CryptoDep, support: SupportDep) -> StatusDeps:
    return StatusDeps(session, crypto, support)


StatusDepsDep = Annotated[StatusDeps, Depends(_status_deps)]


@router.get("/")
def home(request: Request) -> RedirectResponse:
    lang = negotiate(request.headers.get("accept-language"))
    return RedirectResponse(f"/{lang}/", status_code=303)


@router.get("/{lang}/")
@router.get("/{lang}/report")
def report_form(lang: Language, session: SessionDep, pages: PagesDep) -> HTMLResponse:
    return _form_page(pages, session, lang, values={"incident_date": ""}, errors={})


@router.post("/{lang}/report", dependencies=[Depends(RateLimit("submit"))])
def submit_report_form(
    lang: Language,
    form: Annotated[ReportForm, Form()],
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
    pages: PagesDep,
    support: SupportDep,
) -> HTMLResponse:
    _ = Translator(lang.value)
    reading = read_form(session, settings, lang, form)
    if reading.errors or reading.data is None:
        refuse(
            _form_page(
                pages, session, lang, values=form.model_dump(), errors=reading.errors, status=422
            )
        )
    data = reading.data
    try:
        _, code = service.submit(
            session,
            data=data,
            crypto=crypto,
            default_region=settings.default_country,
            form_token=form.form_token or None,
        )
    except service.AlreadySubmitted:
        refuse(
            pages.message(
                lang=lang.value,
                title=_("already.title"),
                message=_("already.body"),
                status_code=409,
            )
        )
    except InvalidInput as exc:  # only if something changed between the checks and the insert
        reading.add(exc.errors)
        refuse(
            _form_page(
                pages, session, lang, values=form.model_dump(), errors=reading.errors, status=422
            )
        )
    return pages.render(
        "receipt.html",
        lang=lang.value,
        receipt_code=code,
        care=_care(session, support, data.region),
        wait=wait_words(Translator(lang.value), service.typical_wait(session)),
    )


@router.get("/{lang}/status")
def status_lookup(lang: Language, pages: PagesDep) -> HTMLResponse:
    return pages.render("status_lookup.html", lang=lang.value, page="status")


@router.post("/{lang}/status", dependencies=[Depends(RateLimit("lookup"))])
def status_page(
    lang: Language, form: Annotated[CodeForm, Form()], deps: StatusDepsDep, pages: PagesDep
) -> HTMLResponse:
    report = service.find_by_receipt_or_none(
        deps.session, crypto=deps.crypto, receipt_code=form.receipt_code
    )
    if report is None:
        return _not_found(pages, lang, form)
    return _status_page(pages, lang, form.receipt_code, report, deps)


@router.post("/{lang}/status/reply", dependencies=[Depends(RateLimit("lookup"))])
def reply_page(
    lang: Language, form: Annotated[CodeForm, Form()], deps: StatusDepsDep, pages: PagesDep
) -> HTMLResponse:
    return _act(pages, lang, form, deps, _reply, field="message", done="status.reply_sent")


@router.post("/{lang}/status/withdraw", dependencies=[Depends(RateLimit("lookup"))])
def withdraw_page(
    lang: Language, form: Annotated[CodeForm, Form()], deps: StatusDepsDep, pages: PagesDep
) -> HTMLResponse:
    return _act(pages, lang, form, deps, _withdraw, field="confirm", done="status.withdrawn_done")


@router.post("/{lang}/status/police", dependencies=[Depends(RateLimit("lookup"))])
def withdraw_police_consent_page(
    lang: Language, form: Annotated[CodeForm, Form()], deps: StatusDepsDep, pages: PagesDep
) -> HTMLResponse:
    return _act(
        pages, lang, form, deps, _withdraw_police_consent, field="confirm", done="police.withdrawn"
    )


@router.post("/{lang}/status/add", dependencies=[Depends(RateLimit("lookup"))])
def add_information_page(
    lang: Language, form: Annotated[CodeForm, Form()], deps: StatusDepsDep, pages: PagesDep
) -> HTMLResponse:
    return _act(pages, lang, form, deps, _add_information, field="addition", done="care.add_done")


# ---- what the status page's forms do ------------------------------------------------

# An action on the report found by its receipt code: None when it is done, or what is wrong,
# in the page's language.
StatusAction = Callable[[Translator, CodeForm, Report, StatusDeps], str | None]


def _act(
    pages: Pages,
    lang: Language,
    form: CodeForm,
    deps: StatusDeps,
    action: StatusAction,
    *,
    field: str,
    done: str,
) -> HTMLResponse:
    """Find the report by its receipt code and act on it: the status page again with the
    `done` notice, or with what is wrong next to the form's `field` (and nothing kept)."""
    _ = Translator(lang.value)
    report = service.find_by_receipt_or_none(
        deps.session, crypto=deps.crypto, receipt_code=form.receipt_code
    )
    if report is None:
        return _not_found(pages, lang, form)
    error = action(_, form, report, deps)
    if error:
        errors, values = {field: error}, {field: getattr(form, field)}
        refuse(
            _status_page(pages, lang, form.receipt_code, report, deps, errors=errors, values=values)
        )
    return _status_page(pages, lang, form.receipt_code, report, deps, notice=_(done))


def _reply(_: Translator, form: CodeForm, report: Report, deps: StatusDeps) -> str | None:
    message = form.message.strip()
    if error := _text_error(_, message, empty="error.reply_empty"):
        return error
    try:
        service.reply(deps.session, report=report, message=message, cipher=deps.crypto.cipher)
    except Conflict:
        return _("error.no_question")
    return None


def _withdraw(_: Translator, form: CodeForm, report: Report, deps: StatusDeps) -> str | None:
    if not form.confirm:
        return _("error.confirm_withdraw")
    try:
        service.withdraw(deps.session, report=report)
    except Conflict:
        return _("error.cannot_withdraw")
    return None


def _withdraw_police_consent(
    _: Translator, form: CodeForm, report: Report, deps: StatusDeps
) -> str | None:
    try:
        service.withdraw_police_consent(deps.session, report=report)
    except Conflict:
        return _("police.already_shared")
    return None


def _add_information(_: Translator, form: CodeForm, report: Report, deps: StatusDeps) -> str | None:
    addition = form.addition.strip()
    if error := _text_error(_, addition, empty="care.add_empty"):
        return error
    try:
        service.add_information(
            deps.session, report=report, message=addition, cipher=deps.crypto.cipher
        )
    except service.ReportClosed:
        return _("care.add_closed")
    except service.TooManyAdditions:
        return _("care.add_too_many", max=MAX_ADDITIONS)
    return None


def _text_error(_: Translator, text: str, *, empty: str) -> str | None:
    if not text:
        return _(empty)
    if len(text) > MAX_MESSAGE:
        return _("error.too_long", max=MAX_MESSAGE)
    return None


@dataclass
class FormReading:
    """The report form read as the API's ReportCreate (None when a field is wrong), and
    what is wrong, by the form's field names, in the page's language."""

    data: ReportCreate | None
    errors: dict[str, str]
    wording: _Wording
    translate: Translator

    def add(self, found: Iterable[FieldError]) -> None:
        _add(self.errors, self.translate, self.wording, found)


def read_form(
    session: Session, settings: Settings, lang: Language, form: ReportForm
) -> FormReading:
    """The report form as the API takes it: the public page's and /org/report's (organisations)."""
    _ = Translator(lang.value)
    perpetrator = {
        "phones": _split(form.phones),
        "emails": _split(form.emails),
        "plates": _split(form.plates),
        "handles": _split(form.handles),
        "description": form.description or None,
    }
    counts = {k: len(v) for k, v in perpetrator.items() if isinstance(v, list)}
    reading = FormReading(None, {}, _Wording(counts, phone_examples(settings.default_country)), _)

    place = regions_service.resolve_place(session, typed=form.place)
    if place.region is None:
        reading.errors["place"] = _place_error(_, session, form.place, place.candidates)
    try:
        identifiers = PerpetratorIn.model_validate(perpetrator)
        reading.add(service.identifier_errors(identifiers, default_region=settings.default_country))
    except ValidationError as exc:
        reading.add(_pydantic_errors(exc, prefix=("perpetrator",)))
    raw: dict[str, Any] = {
        "region": place.region.code if place.region else "",
        "categories": form.categories,
        "what_happened": form.what_happened,
        "perpetrator": perpetrator,
        "police_consent": form.police_consent or "none",
        "language": lang.value,
    }
    raw.update({k: v for k in ("incident_date", "part_of_day") if (v := getattr(form, k))})
    try:
        data = ReportCreate.model_validate(raw)
    except ValidationError as exc:
        reading.add(_pydantic_errors(exc))
    else:
        reading.data = None if reading.errors else data
    return reading


def form_fields(session: Session) -> dict[str, Any]:
    """What the report form's fields are filled from (app/templates/_report_fields.html)."""
    return {
        "places": regions_service.place_labels(session),
        "parts_of_day": [p.value for p in PartOfDay],
        "categories": [c.value for c in Category],
        "max_date": latest_date_anywhere().isoformat(),
        "max_text": MAX_TEXT,
        "max_description": MAX_DESCRIPTION,
    }


# ---- helpers ------------------------------------------------------------------------


def _form_page(
    pages: Pages,
    session: Session,
    lang: Language,
    *,
    values: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> HTMLResponse:
    return pages.render(
        "report_form.html",
        lang=lang.value,
        status_code=status,
        values=values,
        errors=errors,
        **form_fields(session),
        # Not a session: a one-time value so that a double tap files one report, not two.
        form_token=values.get("form_token") or secrets.token_urlsafe(24),
    )


def _status_page(
    pages: Pages,
    lang: Language,
    receipt_code: str,
    report: Report,
    deps: StatusDeps,
    *,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    status = service.status_of(deps.session, report=report, cipher=deps.crypto.cipher)
    waiting = status.status.value in {"submitted", "in_review"}
    return pages.render(
        "status.html",
        lang=lang.value,
        page="status",
        status_code=422 if errors else 200,
        report=status,
        receipt_code=receipt_code,
        errors=errors or {},
        values=values or {},
        notice=notice,
        max_message=MAX_MESSAGE,
        care=_care(deps.session, deps.support, report.region_code),
        wait=wait_words(Translator(lang.value), service.typical_wait(deps.session))
        if waiting
        else None,
    )


def _care(session: Session, support: SupportFile, region_code: str) -> Care:
    """Whom to call for the report's municipality and province, and nationally."""
    places = regions_service.with_ancestors(session, [region_code])
    return support_service.for_places(support, places)


def wait_words(_: Translator, wait: timedelta | None) -> str:
    """The typical wait in rounded words: "usually within about 3 hours", in the
    language's plural forms."""
    if wait is None:
        return _("care.wait_unknown")
    hours = max(1, math.floor(wait.total_seconds() / 3600 + 0.5))
    if hours < 24:
        return _("care.wait_hours", count=hours)
    days = max(1, math.floor(wait.total_seconds() / 86400 + 0.5))
    return _("care.wait_days", count=days)


def _not_found(pages: Pages, lang: Language, form: CodeForm) -> HTMLResponse:
    _ = Translator(lang.value)
    return pages.render(
        "status_lookup.html",
        lang=lang.value,
        page="status",
        status_code=404,
        values={"receipt_code": form.receipt_code},
        errors={"receipt_code": _("error.receipt_not_found")},
    )


def _split(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,;\n]+", text) if part.strip()]


def _place_error(_: Translator, session: Session, typed: str, candidates: Sequence[Any]) -> str:
    if not typed.strip():
        return _("error.required")
    if candidates:
        return _("error.place_choose", options=", ".join(c.name for c in candidates[:6]))
    closest = regions_service.closest_labels(typed, regions_service.place_labels(session))
    if closest:
        return _("words.error.place_closest", options=_.either(closest))
    return _("error.place_unknown")


def _pydantic_errors(exc: ValidationError, prefix: tuple[str, ...] = ()) -> list[FieldError]:
    return [
        FieldError(
            (*prefix, *e["loc"]),
            e["type"],
            str((e.get("ctx") or {}).get("max_length", "")),  # the only detail the page needs
        )
        for e in exc.errors()
    ]


# Which form field an API field belongs to.
_FORM_FIELD = {"region": "place", "perpetrator": None}


@dataclass(frozen=True)
class _Wording:
    """What error messages about identifiers need: how many of each kind were typed (to say
    which one is wrong), and how a phone number is written here and from abroad."""

    counts: dict[str, int]
    examples: dict[str, str]


def _add(
    errors: dict[str, str], _: Translator, wording: _Wording, found: Iterable[FieldError]
) -> None:
    for error in found:
        loc = [str(part) for part in error.loc]
        if loc[0] == "perpetrator" and len(loc) > 1:
            field = loc[1]
        else:
            field = _FORM_FIELD.get(loc[0], loc[0]) or loc[0]
        if field == "place" and "place" in errors:
            continue
        errors.setdefault(field, _message(_, field, error, wording))


def _message(_: Translator, field: str, error: FieldError, wording: _Wording) -> str:
    kind = error.type
    if kind.startswith("invalid_"):
        position = error.loc[-1]
        if wording.counts.get(field, 0) > 1 and isinstance(position, int):
            return _(f"error.{kind}_n", n=position + 1, **wording.examples)
        return _(f"error.{kind}", **wording.examples)
    if field == "incident_date":
        return _(
            f"error.{kind}" if kind in {"date_in_future", "date_too_old"} else "error.date_invalid"
        )
    if field == "part_of_day":
        return _("error.part_of_day")
    if field == "categories":
        return _("error.categories") if kind in {"missing", "too_short"} else _("error.invalid")
    if kind == "string_too_long":
        return _("error.too_long", max=error.msg)
    if kind == "too_long":
        return _("error.too_many", max=error.msg)
    if kind == "missing":
        return _("error.required")
    return _("error.invalid")
