"""The `redflag` command."""

from __future__ import annotations

import os
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlmodel import Session, select

import migrations.metadata  # noqa: F401  (every domain's tables, so foreign keys resolve)
from app import vapid
from app.settings import (
    Settings,
    SettingsError,
    development_public_url,
    listening_url,
    load_settings,
    new_jwt_secret,
    new_key,
)

cli = typer.Typer(
    help="redflag: anonymous incident reports and alerts for sex workers.",
    no_args_is_help=True,
    add_completion=False,
)


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
) -> None:
    """Run the web application (API and pages)."""
    import uvicorn

    from app.logs import logging_config

    # A REDFLAG_FORWARDED_ALLOW_IPS that is not addresses is refused here like any other
    # setting; "*" is warned about by create_app, whichever server runs it.
    settings = _settings()
    # The app factory reads the environment: what development means for this one process is
    # said there. One process does everything, and links in emails come back to this port.
    if settings.embedded_worker is None and not settings.is_production:
        os.environ["REDFLAG_EMBEDDED_WORKER"] = "true"
    public_url = development_public_url(settings, host=host, port=port)
    if public_url is not None:
        os.environ["REDFLAG_PUBLIC_URL"] = public_url
    settings = _settings()
    base = listening_url(host, port)
    typer.echo(
        f"\nredflag is starting on {base}\n"
        f"  report form:    {base}/\n"
        f"  status page:    {base}/en/status\n"
        f"  get warnings:   {base}/en/subscribe\n"
        f"  check a number: {base}/en/check\n"
        f"  moderators:     {base}/mod\n"
        f"  API schema:     {base}/api/openapi.json"
        + ("" if settings.is_production else f"  (docs: {base}/api/docs)")
        + f"\n  links in messages lead to {settings.public_url}"
        + (
            "\n  alerts are sent by a worker inside this server"
            if settings.embedded_worker
            else "\n  alerts are sent by `redflag worker` (run it next to this server)"
        )
        + "\nPress Ctrl+C to stop.\n"
    )
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        log_config=logging_config(settings.log_level),
        access_log=False,
        server_header=False,
        # app.deps.client_address reads X-Forwarded-For itself, for every server alike.
        proxy_headers=False,
    )


