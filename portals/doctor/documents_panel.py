"""The doctor's "Notes and documents" dialog (SPEC §18): a private note, a summary, a prescription,
a sick note and a follow-up suggestion for one consultation, opened from the upcoming list (during
the visit) and from a patient's record (afterwards). Components, the callback bodies as plain
functions (each calls one core service) and their wiring (`register`), kept apart from
`dash_app.py` so the portal's other dialogs stay untouched."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

import dash_bootstrap_components as dbc
from dash import ALL, Dash, Input, Output, State, ctx, html, no_update

from core import clock
from core.actor import Actor
from core.documents import follow_ups, issuing
from core.documents.issuing import DocumentItem, PrescriptionLine
from core.errors import DomainError
from core.i18n import N_
from core.scheduling import doctor_slots
from portals.i18n import _, day, ngettext, refusal_text

DOCS_OPEN = "doctor-docs-open"  # pattern {"type": DOCS_OPEN, "id": <appointment id>}
TARGET = "doctor-docs-target"
RX_LINES = 3
RX_FIELDS = (("medicine", N_("Medicine")), ("dose", N_("Dose")), ("frequency", N_("Frequency")),
             ("duration", N_("Duration")), ("instructions", N_("Instructions (optional)")))
# One whole sentence per kind: an article and a title do not combine across languages.
DOWNLOAD_LABELS = {"summary": N_("Download the consultation summary (PDF)"),
                   "prescription": N_("Download the prescription (PDF)"),
                   "sick_note": N_("Download the sick note (PDF)")}
DOWNLOAD_ANY = N_("Download the document (PDF)")
ACTIONS = ("doctor-note-save", "doctor-summary-issue", "doctor-rx-issue", "doctor-sick-issue",
           "doctor-followup-save")


def short_when(moment: datetime | None, tz: ZoneInfo) -> str:
    """`3 Dec 2026, 09:00` / `3 déc. 2026 à 09:00` / `03.12.2026, 09:00`: Babel's medium date in
    the viewer's language, a 24 h clock, in the doctor's zone."""
    if moment is None:
        return "—"
    local = moment.astimezone(tz)
    return _("%(day)s, %(time)s", day=day(local.date(), "medium"), time=local.strftime("%H:%M"))


def rx_id(field: str, line: int) -> str:
    return f"doctor-rx-{field}-{line}"


def open_button(appointment_id: uuid.UUID, who: str, *, disabled: bool = False) -> html.Button:
    return html.Button(_("Notes & documents"), id={"type": DOCS_OPEN, "id": str(appointment_id)}, type="button",
                       className="dk-btn dk-btn--ghost dk-btn--small", disabled=disabled,
                       **{"aria-haspopup": "dialog",
                          "aria-label": _("Notes and documents: consultation with %(who)s", who=who)})


def _field(label: str, component) -> html.Div:
    return html.Div([dbc.Label(label, html_for=component.id), component], className="dk-docs__field")


def _section(title_id: str, title: str, children: list) -> html.Section:
    return html.Section([html.H3(title, className="h6", id=title_id), *children], className="dk-docs__section",
                        **{"aria-labelledby": title_id})


def documents_dialog() -> dbc.Modal:
    prescription = [html.Fieldset([
        html.Legend(_("Medicine %(number)d", number=line + 1), className="dk-bulk__legend"),
        html.Div([_field(_(label), dbc.Input(id=rx_id(field, line), type="text",
                                             maxLength=500 if field == "instructions" else 200))
                  for field, label in RX_FIELDS], className="dk-docs__rx"),
    ]) for line in range(RX_LINES)]
    return dbc.Modal([
        dbc.ModalHeader(dbc.ModalTitle(_("Notes and documents"), id="doctor-docs-title")),
        dbc.ModalBody([
            html.P(id="doctor-docs-about", className="dk-muted"),
            html.Div(id="doctor-docs-feedback", role="status", className="dk-live"),
            _section("doctor-note-title", _("Private note"), [
                html.P(_("Only you can read this note: not the patient, not Doktu's staff."),
                       className="dk-muted small"),
                _field(_("Your note"), dbc.Textarea(id="doctor-note-body", rows=4, maxLength=5000)),
                html.Button(_("Save the note"), id="doctor-note-save", type="button", className="dk-btn dk-btn--ghost"),
            ]),
            _section("doctor-summary-title", _("Consultation summary"), [
                _field(_("Summary for the patient"), dbc.Textarea(id="doctor-summary-text", rows=4, maxLength=5000)),
                html.Button(_("Issue the summary"), id="doctor-summary-issue", type="button", className="dk-btn"),
            ]),
            _section("doctor-rx-title", _("Prescription"), [
                *prescription,
                html.Button(_("Issue the prescription"), id="doctor-rx-issue", type="button", className="dk-btn"),
            ]),
            _section("doctor-sick-title", _("Sick note"), [
                html.Div([_field(_("First day"), dbc.Input(id="doctor-sick-from", type="date")),
                          _field(_("Last day"), dbc.Input(id="doctor-sick-to", type="date"))],
                         className="dk-bulk__fields"),
                html.Button(_("Issue the sick note"), id="doctor-sick-issue", type="button", className="dk-btn"),
            ]),
            _section("doctor-followup-title", _("Follow-up"), [
                _field(_("Book again with me within (days)"),
                       dbc.Input(id="doctor-followup-days", type="number", min=1, max=follow_ups.MAX_DAYS, step=1)),
                html.Button(_("Suggest the follow-up"), id="doctor-followup-save", type="button",
                            className="dk-btn dk-btn--ghost"),
            ]),
            _section("doctor-issued-title", _("Issued for this consultation"), [html.Div(id="doctor-docs-issued")]),
        ]),
    ], id="doctor-docs-dialog", is_open=False, size="lg", scrollable=True, labelledby="doctor-docs-title")


def issued_list(documents: list[DocumentItem], tz: ZoneInfo):
    if not documents:
        return html.P(_("Nothing issued yet."), className="dk-muted")
    return html.Ul([html.Li([
        html.A(_("%(title)s, %(when)s", title=_(d.title), when=short_when(d.issued_at, tz)),
               href=f"/documents/{d.id}.pdf", download=d.filename,
               **{"aria-label": _(DOWNLOAD_LABELS.get(d.kind, DOWNLOAD_ANY))}),
        html.Span(_(" · code %(code)s", code=d.verification_code), className="dk-muted"),
    ]) for d in documents], className="dk-docs__issued")


def patient_documents(documents: list[DocumentItem], tz: ZoneInfo):
    """The documents this doctor issued to one patient, for the patient's record."""
    return html.Section([html.H4(_("Documents you issued"), className="h6"), issued_list(documents, tz)],
                        className="dk-record__documents")


