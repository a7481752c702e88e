"""Who is acting: every unit of work runs for an explicit actor, which drives RLS (SPEC §2)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

ROLES = ("patient", "doctor", "admin")


@dataclass(frozen=True)
class Actor:
    user_id: UUID | None
    role: str  # patient | doctor | admin | system | anonymous

    @property
    def is_authenticated(self) -> bool:
        return self.user_id is not None

    def rls_settings(self) -> tuple[str, str]:
        return (str(self.user_id) if self.user_id else "", self.role)


ANONYMOUS = Actor(None, "anonymous")
# Background jobs, sign-in look-ups and webhooks: the database grants this role explicitly.
SYSTEM = Actor(None, "system")
