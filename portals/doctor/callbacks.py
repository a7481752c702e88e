"""What the doctor portal's Dash callbacks do, as plain functions (issue 8).

Each takes the callback's inputs plus the acting doctor (`Actor`) and returns the callback's
outputs; `dash_app.py` only wires them to component ids. They call one core service each and turn
its answer — or its DomainError — into components, a `dash.Patch` or a message, so they are tested
as functions (tests/unit/doctor_portal) without a browser or a database.
"""

from __future__ import annotations

import contextlib
import uuid
from datetime import date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dash import Patch, no_update

from core import clock, runtime
from core.actor import Actor
from core.booking import changes, completion, doctor_agenda
from core.doctors import calendar_feed, patient_records
from core.doctors import settings as doctor_settings
from core.documents import issuing
from core.errors import DomainError, ValidationFailed
from core.i18n import N_
from core.messaging import messages
from core.scheduling import doctor_calendar, doctor_slots, weekly
from core.scheduling.engine import DEFAULT_TEMPLATE
from core.video import presence
from core.walkin import queue as walkin_queue
from portals.doctor import calendar_view as cv
from portals.doctor import panels
from portals.doctor import upcoming_view as uv
from portals.i18n import _, ngettext, refusal_text

DEFAULT_HOURS = f"{DEFAULT_TEMPLATE.day_start:%H:%M}–{DEFAULT_TEMPLATE.day_end:%H:%M}"


def _why(refused: Exception, fallback: str) -> str:
    """A refusal in the doctor's language; a ValueError (a forged id) says `fallback`."""
    return refusal_text(refused) if isinstance(refused, DomainError) else fallback


def today_for(timezone: str, now: datetime | None = None) -> date:
    return (now or clock.now()).astimezone(ZoneInfo(timezone)).date()


def new_version() -> str:
    """A value that differs from the last one: stores that trigger a re-read."""
    return uuid.uuid4().hex


def client_uuid(value) -> uuid.UUID:
    """An id the page sent back (a button's id, a dialog's target): a forged one is refused as a
    DomainError, which the portal's on_error shows, instead of a crash."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ValidationFailed(N_("That item could not be found. Please reload the page.")) from None


# --- calendar ------------------------------------------------------------------------------------

def navigate(triggered: str | None, view_value: str | None, nav: dict | None, open_day: dict | None,
             today: date) -> tuple[dict, str]:
    """The view switch, Previous / Today / Next, and a Month day pressed → the new {view, anchor}."""
    view, anchor = cv.parse_nav(nav, today)
    if triggered == "doctor-cal-view" and view_value in cv.VIEWS:
        view = view_value
    elif triggered == "doctor-cal-prev":
        anchor = cv.shift_anchor(view, anchor, -1)
    elif triggered == "doctor-cal-next":
        anchor = cv.shift_anchor(view, anchor, +1)
    elif triggered == "doctor-cal-today":
        anchor = today
    elif triggered == cv.OPEN_DAY and isinstance(open_day, dict):
        with contextlib.suppress(TypeError, ValueError):
            anchor, view = date.fromisoformat(open_day.get("day", "")), "day"
    return {"view": view, "anchor": anchor.isoformat()}, view


def page_zone(page: dict | None) -> str | None:
    """The doctor's time zone as the page holds it (set by the layout and by Settings → Save), so a
    callback does not read the profile again; None when the page sent something else."""
    zone = page.get("zone") if isinstance(page, dict) else None
    if not isinstance(zone, str):
        return None
    try:
        return ZoneInfo(zone).key
    except (ValueError, ZoneInfoNotFoundError):
        return None


def _zone_of(actor: Actor, page: dict | None) -> str:
    return page_zone(page) or doctor_slots.doctor_profile(actor).timezone


def calendar_grid(actor: Actor, nav: dict | None, zone: str) -> tuple[cv.Grid | cv.MonthGrid, str, str]:
    """The grid `nav` asks for (one read), not yet in words; its title; the doctor's zone as read."""
    now = clock.now()
    view, anchor = cv.parse_nav(nav, today_for(zone, now))
    if view == "month":
        zone, summaries = doctor_calendar.month_overview(actor, anchor.year, anchor.month)
        today = today_for(zone, now)
        grid = cv.MonthGrid(anchor, summaries, cv.view_key(view, anchor, zone, today), today)
    else:
        days = cv.view_days(view, anchor)
        calendar = doctor_calendar.doctor_calendar(actor, days[0], len(days))
        zone, today = calendar.timezone, today_for(calendar.timezone, now)
        grid = cv.Grid(view, calendar, cv.view_key(view, anchor, zone, today), today)
    return grid, cv.view_title(view, anchor), zone


