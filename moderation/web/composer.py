"""The alert composer on the review page: its fields as typed, and their preview.

The composer is a plain form, so it works without JavaScript: "Update preview" posts it
and the page comes back with the preview rendered. With JavaScript the preview follows
the typing (/mod/preview, review.py).

Beside the written text, a textarea per language (`text_nl`, `text_en`, ...): a language
left empty falls back to the written text, and the preview says whom that reaches.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, col, select
from starlette.datastructures import FormData

from alerts.models import Severity
from app.errors import FieldError, InvalidInput, RedflagError
from app.i18n import LANGUAGE_NAMES, LANGUAGES, Translator
from app.identifiers import IdentifierKind, normalise
from app.regions import service as regions_service
from app.regions.models import Region, RegionLevel
from app.settings import Settings
from moderation import alert_review, phrasebook, redaction
from moderation.schemas import PreviewIn, PreviewOut, ReportReview

URGENCY_SEVERITY = {3: Severity.high, 2: Severity.medium, 1: Severity.low}


def typed_texts(form: FormData) -> dict[str, str]:
    """The texts typed per language (`text_ro`, ...); the languages left empty are left out."""
    typed = {lang: str(form.get(f"text_{lang}", "")) for lang in LANGUAGES}
    return {lang: text for lang, text in typed.items() if text.strip()}


def languages_context() -> dict[str, Any]:
    """What the per-language textareas (_mod_fields.html texts_field) are drawn from."""
    return {"language_names": LANGUAGE_NAMES, "phrases": phrasebook.phrases()}


def fallback_words(fallbacks: Mapping[str, int]) -> str:
    """ "HU (2 subscribers), PL (no subscribers)": the languages that get the written text."""
    return ", ".join(
        f"{lang.upper()} ({n or 'no'} subscriber{'' if n == 1 else 's'})"
        for lang, n in fallbacks.items()
    )


@dataclass(frozen=True)
class Composer:
    """The composer's fields as the moderator sees them, as typed."""

    text: str
    severity: str
    regions: list[str]  # region codes ticked: the report's place, its province, more
    extra_regions: str  # more regions by name (a code works too), typed in
    categories: list[str]
    identifiers: list[str]  # "kind|value": the report's identifiers, ticked
    new_identifiers: list[tuple[str, str]]  # (kind, value): one more, typed in
    expires_in_days: str
    checked_flags: bool = False  # "I checked: this is not the reporter", ticked
    texts: dict[str, str] = field(default_factory=dict)  # {lang: text}, the languages written

    @classmethod
    def suggested(cls, review: ReportReview) -> Composer:
        """What the composer starts with: the report's own facts, its text redacted."""
        return cls(
            text=review.suggested_text,
            severity=URGENCY_SEVERITY.get(review.urgency, Severity.medium).value,
            regions=[review.region.code],
            extra_regions="",
            categories=[c.value for c in review.categories],
            identifiers=[f"{i.kind.value}|{i.value}" for i in review.identifiers],
            new_identifiers=[("phone", "")],
            expires_in_days="90",
        )

    @classmethod
    def from_form(cls, form: FormData) -> Composer:
        return cls(
            text=str(form.get("text", "")),
            severity=str(form.get("severity", "")),
            regions=[str(r) for r in form.getlist("regions")],
            extra_regions=str(form.get("extra_regions", "")),
            categories=[str(c) for c in form.getlist("categories")],
            identifiers=[str(i) for i in form.getlist("identifiers")],
            new_identifiers=[(str(form.get("new_kind", "phone")), str(form.get("new_value", "")))],
            expires_in_days=str(form.get("expires_in_days", "90")),
            checked_flags=form.get("checked_flags") == "true",
            texts=typed_texts(form),
        )

    def content(self) -> dict[str, Any]:
        """The fields as the API's AlertContent takes them."""
        identifiers = [
            dict(zip(("kind", "value"), item.split("|", 1), strict=True))
            for item in self.identifiers
            if "|" in item
        ]
        identifiers += [{"kind": k, "value": v} for k, v in self.new_identifiers if v.strip()]
        return {
            "text": self.text,
            "texts": self.texts,
            "severity": self.severity,
            "regions": list(dict.fromkeys(self.regions)),
            "categories": self.categories,
            "identifiers": identifiers,
        }

    def resolved(self, session: Session) -> Composer:
        """The regions typed by name ticked instead; InvalidInput for a name not found."""
        if not self.extra_regions.strip():
            return self
        codes = named_regions(session, self.extra_regions)
        return replace(self, regions=list(dict.fromkeys(self.regions + codes)), extra_regions="")


