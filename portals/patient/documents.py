"""After the consultation, the patient's side (SPEC §18): the Documents tab and the document
downloads (summaries, prescriptions and sick notes newest first; the receipts and credit notes of
Billing), and the rating form of the dashboard. A PDF is served to its patient
or its doctor only (the service and RLS decide; an admin gets a 404), never cached by the browser."""

from __future__ import annotations

import uuid

from flask import Response, flash, redirect, render_template, request, url_for
from flask_login import current_user

from core.documents import issuing, receipts
from core.errors import DomainError, NotFound
from core.i18n import N_
from core.ratings import reviews
from portals.auth import require_role
from portals.i18n import _
from portals.patient import patient
from portals.patient.dashboard import TABS


def _pdf(filename: str, data: bytes) -> Response:
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(N_("No such document.")) from None


@patient.get("/dashboard/documents")
@require_role("patient")
def dashboard_documents():
    return render_template("patient/dashboard_documents.html", tabs=TABS, tab="patient.dashboard_documents",
                           documents=issuing.list_documents(current_user.actor))


@patient.post("/dashboard/appointments/<uuid:appointment_id>/rate")
@require_role("patient")
def rate_consultation(appointment_id: uuid.UUID):
    """The dashboard's rating form (SPEC §18); the service decides (once, within 30 days, 1–5)."""
    try:
        stars = int(request.form.get("stars", ""))
    except ValueError:
        flash(_("Choose 1 to 5 stars."), "error")
        return redirect(url_for("patient.dashboard") + "#rate")
    try:
        given = reviews.rate_consultation(current_user.actor, appointment_id, stars, request.form.get("comment"))
    except DomainError as refused:
        flash(_(refused.message), "error")
        return redirect(url_for("patient.dashboard") + "#rate")
    message = _("Thank you for your rating.")
    if given.comment_status == "pending":
        message += " " + _("Your comment will be published once our team has read it.")
    flash(message, "info")
    return redirect(url_for("patient.dashboard"))


@patient.get("/documents/<document_id>.pdf")
@require_role("patient", "doctor")
def download_document(document_id: str):
    filename, data = issuing.download_document(current_user.actor, _uuid(document_id))
    return _pdf(filename, data)


@patient.get("/dashboard/billing/receipts/<receipt_id>.pdf")
@require_role("patient", "admin")
def download_receipt(receipt_id: str):
    filename, data = receipts.download_receipt(current_user.actor, _uuid(receipt_id))
    return _pdf(filename, data)


