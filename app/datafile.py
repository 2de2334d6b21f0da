"""Reading the JSON files a deployment supplies (regions, support), one way for all of them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from app.errors import RedflagError

Model = TypeVar("Model", bound=BaseModel)


def read(
    path: Path,
    model: type[Model],
    *,
    what: str,
    error: type[RedflagError],
    problem: Callable[[Any, ErrorDetails], str],
) -> Model:
    """The file as `model`, or `error` saying why not: every problem, as `problem` words it."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise error(f"cannot read {what} {path}: {exc}") from None
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = [problem(raw, e) for e in exc.errors()]
        raise error(f"{path} is not a {what}: " + "; ".join(problems)) from None