# --- callback bodies -----------------------------------------------------------------------------

def _zone(actor: Actor) -> ZoneInfo:
    return ZoneInfo(doctor_slots.doctor_profile(actor).timezone)


def _for_appointment(actor: Actor, appointment_id: uuid.UUID) -> list[DocumentItem]:
    return [d for d in issuing.list_documents(actor) if d.appointment_id == appointment_id]


def open_dialog(actor: Actor, appointment_id: str):
    """(is_open, about, note, issued, follow-up days, target, feedback, first sick day, last sick day)."""
    try:
        target = uuid.UUID(appointment_id)
        about = _about(actor, target)
        note = issuing.get_note(actor, target)
        days = follow_ups.follow_up_of(actor, target)
    except (DomainError, ValueError) as refused:
        about = refusal_text(refused) if isinstance(refused, DomainError) else _("No such consultation.")
        return (True, about, "", None, None, None, "", None, None)
    tz = _zone(actor)
    today = clock.now().astimezone(tz).date().isoformat()
    return (True, about, note, issued_list(_for_appointment(actor, target), tz), days, str(target), "", today, today)


def _about(actor: Actor, appointment_id: uuid.UUID) -> str:
    name, start = issuing.consultation_heading(actor, appointment_id)
    local = start.astimezone(_zone(actor))
    return _("%(name)s · %(when)s", name=name,
             when=_("%(day)s, %(time)s", day=day(local.date(), "EEE dd MMM y"), time=local.strftime("%H:%M")))


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def act(actor: Actor, action: str | None, target: str | None, values: dict):
    """One of the dialog's buttons: (feedback, issued list)."""
    if not target or action not in ACTIONS:
        return no_update, no_update
    appointment_id = uuid.UUID(target)
    try:
        if action == "doctor-note-save":
            issuing.save_note(actor, appointment_id, values.get("note"))
            message = _("Note saved. Only you can read it.")
        elif action == "doctor-summary-issue":
            done = issuing.issue_summary(actor, appointment_id, values.get("summary"))
            message = _("%(title)s issued: the patient has been sent a link.", title=_(done.title))
        elif action == "doctor-rx-issue":
            lines = [PrescriptionLine(*(values.get(rx_id(f, i)) or "" for f, _ in RX_FIELDS)) for i in range(RX_LINES)]
            done = issuing.issue_prescription(actor, appointment_id, lines)
            message = _("%(title)s issued: the patient has been sent a link.", title=_(done.title))
        elif action == "doctor-sick-issue":
            done = issuing.issue_sick_note(actor, appointment_id, _day(values.get("sick_from")),
                                           _day(values.get("sick_to")))
            message = _("%(title)s issued: the patient has been sent a link.", title=_(done.title))
        else:
            raw = values.get("followup")
            days = follow_ups.suggest_follow_up(actor, appointment_id, int(raw) if raw not in (None, "") else None)
            message = ngettext("Follow-up suggested: the patient sees a button to book again within %(num)d day.",
                               "Follow-up suggested: the patient sees a button to book again within %(num)d days.",
                               days)
    except DomainError as refused:
        return dbc.Alert(refusal_text(refused), color="danger", className="mb-2"), no_update
    return (dbc.Alert(message, color="success", className="mb-2"),
            issued_list(_for_appointment(actor, appointment_id), _zone(actor)))


