"""Loading, searching and resolving regions."""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic_core import ErrorDetails
from sqlalchemy import ColumnElement, exists
from sqlmodel import Session, col, select

from app import datafile
from app.errors import FieldError, InvalidInput, RedflagError
from app.i18n import LANGUAGES, catalog
from app.regions.models import (
    Region,
    RegionFile,
    RegionLevel,
    RegionMatch,
    RegionNode,
    RegionPublic,
)

PARENT_LEVEL = {
    RegionLevel.country: None,
    RegionLevel.province: RegionLevel.country,
    RegionLevel.municipality: RegionLevel.province,
}


class RegionFileError(RedflagError):
    """A region file that cannot be loaded; the message lists every problem."""


@dataclass
class LoadResult:
    added: int = 0
    updated: int = 0
    retired: int = 0


@dataclass
class PlaceResolution:
    """What a typed town means: one municipality, or the candidates to choose from."""

    region: Region | None
    candidates: list[Region] = field(default_factory=list)


def fold(text: str) -> str:
    """Lower case, no accents, punctuation as spaces: "Súdwest-Fryslân" -> "sudwest fryslan".

    Every non-spacing mark goes, not only those Unicode gives a combining class: Thai vowel
    and tone marks such as the sara i in "ยกเลิก" (cancel) have class 0, and left in they
    would split a Thai word in two, as punctuation does."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return " ".join(re.sub(r"[\W_]+", " ", bare.casefold()).split())


def builtin_file() -> Path:
    return Path(str(resources.files("app.regions") / "data" / "nl.json"))


def read_region_file(path: Path) -> RegionFile:
    return datafile.read(
        path, RegionFile, what="region file", error=RegionFileError, problem=_problem
    )


def _problem(raw: Any, error: ErrorDetails) -> str:
    """ "regions.0.name: Field required": where in the file, then what is wrong there."""
    return f"{'.'.join(map(str, error['loc']))}: {error['msg']}"


def load_tree(session: Session, *, tree: RegionFile) -> LoadResult:
    """Add or update every region in the file; retire regions of the same countries it lacks."""
    existing = {r.code: r for r in session.exec(select(Region)).all()}
    _check_tree(tree, existing)
    result = LoadResult()
    incoming = {r.code for r in tree.regions}
    for item in tree.regions:
        values = {
            "name": item.name,
            "level": item.level.value,
            "parent_code": item.parent,
            "aliases": item.aliases,
            "search_text": "|".join(fold(n) for n in [item.name, *item.aliases]),
            "active": True,
        }
        region = existing.get(item.code)
        if region is None:
            session.add(Region.model_validate({"code": item.code, **values}))
            result.added += 1
        elif any(getattr(region, k) != v for k, v in values.items()):
            region.sqlmodel_update(values)
            session.add(region)
            result.updated += 1
    countries = {r.code for r in tree.regions if r.level is RegionLevel.country}
    for region in existing.values():
        if (
            region.code not in incoming
            and region.active
            and _country_of(region, existing) in countries
        ):
            region.active = False  # kept: earlier reports still point at it
            session.add(region)
            result.retired += 1
    session.flush()
    return result


def _check_tree(tree: RegionFile, existing: dict[str, Region]) -> None:
    problems = []
    levels = {r.code: r.level for r in tree.regions}
    seen: set[str] = set()
    for r in tree.regions:
        if r.code in seen:
            problems.append(f"{r.code}: listed twice")
        seen.add(r.code)
        want = PARENT_LEVEL[r.level]
        if want is None:
            if r.parent is not None:
                problems.append(f"{r.code}: a country has no parent")
            continue
        parent_level = levels.get(r.parent or "")
        if parent_level is None and r.parent in existing:
            parent_level = RegionLevel(existing[r.parent].level)
        if parent_level is None:
            problems.append(f"{r.code}: parent {r.parent!r} is not in the file or the database")
        elif parent_level is not want:
            problems.append(f"{r.code}: a {r.level.value}'s parent must be a {want.value}")
    if problems:
        raise RegionFileError("region file rejected: " + "; ".join(problems))


def _country_of(region: Region, regions: dict[str, Region]) -> str:
    while region.parent_code is not None and region.parent_code in regions:
        region = regions[region.parent_code]
    return region.code


_DEPTH = {RegionLevel.country: 1, RegionLevel.province: 2, RegionLevel.municipality: 3}


def with_ancestors(session: Session, codes: list[str]) -> dict[str, int]:
    """These regions and every region above them, each with its depth (a country 1, a
    municipality 3): what a place-scoped list (app.support) is matched against."""
    found: dict[str, int] = {}
    wanted = {c.strip().upper() for c in codes}
    while wanted:
        rows = session.exec(select(Region).where(col(Region.code).in_(wanted))).all()
        for region in rows:
            found[region.code] = _DEPTH[RegionLevel(region.level)]
        wanted = {r.parent_code for r in rows if r.parent_code} - set(found)
    return found


def has_regions(session: Session) -> bool:
    return session.exec(select(Region.code).limit(1)).first() is not None


def get_municipality(session: Session, *, code: str) -> Region | None:
    return session.exec(select(Region).where(*_in_use_municipality(code.strip().upper()))).first()


def names(session: Session, codes: list[str]) -> list[str]:
    """The regions' names, in the order of their codes (a code without a row as itself)."""
    found = {
        r.code: r.name for r in session.exec(select(Region).where(col(Region.code).in_(codes)))
    }
    return [found.get(c, c) for c in codes]


