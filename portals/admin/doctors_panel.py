"""The admin console's Doctors view, onboarding part (SPEC §19): invite a doctor by email, the
invitations (resend, revoke), and each doctor's review state with Approve and Suspend — both need a
reason; Suspend first states how many future appointments it cancels and asks to confirm. Callbacks
call core.doctors.onboarding only (no SQL, no rule here)."""

from __future__ import annotations

import uuid

import dash_bootstrap_components as dbc
from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update

from core.actor import Actor
from core.admin_actions import perform
from core.doctors import onboarding
from core.errors import DomainError
from core.i18n import N_
from core.metrics.periods import PARIS
from portals.i18n import _, day, ngettext, when

RESEND, REVOKE = "admin-invitation-resend", "admin-invitation-revoke"
APPROVE, SUSPEND, REASON = "admin-doctor-approve", "admin-doctor-suspend", "admin-doctor-reason"
STATUS_LABELS = {"pending": N_("Waiting for review"), "approved": N_("Approved"), "suspended": N_("Suspended")}
INVITATION_STATES = {"pending": N_("Pending"), "accepted": N_("Accepted"), "expired": N_("Expired"),
                     "revoked": N_("Revoked")}


def onboarding_body() -> list:
    return [
        html.Section([
            html.H2(_("Invite a doctor"), className="h5", id="admin-invite-title"),
            html.P(_("They get a link valid 7 days, usable once, to choose a password and complete their profile."),
                   className="dk-muted"),
            html.Div([
                dbc.Label(_("Doctor's email"), html_for="admin-invite-email"),
                dbc.Input(id="admin-invite-email", type="email", autoComplete="off", maxLength=254),
                html.Button(_("Send invitation"), id="admin-invite-send", type="button", className="dk-btn mt-2"),
            ], className="admin-invite"),
            html.Div(id="admin-invite-status", role="status", className="dk-live"),
            html.H3(_("Invitations"), className="h6 mt-3", id="admin-invitations-title"),
            html.Div(html.P(_("Loading…"), className="dk-muted"), id="admin-invitations-list"),
        ], className="dk-card admin-card admin-row", **{"aria-labelledby": "admin-invite-title"}),
        html.Section([
            html.H2(_("Profiles and approval"), className="h5", id="admin-review-doctors-title"),
            html.P(_("Doctors waiting for review first. Unapproved and suspended doctors are hidden from patients. "
                     "Suspending cancels their future appointments with full refunds."), className="dk-muted"),
            html.Div(id="admin-doctor-status", role="status", className="dk-live"),
            html.Div(id="admin-suspend-confirm-area"),
            html.Div(html.P(_("Loading…"), className="dk-muted"), id="admin-doctor-review-list"),
        ], className="dk-card admin-card admin-row", **{"aria-labelledby": "admin-review-doctors-title"}),
        dcc.Store(id="admin-suspend-pending"),
        dcc.Store(id="admin-onboarding-ready", data=True),
    ]


def invitations_table(found: list[onboarding.InvitationView]):
    if not found:
        return html.P(_("No invitation yet."), className="dk-muted")
    rows = []
    for inv in found:
        iid = str(inv.id)
        actions = [html.Button(_("Resend"), id={"type": RESEND, "id": iid}, type="button",
                               className="dk-btn dk-btn--small",
                               **{"aria-label": _("Resend to %(email)s", email=inv.email)})]
        if inv.state == "pending":
            actions.append(html.Button(_("Revoke"), id={"type": REVOKE, "id": iid}, type="button",
                                       className="dk-btn dk-btn--ghost dk-btn--small",
                                       **{"aria-label": _("Revoke the invitation of %(email)s",
                                                          email=inv.email)}))
        rows.append(html.Tr([html.Th(inv.email, scope="row"), html.Td(_(INVITATION_STATES.get(inv.state, inv.state))),
                             html.Td(when(inv.expires_at, PARIS)),
                             html.Td(actions if inv.state != "accepted" else "—")]))
    return html.Div(html.Table([
        html.Caption(_("Invitations, newest first"), className="visually-hidden"),
        html.Thead(html.Tr([html.Th(_("Email"), scope="col"), html.Th(_("State"), scope="col"),
                            html.Th(_("Link valid until (Paris)"), scope="col"),
                            html.Th(_("Actions"), scope="col")])),
        html.Tbody(rows),
    ], className="dk-table admin-table", id="admin-invitations"), className="admin-table-wrap", tabIndex="0",
        role="region", **{"aria-labelledby": "admin-invitations-title"})


