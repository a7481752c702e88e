"""Who is acting: every unit of work runs for an explicit actor, which drives RLS (SPEC §2)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

ROLES = ("patient", "doctor", "admin")


@dataclass(frozen=True)
class Actor:
    user_id: UUID | None
    role: str  # patient | doctor | admin | system | anonymous
    # Set when the caller proved who they are by a signed bearer token only and left confirming
    # its session (account active, not signed out since: this session version) to the unit of
    # work, which does so in its first round trip, before anything is read for or written by the
    # actor, and refuses with Unauthenticated otherwise (issue 21: one round trip less on a hold).
    unconfirmed_session: int | None = None

    @property
    def is_authenticated(self) -> bool:
        return self.user_id is not None

    def rls_settings(self) -> tuple[str, str]:
        return (str(self.user_id) if self.user_id else "", self.role)


ANONYMOUS = Actor(None, "anonymous")
# Background jobs, sign-in look-ups and webhooks: the database grants this role explicitly.
SYSTEM = Actor(None, "system")
