"""The doctor's upcoming consultations as Dash components (SPEC §9; issue 8): patient, time, status
chip, the pulsing "Join live" in the join window, and Join · Complete · Cancel. Plain functions over
`core.booking.doctor_agenda.UpcomingItem`."""

from __future__ import annotations

import zlib
from datetime import date, datetime
from zoneinfo import ZoneInfo

from dash import html

from core.booking.doctor_agenda import UpcomingItem
from core.booking.policy import RefundOutcome
from core.video.presence import READINESS_WORDS
from portals.doctor.documents_panel import open_button
from portals.doctor.panels import status_chip
from portals.i18n import _, day, day_name
from portals.web.formatting import money

LIST = "doctor-upcoming"
SIG = "doctor-upcoming-sig"
STATUS = "doctor-upcoming-status"
COMPLETE = "doctor-complete"  # pattern {"type": COMPLETE, "id": <appointment id>}
CANCEL = "doctor-cancel"  # pattern {"type": CANCEL, "id": <appointment id>}


def when_label(start: datetime, tz: ZoneInfo, today: date) -> str:
    """`Today, 09:00` / `Thu 3 Dec, 09:00` in the viewer's language (Babel), 24 h clock."""
    local = start.astimezone(tz)
    if local.date() == today:
        return _("Today, %(time)s", time=local.strftime("%H:%M"))
    return _("%(day)s, %(time)s", day=day(local.date(), "EEE d MMM"), time=local.strftime("%H:%M"))


def join_control(item: UpcomingItem, tz: ZoneInfo, now: datetime):
    """The pulsing "Join live" link while the window is open (SPEC §9); in the window without a
    device test passed in the last 24 hours, the way to the test instead (SPEC §10)."""
    who = dict(name=item.patient_name, time=f"{item.start.astimezone(tz):%H:%M}")
    if item.join_open and item.join_refusal is None:
        return html.A(_("Join live"), href=f"/visit/{item.id}", className="dk-btn dk-join is-live",
                      **{"aria-label": _("Join live: consultation with %(name)s at %(time)s", **who)})
    if item.join_open:
        # The room page runs the device test in place: the doctor stays in the consultation's page.
        return html.A(_("Test devices to join"), href=f"/visit/{item.id}", className="dk-btn dk-join is-live",
                      title=_(item.join_refusal),
                      **{"aria-label": _("Test devices to join the consultation with %(name)s at %(time)s", **who)})
    if item.status in ("paid", "confirmed") and now < item.join_opens_at:
        # The waiting room is open at any time (SPEC §16); the call from the window on.
        opens = f"{item.join_opens_at.astimezone(tz):%H:%M}"
        return html.A(_("Join from %(time)s", time=opens), href=f"/visit/{item.id}", className="dk-join-later",
                      **{"aria-label": _("Waiting room: consultation with %(name)s at %(time)s, the call opens at "
                                         "%(opens)s", opens=opens, **who)})
    return None


def presence_label(item: UpcomingItem, tz: ZoneInfo) -> str | None:
    """"waiting since 10:02 · devices ready" (SPEC §16), or None while the patient is not there."""
    if item.patient_presence == "away" or item.patient_since is None:
        return None
    since = f"{item.patient_since.astimezone(tz):%H:%M}"
    words = READINESS_WORDS.get(item.patient_readiness)
    ready = _(words) if words else item.patient_readiness
    if item.patient_presence == "in_room":
        return _("in the room since %(time)s · %(ready)s", time=since, ready=ready)
    return _("waiting since %(time)s · %(ready)s", time=since, ready=ready)


def item_signature(items: list[UpcomingItem], now: datetime) -> str:
    """Changes when anything shown changes (the join window included), so a refresh without a change
    sends nothing and the list never flickers."""
    raw = "|".join(f"{i.id}:{i.status}:{i.join_open}:{i.join_refusal}:{i.can_complete}:{i.can_cancel}:"
                   f"{i.start.isoformat()}:{i.refund}:{i.patient_presence}:{i.patient_since}:{i.patient_readiness}"
                   for i in items)
    return format(zlib.crc32(raw.encode()), "08x")


