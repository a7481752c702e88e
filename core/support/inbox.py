"""The support inbox (issue 25; /pricing "Priority support"): a signed-in patient or doctor — or a
guest through the public form — writes to the care team; admins answer from the console's Inbox.

Status: `waiting_on_us` after the user writes (with `due_at`, from `core.support.due`: 4 working
hours for Premium members, 2 working days otherwise — Premium is an active Premium plan when the
conversation asks us), `waiting_on_you` after our answer (no due time), `closed` when done; a user
writing again reopens it (a new due time from that message). `open` is a conversation an admin
took up without a due time (kept for the console's filter).

Health details: a patient's words are taken to be health details (the safe default: patients
write about their health). Their text is kept in `support_health_bodies`, which row-level security
shows to the patient and the system only; an admin reads one through `reveal_health_details`, with
a reason, audited like a record view. Doctors' and guests' messages are plain.

An admin's answer reaches the user by email with a link back (outbox `queue_once`, keyed by the
message, so it goes once).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select

from core import clock, config
from core.accounts.signup import normalise_email
from core.actor import SYSTEM, Actor
from core.audit import record_audit
from core.db import UnitOfWork, acting_as_system, unit_of_work
from core.errors import Forbidden, NotFound, ValidationFailed
from core.i18n import N_
from core.models import Subscription, SupportConversation, SupportHealthBody, SupportMessage, User
from core.notify.outbox import Outgoing, queue_once
from core.notify.rendering import language_of, render
from core.support.due import due_at

USERS = ("patient", "doctor")
STAFF = ("admin", "system")
MAX_SUBJECT, MAX_BODY, MIN_REASON = 200, 5000, 10
STATUS_LABELS = {"open": N_("Open"), "waiting_on_us": N_("Waiting on us"), "waiting_on_you": N_("Waiting on you"),
                 "closed": N_("Closed")}
REVEALED = "support_health.revealed"


@dataclass(frozen=True)
class SupportMessageView:
    id: uuid.UUID
    author_role: str
    from_team: bool
    body: str | None  # None: health details not shown to this reader
    health: bool
    created_at: datetime


@dataclass(frozen=True)
class ConversationView:
    id: uuid.UUID
    subject: str
    status: str
    priority: bool
    due_at: datetime | None
    created_at: datetime
    updated_at: datetime
    who: str  # the user's name, or the guest's name and address
    email: str
    role: str  # patient | doctor | guest
    messages: list[SupportMessageView]

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


@dataclass(frozen=True)
class InboxRow:
    id: uuid.UUID
    subject: str
    status: str
    priority: bool
    due_at: datetime | None
    updated_at: datetime
    who: str
    role: str
    overdue: bool

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


def _invalid(field: str, message: str, **params) -> ValidationFailed:
    """`message`: a catalog template (`N_`) with `params`; the field's detail keeps the English."""
    error = ValidationFailed(message, params=params or None)
    error.details = {"fields": [{"field": field, "message": error.message}]}
    return error


def _clean(subject: str | None, body: str | None) -> tuple[str, str]:
    subject, body = (subject or "").strip(), (body or "").strip()
    if not subject:
        raise _invalid("subject", N_("Give your message a subject."))
    if len(subject) > MAX_SUBJECT:
        raise _invalid("subject", N_("The subject can be at most %(count)d characters."), count=MAX_SUBJECT)
    return subject, _body(body)


def _body(body: str | None) -> str:
    body = (body or "").strip()
    if not body:
        raise _invalid("body", N_("Write your message first."))
    if len(body) > MAX_BODY:
        raise _invalid("body", N_("A message can be at most %(count)d characters."), count=MAX_BODY)
    return body


def is_premium(session, user_id: uuid.UUID) -> bool:
    """Premium = an active (or past-due, still being paid) Premium plan (SPEC §8)."""
    return bool(session.scalar(select(func.count()).select_from(Subscription).where(
        Subscription.user_id == user_id, Subscription.plan == "premium",
        Subscription.status.in_(("active", "past_due")))))


def _holidays():
    return config.current().support_holidays


def _add_message(uow: UnitOfWork, conversation: SupportConversation, author: Actor | None, role: str, body: str,
                 now: datetime) -> SupportMessage:
    """A message in the conversation; a patient's text goes to the health-details table."""
    health = role == "patient"
    message = SupportMessage(id=uuid.uuid4(), conversation_id=conversation.id,
                             author_id=author.user_id if author else None, author_role=role,
                             body=None if health else body, health=health, created_at=now)
    uow.session.add(message)
    uow.session.flush()
    if health:
        uow.session.add(SupportHealthBody(message_id=message.id, user_id=author.user_id, body=body))
        uow.session.flush()
    return message


def _waiting_on_us(conversation: SupportConversation, now: datetime) -> None:
    if conversation.status != "waiting_on_us" or conversation.due_at is None:
        conversation.due_at = due_at(now, priority=conversation.priority, holidays=_holidays())
    conversation.status, conversation.updated_at = "waiting_on_us", now


