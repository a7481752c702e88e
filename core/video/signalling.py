"""Signalling for the WebRTC room (SPEC §16): the offer, the answer, ICE candidates and "bye" move
between the consultation's two participants through Redis, never through a third party.

- One list per visit and recipient (`visit:<id>:inbox:<role>`): the sender appends, the recipient
  reads in order from a cursor (the index of the next message), so a poll never loses or repeats
  a message. Every key expires one hour after the window closes (start + 30 min + 1 h).
- Limits: a message is at most 16 KiB of JSON; a participant sends at most 200 per visit (an ICE
  gathering sends a dozen candidates; 200 covers many reconnections, not a flood).
- One tab per person: joining claims the visit for a tab id (`visit:<id>:tab:<role>`); a newer tab
  of the same person takes over and the older tab's next call is refused (409 ERR_ROOM_TAKEN_OVER),
  so it can say "you joined from another tab". A third *person* never gets here: only the two
  participants pass `core.video.participants` (403/404).
- The messages are opaque to the server and never logged.
- Delivery is short polling (a quick GET every 0.5 s while connecting, every 2 s once connected):
  each poll is one LRANGE, so a gunicorn sync worker is busy for about a millisecond, never pinned
  as it would be by a long poll or Server-Sent Events (bench/visit.py measures 20 rooms).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from core import clock
from core.errors import PayloadTooLarge, RoomTakenOver, SignalLimit, ValidationFailed
from core.i18n import N_

KINDS = ("hello", "offer", "answer", "candidate", "bye")
MAX_MESSAGE_BYTES = 16 * 1024
MAX_MESSAGES_PER_PARTICIPANT = 200
KEEP_AFTER_WINDOW = timedelta(hours=1)
PRESENCE_SECONDS = 10  # a participant who polled within this is "here"
SIDES = ("patient", "doctor")


def other_side(role: str) -> str:
    return "doctor" if role == "patient" else "patient"


def _key(visit: uuid.UUID, what: str, role: str) -> str:
    return f"visit:{visit}:{what}:{role}"


@dataclass(frozen=True)
class Inbox:
    messages: list[dict]
    cursor: int  # the index of the next message to read
    peer_here: bool  # the other side polled in the last PRESENCE_SECONDS


def expiry(closes_at: datetime) -> int:
    """Seconds until a visit's signalling keys expire: one hour after the window closes (a relative
    TTL, so it holds whatever Redis's own clock says; at least a minute)."""
    return max(60, int((closes_at + KEEP_AFTER_WINDOW - clock.now()).total_seconds()))


def claim(redis, visit: uuid.UUID, role: str, tab: str, closes_at: datetime) -> int:
    """This tab is now the participant's one tab in the room (an older tab is taken over). Returns
    the cursor to read from: messages sent to an earlier tab are not replayed to this one."""
    _check_tab_id(tab)
    pipe = redis.pipeline()
    pipe.set(_key(visit, "tab", role), tab)
    pipe.expire(_key(visit, "tab", role), expiry(closes_at))
    pipe.llen(_key(visit, "inbox", role))
    return int(pipe.execute()[-1])


def remember_member(redis, visit: uuid.UUID, user_id: uuid.UUID, role: str, closes_at: datetime) -> None:
    """After a join that passed the participant check (role + RLS), remember who this user is in the
    visit, so the polls that follow need no database round trip."""
    redis.set(_key(visit, "member", str(user_id)), f"{role}|{closes_at.isoformat()}", ex=expiry(closes_at))


def member(redis, visit: uuid.UUID, user_id: uuid.UUID) -> tuple[str, datetime] | None:
    raw = redis.get(_key(visit, "member", str(user_id)))
    if raw is None:
        return None
    role, closes = raw.decode().split("|", 1)
    return role, datetime.fromisoformat(closes)


def require_tab(redis, visit: uuid.UUID, role: str, tab: str) -> None:
    """ERR_ROOM_TAKEN_OVER unless `tab` is the participant's current tab."""
    current = redis.get(_key(visit, "tab", role))
    if current is None or current.decode() != tab:
        raise RoomTakenOver()


def send(redis, visit: uuid.UUID, sender: str, tab: str, kind: str, payload, closes_at: datetime) -> int:
    """Append one message for the other participant; returns how many this sender has sent.
    422 for an unknown kind, 413 beyond 16 KiB, 429 beyond 200 messages, 409 from a replaced tab."""
    if kind not in KINDS:
        raise ValidationFailed(f"kind must be one of: {', '.join(KINDS)}.")
    body = json.dumps({"kind": kind, "from": sender, "payload": payload}, separators=(",", ":"))
    if len(body.encode()) > MAX_MESSAGE_BYTES:
        raise PayloadTooLarge(N_("A signalling message is at most %(count)d bytes."),
                              params={"count": MAX_MESSAGE_BYTES})
    require_tab(redis, visit, sender, tab)
    sent_key, inbox = _key(visit, "sent", sender), _key(visit, "inbox", other_side(sender))
    count = int(redis.incr(sent_key))
    if count > MAX_MESSAGES_PER_PARTICIPANT:
        raise SignalLimit(N_("At most %(count)d signalling messages per participant and consultation."),
                          params={"count": MAX_MESSAGES_PER_PARTICIPANT})
    until = expiry(closes_at)
    pipe = redis.pipeline()
    pipe.rpush(inbox, body)
    pipe.expire(inbox, until)
    pipe.expire(sent_key, until)
    pipe.execute()
    return count


def receive(redis, visit: uuid.UUID, role: str, tab: str, cursor: int, closes_at: datetime) -> Inbox:
    """The messages for `role` from `cursor` on, in order; marks the participant present."""
    if cursor < 0:
        raise ValidationFailed(N_("cursor must be ≥ 0."))
    require_tab(redis, visit, role, tab)
    pipe = redis.pipeline()
    pipe.lrange(_key(visit, "inbox", role), cursor, -1)
    pipe.set(_key(visit, "here", role), "1", ex=PRESENCE_SECONDS)
    pipe.exists(_key(visit, "here", other_side(role)))
    raw, _, peer = pipe.execute()
    messages = [json.loads(m) for m in raw]
    return Inbox(messages, cursor + len(messages), bool(peer))


def is_here(redis, visit: uuid.UUID, role: str) -> bool:
    return bool(redis.exists(_key(visit, "here", role)))


def mark_here(redis, visit: uuid.UUID, role: str) -> None:
    redis.set(_key(visit, "here", role), "1", ex=PRESENCE_SECONDS)


def mark_gone(redis, visit: uuid.UUID, role: str) -> None:
    redis.delete(_key(visit, "here", role))


def _check_tab_id(tab: str) -> None:
    if not (8 <= len(tab) <= 64 and tab.replace("-", "").isalnum()):
        raise ValidationFailed(N_("tab must be 8–64 letters, digits or dashes."))
