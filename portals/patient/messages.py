"""The patient's messages with their doctors (SPEC §9 "Messages"; issue 8): a plain page in the
dashboard — the conversation list, one conversation, a form to write. Every rule is
`core.messaging.messages` (who may write to whom; row-level security on `messages`)."""

from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from core.errors import DomainError
from core.messaging import messages
from portals.auth import require_role
from portals.i18n import _
from portals.patient import patient
from portals.patient.dashboard import TABS


def _page(selected: uuid.UUID | None, draft: str = "", error: str | None = None, status: int = 200):
    actor = current_user.actor
    summaries = messages.conversations(actor)
    if selected is None and summaries:
        selected = summaries[0].other.user_id
    conversation = None
    if selected is not None:
        try:
            conversation = messages.read_conversation(actor, selected)
        except DomainError:
            conversation = None
        summaries = messages.conversations(actor)  # opening it marked it read
    html = render_template("patient/messages.html", tabs=TABS, tab="patient.dashboard_messages",
                           summaries=summaries, conversation=conversation, draft=draft, error=error,
                           max_length=messages.MAX_BODY)
    return html, status


@patient.get("/dashboard/messages")
@require_role("patient")
def dashboard_messages():
    try:
        selected = uuid.UUID(request.args["with"]) if request.args.get("with") else None
    except ValueError:
        selected = None
    return _page(selected)


@patient.post("/dashboard/messages/<uuid:user_id>")
@require_role("patient")
def send_message(user_id: uuid.UUID):
    body = request.form.get("body", "")
    try:
        messages.send_message(current_user.actor, user_id, body)
    except DomainError as refused:
        return _page(user_id, draft=body, error=_(refused.message), status=refused.status)
    flash(_("Message sent."), "success")
    return redirect(url_for("patient.dashboard_messages", **{"with": str(user_id)}) + "#thread")
