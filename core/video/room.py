"""The consultation room with `VIDEO_PROVIDER=webrtc` (SPEC §16): what `/visit/<id>` shows, entering
the waiting room, joining the call, signalling, leaving.

Only the appointment's patient and doctor get here (`core.video.participants`: another patient
or doctor reads 404 through row-level security, an admin 403). The waiting room is open to them at
any time; the call only in the join window (5 min before → 30 min after the start) with a fresh
device test (`core.video.policy.check_join`). Each transition writes a `visit_events` row.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, select

from core import clock, funnel, runtime
from core.actor import Actor
from core.booking import lifecycle
from core.db import unit_of_work
from core.errors import ValidationFailed
from core.i18n import N_
from core.models import Appointment, Patient, User, VisitEvent
from core.video import ice, policy, presence, signalling
from core.video.participants import participation
from core.video.readiness import latest_test


def _redis():
    """Signalling and presence live in the runtime's Redis."""
    return runtime.current().redis


@dataclass(frozen=True)
class IceConfig:
    stun_urls: tuple[str, ...] = ()
    turn_urls: tuple[str, ...] = ()
    turn_secret: str | None = None


@dataclass(frozen=True)
class RoomView:
    appointment_id: uuid.UUID
    role: str  # patient | doctor
    my_name: str
    peer_name: str
    start_at: datetime
    opens_at: datetime
    closes_at: datetime
    now: datetime
    phase: str  # waiting | open | closed | over (cancelled, completed, missed, unpaid)
    status: str
    readiness: str  # ready | audio_only | failed | not_tested (mine)
    join_refusal: str | None  # why joining is refused now, in the window; None = it may join
    peer_state: str  # away | waiting | in_room
    peer_since: datetime | None
    peer_here: bool  # the peer's page polled in the last seconds


@dataclass(frozen=True)
class Joined:
    appointment_id: uuid.UUID
    role: str
    cursor: int
    ice_servers: list[dict]
    closes_at: datetime
    rejoined: bool


def phase_of(status: str, now: datetime, start: datetime) -> str:
    """waiting before the window, open in it, closed after it; over if not booked any more."""
    if not lifecycle.is_booked(status):
        return "over"
    opens, closes = policy.join_window(start)
    if now < opens:
        return "waiting"
    return "open" if now <= closes else "closed"


def room_view(actor: Actor, appointment_id: uuid.UUID) -> RoomView:
    """What the page shows now (SPEC §16): who, when, the phase, my device test, the other side."""
    now = clock.now()
    with unit_of_work(actor) as uow:
        s = uow.session
        part = participation(s, actor, appointment_id)
        patient_name = s.scalar(select(User.full_name).join(Patient, Patient.user_id == User.id)
                                .join(Appointment, Appointment.patient_id == Patient.id)
                                .where(Appointment.id == appointment_id)) or "your patient"
        test = latest_test(s, actor.user_id)
        events = presence.load(s, [appointment_id])[appointment_id]
    peer = signalling.other_side(part.role)
    summary = presence.summarise(events.get(peer, []))
    opens, closes = policy.join_window(part.start_at)
    refusal = policy.join_refusal(now=now, start=part.start_at, status=part.status, latest_test=test)
    return RoomView(
        appointment_id, part.role,
        my_name=part.doctor_name if part.role == "doctor" else patient_name,
        peer_name=part.doctor_name if part.role == "patient" else patient_name,
        start_at=part.start_at, opens_at=opens, closes_at=closes, now=now,
        phase=phase_of(part.status, now, part.start_at), status=part.status,
        readiness=presence.readiness(test, now),
        join_refusal=refusal.message if refusal is not None else None,
        peer_state=summary.state, peer_since=summary.since,
        peer_here=signalling.is_here(_redis(), appointment_id, peer))


def enter_waiting_room(actor: Actor, appointment_id: uuid.UUID) -> RoomView:
    """The participant opened the page: `waiting` is written on the transition (not on every poll),
    so the doctor's list can say "waiting since 10:02" (SPEC §16)."""
    now = clock.now()
    with unit_of_work(actor) as uow:
        s = uow.session
        part = participation(s, actor, appointment_id)
        if lifecycle.is_booked(part.status) and now <= policy.join_window(part.start_at)[1]:
            mine = presence.load(s, [appointment_id])[appointment_id].get(part.role, [])
            if presence.summarise(mine).state == "away":
                presence.record(s, appointment_id, actor.user_id, part.role, "waiting", now)
    signalling.mark_here(_redis(), appointment_id, part.role)
    return room_view(actor, appointment_id)


