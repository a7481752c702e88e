"""The public doctor directory (SPEC §12 `GET /api/doctors`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from core.actor import Actor
from core.db import unit_of_work
from core.models import Doctor


@dataclass(frozen=True)
class DoctorSummary:
    id: uuid.UUID
    number: int
    name: str
    specialty: str
    languages: list[str]
    rating: Decimal | None
    rating_count: int
    online: bool
    timezone: str

    @property
    def rpps(self) -> str:
        """RPPS shown on profiles: 10003{number}789 with the doctor's short public number."""
        return f"10003{self.number}789"


def list_doctors(actor: Actor) -> list[DoctorSummary]:
    with unit_of_work(actor) as uow:
        rows = uow.session.scalars(select(Doctor).order_by(Doctor.number)).all()
        return [
            DoctorSummary(d.id, d.number, d.display_name, d.specialty, list(d.languages),
                          d.rating_avg, d.rating_count, d.online, d.timezone)
            for d in rows
        ]
