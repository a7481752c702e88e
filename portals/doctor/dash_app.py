"""The doctor portal (Dash at /doctor/): upcoming consultations, quick actions, Online/Offline, the
Day/Week/Month calendar, patient records, settings and messages (SPEC §4, §9; issue 8).

Layout and wiring only: each callback hands its inputs and the signed-in doctor to a function in
`portals.doctor.callbacks`, which calls one core service. The calendar is data in a store (see
`calendar_view`): the layout puts the first grid there (no extra round trip) and
`doctor-calendar.js` renders it through one clientside callback; a press or the one refresh
callback patches the entries that changed. The page's state (`cv.PAGE`) carries the doctor's time
zone, read once by the layout. Anything that changes what the calendar or the upcoming list shows
writes a new version to CHANGED, which both re-read.
"""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import ALL, ClientsideFunction, Dash, Input, Output, State, ctx, dcc, html, no_update
from flask import Flask, has_request_context
from flask_login import current_user

from core import clock
from core.doctors import onboarding
from core.i18n import N_
from core.scheduling import doctor_slots
from core.scheduling.doctor_calendar import AVAILABLE, BOOKED, HELD, UNAVAILABLE
from core.scheduling.engine import DEFAULT_TEMPLATE
from core.scheduling.weekly import WEEKDAY_LABELS, WEEKDAYS
from core.walkin import queue as walkin_queue
from portals.assets import asset_url
from portals.dash_frame import create_portal_dash, error_alert, loading_shell, portal_header
from portals.doctor import calendar_view as cv
from portals.doctor import callbacks as cb
from portals.doctor import documents_panel, panels
from portals.doctor import upcoming_view as uv
from portals.i18n import _

REFRESH_MS = 30_000
PRESENCE_REFRESH_MS = 4_000
CHANGED = "doctor-changed"  # a new version when something changed that the calendar and the list show
TITLE = N_("Doktu — Doctor portal")


def create_doctor_dash(server: Flask) -> Dash:
    app = create_portal_dash(server, "doctor", TITLE, scripts=[asset_url("js/doctor-calendar.js")])
    _localise_title(app)
    app.layout = doctor_layout
    register_callbacks(app)
    return app


def _localise_title(app: Dash) -> None:
    """The page's <title> in the visitor's language: Dash builds the index on every request, with
    the title given once at start-up, so it is swapped in here (SPEC §20)."""
    interpolate = app.interpolate_index

    def localised(**kwargs) -> str:
        kwargs["title"] = _(TITLE)
        return interpolate(**kwargs)

    app.interpolate_index = localised


def _actor():
    return current_user.actor


def doctor_layout():
    # Dash also calls the layout to validate it on the first request a worker serves, whatever its path
    # and whoever sends it: only a doctor's own request gets the real layout (the guard covers /doctor/).
    if not has_request_context() or not current_user.is_authenticated or current_user.role != "doctor":
        return loading_shell()
    actor = _actor()
    profile = doctor_slots.doctor_profile(actor)  # the one read of the zone: the page carries it from here
    now = clock.now()
    today = cb.today_for(profile.timezone, now)
    nav = {"view": "week", "anchor": today.isoformat()}
    cells, digests, title, zone = cb.calendar_data(actor, nav, profile.timezone)
    page = {"zone": zone, "key": cells["key"]}
    upcoming, upcoming_sig = cb.refresh_upcoming(actor, None, page, force=True)
    return html.Div([
        dcc.Interval(id="doctor-refresh", interval=REFRESH_MS),
        # A patient arriving in the waiting room shows in the upcoming list within 5 s (SPEC §16);
        # the list's signature keeps an unchanged answer empty.
        dcc.Interval(id="doctor-presence-refresh", interval=PRESENCE_REFRESH_MS),
        dcc.Store(id=cv.PAGE, data=page), dcc.Store(id=cv.NAV, data=nav),
        dcc.Store(id=cv.CELLS, data=cells), dcc.Store(id=cv.DIGESTS, data=digests),
        dcc.Store(id=cv.PRESS), dcc.Store(id=cv.OPEN_DAY), dcc.Store(id=CHANGED),
        dcc.Store(id=uv.SIG, data=upcoming_sig), dcc.Store(id="doctor-cancel-target"),
        dcc.Store(id="doctor-msg-with"), dcc.Store(id=documents_panel.TARGET),
        dcc.Location(id="doctor-go", refresh=True),
        portal_header(_("Doctor portal"), current_user.user.full_name, [
            html.Span(_("Times in %(zone)s", zone=cv.zone_label(zone, now)), className="dk-muted dk-portal-tz",
                      id="doctor-tz"),
            html.Button(cb.unread_button(actor), id="doctor-messages-open", type="button",
                        className="dk-btn dk-btn--ghost", **{"aria-haspopup": "dialog"}),
            html.A(_("Contact us"), href="/support", id="doctor-support-link", className="dk-btn dk-btn--ghost"),
        ]),
        html.Main([
            *review_banner(onboarding.review_status(actor)),
            error_alert("doctor"),
            dbc.Row([
                dbc.Col(html.Section([
                    html.H1(_("Upcoming consultations"), className="h3", id="doctor-upcoming-title"),
                    html.Div(id=uv.STATUS, role="status", className="dk-live"),
                    html.Div(upcoming, id=uv.LIST),
                ], className="dk-card", **{"aria-labelledby": "doctor-upcoming-title"}), lg=8),
                dbc.Col([quick_actions(profile.online), walkin_section(actor, profile.online)], lg=4),
            ], className="g-3"),
            schedule_section(title, profile.online, today),
        ], id="main", className="dk-portal-main", tabIndex="-1"),
        cancel_dialog(), records_dialog(), settings_dialog(), messages_dialog(), documents_panel.documents_dialog(),
    ])


def review_banner(status: str) -> list:
    """SPEC §19: until approved (or while suspended) patients neither find nor book this doctor."""
    if status == "approved":
        return []
    text = (_("Your profile is not visible to patients yet: an admin reviews it first.")
            if status == "pending" else _("Your account is suspended: patients cannot find or book you."))
    return [dbc.Alert([text, " ", html.A(_("Complete your professional profile"), href="/doctor-onboarding")],
                      color="warning", className="mb-3", id="doctor-review-banner")]


def quick_actions(online: bool) -> html.Section:
    return html.Section([
        html.H2(_("Quick actions"), className="h4", id="doctor-actions-title"),
        dbc.Switch(id="doctor-online", value=online, label=_("Online"), class_name="dk-online-switch"),
        html.P(cb.online_status(online), id="doctor-online-status", className="dk-muted", role="status"),
        html.Div([
            html.Button(_("Patient records"), id="doctor-records-open", type="button", className="dk-action",
                        **{"aria-haspopup": "dialog"}),
            html.Button(_("Settings"), id="doctor-settings-open", type="button", className="dk-action",
                        **{"aria-haspopup": "dialog"}),
            html.Button(_("Hide schedule"), id="doctor-schedule-toggle", type="button", className="dk-action",
                        **{"aria-expanded": "true", "aria-controls": "doctor-schedule"}),
            html.A(_("Test devices"), href="/devices", className="dk-action"),
            html.A(_("My data"), href="/account/data", className="dk-action"),  # SPEC §21: download my data
        ], className="dk-actions"),
    ], className="dk-card", **{"aria-labelledby": "doctor-actions-title"})


def walkin_section(actor, online: bool) -> html.Section:
    """See a doctor now (SPEC §17): the switch, the next waiting patient, and Accept."""
    queue = walkin_queue.doctor_queue(actor)
    taking = queue.taking_now
    line, disabled = cb.walkin_panel(actor, queue)
    return html.Section([
        html.H2(_("See a doctor now"), className="h4", id="doctor-walkin-title"),
        dbc.Switch(id="doctor-taking-now", value=taking and online, label=_("Taking consultations now"),
                   disabled=not online, class_name="dk-online-switch"),
        html.P(line, id="doctor-walkin-next", role="status", className="dk-live"),
        html.Button(_("Accept"), id="doctor-walkin-accept", type="button", className="dk-btn", disabled=disabled),
        html.Div(id="doctor-walkin-feedback", role="alert", className="dk-live"),
    ], className="dk-card mt-3", **{"aria-labelledby": "doctor-walkin-title"})


def legend() -> html.Div:
    keys = [html.Li([html.Span(className=f"dk-cal-swatch dk-cal-cell--{state}"), text])
            for state, text in ((AVAILABLE, _("Available — press to turn off")),
                                (UNAVAILABLE, _("Unavailable — press to turn on")),
                                (BOOKED, _("Booked — focus shows the patient")), (HELD, _("Held by a paying patient")),
                                ("past", _("Past")))]
    # Issue 24: the hatched cells, and what the rhythm is (the engine's rule, README "Scheduling").
    keys.insert(1, html.Li([html.Span(className=f"dk-cal-swatch dk-cal-cell--{AVAILABLE} is-not-offered"),
                            _("Hatched: open, but patients can't book a start in it now — focus says why")]))
    return html.Div([
        html.Ul(keys, className="dk-cal-legend", **{"aria-label": _("Colour key")}),
        html.P(_("Patients are offered one start every 45 minutes (a 30-minute consultation and a 15-minute "
                 "break), so every time they see can be booked together; a booking moves the next start to "
                 "45 minutes after it. The Month view counts these bookable starts."),
               className="dk-cal-legend-note dk-muted", id="doctor-cal-rhythm"),
    ])