def start_conversation(actor: Actor, subject: str, body: str) -> uuid.UUID:
    """"Contact us" for a signed-in patient or doctor (issue 25): a conversation waiting on us, due
    within 4 working hours for a Premium member, else 2 working days."""
    if actor.role not in USERS or actor.user_id is None:
        raise Forbidden(N_("Signed-in patients and doctors write here; admins answer from the console."))
    subject, body = _clean(subject, body)
    now = clock.now()
    with unit_of_work(actor) as uow:
        with acting_as_system(uow):  # whether the plan is Premium: read the subscription as is
            priority = actor.role == "patient" and is_premium(uow.session, actor.user_id)
        conversation = SupportConversation(id=uuid.uuid4(), user_id=actor.user_id, subject=subject,
                                           status="waiting_on_us", priority=priority,
                                           due_at=due_at(now, priority=priority, holidays=_holidays()),
                                           created_at=now, updated_at=now)
        uow.session.add(conversation)
        uow.session.flush()
        _add_message(uow, conversation, actor, actor.role, body, now)
        return conversation.id


def start_guest_conversation(name: str, email: str, subject: str, body: str) -> uuid.UUID:
    """The public contact form (issue 25): a guest's conversation, answered by email (2 working days).
    The caller has passed the sign-up's abuse protection (rate limit and human check)."""
    subject, body = _clean(subject, body)
    name = (name or "").strip()[:200]
    address = normalise_email(email or "")
    now = clock.now()
    with unit_of_work(SYSTEM) as uow:
        conversation = SupportConversation(id=uuid.uuid4(), guest_email=address, guest_name=name or None,
                                           subject=subject, status="waiting_on_us", priority=False,
                                           due_at=due_at(now, priority=False, holidays=_holidays()),
                                           created_at=now, updated_at=now)
        uow.session.add(conversation)
        uow.session.flush()
        _add_message(uow, conversation, None, "guest", body, now)
        return conversation.id


def _messages(session, conversation_id: uuid.UUID, *, with_health: bool) -> list[SupportMessageView]:
    rows = session.scalars(select(SupportMessage).where(SupportMessage.conversation_id == conversation_id)
                           .order_by(SupportMessage.created_at, SupportMessage.id)).all()
    bodies = {}
    if with_health and any(m.health for m in rows):
        bodies = dict(session.execute(select(SupportHealthBody.message_id, SupportHealthBody.body).where(
            SupportHealthBody.message_id.in_([m.id for m in rows if m.health]))).all())
    return [SupportMessageView(m.id, m.author_role, m.author_role == "admin",
                               bodies.get(m.id) if m.health else m.body, m.health, m.created_at) for m in rows]


def _view(session, c: SupportConversation, messages: list[SupportMessageView]) -> ConversationView:
    if c.user_id is not None:
        user = session.get(User, c.user_id)
        who, email, role = (user.full_name, user.email, user.role) if user else ("Former user", "", "patient")
    else:
        who, email, role = (f"{c.guest_name} (guest)" if c.guest_name else "Guest"), c.guest_email, "guest"
    return ConversationView(c.id, c.subject, c.status, c.priority, c.due_at, c.created_at, c.updated_at, who, email,
                            role, messages)


def my_conversations(actor: Actor) -> list[ConversationView]:
    """The user's conversations, latest activity first, without their messages (RLS: own rows)."""
    if actor.role not in USERS or actor.user_id is None:
        return []
    with unit_of_work(actor) as uow:
        rows = uow.session.scalars(select(SupportConversation).where(SupportConversation.user_id == actor.user_id)
                                   .order_by(SupportConversation.updated_at.desc())).all()
        return [_view(uow.session, c, []) for c in rows]


def my_conversation(actor: Actor, conversation_id: uuid.UUID) -> ConversationView:
    """One of the user's conversations with every message, their own health details included."""
    if actor.role not in USERS or actor.user_id is None:
        raise Forbidden(N_("This is for signed-in patients and doctors."))
    with unit_of_work(actor) as uow:
        c = uow.session.get(SupportConversation, conversation_id)
        if c is None or c.user_id != actor.user_id:
            raise NotFound(N_("No such conversation."))
        return _view(uow.session, c, _messages(uow.session, c.id, with_health=True))


def reply_as_user(actor: Actor, conversation_id: uuid.UUID, body: str) -> None:
    """The user writes again: the conversation waits on us (a closed one reopens, due from now)."""
    if actor.role not in USERS or actor.user_id is None:
        raise Forbidden(N_("This is for signed-in patients and doctors."))
    body, now = _body(body), clock.now()
    with unit_of_work(actor) as uow:
        c = uow.session.get(SupportConversation, conversation_id, with_for_update=True)
        if c is None or c.user_id != actor.user_id:
            raise NotFound(N_("No such conversation."))
        _add_message(uow, c, actor, actor.role, body, now)
        _waiting_on_us(c, now)


# ---- the care team (admins) ----

def _require_admin(actor: Actor) -> None:
    if actor.role not in STAFF:
        raise Forbidden(N_("The support inbox is for admins."))


