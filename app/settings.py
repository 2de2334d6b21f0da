"""One settings object, read from `REDFLAG_*` environment variables.

In production every secret must come from the environment and start-up refuses a
missing or placeholder one. In development missing secrets are generated once into
a local file (mode 0600, under `var/`, outside git) so `make run` needs nothing.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import re
import secrets
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import phonenumbers
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from app import i18n, vapid
from app.support import service as support_service

KEY_BYTES = 32
SECRET_NAMES = ("data_key", "index_key", "jwt_secret")
_PLACEHOLDER_WORDS = ("change", "placeholder", "secret", "example", "todo", "xxx", "dummy")


class SettingsError(RuntimeError):
    """The configuration cannot be used; the message lists every problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"redflag cannot start with this configuration:\n{lines}")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REDFLAG_", extra="ignore")

    env: Literal["development", "production"] = "development"
    database_url: str = "sqlite:///var/redflag.db"
    # base64 of 32 random bytes each; see `redflag keygen`.
    data_key: SecretStr | None = None
    old_data_keys: SecretStr | None = None  # comma-separated; only used to decrypt
    index_key: SecretStr | None = None
    jwt_secret: SecretStr | None = None
    public_url: str = "http://127.0.0.1:8000"
    default_country: str = "NL"
    redis_url: str | None = None

    secrets_file: Path = Path("var/dev-secrets.env")
    regions_file: Path | None = None  # None: the Netherlands, shipped with the app
    support_file: Path | None = None  # None: the Dutch support organisations, shipped with the app
    texts_file: Path | None = None  # the deployment's own texts, in front of the catalogues
    quick_exit_url: str = "https://www.google.com/search?q=weather"
    # The deployment's name: the whole <title> of every public page (a phone's history and
    # tab list show only this), and the sender named in every SMS and email. Keep it discreet.
    site_name: str = Field(default="redflag", min_length=1, max_length=40, pattern=r"\S")
    # The name of the site installed as an app (home screen, notifications); unset: the
    # site's name, or "Info" while that is still "redflag" (app/install.py).
    app_name: str | None = Field(default=None, min_length=1, max_length=30, pattern=r"\S")
    rate_limit_submit: str = "10/minute;100/day"
    rate_limit_lookup: str = "30/minute;300/day"
    rate_limit_login: str = "20/minute;200/day"
    max_body_bytes: int = 64 * 1024
    # Connections each app process keeps open; it opens up to 10 more while busy.
    database_pool_size: int = 4
    forwarded_allow_ips: str = "127.0.0.1"
    log_level: str = "INFO"

    # Moderation
    token_minutes: int = 15  # moderator access tokens; at most 15
    require_totp: bool = False  # admins must use a second factor
    claim_minutes: int = 15
    login_max_failures: int = 5
    login_lockout_minutes: int = 15
    four_eyes_threshold: int = 500  # alerts reaching more subscribers need a second moderator

    # Alerts
    identifier_masking: Literal["full", "partial", "none"] = "partial"
    sms_max_segments: int = 3
    # "open": anyone may check, without a member token; only with membership="open".
    check_access: Literal["members", "open"] = "members"
    # "verified": a new subscriber is pending (no alerts, no check results) until an invite
    # code or a moderator verifies them; "open": confirming is enough, as before.
    membership: Literal["verified", "open"] = "verified"
    rate_limit_check: str = "20/hour;100/day"
    # A member may check this many different numbers a UTC day; re-checking one is always
    # allowed. A member who asks for more is refused and listed for moderators (/mod/check-watch).
    check_daily_numbers: int = 20
    rate_limit_codes: str = "3/hour;5/day"  # codes and links to one number or address, whoever asks
    sms_countries: str | None = None  # ISO codes, comma-separated ("NL,BE"); unset: default_country
    member_token_minutes: int = 30
    code_minutes: int = 15  # one-time codes by SMS
    link_hours: int = 24  # confirmation links by email
    code_attempts: int = 5

    # Providers: "twilio" / "smtp" in production, "console" prints instead of sending
    sms_provider: Literal["twilio", "console", "none"] = "console"
    email_provider: Literal["smtp", "console", "none"] = "console"
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_from: str | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_api_base: str = "https://api.twilio.com"
    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    # An address alone is sent under the site's name; "Name <address>" keeps its own name.
    smtp_from: str = "alerts@localhost"
    smtp_starttls: bool = True
    smtp_ca_file: Path | None = None  # a private CA for the mail server, if it has one
    # Web push: offered when the VAPID keys are set (`redflag keygen` prints a pair); the
    # subject is how push services reach the operator ("mailto:ops@example.org").
    vapid_private_key: SecretStr | None = None
    vapid_public_key: str | None = None
    vapid_subject: str | None = None
    # Push endpoints are https:// on these hosts only (the browsers' push services), so the
    # worker never posts to an address inside the network. "*.example" allows subdomains.
    push_hosts: str = (
        "fcm.googleapis.com,updates.push.services.mozilla.com,web.push.apple.com,"
        "*.notify.windows.com"
    )
    push_ca_file: Path | None = None  # a private CA for a push service (tests, a gateway)
    push_ttl_seconds: int = 86400  # how long a push service keeps a warning for an offline phone

    # The delivery worker
    worker_batch: int = 100
    worker_concurrency: int = 20
    worker_rate: float = 30.0  # messages per second, across this worker's sends
    worker_lease_seconds: int = 120
    worker_poll_seconds: float = 0.5
    delivery_deadline_hours: int = 24  # transient failures are retried until then
    retry_base_seconds: float = 5.0  # each retry waits at least this; the ceiling doubles
    retry_cap_seconds: float = 900.0  # ... up to 15 minutes between tries
    embedded_worker: bool | None = None  # None: inside `redflag serve` in development only

    # Operations
    metrics_token: SecretStr | None = None  # GET /metrics needs it as a bearer token; unset: off
    retention_days: int = 180  # report text and identifiers, after the decision
    retention_rejected_days: int = 30  # ... of a rejected report
    delivery_retention_days: int = 30  # delivery rows, after their last change; counts stay
    retention_every_minutes: int = 60  # how often each worker runs the retention
    check_watch_days: int = 90  # the moderators' list of members over the daily check limit
    application_days: int = 30  # an application's evidence, when no moderator decided on it
    objection_days: int = 28  # the deadline for deciding an objection (four weeks)
    objection_keep_days: int = 90  # a decided objection and its answer, then deleted
    # New members by web push without an invite, per client: push needs no code, so this
    # is what keeps one client from filling the moderators' applications.
    rate_limit_join: str = "5/hour;20/day"
    rate_limit_objection: str = "3/day;10/month"  # objections about one identifier, by anyone

    # Statistics: a count from 1 to k-1 shows as "<k" (moderation/statistics)
    statistics_k: int = 5
    statistics_public: bool = False  # /{lang}/statistics: the same figures, by province

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def push_enabled(self) -> bool:
        """Web push is offered: its VAPID keys are set (and checked at start)."""
        return self.vapid_private_key is not None

    @property
    def push_host_patterns(self) -> tuple[str, ...]:
        """REDFLAG_PUSH_HOSTS, lower-cased: names, or "*.domain" for its subdomains."""
        return tuple(h.strip().lower() for h in self.push_hosts.split(",") if h.strip())

    def push_host_allowed(self, host: str) -> bool:
        """Whether push may post to this host: one of REDFLAG_PUSH_HOSTS, or a subdomain
        of a "*.domain" there (not the domain itself, not "evildomain")."""
        host = host.lower()
        return any(
            host.endswith(p[1:]) and len(host) > len(p) - 1 if p.startswith("*.") else host == p
            for p in self.push_host_patterns
        )

    @property
    def sms_country_codes(self) -> frozenset[str]:
        """The countries whose numbers may be sent codes by SMS (REDFLAG_SMS_COUNTRIES)."""
        listed = [c.strip().upper() for c in (self.sms_countries or "").split(",") if c.strip()]
        return frozenset(listed or [self.default_country.upper()])

    def secret_problems(self) -> list[str]:
        problems = [
            p
            for p in (
                _key_problem("DATA_KEY", self.data_key),
                _key_problem("INDEX_KEY", self.index_key),
                _jwt_problem(self.jwt_secret),
            )
            if p
        ]
        for i, old in enumerate(_split(self.old_data_keys)):
            problem = _key_problem(f"OLD_DATA_KEYS (entry {i + 1})", SecretStr(old))
            if problem:
                problems.append(problem)
        if (
            self.data_key
            and self.index_key
            and self.data_key.get_secret_value() == self.index_key.get_secret_value()
        ):
            problems.append("REDFLAG_DATA_KEY and REDFLAG_INDEX_KEY must be different keys")
        if not 0 < self.retry_base_seconds <= self.retry_cap_seconds:
            problems.append(
                "REDFLAG_RETRY_BASE_SECONDS must be above 0 and at most REDFLAG_RETRY_CAP_SECONDS"
            )
        for name in (
            "retention_days",
            "retention_rejected_days",
            "delivery_retention_days",
            "check_watch_days",
            "application_days",
            "objection_days",
            "objection_keep_days",
        ):
            if getattr(self, name) < 1:
                problems.append(f"REDFLAG_{name.upper()} must be at least 1 (days)")
        if self.statistics_k < 3:
            problems.append("REDFLAG_STATISTICS_K must be at least 3 (smaller counts show as <k)")
        if self.check_daily_numbers < 1:
            problems.append("REDFLAG_CHECK_DAILY_NUMBERS must be at least 1 (numbers a day)")
        if self.metrics_token is not None and len(self.metrics_token.get_secret_value()) < 24:
            problems.append("REDFLAG_METRICS_TOKEN must be at least 24 characters")
        if not 1 <= self.database_pool_size <= 100:
            problems.append("REDFLAG_DATABASE_POOL_SIZE must be between 1 and 100")
        unknown_countries = sorted(self.sms_country_codes - phonenumbers.SUPPORTED_REGIONS)
        if unknown_countries:
            problems.append(
                f"REDFLAG_SMS_COUNTRIES names no country: {', '.join(unknown_countries)} "
                "(two-letter codes, comma-separated: NL,BE)"
            )
        if not 1 <= self.token_minutes <= 15:
            problems.append("REDFLAG_TOKEN_MINUTES must be between 1 and 15")
        try:
            proxy_networks(self.forwarded_allow_ips)
        except ValueError:
            # Checked here, not only by `redflag serve`: under any server a name would make
            # every rate-limited request fail (app.deps.client_address).
            problems.append(
                "REDFLAG_FORWARDED_ALLOW_IPS must be addresses or CIDR ranges, comma-separated"
            )
        if self.sms_provider == "twilio":
            if not (self.twilio_account_sid and self.twilio_auth_token):
                problems.append(
                    "REDFLAG_SMS_PROVIDER=twilio needs REDFLAG_TWILIO_ACCOUNT_SID and _AUTH_TOKEN"
                )
            if not (self.twilio_from or self.twilio_messaging_service_sid):
                needs = "REDFLAG_TWILIO_FROM or _MESSAGING_SERVICE_SID"
                problems.append(f"REDFLAG_SMS_PROVIDER=twilio needs {needs}")
        problems += self._push_problems()
        if self.check_access == "open" and self.membership == "verified":
            # Only verified members and organisations may check: "open" would let anyone,
            # a reported client included, learn whether his number is listed.
            problems.append(
                "REDFLAG_CHECK_ACCESS=open lets anyone check numbers:"
                " it needs REDFLAG_MEMBERSHIP=open"
            )
        providers = {self.sms_provider, self.email_provider}
        if self.is_production and "console" in providers:
            problems.append(
                "in production REDFLAG_SMS_PROVIDER and REDFLAG_EMAIL_PROVIDER cannot be console"
            )
        if self.is_production and not _is_public_https(self.public_url):
            # Over http:// the cookies lose Secure and no HSTS is sent (app.main, moderation.web).
            problems.append(
                "REDFLAG_PUBLIC_URL must be the public https:// address (not http://, not loopback)"
            )
        return problems

    def _push_problems(self) -> list[str]:
        given = [
            name
            for name in ("vapid_private_key", "vapid_public_key", "vapid_subject")
            if getattr(self, name)
        ]
        if not given:
            return []  # push is not offered
        if len(given) < 3:
            return [
                "web push needs all three of REDFLAG_VAPID_PRIVATE_KEY, _PUBLIC_KEY and _SUBJECT"
                " (or none of them, and push is not offered)"
            ]
        assert self.vapid_private_key is not None
        assert self.vapid_public_key is not None
        problems = []
        problem = vapid.key_problem(
            self.vapid_private_key.get_secret_value(), self.vapid_public_key
        )
        if problem:
            problems.append(problem)
        subject = self.vapid_subject or ""
        if not (subject.startswith("mailto:") or subject.startswith("https://")):
            problems.append(
                "REDFLAG_VAPID_SUBJECT must be a mailto: or https:// address where push"
                " services can reach the operator"
            )
        if not self.push_host_patterns:
            problems.append("REDFLAG_PUSH_HOSTS is empty: no push endpoint could be used")
        if self.is_production and any(_is_address(h) for h in self.push_host_patterns):
            problems.append(
                "REDFLAG_PUSH_HOSTS must name push services, not addresses or localhost"
            )
        if self.push_ttl_seconds < 60:
            problems.append("REDFLAG_PUSH_TTL_SECONDS must be at least 60")
        return problems

    def key_bytes(self, name: Literal["data_key", "index_key"]) -> bytes:
        value = getattr(self, name)
        assert value is not None, f"{name} is checked at start-up"
        return base64.b64decode(value.get_secret_value())

    def old_data_key_bytes(self) -> list[bytes]:
        return [base64.b64decode(k) for k in _split(self.old_data_keys)]


ProxyNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_IPV4_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")


def proxy_networks(setting: str) -> list[ProxyNetwork] | None:
    """REDFLAG_FORWARDED_ALLOW_IPS as ranges; None for "*" (every proxy). ValueError if an
    entry is not an address or range (a host name is never what a peer is)."""
    entries = [entry.strip() for entry in setting.split(",") if entry.strip()]
    if "*" in entries:
        return None
    networks: list[ProxyNetwork] = []
    for entry in entries:
        network = ipaddress.ip_network(entry, strict=False)
        if isinstance(network, ipaddress.IPv6Network) and network.subnet_of(_IPV4_MAPPED):
            # Clients and peers are matched as IPv4 (app.deps), so "::ffff:10.0.0.0/104" is
            # the IPv4 range it stands for.
            mapped = network.network_address.ipv4_mapped
            assert mapped is not None  # inside ::ffff:0:0/96
            network = ipaddress.IPv4Network((mapped, network.prefixlen - 96))
        networks.append(network)
    return networks


def listening_url(host: str, port: int) -> str:
    """The address a browser on this machine uses for a server bound to `host`:`port`."""
    if host in {"0.0.0.0", "::", ""}:  # noqa: S104 (every interface: this machine is one)
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def development_public_url(settings: Settings, *, host: str, port: int) -> str | None:
    """In development the links in messages lead to where `redflag serve` listens, unless
    REDFLAG_PUBLIC_URL is set; None where the setting stands (it is set, or production)."""
    if settings.is_production or "public_url" in settings.model_fields_set:
        return None
    return listening_url(host, port)


def new_key() -> str:
    """A fresh base64 key of 32 random bytes, as REDFLAG_DATA_KEY/INDEX_KEY expect."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def new_jwt_secret() -> str:
    return secrets.token_hex(32)


# Settings whose name changed: a deployment that still sets the old one is told, not ignored.
RENAMED = {"REDFLAG_DATABASE_THREADS": "REDFLAG_DATABASE_POOL_SIZE"}


def load_settings(**overrides: object) -> Settings:
    """Read the environment; in development fill in secrets from (or into) the local file."""
    settings = Settings(**overrides)  # type: ignore[arg-type]
    if not settings.is_production:
        settings = _with_development_secrets(settings)
    problems = settings.secret_problems() + [
        f"{old} is now called {new}: rename it" for old, new in RENAMED.items() if old in os.environ
    ]
    problems += _support_file_problems(settings.support_file)
    problems += _texts_file_problems(settings.texts_file)
    if problems:
        raise SettingsError(problems)
    return settings


def _support_file_problems(path: Path | None) -> list[str]:
    """The support file is read at start, so a broken one stops the app with its reasons
    rather than leaving someone who was just hurt without numbers to call."""
    try:
        support_service.load(path)
    except support_service.SupportFileError as exc:
        return [f"REDFLAG_SUPPORT_FILE: {exc}"]
    return []


def _texts_file_problems(path: Path | None) -> list[str]:
    try:
        i18n.read_texts(path)
    except i18n.TextsFileError as exc:
        return [f"REDFLAG_TEXTS_FILE: {exc}"]
    return []


def _with_development_secrets(settings: Settings) -> Settings:
    missing = [name for name in SECRET_NAMES if getattr(settings, name) is None]
    if not missing:
        return settings
    path = settings.secrets_file
    stored = _read_env_file(path)
    new_lines = []
    for name in missing:
        env_name = f"REDFLAG_{name.upper()}"
        if env_name not in stored:
            stored[env_name] = new_jwt_secret() if name == "jwt_secret" else new_key()
            new_lines.append(f"{env_name}={stored[env_name]}\n")
    if new_lines:
        _append_private(path, new_lines)
    return settings.model_copy(
        update={name: SecretStr(stored[f"REDFLAG_{name.upper()}"]) for name in missing}
    )


def _read_env_file(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def _append_private(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    is_new = not path.exists()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a") as f:
        if is_new:
            f.write("# Generated by redflag for development only. Never use these in production.\n")
        f.writelines(lines)
    os.chmod(path, 0o600)  # also tightens a file someone created by hand


def _split(value: SecretStr | None) -> list[str]:
    if value is None:
        return []
    return [part.strip() for part in value.get_secret_value().split(",") if part.strip()]


def _is_public_https(url: str) -> bool:
    """An https:// address on a host other than this machine, spelled as the app compares it."""
    host = (urlsplit(url).hostname or "").lower()
    if not url.startswith("https://") or not host or host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True  # a name, not an address


def _is_address(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _looks_like_placeholder(value: str) -> bool:
    lowered = value.lower()
    return any(word in lowered for word in _PLACEHOLDER_WORDS)


def _key_problem(name: str, value: SecretStr | None) -> str | None:
    hint = "generate one with `redflag keygen`"
    if value is None or not value.get_secret_value().strip():
        return f"REDFLAG_{name} is not set ({hint})"
    text = value.get_secret_value().strip()
    try:
        raw: bytes | None = base64.b64decode(text, validate=True)
    except ValueError:
        raw = None
    if raw is not None and len(raw) == KEY_BYTES and len(set(raw)) >= 16:
        return None  # 32 varied bytes: a real key, whatever letters its base64 happens to spell
    if _looks_like_placeholder(text):
        return f"REDFLAG_{name} is a placeholder, not a key ({hint})"
    if raw is None:
        return f"REDFLAG_{name} is not valid base64 ({hint})"
    if len(raw) != KEY_BYTES:
        return f"REDFLAG_{name} must decode to {KEY_BYTES} bytes, not {len(raw)} ({hint})"
    return f"REDFLAG_{name} is not random enough to be a real key ({hint})"


def _jwt_problem(value: SecretStr | None) -> str | None:
    hint = "generate one with `redflag keygen`"
    if value is None or not value.get_secret_value().strip():
        return f"REDFLAG_JWT_SECRET is not set ({hint})"
    text = value.get_secret_value()
    if len(text) < 32:
        return f"REDFLAG_JWT_SECRET must be at least 32 characters ({hint})"
    random_hex = re.fullmatch(r"[0-9a-f]{64,}", text) is not None
    if not random_hex and (_looks_like_placeholder(text) or len(set(text)) < 12):
        return f"REDFLAG_JWT_SECRET is a placeholder ({hint})"
    return None
