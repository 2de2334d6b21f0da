"""Configuration: production refuses bad secrets; development makes its own, once."""

import os
import stat
from pathlib import Path

import pytest

from app.settings import SettingsError, load_settings, new_jwt_secret, new_key


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("REDFLAG_"):
            monkeypatch.delenv(name)


def test_production_refuses_missing_secrets_and_names_each(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(env="production", secrets_file=tmp_path / "s.env")
    message = str(info.value)
    for name in [
        "REDFLAG_DATA_KEY",
        "REDFLAG_INDEX_KEY",
        "REDFLAG_JWT_SECRET",
        "REDFLAG_PUBLIC_URL",
    ]:
        assert name in message
    assert not (tmp_path / "s.env").exists(), "production never writes a secrets file"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("changeme", "placeholder"),
        ("PLACEHOLDER-KEY", "placeholder"),
        ("QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=", "not random enough"),
        ("c2hvcnQ=", "must decode to 32 bytes"),
        ("not base64 at all!", "not valid base64"),
    ],
)
def test_production_refuses_placeholder_keys(
    value: str, problem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDFLAG_ENV", "production")
    monkeypatch.setenv("REDFLAG_DATA_KEY", value)
    monkeypatch.setenv("REDFLAG_INDEX_KEY", new_key())
    monkeypatch.setenv("REDFLAG_JWT_SECRET", new_jwt_secret())
    monkeypatch.setenv("REDFLAG_PUBLIC_URL", "https://redflag.example.org")
    with pytest.raises(SettingsError, match=problem) as info:
        load_settings()
    assert value not in str(info.value), "the error never repeats a secret"


def test_production_accepts_real_secrets_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REDFLAG_ENV", "production")
    monkeypatch.setenv("REDFLAG_DATA_KEY", new_key())
    monkeypatch.setenv("REDFLAG_INDEX_KEY", new_key())
    monkeypatch.setenv("REDFLAG_JWT_SECRET", new_jwt_secret())
    monkeypatch.setenv("REDFLAG_PUBLIC_URL", "https://redflag.example.org")
    monkeypatch.setenv("REDFLAG_SMS_PROVIDER", "none")
    monkeypatch.setenv("REDFLAG_EMAIL_PROVIDER", "smtp")
    settings = load_settings()
    assert settings.is_production
    assert len(settings.key_bytes("data_key")) == 32


def test_data_and_index_keys_must_differ(monkeypatch: pytest.MonkeyPatch) -> None:
    key = new_key()
    with pytest.raises(SettingsError, match="must be different"):
        load_settings(data_key=key, index_key=key, jwt_secret=new_jwt_secret())


def test_development_generates_secrets_once_into_a_private_file(tmp_path: Path) -> None:
    path = tmp_path / "var" / "dev-secrets.env"
    first = load_settings(secrets_file=path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    second = load_settings(secrets_file=path)
    for name in ["data_key", "index_key", "jwt_secret"]:
        assert getattr(first, name).get_secret_value() == getattr(second, name).get_secret_value()
    assert first.secret_problems() == []


def test_generated_keys_are_never_mistaken_for_placeholders() -> None:
    from pydantic import SecretStr

    from app.settings import _jwt_problem, _key_problem

    for _ in range(2000):
        assert _key_problem("DATA_KEY", SecretStr(new_key())) is None
        assert _jwt_problem(SecretStr(new_jwt_secret())) is None


def test_old_keys_are_checked_too(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SettingsError, match="OLD_DATA_KEYS"):
        load_settings(
            data_key=new_key(),
            index_key=new_key(),
            jwt_secret=new_jwt_secret(),
            old_data_keys="nope",
        )


def test_production_refuses_console_providers_and_incomplete_twilio(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REDFLAG_ENV", "production")
    for name in ("DATA_KEY", "INDEX_KEY"):
        monkeypatch.setenv(f"REDFLAG_{name}", new_key())
    monkeypatch.setenv("REDFLAG_JWT_SECRET", new_jwt_secret())
    monkeypatch.setenv("REDFLAG_PUBLIC_URL", "https://redflag.example.org")
    monkeypatch.setenv("REDFLAG_SMS_PROVIDER", "twilio")
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value)
    assert "needs REDFLAG_TWILIO_ACCOUNT_SID and _AUTH_TOKEN" in message
    assert "needs REDFLAG_TWILIO_FROM or _MESSAGING_SERVICE_SID" in message
    assert "cannot be console" in message, "the email provider is still the console"


@pytest.mark.parametrize("size", [0, 101])
def test_database_pool_size_must_be_a_sensible_number(size: int) -> None:
    with pytest.raises(SettingsError, match="REDFLAG_DATABASE_POOL_SIZE must be between 1 and 100"):
        load_settings(
            data_key=new_key(),
            index_key=new_key(),
            jwt_secret=new_jwt_secret(),
            database_pool_size=size,
        )


def test_a_renamed_setting_is_named_not_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDFLAG_DATABASE_THREADS", "8")
    with pytest.raises(SettingsError, match="REDFLAG_DATABASE_THREADS is now called"):
        load_settings(data_key=new_key(), index_key=new_key(), jwt_secret=new_jwt_secret())


@pytest.mark.parametrize(
    "url",
    [
        "http://redflag.example.org",
        "HTTPS://redflag.example.org",
        "redflag.example.org",
        "https://127.0.0.1:8000",
        "https://localhost",
        "https://[::1]",
    ],
)
def test_production_refuses_a_public_url_that_is_not_public_https(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over http:// the session cookie loses Secure and no HSTS header is sent."""
    monkeypatch.setenv("REDFLAG_ENV", "production")
    for name in ("DATA_KEY", "INDEX_KEY"):
        monkeypatch.setenv(f"REDFLAG_{name}", new_key())
    monkeypatch.setenv("REDFLAG_JWT_SECRET", new_jwt_secret())
    monkeypatch.setenv("REDFLAG_SMS_PROVIDER", "none")
    monkeypatch.setenv("REDFLAG_EMAIL_PROVIDER", "smtp")
    monkeypatch.setenv("REDFLAG_PUBLIC_URL", url)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert info.value.problems == [
        "REDFLAG_PUBLIC_URL must be the public https:// address (not http://, not loopback)"
    ]


@pytest.mark.parametrize(
    "value", ["proxy.internal", "10.0.0.2, proxy.internal", "10.0.0.0/33", "10.0.0.2;10.0.0.3"]
)
def test_a_proxy_setting_that_is_not_addresses_is_refused_and_named(value: str) -> None:
    """Under any server, not only `redflag serve`: a name made every rate-limited request a 500."""
    with pytest.raises(SettingsError) as info:
        load_settings(
            data_key=new_key(),
            index_key=new_key(),
            jwt_secret=new_jwt_secret(),
            forwarded_allow_ips=value,
        )
    assert info.value.problems == [
        "REDFLAG_FORWARDED_ALLOW_IPS must be addresses or CIDR ranges, comma-separated"
    ]


@pytest.mark.parametrize("value", ["", "*", "127.0.0.1", "10.0.0.0/8, ::1", "::ffff:10.0.0.0/104"])
def test_a_proxy_setting_of_addresses_and_ranges_is_accepted(value: str) -> None:
    settings = load_settings(
        data_key=new_key(),
        index_key=new_key(),
        jwt_secret=new_jwt_secret(),
        forwarded_allow_ips=value,
    )
    assert settings.forwarded_allow_ips == value
