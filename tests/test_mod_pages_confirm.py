"""The /mod pages without JavaScript (TestClient, as a browser with scripts off): every
irreversible action answers with a question first and keeps nothing until it is
confirmed; regions picked by name; duplicates picked from a list; sending an alert back
and resubmitting it; a pending alert's page; deliveries by channel."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session, col, select

from alerts.models import Alert, AlertRegion, Delivery
from app.crypto import Crypto
from app.reports.models import Report
from moderation.models import Moderator
from tests.conftest import Team
from tests.helpers import add_sms_subscribers, publish_alert
from tests.test_moderation_pages import csrf, file_report, log_in

Clients = Callable[[], TestClient]


def hidden_fields(page: str) -> list[tuple[str, str]]:
    """The confirmation form's fields, as a browser would post them back."""
    form = page.split('id="confirm-detail"', 1)[1].split("</form>", 1)[0]
    return re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form)


def composer_form(token: str, version: str, **fields: str) -> dict[str, Any]:
    """The composer as a moderator posts it: publish an alert about a stalker in Assen."""
    return {
        "csrf_token": token, "version": version, "decision": "publish",
        "text": "Followed a worker from the station.", "severity": "high",
        "regions": ["GM0106"], "categories": ["stalking"], "new_kind": "phone", "new_value": "",
        "expires_in_days": "30", **fields,
    }  # fmt: skip


def alert_to_three(session: Session, crypto: Crypto, *statuses: str) -> Alert:
    """An alert published to three SMS subscribers, its first messages moved on to
    `statuses` (the rest still waiting)."""
    add_sms_subscribers(session, crypto, 3)
    alert = publish_alert(session, crypto)
    ids = session.exec(select(Delivery.id).where(Delivery.alert_id == alert.id)).all()
    for delivery_id, status in zip(ids, statuses, strict=False):
        session.execute(
            update(Delivery).where(col(Delivery.id) == delivery_id).values(status=status)
        )
    session.commit()
    return alert


def claimed(client: TestClient) -> tuple[int, str, str]:
    """A new report, taken from the queue: (its id, the CSRF token, its version)."""
    file_report(client)
    token = csrf(client)
    url = client.post("/mod/queue/next", data={"csrf_token": token}).headers["location"]
    page = client.get(url).text
    version = re.search(r'name="version" value="(\d+)"', page)
    assert version
    return int(url.rsplit("/", 1)[1]), token, version[1]


def test_retracting_asks_first_and_keeps_nothing_until_confirmed(
    browser_like: Clients, team: Team, session: Session, crypto: Crypto
) -> None:
    alert = alert_to_three(session, crypto, "sent", "sent")
    carol = browser_like()
    log_in(carol, "carol")
    page = carol.get(f"/mod/alerts/{alert.ref}").text
    prompt = (
        f"Retract alert {alert.ref}? This tells 2 recipients that the alert is withdrawn,"
        " and cancels 1 message not sent yet. It cannot be published again."
    )
    assert f'data-confirm="{prompt}"' in page, "the question JavaScript asks"

    form = {"csrf_token": csrf(carol), "reason": "wrong number"}
    asked = carol.post(f"/mod/alerts/{alert.ref}/retract", data=form)
    assert asked.status_code == 200
    assert f"<h1>Retract alert {alert.ref}?</h1>" in asked.text
    assert "This tells 2 recipients that the alert is withdrawn" in asked.text
    assert f'id="cancel" href="/mod/alerts/{alert.ref}"' in asked.text
    session.expire_all()
    assert session.get(Alert, alert.id).status == "published", "nothing kept before the answer"  # type: ignore[union-attr]
    assert ("reason", "wrong number") in hidden_fields(asked.text)
    assert ("confirmed", "yes") in hidden_fields(asked.text)

    done = carol.post(f"/mod/alerts/{alert.ref}/retract", data=dict(hidden_fields(asked.text)))
    assert done.headers["location"] == f"/mod/alerts/{alert.ref}?done=retracted"
    session.expire_all()
    assert session.get(Alert, alert.id).status == "retracted"  # type: ignore[union-attr]


def test_a_mistake_comes_back_at_once_not_after_the_question(
    browser_like: Clients, team: Team, session: Session, crypto: Crypto
) -> None:
    alert = publish_alert(session, crypto)
    carol = browser_like()
    log_in(carol, "carol")
    no_reason = carol.post(f"/mod/alerts/{alert.ref}/retract", data={"csrf_token": csrf(carol)})
    assert no_reason.status_code == 422 and "Give a reason for retracting." in no_reason.text


