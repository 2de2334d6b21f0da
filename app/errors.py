"""One error base class; services raise these and never import FastAPI.

The handlers turn them into JSON for the API and into a short translated page for
the public site. No handler ever echoes what was submitted: FastAPI's validation
errors carry the input back by default, which could be a phone number or a story.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True)
class FieldError:
    """One problem with one field. `loc` is the path into the body, e.g.
    ("perpetrator", "phones", 0); `type` is a stable code the pages translate."""

    loc: tuple[str | int, ...]
    type: str
    msg: str

    @property
    def field(self) -> str:
        return ".".join(str(part) for part in self.loc)

    @property
    def message(self) -> str:
        return f"{self.field}: {self.msg}" if self.loc else self.msg

    def as_json(self) -> dict[str, object]:
        return {
            "loc": ["body", *self.loc],
            "field": self.field,
            "type": self.type,
            "msg": self.message,
        }


class RedflagError(Exception):
    status_code = 400
    headers: ClassVar[dict[str, str] | None] = None
    # Most errors undo everything the request wrote. One that must leave a trace (a wrong
    # code counted, a failed login counted and audited) says so, and the request's
    # session (app.deps.get_session) commits before the error is answered.
    keeps_writes: ClassVar[bool] = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.response_headers: dict[str, str] = dict(self.headers or {})


class Unauthorized(RedflagError):
    status_code = 401
    headers: ClassVar[dict[str, str] | None] = {"WWW-Authenticate": "Bearer"}


class Forbidden(RedflagError):
    status_code = 403


class NotFound(RedflagError):
    status_code = 404


class Conflict(RedflagError):
    status_code = 409


class RateLimited(RedflagError):
    status_code = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__("Too many requests. Please wait a moment and try again.")
        self.retry_after = retry_after


class InvalidInput(RedflagError):
    status_code = 422

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors
