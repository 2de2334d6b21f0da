"""Organisations: creating them, their regions and people, and what they may do."""

from __future__ import annotations

from sqlalchemy import delete
from sqlmodel import Session, col, func, select

from alerts import membership
from alerts.check.schemas import CheckResult
from alerts.check.service import check_number
from alerts.models import Channel, Invite
from alerts.subscriptions import service as subscriptions
from app.crypto import BlindIndex, Crypto
from app.db import utcnow
from app.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from app.identifiers import InvalidIdentifier, normalise_email
from app.ratelimit import RateLimiter
from app.regions import service as regions_service
from app.reports import service as reports_service
from app.reports.models import ReportCreate
from app.settings import Settings
from moderation import accounts, audit, members
from moderation.models import STAFF_ROLES, Moderator, ModeratorPublic, Role
from organisations.models import (
    InviteCounts,
    Organisation,
    OrganisationMember,
    OrganisationOut,
    OrganisationPublic,
    OrganisationRegion,
)


def issuer(organisation_id: int) -> str:
    """How the organisation is named on what it issued: invites and the members they
    verified ("organisation:5"), never a person of it."""
    return f"organisation:{organisation_id}"


def create(
    session: Session, *, name: str, regions: list[str], admin: Moderator | None
) -> Organisation:
    """A new organisation working in `regions`: an admin's doing (None: the command
    line's), audited."""
    wanted = regions_service.check_codes(session, regions)
    clean = " ".join(name.split())
    taken = session.exec(
        select(Organisation.id).where(func.lower(Organisation.name) == clean.lower())
    ).first()
    if taken is not None:
        raise Conflict("There is already an organisation with this name.")
    organisation = Organisation(name=clean, created_at=utcnow())
    session.add(organisation)
    session.flush()
    _set_regions(session, organisation, wanted)
    _audit(session, "organisation.create", organisation, by=admin)
    return organisation


def get(session: Session, organisation_id: int, *, lock: bool = False) -> Organisation:
    query = select(Organisation).where(Organisation.id == organisation_id)
    organisation = session.exec(query.with_for_update() if lock else query).first()
    if organisation is None:
        raise NotFound("No such organisation.")
    return organisation


def region_codes(session: Session, organisation_id: int) -> list[str]:
    return list(
        session.exec(
            select(OrganisationRegion.region_code)
            .where(OrganisationRegion.organisation_id == organisation_id)
            .order_by(OrganisationRegion.region_code)
        )
    )


def set_regions(
    session: Session, *, organisation_id: int, regions: list[str], admin: Moderator
) -> Organisation:
    organisation = get(session, organisation_id, lock=True)
    _set_regions(session, organisation, regions_service.check_codes(session, regions))
    _audit(session, "organisation.regions", organisation, by=admin)
    return organisation


def _set_regions(session: Session, organisation: Organisation, codes: list[str]) -> None:
    session.exec(
        delete(OrganisationRegion).where(col(OrganisationRegion.organisation_id) == organisation.id)
    )
    assert organisation.id is not None
    session.add_all(
        OrganisationRegion(organisation_id=organisation.id, region_code=code) for code in codes
    )
    session.flush()


def set_active(
    session: Session, *, organisation_id: int, active: bool, admin: Moderator
) -> Organisation:
    """Deactivating an organisation deactivates its people too (their tokens end at once);
    reactivating it leaves each person for an admin to reactivate."""
    organisation = get(session, organisation_id, lock=True)
    if organisation.active and not active:
        for person in people(session, organisation_id):
            if person.active:
                accounts.set_active(session, admin=admin, moderator_id=person.id or 0, active=False)
    organisation.active = active
    session.add(organisation)
    _audit(
        session,
        "organisation.activate" if active else "organisation.deactivate",
        organisation,
        by=admin,
    )
    return organisation


# ---- people ---------------------------------------------------------------------------------