def test_rejecting_and_deactivating_ask_first(
    browser_like: Clients, team: Team, session: Session
) -> None:
    alice, bob = browser_like(), browser_like()
    log_in(alice, "alice")
    rid, token, version = claimed(alice)
    form = {"csrf_token": token, "version": version, "decision": "reject", "reason": "test"}
    asked = alice.post(f"/mod/reports/{rid}/decide", data=form)
    assert asked.status_code == 200 and f"<h1>Reject report #{rid}?</h1>" in asked.text
    assert 'name="decision" value="reject" class="danger">Reject</button>' in asked.text
    session.expire_all()
    assert session.get(Report, rid).status == "in_review"  # type: ignore[union-attr]
    rejected = alice.post(f"/mod/reports/{rid}/decide", data={**form, "confirmed": "yes"})
    assert rejected.headers["location"] == "/mod?done=rejected"

    log_in(bob, "bob")
    action = {"csrf_token": csrf(bob), "action": "deactivate", "moderator_id": str(team.alice.id)}
    asked = bob.post("/mod/moderators", data=action)
    assert asked.status_code == 200 and "<h1>Deactivate alice?</h1>" in asked.text
    session.expire_all()
    assert session.get(Moderator, team.alice.id).active, "still active"  # type: ignore[union-attr]
    assert alice.get("/mod").status_code == 200, "and still logged in"
    assert bob.post("/mod/moderators", data={**action, "confirmed": "yes"}).status_code == 303
    session.expire_all()
    assert not session.get(Moderator, team.alice.id).active  # type: ignore[union-attr]


def test_cancelling_a_publication_brings_the_composer_back_as_typed(
    browser_like: Clients, team: Team, session: Session
) -> None:
    alice = browser_like()
    log_in(alice, "alice")
    rid, token, version = claimed(alice)
    form = composer_form(token, version, extra_regions="Groningen (province)")
    asked = alice.post(f"/mod/reports/{rid}/decide", data=form)
    assert "<h1>Publish this alert?</h1>" in asked.text
    assert "It goes out now to 0 subscribers; it cannot be unsent" in asked.text
    assert ("extra_regions", "Groningen (province)") in hidden_fields(asked.text)
    back = alice.post(
        f"/mod/reports/{rid}/decide",
        data={**dict(hidden_fields(asked.text)), "decision": "preview"},
    )
    assert back.status_code == 200 and "Followed a worker from the station." in back.text
    assert '<input type="checkbox" name="regions" value="NL-GR" checked> Groningen' in back.text
    session.expire_all()
    assert session.exec(select(Alert)).all() == []


def test_more_regions_are_picked_by_name(
    browser_like: Clients, team: Team, session: Session
) -> None:
    alice = browser_like()
    log_in(alice, "alice")
    rid, token, version = claimed(alice)
    page = alice.get(f"/mod/reports/{rid}").text
    assert 'list="region-names"' in page
    assert '<option value="Groningen (province)" data-code="NL-GR">' in page
    assert '<option value="Assen" data-code="GM0106">' in page
    form = composer_form(
        token, version, confirmed="yes", extra_regions="Groningen (province); Zwolle, GM0014"
    )
    unknown = alice.post(f"/mod/reports/{rid}/decide", data={**form, "extra_regions": "Atlantis"})
    assert unknown.status_code == 422
    assert "More regions: no region is called &#34;Atlantis&#34;." in unknown.text
    published = alice.post(f"/mod/reports/{rid}/decide", data=form)
    assert published.status_code == 303, published.text
    session.expire_all()
    regions = session.exec(select(AlertRegion.region_code)).all()
    assert sorted(regions) == ["GM0014", "GM0106", "GM0193", "NL-GR"]  # GM0193: Zwolle


