"""The doctor portal's dialogs as Dash components (SPEC §9; issue 8): patient records, settings and
messages. Plain functions over the core read models."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import dash_bootstrap_components as dbc
from dash import html

from core import clock, timezones
from core.accounts.profile import GENDERS
from core.doctors.patient_records import PatientRecord, PatientSummary
from core.messaging.messages import Conversation, ConversationSummary
from portals.doctor.documents_panel import open_button, patient_documents

RECORD_OPEN = "doctor-record-open"  # pattern {"type": RECORD_OPEN, "id": <patient id>}
CONVERSATION = "doctor-conversation"  # pattern {"type": CONVERSATION, "id": <user id>}
WRITABLE = ("paid", "confirmed", "completed")  # consultations a doctor writes documents for (SPEC §18)
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def short_when(moment: datetime | None, tz: ZoneInfo) -> str:
    if moment is None:
        return "—"
    local = moment.astimezone(tz)
    return f"{local.day} {local:%b %Y}, {local:%H:%M}"


# --- patient records -----------------------------------------------------------------------------

def born_label(born: date | None, today: date) -> str:
    return f"{born:%d/%m/%Y} ({age_on(born, today)})" if born else "Not given"


def records_table(patients: list[PatientSummary], tz: ZoneInfo, today: date | None = None):
    today = today or clock.now().astimezone(tz).date()
    if not patients:
        return html.P("No patients yet: patients appear here once they have booked a consultation with you.",
                      className="dk-muted")
    return html.Table([
        html.Caption("Patients you have seen or will see"),
        html.Thead(html.Tr([html.Th("Patient", scope="col"), html.Th("Born (age)", scope="col"),
                            html.Th("Email", scope="col"), html.Th("Consultations", scope="col"),
                            html.Th("Last seen", scope="col"), html.Th("Next", scope="col"),
                            html.Th(html.Span("Record", className="visually-hidden"), scope="col")])),
        html.Tbody([html.Tr([
            html.Th(p.name, scope="row"), html.Td(born_label(p.date_of_birth, today)), html.Td(p.email),
            html.Td(str(p.consultations)), html.Td(short_when(p.last_seen, tz)),
            html.Td(short_when(p.next_visit, tz)),
            html.Td(html.Button("Open record", id={"type": RECORD_OPEN, "id": str(p.patient_id)}, type="button",
                                className="dk-btn dk-btn--ghost dk-btn--small",
                                **{"aria-label": f"Open the record of {p.name}, born "
                                                 f"{born_label(p.date_of_birth, today)}, {p.email}"})),
        ]) for p in patients]),
    ], className="dk-table dk-records")


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _items(values: list[str]) -> html.Ul | html.Span:
    if not values:
        return html.Span("None recorded", className="dk-muted")
    return html.Ul([html.Li(v) for v in values], className="dk-record__list")


def _visit_item(v, tz: ZoneInfo, name: str):
    parts = [short_when(v.start, tz), " · ", html.Span(v.status, className=f"dk-chip dk-chip--{v.status}")]
    if v.status in WRITABLE:
        parts += [" ", open_button(v.id, f"{name}, {short_when(v.start, tz)}")]
    return html.Li(parts)


def record_detail(record: PatientRecord, tz: ZoneInfo, today: date, documents: list | None = None):
    born = (f"{record.date_of_birth.day} {record.date_of_birth:%B %Y} (age {age_on(record.date_of_birth, today)})"
            if record.date_of_birth else "Not given")
    return html.Section([
        html.H3(record.name, className="h5", id="doctor-record-title"),
        html.P("Health profile not completed yet." if not record.profile_completed else
               "Health profile as the patient entered it.", className="dk-muted"),
        html.Dl([
            html.Dt("Date of birth"), html.Dd(born),
            html.Dt("Gender"), html.Dd(GENDERS.get(record.gender or "", "Not given")),
            html.Dt("Primary conditions"), html.Dd(_items(record.primary_conditions)),
            html.Dt("Allergies"), html.Dd(_items(record.allergies)),
        ], className="dk-record__facts"),
        html.H4("Consultations with you", className="h6"),
        html.Ul([_visit_item(v, tz, record.name) for v in record.visits], className="dk-record__visits"),
        patient_documents(documents or [], tz),
        html.P("This view was recorded in the audit trail.", className="dk-muted small"),
    ], className="dk-record", **{"aria-labelledby": "doctor-record-title"})


# --- settings ------------------------------------------------------------------------------------

def time_options(*, ends: bool) -> list[dict]:
    """Half hours of a day: starts 00:00–23:30; ends 00:30–24:00 (24:00 = midnight at the end)."""
    values = [f"{h:02d}:{m:02d}" for h in range(24) for m in (0, 30)]
    if ends:
        values = [*values[1:], "24:00"]
    return [{"label": v, "value": v} for v in values]


def zone_options() -> list[dict]:
    return [{"label": label, "value": z}
            for z, label in timezones.zone_options(timezones.selectable_zones(), clock.now())]


def weekday_options() -> list[dict]:
    return [{"label": name[:3], "value": i} for i, name in enumerate(WEEKDAYS)]


# --- messages ------------------------------------------------------------------------------------

def conversation_list(summaries: list[ConversationSummary], selected: str | None):
    if not summaries:
        return html.P("No conversations yet: you can write to patients once they have booked with you.",
                      className="dk-muted")
    items = []
    for s in summaries:
        unread = f" ({s.unread} unread)" if s.unread else ""
        current = str(s.other.user_id) == selected
        items.append(html.Li(html.Button(
            [html.Span(s.other.name, className="dk-conv__name"),
             html.Span(f"{s.unread}", className="dk-badge", **{"aria-hidden": "true"}) if s.unread else None,
             html.Span(s.last_body[:60] if s.last_body else "No messages yet", className="dk-conv__last")],
            id={"type": CONVERSATION, "id": str(s.other.user_id)}, type="button",
            className="dk-conv" + (" is-current" if current else ""),
            **{"aria-label": f"Conversation with {s.other.name}{unread}",
               "aria-current": "true" if current else "false"})))
    return html.Ul(items, className="dk-conv-list", **{"aria-label": "Conversations"})


def conversation_thread(conversation: Conversation | None, tz: ZoneInfo):
    if conversation is None:
        return html.P("Choose a conversation.", className="dk-muted")
    if not conversation.messages:
        body = html.P(f"No messages with {conversation.other.name} yet.", className="dk-muted")
    else:
        body = html.Ol([html.Li([
            html.Span("You" if m.from_me else conversation.other.name, className="dk-msg__who"),
            html.Time(short_when(m.sent_at, tz), dateTime=m.sent_at.isoformat(), className="dk-msg__when"),
            html.P(m.body, className="dk-msg__body"),
        ], className="dk-msg" + (" is-mine" if m.from_me else "")) for m in conversation.messages],
            className="dk-thread", **{"aria-label": f"Messages with {conversation.other.name}"})
    return html.Div([html.H3(conversation.other.name, className="h6", id="doctor-thread-title"), body])


def unread_badge(count: int) -> list:
    if not count:
        return ["Messages"]
    return ["Messages ", html.Span(str(count), className="dk-badge", **{"aria-hidden": "true"}),
            html.Span(f" ({count} unread)", className="visually-hidden")]


def settings_alert(message: str, ok: bool):
    return dbc.Alert(message, color="success" if ok else "danger", className="mt-2 mb-0")