def calendar_data(actor: Actor, nav: dict | None, zone: str) -> tuple[dict, list[str], str, str]:
    """The grid `nav` asks for as data, its digests, its title and the doctor's zone as read."""
    grid, title, zone = calendar_grid(actor, nav, zone)
    return grid.data(), grid.digests(), title, zone


def refresh_calendar(actor: Actor, nav: dict | None, page: dict | None, digests: list | None) -> dict:
    """The calendar's refresh (a move, the 30 s tick, a change made elsewhere on the page): the
    grid whole when another grid is on the page, else a Patch of the entries that changed, else
    nothing. The digests come from the cells' fields, so a tick that finds nothing changed makes no
    words at all, and one that does makes only the changed entries. Named outputs: cells, digests,
    page, title."""
    grid, title, zone = calendar_grid(actor, nav, _zone_of(actor, page))
    sums = grid.digests()
    same_grid = isinstance(page, dict) and page.get("key") == grid.key
    changed = cv.changed_entries(sums, digests) if same_grid else None
    if changed is not None:
        if not changed:
            return {"cells": no_update, "digests": no_update, "page": no_update, "title": no_update}
        cells, patched = cv.entry_patches({i: (grid.entry(i), sums[i]) for i in changed})
        return {"cells": cells, "digests": patched, "page": no_update, "title": no_update}
    return {"cells": grid.data(), "digests": sums, "page": {"zone": zone, "key": grid.key}, "title": title}


def press_cell(actor: Actor, press: dict | None, page: dict | None) -> dict:
    """A cell pressed (mouse, Enter or Space): turn it on or off in one transaction and patch that
    one entry. Named outputs: cells, digests, status."""
    nothing = {"cells": no_update, "digests": no_update, "status": no_update}
    key = page.get("key") if isinstance(page, dict) else None
    if not isinstance(press, dict) or not press.get("start") or not key or press.get("key") != key:
        return nothing  # a press on a grid that has since been replaced
    state = press.get("state")
    if state not in (doctor_calendar.AVAILABLE, doctor_calendar.UNAVAILABLE):
        return nothing
    try:
        start = datetime.fromisoformat(press["start"])
        index = cv.cell_index(press.get("rc"), 1 if str(key).startswith("day:") else 7)
    except (TypeError, ValueError):
        return {**nothing, "status": _("That time could not be read. Please reload the page.")}
    pressed = doctor_calendar.press_cell(actor, start, turn_on=state == doctor_calendar.UNAVAILABLE)
    message = refusal_text(pressed.refused) if pressed.refused else cv.press_message(pressed.cell)
    labels = cv.Labels()
    cells, sums = cv.entry_patches({index: (labels.entry(pressed.cell),
                                            cv.cell_digest(pressed.cell, labels.language))})
    return {"cells": cells, "digests": sums, "status": message}


def _parse_time(value: str | None, message: str) -> time:
    if value == "24:00":
        return time(0)
    try:
        return time.fromisoformat(value or "")
    except (TypeError, ValueError):  # TypeError: a forged non-text value
        raise ValidationFailed(message) from None


def _parse_day(value: str | None, message: str) -> date:
    try:
        return date.fromisoformat(value or "")
    except (TypeError, ValueError):  # TypeError: a forged non-text value
        raise ValidationFailed(message) from None


def _weekdays(value) -> set[int]:
    """The checklist's weekdays (0 = Monday … 6 = Sunday); anything else was not sent by the page."""
    if value is None:
        return set()
    if not isinstance(value, list) or not all(isinstance(w, int) and not isinstance(w, bool) for w in value):
        raise ValidationFailed(N_("Choose the weekdays."))
    return set(value)