def test_a_duplicate_is_picked_from_the_live_alerts_it_may_repeat(
    browser_like: Clients, team: Team, session: Session, crypto: Crypto
) -> None:
    same = publish_alert(session, crypto, ["GM0363"], text="Hit a worker in Amsterdam.")
    publish_alert(session, crypto, ["GM0363"], identifiers=[], text="Not this one.")
    alice = browser_like()
    log_in(alice, "alice")
    rid, token, version = claimed(alice)
    page = alice.get(f"/mod/reports/{rid}").text
    duplicate_form = page.split('id="duplicate"', 1)[1].split("</form>", 1)[0]
    assert re.findall(r'name="alert_ref" value="([^"]+)"', duplicate_form) == [same.ref]
    assert "same identifier:</span> Hit a worker in Amsterdam." in duplicate_form
    assert "Not this one." not in duplicate_form
    assert f'data-confirm="Add report #{rid} to alert {same.ref}? ' in duplicate_form, "for JS"
    form = {"csrf_token": token, "version": version, "decision": "duplicate"}
    none = alice.post(f"/mod/reports/{rid}/decide", data=form)
    assert none.status_code == 422 and "choose the alert this report repeats" in none.text
    chosen = {**form, "alert_ref": same.ref}
    asked = alice.post(f"/mod/reports/{rid}/decide", data=chosen)
    assert f"<h1>Add report #{rid} to alert {same.ref}?</h1>" in asked.text
    done = alice.post(f"/mod/reports/{rid}/decide", data={**chosen, "confirmed": "yes"})
    assert done.headers["location"] == f"/mod/alerts/{same.ref}?done=duplicate"


def test_a_pending_alert_is_sent_back_changed_and_resubmitted_on_the_pages(
    browser_like: Clients, team: Team, session: Session
) -> None:
    alice, carol = browser_like(), browser_like()
    log_in(alice, "alice")
    log_in(carol, "carol")
    rid, token, version = claimed(alice)
    form = {
        "csrf_token": token, "version": version, "decision": "publish", "confirmed": "yes",
        "text": "Followed a worker from the station.", "severity": "critical",
        "regions": ["GM0106"], "categories": ["stalking"], "identifiers": ["phone|+31612345678"],
        "new_kind": "phone", "new_value": "", "extra_regions": "", "expires_in_days": "30",
    }  # fmt: skip
    url = alice.post(f"/mod/reports/{rid}/decide", data=form).headers["location"]
    ref = url.split("/")[3].split("?")[0]
    page = carol.get(f"/mod/alerts/{ref}").text
    assert "Waiting for approval · written by alice" in page and "Published by" not in page

    empty = carol.post(f"/mod/alerts/{ref}/send-back", data={"csrf_token": csrf(carol)})
    assert empty.status_code == 422 and "Write a note for the author" in empty.text
    note = "Leave out the station: only she goes there."
    sent = carol.post(
        f"/mod/alerts/{ref}/send-back", data={"csrf_token": csrf(carol), "note": note}
    )
    assert sent.headers["location"] == f"/mod/alerts/{ref}?done=sent_back"
    assert 'id="approve"' not in carol.get(f"/mod/alerts/{ref}").text

    queue = alice.get("/mod").text
    assert "Sent back to you" in queue and f'href="/mod/alerts/{ref}"' in queue
    page = alice.get(f"/mod/alerts/{ref}").text
    assert note in page and 'id="resubmit"' in page
    change = {
        "csrf_token": csrf(alice), "text": "Followed a worker.", "severity": "critical",
        "regions": ["GM0106"], "more_regions": "Drenthe (province)", "categories": ["stalking"],
        "all_identifiers": ["phone|+31612345678"], "identifiers": [],
    }  # fmt: skip
    done = alice.post(f"/mod/alerts/{ref}/resubmit", data=change)
    assert done.headers["location"] == f"/mod/alerts/{ref}?done=resubmitted", done.text
    page = carol.get(f"/mod/alerts/{ref}").text
    assert note not in page and 'id="approve"' in page
    assert "Followed a worker.</div>" in page and "Assen, Drenthe" in page
    assert "Identifiers" not in page.split("<h2>What subscribers receive</h2>")[0]


def test_the_alert_page_counts_deliveries_by_channel(
    browser_like: Clients, team: Team, session: Session, crypto: Crypto
) -> None:
    alert = alert_to_three(session, crypto, "delivered")
    carol = browser_like()
    log_in(carol, "carol")
    page = carol.get(f"/mod/alerts/{alert.ref}").text
    row = page.split('data-kind="alert" data-channel="sms">', 1)[1].split("</tr>", 1)[0]
    assert re.findall(r"<td>([^<]*)</td>", row) == ["alert · SMS", "2", "0", "1", "0"]
