"""The clinic directory that services other than booking keep, fed by `booking.clinic.changed.v1`.

It is a read model of a published contract, not a business rule, so it lives here once rather than
as a copy in every consumer. A service that needs more of a clinic than this keeps its own.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from alembic.operations import Operations
from fastapi import APIRouter, Path, Request
from pydantic import BaseModel
from sqlalchemy import Column, DateTime, Integer, Table, Text, Uuid, func, select
from sqlalchemy.dialects.postgresql import JSONB, insert

from clinic_shared.auth import STAFF_ROLES, Principal, require_roles
from clinic_shared.db import new_metadata
from clinic_shared.errors import NotFound
from clinic_shared.events.catalogue import Address, ClinicChanged
from clinic_shared.messaging import Consumer, HandlerContext
from clinic_shared.pagination import Page, PageParams
from clinic_shared.web import ERROR_RESPONSES, error_response

metadata = new_metadata()

clinics = Table(
    "clinics",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("revision", Integer, nullable=False),
    Column("name", Text, nullable=False),
    Column("address", JSONB, nullable=False),
    Column("timezone", Text, nullable=False),
    Column("phone", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


def create_clinic_projection_v1(op: Operations) -> None:
    """Frozen DDL of the projection for the consuming services' migrations."""
    op.create_table(
        "clinics",
        Column("id", Uuid, primary_key=True),
        Column("revision", Integer, nullable=False),
        Column("name", Text, nullable=False),
        Column("address", JSONB, nullable=False),
        Column("timezone", Text, nullable=False),
        Column("phone", Text, nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


async def apply_clinic_changed(event: ClinicChanged, ctx: HandlerContext) -> None:
    """Upsert, keeping the newest revision: a stale event arriving late changes nothing."""
    values: dict[str, Any] = {
        "id": event.clinic_id,
        "revision": event.revision,
        "name": event.name,
        "address": event.address.model_dump(mode="json"),
        "timezone": event.timezone,
        "phone": event.phone,
    }
    statement = insert(clinics).values(**values)
    await ctx.session.execute(
        statement.on_conflict_do_update(
            index_elements=[clinics.c.id],
            set_={**{k: statement.excluded[k] for k in values if k != "id"}, "updated_at": func.now()},
            where=clinics.c.revision < statement.excluded.revision,
        )
    )


CLINIC_PROJECTION = Consumer(name="clinic-projection", handlers={ClinicChanged: apply_clinic_changed})


class ClinicView(BaseModel):
    id: UUID
    revision: int
    name: str
    address: Address
    timezone: str
    phone: str
    updated_at: datetime


class ClinicNotFound(NotFound):
    code = "clinic_not_found"


StaffPrincipal = Annotated[Principal, require_roles(*STAFF_ROLES)]


def clinic_projection_router() -> APIRouter:
    router = APIRouter(prefix="/clinics", tags=["clinics"], responses=ERROR_RESPONSES)

    @router.get("", summary="Clinics known to this service", response_model=Page[ClinicView])
    async def list_clinics(request: Request, principal: StaffPrincipal, page: PageParams) -> Page[ClinicView]:
        """Clinics as last announced by booking, in name order. Staff see the clinics they work at;
        admins see all."""
        query = select(clinics).order_by(clinics.c.name, clinics.c.id).offset(page.offset).limit(page.fetch)
        if not principal.works_at_every_clinic:
            query = query.where(clinics.c.id.in_(principal.clinic_ids))
        async with request.app.state.session_factory() as session:
            rows = (await session.execute(query)).mappings().all()
        return Page[ClinicView].of([ClinicView.model_validate(dict(row)) for row in rows], page)

    @router.get(
        "/{clinic_id}",
        summary="One clinic",
        response_model=ClinicView,
        responses={404: error_response("Unknown clinic")},
    )
    async def get_clinic(request: Request, principal: StaffPrincipal, clinic_id: Annotated[UUID, Path()]) -> ClinicView:
        principal.ensure_clinic(clinic_id)
        async with request.app.state.session_factory() as session:
            row = (await session.execute(select(clinics).where(clinics.c.id == clinic_id))).mappings().first()
        if row is None:
            raise ClinicNotFound("no such clinic", field="clinic_id")
        return ClinicView.model_validate(dict(row))

    return router
