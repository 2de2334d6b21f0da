"""Who is asking under /api/v1/org: a person of an active organisation, by bearer token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from app.deps import SessionDep
from app.errors import Forbidden
from moderation import security
from moderation.deps import AnyModerator, ClaimsDep
from moderation.models import Moderator
from organisations import service
from organisations.models import Organisation


@dataclass(frozen=True)
class OrgPerson:
    person: Moderator
    organisation: Organisation

    @property
    def organisation_id(self) -> int:
        assert self.organisation.id is not None
        return self.organisation.id


def org_person(session: SessionDep, account: AnyModerator, claims: ClaimsDep) -> OrgPerson:
    """The account behind the token and its organisation, both read from the database: a
    deactivated organisation or person stops at once. Staff accounts are refused here, as
    organisations' accounts are refused everywhere moderators work."""
    if claims.scope != security.SCOPE_FULL:
        raise Forbidden("Set up two-factor authentication first (POST /api/v1/auth/totp/setup).")
    return OrgPerson(account, service.of_account(session, account))


OrgPersonDep = Annotated[OrgPerson, Depends(org_person)]