def schedule_section(title: str, online: bool, today) -> html.Section:
    hours = f"{DEFAULT_TEMPLATE.day_start:%H:%M}–{DEFAULT_TEMPLATE.day_end:%H:%M}"
    return html.Section([
        html.Div([
            html.H2(_("Schedule"), className="h4 mb-0", id="doctor-schedule-title"),
            html.Fieldset([
                html.Legend(_("View"), className="visually-hidden"),
                dbc.RadioItems(id="doctor-cal-view", value="week", inline=True, class_name="dk-segmented",
                               options=[{"label": _("Day"), "value": "day"}, {"label": _("Week"), "value": "week"},
                                        {"label": _("Month"), "value": "month"}]),
            ], className="dk-cal-views"),
            html.Div([
                html.Button(_("‹ Previous"), id="doctor-cal-prev", type="button", className="dk-btn dk-btn--ghost"),
                html.Button(_("Today"), id="doctor-cal-today", type="button", className="dk-btn dk-btn--ghost"),
                html.Button(_("Next ›"), id="doctor-cal-next", type="button", className="dk-btn dk-btn--ghost"),
            ], className="dk-cal-nav", role="group", **{"aria-label": _("Move the calendar")}),
        ], className="dk-cal-toolbar"),
        html.H3(title, id="doctor-cal-title", className="h5"),
        html.P(_("You are offline: patients see none of these times until you go online again."),
               id="doctor-offline-note", className="dk-offline-note", hidden=online),
        html.P(_("Arrow keys move between times; Enter or Space turns a time on or off. Days you have not "
                 "changed follow your default hours (%(hours)s).", hours=hours), id="doctor-cal-help",
               className="dk-muted small"),
        legend(),
        html.Div(id=cv.STATUS, role="status", className="dk-live"),
        # Rendered by doctor-calendar.js from the CELLS store; no callback writes its children. The
        # grid scrolls in this box (sideways on a phone), so the box is a named region keyboard users
        # can focus and scroll with the arrow keys (the page itself never scrolls sideways).
        html.Div(id=cv.GRID, className="dk-cal-scroll", role="region", tabIndex="0",
                 **{"aria-labelledby": "doctor-cal-title"}),
        bulk_form(today),
    ], id="doctor-schedule", className="dk-card dk-schedule", **{"aria-labelledby": "doctor-schedule-title"})


def _select(id_: str, label: str, options: list, value: str) -> html.Div:
    return html.Div([dbc.Label(label, html_for=id_), dbc.Select(id=id_, options=options, value=value)])


def bulk_form(today) -> html.Details:
    return html.Details([
        html.Summary(_("Turn several days or hours on or off")),
        html.Div([
            html.Div([dbc.Label(_("From day"), html_for="doctor-bulk-first"),
                      dbc.Input(id="doctor-bulk-first", type="date", value=today.isoformat())]),
            html.Div([dbc.Label(_("To day"), html_for="doctor-bulk-last"),
                      dbc.Input(id="doctor-bulk-last", type="date", value=today.isoformat())]),
            _select("doctor-bulk-start", _("From"), panels.time_options(ends=False), "00:00"),
            _select("doctor-bulk-end", _("Until"), panels.time_options(ends=True), "24:00"),
        ], className="dk-bulk__fields"),
        html.Fieldset([
            html.Legend(_("On these days of the week"), className="dk-bulk__legend"),
            dbc.Checklist(id="doctor-bulk-weekdays", options=panels.weekday_options(), value=list(range(7)),
                          inline=True),
        ]),
        html.Div([
            html.Button(_("Turn on"), id="doctor-bulk-on", type="button", className="dk-btn"),
            html.Button(_("Turn off"), id="doctor-bulk-off", type="button", className="dk-btn dk-btn--ghost"),
        ], className="dk-bulk__buttons"),
        html.Div(id="doctor-bulk-status", role="status", className="dk-live"),
    ], className="dk-bulk")


