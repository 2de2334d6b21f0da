"""/{lang}/objection: objecting to a listing, and reading the answer, in the objector's
language. The same steps and the same page whether or not the identifier is listed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ValidationError

from app.deps import CryptoDep, PagesDep, RateLimit, SessionDep, SettingsDep
from app.errors import FieldError, InvalidInput, NotFound, RateLimited
from app.i18n import Translator, phone_examples
from app.identifiers import IdentifierKind
from app.reports.models import Language
from app.web import Pages, refuse
from moderation.objections import service
from moderation.objections.models import ObjectionIn

router = APIRouter(include_in_schema=False)


class ObjectionForm(BaseModel):
    kind: str = ""
    value: str = ""
    reason: str = ""
    contact: str = ""


class CaseForm(BaseModel):
    case_code: str = ""


@router.get("/{lang}/objection")
def objection_form(lang: Language, pages: PagesDep) -> HTMLResponse:
    return pages.render("objection.html", lang=lang.value, page="objection")


@router.post("/{lang}/objection", dependencies=[Depends(RateLimit("submit"))])
def send_objection(
    lang: Language,
    form: Annotated[ObjectionForm, Form()],
    request: Request,
    session: SessionDep,
    crypto: CryptoDep,
    settings: SettingsDep,
    pages: PagesDep,
) -> HTMLResponse:
    _ = Translator(lang.value)
    try:
        data = ObjectionIn.model_validate(
            {**form.model_dump(), "contact": form.contact or None, "language": lang.value}
        )
        code, objection = service.submit(
            session, data=data, crypto=crypto, settings=settings, limiter=request.app.state.limiter
        )
    except ValidationError as exc:
        errors = [FieldError(tuple(map(str, e["loc"])), e["type"], "") for e in exc.errors()]
        errors += _value_errors(form, settings.default_country)  # named even beside others
        refuse(_form_again(pages, lang, form, _errors(_, errors, settings.default_country)))
    except InvalidInput as exc:
        refuse(_form_again(pages, lang, form, _errors(_, exc.errors, settings.default_country)))
    except RateLimited:
        refuse(_form_again(pages, lang, form, {"value": _("error.rate_limited")}, status=429))
    return pages.render(
        "objection_received.html",
        lang=lang.value,
        page="objection",
        status_code=201,
        case_code=code,
        deadline=objection.deadline_at.date(),
    )


@router.get("/{lang}/objection/status")
def status_form(lang: Language, pages: PagesDep) -> HTMLResponse:
    return pages.render("objection_status.html", lang=lang.value, page="objection/status")


@router.post("/{lang}/objection/status", dependencies=[Depends(RateLimit("lookup"))])
def read_status(
    lang: Language,
    form: Annotated[CaseForm, Form()],
    session: SessionDep,
    crypto: CryptoDep,
    pages: PagesDep,
) -> HTMLResponse:
    try:
        case = service.status_of(
            service.find(session, crypto=crypto, typed=form.case_code), crypto=crypto
        )
    except NotFound:
        return pages.render(
            "objection_status.html",
            lang=lang.value,
            page="objection/status",
            status_code=404,
            values={"case_code": form.case_code},
            errors={"case_code": Translator(lang.value)("objection.not_found")},
        )
    return pages.render(
        "objection_status.html",
        lang=lang.value,
        page="objection/status",
        case=case,
        values={"case_code": form.case_code},
    )


def _value_errors(form: ObjectionForm, country: str) -> list[FieldError]:
    if form.kind not in IdentifierKind.__members__ or not form.value.strip():
        return []
    try:
        service.normalised(IdentifierKind(form.kind), form.value, country=country)
    except InvalidInput as exc:
        return exc.errors
    return []


def _form_again(
    pages: Pages, lang: Language, form: ObjectionForm, errors: dict[str, str], *, status: int = 422
) -> HTMLResponse:
    return pages.render(
        "objection.html",
        lang=lang.value,
        page="objection",
        status_code=status,
        values=form.model_dump(),
        errors=errors,
    )


def _errors(_: Translator, found: list[FieldError], country: str) -> dict[str, str]:
    """Each field's first problem, in the objector's language."""
    examples = phone_examples(country)
    errors: dict[str, str] = {}
    for error in found:
        field = str(error.loc[0])
        if error.type.startswith("invalid_") and field == "value":
            message = _(f"error.{error.type}", **examples)
        elif error.type in {"missing", "string_too_short"}:
            message = _("error.required")
        elif error.type == "string_too_long":
            message = _("error.too_long", max=2000 if field == "reason" else 200)
        else:
            message = _("objection.kind_choose") if field == "kind" else _("error.invalid")
        errors.setdefault(field, message)
    return errors
