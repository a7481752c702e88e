"""The doctor portal's dialogs as Dash components (SPEC §9; issue 8): patient records, settings and
messages. Plain functions over the core read models."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import dash_bootstrap_components as dbc
from dash import html

from core import clock, i18n, timezones
from core.accounts.profile import GENDERS
from core.doctors.patient_records import PatientPage, PatientRecord, PatientSummary
from core.i18n import N_
from core.messaging.messages import CONVERSATIONS_SHOWN, Conversation, ConversationSummary, shown_conversations
from portals.doctor.documents_panel import open_button, patient_documents, short_when
from portals.i18n import _, current_language, day, day_short, ngettext

RECORD_OPEN = "doctor-record-open"  # pattern {"type": RECORD_OPEN, "id": <patient id>}
CONVERSATION = "doctor-conversation"  # pattern {"type": CONVERSATION, "id": <user id>}
WRITABLE = ("paid", "confirmed", "completed")  # consultations a doctor writes documents for (SPEC §18)
MONDAY = date(2024, 1, 1)  # a Monday: the weekday pills take Babel's names from the week starting here


# --- patient records -----------------------------------------------------------------------------

def born_label(born: date | None, today: date) -> str:
    return f"{numeric_day(born)} ({age_on(born, today)})" if born else _("Not given")


def numeric_day(value: date) -> str:
    """`07/06/1985` / `07.06.1985`: Babel's short date with a four-digit year (a birth date tells
    namesakes apart; "85" would not)."""
    locale = i18n.babel_locale(current_language())
    pattern = locale.date_formats["short"].pattern.replace("yyyy", "y").replace("yy", "y")
    return day(value, pattern)


def records_table(patients: list[PatientSummary], tz: ZoneInfo, today: date | None = None, *,
                  query: str | None = None):
    today = today or clock.now().astimezone(tz).date()
    if not patients and (query or "").strip():
        return html.P(_("No patient matches “%(query)s”.", query=query.strip()), className="dk-muted")
    if not patients:
        return html.P(_("No patients yet: patients appear here once they have booked a consultation with you."),
                      className="dk-muted")
    return html.Table([
        html.Caption(_("Patients you have seen or will see")),
        html.Thead(html.Tr([html.Th(_("Patient"), scope="col"), html.Th(_("Born (age)"), scope="col"),
                            html.Th(_("Email"), scope="col"), html.Th(_("Consultations"), scope="col"),
                            html.Th(_("Last seen"), scope="col"), html.Th(_("Next"), scope="col"),
                            html.Th(html.Span(_("Record"), className="visually-hidden"), scope="col")])),
        html.Tbody([html.Tr([
            html.Th(p.name, scope="row"), html.Td(born_label(p.date_of_birth, today)), html.Td(p.email),
            html.Td(str(p.consultations)), html.Td(short_when(p.last_seen, tz)),
            html.Td(short_when(p.next_visit, tz)),
            html.Td(html.Button(_("Open record"), id={"type": RECORD_OPEN, "id": str(p.patient_id)}, type="button",
                                className="dk-btn dk-btn--ghost dk-btn--small",
                                **{"aria-label": _("Open the record of %(name)s, born %(born)s, %(email)s",
                                                   name=p.name, born=born_label(p.date_of_birth, today),
                                                   email=p.email)})),
        ]) for p in patients]),
    ], className="dk-table dk-records")


def records_status(page: PatientPage) -> str:
    """"Patients 21–40 of 242" (announced politely when the page or the search changes)."""
    if not page.patients:
        return ""
    return _("Patients %(first)s–%(last)s of %(total)s", first=page.first + 1,
             last=page.first + len(page.patients), total=page.total)


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _items(values: list[str]) -> html.Ul | html.Span:
    if not values:
        return html.Span(_("None recorded"), className="dk-muted")
    return html.Ul([html.Li(v) for v in values], className="dk-record__list")


def _visit_item(v, tz: ZoneInfo, name: str):
    parts = [short_when(v.start, tz), " · ", status_chip(v.status)]
    if v.status in WRITABLE:
        parts += [" ", open_button(v.id, f"{name}, {short_when(v.start, tz)}")]
    return html.Li(parts)


def record_detail(record: PatientRecord, tz: ZoneInfo, today: date, documents: list | None = None):
    born = (_("%(day)s (age %(age)d)", day=day(record.date_of_birth, "long"), age=age_on(record.date_of_birth, today))
            if record.date_of_birth else _("Not given"))
    return html.Section([
        html.H3(record.name, className="h5", id="doctor-record-title"),
        html.P(_("Health profile not completed yet.") if not record.profile_completed else
               _("Health profile as the patient entered it."), className="dk-muted"),
        html.Dl([
            html.Dt(_("Date of birth")), html.Dd(born),
            html.Dt(_("Gender")), html.Dd(_(GENDERS[record.gender]) if record.gender in GENDERS else _("Not given")),
            html.Dt(_("Primary conditions")), html.Dd(_items(record.primary_conditions)),
            html.Dt(_("Allergies")), html.Dd(_items(record.allergies)),
        ], className="dk-record__facts"),
        html.H4(_("Consultations with you"), className="h6"),
        html.Ul([_visit_item(v, tz, record.name) for v in record.visits], className="dk-record__visits"),
        patient_documents(documents or [], tz),
        html.P(_("This view was recorded in the audit trail."), className="dk-muted small"),
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
    return [{"label": day_short(MONDAY + timedelta(days=i)), "value": i} for i in range(7)]


# --- messages ------------------------------------------------------------------------------------

def conversation_list(summaries: list[ConversationSummary], selected: str | None, query: str | None = None):
    if not summaries:
        return html.P(_("No conversations yet: you can write to patients once they have booked with you."),
                      className="dk-muted")
    shown, total = shown_conversations(summaries, query, selected)
    if not shown:
        return html.P(_("No conversation matches “%(query)s”.", query=(query or "").strip()), className="dk-muted")
    items = []
    for s in shown:
        current = str(s.other.user_id) == selected
        items.append(html.Li(html.Button(
            [html.Span(s.other.name, className="dk-conv__name"),
             html.Span(f"{s.unread}", className="dk-badge", **{"aria-hidden": "true"}) if s.unread else None,
             html.Span(s.last_body[:60] if s.last_body else _("No messages yet"), className="dk-conv__last")],
            id={"type": CONVERSATION, "id": str(s.other.user_id)}, type="button",
            className="dk-conv" + (" is-current" if current else ""),
            **{"aria-label": ngettext("Conversation with %(name)s (%(num)d unread)",
                                     "Conversation with %(name)s (%(num)d unread)", s.unread, name=s.other.name)
               if s.unread else _("Conversation with %(name)s", name=s.other.name),
               "aria-current": "true" if current else "false"})))
    listing = html.Ul(items, className="dk-conv-list", **{"aria-label": _("Conversations")})
    if total <= len(shown):
        return listing
    return html.Div([listing, html.P(_("The %(shown)s most recent of %(total)s conversations: search a name to find "
                                       "the others.", shown=CONVERSATIONS_SHOWN, total=total),
                                     className="dk-muted dk-conv-more")])


def conversation_thread(conversation: Conversation | None, tz: ZoneInfo):
    if conversation is None:
        return html.P(_("Choose a conversation."), className="dk-muted")
    if not conversation.messages:
        body = html.P(_("No messages with %(name)s yet.", name=conversation.other.name), className="dk-muted")
    else:
        body = html.Ol([html.Li([
            html.Span(_("You") if m.from_me else conversation.other.name, className="dk-msg__who"),
            html.Time(short_when(m.sent_at, tz), dateTime=m.sent_at.isoformat(), className="dk-msg__when"),
            html.P(m.body, className="dk-msg__body"),
        ], className="dk-msg" + (" is-mine" if m.from_me else "")) for m in conversation.messages],
            className="dk-thread", **{"aria-label": _("Messages with %(name)s", name=conversation.other.name)})
    return html.Div([html.H3(conversation.other.name, className="h6", id="doctor-thread-title"), body])


def unread_badge(count: int) -> list:
    if not count:
        return [_("Messages")]
    return [_("Messages"), " ", html.Span(str(count), className="dk-badge", **{"aria-hidden": "true"}),
            html.Span(ngettext(" (%(num)d unread)", " (%(num)d unread)", count), className="visually-hidden")]


def settings_alert(message: str, ok: bool):
    return dbc.Alert(message, color="success" if ok else "danger", className="mt-2 mb-0")


# An appointment's status as the doctor reads it, one consultation's (the chip's class keeps the
# code): lower case as the chips always were, and msgids of their own — the capitalised ones are
# filters' plurals in French ("Confirmés").
STATUS_LABELS = {"pending": N_("awaiting payment"), "paid": N_("paid"), "confirmed": N_("confirmed"),
                 "completed": N_("completed"), "cancelled": N_("cancelled"), "no_show": N_("no-show")}


def status_chip(status: str) -> html.Span:
    label = STATUS_LABELS.get(status)
    return html.Span(_(label) if label else status, className=f"dk-chip dk-chip--{status}")
