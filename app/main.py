"""The application factory: `uvicorn app.main:create_app --factory`, or `redflag serve`."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Annotated

from alembic.migration import MigrationContext
from fastapi import APIRouter, FastAPI, Header
from fastapi.responses import JSONResponse, Response
from fastapi.telemetry import TelemetryConfig
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import SQLAlchemyError

from alerts import metrics
from alerts import webhooks as alerts_webhooks
from alerts.check import pages as check_pages
from alerts.check import router as check_router
from alerts.delivery import providers as alert_providers
from alerts.delivery.messenger import Messenger
from alerts.delivery.worker import make_worker
from alerts.subscriptions import pages as subscription_pages
from alerts.subscriptions import router as subscription_router
from app import __version__, apidocs, handlers, i18n, install
from app.crypto import Crypto
from app.db import SessionFactory, make_engine, make_session_factory
from app.deps import trusts_every_proxy
from app.errors import NotFound, Unauthorized
from app.middleware import AccessLog, BodyLimit, Compression, SecurityHeaders
from app.migrate import migration_head
from app.ratelimit import FailureCounter, Lockout, RateLimiter
from app.regions.router import router as regions_router
from app.reports.pages import router as report_pages
from app.reports.router import router as reports_router
from app.settings import Settings, load_settings
from app.support import service as support_service
from app.web import Pages
from moderation import members_api, retention
from moderation import router as moderation_router
from moderation import web as moderation_web
from moderation.objections import pages as objection_pages
from moderation.objections import router as objections_router
from moderation.police import router as police_router
from moderation.statistics import pages as statistics_pages
from moderation.statistics import router as statistics_router
from organisations import admin as organisations_admin
from organisations import router as organisations_router
from organisations import web as organisations_web

log = logging.getLogger("redflag.operations")

DESCRIPTION = """
Anonymous incident reports from sex workers, verified by moderators, sent out as
alerts to opted-in sex workers in the matching regions.

