"""Every route is closed unless it is public on purpose.

The public ones are listed below with the reason; every other route of the app, found
by walking its routes (so a new one cannot be forgotten), is asked without credentials
and must refuse: 401 or 403 for the API and webhooks, a redirect to the login page for
the moderators' and organisations' pages.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from app.settings import Settings
from tests.helpers import all_routes

ANYONE = "anyone: the service is for people who have no account"
PUBLIC: dict[tuple[str, str], str] = {
    ("GET", "/"): "the report form",
    ("GET", "/{lang}/"): ANYONE,
    ("GET", "/{lang}/report"): ANYONE,
    ("POST", "/{lang}/report"): "reporting, anonymously",
    ("GET", "/{lang}/status"): "the receipt code is the credential",
    ("POST", "/{lang}/status"): "the receipt code is the credential",
    ("POST", "/{lang}/status/reply"): "the receipt code is the credential",
    ("POST", "/{lang}/status/withdraw"): "the receipt code is the credential",
    ("POST", "/{lang}/status/add"): "the receipt code is the credential",
    ("POST", "/{lang}/status/police"): "the receipt code is the credential",
    ("GET", "/{lang}/subscribe"): ANYONE,
    ("POST", "/{lang}/subscribe"): "signing up: a code to the number proves it",
    ("POST", "/{lang}/subscribe/code"): "the code is the credential",
    ("GET", "/{lang}/subscribe/confirm"): "the emailed link is the credential",
    ("POST", "/{lang}/subscribe/confirm"): "the emailed link is the credential",
    ("GET", "/u/{token}"): "the signed unsubscribe link is the credential",
    ("POST", "/u/{token}"): "one-click unsubscribe (RFC 8058)",
    ("GET", "/{lang}/leave"): ANYONE,
    ("POST", "/{lang}/leave/push"): "the push subscription's endpoint is the credential",
    ("GET", "/manifest.webmanifest"): "installing the site as an app: anyone",
    ("GET", "/sw.js"): "the service worker that shows push notifications: anyone",
    ("GET", "/icon.svg"): "the installed app's icon: anyone",
    ("POST", "/{lang}/leave"): "leaving: a code to the number proves it",
    ("POST", "/{lang}/leave/code"): "the code is the credential",
    ("GET", "/{lang}/check"): "the sign-in page of the client check",
    ("POST", "/{lang}/check/login"): "a code to a subscribed number is the credential",
    ("POST", "/{lang}/check/verify"): "the code is the credential",
    ("POST", "/{lang}/check"): "needs the member's session; refuses on the page",
    ("GET", "/{lang}/apply"): "the application link is the credential",
    ("GET", "/{lang}/objection"): "objecting to a listing: anyone",
    ("POST", "/{lang}/objection"): "objecting to a listing: anyone, the same answer for all",
    ("GET", "/{lang}/objection/status"): ANYONE,
    ("POST", "/{lang}/objection/status"): "the case code is the credential",
    ("GET", "/{lang}/statistics"): "counts only, suppressed; off (404) unless opted in",
    ("POST", "/{lang}/apply"): "the application link is the credential",
    ("GET", "/api/openapi.json"): "the API's description",
    ("GET", "/api/docs"): "development only",
    ("GET", "/api/docs/{name}"): "development only: Swagger UI's files",
    ("GET", "/api/v1/regions"): "places, for the form",
    ("POST", "/api/v1/reports"): "reporting, anonymously",
    ("GET", "/api/v1/reports/status"): "the receipt code is the credential",
    ("POST", "/api/v1/reports/reply"): "the receipt code is the credential",
    ("POST", "/api/v1/reports/withdraw"): "the receipt code is the credential",
    ("POST", "/api/v1/reports/add"): "the receipt code is the credential",
    ("POST", "/api/v1/reports/police-consent/withdraw"): "the receipt code is the credential",
    ("POST", "/api/v1/objections"): "objecting to a listing: anyone, the same answer for all",
    ("GET", "/api/v1/objections/status"): "the case code is the credential",
    ("POST", "/api/v1/auth/token"): "logging in",
    ("GET", "/mod/login"): "logging in",
    ("POST", "/mod/login"): "logging in",
    ("POST", "/api/v1/subscriptions"): "signing up: a code proves the number; push: an invite",
    ("POST", "/api/v1/subscriptions/confirm"): "the code is the credential",
    ("POST", "/api/v1/subscriptions/unsubscribe"): "leaving: a code to the number proves it",
    ("POST", "/api/v1/subscriptions/push/unsubscribe"): "the push endpoint is the credential",
    ("POST", "/api/v1/subscriptions/push/renew"): "the old subscription's auth secret proves it",
    ("POST", "/api/v1/members/login"): "a code to a subscribed number is the credential",
    ("POST", "/api/v1/members/verify"): "the code is the credential",
    ("GET", "/healthz"): "for the platform: says only that the process runs",
    ("GET", "/readyz"): "for the platform: says only whether the database answers",
}


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path.replace("{lang}", "en"))


def test_every_route_is_public_on_purpose_or_closed(
    make_client: Callable[..., TestClient], make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(database_url="sqlite://", metrics_token="m" * 32)
    with make_client(settings, follow_redirects=False) as client:
        routes = all_routes(client.app)
        assert set(PUBLIC) <= set(routes), f"listed but gone: {set(PUBLIC) - set(routes)}"
        closed = [route for route in routes if route not in PUBLIC]
        assert len(closed) >= 45, "the moderators' API and pages, webhooks, metrics, checks"
        for method, path in closed:
            response = client.request(method, concrete(path), json={})
            if path.startswith(("/mod", "/org")):  # pages of moderators and organisations
                assert response.status_code == 303, (method, path, response.status_code)
                assert response.headers["location"] == "/mod/login", (method, path)
            else:
                assert response.status_code in {401, 403}, (method, path, response.status_code)


SECURITY_HEADERS = {
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
}


def test_every_answer_carries_the_security_headers(
    make_client: Callable[..., TestClient], make_settings: Callable[..., Settings]
) -> None:
    """Pages, API answers, errors and redirects alike: nothing cached on a shared phone,
    no referrer, no framing, a content security policy."""
    settings = make_settings(database_url="sqlite://", metrics_token="m" * 32)
    with make_client(settings, follow_redirects=False) as client:
        for method, path in all_routes(client.app):
            response = client.request(method, concrete(path), json={})
            for name, value in SECURITY_HEADERS.items():
                assert response.headers.get(name) == value, (method, path, name)
            assert "frame-ancestors 'none'" in response.headers["content-security-policy"], path