def _clicked(values) -> bool:
    trigger = ctx.triggered_id
    if trigger is None:
        return False
    return any(i["id"] == trigger and (v or 0) > 0 for i, v in zip(ctx.inputs_list[0], values, strict=False))


def register(app: Dash, actor_of) -> None:
    """Wire the dialog: `actor_of()` gives the signed-in doctor."""
    rx_states = [State(rx_id(f, i), "value") for i in range(RX_LINES) for f, _ in RX_FIELDS]

    @app.callback(Output("doctor-docs-dialog", "is_open"), Output("doctor-docs-about", "children"),
                  Output("doctor-note-body", "value"), Output("doctor-docs-issued", "children"),
                  Output("doctor-followup-days", "value"), Output(TARGET, "data"),
                  Output("doctor-docs-feedback", "children"), Output("doctor-sick-from", "value"),
                  Output("doctor-sick-to", "value"),
                  Output("doctor-records-dialog", "is_open", allow_duplicate=True),
                  Input({"type": DOCS_OPEN, "id": ALL}, "n_clicks"), prevent_initial_call=True)
    def open_docs(clicks):
        if not _clicked(clicks):
            return (no_update,) * 10
        # One dialog at a time: the record (if that is where the doctor came from) closes.
        return (*open_dialog(actor_of(), ctx.triggered_id["id"]), False)

    @app.callback(Output("doctor-docs-feedback", "children", allow_duplicate=True),
                  Output("doctor-docs-issued", "children", allow_duplicate=True),
                  *[Input(a, "n_clicks") for a in ACTIONS],
                  State(TARGET, "data"), State("doctor-note-body", "value"), State("doctor-summary-text", "value"),
                  State("doctor-sick-from", "value"), State("doctor-sick-to", "value"),
                  State("doctor-followup-days", "value"), *rx_states, prevent_initial_call=True)
    def docs_action(*args):
        n = len(ACTIONS)
        target, note, summary, sick_from, sick_to, followup, *rx = args[n:]
        values = {"note": note, "summary": summary, "sick_from": sick_from, "sick_to": sick_to,
                  "followup": followup}
        values.update({rx_id(f, i): v for (i, f), v in
                       zip([(i, f) for i in range(RX_LINES) for f, _ in RX_FIELDS], rx, strict=True)})
        return act(actor_of(), ctx.triggered_id, target, values)

