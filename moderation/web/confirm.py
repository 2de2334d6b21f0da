"""Asking before what cannot be undone.

A form whose action cannot be taken back (publishing, rejecting, marking a duplicate,
approving, an update, a retraction, deactivating an account or resetting its password or
second factor) posts to its action as usual. Without a `confirmed` field the action is
tried, undone (app.web.refuse rolls the request back), and answered with a page asking
the question, saying what the action would do; its Confirm button posts the same fields
again with `confirmed`. Trying first means the question only comes when the action would
succeed: a mistake comes back at once on the form's own page. With JavaScript, mod.js
asks the same question in a dialog (the form's or button's `data-confirm`) and adds the
field itself, so the page is not needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn

from fastapi import Request
from starlette.datastructures import FormData

from app.web import refuse
from moderation.web.session import ModSession, render

CONFIRMED = "confirmed"


@dataclass(frozen=True)
class Question:
    title: str  # "Retract alert RF-7K3Q2M?"
    detail: str  # what it does, and to how many people
    button: str  # the Confirm button's words
    cancel: str  # where Cancel leads
    submit: tuple[str, str] | None = None  # the pressed button's (name, value), pressed again
    # Cancel as a button posting the form with this (name, value) instead of a link: the
    # composer comes back as typed instead of as suggested.
    cancel_submit: tuple[str, str] | None = None
    quote: str | None = None  # what goes out, to read once more
    danger: bool = False

    @property
    def prompt(self) -> str:
        """For the JavaScript dialog (data-confirm)."""
        return f"{self.title} {self.detail}"


def is_confirmed(form: FormData) -> bool:
    return form.get(CONFIRMED) == "yes"


def ask(request: Request, ms: ModSession, form: FormData, question: Question) -> NoReturn:
    """The question instead of the action: what the action wrote is undone."""
    skip = {"csrf_token", CONFIRMED, question.submit[0] if question.submit else ""}
    fields = [(k, v) for k, v in form.multi_items() if isinstance(v, str) and k not in skip]
    page = render(
        request, ms, "mod_confirm.html", question=question, action=request.url.path, fields=fields
    )
    refuse(page)


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
