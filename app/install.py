"""The site as a small app: the install manifest, the service worker that shows push
notifications, and the icon. The app's name is discreet (REDFLAG_APP_NAME, or the
deployment's REDFLAG_SITE_NAME): it is what a phone's home screen and notifications show."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from app.settings import Settings
from app.web import static_text

# The product's own name says what this is; an installed app never shows it.
NEUTRAL_NAME = "Info"


def app_name(settings: Settings) -> str:
    if settings.app_name:
        return settings.app_name
    return NEUTRAL_NAME if settings.site_name.lower() == "redflag" else settings.site_name


def manifest(settings: Settings) -> dict[str, object]:
    name = app_name(settings)
    return {
        "name": name,
        "short_name": name,
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#2f4858",
        "icons": [{"src": "/icon.svg", "sizes": "any", "type": "image/svg+xml"}],
    }


def router(settings: Settings) -> APIRouter:
    routes = APIRouter(include_in_schema=False)
    worker, icon = static_text("app", "sw.js"), static_text("app", "icon.svg")
    described = manifest(settings)

    @routes.get("/manifest.webmanifest")
    def install_manifest() -> JSONResponse:
        return JSONResponse(described, media_type="application/manifest+json")

    @routes.get("/sw.js")
    def service_worker() -> Response:
        # The worker's own policy: it may fetch nothing but this site (to hand over a
        # subscription its browser renewed), and nothing else of the default's changes.
        policy = "default-src 'none'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
        return Response(
            worker, media_type="text/javascript", headers={"Content-Security-Policy": policy}
        )

    @routes.get("/icon.svg")
    def app_icon() -> Response:
        return Response(icon, media_type="image/svg+xml")

    return routes
