"""The admin console's Doctors view, onboarding part (SPEC §19): invite, resend, revoke; Approve
needs a reason; Suspend states the count first and only a confirmation suspends."""

import json

from sqlalchemy import select

from core.actor import SYSTEM
from core.db import unit_of_work
from core.doctors import onboarding
from core.models import Appointment, Doctor
from portals.admin import doctors_panel as panel
from tests.integration.scheduling.conftest import paris

BASE = "https://doktu.example"


def text_of(component) -> str:
    return json.dumps(component.to_plotly_json(), default=lambda c: c.to_plotly_json())


def test_invite_resend_revoke(make_user, clock_at):
    admin = make_user("admin")
    status, cleared, table = panel.invite(admin.actor, "new.doc@tests.doktu.eu", BASE)
    assert "Invitation sent to new.doc@tests.doktu.eu" in text_of(status) and cleared == ""
    assert "Pending" in text_of(table)
    refused, *_ = panel.invite(admin.actor, "not-an-email", BASE)
    assert "valid email" in text_of(refused)
    [invitation] = onboarding.list_invitations(admin.actor)
    status, table = panel.invitation_action(admin.actor, {"type": panel.RESEND, "id": str(invitation.id)}, BASE)
    assert "old one no longer works" in text_of(status)
    newest = next(i for i in onboarding.list_invitations(admin.actor) if i.state == "pending")
    status, table = panel.invitation_action(admin.actor, {"type": panel.REVOKE, "id": str(newest.id)}, BASE)
    assert "revoked" in text_of(status)
    assert {i.state for i in onboarding.list_invitations(admin.actor)} == {"revoked"}


def test_approve_needs_a_reason_and_suspend_confirms_the_count(make_user, appointment, deferred, clock_at):
    admin, doctor = make_user("admin"), make_user("doctor", full_name="Dr. Panel", status="pending",
                                                  rpps="10003123451")
    patient = make_user("patient")
    trigger = {"type": panel.APPROVE, "id": str(doctor.doctor.id)}
    status, *_ = panel.doctor_action(admin.actor, trigger, {})
    assert "reason" in text_of(status)
    status, _area, _pending, listing = panel.doctor_action(admin.actor, trigger, {str(doctor.doctor.id): "Checked"})
    assert "Approved" in text_of(status) and "Suspend" in text_of(listing)

    booked = appointment(doctor, patient, paris(4, 11))
    suspend = {"type": panel.SUSPEND, "id": str(doctor.doctor.id)}
    status, area, pending, _ = panel.doctor_action(admin.actor, suspend, {str(doctor.doctor.id): "Complaint"})
    assert status is None and "cancels 1 future appointment" in text_of(area)
    assert pending == {"id": str(doctor.doctor.id), "count": 1, "reason": "Complaint"}
    with unit_of_work(SYSTEM) as uow:
        assert uow.session.get(Doctor, doctor.doctor.id).status == "approved"  # nothing before confirming
    status, area, pending, listing = panel.confirm_suspension(admin.actor, pending)
    assert "1 future appointment was cancelled" in text_of(status) and area is None and pending is None
    with unit_of_work(SYSTEM) as uow:
        assert uow.session.get(Doctor, doctor.doctor.id).status == "suspended"
        assert uow.session.scalar(select(Appointment.cancelled_by).where(Appointment.id == booked)) == "admin"
    assert "Reinstate" in text_of(listing)


def test_the_invitations_table_scrolls_in_a_focusable_named_region(app):
    """On a phone a long invitations list scrolls sideways in its own box: a keyboard user must be
    able to reach it (axe `scrollable-region-focusable`, found by CI's 375 px run), like every
    console table."""
    import uuid
    from datetime import UTC, datetime, timedelta

    now = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    found = [onboarding.InvitationView(uuid.uuid4(), f"dr.{n}.with.a.long.address@clinic.example", now,
                                       now + timedelta(days=7), "pending") for n in range(3)]
    with app.test_request_context("/admin/doctors"):
        box = panel.invitations_table(found)
    assert box.className == "admin-table-wrap"
    assert box.tabIndex == "0" and box.role == "region"
    assert getattr(box, "aria-labelledby") == "admin-invitations-title"
