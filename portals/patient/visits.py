"""The consultation room's API with `VIDEO_PROVIDER=webrtc` (SPEC §16): presence, joining and
signalling under `/api/visits/<appointment id>/…`, for the appointment's two participants only.
Thin: the rules are core.video.room and core.video.signalling. Signalling bodies are never logged."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from flask import request
from flask_login import current_user
from pydantic import Field
from spectree import Response

from core import runtime
from core.video import room
from portals.api import ApiModel, ErrorEnvelope, api_route, to_json
from portals.patient import patient

PARTICIPANTS = ("patient", "doctor")
TAB = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9-]+$", description="this tab's random id")
ERRORS = dict(HTTP_401=ErrorEnvelope, HTTP_403=ErrorEnvelope, HTTP_404=ErrorEnvelope, HTTP_409=ErrorEnvelope,
              HTTP_422=ErrorEnvelope)


def ice_config() -> room.IceConfig:
    s = runtime.current().settings
    return room.IceConfig(stun_urls=s.stun_urls, turn_urls=s.turn_urls, turn_secret=s.turn_secret)


class RoomStateOut(ApiModel):
    appointment_id: uuid.UUID
    role: str = Field(description="patient | doctor: the caller's side")
    phase: str = Field(description="waiting (before the window) | open | closed (after it) | over (not booked)")
    status: str
    start_at: datetime
    opens_at: datetime
    closes_at: datetime
    now: datetime = Field(description="the server's clock, for the countdown")
    readiness: str = Field(description="the caller's device test: ready | audio_only | failed | not_tested")
    join_refusal: str | None = Field(description="why Join would be refused now; null = it would be accepted")
    peer_name: str
    peer_state: str = Field(description="away | waiting | in_room (from visit_events)")
    peer_since: datetime | None
    peer_here: bool = Field(description="the other side's page answered in the last 10 s")


def state_out(v: room.RoomView) -> RoomStateOut:
    return RoomStateOut.model_validate(v)


@api_route(patient.post("/api/visits/<uuid:appointment_id>/waiting"), role=PARTICIPANTS,
           resp=Response(HTTP_200=RoomStateOut, **ERRORS), tags=["video"])
def api_visit_waiting(appointment_id: uuid.UUID):
    """The participant is on the page (SPEC §16): writes `waiting` on the transition and answers
    the room's state. The page calls it on load and every few seconds until the call starts."""
    return to_json(state_out(room.enter_waiting_room(current_user.actor, appointment_id)))


@api_route(patient.get("/api/visits/<uuid:appointment_id>"), role=PARTICIPANTS,
           resp=Response(HTTP_200=RoomStateOut, **ERRORS), tags=["video"])
def api_visit_state(appointment_id: uuid.UUID):
    """The room's state for one participant (phase, countdown, the other side's presence)."""
    return to_json(state_out(room.room_view(current_user.actor, appointment_id)))


class JoinIn(ApiModel):
    tab: str = TAB


class IceServer(ApiModel):
    urls: list[str]
    username: str | None = None
    credential: str | None = None


class JoinedOut(ApiModel):
    role: str
    cursor: int = Field(description="read signals from here")
    ice_servers: list[IceServer] = Field(description="STUN_URLS, and TURN_URLS with 2-hour credentials")
    closes_at: datetime
    rejoined: bool


@api_route(patient.post("/api/visits/<uuid:appointment_id>/join"), role=PARTICIPANTS, json=JoinIn,
           resp=Response(HTTP_200=JoinedOut, **ERRORS), tags=["video"])
def api_visit_join(appointment_id: uuid.UUID):
    """Join the call from this tab (SPEC §16): 422 ERR_TIME_WINDOW outside the window, 409
    ERR_VIDEO_TEST_REQUIRED without a passed device test in 24 h, 409 ERR_INVALID_STATE unless
    booked. A newer tab of the same person takes over; the older one gets 409 ERR_ROOM_TAKEN_OVER."""
    body: JoinIn = request.context.json
    joined = room.join_call(current_user.actor, appointment_id, body.tab, ice_config())
    return to_json(JoinedOut(role=joined.role, cursor=joined.cursor,
                             ice_servers=[IceServer(**s) for s in joined.ice_servers],
                             closes_at=joined.closes_at, rejoined=joined.rejoined))


class SignalIn(ApiModel):
    tab: str = TAB
    kind: Literal["hello", "offer", "answer", "candidate", "bye"]
    payload: Any = Field(default=None, description="the SDP or the candidate; opaque to the server")


class SentOut(ApiModel):
    sent: int = Field(description="messages this participant has sent for this visit (at most 200)")


@api_route(patient.post("/api/visits/<uuid:appointment_id>/signals"), role=PARTICIPANTS, json=SignalIn,
           resp=Response(HTTP_201=SentOut, HTTP_413=ErrorEnvelope, HTTP_429=ErrorEnvelope, **ERRORS), tags=["video"])
def api_visit_send(appointment_id: uuid.UUID):
    """Send one signalling message to the other participant: ≤ 16 KiB (413), ≤ 200 per
    participant per visit (429 ERR_SIGNAL_LIMIT). Kept in Redis until an hour after the window."""
    body: SignalIn = request.context.json
    sent = room.send_signal(current_user.actor, appointment_id, body.tab, body.kind, body.payload)
    return to_json(SentOut(sent=sent), 201)


class SignalsQuery(ApiModel):
    tab: str = TAB
    cursor: int = Field(default=0, ge=0, le=100_000)


class Signal(ApiModel):
    kind: str
    sender: str = Field(alias="from")
    payload: Any = None


class SignalsOut(ApiModel):
    messages: list[Signal]
    cursor: int
    peer_here: bool


@api_route(patient.get("/api/visits/<uuid:appointment_id>/signals"), role=PARTICIPANTS, query=SignalsQuery,
           resp=Response(HTTP_200=SignalsOut, **ERRORS), tags=["video"])
def api_visit_receive(appointment_id: uuid.UUID):
    """The other participant's messages from `cursor` on, in order (short polling: answers at
    once, so no worker waits)."""
    q: SignalsQuery = request.context.query
    inbox = room.receive_signals(current_user.actor, appointment_id, q.tab, q.cursor)
    return to_json(SignalsOut(messages=[Signal(kind=m["kind"], sender=m["from"], payload=m.get("payload"))
                                        for m in inbox.messages], cursor=inbox.cursor, peer_here=inbox.peer_here))


class LeaveIn(ApiModel):
    tab: str = TAB
    reason: Literal["hangup", "closed", "ended"] = "hangup"


class PresenceIn(ApiModel):
    tab: str = TAB


@api_route(patient.post("/api/visits/<uuid:appointment_id>/leave"), role=PARTICIPANTS, json=LeaveIn,
           resp=Response("HTTP_204", **ERRORS), tags=["video"])
def api_visit_leave(appointment_id: uuid.UUID):
    """Hang up (or the tab closes): "bye" to the other side and a `left` event."""
    body: LeaveIn = request.context.json
    room.leave_call(current_user.actor, appointment_id, body.tab, reason=body.reason)
    return "", 204


@api_route(patient.post("/api/visits/<uuid:appointment_id>/reconnected"), role=PARTICIPANTS, json=PresenceIn,
           resp=Response("HTTP_204", **ERRORS), tags=["video"])
def api_visit_reconnected(appointment_id: uuid.UUID):
    """The call recovered after "reconnecting…": a `reconnected` event."""
    room.report_reconnected(current_user.actor, appointment_id, request.context.json.tab)
    return "", 204