PROVINCE_LABEL = "{} (province)"


def region_choices(session: Session) -> list[tuple[str, str]]:
    """(name, code) suggested while typing more regions: every municipality, its towns as
    "Town (Municipality)" (as on the report form), every province as "Drenthe (province)"."""
    rows = session.exec(
        select(Region).where(
            Region.active,
            col(Region.level).in_([RegionLevel.municipality, RegionLevel.province]),
        )
    ).all()
    choices = []
    for r in rows:
        if r.level == RegionLevel.province:
            choices.append((PROVINCE_LABEL.format(r.name), r.code))
        else:
            choices.append((r.name, r.code))
            choices += [(f"{alias} ({r.name})", r.code) for alias in r.aliases]
    return sorted(choices, key=lambda c: regions_service.fold(c[0]))


def named_regions(session: Session, typed: str, *, field: str = "More regions") -> list[str]:
    """The region codes for names (or codes) separated by commas or semicolons; InvalidInput
    naming each name that is not a region, with the closest names, under the form's `field`."""
    codes, errors = [], []
    labels: list[str] = []
    for name in [n.strip() for n in re.split(r"[,;]", typed) if n.strip()]:
        found = regions_service.resolve_area(session, typed=name)
        if found.region is not None:
            codes.append(found.region.code)
            continue
        closest = [_label(c) for c in found.candidates[:5]]
        if not closest:  # a typo ("Asen"): the names that look most like it
            labels = labels or [label for label, _ in region_choices(session)]
            closest = regions_service.closest_labels(name, labels)
        if closest:
            either = Translator("en").either(closest)
            message = f'{field}: which region is "{name}"? Did you mean {either}?'
        else:
            message = f'{field}: no region is called "{name}".'
        errors.append(FieldError((), "unknown_region", message))  # the message names the field
    if errors:
        raise InvalidInput(errors)
    return codes


def _label(region: Region) -> str:
    return (
        PROVINCE_LABEL.format(region.name) if region.level == RegionLevel.province else region.name
    )


def still_flagged(
    review: ReportReview, composer: Composer, settings: Settings
) -> list[redaction.Flag]:
    """What the redaction help flags in the alert's texts as they stand (the written one and
    every language's): the composer asks for a check before publishing them. The client's
    identifiers, ticked or typed, are not flagged."""
    region = settings.default_country
    reported = {(i.kind.value, i.value) for i in review.identifiers}
    for kind, value in composer.new_identifiers:
        try:
            reported.add((kind, normalise(IdentifierKind(kind), value, default_region=region)))
        except ValueError:  # InvalidIdentifier too
            continue  # not an identifier: the preview says what is wrong with it
    return redaction.reporter_flags_in(
        [composer.text, *composer.texts.values()], default_region=region, reported=reported
    )


def preview(
    session: Session, *, review: ReportReview, composer: Composer, settings: Settings
) -> tuple[Composer, PreviewOut | None, list[str]]:
    """What the alert would look like and whom it would reach, or what is wrong with it;
    with the composer as shown again (regions typed by name ticked instead)."""
    try:
        composer = composer.resolved(session)
        data = PreviewIn.model_validate(
            {
                **composer.content(),
                "incident_date": review.incident_date,
                "part_of_day": review.part_of_day,
            }
        )
        return composer, alert_review.preview(session, data=data, settings=settings), []
    except (ValidationError, InvalidInput) as exc:
        return composer, None, messages(exc)


def messages(exc: ValidationError | RedflagError) -> list[str]:
    """What is wrong, one line per problem, for the page (never the values typed)."""
    if isinstance(exc, ValidationError):
        return [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
    if isinstance(exc, InvalidInput):
        return [_page_message(e) for e in exc.errors]
    return [exc.message]


CHECKED_FLAGS = "I checked: this is not the reporter"


def asks_for_check(exc: Exception) -> FieldError | None:
    """The redaction check's refusal (`checked_flags`) among an error's, if there is one:
    the page then shows the box and names it (tick_message)."""
    if not isinstance(exc, InvalidInput):
        return None
    return next((e for e in exc.errors if e.loc == ("checked_flags",)), None)


def tick_message(error: FieldError, where: str) -> str:
    """The API names its field; a page names the box the moderator sees, and where."""
    return f"Tick “{CHECKED_FLAGS}” {where}: {error.msg}."


def _page_message(error: FieldError) -> str:
    if error.loc == ("checked_flags",):
        return tick_message(error, "below the alert text")
    return error.message
