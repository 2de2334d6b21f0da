"""The admins' API for police exports: prepare, approve (a second admin), read."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from app.deps import CryptoDep, RowId, SessionDep
from moderation.deps import Admin, require_admin
from moderation.police import service
from moderation.police.models import ExportOut, Package

router = APIRouter(
    prefix="/moderation",
    tags=["police"],
    dependencies=[Depends(require_admin)],
    responses={
        401: {"description": "No token, or an invalid or expired one"},
        403: {"description": "Not an admin"},
        404: {"description": "No such report or export"},
    },
)


@router.post(
    "/reports/{report_id}/police-export",
    status_code=201,
    summary="Prepare a police export of a report whose reporter consented",
    responses={409: {"description": "No consent, withdrawn, or an export exists"}},
)
def prepare(report_id: RowId, admin: Admin, session: SessionDep) -> ExportOut:
    return service.public(session, service.prepare(session, report_id=report_id, admin=admin))


@router.get("/police-exports", summary="Police exports, newest first")
def exports(session: SessionDep) -> list[ExportOut]:
    return service.listing(session)


@router.post(
    "/police-exports/{export_id}/approve",
    summary="Approve an export: a second admin, not the one who prepared it",
    responses={409: {"description": "Approved already, the same admin, or consent withdrawn"}},
)
def approve(export_id: RowId, admin: Admin, session: SessionDep) -> ExportOut:
    return service.public(session, service.approve(session, export_id=export_id, admin=admin))


@router.get(
    "/police-exports/{export_id}/package",
    summary="An approved export's package: the incident and the client, never the reporter",
    responses={409: {"description": "Not approved yet"}},
)
def package(export_id: RowId, admin: Admin, session: SessionDep, crypto: CryptoDep) -> Package:
    return service.package(session, export_id=export_id, admin=admin, crypto=crypto)