def check_codes(session: Session, codes: list[str], *, field: str = "regions") -> list[str]:
    """Region codes as typed (spaces trimmed, upper case), each once, in the order given;
    InvalidInput naming every position whose code is not an active region."""
    wanted = [code.strip().upper() for code in codes]
    known = set(
        session.exec(select(Region.code).where(col(Region.code).in_(wanted), Region.active)).all()
    )
    errors = [
        FieldError((field, i), "unknown_region", "unknown region code")
        for i, code in enumerate(wanted)
        if code not in known
    ]
    if errors:
        raise InvalidInput(errors)
    return list(dict.fromkeys(wanted))


def is_municipality(code: ColumnElement[str]) -> ColumnElement[bool]:
    """SQL for "`code` (already upper case) is a municipality in use", for a statement
    that should only write when it is."""
    return exists().where(*_in_use_municipality(code))


def _in_use_municipality(code: str | ColumnElement[str]) -> list[ColumnElement[bool]]:
    return [
        col(Region.code) == code,
        col(Region.active).is_(True),
        col(Region.level) == RegionLevel.municipality,
    ]


def search(session: Session, *, query: str, limit: int = 20) -> list[RegionMatch]:
    """Regions whose name or alias contains the query, best matches first."""
    folded = fold(query)
    if not folded:
        return []
    rows = session.exec(
        select(Region).where(
            Region.active, col(Region.search_text).contains(folded, autoescape=True)
        )
    ).all()
    ranked = sorted(rows, key=lambda r: (_rank(r, folded), _LEVEL_ORDER[r.level], r.name))
    parents = _parents(session, ranked[:limit])
    return [_match(r, folded, parents.get(r.parent_code or "")) for r in ranked[:limit]]


_LEVEL_ORDER = {"municipality": 0, "province": 1, "country": 2}


def _rank(region: Region, folded: str) -> int:
    name, *aliases = region.search_text.split("|")
    if name == folded:
        return 0
    if folded in aliases:
        return 1
    if name.startswith(folded):
        return 2
    if any(a.startswith(folded) for a in aliases):
        return 3
    return 4


def _match(region: Region, folded: str, parent: Region | None) -> RegionMatch:
    name_hit = folded in fold(region.name)
    alias = None if name_hit else next((a for a in region.aliases if folded in fold(a)), None)
    return RegionMatch(
        code=region.code,
        name=region.name,
        level=RegionLevel(region.level),
        parent=_public(parent) if parent else None,
        matched_alias=alias,
    )


def _public(region: Region) -> RegionPublic:
    return RegionPublic(code=region.code, name=region.name, level=RegionLevel(region.level))


def _parents(session: Session, regions: list[Region]) -> dict[str, Region]:
    codes = {r.parent_code for r in regions if r.parent_code}
    if not codes:
        return {}
    return {r.code: r for r in session.exec(select(Region).where(col(Region.code).in_(codes)))}


def tree(session: Session) -> list[RegionNode]:
    regions = session.exec(select(Region).where(Region.active).order_by(Region.name)).all()
    nodes = {
        r.code: RegionNode(code=r.code, name=r.name, level=RegionLevel(r.level)) for r in regions
    }
    roots: list[RegionNode] = []
    for r in regions:
        parent = nodes.get(r.parent_code or "")
        (parent.children if parent else roots).append(nodes[r.code])
    return roots


