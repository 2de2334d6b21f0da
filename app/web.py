"""Rendering the public pages: one self-contained HTML document per response.

The stylesheet and script are inlined and allowed by their hashes in a strict
Content-Security-Policy, so a page loads in one request, with nothing from anywhere
else, and leaves no cached assets behind on a shared phone.
"""

from __future__ import annotations

import base64
import hashlib
from importlib import resources
from typing import Any, NoReturn

from fastapi.responses import HTMLResponse, Response
from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape

from app.i18n import LANGUAGE_NAMES, Translator
from app.settings import Settings


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def static_text(package: str, name: str) -> str:
    """A file of the package's static folder (the pages' CSS and script, the service
    worker, the icon), read once when what serves it is made."""
    return (resources.files(package) / "static" / name).read_text(encoding="utf-8")


class FormRefused(Exception):
    """A form that cannot be accepted, answered with the page that says why (see refuse)."""

    def __init__(self, response: Response, *, keeps_writes: bool = False) -> None:
        super().__init__("form refused")
        self.response = response
        self.keeps_writes = keeps_writes


def refuse(response: Response, *, keeps_writes: bool = False) -> NoReturn:
    """Answer a form with `response` (the form again, with what is wrong; or any other
    answer, such as a TwiML reply) and undo what the request wrote: the request's session
    rolls back, or commits when `keeps_writes` (a wrong code that must count), before
    app.handlers sends it. Pages never commit or roll back themselves."""
    raise FormRefused(response, keeps_writes=keeps_writes)


class Pages:
    """Templates from `packages` (first wins), with one inline stylesheet and script."""

    def __init__(
        self,
        settings: Settings,
        *,
        packages: tuple[str, ...] = ("app",),
        css: str = "site.css",
        js: str = "site.js",
        connect_self: bool = False,
        installable: bool = False,
    ) -> None:
        self.env = Environment(
            loader=ChoiceLoader([PackageLoader(p, "templates") for p in packages]),
            autoescape=select_autoescape(default=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.css = static_text(packages[0], css)
        self.js = static_text(packages[0], js)
        self.csp = "; ".join(
            [
                "default-src 'none'",
                f"style-src {_sha256(self.css)}",
                f"script-src {_sha256(self.js)}",
                "img-src data: 'self'" if installable else "img-src data:",
                *(["connect-src 'self'"] if connect_self else []),
                # The install manifest, and the service worker that shows push notifications
                # (app/install.py): this site's own, nothing from anywhere else.
                *(["manifest-src 'self'", "worker-src 'self'"] if installable else []),
                "form-action 'self'",
                "base-uri 'none'",
                "frame-ancestors 'none'",
            ]
        )
        self.quick_exit_url = settings.quick_exit_url
        self.site_name = settings.site_name
        self.push_key = settings.vapid_public_key  # for the subscribe page's script

    def render(
        self, name: str, *, lang: str, page: str = "", status_code: int = 200, **context: Any
    ) -> HTMLResponse:
        """`page` is this page's path after the language, for the language links."""
        html = self.env.get_template(name).render(
            {
                "errors": {},
                "values": {},
                **context,
                "lang": lang,
                "page": page,
                "_": Translator(lang),
                "css": self.css,
                "js": self.js,
                "languages": list(LANGUAGE_NAMES.items()),
                "quick_exit_url": self.quick_exit_url,
                "site_name": self.site_name,
                "push_key": self.push_key,
            }
        )
        return HTMLResponse(
            html, status_code=status_code, headers={"Content-Security-Policy": self.csp}
        )

    def message(
        self, *, lang: str, title: str, message: str, status_code: int, page: str = ""
    ) -> HTMLResponse:
        return self.render(
            "message.html",
            lang=lang,
            page=page,
            status_code=status_code,
            title=title,
            message=message,
        )
