"""Web push: a browser signs up with its push subscription, and warnings reach it through
the outbox, encrypted for its keys and signed with the service's VAPID key, at a fake push
service on loopback that checks the signature and decrypts each payload."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import update
from sqlmodel import Session, col, select

from alerts import membership
from alerts import service as alerts_service
from alerts.delivery.compose import push_body
from alerts.delivery.providers import build
from alerts.models import PURPOSE_CONTACT, Alert, Delivery, Subscriber
from alerts.render import render_sms
from alerts.subscriptions import service as subscriptions
from app.crypto import Crypto
from app.db import make_engine, utcnow
from app.i18n import Translator
from app.settings import Settings, SettingsError, load_settings
from app.vapid import new_keys
from tests.helpers import database_bytes, publish_alert, start_server_process

ASSEN = "GM0106"


@pytest.fixture
def push_client(
    make_client: Callable[..., TestClient], push_settings: Callable[..., Settings]
) -> Any:
    with make_client(push_settings(membership="verified")) as c:
        yield c


def sign_up(client: TestClient | httpx.Client, browser: Any, **extra: Any) -> Any:
    body = {
        "channel": "push",
        "push": browser.subscription(),
        "regions": [ASSEN],
        "language": "es",
        **extra,
    }
    return client.post("/api/v1/subscriptions", json=body)


def invite(session: Session, crypto: Crypto) -> str:
    code, _ = membership.issue_invite(session, index=crypto.index, issued_by="moderator:1")
    session.commit()
    return code


def deliveries(session: Session, alert: Alert) -> list[Delivery]:
    session.expire_all()
    return list(session.exec(select(Delivery).where(Delivery.alert_id == alert.id)))


def test_an_invited_browser_gets_each_warning_encrypted_for_it_in_its_language(
    session: Session,
    crypto: Crypto,
    push_client: TestClient,
    push_settings: Callable[..., Settings],
    push_service: Any,
    run_worker: Callable[[Settings], None],
) -> None:
    browser = push_service.browser()
    answer = sign_up(push_client, browser, invite_code=invite(session, crypto))
    assert answer.status_code == 202, answer.text
    said = answer.json()
    assert (said["channel"], said["membership"], said["invite"]) == ("push", "verified", "accepted")
    assert said["apply_url"] is None

    alert = publish_alert(session, crypto, [ASSEN])
    run_worker(push_settings())
    [got] = push_service.to(browser)
    view = alerts_service.view(session, alert=alert, cipher=crypto.cipher)
    sms = render_sms(view, "es", masking="partial")
    assert got["title"] == "Nueva alerta"
    assert got["body"] == push_body(sms, Translator("es"), ref=alert.ref)
    assert got["body"].endswith(f"Ref {alert.ref}.") and "STOP" not in got["body"]
    assert "Hit a worker." in got["body"]
    assert got["body"].startswith("PELIGRO:"), "no site name on a lock screen"
    assert got["urgency"] == "high"
    assert push_service.refused == []
    [row] = deliveries(session, alert)
    assert (row.channel, row.status) == ("push", "sent")

    alerts_service.retract(session, alert=alert, reason="wrong person", cipher=crypto.cipher)
    session.commit()
    run_worker(push_settings())
    [_, withdrawn] = push_service.to(browser)
    assert withdrawn["title"] == "Alerta retirada"
    assert alert.ref in withdrawn["body"]
    assert "redflag" not in got["body"] + withdrawn["body"]


def test_the_subscription_is_stored_encrypted_with_a_blind_index_of_its_endpoint(
    session: Session, crypto: Crypto, push_client: TestClient, push_service: Any
) -> None:
    browser = push_service.browser()
    assert sign_up(push_client, browser).status_code == 202
    session.expire_all()
    [row] = session.exec(select(Subscriber).where(Subscriber.channel == "push"))
    subscription = browser.subscription()
    for secret in (browser.token, subscription["keys"]["p256dh"], subscription["keys"]["auth"]):
        assert secret.encode() not in row.contact_enc
    assert json.loads(crypto.cipher.decrypt(row.contact_enc, purpose=PURPOSE_CONTACT)) == (
        subscription
    )
    assert row.contact_index == subscriptions.contact_index(
        crypto.index, "push", subscription["endpoint"]
    )


def test_without_an_invite_a_pending_member_gets_a_link_to_apply_and_no_warnings(
    session: Session,
    crypto: Crypto,
    push_client: TestClient,
    push_settings: Callable[..., Settings],
    push_service: Any,
    run_worker: Callable[[Settings], None],
) -> None:
    browser = push_service.browser()
    said = sign_up(push_client, browser).json()
    assert said["membership"] == "pending"
    assert said["apply_url"].startswith("http://127.0.0.1:8000/es/apply?t=")
    form = push_client.get(said["apply_url"].removeprefix("http://127.0.0.1:8000"))
    assert form.status_code == 200
    publish_alert(session, crypto, [ASSEN])
    run_worker(push_settings())
    assert push_service.to(browser) == []


def test_signing_up_again_changes_the_regions_of_the_same_subscription(
    session: Session, push_client: TestClient, push_service: Any
) -> None:
    browser = push_service.browser()
    sign_up(push_client, browser)
    again = sign_up(push_client, browser, regions=["GM0363"], language="nl").json()
    assert [r["code"] for r in again["regions"]] == ["GM0363"]
    assert again["language"] == "nl"
    session.expire_all()
    assert len(list(session.exec(select(Subscriber).where(Subscriber.channel == "push")))) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"endpoint": "http://127.0.0.1:1/p/x"}, ["body", "push", "endpoint"]),  # not https
        ({"endpoint": "https://10.0.0.5/p/x"}, ["body", "push", "endpoint"]),  # not a push host
        ({"endpoint": "https://evil.example/p/x"}, ["body", "push", "endpoint"]),
        ({"endpoint": "https://u:p@127.0.0.1/p/x"}, ["body", "push", "endpoint"]),
        ({"endpoint": "https://127.0.0.1:0/p/x"}, ["body", "push", "endpoint"]),
        ({"endpoint": "https://127.0.0.1/p\n/x"}, ["body", "push", "endpoint"]),
        ({"endpoint": "https://127.0.0.1/p/x#y"}, ["body", "push", "endpoint"]),
        ({"endpoint": "https://xn--x.127.0.0.1/p/x"}, ["body", "push", "endpoint"]),
        (
            {"keys": {"p256dh": None, "auth": "AAAAAAAAAAAAAAAA!AAAAA"}},
            ["body", "push", "keys", "auth"],
        ),
        ({"keys": {"p256dh": "A" * 87, "auth": "B" * 22}}, ["body", "push", "keys", "p256dh"]),
        ({"keys": {"p256dh": None, "auth": "short"}}, ["body", "push", "keys", "auth"]),
    ],
)
def test_a_subscription_that_cannot_be_used_is_refused_naming_the_field(
    session: Session, push_client: TestClient, push_service: Any, change: Any, field: list[str]
) -> None:
    browser = push_service.browser()
    subscription = browser.subscription()
    if change.get("keys", {}).get("p256dh", "") is None:
        change = {"keys": {**change["keys"], "p256dh": subscription["keys"]["p256dh"]}}
    answer = push_client.post(
        "/api/v1/subscriptions",
        json={"channel": "push", "push": {**subscription, **change}, "regions": [ASSEN]},
    )
    assert answer.status_code == 422
    assert field in [e["loc"] for e in answer.json()["detail"]]
    assert "evil" not in answer.text and browser.token not in answer.text, "never echoed"
    session.expire_all()
    assert list(session.exec(select(Subscriber))) == [], "nothing half-written"


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("fcm.googleapis.com", True),
        ("FCM.googleapis.com", True),
        ("fcm.googleapis.com.evil.org", False),
        ("evilfcm.googleapis.com", False),
        ("db5p.notify.windows.com", True),
        ("notify.windows.com", False),  # "*.domain" is its subdomains only
        ("evilnotify.windows.com", False),
        ("10.0.0.1", False),
        ("", False),
    ],
)
def test_push_hosts_are_names_or_subdomains_and_nothing_like_them(
    make_settings: Callable[..., Settings], host: str, allowed: bool
) -> None:
    settings = make_settings(push_hosts="fcm.googleapis.com,*.notify.windows.com")
    assert settings.push_host_allowed(host) is allowed


def test_new_pending_members_by_push_are_limited_per_client(
    session: Session,
    crypto: Crypto,
    make_client: Callable[..., TestClient],
    push_settings: Callable[..., Settings],
    push_service: Any,
) -> None:
    """Push needs no code: without this, one client could fill the applications queue."""
    with make_client(push_settings(membership="verified", rate_limit_join="2/hour")) as client:
        first, second = push_service.browser(), push_service.browser()
        assert sign_up(client, first).status_code == 202
        assert sign_up(client, second).status_code == 202
        assert sign_up(client, first, language="nl").status_code == 202, "not a new member"
        invited = sign_up(client, push_service.browser(), invite_code=invite(session, crypto))
        assert invited.status_code == 202, "an invite is not limited"
        refused = sign_up(client, push_service.browser())
        assert refused.status_code == 429
        other = TestClient(client.app, client=("198.51.100.9", 50000))
        assert sign_up(other, push_service.browser()).status_code == 202, "per client"
    session.expire_all()
    assert len(list(session.exec(select(Subscriber)))) == 4, "nothing of the refused one"


def test_one_browser_is_one_subscriber_however_its_endpoint_is_written(
    session: Session, push_client: TestClient, push_service: Any
) -> None:
    browser = push_service.browser()
    sign_up(push_client, browser)
    shouted = {**browser.subscription(), "endpoint": browser.endpoint.replace("https", "HTTPS")}
    again = push_client.post(
        "/api/v1/subscriptions",
        json={"channel": "push", "push": shouted, "regions": [ASSEN], "language": "es"},
    )
    assert again.status_code == 202
    session.expire_all()
    assert len(list(session.exec(select(Subscriber).where(Subscriber.channel == "push")))) == 1
    push_client.post(
        "/api/v1/subscriptions/push/unsubscribe",
        json={"endpoint": " " + browser.endpoint.replace("https://", "Https://") + " "},
    )
    session.expire_all()
    assert list(session.exec(select(Subscriber))) == []


def test_push_hosts_narrowed_after_sign_up_are_not_posted_to(
    session: Session,
    crypto: Crypto,
    push_client: TestClient,
    push_settings: Callable[..., Settings],
    push_service: Any,
    run_worker: Callable[[Settings], None],
) -> None:
    browser = push_service.browser()
    sign_up(push_client, browser, invite_code=invite(session, crypto))
    alert = publish_alert(session, crypto, [ASSEN])
    run_worker(push_settings(push_hosts="fcm.googleapis.com"))
    [row] = deliveries(session, alert)
    assert (row.status, row.error_code) == ("failed", "push-host-not-allowed")
    assert push_service.to(browser) == []


def test_push_and_contact_go_with_their_own_channels(
    push_client: TestClient, push_service: Any
) -> None:
    browser = push_service.browser()
    no_push = push_client.post(
        "/api/v1/subscriptions", json={"channel": "push", "regions": [ASSEN]}
    )
    assert no_push.status_code == 422
    assert ["body", "push"] in [e["loc"] for e in no_push.json()["detail"]]
    sms_with_push = push_client.post(
        "/api/v1/subscriptions",
        json={"channel": "sms", "push": browser.subscription(), "regions": [ASSEN]},
    )
    assert sms_with_push.status_code == 422


def test_push_is_not_offered_without_vapid_keys(client: TestClient, push_service: Any) -> None:
    answer = sign_up(client, push_service.browser())
    assert answer.status_code == 422
    [error] = answer.json()["detail"]
    assert error["loc"] == ["body", "channel"]
    assert "push is not offered" in error["msg"]


@pytest.mark.parametrize("status", [404, 410])
def test_a_subscription_the_push_service_says_is_gone_is_deleted(
    session: Session,
    crypto: Crypto,
    push_client: TestClient,
    push_settings: Callable[..., Settings],
    push_service: Any,
    run_worker: Callable[[Settings], None],
    status: int,
) -> None:
    gone, stays = push_service.browser(), push_service.browser()
    for browser in (gone, stays):
        sign_up(push_client, browser, invite_code=invite(session, crypto))
    push_service.answer_next(gone, status)
    alert = publish_alert(session, crypto, [ASSEN])
    run_worker(push_settings())
    rows = {r.status: r for r in deliveries(session, alert)}
    assert rows["failed"].error_code == "push-gone"
    assert len(push_service.to(stays)) == 1
    assert len(push_service.tokens_signed) == 1, "one VAPID token serves the push service"
    session.expire_all()
    left = list(session.exec(select(Subscriber).where(Subscriber.channel == "push")))
    assert [s.id for s in left] == [rows["sent"].subscriber_id]


@pytest.mark.parametrize(
    ("status", "outcome"), [(429, "pending"), (503, "pending"), (400, "failed")]
)
def test_busy_push_services_are_retried_and_refusals_are_final(
    session: Session,
    crypto: Crypto,
    push_client: TestClient,
    push_settings: Callable[..., Settings],
    push_service: Any,
    run_worker: Callable[[Settings], None],
    status: int,
    outcome: str,
) -> None:
    browser = push_service.browser()
    sign_up(push_client, browser, invite_code=invite(session, crypto))
    push_service.answer_next(browser, status)
    alert = publish_alert(session, crypto, [ASSEN])
    run_worker(push_settings())
    [row] = deliveries(session, alert)
    assert (row.status, row.error_code, row.attempts) == (outcome, f"http-{status}", 1)
    session.execute(update(Delivery).where(col(Delivery.id) == row.id).values(due_at=utcnow()))
    session.commit()
    run_worker(push_settings())
    [row] = deliveries(session, alert)
    assert row.status == ("sent" if outcome == "pending" else "failed")
    assert len(push_service.to(browser)) == (1 if outcome == "pending" else 0)
    session.expire_all()
    assert session.get(Subscriber, row.subscriber_id) is not None, "the subscriber stays"


def test_a_push_service_that_refuses_the_signature_gets_nothing(
    session: Session,
    crypto: Crypto,
    push_client: TestClient,
    push_settings: Callable[..., Settings],
    push_service: Any,
    run_worker: Callable[[Settings], None],
) -> None:
    """The fake really checks: signed with another key, the message is refused."""
    browser = push_service.browser()
    sign_up(push_client, browser, invite_code=invite(session, crypto))
    other_private, other_public = new_keys()
    alert = publish_alert(session, crypto, [ASSEN])
    run_worker(push_settings(vapid_private_key=other_private, vapid_public_key=other_public))
    [row] = deliveries(session, alert)
    assert (row.status, row.error_code) == ("failed", "http-403")
    assert push_service.refused == ["not the service's key"]
    assert push_service.to(browser) == []


def test_leaving_by_endpoint_deletes_the_subscription_and_answers_alike(
    session: Session, push_client: TestClient, push_service: Any
) -> None:
    browser = push_service.browser()
    sign_up(push_client, browser)
    leave = push_client.post(
        "/api/v1/subscriptions/push/unsubscribe", json={"endpoint": browser.endpoint}
    )
    unknown = push_client.post(
        "/api/v1/subscriptions/push/unsubscribe",
        json={"endpoint": push_service.browser().endpoint},
    )
    assert (leave.status_code, leave.json()) == (unknown.status_code, unknown.json())
    assert leave.status_code == 200
    session.expire_all()
    assert list(session.exec(select(Subscriber))) == []


def test_a_subscription_the_browser_renewed_takes_the_members_place(
    session: Session,
    crypto: Crypto,
    push_client: TestClient,
    push_settings: Callable[..., Settings],
    push_service: Any,
    run_worker: Callable[[Settings], None],
) -> None:
    """pushsubscriptionchange: the service worker hands over the new subscription with the
    old one's endpoint and auth secret; the member stays verified and gets the next warning
    at the new one. Without the old secret nothing moves, and the answer is the same."""
    old, new, thief = push_service.browser(), push_service.browser(), push_service.browser()
    sign_up(push_client, old, invite_code=invite(session, crypto))
    secret = old.subscription()["keys"]["auth"]

    def renew(auth: str, to: Any, endpoint: str = old.endpoint) -> Any:
        body = {"old_endpoint": endpoint, "old_auth": auth, "push": to.subscription()}
        return push_client.post("/api/v1/subscriptions/push/renew", json=body)

    wrong = renew(new.subscription()["keys"]["auth"], thief)
    unknown = renew(secret, thief, endpoint=push_service.browser().endpoint)
    right = renew(secret, new)
    assert wrong.status_code == unknown.status_code == right.status_code == 200
    assert wrong.json() == unknown.json() == right.json()
    session.expire_all()
    [row] = session.exec(select(Subscriber))
    assert row.membership == "verified" and row.language == "es"

    alert = publish_alert(session, crypto, [ASSEN])
    run_worker(push_settings())
    assert push_service.to(old) == [] and push_service.to(thief) == []
    [got] = push_service.to(new)
    assert got["title"] == "Nueva alerta"
    assert [d.status for d in deliveries(session, alert)] == ["sent"]


def test_the_service_worker_may_call_only_this_site(push_client: TestClient) -> None:
    answer = push_client.get("/sw.js")
    policy = answer.headers["content-security-policy"]
    assert "connect-src 'self'" in policy and "default-src 'none'" in policy
    assert "pushsubscriptionchange" in answer.text


def test_browsers_that_signed_up_without_an_invite_and_never_applied_go_in_time(
    session: Session,
    crypto: Crypto,
    push_client: TestClient,
    push_settings: Callable[..., Settings],
    push_service: Any,
) -> None:
    """A made-up endpoint costs nothing: pending push members who never applied go after
    REDFLAG_APPLICATION_DAYS; verified members and those waiting for a decision stay."""
    from datetime import timedelta

    from alerts.applications import submit
    from moderation import retention

    idle, waiting, member = (push_service.browser() for _ in range(3))
    sign_up(push_client, idle)
    sign_up(push_client, waiting)
    sign_up(push_client, member, invite_code=invite(session, crypto))
    session.expire_all()
    rows = {r.id: r for r in session.exec(select(Subscriber))}
    applicant = max(rows.values(), key=lambda r: r.id if r.membership == "pending" else -1)
    submit(
        session, subscriber=applicant, evidence="I work at the windows.", link=None,
        cipher=crypto.cipher,
    )  # fmt: skip
    session.commit()
    settings = push_settings()
    day29 = retention.run(session, settings, now=utcnow() + timedelta(days=29))
    assert day29["push sign-ups that never applied deleted"] == 0
    day31 = retention.run(session, settings, now=utcnow() + timedelta(days=31))
    assert day31["push sign-ups that never applied deleted"] == 1
    session.commit()
    session.expire_all()
    left = {(r.membership, r.id) for r in session.exec(select(Subscriber))}
    assert ("pending", applicant.id) in left and len(left) == 2


def test_codes_cannot_go_by_push(push_client: TestClient, push_service: Any) -> None:
    answer = push_client.post(
        "/api/v1/subscriptions/unsubscribe",
        json={"channel": "push", "contact": push_service.browser().endpoint},
    )
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "channel"]


# ---- settings --------------------------------------------------------------------------------


def test_keygen_pairs_are_accepted_and_partial_or_wrong_ones_refused(
    make_settings: Callable[..., Settings],
) -> None:
    private, public = new_keys()
    base = {"vapid_private_key": private, "vapid_public_key": public}
    ok = make_settings(**base, vapid_subject="mailto:ops@example.org")
    assert ok.secret_problems() == [] and ok.push_enabled
    assert "push" in build(ok)
    missing = make_settings(**base)
    assert any("_SUBJECT" in p for p in missing.secret_problems())
    _, other_public = new_keys()
    wrong = make_settings(
        vapid_private_key=private, vapid_public_key=other_public, vapid_subject="mailto:a@b.org"
    )
    assert any("not the public key" in p for p in wrong.secret_problems())
    assert not make_settings().push_enabled


def test_production_push_hosts_are_names_not_addresses(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    private, public = new_keys()
    with pytest.raises(SettingsError) as info:
        load_settings(
            **{
                **make_settings().model_dump(),
                "env": "production",
                "public_url": "https://x.org",
                "vapid_private_key": private,
                "vapid_public_key": public,
                "vapid_subject": "mailto:ops@x.org",
                "push_hosts": "fcm.googleapis.com,127.0.0.1",
            }
        )
    assert "REDFLAG_PUSH_HOSTS must name push services" in str(info.value)


# ---- the subscribe page (its script's part is tests/test_push_browser.py's) --------------------


def test_the_subscribe_page_takes_the_subscription_its_script_made(
    session: Session, crypto: Crypto, push_client: TestClient, push_service: Any
) -> None:
    browser = push_service.browser()
    form = {"channel": "push", "place": "Assen", "severity": "all", "invite": ""}
    answer = push_client.post(
        "/en/subscribe", data={**form, "push": json.dumps(browser.subscription())}
    )
    assert answer.status_code == 200
    assert "apply" in answer.text, "pending: the link to apply"
    session.expire_all()
    [row] = session.exec(select(Subscriber).where(Subscriber.channel == "push"))
    assert row.language == "en" and row.membership == "pending"

    code = invite(session, crypto)
    again = push_client.post(
        "/en/subscribe",
        data={**form, "invite": code, "push": json.dumps(browser.subscription())},
    )
    assert escape(Translator("en")("subscribe.done_push", regions="Assen")) in again.text


def test_the_subscribe_page_without_a_subscription_says_push_needs_javascript(
    session: Session, push_client: TestClient, push_service: Any
) -> None:
    form = {"channel": "push", "place": "Assen", "severity": "all", "invite": ""}
    answer = push_client.post("/en/subscribe", data=form)
    assert answer.status_code == 422
    assert Translator("en")("push.needs_js") in answer.text
    elsewhere = {"endpoint": "https://push.evil.example/x", "keys": {"p256dh": "x", "auth": "y"}}
    refused = push_client.post("/en/subscribe", data={**form, "push": json.dumps(elsewhere)})
    assert refused.status_code == 422
    assert Translator("en")("push.unsupported") in refused.text
    assert "evil" not in refused.text
    session.expire_all()
    assert list(session.exec(select(Subscriber))) == []


def test_stopping_on_the_page_deletes_by_the_endpoint(
    session: Session, push_client: TestClient, push_service: Any
) -> None:
    browser = push_service.browser()
    sign_up(push_client, browser)
    left = push_client.post("/es/leave/push", data={"endpoint": browser.endpoint})
    unknown = push_client.post("/es/leave/push", data={"endpoint": browser.endpoint})
    assert left.status_code == unknown.status_code == 200
    assert Translator("es")("push.left") in left.text
    session.expire_all()
    assert list(session.exec(select(Subscriber))) == []


# ---- privacy: a real server process, its output and every byte of its database ---------------


def test_a_push_subscription_leaves_no_trace_in_logs_or_database(
    database: Any, test_keys: dict[str, str], tmp_path: Any, push_service: Any,
    vapid_keys: tuple[str, str],
) -> None:  # fmt: skip
    url = database.fresh()
    env = {
        "REDFLAG_DATABASE_URL": url,
        "REDFLAG_DATA_KEY": test_keys["data_key"],
        "REDFLAG_INDEX_KEY": test_keys["index_key"],
        "REDFLAG_JWT_SECRET": test_keys["jwt_secret"],
        "REDFLAG_SECRETS_FILE": str(tmp_path / "unused.env"),
        "REDFLAG_LOG_LEVEL": "DEBUG",
        "REDFLAG_SMS_PROVIDER": "none",
        "REDFLAG_EMAIL_PROVIDER": "none",
        "REDFLAG_VAPID_PRIVATE_KEY": vapid_keys[0],
        "REDFLAG_VAPID_PUBLIC_KEY": vapid_keys[1],
        "REDFLAG_VAPID_SUBJECT": "mailto:ops@example.org",
        "REDFLAG_PUSH_HOSTS": "127.0.0.1",
        "REDFLAG_PUSH_CA_FILE": str(push_service.ca_file),
        "REDFLAG_EMBEDDED_WORKER": "true",
        "REDFLAG_WORKER_POLL_SECONDS": "0.05",
    }
    keeps, goes = push_service.browser(), push_service.browser()
    push_service.answer_next(goes, 410)
    server = start_server_process(env)
    engine = make_engine(url)
    try:
        settings = Settings(**test_keys)
        crypto = Crypto.from_settings(settings)
        with Session(engine) as session:
            codes = [invite(session, crypto), invite(session, crypto)]
        with httpx.Client(base_url=server.url) as client:
            for browser, code in zip((keeps, goes), codes, strict=True):
                said = sign_up(client, browser, invite_code=code)
                assert said.json()["membership"] == "verified"
            refused = client.post(
                "/api/v1/subscriptions",
                json={"channel": "push", "push": {**keeps.subscription(),
                      "endpoint": "https://10.1.2.3/p/" + keeps.token}, "regions": [ASSEN]},
            )  # fmt: skip
            assert refused.status_code == 422
        with Session(engine) as session:
            publish_alert(session, crypto, [ASSEN])
        deadline = time.monotonic() + 60  # the embedded worker sends it; a bound, not a test
        while not push_service.to(keeps) and time.monotonic() < deadline:
            time.sleep(0.05)
        left: list[Subscriber] = []
        while time.monotonic() < deadline:
            with Session(engine) as session:
                left = list(session.exec(select(Subscriber)))
            if len(left) == 1:
                break
            time.sleep(0.05)
    finally:
        engine.dispose()
        logs = server.stop()

    assert len(push_service.to(keeps)) == 1, "the warning arrived"
    assert len(left) == 1, "the subscription the push service said was gone is deleted"
    assert "POST /api/v1/subscriptions status=202" in logs, "the server's output was captured"
    secrets = []
    for browser in (keeps, goes):
        subscription = browser.subscription()
        secrets += [browser.token, subscription["keys"]["p256dh"], subscription["keys"]["auth"]]
    stored = database_bytes(url)
    for secret in secrets:
        assert secret not in logs, f"{secret!r} is in the server's output"
        assert secret.encode() not in stored, f"{secret!r} is in the database in plaintext"
    assert "10.1.2.3" not in logs
