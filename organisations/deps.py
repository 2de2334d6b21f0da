"""Who is asking under /api/v1/org: a person of an active organisation, by bearer token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from app.deps import SessionDep
from moderation.deps import FullScopeAccount
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


def org_person(session: SessionDep, account: FullScopeAccount) -> OrgPerson:
    """The account behind the token and its organisation, both read from the database: a
    deactivated organisation or person stops at once. Staff accounts are refused here, as
    organisations' accounts are refused everywhere moderators work."""
    return OrgPerson(account, service.of_account(session, account))


OrgPersonDep = Annotated[OrgPerson, Depends(org_person)]