def upcoming_list(items: list[UpcomingItem], tz: ZoneInfo, now: datetime):
    if not items:
        return html.P(_("No upcoming consultations."), className="dk-muted", id="doctor-upcoming-empty")
    today = now.astimezone(tz).date()
    rows = []
    for item in items:
        at = item.start.astimezone(tz)
        who = _("%(name)s at %(time)s", name=item.patient_name, time=at.strftime("%H:%M"))
        actions = [
            html.Button(_("Complete"), id={"type": COMPLETE, "id": str(item.id)}, type="button",
                        className="dk-btn dk-btn--ghost dk-btn--small", disabled=not item.can_complete,
                        title=_(item.completion_refusal) if item.completion_refusal else "",
                        **{"aria-label": _("Complete: consultation with %(who)s", who=who)}),
            html.Button(_("Cancel"), id={"type": CANCEL, "id": str(item.id)}, type="button",
                        className="dk-btn dk-btn--danger dk-btn--small", disabled=not item.can_cancel,
                        **{"aria-label": _("Cancel: consultation with %(who)s", who=who)}),
        ]
        # Notes and documents from the opening of the join window on: during the visit (SPEC §18).
        actions.append(open_button(item.id, who, disabled=now < item.join_opens_at))
        join = join_control(item, tz, now)
        rows.append(html.Li([
            html.Div([
                html.Strong(when_label(item.start, tz, today), className="dk-upcoming__when"),
                html.Span(item.patient_name, className="dk-upcoming__who"),
                status_chip(item.status),
                *([html.Span(label, className="dk-upcoming__presence", **{"data-presence": item.patient_presence})]
                  if (label := presence_label(item, tz)) else []),
            ], className="dk-upcoming__info"),
            html.Div([*([join] if join is not None else []), *actions], className="dk-upcoming__actions"),
        ], className="dk-upcoming__item" + (" is-live" if item.join_open else "")))
    return html.Ol(rows, className="dk-upcoming", **{"aria-label": _("Your next consultations")})


def refund_sentence(patient: str, refund: RefundOutcome | None) -> str:
    """The consequence of the doctor's cancellation, stated before confirming (SPEC §5)."""
    if refund is None or (refund.refund_cents == refund.credit_cents == refund.late_credit_cents == 0):
        return _("Nothing was paid for this booking, so nothing is refunded. The time becomes free again.")
    card, credit = refund.refund_cents, refund.credit_cents
    if card and credit:
        sentence = _("%(name)s gets a full refund: %(card)s back to their card and %(credit)s back as Doktu credit.",
                     name=patient, card=money(card), credit=money(credit))
    elif card:
        sentence = _("%(name)s gets a full refund: %(card)s back to their card.", name=patient, card=money(card))
    elif credit:
        sentence = _("%(name)s gets a full refund: %(credit)s back as Doktu credit.", name=patient,
                     credit=money(credit))
    else:
        sentence = _("%(name)s gets a full refund.", name=patient)
    if refund.late_credit_cents:
        sentence += " " + _("Because you cancel less than 60 minutes before the start, they also get a "
                            "%(amount)s credit.", amount=money(refund.late_credit_cents))
    return sentence


def cancel_dialog_body(item: UpcomingItem, tz: ZoneInfo) -> list:
    at = item.start.astimezone(tz)
    return [
        html.P(_("Cancel the consultation with %(name)s on %(when)s?", name=item.patient_name,
                 when=_("%(day)s at %(time)s", day=day_name(at.date()), time=at.strftime("%H:%M")))),
        html.P(refund_sentence(item.patient_name, item.refund), id="doctor-cancel-consequence",
               className="dk-cancel-consequence"),
    ]


def cancelled_message(patient: str, refund: RefundOutcome) -> str:
    return _("Cancelled. %(consequence)s", consequence=refund_sentence(patient, refund))
