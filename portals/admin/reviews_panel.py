"""The admin console's Reviews section (SPEC §18, §22): comments waiting for a decision, each
approved (published on the doctor's profile) or hidden with a required reason, through the
console's actions (`core.admin_actions`; `core.ratings.reviews.moderate_review` writes the audit
event). Admins see the comment, the stars and the doctor — never the consultation's medical content."""

from __future__ import annotations

import uuid

import dash_bootstrap_components as dbc
from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update

from core.actor import Actor
from core.admin_actions import perform
from core.errors import DomainError
from core.i18n import N_
from core.ratings.reviews import PendingReview, moderation_queue
from portals.admin.views import fmt_time
from portals.i18n import _, ngettext

APPROVE, HIDE = "admin-review-approve", "admin-review-hide"  # patterns {"type": …, "id": <rating id>}
REASON = "admin-review-reason"


def reviews_body() -> list:
    return [
        html.H1(_("Reviews"), className="h3", id="admin-section-title"),
        html.P(_("Comments patients left with their rating. Nothing is published before you approve it; the "
                 "stars count at once. Each decision needs a reason and is kept in the audit trail."),
               className="dk-muted"),
        html.Div(id="admin-reviews-status", role="status", className="dk-live"),
        html.Div(html.P(_("Loading…"), className="dk-muted"), id="admin-reviews-list"),
        dcc.Store(id="admin-reviews-ready", data=True),
    ]


def review_cards(found: list[PendingReview]):
    if not found:
        return html.P(_("No comment is waiting for a decision."), className="dk-muted", id="admin-reviews-empty")
    cards = []
    for r in found:
        rid = str(r.id)
        cards.append(html.Li(html.Article([
            html.H2(f"{r.doctor_name} · {'★' * r.stars}{'☆' * (5 - r.stars)}", className="h6",
                    id=f"admin-review-title-{rid}"),
            html.P(ngettext("%(num)d of 5 stars, %(when)s", "%(num)d of 5 stars, %(when)s", r.stars,
                            when=fmt_time(r.created_at)), className="visually-hidden"),
            html.Blockquote(r.comment, className="admin-review__comment"),
            # The input inside its label: pattern-matched ids have no plain string for `for=`.
            html.Label([_("Reason for your decision (required)"),
                        dbc.Input(id={"type": REASON, "id": rid}, type="text", maxLength=500)],
                       className="admin-review__reason"),
            html.Div([
                html.Button(_("Approve and publish"), id={"type": APPROVE, "id": rid}, type="button",
                            className="dk-btn dk-btn--small"),
                html.Button(_("Hide"), id={"type": HIDE, "id": rid}, type="button",
                            className="dk-btn dk-btn--ghost dk-btn--small"),
            ], className="admin-review__actions"),
        ], className="dk-card admin-card", **{"aria-labelledby": f"admin-review-title-{rid}"})))
    return html.Ul(cards, className="admin-reviews", **{"aria-label": _("Comments waiting for a decision")})


def decide(actor: Actor, trigger: dict | None, reasons: dict[str, str | None]):
    """(status message, refreshed list) after Approve or Hide."""
    if not isinstance(trigger, dict):
        return no_update, no_update
    rid = trigger["id"]
    try:
        approve = trigger["type"] == APPROVE
        perform(actor, "approve_review" if approve else "hide_review", uuid.UUID(rid), reasons.get(rid))
    except (DomainError, ValueError) as refused:
        # (N_ outside `_()`: the extractor does not look inside another marked call's arguments.)
        message = refused.message if isinstance(refused, DomainError) else N_("No such review.")
        return dbc.Alert(_(message), color="danger"), no_update
    message = _("Published on the doctor's profile.") if approve else _("Hidden: it will not be published.")
    return dbc.Alert(message, color="success"), review_cards(moderation_queue(actor))


def register(app: Dash, actor_of) -> None:
    """Wire the section: `actor_of()` gives the signed-in admin."""

    @app.callback(Output("admin-reviews-list", "children"), Input("admin-reviews-ready", "data"))
    def show_reviews(_ready):
        return review_cards(moderation_queue(actor_of()))

    @app.callback(Output("admin-reviews-status", "children"),
                  Output("admin-reviews-list", "children", allow_duplicate=True),
                  Input({"type": APPROVE, "id": ALL}, "n_clicks"), Input({"type": HIDE, "id": ALL}, "n_clicks"),
                  State({"type": REASON, "id": ALL}, "value"), prevent_initial_call=True)
    def moderate(approve_clicks, hide_clicks, _reasons):
        if not any((approve_clicks or []) + (hide_clicks or [])):
            return no_update, no_update
        reasons = {s["id"]["id"]: s.get("value") for s in ctx.states_list[0]}
        return decide(actor_of(), ctx.triggered_id, reasons)