def apply_range(actor: Actor, turn_on: bool, first: str | None, last: str | None, start: str | None,
                end: str | None, weekdays: list | None) -> tuple[str | object, str]:
    """Bulk: days and hours on or off. Returns (calendar version, message)."""
    try:
        first_day = _parse_day(first, N_("Choose the first day."))
        last_day = _parse_day(last or first, N_("Choose the last day."))
        result = doctor_calendar.set_range(
            actor, first_day=first_day, last_day=last_day, start_time=_parse_time(start, N_("Choose the start time.")),
            end_time=_parse_time(end, N_("Choose the end time.")), weekdays=_weekdays(weekdays), turn_on=turn_on)
    except DomainError as refused:
        return no_update, refusal_text(refused)
    done = result.created + result.updated
    if turn_on:
        message = ngettext("Turned on %(num)d half-hour slot.", "Turned on %(num)d half-hour slots.", done)
    else:
        message = ngettext("Turned off %(num)d half-hour slot.", "Turned off %(num)d half-hour slots.", done)
    if result.skipped:
        message += " " + ngettext("%(num)d left as it was (past, booked, held or overlapping).",
                                  "%(num)d left as they were (past, booked, held or overlapping).",
                                  len(result.skipped))
    return new_version(), message


def set_online(actor: Actor, online: bool) -> tuple[str, bool]:
    """Online/Offline (the same state as PATCH /api/doctor/status). Returns (status text, whether
    the offline note is hidden)."""
    profile = doctor_slots.set_online(actor, bool(online))
    return online_status(profile.online), profile.online


def online_status(online: bool) -> str:
    if online:
        return _("Online: patients can book your open times.")
    return _("Offline: patients see none of your times until you go online again.")


# --- see a doctor now (SPEC §17) -------------------------------------------------------------------

def set_taking_now(actor: Actor, taking: bool) -> tuple[bool, str, bool]:
    """The "Taking consultations now" switch: (its value, the queue line, Accept disabled)."""
    value = walkin_queue.set_taking_now(actor, bool(taking))
    return (value, *walkin_panel(actor))


