"""An appointment's actions in the admin console (SPEC §22): opened from a table row or an alert
(`/admin/appointments?appointment=<id>`), it names the consultation (doctor, patient, time, status,
money), offers only the actions its state allows, asks for the reason (and the amount of a partial
refund) and shows the audit trail, where the action appears at once. Every rule is in
`core.admin_actions`; this module lays it out."""

from __future__ import annotations

from urllib.parse import parse_qs

import dash_bootstrap_components as dbc
from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update

from core import admin_actions
from core.errors import DomainError
from core.i18n import N_
from portals.admin.views import fmt_cents, fmt_time
from portals.i18n import _

CHOOSE = "admin-act-choose"  # pattern {"type": CHOOSE, "action": <key>}
# Who acted, in the audit trail (the action itself stays its audit code, e.g. `admin.refund`).
ROLES = {"admin": N_("admin"), "doctor": N_("doctor"), "patient": N_("patient"), "system": N_("system")}


def action_labels() -> dict[str, str]:
    return {"refund": _("Refund"), "cancel_for_doctor": _("Cancel for the doctor"),
            "mark_no_show": _("Mark no-show"), "undo_no_show": _("Undo no-show"),
            "resend_notice": _("Resend the notice")}


def status_labels() -> dict[str, str]:
    return {"pending": _("Unpaid hold"), "paid": _("Booked"), "confirmed": _("Booked"), "completed": _("Completed"),
            "no_show": _("No-show"), "cancelled": _("Cancelled")}


def appointment_id_of(search: str | None) -> str | None:
    values = parse_qs((search or "").lstrip("?")).get("appointment")
    return values[0] if values else None


def panel_frame() -> html.Section:
    """The (empty) panel of the Appointments view; filled when the URL names an appointment. (The
    count of actions done, `admin-act-done`, lives in the console's layout: the tables follow it.)"""
    return html.Section([
        html.Div(id="admin-act-body"),
        html.Div(id="admin-act-form"),
        html.Div(id="admin-act-status", role="status", className="dk-live", **{"aria-live": "polite"}),
        dcc.Store(id="admin-act-choice"),
    ], id="admin-act-panel", className="admin-act", **{"aria-label": _("Appointment actions")})


def _euros(cents: int) -> str:
    """`€35.00` / `35,00 €` / `35,00 €` (Babel, the admin's language)."""
    return fmt_cents(cents)


def panel_body(facts: admin_actions.AppointmentFacts) -> list:
    labels, statuses = action_labels(), status_labels()
    money = (_("%(paid)s paid by card, %(refunded)s refunded", paid=_euros(facts.paid_cents),
               refunded=_euros(facts.refunded_cents)) if facts.provider in ("stripe", "local")
             else _("Paid with credit") if facts.provider == "credit" else _("Not paid"))
    buttons = [html.Button(labels[key], id={"type": CHOOSE, "action": key}, type="button",
                           className="dk-btn dk-btn--ghost dk-btn--small", **{"data-action": key})
               for key in facts.actions]
    trail = [html.Li([html.Time(fmt_time(line.at, year=False)), " · ",
                      html.Strong(line.action), f" ({_(ROLES.get(line.actor_role, line.actor_role))})",
                      *([" — ", line.reason] if line.reason else [])]) for line in facts.audit]
    return [
        html.Div([
            html.H2(_("Consultation with %(doctor)s", doctor=facts.doctor), className="h5", id="admin-act-title"),
            dcc.Link(_("Close"), href="/admin/appointments", className="admin-more"),
        ], className="admin-section-head"),
        html.P([html.Strong(facts.patient), f" · {fmt_time(facts.start_at)} · ",
                html.Span(statuses.get(facts.status, facts.status), className=f"dk-chip admin-status "
                                                                              f"admin-status--{facts.status}"),
                " · ", money], id="admin-act-facts"),
        html.Div(buttons, className="admin-act__buttons", role="group",
                 **{"aria-label": _("Actions")}) if buttons else
        html.P(_("No action applies to this consultation now."), className="dk-muted"),
        html.H3(_("Audit trail"), className="h6 admin-act__trail-title"),
        html.Ol(trail, id="admin-act-trail", className="admin-act__trail") if trail else
        html.P(_("Nothing recorded yet."), className="dk-muted", id="admin-act-trail"),
    ]


