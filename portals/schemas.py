"""Request/response models shared by several portals."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BeforeValidator, Field

from portals.api import ApiModel
from portals.hygiene import BoundedDateTime


def _plus_from_query(value):
    """A `+01:00` offset typed into a URL arrives as ` 01:00`: put the plus back."""
    if isinstance(value, str) and " " in value.strip():
        head, _, tail = value.strip().rpartition(" ")
        if tail[:2].isdigit():
            return f"{head}+{tail}"
    return value


QueryDateTime = Annotated[BoundedDateTime, BeforeValidator(_plus_from_query)]


class AvailabilityOut(ApiModel):
    start: datetime
    end: datetime
    is_available: bool
    is_booked: bool
    slot_id: uuid.UUID | None = None
    held_by_you: bool = False

    @classmethod
    def from_entry(cls, entry, tz) -> AvailabilityOut:
        return cls(start=entry.start.astimezone(tz), end=entry.end.astimezone(tz),
                   is_available=entry.is_available, is_booked=entry.is_booked, slot_id=entry.slot_id,
                   held_by_you=entry.held_by_viewer)


class WindowQuery(ApiModel):
    from_: QueryDateTime | None = Field(default=None, alias="from")
    to: QueryDateTime | None = None
