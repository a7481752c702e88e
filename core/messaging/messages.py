"""Conversations between a patient and their doctor (SPEC §9 doctor portal "Messages"; issue 8).

Who may write to whom is a care relationship: a doctor and a patient with at least one booked,
completed or missed consultation together. This service checks it; row-level security on
`messages` (migration 0002) guarantees that anyone reads only messages they sent or received,
whatever the query. A conversation is every message between two people, oldest first; opening it
marks what the reader received as read.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select, update

from core import clock
from core.actor import Actor
from core.booking import lifecycle
from core.db import unit_of_work
from core.errors import Forbidden, NotFound, ValidationFailed
from core.i18n import N_
from core.messaging.notices import owe_message_notice
from core.models import Appointment, Doctor, Message, Patient, User
from core.search import matches

CARE_STATUSES = (*lifecycle.BOOKED, lifecycle.COMPLETED, lifecycle.NO_SHOW)
MAX_BODY = 5000
PARTIES = ("patient", "doctor")


@dataclass(frozen=True)
class Contact:
    user_id: uuid.UUID
    name: str


@dataclass(frozen=True)
class ConversationSummary:
    other: Contact
    last_body: str | None
    last_at: datetime | None
    unread: int
    can_reply: bool


@dataclass(frozen=True)
class MessageView:
    id: uuid.UUID
    from_me: bool
    body: str
    sent_at: datetime
    read_at: datetime | None


@dataclass(frozen=True)
class Conversation:
    other: Contact
    messages: list[MessageView]
    can_reply: bool


def _require_party(actor: Actor) -> None:
    if actor.role not in PARTIES or actor.user_id is None:
        raise Forbidden(N_("Messages are between patients and their doctors."))


def _contacts(session, actor: Actor) -> dict[uuid.UUID, str]:
    """user id → name of everyone the actor has a care relationship with."""
    if actor.role == "doctor":
        # Distinct patients first: row-level security on `patients` and `users` runs a function for
        # every row it checks, so each patient is checked once, not once per appointment.
        mine = (select(Appointment.patient_id).distinct()
                .join(Doctor, Doctor.id == Appointment.doctor_id)
                .where(Doctor.user_id == actor.user_id, Appointment.status.in_(CARE_STATUSES)).cte("mine"))
        rows = session.execute(
            select(User.id, User.full_name)
            .join(Patient, Patient.user_id == User.id)
            .join(mine, mine.c.patient_id == Patient.id))
    else:
        rows = session.execute(
            select(Doctor.user_id, Doctor.display_name).distinct()
            .join(Appointment, Appointment.doctor_id == Doctor.id)
            .join(Patient, Patient.id == Appointment.patient_id)
            .where(Patient.user_id == actor.user_id, Appointment.status.in_(CARE_STATUSES)))
    return {user_id: name for user_id, name in rows}


def _names(session, actor: Actor, user_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Names of people the actor has messages with but no care relationship any more."""
    if not user_ids:
        return {}
    if actor.role == "doctor":
        rows = session.execute(select(User.id, User.full_name).where(User.id.in_(user_ids)))
    else:
        rows = session.execute(select(Doctor.user_id, Doctor.display_name).where(Doctor.user_id.in_(user_ids)))
    return {user_id: name for user_id, name in rows}


def contacts(actor: Actor) -> list[Contact]:
    """Whom the actor may write to, by name."""
    _require_party(actor)
    with unit_of_work(actor) as uow:
        found = _contacts(uow.session, actor)
    return sorted((Contact(u, n) for u, n in found.items()), key=lambda c: (c.name.lower(), str(c.user_id)))