def place_labels(session: Session) -> list[str]:
    """What the report form suggests while typing: every municipality, and "Town (Municipality)"."""
    municipalities = session.exec(
        select(Region).where(Region.active, Region.level == RegionLevel.municipality)
    ).all()
    labels = {m.name for m in municipalities}
    labels.update(f"{alias} ({m.name})" for m in municipalities for alias in m.aliases)
    return sorted(labels, key=fold)


def resolve_place(session: Session, *, typed: str) -> PlaceResolution:
    """The municipality meant by a code, a name, an alias or a "Town (Municipality)" label."""
    text = typed.strip()
    if not text:
        return PlaceResolution(None)
    by_code = get_municipality(session, code=text)
    if by_code is not None:
        return PlaceResolution(by_code)
    label = re.fullmatch(r"(.+?)\s*\((.+)\)", text)
    # "Spijkenisse (Nissewaard)" names the municipality in brackets, but "Bergen (NH.)" is
    # itself a name: try the whole text first, then the part in brackets.
    for candidate in [text, label.group(2)] if label else [text]:
        exact = _exact(session, fold(candidate))
        if len(exact) == 1:
            return PlaceResolution(exact[0])
        if exact:
            return PlaceResolution(None, exact)
    matches = search(session, query=text, limit=8)
    codes = [m.code for m in matches if m.level is RegionLevel.municipality]
    regions = [session.get(Region, c) for c in codes]
    return PlaceResolution(None, [r for r in regions if r is not None])


def _province_words() -> tuple[str, ...]:
    """The word for "province" in every language's catalogue (how a province is labelled
    in the place lists: "Utrecht (provincie)")."""
    return tuple(sorted({str(catalog(lang)["subscribe.province_word"]) for lang in LANGUAGES}))


PROVINCE_WORDS = _province_words()


def resolve_area(session: Session, *, typed: str) -> PlaceResolution:
    """For subscriptions: a municipality as resolve_place finds it; a province named with
    its word ("Utrecht (provincie)", "province of Drenthe" works too), or by code (NL-DR);
    or a province or country whose name is not also a town's ("Drenthe")."""
    text = typed.strip()
    words = "|".join(re.escape(word) for word in PROVINCE_WORDS)
    province = re.fullmatch(rf"(.+?)\s*\((?:{words})\)", text, re.IGNORECASE)
    if province is None:
        place = resolve_place(session, typed=text)
        if place.region is not None:
            return place
        candidates = place.candidates
    else:
        text, candidates = province.group(1), []
    folded = fold(text)
    rows = session.exec(
        select(Region).where(Region.active, Region.level != RegionLevel.municipality)
    ).all()
    wide = [r for r in rows if r.code == text.upper() or folded in r.search_text.split("|")]
    if len(wide) == 1:
        return PlaceResolution(wide[0])
    return PlaceResolution(None, candidates or wide)


def area_labels(session: Session, *, province_word: str) -> list[str]:
    """What the subscription form suggests: towns as for reports, then "Drenthe (provincie)"."""
    provinces = session.exec(
        select(Region.name).where(Region.active, Region.level == RegionLevel.province)
    ).all()
    return place_labels(session) + [f"{name} ({province_word})" for name in sorted(provinces)]


def _exact(session: Session, folded: str) -> list[Region]:
    if not folded:
        return []
    rows = session.exec(
        select(Region).where(
            Region.active,
            Region.level == RegionLevel.municipality,
            col(Region.search_text).contains(folded, autoescape=True),
        )
    ).all()
    return [r for r in rows if folded in r.search_text.split("|")]


def closest_labels(typed: str, labels: list[str], *, n: int = 3) -> list[str]:
    """The labels closest to a place nobody knows, for "did you mean": "Asen" -> Assen.
    Compared without case, accents or punctuation; a "Town (Municipality)" label by its town."""
    by_fold: dict[str, str] = {}
    for label in labels:
        by_fold.setdefault(fold(label.split(" (")[0]), label)
    found = difflib.get_close_matches(fold(typed), list(by_fold), n=n, cutoff=0.75)
    return [by_fold[f] for f in found]