def cancel_dialog() -> dbc.Modal:
    return dbc.Modal([
        dbc.ModalHeader(dbc.ModalTitle(_("Cancel consultation"), id="doctor-cancel-title")),
        dbc.ModalBody([
            html.Div(id="doctor-cancel-body"),
            dbc.Label(_("Reason for the patient (required)"), html_for="doctor-cancel-reason"),
            dbc.Textarea(id="doctor-cancel-reason", rows=3, maxLength=1000, required=True),
            html.Div(id="doctor-cancel-feedback", role="alert", className="dk-field-error"),
        ]),
        dbc.ModalFooter([
            html.Button(_("Keep the consultation"), id="doctor-cancel-keep", type="button",
                        className="dk-btn dk-btn--ghost"),
            html.Button(_("Cancel consultation"), id="doctor-cancel-confirm", type="button",
                        className="dk-btn dk-btn--danger"),
        ]),
    ], id="doctor-cancel-dialog", is_open=False, labelledby="doctor-cancel-title")


def records_dialog() -> dbc.Modal:
    return dbc.Modal([
        dbc.ModalHeader(dbc.ModalTitle(_("Patient records"), id="doctor-records-title")),
        dbc.ModalBody([
            html.Div([dbc.Label(_("Find a patient"), html_for="doctor-records-search"),
                      dbc.Input(id="doctor-records-search", type="search", debounce=300, autocomplete="off",
                                placeholder=_("Name or email"))], className="dk-records__search"),
            html.Div(id="doctor-records-list"),
            html.Nav([
                html.Button(_("Previous patients"), id="doctor-records-prev", type="button",
                            className="dk-btn dk-btn--ghost dk-btn--small"),
                html.P(id="doctor-records-status", className="dk-records__status", role="status"),
                html.Button(_("Next patients"), id="doctor-records-next", type="button",
                            className="dk-btn dk-btn--ghost dk-btn--small"),
            ], id="doctor-records-pager", className="dk-records__pager", hidden=True,
                **{"aria-label": _("Pages of patients")}),
            dcc.Store(id="doctor-records-at", data=0),
            html.Div(id="doctor-record-detail"),
        ]),
    ], id="doctor-records-dialog", is_open=False, size="xl", scrollable=True, labelledby="doctor-records-title")


def settings_dialog() -> dbc.Modal:
    return dbc.Modal([
        dbc.ModalHeader(dbc.ModalTitle(_("Settings"), id="doctor-settings-title")),
        dbc.ModalBody([
            html.P(html.A(_("Edit your full professional profile, photo and RPPS"), href="/doctor-onboarding")),
            html.H3(_("Profile and time zone"), className="h6"),
            _select("doctor-settings-tz", _("Time zone"), [], None),
            dbc.Label(_("About you (public profile)"), html_for="doctor-settings-bio", className="mt-2"),
            dbc.Textarea(id="doctor-settings-bio", rows=4, maxLength=2000),
            dbc.Label(_("Your care philosophy (public profile)"), html_for="doctor-settings-philosophy",
                      className="mt-2"),
            dbc.Textarea(id="doctor-settings-philosophy", rows=3, maxLength=1000),
            html.Button(_("Save"), id="doctor-settings-save", type="button", className="dk-btn mt-2"),
            html.Div(id="doctor-settings-feedback", role="status"),
            html.H3(_("Weekly hours"), className="h6 mt-4"),
            html.P(_("Patients can book you in these hours on every day you have not set slot by slot in the "
                     "calendar. One or more ranges per day, e.g. 09:00-12:30, 14:00-18:00; leave a day empty "
                     "when you do not work. The default is %(hours)s every day.",
                     hours=cb.DEFAULT_HOURS),
                   className="dk-muted small",
                   id="doctor-hours-help"),
            html.Div([
                html.Div([dbc.Label(_(label), html_for=f"doctor-hours-{key}"),
                          dbc.Input(id=f"doctor-hours-{key}", type="text", placeholder=_("closed"))])
                for key, label in zip(WEEKDAYS, WEEKDAY_LABELS, strict=True)
            ], className="dk-bulk__fields"),
            html.Div([
                html.Button(_("Save weekly hours"), id="doctor-hours-apply", type="button", className="dk-btn mt-2"),
                html.Button(_("Back to the default hours"), id="doctor-hours-default", type="button",
                            className="dk-btn dk-btn--ghost mt-2"),
            ], className="dk-bulk__buttons"),
            html.Div(id="doctor-hours-feedback", role="status"),
            html.H3(_("Your calendar feed"), className="h6 mt-4"),
            html.P(_("Subscribe to this private address from Google, Outlook or Apple Calendar to see your Doktu "
                     "consultations there (patients appear as initials). Anyone with the address can read it: "
                     "make a new one if it leaked."), className="dk-muted small", id="doctor-feed-help"),
            dbc.Label(_("Feed address"), html_for="doctor-feed-url"),
            dbc.Input(id="doctor-feed-url", type="text", readonly=True),
            html.Button(_("Make a new address"), id="doctor-feed-rotate", type="button",
                        className="dk-btn dk-btn--ghost mt-2"),
            html.Div(id="doctor-feed-feedback", role="status"),
            html.H3("Cal.com", className="h6 mt-4"),
            html.P(_("Connect your Cal.com calendar: the times you are busy there cannot be booked on Doktu "
                     "(checked every 5 minutes)."), className="dk-muted small", id="doctor-calcom-help"),
            dbc.Checklist(id="doctor-cal-enabled", options=[{"label": _("Block my Cal.com busy times"), "value": "on"}],
                          value=[], switch=True),
            dbc.Label(_("Cal.com schedule id"), html_for="doctor-cal-schedule", className="mt-2"),
            dbc.Input(id="doctor-cal-schedule", type="text", inputMode="numeric"),
            html.Button(_("Save Cal.com settings"), id="doctor-cal-save", type="button",
                        className="dk-btn dk-btn--ghost mt-2"),
            html.Div(id="doctor-cal-feedback", role="status"),
        ]),
    ], id="doctor-settings-dialog", is_open=False, size="lg", scrollable=True, labelledby="doctor-settings-title")


