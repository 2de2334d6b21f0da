"""Loading the support file and choosing the organisations for a place."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic_core import ErrorDetails

from app import datafile
from app.errors import RedflagError
from app.support.models import SupportEntry, SupportFile


class SupportFileError(RedflagError):
    """A support file that cannot be used; the message names every bad entry."""


def builtin_file() -> Path:
    return Path(str(resources.files("app.support") / "data" / "nl.json"))


def read_support_file(path: Path) -> SupportFile:
    return datafile.read(
        path, SupportFile, what="support file", error=SupportFileError, problem=_problem
    )


def _problem(raw: Any, error: ErrorDetails) -> str:
    """ "entries[2] (Politie): phone: ..." — the entry by position and name, then the field."""
    loc, message = error["loc"], error["msg"].removeprefix("Value error, ")
    if len(loc) >= 2 and loc[0] == "entries" and isinstance(loc[1], int):
        entries = raw.get("entries") if isinstance(raw, dict) else None
        entry = entries[loc[1]] if isinstance(entries, list) else None
        name = entry.get("name") if isinstance(entry, dict) else None
        where = f"entries[{loc[1]}]" + (f" ({name})" if isinstance(name, str) and name else "")
        # A scope is "national" or a list: pydantic reports both branches; say it once.
        rest = [str(p) for p in loc[2:] if p not in {"literal['national']", "list[str]"}]
        return f"{where}: {'.'.join(rest) or 'entry'}: {message}"
    return f"{'.'.join(map(str, loc)) or 'file'}: {message}"


def load(path: Path | None) -> SupportFile:
    """The deployment's file, which replaces the shipped Dutch defaults; those without one."""
    return read_support_file(path or builtin_file())


@dataclass
class Care:
    """What the care block on a page shows: the emergency number and whom to call."""

    emergency: str
    entries: list[SupportEntry] = field(default_factory=list)


def for_places(support: SupportFile, places: dict[str, int]) -> Care:
    """The organisations for these places, most local first, then the national ones.
    `places`: region codes with their depth, the regions above them included
    (app.regions.service.with_ancestors); none: the national ones only."""
    local = [e for e in support.entries if not e.is_national and places.keys() & set(e.scope)]
    local.sort(key=lambda e: -max(places[c] for c in e.scope if c in places))
    return Care(emergency=support.emergency, entries=local + national(support).entries)


def national(support: SupportFile) -> Care:
    """The organisations for anyone, wherever they are."""
    return Care(emergency=support.emergency, entries=[e for e in support.entries if e.is_national])
