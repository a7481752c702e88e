"""The admin console's Inbox (issue 25): support conversations waiting on us first, by due time —
a Premium member's (due within 4 working hours) ahead of others received at the same time —
overdue ones in red with the words "Overdue by …". Opening one shows its messages; a patient's
health details stay hidden until the admin gives a reason (`reveal_health_details`, audited). An
answer is emailed to the user with a link back (`reply_as_admin`). No SQL and no rule here."""

from __future__ import annotations

import uuid
from datetime import datetime

import dash_bootstrap_components as dbc
from dash import ALL, MATCH, Dash, Input, Output, State, ctx, dcc, html, no_update

from core import clock
from core.actor import Actor
from core.errors import DomainError, NotFound
from core.i18n import N_
from core.support.inbox import (
    ConversationView,
    InboxRow,
    admin_conversation,
    inbox,
    reply_as_admin,
    reveal_health_details,
)
from portals.admin.views import fmt_time
from portals.i18n import _

OPEN, REVEAL, REASON, REVEALED = "admin-inbox-open", "admin-inbox-reveal", "admin-inbox-reason", "admin-inbox-revealed"


ROLE_LABELS = {"patient": N_("patient"), "doctor": N_("doctor"), "guest": N_("guest")}
# What core.support.inbox writes for a sender with no name of their own (core has no request language).
SENDER_WORDS = {"Former user": N_("Former user"), "Guest": N_("Guest")}


def _who(who: str) -> str:
    """The sender's name; core's stand-ins ("Guest", "Ana (guest)") in the admin's language."""
    if who in SENDER_WORDS:
        return _(who)
    if who.endswith(" (guest)"):
        return _("%(name)s (guest)", name=who.removesuffix(" (guest)"))
    return who