Nothing here identifies a reporter: no accounts, no IP addresses, no cookies. A report
returns a **receipt code**, shown once; it travels in bodies and headers, never in URLs.
Errors name the field and the problem and never repeat what was sent.
"""


# FastAPI's OpenTelemetry spans, metrics and logs start as soon as a provider is set up in
# the process (or FASTAPI_OTEL_AUTO_CONFIGURE=true is in the environment), and they carry
# what this service never records: paths, query strings, exception messages. Off, and not
# to be switched on by the environment; /metrics has the counts an operator needs.
NO_TELEMETRY: TelemetryConfig = {
    "tracing": False,
    "metrics": False,
    "logs": False,
    "operation_spans": False,
    "auto_configure": False,
}


def create_app(
    settings: Settings | None = None, *, session_factory: SessionFactory | None = None
) -> FastAPI:
    settings = settings or load_settings()
    i18n.use_site_name(settings.site_name)
    i18n.use_texts(i18n.read_texts(settings.texts_file))
    if trusts_every_proxy(settings.forwarded_allow_ips):
        # Here, not in `redflag serve`, so that every server running the app says it.
        log.warning(
            "REDFLAG_FORWARDED_ALLOW_IPS trusts every proxy: any client can write its own"
            " X-Forwarded-For and escape every rate limit. Set it to the reverse proxy's"
            " address or range (e.g. 172.18.0.0/16)."
        )
    engine = None
    if session_factory is None:
        engine = make_engine(
            settings.database_url, pool_size=settings.database_pool_size, max_overflow=10
        )
        session_factory = make_session_factory(engine)

    providers = alert_providers.build(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        worker = None
        if settings.embedded_worker:
            worker = asyncio.create_task(
                make_worker(
                    settings,
                    session_factory,
                    providers,
                    housekeeping=partial(retention.run, settings=settings),
                ).run(stop)
            )
        yield
        stop.set()
        if worker is not None:
            await worker
        await alert_providers.close_all(providers)
        if engine is not None:
            engine.dispose()

    app = FastAPI(
        title="redflag",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/api/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        telemetry=NO_TELEMETRY,
    )
    app.state.settings = settings
    app.state.session_factory = session_factory
    app.state.crypto = Crypto.from_settings(settings)
    app.state.pages = Pages(settings, packages=("app", "alerts"), installable=True)
    app.state.support = support_service.load(settings.support_file)
    unchecked = [e.name for e in app.state.support.entries if e.source.checked is None]
    if unchecked:
        log.warning(
            "Support organisations shown to reporters that nobody has checked at their source"
            " yet: %s. Check each and set its source.checked date (docs/operations.md).",
            ", ".join(unchecked),
        )
    app.state.messenger = Messenger(providers)
    app.state.mod_pages = moderation_web.make_pages(settings)
    app.state.limiter = RateLimiter(
        storage_uri=settings.redis_url or "memory://",
        key=hmac.new(settings.key_bytes("index_key"), b"rate limits", hashlib.sha256).digest(),
        rules={
            "submit": settings.rate_limit_submit,
            "lookup": settings.rate_limit_lookup,
            "login": settings.rate_limit_login,
            "check": settings.rate_limit_check,
            "codes": settings.rate_limit_codes,  # per destination, not per client
            "objection": settings.rate_limit_objection,  # per identifier, not per client
            "join": settings.rate_limit_join,
        },
    )
    app.state.login_failures = FailureCounter(
        app.state.limiter,
        bucket="login",
        lockout=Lockout(
            failures=settings.login_max_failures, minutes=settings.login_lockout_minutes
        ),
    )

    handlers.install(app)
    # Inside SecurityHeaders: it sees a route's own Cache-Control (no-transform), not the default.
    app.add_middleware(Compression)
    app.add_middleware(
        BodyLimit, max_bytes=settings.max_body_bytes, respond=handlers.too_large_response
    )
    app.add_middleware(SecurityHeaders, hsts=settings.public_url.startswith("https://"))
    app.add_middleware(AccessLog)

    api = APIRouter(prefix="/api/v1")
    api.include_router(regions_router)
    api.include_router(reports_router)
    api.include_router(moderation_router.auth_router)
    api.include_router(moderation_router.router)
    api.include_router(moderation_router.admin_router)
    api.include_router(organisations_router.invites_router)
    api.include_router(members_api.router)
    api.include_router(organisations_router.router)
    api.include_router(organisations_admin.router)
    api.include_router(subscription_router.router)
    api.include_router(check_router.router)
    api.include_router(statistics_router.router)
    api.include_router(objections_router.router)
    api.include_router(objections_router.admin_router)
    api.include_router(police_router.router)
    app.include_router(api)
    app.include_router(alerts_webhooks.router)
    app.include_router(moderation_web.router)
    app.include_router(organisations_web.router)
    app.include_router(subscription_pages.router)
    app.include_router(check_pages.router)
    app.include_router(_operations_router(settings, session_factory))
    app.include_router(install.router(settings))
    app.include_router(statistics_pages.router)
    app.include_router(objection_pages.router)
    app.include_router(report_pages)
    if not settings.is_production:
        app.include_router(apidocs.router)
    return app


def _operations_router(settings: Settings, session_factory: SessionFactory) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    head = migration_head()
    registry = metrics.registry(session_factory)

    @router.get("/healthz")
    def healthz() -> dict[str, str]:
        """Liveness: the process answers. Says nothing about the database."""
        return {"status": "ok"}

    @router.get("/readyz")
    def readyz() -> JSONResponse:
        """Readiness: the database answers and its schema is this version's."""
        try:
            with session_factory() as session:
                current = MigrationContext.configure(session.connection()).get_current_revision()
        except SQLAlchemyError as exc:
            log.warning("readiness: database unreachable (%s)", type(exc).__name__)
            return JSONResponse(
                {"status": "unavailable", "database": "unreachable"}, status_code=503
            )
        if current != head:
            problem = f"at {current or 'nothing'}, this version needs {head}: run redflag migrate"
            return JSONResponse(
                {"status": "unavailable", "database": "ok", "migrations": problem},
                status_code=503,
            )
        return JSONResponse({"status": "ready", "database": "ok", "migrations": "head"})

    @router.get("/metrics")
    def prometheus_metrics(authorization: Annotated[str, Header()] = "") -> Response:
        """Prometheus, with REDFLAG_METRICS_TOKEN as a bearer token; off without one."""
        token = settings.metrics_token
        if token is None:
            raise NotFound("Metrics are off: set REDFLAG_METRICS_TOKEN to turn them on.")
        expected = f"Bearer {token.get_secret_value()}"
        if not hmac.compare_digest(authorization.encode(), expected.encode()):
            raise Unauthorized("Metrics need REDFLAG_METRICS_TOKEN as a bearer token.")
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router