@cli.command()
def worker(
    once: Annotated[bool, typer.Option(help="Send what is due now, then stop")] = False,
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve Prometheus metrics on this port (off by default)")
    ] = None,
    metrics_host: Annotated[
        str, typer.Option(help="Address for the metrics; keep it internal")
    ] = "127.0.0.1",
) -> None:
    """Send alerts: claim due messages and send them. Run as many as you like."""
    import asyncio
    import logging.config
    import signal
    from functools import partial

    from alerts.delivery.providers import build, close_all
    from alerts.delivery.worker import make_worker
    from app.db import make_engine, make_session_factory
    from app.logs import logging_config
    from moderation import retention

    settings = _settings()
    logging.config.dictConfig(logging_config(settings.log_level))
    engine = make_engine(settings.database_url)
    if metrics_port is not None:
        from prometheus_client import start_http_server

        from alerts import metrics

        start_http_server(metrics_port, addr=metrics_host, registry=metrics.registry(None))

    async def run() -> None:
        providers = build(settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        sender = make_worker(
            settings,
            make_session_factory(engine),
            providers,
            housekeeping=partial(retention.run, settings=settings),
        )
        try:
            await (sender.drain() if once else sender.run(stop))
        finally:
            await close_all(providers)

    try:
        _run_event_loop(run())
    finally:
        engine.dispose()


def _run_event_loop(main: Coroutine[Any, Any, None]) -> None:
    """uvloop where it is installed (it comes with uvicorn[standard]), as uvicorn does for
    the app: the worker spends most of its time in the event loop."""
    try:
        import uvloop
    except ImportError:
        import asyncio

        asyncio.run(main)
    else:
        uvloop.run(main)


@cli.command()
def migrate(
    regions: Annotated[
        Path | None,
        typer.Option(help="Region file to load (default: the Netherlands, if no regions yet)"),
    ] = None,
) -> None:
    """Bring the database schema to the latest version and load the region tree."""
    from app.migrate import migrate as run_migrate
    from app.regions.service import RegionFileError

    settings = _settings()
    try:
        result = run_migrate(settings, regions_file=regions)
    except RegionFileError as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(2) from None
    typer.echo("database schema is up to date")
    if result.regions:
        r = result.regions
        typer.echo(f"regions: {r.added} added, {r.updated} updated, {r.retired} retired")


@cli.command("load-regions")
def load_regions(
    path: Annotated[Path, typer.Argument(help="Region file (see docs/regions.md)")],
) -> None:
    """Add or update a country's region tree from a file."""
    from app.db import make_engine
    from app.migrate import load_regions as run_load
    from app.regions.service import RegionFileError

    engine = make_engine(_settings().database_url)
    try:
        result = run_load(engine, path)
    except RegionFileError as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    typer.echo(f"regions: {result.added} added, {result.updated} updated, {result.retired} retired")


@cli.command("demo-data")
def demo_data() -> None:
    """Add made-up reports and two demo moderators to look around with (development only)."""
    import secrets as random_secrets

    from app import demo
    from app.crypto import Crypto
    from app.db import make_engine
    from moderation import accounts
    from moderation.models import Moderator, Role

    settings = _settings()
    if settings.is_production:
        typer.echo("demo-data refuses to run with REDFLAG_ENV=production", err=True)
        raise typer.Exit(2)
    engine = make_engine(settings.database_url)
    created = []
    try:
        with Session(engine) as session:
            codes = demo.load(
                session,
                crypto=Crypto.from_settings(settings),
                default_region=settings.default_country,
            )
            for name, role in [("demo-admin", Role.admin), ("demo-moderator", Role.moderator)]:
                if (
                    session.exec(select(Moderator.id).where(Moderator.username == name)).first()
                    is None
                ):
                    password = random_secrets.token_urlsafe(12)
                    accounts.create(session, username=name, password=password, role=role)
                    created.append((name, password))
            session.commit()
    finally:
        engine.dispose()
    if codes:
        typer.echo(
            f"added {len(codes)} demo reports; their receipt codes (try them on /en/status):"
        )
        for code in codes:
            typer.echo(f"  {code}")
    else:
        typer.echo("demo reports are already there")
    for name, password in created:
        typer.echo(f"moderator {name}, password {password} (log in at /mod; shown only now)")


@cli.command("create-moderator")
def create_moderator(
    name: Annotated[
        str, typer.Argument(help="Username: 3 to 40 of a-z, 0-9, dot, dash, underscore")
    ],
    role: Annotated[str, typer.Option(help="admin or moderator")] = "moderator",
) -> None:
    """Create a moderator account; the password is read from standard input."""
    from app.crypto import Crypto
    from app.db import make_engine
    from app.errors import Conflict, InvalidInput
    from moderation import accounts, security
    from moderation.models import PURPOSE_TOTP, Role

    if role not in {r.value for r in Role}:
        typer.echo("--role must be admin or moderator", err=True)
        raise typer.Exit(2)
    password = _read_password()
    settings = _settings()
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            try:
                moderator = accounts.create(
                    session, username=name, password=password, role=Role(role)
                )
            except (InvalidInput, Conflict) as exc:
                typer.echo(exc.message, err=True)
                raise typer.Exit(2) from None
            secret = None
            if settings.require_totp and role == Role.admin:
                secret = security.new_totp_secret()
                moderator.totp_secret_enc = Crypto.from_settings(settings).cipher.encrypt(
                    secret, purpose=PURPOSE_TOTP
                )
                moderator.totp_confirmed = True
                session.add(moderator)
            username = moderator.username
            session.commit()
    finally:
        engine.dispose()
    typer.echo(f"created {role} {username}")
    if secret:
        typer.echo(f"two-factor key (add it to an authenticator app): {secret}")
        typer.echo(security.totp_uri(secret, username))


organisation_cli = typer.Typer(
    help="Organisations (outreach and health projects): create one, add its people.",
    no_args_is_help=True,
)
cli.add_typer(organisation_cli, name="organisation")


@organisation_cli.command("create")
def create_organisation(
    name: Annotated[str, typer.Argument(help="Its name, as its people and the admins know it")],
    region: Annotated[
        list[str],
        typer.Option(help="A region code where it works (GM0106, NL-DR); repeat for more"),
    ],
) -> None:
    """Create an organisation working in the given regions (audited as the command line's)."""
    from pydantic import ValidationError

    from app.db import make_engine
    from app.errors import Conflict, InvalidInput
    from organisations import service
    from organisations.models import OrganisationCreate

    try:
        data = OrganisationCreate.model_validate({"name": name, "regions": region})
    except ValidationError as exc:
        for error in exc.errors():
            where = "NAME" if error["loc"][0] == "name" else "--region"
            typer.echo(f"{where}: {error['msg']}", err=True)
        raise typer.Exit(2) from None
    engine = make_engine(_settings().database_url)
    try:
        with Session(engine) as session:
            try:
                organisation = service.create(
                    session, name=data.name, regions=data.regions, admin=None
                )
            except InvalidInput as exc:  # ("regions", i): the i-th --region
                for problem in exc.errors:
                    code = data.regions[int(problem.loc[1])]
                    typer.echo(f"--region {code}: {problem.msg}", err=True)
                raise typer.Exit(2) from None
            except Conflict as exc:
                typer.echo(exc.message, err=True)
                raise typer.Exit(2) from None
            public = service.public(session, organisation)
            session.commit()
    finally:
        engine.dispose()
    typer.echo(f"created organisation {public.name} in {', '.join(public.region_names)}")


@organisation_cli.command("add-person")
def add_organisation_person(
    organisation: Annotated[str, typer.Argument(help="The organisation's name")],
    username: Annotated[
        str, typer.Argument(help="Username: 3 to 40 of a-z, 0-9, dot, dash, underscore")
    ],
) -> None:
    """Give a person of the organisation a login (role organisation); the password is read
    from standard input, or asked for twice at a terminal."""
    from app.db import make_engine
    from app.errors import Conflict, InvalidInput, NotFound
    from organisations import service

    password = _read_password()
    engine = make_engine(_settings().database_url)
    try:
        with Session(engine) as session:
            try:
                found = service.named(session, organisation)
                assert found.id is not None
                person = service.add_person(
                    session,
                    organisation_id=found.id,
                    username=username,
                    password=password,
                    admin=None,
                )
            except (InvalidInput, Conflict, NotFound) as exc:
                typer.echo(exc.message, err=True)
                raise typer.Exit(2) from None
            added, name = person.username, found.name
            session.commit()
    finally:
        engine.dispose()
    typer.echo(f"added {added} to {name}; they log in at /mod/login")


def _read_password() -> str:
    if sys.stdin.isatty():
        import getpass

        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Password again: "):
            typer.echo("the passwords differ", err=True)
            raise typer.Exit(2)
        return first
    return sys.stdin.readline().rstrip("\n")


@cli.command()
def purge() -> None:
    """Apply the retention policy now (the workers also do, every hour): purge old report
    texts and notes, mark ended alerts expired, prune settled delivery rows."""
    from app.db import make_engine
    from moderation import retention

    settings = _settings()
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            done = retention.run(session, settings)
            session.commit()
    finally:
        engine.dispose()
    for name, count in done.items():
        typer.echo(f"{name}: {count}")


@cli.command()
def reencrypt() -> None:
    """Re-encrypt all stored data under REDFLAG_DATA_KEY (after moving the old key to
    REDFLAG_OLD_DATA_KEYS). Safe to interrupt and run again."""
    from app.crypto import Crypto
    from app.db import make_engine
    from app.rotation import reencrypt_all

    settings = _settings()
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            counts = reencrypt_all(session, cipher=Crypto.from_settings(settings).cipher)
            session.commit()
    finally:
        engine.dispose()
    for column, count in counts.items():
        typer.echo(f"{column}: {count} re-encrypted")
    typer.echo("done; once every instance runs with the new key, REDFLAG_OLD_DATA_KEYS can go")


@cli.command()
def keygen() -> None:
    """Print fresh secrets for the environment (production set-up, key rotation), and a
    VAPID key pair for web push (set REDFLAG_VAPID_SUBJECT beside it to offer push)."""
    typer.echo(f"REDFLAG_DATA_KEY={new_key()}")
    typer.echo(f"REDFLAG_INDEX_KEY={new_key()}")
    typer.echo(f"REDFLAG_JWT_SECRET={new_jwt_secret()}")
    private, public = vapid.new_keys()
    typer.echo(f"REDFLAG_VAPID_PRIVATE_KEY={private}")
    typer.echo(f"REDFLAG_VAPID_PUBLIC_KEY={public}")


def main() -> None:
    cli(prog_name="redflag")


if __name__ == "__main__":
    main()