def messages_dialog() -> dbc.Modal:
    return dbc.Modal([
        dbc.ModalHeader(dbc.ModalTitle(_("Messages"), id="doctor-messages-title")),
        dbc.ModalBody(html.Div([
            html.Div([
                html.Div([dbc.Label(_("Find a conversation"), html_for="doctor-conversations-search"),
                          dbc.Input(id="doctor-conversations-search", type="search", debounce=300,
                                    autocomplete="off", placeholder=_("Patient's name"))],
                         className="dk-records__search"),
                html.Div(id="doctor-conversations"),
            ], className="dk-messages__list"),
            html.Div([
                html.Div(id="doctor-thread", className="dk-messages__thread"),
                dbc.Label(_("Your message"), html_for="doctor-msg-body", className="mt-2"),
                dbc.Textarea(id="doctor-msg-body", rows=3, maxLength=5000),
                html.Button(_("Send"), id="doctor-msg-send", type="button", className="dk-btn mt-2"),
                html.Div(id="doctor-msg-feedback", role="status", className="dk-live"),
            ], className="dk-messages__pane"),
        ], className="dk-messages")),
    ], id="doctor-messages-dialog", is_open=False, size="xl", scrollable=True, labelledby="doctor-messages-title")


def _clicked(values) -> bool:
    """A pattern-matched button really pressed (not just added to the page with n_clicks None)."""
    trigger = ctx.triggered_id
    if trigger is None:
        return False
    return any(i["id"] == trigger and (v or 0) > 0 for i, v in zip(ctx.inputs_list[0], values, strict=False))