def review_list(found: list[onboarding.ReviewRow]):
    if not found:
        return html.P(_("No doctor yet."), className="dk-muted")
    items = []
    for d in found:
        did = str(d.id)
        submitted = (", " + _("submitted %(day)s", day=day(d.submitted_at.astimezone(PARIS).date(), "medium"))
                     if d.submitted_at else "")
        buttons = []
        if d.status != "approved":
            buttons.append(html.Button(_("Approve") if d.status == "pending" else _("Reinstate"),
                                       id={"type": APPROVE, "id": did}, type="button",
                                       className="dk-btn dk-btn--small"))
        if d.status != "suspended":
            buttons.append(html.Button(_("Suspend"), id={"type": SUSPEND, "id": did}, type="button",
                                       className="dk-btn dk-btn--danger dk-btn--small"))
        items.append(html.Li(html.Article([
            html.H3(d.name, className="h6", id=f"admin-doctor-{did}"),
            html.P(" · ".join([_(d.specialty) if d.specialty else _("No specialty yet"),
                               _("RPPS %(number)s", number=d.rpps or _("not given")), d.email,
                               _(STATUS_LABELS.get(d.status, d.status))]) + submitted, className="dk-muted"),
            html.Label([_("Reason (required, kept in the audit log)"),
                        dbc.Input(id={"type": REASON, "id": did}, type="text", maxLength=1000)]),
            html.Div(buttons, className="admin-review__actions"),
        ], className="admin-doctor", **{"aria-labelledby": f"admin-doctor-{did}"})))
    return html.Ul(items, className="admin-reviews", **{"aria-label": _("Doctors and their review state")})


def _alert(message: str, ok: bool):
    return dbc.Alert(message, color="success" if ok else "danger")


def invite(actor: Actor, email: str | None, base_url: str):
    try:
        view, _token = onboarding.invite_doctor(actor, email or "", base_url=base_url)
    except DomainError as refused:
        return _alert(_(refused.message), False), no_update, no_update
    return (_alert(_("Invitation sent to %(email)s.", email=view.email), True), "",
            invitations_table(onboarding.list_invitations(actor)))


def invitation_action(actor: Actor, trigger, base_url: str):
    if not isinstance(trigger, dict):
        return no_update, no_update
    try:
        if trigger["type"] == RESEND:
            view, _token = onboarding.resend_invitation(actor, uuid.UUID(trigger["id"]), base_url=base_url)
            message = _("A new link was sent to %(email)s; the old one no longer works.", email=view.email)
        else:
            view = onboarding.revoke_invitation(actor, uuid.UUID(trigger["id"]))
            message = _("The invitation of %(email)s is revoked.", email=view.email)
    except (DomainError, ValueError) as refused:
        message = refused.message if isinstance(refused, DomainError) else N_("No such invitation.")
        return _alert(_(message), False), no_update
    return _alert(message, True), invitations_table(onboarding.list_invitations(actor))


def doctor_action(actor: Actor, trigger, reasons: dict):
    """Approve at once; Suspend asks to confirm with the count. Returns (status, confirm area,
    pending store, refreshed list)."""
    if not isinstance(trigger, dict):
        return no_update, no_update, no_update, no_update
    did, reason = trigger["id"], (reasons.get(trigger["id"]) or "").strip()
    try:
        if trigger["type"] == APPROVE:
            perform(actor, "approve_doctor", uuid.UUID(did), reason)
            return (_alert(_("Approved: the doctor is listed and bookable now."), True), None, None,
                    review_list(onboarding.doctors_for_review(actor)))
        if not reason:
            return _alert(_("Give a reason: it is kept in the audit log."), False), None, None, no_update
        count = onboarding.suspension_impact(actor, uuid.UUID(did))
    except (DomainError, ValueError) as refused:
        message = refused.message if isinstance(refused, DomainError) else N_("No such doctor.")
        return _alert(_(message), False), None, None, no_update
    confirm = dbc.Alert([
        html.P(ngettext("Suspending hides this doctor at once and cancels %(num)d future appointment with a full "
                        "refund and a notice to the patient.",
                        "Suspending hides this doctor at once and cancels %(num)d future appointments with full "
                        "refunds and notices to the patients.", count), id="admin-suspend-count"),
        html.Button(ngettext("Suspend and cancel %(num)d appointment", "Suspend and cancel %(num)d appointments",
                             count), id="admin-suspend-confirm", type="button",
                    className="dk-btn dk-btn--danger dk-btn--small"),
        html.Button(_("Keep the doctor"), id="admin-suspend-cancel", type="button",
                    className="dk-btn dk-btn--ghost dk-btn--small"),
    ], color="warning")
    return None, confirm, {"id": did, "count": count, "reason": reason}, no_update