def action_form(key: str) -> list:
    """The reason (required) and, for a refund, the amount (empty: all that is left)."""
    fields = [html.Label([_("Reason (required, kept in the audit trail)"),
                          dbc.Textarea(id="admin-act-reason", maxLength=admin_actions.MAX_REASON, rows=2,
                                       required=True)], className="admin-act__field")]
    if key == "refund":
        fields.append(html.Label([_("Amount in euros (leave empty to refund all that is left)"),
                                  dbc.Input(id="admin-act-amount", type="number", min=0.01, step=0.01)],
                                 className="admin-act__field"))
    else:
        fields.append(dcc.Input(id="admin-act-amount", type="hidden", value=""))
    return [html.H3(action_labels()[key], className="h6", id="admin-act-form-title"), *fields,
            html.Button(_("Confirm: %(action)s", action=action_labels()[key]), id="admin-act-confirm", type="button",
                        className="dk-btn dk-btn--small")]


def register(app: Dash, actor_of) -> None:
    @app.callback(Output("admin-act-body", "children"), Output("admin-act-panel", "hidden"),
                  Input("admin-url", "search"), Input("admin-act-done", "data"))
    def show_panel(search, _done):
        appointment = appointment_id_of(search)
        if not appointment:
            return [], True
        try:
            return panel_body(admin_actions.appointment_facts(actor_of(), appointment)), False
        except DomainError as refused:
            return [dbc.Alert(_(refused.message), color="danger")], False

    @app.callback(Output("admin-act-form", "children"), Output("admin-act-choice", "data"),
                  Input({"type": CHOOSE, "action": ALL}, "n_clicks"), Input("admin-url", "search"),
                  prevent_initial_call=True)
    def choose(clicks, _search):
        if not isinstance(ctx.triggered_id, dict) or not any(clicks or []):
            return [], None
        key = ctx.triggered_id["action"]
        return action_form(key), key

    @app.callback(Output("admin-act-status", "children"), Output("admin-act-done", "data"),
                  Output("admin-act-form", "children", allow_duplicate=True),
                  Input("admin-act-confirm", "n_clicks"), State("admin-act-choice", "data"),
                  State("admin-act-reason", "value"), State("admin-act-amount", "value"),
                  State("admin-url", "search"), State("admin-act-done", "data"), prevent_initial_call=True)
    def confirm(clicks, key, reason, amount, search, done):
        if not clicks or not key:
            return no_update, no_update, no_update
        try:
            cents = None if amount in (None, "") else round(float(amount) * 100)
            outcome = admin_actions.perform(actor_of(), key, appointment_id_of(search) or "", reason,
                                            amount_cents=cents)
        except (DomainError, ValueError) as refused:
            return dbc.Alert(_(refused.message) if isinstance(refused, DomainError) else _("Enter an amount in euros."),
                             color="danger"), \
                no_update, no_update
        return dbc.Alert(outcome_text(outcome), color="success"), (done or 0) + 1, []


def outcome_text(outcome: admin_actions.Outcome) -> str:
    return {"refund": _("Refunded %(amount)s.", amount=_euros(outcome.amount_cents or 0)),
            "cancel_for_doctor": _("Cancelled; %(amount)s refunded.", amount=_euros(outcome.amount_cents or 0)),
            "mark_no_show": _("Marked as a no-show."),
            "undo_no_show": _("No-show undone: the consultation counts as completed."),
            "resend_notice": _("The notice is on its way again.")}.get(outcome.action, outcome.message)