def add_person(
    session: Session,
    *,
    organisation_id: int,
    username: str,
    password: str,
    admin: Moderator | None,
) -> Moderator:
    """A login for someone of the organisation (role "organisation"); the password is the
    admin's to hand over, as for a moderator (admin None: the command line)."""
    organisation = get(session, organisation_id)
    person = accounts.create(
        session, username=username, password=password, role=Role.organisation, admin=admin
    )
    assert person.id is not None
    assert organisation.id is not None
    session.add(OrganisationMember(moderator_id=person.id, organisation_id=organisation.id))
    session.flush()
    return person


def people(session: Session, organisation_id: int) -> list[Moderator]:
    return list(
        session.exec(
            select(Moderator)
            .join(OrganisationMember, col(OrganisationMember.moderator_id) == Moderator.id)
            .where(OrganisationMember.organisation_id == organisation_id)
            .order_by(Moderator.username)
        )
    )


def of_account(session: Session, account: Moderator) -> Organisation:
    """The active organisation an account acts for; Forbidden for staff accounts, or when
    the organisation was deactivated."""
    organisation = session.exec(
        select(Organisation)
        .join(OrganisationMember, col(OrganisationMember.organisation_id) == Organisation.id)
        .where(OrganisationMember.moderator_id == account.id)
    ).first()
    if account.role != Role.organisation or organisation is None:
        raise Forbidden("This is for organisations' accounts.")
    if not organisation.active:
        raise Forbidden("This organisation's account is not active: ask the admins.")
    return organisation


# ---- invites ---------------------------------------------------------------------------------


def issue_invite(
    session: Session,
    *,
    organisation: Organisation,
    person: Moderator,
    index: BlindIndex,
    valid_days: int = membership.INVITE_DAYS,
) -> tuple[str, Invite]:
    """An invite code in the organisation's name (audited as the person's doing)."""
    assert organisation.id is not None
    code, invite = membership.issue_invite(
        session, index=index, issued_by=issuer(organisation.id), valid_days=valid_days
    )
    audit.record(
        session,
        moderator_id=person.id,
        action="invite.issue",
        target_type="invite",
        target_id=invite.id,
    )
    return code, invite


def invite_counts(session: Session, organisation_id: int) -> InviteCounts:
    """How many of the organisation's codes were used, expired unused, or are still open."""
    now = utcnow()
    mine = Invite.issued_by == issuer(organisation_id)
    rows = session.exec(
        select(
            func.count(),
            func.count(col(Invite.used_at)),
            func.count().filter(col(Invite.used_at).is_(None), col(Invite.expires_at) <= now),
        ).where(mine)
    ).one()
    issued, used, expired = (int(n) for n in rows)
    return InviteCounts(issued=issued, used=used, expired=expired, open=issued - used - expired)


# ---- what admins see --------------------------------------------------------------------------


def public(session: Session, organisation: Organisation) -> OrganisationPublic:
    """profile(), and whether it is active and how many of its people are."""
    assert organisation.id is not None
    return OrganisationPublic(
        **profile(session, organisation).model_dump(),
        active=organisation.active,
        people=sum(1 for p in people(session, organisation.id) if p.active),
    )


def list_all(session: Session) -> list[OrganisationPublic]:
    found = session.exec(select(Organisation).order_by(Organisation.name)).all()
    return [public(session, o) for o in found]


def _audit(
    session: Session, action: str, organisation: Organisation, *, by: Moderator | None
) -> None:
    """An audit entry about the organisation: what was done and by whom (None: the command
    line), never more."""
    audit.record(
        session,
        moderator_id=by.id if by else None,
        action=action,
        target_type="organisation",
        target_id=organisation.id,
    )


# ---- for admins: the API, /mod/organisations, and the command line ---------------------------


def named(session: Session, name: str) -> Organisation:
    """The organisation called `name`, matched as create() keeps names unique: without case,
    spaces squeezed."""
    clean = " ".join(name.split())
    organisation = session.exec(
        select(Organisation).where(func.lower(Organisation.name) == clean.lower())
    ).first()
    if organisation is None:
        raise NotFound("No such organisation.")
    return organisation


def people_public(session: Session, organisation_id: int) -> list[ModeratorPublic]:
    """The organisation's accounts, active or not; NotFound for no such organisation."""
    get(session, organisation_id)
    return [accounts.public(p) for p in people(session, organisation_id)]