def confirm_suspension(actor: Actor, pending: dict | None):
    """(status, confirm area, pending store, refreshed list)."""
    if not pending:
        return no_update, None, None, no_update
    try:
        # The store comes back from the browser: anything but the shape we wrote is refused plainly.
        if not isinstance(pending, dict):
            raise ValueError("not a pending suspension")
        doctor_id, count, reason = uuid.UUID(str(pending["id"])), int(pending["count"]), str(pending["reason"])
    except (KeyError, TypeError, ValueError):
        return _alert(_("That confirmation expired: choose Suspend again."), False), None, None, no_update
    try:
        done = onboarding.suspend_doctor(actor, doctor_id, reason, confirmed_count=count)
    except DomainError as refused:
        return _alert(_(refused.message), False), None, None, review_list(onboarding.doctors_for_review(actor))
    done_text = ngettext("Suspended. %(num)d future appointment was cancelled and refunded in full.",
                         "Suspended. %(num)d future appointments were cancelled and refunded in full.", done)
    return _alert(done_text, True), None, None, review_list(onboarding.doctors_for_review(actor))


def register(app: Dash, actor_of, base_url_of) -> None:
    """Wire the panel: `actor_of()` gives the signed-in admin, `base_url_of()` the site's address."""

    @app.callback(Output("admin-invitations-list", "children"), Output("admin-doctor-review-list", "children"),
                  Input("admin-onboarding-ready", "data"))
    def show(_ready):
        actor = actor_of()
        return invitations_table(onboarding.list_invitations(actor)), review_list(onboarding.doctors_for_review(actor))

    @app.callback(Output("admin-invite-status", "children"), Output("admin-invite-email", "value"),
                  Output("admin-invitations-list", "children", allow_duplicate=True),
                  Input("admin-invite-send", "n_clicks"), State("admin-invite-email", "value"),
                  prevent_initial_call=True)
    def send(_n, email):
        return invite(actor_of(), email, base_url_of())

    @app.callback(Output("admin-invite-status", "children", allow_duplicate=True),
                  Output("admin-invitations-list", "children", allow_duplicate=True),
                  Input({"type": RESEND, "id": ALL}, "n_clicks"), Input({"type": REVOKE, "id": ALL}, "n_clicks"),
                  prevent_initial_call=True)
    def on_invitation(resend, revoke):
        if not any((resend or []) + (revoke or [])):
            return no_update, no_update
        return invitation_action(actor_of(), ctx.triggered_id, base_url_of())

    @app.callback(Output("admin-doctor-status", "children"), Output("admin-suspend-confirm-area", "children"),
                  Output("admin-suspend-pending", "data"),
                  Output("admin-doctor-review-list", "children", allow_duplicate=True),
                  Input({"type": APPROVE, "id": ALL}, "n_clicks"), Input({"type": SUSPEND, "id": ALL}, "n_clicks"),
                  State({"type": REASON, "id": ALL}, "value"), prevent_initial_call=True)
    def on_doctor(approve, suspend, _reasons):
        if not any((approve or []) + (suspend or [])):
            return no_update, no_update, no_update, no_update
        reasons = {s["id"]["id"]: s.get("value") for s in ctx.states_list[0]}
        return doctor_action(actor_of(), ctx.triggered_id, reasons)

    @app.callback(Output("admin-doctor-status", "children", allow_duplicate=True),
                  Output("admin-suspend-confirm-area", "children", allow_duplicate=True),
                  Output("admin-suspend-pending", "data", allow_duplicate=True),
                  Output("admin-doctor-review-list", "children", allow_duplicate=True),
                  Input("admin-suspend-confirm", "n_clicks"), State("admin-suspend-pending", "data"),
                  prevent_initial_call=True)
    def on_confirm(n, pending):
        if not n:
            return no_update, no_update, no_update, no_update
        return confirm_suspension(actor_of(), pending)

    @app.callback(Output("admin-suspend-confirm-area", "children", allow_duplicate=True),
                  Output("admin-suspend-pending", "data", allow_duplicate=True),
                  Input("admin-suspend-cancel", "n_clicks"), prevent_initial_call=True)
    def on_keep(n):
        if not n:
            return no_update, no_update
        return None, None
