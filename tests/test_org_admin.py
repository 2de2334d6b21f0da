"""Admins manage organisations: the API (/api/v1/moderation/organisations), the
/mod/organisations page without JavaScript, and `redflag organisation` on the command line.
Only admins; each change in the audit log by id, never a name, username or region."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from alerts.models import Invite
from app.cli import cli
from app.crypto import Crypto
from app.db import make_engine, utcnow
from moderation import security
from moderation.models import AuditEntry, Moderator
from organisations import service
from organisations.models import Organisation, OrganisationMember
from tests.conftest import PASSWORD, Outreach, Team, TestDatabase
from tests.test_moderation_pages import csrf, log_in, login_form

API = "/api/v1/moderation/organisations"
Auth = Callable[[Any], dict[str, str]]
Clients = Callable[[], TestClient]


def audit_of(session: Session, target_type: str) -> list[AuditEntry]:
    session.expire_all()
    return list(
        session.exec(
            select(AuditEntry)
            .where(AuditEntry.target_type == target_type)
            .order_by(col(AuditEntry.id))
        ).all()
    )


def fields(response: Any) -> list[str]:
    return [e["field"] for e in response.json()["detail"]]


# ---- the API ------------------------------------------------------------------------------------


def test_an_admin_creates_an_organisation_and_sees_it_listed(
    client: TestClient, session: Session, team: Team, auth: Auth
) -> None:
    created = client.post(
        API,
        json={"name": "  GGD   Drenthe ", "regions": ["gm0106", "NL-DR", "GM0106"]},
        headers=auth(team.bob),
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body == {
        "id": body["id"],
        "name": "GGD Drenthe",
        "active": True,
        "regions": ["GM0106", "NL-DR"],
        "region_names": ["Assen", "Drenthe"],
        "people": 0,
        "invites": {"issued": 0, "used": 0, "expired": 0, "open": 0},
    }
    listed = client.get(API, headers=auth(team.bob))
    assert listed.status_code == 200
    assert [o["name"] for o in listed.json()] == ["GGD Drenthe"]
    [entry] = audit_of(session, "organisation")
    assert (entry.action, entry.moderator_id, entry.target_id) == (
        "organisation.create",
        team.bob.id,
        str(body["id"]),
    )


def test_a_name_in_use_and_unknown_regions_are_refused_by_field(
    client: TestClient, session: Session, outreach: Outreach, team: Team, auth: Auth
) -> None:
    admin = auth(team.bob)
    taken = client.post(API, json={"name": "OUTREACH  assen", "regions": ["GM0106"]}, headers=admin)
    assert taken.status_code == 409 and "already an organisation" in taken.json()["detail"]

    unknown = client.post(
        API, json={"name": "Elsewhere", "regions": ["GM0106", "XX0001", "GM9999"]}, headers=admin
    )
    assert unknown.status_code == 422
    assert fields(unknown) == ["regions.1", "regions.2"]
    assert "XX0001" not in unknown.text and "GM9999" not in unknown.text, "never echoed"

    for body, field in [
        ({"name": "X", "regions": ["GM0106"]}, "name"),
        ({"name": "Elsewhere", "regions": []}, "regions"),
        ({"name": "Elsewhere"}, "regions"),
        ({"name": "Elsewhere", "regions": ["GM0106"], "people": 3}, "people"),
    ]:
        refused = client.post(API, json=body, headers=admin)
        assert refused.status_code == 422 and fields(refused) == [field], body
    assert session.exec(select(Organisation.name)).all() == ["Outreach Assen"]


def test_regions_are_replaced_and_audited(
    client: TestClient, session: Session, outreach: Outreach, team: Team, auth: Auth
) -> None:
    admin = auth(team.bob)
    url = f"{API}/{outreach.organisation.id}/regions"
    changed = client.put(url, json={"regions": ["NL-DR", "GM0114"]}, headers=admin)
    assert changed.status_code == 200
    assert changed.json()["regions"] == ["GM0114", "NL-DR"]
    assert changed.json()["region_names"] == ["Emmen", "Drenthe"]
    assert service.region_codes(session, outreach.organisation.id) == ["GM0114", "NL-DR"]

    unknown = client.put(url, json={"regions": ["NL-DR", "nowhere"]}, headers=admin)
    assert unknown.status_code == 422 and fields(unknown) == ["regions.1"]
    assert client.put(url, json={"regions": []}, headers=admin).status_code == 422
    assert (
        client.put(f"{API}/999999/regions", json={"regions": ["NL-DR"]}, headers=admin)
    ).status_code == 404
    assert (
        client.put(f"{API}/0/regions", json={"regions": ["NL-DR"]}, headers=admin)
    ).status_code == 422
    actions = [(e.action, e.target_id) for e in audit_of(session, "organisation")]
    assert actions[-1] == ("organisation.regions", str(outreach.organisation.id))
    assert service.region_codes(session, outreach.organisation.id) == ["GM0114", "NL-DR"]


def test_deactivating_an_organisation_ends_its_peoples_tokens(
    client: TestClient, session: Session, outreach: Outreach, team: Team, auth: Auth
) -> None:
    admin, olga = auth(team.bob), auth(outreach.olga)
    url = f"{API}/{outreach.organisation.id}"
    assert client.post("/api/v1/auth/totp/setup", headers=olga).status_code == 200

    deactivated = client.post(f"{url}/deactivate", headers=admin)
    assert deactivated.status_code == 200
    assert (deactivated.json()["active"], deactivated.json()["people"]) == (False, 0)
    ended = client.post("/api/v1/auth/totp/setup", headers=olga)
    assert ended.status_code == 401, "her token stopped working at once"
    people = client.get(f"{url}/people", headers=admin).json()
    assert [(p["username"], p["active"]) for p in people] == [("olga", False)]

    activated = client.post(f"{url}/activate", headers=admin)
    assert activated.status_code == 200 and activated.json()["active"] is True
    assert client.get(f"{url}/people", headers=admin).json()[0]["active"] is False, (
        "each person waits for an admin"
    )
    assert client.post(f"{API}/999999/deactivate", headers=admin).status_code == 404
    assert [e.action for e in audit_of(session, "organisation")][-2:] == [
        "organisation.deactivate",
        "organisation.activate",
    ]
    [olgas] = [e for e in audit_of(session, "moderator") if e.action == "moderator.deactivate"]
    assert (olgas.target_id, olgas.moderator_id) == (str(outreach.olga.id), team.bob.id)


def test_people_are_listed_and_added_with_role_organisation(
    client: TestClient, session: Session, outreach: Outreach, team: Team, auth: Auth
) -> None:
    admin = auth(team.bob)
    url = f"{API}/{outreach.organisation.id}/people"
    assert [p["username"] for p in client.get(url, headers=admin).json()] == ["olga"]

    added = client.post(url, json={"username": "Piet", "password": PASSWORD}, headers=admin)
    assert added.status_code == 201, added.text
    person = added.json()
    assert (person["username"], person["role"], person["active"]) == ("piet", "organisation", True)
    assert [p["username"] for p in client.get(url, headers=admin).json()] == ["olga", "piet"]
    assert client.get(API, headers=admin).json()[0]["people"] == 2
    member = session.get(OrganisationMember, person["id"])
    assert member is not None and member.organisation_id == outreach.organisation.id
    [entry] = [e for e in audit_of(session, "moderator") if e.target_id == str(person["id"])]
    assert (entry.action, entry.moderator_id) == ("moderator.create", team.bob.id)

    # The new person logs in as a moderator would, and still never reaches the queue.
    token = client.post("/api/v1/auth/token", data={"username": "piet", "password": PASSWORD})
    assert token.status_code == 200 and token.json()["scope"] == security.SCOPE_FULL
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert client.get("/api/v1/moderation/queue", headers=bearer).status_code == 403

    for body, status, field in [
        ({"username": "piet", "password": PASSWORD}, 409, None),
        ({"username": "Ana Maria", "password": PASSWORD}, 422, "username"),
        ({"username": "ana", "password": "short"}, 422, "password"),
        ({"username": "ana"}, 422, "password"),
        ({"username": "ana", "password": PASSWORD, "role": "admin"}, 422, "role"),
    ]:
        refused = client.post(url, json=body, headers=admin)
        assert refused.status_code == status, body
        if field:
            assert fields(refused) == [field], body
            assert "short" not in refused.text
    missing = client.post(
        f"{API}/999999/people", json={"username": "ana", "password": PASSWORD}, headers=admin
    )
    assert missing.status_code == 404
    assert client.get(f"{API}/999999/people", headers=admin).status_code == 404
    session.expire_all()
    assert session.exec(select(Moderator).where(Moderator.username == "ana")).first() is None


def test_only_admins_manage_organisations(
    client: TestClient, outreach: Outreach, team: Team, auth: Auth
) -> None:
    oid = outreach.organisation.id
    calls: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", API, None),
        ("POST", API, {"name": "Elsewhere", "regions": ["GM0106"]}),
        ("PUT", f"{API}/{oid}/regions", {"regions": ["NL-DR"]}),
        ("POST", f"{API}/{oid}/deactivate", None),
        ("POST", f"{API}/{oid}/activate", None),
        ("GET", f"{API}/{oid}/people", None),
        ("POST", f"{API}/{oid}/people", {"username": "ana", "password": PASSWORD}),
    ]
    for method, url, body in calls:
        assert client.request(method, url, json=body).status_code == 401, url
        for who in (team.alice, outreach.olga):
            response = client.request(method, url, json=body, headers=auth(who))
            assert response.status_code == 403, (who.username, method, url)
    assert client.get(API, headers=auth(team.bob)).json()[0]["active"] is True, "nothing changed"


def test_the_account_routes_work_for_an_organisations_people(
    client: TestClient, session: Session, outreach: Outreach, team: Team, auth: Auth
) -> None:
    admin, olga_id = auth(team.bob), outreach.olga.id
    url = f"/api/v1/admin/moderators/{olga_id}"
    reset = client.post(f"{url}/reset-password", headers=admin)
    assert reset.status_code == 200 and reset.json()["moderator"]["role"] == "organisation"
    login = client.post(
        "/api/v1/auth/token",
        data={"username": "olga", "password": reset.json()["one_time_password"]},
    )
    assert login.status_code == 200 and login.json()["scope"] == security.SCOPE_PASSWORD
    assert client.post(f"{url}/reset-totp", headers=admin).json()["totp_enabled"] is False
    assert client.post(f"{url}/role", json={"role": "moderator"}, headers=admin).status_code == 409
    assert client.post(f"{url}/deactivate", headers=admin).json()["active"] is False
    created = client.post(
        "/api/v1/admin/moderators",
        json={"username": "ana", "password": PASSWORD, "role": "organisation"},
        headers=admin,
    )
    assert created.status_code == 422 and fields(created) == ["role"], "only on its organisation"


def test_the_audit_log_holds_ids_only(
    client: TestClient, session: Session, crypto: Crypto, team: Team, auth: Auth
) -> None:
    admin = auth(team.bob)
    made = client.post(API, json={"name": "Sekswerk Emmen", "regions": ["GM0114"]}, headers=admin)
    oid = made.json()["id"]
    client.put(f"{API}/{oid}/regions", json={"regions": ["NL-DR"]}, headers=admin)
    added = client.post(
        f"{API}/{oid}/people", json={"username": "mireille", "password": PASSWORD}, headers=admin
    )
    organisation = service.get(session, oid)
    service.issue_invite(session, organisation=organisation, person=team.bob, index=crypto.index)
    session.execute(update(Invite).values(used_at=utcnow()))
    session.commit()
    assert client.get(API, headers=admin).json()[0]["invites"] == {
        "issued": 1, "used": 1, "expired": 0, "open": 0,
    }  # fmt: skip
    client.post(f"{API}/{oid}/deactivate", headers=admin)

    session.expire_all()
    entries = session.exec(select(AuditEntry).order_by(col(AuditEntry.id))).all()
    about = [
        (e.action, e.target_type, e.target_id) for e in entries if e.moderator_id == team.bob.id
    ]
    assert about == [
        ("organisation.create", "organisation", str(oid)),
        ("organisation.regions", "organisation", str(oid)),
        ("moderator.create", "moderator", str(added.json()["id"])),
        ("invite.issue", "invite", about[3][2]),
        ("moderator.deactivate", "moderator", str(added.json()["id"])),
        ("organisation.deactivate", "organisation", str(oid)),
    ]
    for entry in entries:
        assert entry.target_id is not None and entry.target_id.isdigit(), entry
        row = f"{entry.action} {entry.target_type} {entry.target_id}".lower()
        for word in ("sekswerk", "emmen", "gm0114", "nl-dr", "mireille", PASSWORD):
            assert word not in row, (word, row)


# ---- the page ------------------------------------------------------------------------------------


def form_of(page: str, anchor: str) -> str:
    """The part of the page from `anchor` to the end of its form."""
    return page.split(anchor, 1)[1].split("</form>", 1)[0]


def test_the_page_creates_an_organisation_by_region_names_and_adds_a_person(
    browser_like: Clients, session: Session, outreach: Outreach, team: Team
) -> None:
    alice, bob = browser_like(), browser_like()
    log_in(alice, "alice")
    assert alice.get("/mod/organisations").status_code == 403
    assert 'href="/mod/organisations"' not in alice.get("/mod").text, "no link for moderators"
    olga = browser_like()
    assert olga.post("/mod/login", data=login_form(olga, "olga")).headers["location"] == "/org"
    assert olga.get("/mod/organisations").headers["location"] == "/org", "never for organisations"
    log_in(bob, "bob")
    page = bob.get("/mod/organisations")
    assert page.status_code == 200 and 'href="/mod/organisations" aria-current="page"' in page.text
    listed = form_of(page.text, f'id="organisation-{outreach.organisation.id}"')
    assert (
        "Outreach Assen" in listed
        and "Regions: Assen" in listed
        and "People (1 active): olga" in listed
    )
    assert "Invite codes: 0 issued, 0 used" in listed

    token = csrf(bob, "/mod/organisations")
    created = bob.post(
        "/mod/organisations",
        data={"csrf_token": token, "organisation_id": "0", "action": "create",
              "name": "GGD Groningen", "more_regions": "Groningen (province); Emmen, gm0106"},
    )  # fmt: skip
    assert created.status_code == 303
    organisation = service.named(session, "ggd groningen")
    assert created.headers["location"] == (
        f"/mod/organisations?done=created#organisation-{organisation.id}"
    )
    assert service.region_codes(session, organisation.id or 0) == ["GM0106", "GM0114", "NL-GR"]

    added = bob.post(
        "/mod/organisations",
        data={"csrf_token": token, "organisation_id": str(organisation.id),
              "action": "add_person", "username": "greet", "password": PASSWORD},
    )  # fmt: skip
    assert added.status_code == 303
    shown = bob.get(added.headers["location"])
    assert "Person added: hand them the password in person." in shown.text
    panel = form_of(shown.text, f'id="organisation-{organisation.id}"')
    assert "Regions: Assen, Emmen, Groningen" in panel and "People (1 active): greet" in panel
    greet = session.exec(select(Moderator).where(Moderator.username == "greet")).one()
    assert greet.role == "organisation"
    member = session.get(OrganisationMember, greet.id)
    assert member is not None and member.organisation_id == organisation.id
    assert PASSWORD not in shown.text


def test_mistakes_come_back_at_their_form_with_what_was_typed(
    browser_like: Clients, session: Session, outreach: Outreach, team: Team
) -> None:
    bob = browser_like()
    log_in(bob, "bob")
    token = csrf(bob, "/mod/organisations")
    new = {"csrf_token": token, "organisation_id": "0", "action": "create"}

    typo = bob.post(
        "/mod/organisations", data={**new, "name": "Project Noord", "more_regions": "Asen"}
    )
    assert typo.status_code == 422
    form = form_of(typo.text, 'id="new-organisation"')
    assert "Regions: which region is &#34;Asen&#34;? Did you mean Asten or Assen?" in form
    assert 'value="Project Noord"' in form and 'value="Asen"' in form, "kept as typed"

    none = bob.post("/mod/organisations", data={**new, "name": "Project Noord"})
    assert none.status_code == 422
    assert "regions: at least one town or province" in form_of(none.text, 'id="new-organisation"')
    long = bob.post("/mod/organisations", data={**new, "name": "N" * 81, "more_regions": "Assen"})
    assert long.status_code == 422
    assert "name: String should have at most 80 characters" in long.text
    taken = bob.post(
        "/mod/organisations", data={**new, "name": "outreach assen", "more_regions": "Assen"}
    )
    assert taken.status_code == 422 and "There is already an organisation with this name." in (
        form_of(taken.text, 'id="new-organisation"')
    )

    oid = outreach.organisation.id
    weak = bob.post(
        "/mod/organisations",
        data={"csrf_token": token, "organisation_id": str(oid), "action": "add_person",
              "username": "kees", "password": "too short"},
    )  # fmt: skip
    assert weak.status_code == 422
    at = weak.text.split(f'id="organisation-{oid}"', 1)[1].split("</li>", 1)[0]
    assert "<details open>\n      <summary>Add a person</summary>" in at
    assert "password: at least 12 characters" in at and 'value="kees"' in at
    assert "too short" not in weak.text, "a password is never shown again"

    untick_all = bob.post(
        "/mod/organisations",
        data={"csrf_token": token, "organisation_id": str(oid), "action": "regions"},
    )
    assert untick_all.status_code == 422 and "regions: at least one town or province" in (
        untick_all.text
    )
    nobody = bob.post(
        "/mod/organisations",
        data={"csrf_token": token, "organisation_id": "999999", "action": "deactivate"},
    )
    assert nobody.status_code == 422 and "No such organisation." in nobody.text
    session.expire_all()
    assert session.exec(select(Organisation.name)).all() == ["Outreach Assen"]
    assert service.region_codes(session, oid) == ["GM0106"]
    assert session.exec(select(Moderator).where(Moderator.username == "kees")).first() is None


def test_regions_are_changed_by_unticking_and_typing(
    browser_like: Clients, session: Session, outreach: Outreach, team: Team
) -> None:
    bob = browser_like()
    log_in(bob, "bob")
    oid = outreach.organisation.id
    page = bob.get("/mod/organisations").text
    assert '<input type="checkbox" name="regions" value="GM0106" checked> Assen' in page
    changed = bob.post(
        "/mod/organisations",
        data={"csrf_token": csrf(bob, "/mod/organisations"), "organisation_id": str(oid),
              "action": "regions", "more_regions": "Drenthe (province)"},
    )  # fmt: skip
    assert changed.status_code == 303
    assert service.region_codes(session, oid or 0) == ["NL-DR"]
    assert "Regions saved." in bob.get(changed.headers["location"]).text


def test_deactivating_asks_first_and_ends_its_peoples_sessions(
    browser_like: Clients,
    session: Session,
    outreach: Outreach,
    team: Team,
    client: TestClient,
    auth: Auth,
) -> None:
    bob = browser_like()
    log_in(bob, "bob")
    oid = outreach.organisation.id
    action = {"csrf_token": csrf(bob, "/mod/organisations"), "organisation_id": str(oid),
              "action": "deactivate"}  # fmt: skip
    page = bob.get("/mod/organisations").text
    assert 'data-confirm="Deactivate Outreach Assen? Its people are logged out' in page

    asked = bob.post("/mod/organisations", data=action)
    assert asked.status_code == 200 and "<h1>Deactivate Outreach Assen?</h1>" in asked.text
    assert 'name="action" value="deactivate" class="danger">Deactivate</button>' in asked.text
    session.expire_all()
    assert service.get(session, oid).active and session.get(Moderator, outreach.olga.id).active  # type: ignore[union-attr]
    olga = auth(outreach.olga)
    assert client.post("/api/v1/auth/totp/setup", headers=olga).status_code == 200

    done = bob.post("/mod/organisations", data={**action, "confirmed": "yes"})
    assert done.status_code == 303
    assert done.headers["location"] == f"/mod/organisations?done=deactivated#organisation-{oid}"
    session.expire_all()
    assert not service.get(session, oid).active
    assert not session.get(Moderator, outreach.olga.id).active  # type: ignore[union-attr]
    assert client.post("/api/v1/auth/totp/setup", headers=olga).status_code == 401
    shown = bob.get(done.headers["location"]).text
    assert "Organisation deactivated" in shown and "olga (inactive)" in shown

    activated = bob.post("/mod/organisations", data={**action, "action": "activate"})
    assert activated.status_code == 303, "no question to reactivate"
    session.expire_all()
    assert service.get(session, oid).active
    assert [e.action for e in audit_of(session, "organisation")][-2:] == [
        "organisation.deactivate",
        "organisation.activate",
    ]


# ---- the command line ----------------------------------------------------------------------------


@pytest.fixture
def operator_db(database: TestDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh database, and the environment `redflag` reads pointing at it."""
    url = database.fresh()
    for name in [k for k in os.environ if k.startswith("REDFLAG_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("REDFLAG_DATABASE_URL", url)
    monkeypatch.setenv("REDFLAG_SECRETS_FILE", str(tmp_path / "secrets.env"))
    return url


def test_the_command_line_creates_an_organisation_and_adds_its_people(operator_db: str) -> None:
    runner = CliRunner()
    created = runner.invoke(
        cli, ["organisation", "create", "Outreach Emmen", "--region", "GM0114", "--region", "nl-dr"]
    )
    assert created.exit_code == 0, created.output
    assert created.stdout.strip() == "created organisation Outreach Emmen in Emmen, Drenthe"
    added = runner.invoke(
        cli, ["organisation", "add-person", "outreach emmen", "Lotte"], input=f"{PASSWORD}\n"
    )
    assert added.exit_code == 0, added.output
    assert added.stdout.strip() == "added lotte to Outreach Emmen; they log in at /mod/login"

    engine = make_engine(operator_db)
    try:
        with Session(engine) as session:
            organisation = service.named(session, "Outreach Emmen")
            assert service.region_codes(session, organisation.id or 0) == ["GM0114", "NL-DR"]
            [lotte] = service.people(session, organisation.id or 0)
            assert (lotte.username, lotte.role, lotte.active) == ("lotte", "organisation", True)
            entries = session.exec(select(AuditEntry).order_by(col(AuditEntry.id))).all()
            assert [(e.moderator_id, e.action, e.target_id) for e in entries] == [
                (None, "organisation.create", str(organisation.id)),
                (None, "moderator.create", str(lotte.id)),
            ], "the command line's doing"
    finally:
        engine.dispose()


def test_the_command_line_says_what_is_wrong(operator_db: str) -> None:
    runner = CliRunner()
    ok = runner.invoke(cli, ["organisation", "create", "Outreach Emmen", "--region", "GM0114"])
    assert ok.exit_code == 0, ok.output
    cases = [
        (["create", "Elsewhere", "--region", "GM0114", "--region", "GM9999"], None,
         "--region GM9999: unknown region code"),
        (["create", "outreach emmen", "--region", "GM0114"], None,
         "There is already an organisation with this name."),
        (["create", "X", "--region", "GM0114"], None, "NAME: String should have at least 2"),
        (["create", "Elsewhere"], None, "Missing option '--region'"),
        (["add-person", "Nowhere", "lotte"], f"{PASSWORD}\n", "No such organisation."),
        (["add-person", "Outreach Emmen", "lotte"], "short\n", "password: at least 12 characters"),
        (["add-person", "Outreach Emmen", "lo"], f"{PASSWORD}\n", "username: 3 to 40"),
    ]  # fmt: skip
    for args, typed, says in cases:
        result = runner.invoke(cli, ["organisation", *args], input=typed)
        assert result.exit_code == 2, (args, result.output)
        assert says in result.output, (args, result.output)
        assert "Traceback" not in result.output
    engine = make_engine(operator_db)
    try:
        with Session(engine) as session:
            assert session.exec(select(Organisation.name)).all() == ["Outreach Emmen"]
            assert session.exec(select(Moderator)).all() == []
    finally:
        engine.dispose()