def walkin_panel(actor: Actor, queue: walkin_queue.DoctorQueue | None = None) -> tuple[str, bool]:
    """(the queue line, Accept disabled): "Next patient: waiting 1 min · devices ready"; `queue` when
    the caller has just read it."""
    q = queue or walkin_queue.doctor_queue(actor)
    if not q.online:
        return _("Go online to take consultations now."), True
    if not q.taking_now:
        return _("Switch on “Taking consultations now” to be offered patients who want a doctor now."), True
    if not q.free:
        return _("You have a consultation within 45 minutes: no patient is offered until it is over."), True
    n = q.next_patient
    if n is None:
        return _("Nobody is waiting. Patients who ask to see a doctor now appear here."), True
    minutes = max(1, n.waiting_seconds // 60) if n.waiting_seconds >= 60 else 0
    waited = _("waiting %(minutes)d min", minutes=minutes) if minutes else _("waiting less than a minute")
    ready = _(presence.READINESS_WORDS[n.readiness])
    if n.queue_length > 1:
        return _("Next patient: %(waited)s · %(ready)s · %(others)d more waiting", waited=waited, ready=ready,
                 others=n.queue_length - 1), False
    return _("Next patient: %(waited)s · %(ready)s", waited=waited, ready=ready), False


def accept_walkin(actor: Actor) -> tuple[object, str]:
    """Accept: (the room to open, or no_update; the message). Another doctor may have been faster:
    then the next patient, or nobody."""
    try:
        accepted = walkin_queue.accept_next(actor)
    except DomainError as exc:
        return no_update, refusal_text(exc)
    if accepted is None:
        return no_update, _("Nobody is waiting any more: another doctor accepted first.")
    return f"/visit/{accepted.appointment_id}", _("Patient accepted: opening the consultation room…")


# --- upcoming ------------------------------------------------------------------------------------

def refresh_upcoming(actor: Actor, sig: str | None, page: dict | None = None, *, force: bool = False):
    """(list, signature): nothing goes back when nothing changed, so the refresh never flickers."""
    now = clock.now()
    items = doctor_agenda.doctor_upcoming(actor)
    new_sig = uv.item_signature(items, now)
    if new_sig == sig and not force:
        return no_update, no_update
    return uv.upcoming_list(items, ZoneInfo(_zone_of(actor, page)), now), new_sig


def complete_appointment(actor: Actor, appointment_id: str, page: dict | None = None) -> tuple[str | object, str]:
    """Complete pressed. Returns (upcoming version, message)."""
    try:
        done = completion.complete(actor, client_uuid(appointment_id))
    except (DomainError, ValueError) as refused:
        return no_update, _why(refused, _("No such appointment."))
    at = done.completed_at.astimezone(ZoneInfo(_zone_of(actor, page)))
    return new_version(), _("Marked completed at %(time)s.", time=at.strftime("%H:%M"))


def _find_upcoming(actor: Actor, appointment_id: str) -> doctor_agenda.UpcomingItem | None:
    return next((i for i in doctor_agenda.doctor_upcoming(actor) if str(i.id) == appointment_id), None)


def open_cancel(actor: Actor, appointment_id: str, page: dict | None = None):
    """Cancel pressed: the dialog with the refund consequence. Returns (is_open, body, target)."""
    item = _find_upcoming(actor, appointment_id)
    if item is None or not item.can_cancel:
        return False, no_update, None
    return True, uv.cancel_dialog_body(item, ZoneInfo(_zone_of(actor, page))), str(item.id)


def confirm_cancel(actor: Actor, target: str | None, reason: str | None):
    """Returns (dialog open, reason invalid, feedback, upcoming message, changed version)."""
    if not target:
        return False, False, "", no_update, no_update
    if not isinstance(reason, str) or not reason.strip():
        return True, True, _("Please give the patient a reason."), no_update, no_update
    item = _find_upcoming(actor, target)
    name = item.patient_name if item else _("The patient")
    try:
        done = changes.cancel(actor, client_uuid(target), reason)
    except DomainError as refused:
        return True, False, refusal_text(refused), no_update, no_update
    return False, False, "", uv.cancelled_message(name, done.refund), new_version()


# --- quick actions -------------------------------------------------------------------------------

def toggle_schedule(clicks: int | None) -> tuple[bool, str, str]:
    """View schedule: (section hidden, aria-expanded, button text). Shown at first."""
    hidden = bool(clicks) and clicks % 2 == 1
    return hidden, "false" if hidden else "true", _("View schedule") if hidden else _("Hide schedule")


def open_records(actor: Actor, page: dict | None = None, *, query: str | None = None, at: int = 0) -> dict:
    """The records dialog's list: page `at` of the patients matching `query`, with its pager's
    state (named outputs of the records callback)."""
    tz = ZoneInfo(_zone_of(actor, page))
    shown = patient_records.page_of_patients(patient_records.list_patients(actor), query, at)
    return {"list": panels.records_table(shown.patients, tz, today_for(tz.key), query=query),
            "status": panels.records_status(shown), "pager_hidden": shown.single,
            "previous_disabled": not shown.has_previous, "next_disabled": not shown.has_next, "at": shown.number}


def open_record(actor: Actor, patient_id: str, page: dict | None = None):
    tz = ZoneInfo(_zone_of(actor, page))
    try:
        record = patient_records.view_patient_record(actor, uuid.UUID(str(patient_id)))
    except (DomainError, ValueError) as refused:
        return panels.settings_alert(_why(refused, _("No such patient.")), ok=False)
    documents = issuing.list_documents(actor, patient_id=record.patient_id)
    return panels.record_detail(record, tz, today_for(tz.key), documents=documents)


def load_settings(actor: Actor) -> tuple[str, str, str]:
    s = doctor_settings.get_settings(actor)
    return s.timezone, s.bio, s.philosophy


def save_settings(actor: Actor, timezone: str | None, bio: str | None, philosophy: str | None) -> dict:
    """Named outputs: feedback, zone_label, page (a Patch: the page's zone), changed (a new version:
    the calendar and the list re-read in the new zone)."""
    try:
        saved = doctor_settings.update_settings(actor, timezone=timezone or "", bio=bio, philosophy=philosophy)
    except DomainError as refused:
        return {"feedback": panels.settings_alert(refusal_text(refused), ok=False), "zone_label": no_update,
                "page": no_update, "changed": no_update}
    page = Patch()
    page["zone"] = saved.timezone
    return {"feedback": panels.settings_alert(_("Saved."), ok=True),
            "zone_label": _("Times in %(zone)s", zone=cv.zone_label(saved.timezone, clock.now())), "page": page,
            "changed": new_version()}


def load_weekly_hours(actor: Actor) -> list[str]:
    week, _own = doctor_settings.get_weekly_hours(actor)
    return [weekly.day_text(week, i) for i in range(7)]


def save_weekly_hours(actor: Actor, days: list | None):
    """Weekly hours from the Settings form (None: back to the default). Returns (feedback,
    calendar version, the seven fields as saved)."""
    try:
        raw = None if days is None else {
            key: weekly.parse_day_text(text, label)
            for key, label, text in zip(weekly.WEEKDAYS, weekly.WEEKDAY_LABELS, days, strict=True)}
        week, own = doctor_settings.set_weekly_hours(actor, raw)
    except DomainError as refused:
        return (panels.settings_alert(refusal_text(refused), ok=False), no_update, *([no_update] * 7))
    message = (_("Saved: patients can book you in these hours from now on.") if own
               else _("Back to the default hours (%(hours)s every day).", hours=DEFAULT_HOURS))
    return (panels.settings_alert(message, ok=True), new_version(), *(weekly.day_text(week, i) for i in range(7)))


def load_cal_bridge(actor: Actor):
    bridge = doctor_settings.get_cal_bridge(actor)
    return (["on"] if bridge.enabled else []), (str(bridge.schedule_id) if bridge.schedule_id else ""), None


def save_cal_bridge(actor: Actor, enabled: bool, schedule: str | None):
    """(switch value, schedule id, feedback)."""
    try:
        bridge = doctor_settings.set_cal_bridge(actor, enabled=enabled, schedule_id=schedule)
    except DomainError as refused:
        return no_update, no_update, panels.settings_alert(refusal_text(refused), ok=False)
    message = (_("On: your Cal.com busy times block bookings from the next sync (within 5 minutes).")
               if bridge.enabled else _("Off: your Cal.com busy times no longer block bookings."))
    return (["on"] if bridge.enabled else []), (str(bridge.schedule_id) if bridge.schedule_id else ""), \
        panels.settings_alert(message, ok=True)


def feed_url(actor: Actor, *, rotate: bool = False):
    """(the private feed's full address, feedback) — a new address when `rotate`."""
    settings = runtime.current().settings
    if rotate:
        path = calendar_feed.rotate_feed(actor, settings.secret_key)
        message = panels.settings_alert(_("New address made: the old one no longer works. Subscribe again with "
                                          "this one."), ok=True)
    else:
        path, message = calendar_feed.own_feed_path(actor, settings.secret_key), None
    return settings.public_base_url.rstrip("/") + path, message


# --- messages ------------------------------------------------------------------------------------

def open_messages(actor: Actor, selected: str | None, query: str | None = None):
    return panels.conversation_list(messages.conversations(actor), selected, query)


def show_conversation(actor: Actor, user_id: str, page: dict | None = None, query: str | None = None):
    """Returns (thread, selected user id, conversation list, header button children)."""
    try:
        conversation = messages.read_conversation(actor, client_uuid(user_id))
    except (DomainError, ValueError) as refused:
        return panels.settings_alert(_why(refused, _("No such conversation.")), ok=False), None, \
            no_update, no_update
    tz = ZoneInfo(_zone_of(actor, page))
    return (panels.conversation_thread(conversation, tz), user_id,
            panels.conversation_list(messages.conversations(actor), user_id, query),
            panels.unread_badge(messages.unread_count(actor)))


def send(actor: Actor, user_id: str | None, body: str | None, page: dict | None = None,
         query: str | None = None):
    """Returns (thread, message box value, feedback, conversation list): the list shows the message
    just sent as the conversation's last (issue 24: it said "No messages yet")."""
    if not user_id:
        return no_update, no_update, _("Choose a conversation first."), no_update
    try:
        messages.send_message(actor, client_uuid(user_id), body if isinstance(body, str) else "")
        conversation = messages.read_conversation(actor, client_uuid(user_id))
    except (DomainError, ValueError) as refused:
        return no_update, no_update, _why(refused, _("No such conversation.")), no_update
    return (panels.conversation_thread(conversation, ZoneInfo(_zone_of(actor, page))), "", _("Sent."),
            panels.conversation_list(messages.conversations(actor), user_id, query))


def unread_button(actor: Actor):
    return panels.unread_badge(messages.unread_count(actor))