def join_call(actor: Actor, appointment_id: uuid.UUID, tab: str, ice_config: IceConfig) -> Joined:
    """Join the call (SPEC §16): in the window, with a fresh device test (ERR_TIME_WINDOW,
    ERR_VIDEO_TEST_REQUIRED, ERR_INVALID_STATE as for Zoom). This tab takes the room over from an
    older tab of the same person. Writes `joined` (or `reconnected` after an earlier join), the
    patient's funnel step `joined` once per consultation, and issues TURN credentials (2 h)."""
    now = clock.now()
    with unit_of_work(actor) as uow:
        s = uow.session
        part = participation(s, actor, appointment_id)
        policy.check_join(now=now, start=part.start_at, status=part.status, latest_test=latest_test(s, actor.user_id))
        rejoined = bool(s.scalar(select(exists().where(
            VisitEvent.appointment_id == appointment_id, VisitEvent.user_id == actor.user_id,
            VisitEvent.kind.in_(presence.IN_ROOM)))))
        presence.record(s, appointment_id, actor.user_id, part.role, "reconnected" if rejoined else "joined", now)
        if part.role == "patient" and not rejoined:
            funnel.record(s, "joined", user_id=actor.user_id, appointment_id=appointment_id)
    _, closes = policy.join_window(part.start_at)
    cursor = signalling.claim(_redis(), appointment_id, part.role, tab, closes)
    signalling.remember_member(_redis(), appointment_id, actor.user_id, part.role, closes)
    signalling.mark_here(_redis(), appointment_id, part.role)
    servers = ice.ice_servers(stun_urls=ice_config.stun_urls, turn_urls=ice_config.turn_urls,
                              turn_secret=ice_config.turn_secret, user_id=actor.user_id, now=now)
    return Joined(appointment_id, part.role, cursor, servers, closes, rejoined)


def _window(actor: Actor, appointment_id: uuid.UUID) -> tuple[str, datetime]:
    """The actor's side and the window's end: from Redis once they joined (the join checked them
    as a participant, with RLS), else from the database (which refuses non-participants)."""
    known = signalling.member(_redis(), appointment_id, actor.user_id) if actor.user_id else None
    if known is not None and known[0] == actor.role:
        return known
    with unit_of_work(actor) as uow:
        part = participation(uow.session, actor, appointment_id)
    return part.role, policy.join_window(part.start_at)[1]


def send_signal(actor: Actor, appointment_id: uuid.UUID, tab: str, kind: str, payload) -> int:
    """Pass one message to the other participant (SPEC §16 limits: 16 KiB, 200 per participant)."""
    role, closes = _window(actor, appointment_id)
    return signalling.send(_redis(), appointment_id, role, tab, kind, payload, closes)


def receive_signals(actor: Actor, appointment_id: uuid.UUID, tab: str, cursor: int) -> signalling.Inbox:
    """The other participant's messages from `cursor` on, in order (SPEC §16 signalling)."""
    role, closes = _window(actor, appointment_id)
    return signalling.receive(_redis(), appointment_id, role, tab, cursor, closes)


def leave_call(actor: Actor, appointment_id: uuid.UUID, tab: str, *, reason: str = "hangup") -> None:
    """Hang up or close the tab (SPEC §16): "bye" to the other side and a `left` event. A tab that
    was taken over leaves nothing (the person is still in the room, in their newer tab)."""
    if reason not in ("hangup", "closed", "ended"):
        raise ValidationFailed(N_("reason must be hangup, closed or ended."))
    role, closes = _window(actor, appointment_id)
    signalling.send(_redis(), appointment_id, role, tab, "bye", {"reason": reason}, closes)
    signalling.mark_gone(_redis(), appointment_id, role)
    with unit_of_work(actor) as uow:
        presence.record(uow.session, appointment_id, actor.user_id, role, "left", clock.now(), {"reason": reason})


def report_reconnected(actor: Actor, appointment_id: uuid.UUID, tab: str) -> None:
    """The call came back after "reconnecting…" (an ICE restart): a `reconnected` event (SPEC §16)."""
    role, _ = _window(actor, appointment_id)
    signalling.require_tab(_redis(), appointment_id, role, tab)
    with unit_of_work(actor) as uow:
        presence.record(uow.session, appointment_id, actor.user_id, role, "reconnected", clock.now())