def conversations(actor: Actor) -> list[ConversationSummary]:
    """Every contact and everyone the actor has messages with: the last message and the unread
    count, most recent first (contacts without messages last, by name)."""
    _require_party(actor)
    me = actor.user_id
    with unit_of_work(actor) as uow:
        session = uow.session
        people = _contacts(session, actor)
        other = func.coalesce(func.nullif(Message.sender_id, me), Message.recipient_id)
        ranked = (select(Message.body, Message.created_at, other.label("other"),
                         func.row_number().over(partition_by=other, order_by=Message.created_at.desc()).label("n"))
                  .subquery())
        last = {r.other: (r.body, r.created_at)
                for r in session.execute(select(ranked.c.other, ranked.c.body, ranked.c.created_at)
                                         .where(ranked.c.n == 1))}
        unread = dict(session.execute(
            select(Message.sender_id, func.count()).where(Message.recipient_id == me, Message.read_at.is_(None))
            .group_by(Message.sender_id)).all())
        names = {**_names(session, actor, set(last) - set(people)), **people}
    summaries = [ConversationSummary(Contact(u, names.get(u, "Former contact")), *last.get(u, (None, None)),
                                     unread.get(u, 0), u in people)
                 for u in set(people) | set(last)]
    summaries.sort(key=lambda s: (s.last_at is None, -(s.last_at.timestamp() if s.last_at else 0),
                                  s.other.name.lower()))
    return summaries


# The conversation list draws at most this many (486 conversations froze the doctor's browser for
# 6 s on every click); a search by name finds the others.
CONVERSATIONS_SHOWN = 25


def shown_conversations(summaries: list[ConversationSummary], query: str | None = None,
                        selected: str | None = None, limit: int = CONVERSATIONS_SHOWN) -> tuple[list, int]:
    """(the conversations to draw, how many match `query`): the `limit` most recent matches, and
    the selected one too when it matches but is older."""
    found = [s for s in summaries if matches(query, s.other.name)]
    shown = found[:limit]
    current = next((s for s in found[limit:] if str(s.other.user_id) == selected), None)
    return ([*shown, current] if current else shown), len(found)


def unread_count(actor: Actor) -> int:
    _require_party(actor)
    with unit_of_work(actor) as uow:
        return uow.session.scalar(select(func.count()).select_from(Message).where(
            Message.recipient_id == actor.user_id, Message.read_at.is_(None)))


def read_conversation(actor: Actor, other_user_id: uuid.UUID) -> Conversation:
    """The messages between the actor and one person, oldest first; marks the received ones read."""
    _require_party(actor)
    me, now = actor.user_id, clock.now()
    with unit_of_work(actor) as uow:
        session = uow.session
        people = _contacts(session, actor)
        between = or_(and_(Message.sender_id == me, Message.recipient_id == other_user_id),
                      and_(Message.sender_id == other_user_id, Message.recipient_id == me))
        rows = session.scalars(select(Message).where(between).order_by(Message.created_at, Message.id)).all()
        if other_user_id not in people and not rows:
            raise NotFound(N_("No such conversation."))
        name = people.get(other_user_id) or _names(session, actor, {other_user_id}).get(other_user_id,
                                                                                         "Former contact")
        session.execute(update(Message).where(Message.recipient_id == me, Message.sender_id == other_user_id,
                                              Message.read_at.is_(None)).values(read_at=now))
        views = [MessageView(m.id, m.sender_id == me, m.body, m.created_at,
                             m.read_at or (now if m.recipient_id == me else None)) for m in rows]
    return Conversation(Contact(other_user_id, name), views, other_user_id in people)


def send_message(actor: Actor, recipient_user_id: uuid.UUID, body: str) -> MessageView:
    """Send `body` (1–5,000 characters) to a patient or doctor the actor has a care relationship with."""
    _require_party(actor)
    text = (body or "").strip()
    if not text:
        raise ValidationFailed(N_("Write a message first."))
    if len(text) > MAX_BODY:
        raise ValidationFailed(N_("A message can be at most %(limit)d characters."), params={"limit": MAX_BODY})
    now = clock.now()
    with unit_of_work(actor) as uow:
        session = uow.session
        if recipient_user_id not in _contacts(session, actor):
            raise Forbidden(N_("You can write only to your own patients or doctors."))
        message = Message(sender_id=actor.user_id, recipient_id=recipient_user_id, body=text, created_at=now)
        session.add(message)
        session.flush()
        owe_message_notice(uow, actor.user_id, recipient_user_id, now)  # issue 25: an email, no content
        return MessageView(message.id, True, text, now, None)