def inbox(actor: Actor, *, include_closed: bool = False, now: datetime | None = None) -> list[InboxRow]:
    """The admin Inbox (issue 25): conversations waiting on us first, by due time (Premium ones are
    due soonest, so they come first among those received together), overdue flagged; then the
    others, latest activity first."""
    _require_admin(actor)
    now = now or clock.now()
    with unit_of_work(actor) as uow:
        waiting = case((SupportConversation.status == "waiting_on_us", 0), else_=1)
        query = (select(SupportConversation, User.full_name, User.role)
                 .outerjoin(User, User.id == SupportConversation.user_id)
                 .order_by(waiting, SupportConversation.due_at.asc().nulls_last(),
                           SupportConversation.updated_at.desc()))
        if not include_closed:
            query = query.where(SupportConversation.status != "closed")
        rows = uow.session.execute(query.limit(500)).all()
    return [InboxRow(c.id, c.subject, c.status, c.priority, c.due_at, c.updated_at,
                     name or (f"{c.guest_name} (guest)" if c.guest_name else f"Guest <{c.guest_email}>"),
                     role or "guest", c.status == "waiting_on_us" and c.due_at is not None and c.due_at < now)
            for c, name, role in rows]


def overdue_count(session, now: datetime) -> int:
    """Conversations waiting on us past their due time (the `support_overdue` alert)."""
    return session.scalar(select(func.count()).select_from(SupportConversation).where(
        SupportConversation.status == "waiting_on_us", SupportConversation.due_at < now))


def admin_conversation(actor: Actor, conversation_id: uuid.UUID) -> ConversationView:
    """A conversation as an admin sees it: every message, health details hidden (reveal them with a
    reason). Row-level security keeps `support_health_bodies` from the admin role anyway."""
    _require_admin(actor)
    with unit_of_work(actor) as uow:
        c = uow.session.get(SupportConversation, conversation_id)
        if c is None:
            raise NotFound(N_("No such conversation."))
        return _view(uow.session, c, _messages(uow.session, c.id, with_health=False))


def reveal_health_details(actor: Actor, message_id: uuid.UUID, reason: str) -> str:
    """An admin reads the health details of one message, giving a reason (issue 25): audited in the
    same transaction, like a record view (`support_health.revealed`, with the reason)."""
    _require_admin(actor)
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        raise _invalid("reason", N_("Say why you need to read it (at least %(count)d characters)."),
                       count=MIN_REASON)
    with unit_of_work(actor) as uow:
        message = uow.session.get(SupportMessage, message_id)
        if message is None or not message.health:
            raise NotFound(N_("No health details in this message."))
        with acting_as_system(uow):
            body = uow.session.scalar(select(SupportHealthBody.body).where(SupportHealthBody.message_id == message_id))
            record_audit(uow.session, actor, action=REVEALED, subject_type="support_message",
                         subject_id=str(message_id), at=clock.now(),
                         details={"conversationId": str(message.conversation_id), "reason": reason[:500]})
        return body or ""


def reply_as_admin(actor: Actor, conversation_id: uuid.UUID, body: str, *, close: bool = False) -> uuid.UUID:
    """The care team answers (issue 25): the conversation waits on the user (or is closed), and the
    user gets the answer by email with a link back to the conversation (guests: to the contact
    form), once per message."""
    _require_admin(actor)
    body, now = _body(body), clock.now()
    with unit_of_work(actor) as uow:
        c = uow.session.get(SupportConversation, conversation_id, with_for_update=True)
        if c is None:
            raise NotFound(N_("No such conversation."))
        message = _add_message(uow, c, actor, "admin", body, now)
        c.status, c.due_at, c.updated_at = ("closed" if close else "waiting_on_you"), None, now
        with acting_as_system(uow):
            _email_reply(uow, c, body, message.id)
        return message.id


def set_status(actor: Actor, conversation_id: uuid.UUID, status: str) -> None:
    """An admin closes a conversation (or takes it up as `open`, no due time)."""
    _require_admin(actor)
    if status not in ("open", "closed"):
        raise _invalid("status", N_("Choose open or closed."))
    with unit_of_work(actor) as uow:
        c = uow.session.get(SupportConversation, conversation_id, with_for_update=True)
        if c is None:
            raise NotFound(N_("No such conversation."))
        c.status, c.due_at, c.updated_at = status, None, clock.now()


def _email_reply(uow: UnitOfWork, c: SupportConversation, body: str, message_id: uuid.UUID) -> None:
    base = config.current().public_base_url
    if c.user_id is not None:
        user = uow.session.get(User, c.user_id)
        if user is None or not user.is_active:
            return
        to, name, lang = user.email, user.full_name, language_of(user.locale)
        link = f"{base}/support/{c.id}"
    else:
        to, name, lang, link = c.guest_email, c.guest_name, "en", f"{base}/contact"
    # The answer is ours (no health details of the user's); it is the email's point to carry it.
    rendered = render("support_reply", lang, person_name=name or "", topic=c.subject, answer=body, link=link,
                      guest=c.user_id is None)
    queue_once(uow, Outgoing("email", to, rendered.text, rendered.subject, rendered.html),
               f"support-reply:{message_id}")
