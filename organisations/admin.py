"""The admins' API for organisations: /api/v1/moderation/organisations. Bearer tokens of
admins only; each change is in the audit log by the organisation's or account's id.

An organisation's people are accounts with role "organisation": the admin routes for
accounts (/api/v1/admin/moderators/{id}/deactivate, reset-password, reset-totp) work for
them as for moderators."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from app.deps import RowId, SessionDep
from app.schemas import BODY_ERRORS
from moderation import accounts
from moderation.deps import Admin, require_admin
from moderation.models import ModeratorPublic
from organisations import service
from organisations.models import OrganisationCreate, OrganisationPublic, PersonCreate, RegionsIn

_UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {"description": "No token, or an invalid or expired one"},
    403: {"description": "Not an admin"},
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such organisation"},
    422: {"description": "The id is not a row id"},
}
_BODY: dict[int | str, dict[str, Any]] = {
    **BODY_ERRORS,
    409: {"description": "The name is in use"},
    422: {"description": "A field is missing or wrong; each unknown region by its position"},
}

router = APIRouter(
    prefix="/moderation/organisations",
    tags=["organisations"],
    dependencies=[Depends(require_admin)],
    responses={**_UNAUTHORIZED},
)


@router.get("", summary="Every organisation, with its regions, active people and invite counts")
def list_organisations(session: SessionDep) -> list[OrganisationPublic]:
    return service.list_all(session)


@router.post("", status_code=201, summary="Create an organisation", responses=_BODY)
def create_organisation(
    data: OrganisationCreate, admin: Admin, session: SessionDep
) -> OrganisationPublic:
    organisation = service.create(session, name=data.name, regions=data.regions, admin=admin)
    return service.public(session, organisation)


@router.put(
    "/{organisation_id}/regions",
    summary="Set where the organisation works: its regions, all of them",
    responses={**_NOT_FOUND, **_BODY},
)
def set_regions(
    organisation_id: RowId, data: RegionsIn, admin: Admin, session: SessionDep
) -> OrganisationPublic:
    organisation = service.set_regions(
        session, organisation_id=organisation_id, regions=data.regions, admin=admin
    )
    return service.public(session, organisation)


@router.post(
    "/{organisation_id}/deactivate",
    summary="Deactivate an organisation: its people are deactivated and their tokens end",
    responses=_NOT_FOUND,
)
def deactivate(organisation_id: RowId, admin: Admin, session: SessionDep) -> OrganisationPublic:
    organisation = service.set_active(
        session, organisation_id=organisation_id, active=False, admin=admin
    )
    return service.public(session, organisation)


@router.post(
    "/{organisation_id}/activate",
    summary="Reactivate an organisation (its people stay inactive until each is reactivated)",
    responses=_NOT_FOUND,
)
def activate(organisation_id: RowId, admin: Admin, session: SessionDep) -> OrganisationPublic:
    organisation = service.set_active(
        session, organisation_id=organisation_id, active=True, admin=admin
    )
    return service.public(session, organisation)


@router.get(
    "/{organisation_id}/people",
    summary="The organisation's accounts, active or not",
    responses=_NOT_FOUND,
)
def list_people(organisation_id: RowId, session: SessionDep) -> list[ModeratorPublic]:
    return service.people_public(session, organisation_id)


@router.post(
    "/{organisation_id}/people",
    status_code=201,
    summary="A login for a person of the organisation (role organisation); hand the password over",
    responses={
        **_NOT_FOUND,
        **BODY_ERRORS,
        409: {"description": "The username is taken"},
        422: {"description": "A field is missing or wrong: the username's form, a weak password"},
    },
)
def add_person(
    organisation_id: RowId, data: PersonCreate, admin: Admin, session: SessionDep
) -> ModeratorPublic:
    person = service.add_person(
        session,
        organisation_id=organisation_id,
        username=data.username,
        password=data.password,
        admin=admin,
    )
    return accounts.public(person)