def overview(session: Session) -> list[tuple[OrganisationPublic, list[ModeratorPublic]]]:
    """Every organisation with its accounts, by name: what /mod/organisations shows."""
    return [(o, people_public(session, o.id)) for o in list_all(session)]


# ---- alerts by email -------------------------------------------------------------------------


def alerts_issuer(organisation_id: int) -> str:
    """The issuer of the invites that verify the organisation's own alert address: apart
    from `issuer`, so that invite_counts counts only the codes it handed to workers."""
    return f"{issuer(organisation_id)}/alerts"


def request_alert_email(
    session: Session,
    *,
    organisation: Organisation,
    person: Moderator,
    email: str,
    language: str,
    crypto: Crypto,
    settings: Settings,
    limiter: RateLimiter,
) -> None:
    """The organisation's regions' alerts to `email`, through the ordinary sign-up: a
    confirmation link goes to the address, and confirming it makes the address a member
    verified by an invite in the organisation's name. Audited without the address."""
    assert organisation.id is not None
    try:
        normalise_email(email)
    except InvalidIdentifier as exc:
        raise InvalidInput([FieldError(("email",), exc.code, exc.message)]) from None
    code, _ = membership.issue_invite(
        session, index=crypto.index, issued_by=alerts_issuer(organisation.id)
    )
    subscriptions.request_subscription(
        session,
        channel=Channel.email,
        contact=email,
        regions=region_codes(session, organisation.id),
        language=language,
        min_severity=None,
        crypto=crypto,
        settings=settings,
        limiter=limiter,
        link_base=settings.public_url,
        invite_code=code,
    )
    _audit(session, "organisation.alert_email", organisation, by=person)


# ---- what its people do ---------------------------------------------------------------------


def limit_key(account: Moderator) -> str:
    """Whom a rate limit counts for an organisation's person: the account, wherever it
    works from, apart from clients ("203.0.113.9") and members ("member:3")."""
    return f"account:{account.id}"


def profile(session: Session, organisation: Organisation) -> OrganisationOut:
    """The organisation as its own people see it: no people, no admin's view."""
    assert organisation.id is not None
    codes = region_codes(session, organisation.id)
    return OrganisationOut(
        id=organisation.id,
        name=organisation.name,
        regions=codes,
        region_names=regions_service.names(session, codes),
        invites=invite_counts(session, organisation.id),
    )


def invite_for(
    session: Session, *, account: Moderator, index: BlindIndex, valid_days: int
) -> tuple[str, Invite]:
    """An invite code from whoever asks: a moderator's own, or one in the name of the
    organisation an organisation's person acts for (Forbidden when it is deactivated)."""
    if account.role in STAFF_ROLES:
        return members.issue_invite(session, moderator=account, index=index, valid_days=valid_days)
    organisation = of_account(session, account)
    return issue_invite(
        session, organisation=organisation, person=account, index=index, valid_days=valid_days
    )


def submit_report(
    session: Session,
    *,
    person: Moderator,
    data: ReportCreate,
    crypto: Crypto,
    default_region: str,
    form_token: str | None = None,
) -> str:
    """A report sent for a worker who agreed to it, marked third-party: its receipt code,
    shown once. Audited by the report's id only. `form_token`: as the public form's."""
    report_id, code = reports_service.submit(
        session,
        data=data,
        crypto=crypto,
        default_region=default_region,
        form_token=form_token,
        third_party=True,
    )
    audit.record(
        session,
        moderator_id=person.id,
        action="report.third_party",
        target_type="report",
        target_id=report_id,
    )
    return code


def check(
    session: Session,
    *,
    organisation: Organisation,
    person: Moderator,
    number: str,
    crypto: Crypto,
    settings: Settings,
    limiter: RateLimiter,
) -> CheckResult:
    """The live alerts naming `number`, as a member's check answers. Audited by the
    organisation only: the number is never recorded."""
    result = check_number(
        session, number=number, member_id=None, crypto=crypto, settings=settings, limiter=limiter
    )
    _audit(session, "organisation.check", organisation, by=person)
    return result