def register_callbacks(app: Dash) -> None:
    documents_panel.register(app, _actor)  # SPEC §18: notes and documents of a consultation

    # --- calendar ---
    # The grid is drawn in the browser from the CELLS store (doctor-calendar.js diffs it against
    # what it drew, so focus stays on the button it was on).
    app.clientside_callback(ClientsideFunction("doktuCalendar", "render"), Input(cv.CELLS, "data"))

    @app.callback(output={"nav": Output(cv.NAV, "data"), "view": Output("doctor-cal-view", "value"),
                          "status": Output(cv.STATUS, "children")},
                  inputs={"view": Input("doctor-cal-view", "value"), "back": Input("doctor-cal-prev", "n_clicks"),
                          "today": Input("doctor-cal-today", "n_clicks"), "forth": Input("doctor-cal-next", "n_clicks"),
                          "open_day": Input(cv.OPEN_DAY, "data")},
                  state={"nav": State(cv.NAV, "data"), "page": State(cv.PAGE, "data")}, prevent_initial_call=True)
    def navigate(view, back, today, forth, open_day, nav, page):
        today = cb.today_for(cb.page_zone(page) or doctor_slots.doctor_profile(_actor()).timezone)
        nav, view = cb.navigate(ctx.triggered_id, view, nav, open_day, today)
        return {"nav": nav, "view": view, "status": ""}  # the last press's message was about another view

    @app.callback(output={"cells": Output(cv.CELLS, "data"), "digests": Output(cv.DIGESTS, "data"),
                          "page": Output(cv.PAGE, "data"), "title": Output("doctor-cal-title", "children"),
                          "unread": Output("doctor-messages-open", "children")},
                  inputs={"nav": Input(cv.NAV, "data"), "tick": Input("doctor-refresh", "n_intervals"),
                          "changed": Input(CHANGED, "data")},
                  state={"page": State(cv.PAGE, "data"), "digests": State(cv.DIGESTS, "data")},
                  prevent_initial_call=True)
    def refresh(nav, tick, changed, page, digests):
        """The one refresh callback: a move, the 30 s tick or a change made elsewhere on the page."""
        outputs = cb.refresh_calendar(_actor(), nav, page, digests)
        ticked = ctx.triggered_id == "doctor-refresh"
        return {**outputs, "unread": cb.unread_button(_actor()) if ticked else no_update}

    @app.callback(output={"cells": Output(cv.CELLS, "data", allow_duplicate=True),
                          "digests": Output(cv.DIGESTS, "data", allow_duplicate=True),
                          "status": Output(cv.STATUS, "children", allow_duplicate=True)},
                  inputs={"press": Input(cv.PRESS, "data")}, state={"page": State(cv.PAGE, "data")},
                  prevent_initial_call=True)
    def press_cell(press, page):
        return cb.press_cell(_actor(), press, page)

    @app.callback(Output(CHANGED, "data"), Output("doctor-bulk-status", "children"),
                  Input("doctor-bulk-on", "n_clicks"), Input("doctor-bulk-off", "n_clicks"),
                  State("doctor-bulk-first", "value"), State("doctor-bulk-last", "value"),
                  State("doctor-bulk-start", "value"), State("doctor-bulk-end", "value"),
                  State("doctor-bulk-weekdays", "value"), prevent_initial_call=True)
    def bulk(_on, _off, first, last, start, end, weekdays):
        return cb.apply_range(_actor(), ctx.triggered_id == "doctor-bulk-on", first, last, start, end, weekdays)

    @app.callback(Output("doctor-online-status", "children"), Output("doctor-offline-note", "hidden"),
                  Output(CHANGED, "data", allow_duplicate=True),
                  Output("doctor-taking-now", "disabled"), Output("doctor-taking-now", "value", allow_duplicate=True),
                  Input("doctor-online", "value"), prevent_initial_call=True)
    def online(value):
        text, is_online = cb.set_online(_actor(), value)
        # Offline ends "taking consultations now" (SPEC §17); Online leaves it off until switched on.
        return text, is_online, cb.new_version(), not is_online, False if not is_online else no_update

    # --- see a doctor now (SPEC §17) ---
    @app.callback(Output("doctor-taking-now", "value"), Output("doctor-walkin-next", "children", allow_duplicate=True),
                  Output("doctor-walkin-accept", "disabled", allow_duplicate=True),
                  Input("doctor-taking-now", "value"), prevent_initial_call=True)
    def taking_now(value):
        return cb.set_taking_now(_actor(), value)

    @app.callback(Output("doctor-go", "href"), Output("doctor-walkin-feedback", "children"),
                  Input("doctor-walkin-accept", "n_clicks"), prevent_initial_call=True)
    def accept(_n):
        return cb.accept_walkin(_actor())

    # --- upcoming (and the walk-in queue line: one callback for the presence interval) ---
    @app.callback(output={"list": Output(uv.LIST, "children"), "sig": Output(uv.SIG, "data"),
                          "walkin": Output("doctor-walkin-next", "children"),
                          "accept_disabled": Output("doctor-walkin-accept", "disabled")},
                  inputs={"tick": Input("doctor-presence-refresh", "n_intervals"), "changed": Input(CHANGED, "data")},
                  state={"sig": State(uv.SIG, "data"), "page": State(cv.PAGE, "data")}, prevent_initial_call=True)
    def upcoming(tick, changed, sig, page):
        listed, new_sig = cb.refresh_upcoming(_actor(), sig, page)
        walkin, accept_disabled = cb.walkin_panel(_actor())
        return {"list": listed, "sig": new_sig, "walkin": walkin, "accept_disabled": accept_disabled}

    @app.callback(Output(CHANGED, "data", allow_duplicate=True), Output(uv.STATUS, "children"),
                  Input({"type": uv.COMPLETE, "id": ALL}, "n_clicks"), State(cv.PAGE, "data"),
                  prevent_initial_call=True)
    def complete(clicks, page):
        if not _clicked(clicks):
            return no_update, no_update
        return cb.complete_appointment(_actor(), ctx.triggered_id["id"], page)

    @app.callback(output={"open": Output("doctor-cancel-dialog", "is_open"),
                          "body": Output("doctor-cancel-body", "children"),
                          "target": Output("doctor-cancel-target", "data"),
                          "reason": Output("doctor-cancel-reason", "value"),
                          "invalid": Output("doctor-cancel-reason", "invalid"),
                          "feedback": Output("doctor-cancel-feedback", "children"),
                          "status": Output(uv.STATUS, "children", allow_duplicate=True),
                          "changed": Output(CHANGED, "data", allow_duplicate=True)},
                  inputs={"cancel": Input({"type": uv.CANCEL, "id": ALL}, "n_clicks"),
                          "confirm": Input("doctor-cancel-confirm", "n_clicks"),
                          "keep": Input("doctor-cancel-keep", "n_clicks")},
                  state={"target": State("doctor-cancel-target", "data"),
                         "reason": State("doctor-cancel-reason", "value"), "page": State(cv.PAGE, "data")},
                  prevent_initial_call=True)
    def cancel_dialog(cancel, confirm, keep, target, reason, page):
        """The cancel dialog: a Cancel button opens it, Keep closes it, Cancel consultation confirms."""
        out = dict.fromkeys(("open", "body", "target", "reason", "invalid", "feedback", "status", "changed"),
                            no_update)
        if ctx.triggered_id == "doctor-cancel-keep":
            return {**out, "open": False}
        if ctx.triggered_id == "doctor-cancel-confirm":
            closed, invalid, feedback, status, changed = cb.confirm_cancel(_actor(), target, reason)
            return {**out, "open": closed, "invalid": invalid, "feedback": feedback, "status": status,
                    "changed": changed}
        if not _clicked(cancel):
            return out
        is_open, body, chosen = cb.open_cancel(_actor(), ctx.triggered_id["id"], page)
        return {**out, "open": is_open, "body": body, "target": chosen, "reason": "", "invalid": False,
                "feedback": ""}

    # --- quick actions ---
    @app.callback(Output("doctor-schedule", "hidden"), Output("doctor-schedule-toggle", "aria-expanded"),
                  Output("doctor-schedule-toggle", "children"),
                  Input("doctor-schedule-toggle", "n_clicks"), prevent_initial_call=True)
    def schedule(clicks):
        return cb.toggle_schedule(clicks)

    @app.callback(output={"open": Output("doctor-records-dialog", "is_open"),
                          "list": Output("doctor-records-list", "children"),
                          "detail": Output("doctor-record-detail", "children"),
                          "status": Output("doctor-records-status", "children"),
                          "pager_hidden": Output("doctor-records-pager", "hidden"),
                          "previous_disabled": Output("doctor-records-prev", "disabled"),
                          "next_disabled": Output("doctor-records-next", "disabled"),
                          "at": Output("doctor-records-at", "data")},
                  inputs={"opened": Input("doctor-records-open", "n_clicks"),
                          "query": Input("doctor-records-search", "value"),
                          "previous": Input("doctor-records-prev", "n_clicks"),
                          "following": Input("doctor-records-next", "n_clicks")},
                  state={"at": State("doctor-records-at", "data"), "page": State(cv.PAGE, "data")},
                  prevent_initial_call=True)
    def records(opened, query, previous, following, at, page):
        step = {"doctor-records-prev": -1, "doctor-records-next": 1}.get(ctx.triggered_id)
        # Opening or searching starts at the first page; the pager moves from the current one.
        shown = cb.open_records(_actor(), page, query=query, at=(at or 0) + step if step else 0)
        opening = ctx.triggered_id == "doctor-records-open"
        return {**shown, "open": True, "detail": None if opening else no_update}

    @app.callback(Output("doctor-record-detail", "children", allow_duplicate=True),
                  Input({"type": panels.RECORD_OPEN, "id": ALL}, "n_clicks"), State(cv.PAGE, "data"),
                  prevent_initial_call=True)
    def record(clicks, page):
        if not _clicked(clicks):
            return no_update
        return cb.open_record(_actor(), ctx.triggered_id["id"], page)

    @app.callback(Output("doctor-settings-dialog", "is_open"), Output("doctor-settings-tz", "options"),
                  Output("doctor-settings-tz", "value"),
                  Output("doctor-settings-bio", "value"), Output("doctor-settings-philosophy", "value"),
                  Output("doctor-settings-feedback", "children"),
                  Input("doctor-settings-open", "n_clicks"), prevent_initial_call=True)
    def open_settings(_n):
        return (True, panels.zone_options(), *cb.load_settings(_actor()), None)

    @app.callback(output={"feedback": Output("doctor-settings-feedback", "children", allow_duplicate=True),
                          "zone_label": Output("doctor-tz", "children"),
                          "page": Output(cv.PAGE, "data", allow_duplicate=True),
                          "changed": Output(CHANGED, "data", allow_duplicate=True)},
                  inputs={"save": Input("doctor-settings-save", "n_clicks")},
                  state={"tz": State("doctor-settings-tz", "value"), "bio": State("doctor-settings-bio", "value"),
                         "philosophy": State("doctor-settings-philosophy", "value")},
                  prevent_initial_call=True)
    def save_settings(save, tz, bio, philosophy):
        return cb.save_settings(_actor(), tz, bio, philosophy)

    hour_fields = [f"doctor-hours-{key}" for key in WEEKDAYS]

    @app.callback(Output("doctor-hours-feedback", "children"), Output(CHANGED, "data", allow_duplicate=True),
                  *(Output(f, "value") for f in hour_fields),
                  Input("doctor-settings-open", "n_clicks"), Input("doctor-hours-apply", "n_clicks"),
                  Input("doctor-hours-default", "n_clicks"), *(State(f, "value") for f in hour_fields),
                  prevent_initial_call=True)
    def weekly_hours(_open, _save, _default, *days):
        """Weekly hours: read when Settings opens, saved or set back to the default by their buttons."""
        if ctx.triggered_id == "doctor-settings-open":
            return None, no_update, *cb.load_weekly_hours(_actor())
        return cb.save_weekly_hours(_actor(), None if ctx.triggered_id == "doctor-hours-default" else list(days))

    @app.callback(Output("doctor-cal-enabled", "value"), Output("doctor-cal-schedule", "value"),
                  Output("doctor-cal-feedback", "children"),
                  Input("doctor-settings-open", "n_clicks"), Input("doctor-cal-save", "n_clicks"),
                  State("doctor-cal-enabled", "value"), State("doctor-cal-schedule", "value"),
                  prevent_initial_call=True)
    def cal_bridge(_open, _save, enabled, schedule):
        if ctx.triggered_id == "doctor-cal-save":
            return cb.save_cal_bridge(_actor(), bool(enabled), schedule)
        return cb.load_cal_bridge(_actor())

    @app.callback(Output("doctor-feed-url", "value"), Output("doctor-feed-feedback", "children"),
                  Input("doctor-settings-open", "n_clicks"), Input("doctor-feed-rotate", "n_clicks"),
                  prevent_initial_call=True)
    def feed_url(_open, _rotate):
        return cb.feed_url(_actor(), rotate=ctx.triggered_id == "doctor-feed-rotate")

    # --- messages ---
    @app.callback(Output("doctor-messages-dialog", "is_open"), Output("doctor-conversations", "children"),
                  Input("doctor-messages-open", "n_clicks"), Input("doctor-conversations-search", "value"),
                  State("doctor-msg-with", "data"), prevent_initial_call=True)
    def open_messages(_n, query, selected):
        return True, cb.open_messages(_actor(), selected, query)

    @app.callback(Output("doctor-thread", "children"), Output("doctor-msg-with", "data"),
                  Output("doctor-conversations", "children", allow_duplicate=True),
                  Output("doctor-messages-open", "children", allow_duplicate=True),
                  Input({"type": panels.CONVERSATION, "id": ALL}, "n_clicks"), State(cv.PAGE, "data"),
                  State("doctor-conversations-search", "value"), prevent_initial_call=True)
    def conversation(clicks, page, query):
        if not _clicked(clicks):
            return no_update, no_update, no_update, no_update
        return cb.show_conversation(_actor(), ctx.triggered_id["id"], page, query)

    @app.callback(Output("doctor-thread", "children", allow_duplicate=True), Output("doctor-msg-body", "value"),
                  Output("doctor-msg-feedback", "children"),
                  Output("doctor-conversations", "children", allow_duplicate=True),
                  Input("doctor-msg-send", "n_clicks"), State("doctor-msg-with", "data"),
                  State("doctor-msg-body", "value"), State(cv.PAGE, "data"),
                  State("doctor-conversations-search", "value"), prevent_initial_call=True)
    def send(_n, user_id, body, page, query):
        return cb.send(_actor(), user_id, body, page, query)