def _conversation_id(value) -> uuid.UUID:
    """A conversation id from the page; a forged one is a conversation that does not exist."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFound() from None

def inbox_body() -> list:
    return [
        html.H1(_("Inbox"), className="h3", id="admin-section-title"),
        html.P(_("Messages to the care team, the most urgent first. Premium members are promised an answer within 4 "
                 "working hours, everyone else within 2 working days (Monday to Friday, 9:00–18:00 Paris, public "
                 "holidays off). Your answer is emailed to them with a link back."), className="dk-muted"),
        html.Div(id="admin-inbox-status", role="status", className="dk-live"),
        html.Div(html.P(_("Loading…"), className="dk-muted"), id="admin-inbox-list"),
        html.Div(id="admin-inbox-detail"),
        dcc.Store(id="admin-inbox-selected"),
        dcc.Store(id="admin-inbox-ready", data=True),
    ]


def _when(moment: datetime | None) -> str:
    return fmt_time(moment, year=False) if moment else "—"


def _late(due: datetime, now: datetime) -> str:
    minutes = int((now - due).total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        padded = str(minutes).zfill(2)
        return _("Overdue by %(hours)s h %(minutes)s min", hours=hours, minutes=padded)
    return _("Overdue by %(minutes)s min", minutes=minutes)


def inbox_table(rows: list[InboxRow], now: datetime):
    if not rows:
        return html.P(_("Nothing waiting: every conversation is answered."), className="dk-muted",
                      id="admin-inbox-empty")
    body = []
    for r in rows:
        due = [_when(r.due_at)] if r.due_at else ["—"]
        if r.overdue:
            due = [html.Strong(_late(r.due_at, now), className="admin-overdue"), html.Br(),
                   _("due %(when)s", when=_when(r.due_at))]
        body.append(html.Tr([
            html.Td(due),
            html.Td(_("Premium") if r.priority else _("Standard")),
            html.Td(f"{_who(r.who)} ({_(ROLE_LABELS.get(r.role, r.role))})"),
            html.Td(r.subject),
            html.Td(_(r.status_label)),
            html.Td(html.Button(_("Open"), id={"type": OPEN, "id": str(r.id)}, type="button",
                                className="dk-btn dk-btn--ghost dk-btn--small",
                                **{"aria-label": _("Open %(subject)s from %(who)s", subject=r.subject,
                                                   who=_who(r.who))})),
        ], className="admin-inbox__overdue" if r.overdue else None))
    return html.Table([
        html.Caption(_("Support conversations, the most urgent first"), className="visually-hidden"),
        html.Thead(html.Tr([html.Th(h, scope="col") for h in
                            (_("Answer due"), _("Support"), _("From"), _("Subject"), _("Status"),
                             _("Conversation"))])),
        html.Tbody(body),
    ], className="dk-table admin-inbox", id="admin-inbox-table")


def conversation_card(c: ConversationView):
    items = []
    for m in c.messages:
        who = _("Doktu care team") if m.from_team else _who(c.who)
        if m.health and m.body is None:
            mid = str(m.id)
            text = html.Div([
                html.P(_("Health details, hidden. Give a reason to read them: it is kept in the audit trail."),
                       className="dk-muted"),
                html.Label([_("Reason for reading (required)"),
                            dbc.Input(id={"type": REASON, "id": mid}, type="text", maxLength=500)]),
                html.Button(_("Reveal"), id={"type": REVEAL, "id": mid}, type="button",
                            className="dk-btn dk-btn--ghost dk-btn--small"),
                html.Div(id={"type": REVEALED, "id": mid}, className="admin-inbox__revealed"),
            ])
        else:
            text = html.P(m.body, style={"whiteSpace": "pre-wrap"})
        items.append(html.Li([html.P(f"{who} · {_when(m.created_at)}", className="dk-muted"), text]))
    return html.Article([
        html.H2(c.subject, className="h5", id="admin-inbox-conversation-title"),
        html.P(f"{_who(c.who)} <{c.email}> · {_(c.status_label)}"
               + (" · " + _("answer due %(when)s", when=_when(c.due_at)) if c.due_at else ""), className="dk-muted"),
        html.Ol(items, className="admin-inbox__messages"),
        html.Label([_("Your answer (emailed to them)"),
                    dbc.Textarea(id="admin-inbox-reply", maxLength=5000, rows=4)]),
        html.Div([
            html.Button(_("Send answer"), id="admin-inbox-send", type="button", className="dk-btn dk-btn--small"),
            html.Button(_("Send and close"), id="admin-inbox-send-close", type="button",
                        className="dk-btn dk-btn--ghost dk-btn--small"),
        ], className="admin-review__actions"),
    ], className="dk-card admin-card", **{"aria-labelledby": "admin-inbox-conversation-title"})


def register(app: Dash, actor_of) -> None:
    """Wire the section: `actor_of()` gives the signed-in admin."""

    def listing():
        return inbox_table(inbox(actor_of()), clock.now())

    @app.callback(Output("admin-inbox-list", "children"), Input("admin-inbox-ready", "data"))
    def show_inbox(_ready):
        return listing()

    @app.callback(Output("admin-inbox-selected", "data"), Output("admin-inbox-detail", "children"),
                  Input({"type": OPEN, "id": ALL}, "n_clicks"), prevent_initial_call=True)
    def open_conversation(clicks):
        if not isinstance(ctx.triggered_id, dict) or not any(clicks or []):
            return no_update, no_update
        cid = ctx.triggered_id["id"]
        return cid, conversation_card(admin_conversation(actor_of(), _conversation_id(cid)))

    @app.callback(Output({"type": REVEALED, "id": MATCH}, "children"), Input({"type": REVEAL, "id": MATCH}, "n_clicks"),
                  State({"type": REASON, "id": MATCH}, "value"), prevent_initial_call=True)
    def reveal(clicks, reason):
        if not clicks:
            return no_update
        try:
            body = reveal_health_details(actor_of(), _conversation_id(ctx.triggered_id.get("id")), reason or "")
        except DomainError as refused:
            return dbc.Alert(_(refused.message), color="danger")
        return html.P(body, style={"whiteSpace": "pre-wrap"})

    @app.callback(Output("admin-inbox-status", "children"), Output("admin-inbox-list", "children",
                                                                    allow_duplicate=True),
                  Output("admin-inbox-detail", "children", allow_duplicate=True),
                  Input("admin-inbox-send", "n_clicks"), Input("admin-inbox-send-close", "n_clicks"),
                  State("admin-inbox-reply", "value"), State("admin-inbox-selected", "data"),
                  prevent_initial_call=True)
    def answer(send, send_close, text, selected):
        if not (send or send_close) or not selected:
            return no_update, no_update, no_update
        actor: Actor = actor_of()
        try:
            reply_as_admin(actor, _conversation_id(selected), text or "",
                           close=ctx.triggered_id == "admin-inbox-send-close")
        except DomainError as refused:
            return dbc.Alert(_(refused.message), color="danger"), no_update, no_update
        return (dbc.Alert(_("Sent: they get it by email with a link back."), color="success"), listing(),
                conversation_card(admin_conversation(actor, _conversation_id(selected))))
