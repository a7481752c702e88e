"""The dashboard's Settings tab (SPEC §6, §9, §11; GDPR art. 17): name and email, password, time
zone, reminders and deleting the account — each form's success and refusals, CSRF, sessions,
row-level security, and what deletion cancels, refunds, erases and keeps.

The clock is Monday 2 March 2026, 08:00 in Paris; the paid appointment is Tuesday 3 March, 14:00.
"""

import json
import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from core.accounts import erasure
from core.accounts.authentication import authenticate
from core.accounts.passwords import verify_password
from core.accounts.settings import change_password, get_settings, set_notifications, set_timezone
from core.actor import SYSTEM, Actor
from core.booking.pending import create_pending
from core.db import unit_of_work
from core.errors import Forbidden, Unauthenticated
from core.models import (
    Appointment,
    AppointmentChange,
    AuditEvent,
    OutboxMessage,
    PasswordResetToken,
    Patient,
    Payment,
    Rating,
    Subscription,
    User,
)
from core.payments import credits
from core.payments.checkout import confirm_paid, start_payment
from tests.conftest import TEST_PASSWORD
from tests.integration.booking.conftest import onboarded  # noqa: F401
from tests.integration.scheduling.conftest import clock_at, doctor, paris  # noqa: F401

TOKEN = re.compile(r'name="(?:[a-z]+-)?csrf_token"[^>]*value="([^"]+)"')
NEW_PASSWORD = "Quiet-Harbour-47-Lanterns!"
SETTINGS = "/dashboard/settings"


# --- helpers -----------------------------------------------------------------------------------

def token(client, path=SETTINGS) -> str:
    return TOKEN.search(client.get(path).get_data(as_text=True)).group(1)


def post(client, path, prefix, **fields):
    """Submit one settings form as the browser does (its prefixed fields and CSRF token)."""
    data = {f"{prefix}-{k}": v for k, v in fields.items()}
    data[f"{prefix}-csrf_token"] = token(client)
    return client.post(path, data=data)


def sign_in(client, email, password=TEST_PASSWORD):
    page = client.get("/login").get_data(as_text=True)
    csrf = TOKEN.search(page).group(1)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": csrf})


def user_row(user_id) -> User:
    with unit_of_work(SYSTEM) as uow:
        return uow.session.get(User, user_id)


def patient_row(user_id) -> Patient:
    with unit_of_work(SYSTEM) as uow:
        return uow.session.scalar(select(Patient).where(Patient.user_id == user_id))


def field_html(html: str, field_id: str) -> str:
    """The opening tag of the input or select with this id."""
    return re.search(rf'<(?:input|select)[^>]*\bid="{field_id}"[^>]*>', html, re.S).group(0)


def assert_field_error(html: str, field_id: str, message: str) -> None:
    """The message sits under the field, which says it is invalid and points at the message."""
    tag = field_html(html, field_id)
    assert 'aria-invalid="true"' in tag and f"{field_id}-error" in tag, tag
    assert re.search(rf'<span class="dk-error" id="{field_id}-error">[^<]*{re.escape(message)}', html), message


def paid_appointment(patient, doctor_id, start):
    pending = create_pending(patient.actor, doctor_id, start)
    start_payment(patient.actor, pending.id)
    with unit_of_work(SYSTEM) as uow:
        payment = uow.session.scalar(select(Payment).where(Payment.appointment_id == pending.id).with_for_update())
        confirm_paid(uow, payment, provider_payment_id="pi_settings_test")
    return pending


def booked_directly(by, patient, start):
    """A paid appointment with doctor `by`, inserted as the webhook leaves it (create-pending refuses
    times less than 60 minutes away)."""
    with unit_of_work(SYSTEM) as uow:
        appointment = Appointment(doctor_id=by.doctor.id, patient_id=patient.patient.id, start_at=start,
                                  end_at=start + timedelta(minutes=30), status="confirmed")
        uow.session.add(appointment)
        uow.session.flush()
        uow.session.add(Payment(user_id=patient.user.id, appointment_id=appointment.id, kind="visit",
                                provider="local", status="succeeded", amount_cents=3500,
                                provider_payment_id="pi_soon"))
        return appointment.id


@pytest.fixture
def patient(onboarded, client):  # noqa: F811
    """An onboarded patient, signed in on `client`."""
    made = onboarded(full_name="Ada Lovelace")
    sign_in(client, made.email)
    return made


# --- the page ----------------------------------------------------------------------------------

def test_the_settings_tab_shows_each_form_with_the_current_values(client, patient):
    html = client.get(SETTINGS).get_data(as_text=True)
    assert 'aria-current="page">Settings</a>' in html
    for title in ("Name and email", "Password", "Time zone", "Reminders", "Delete my account"):
        assert f">{title}</h2>" in html
    assert f'value="{patient.email}"' in field_html(html, "account-email")
    assert 'value="Ada Lovelace"' in field_html(html, "account-full_name")
    assert html.count("<form method=\"post\"") >= 4  # one form each (the header's sign-out one aside)
    common = html.index('<optgroup label="Common in Europe">')
    assert common < html.index('value="Europe/Paris"') < html.index('<optgroup label="All time zones">')
    assert html.index('<optgroup label="All time zones">') < html.index('value="Asia/Tokyo"')
    assert 'value="US/Eastern"' not in html  # aliases stay out of the list
    assert "checked" in field_html(html, "notifications-email_reminders")
    assert "checked" not in field_html(html, "notifications-sms_reminders")


def test_every_dashboard_tab_links_to_settings(client, patient):
    for path in ("/dashboard", "/dashboard/book", "/dashboard/profile", "/dashboard/billing"):
        assert f'href="{SETTINGS}"' in client.get(path).get_data(as_text=True), path


def test_settings_need_a_signed_in_patient(client, make_user):
    assert client.get(SETTINGS).headers["Location"].startswith("/login")
    doctor_user = make_user("doctor")
    sign_in(client, doctor_user.email)
    assert client.get(SETTINGS).status_code == 403


# --- name and email ----------------------------------------------------------------------------

def test_the_name_changes_without_the_password(client, patient):
    done = post(client, "/dashboard/settings/account", "account", full_name="  Ada   King ", email=patient.email)
    assert done.status_code == 303 and done.headers["Location"].endswith("/dashboard/settings#account-status")
    html = client.get(SETTINGS).get_data(as_text=True)
    assert re.search(r'role="status" id="account-status"[^>]*>Your name and email are saved.', html)
    assert user_row(patient.user.id).full_name == "Ada King"
    assert "are saved" not in client.get(SETTINGS).get_data(as_text=True)  # said once


def test_the_email_changes_normalised_with_the_current_password_and_the_old_address_is_told(client, patient):
    old = patient.email
    done = post(client, "/dashboard/settings/account", "account", full_name="Ada Lovelace",
                email="  Ada.New@Example.COM ", current_password=TEST_PASSWORD)
    assert done.status_code == 303
    assert user_row(patient.user.id).email == "ada.new@example.com"
    with unit_of_work(SYSTEM) as uow:
        notice = uow.session.scalar(select(OutboxMessage).where(OutboxMessage.recipient == old))
    assert notice.subject == "Your Doktu email address was changed" and "ada.new@example.com" in notice.body_text
    client.post("/logout", data={"csrf_token": token(client, "/logout")})
    assert sign_in(client, "ADA.NEW@example.com").status_code == 302  # the new address signs in


@pytest.mark.parametrize(("fields", "field_id", "message"), [
    ({"email": "ada.new@example.com"}, "account-current_password", "Enter your current password."),
    ({"email": "ada.new@example.com", "current_password": "Wrong-password-123!"}, "account-current_password",
     "Your current password is not right."),
    ({"email": "not-an-address", "current_password": TEST_PASSWORD}, "account-email", "Enter a valid email address"),
    ({"email": ""}, "account-email", "Enter your email."),
    ({"full_name": "   "}, "account-full_name", "Enter your name."),
    ({"email": "x@deleted.doktu.eu", "current_password": TEST_PASSWORD}, "account-email", "cannot be used"),
], ids=["no-password", "wrong-password", "invalid-email", "empty-email", "empty-name", "reserved-domain"])
def test_name_and_email_refusals_are_shown_on_their_field(client, patient, fields, field_id, message):
    data = {"full_name": "Ada Lovelace", "email": patient.email, **fields}
    refused = post(client, "/dashboard/settings/account", "account", **data)
    assert refused.status_code == 422
    assert_field_error(refused.get_data(as_text=True), field_id, message)
    row = user_row(patient.user.id)
    assert (row.email, row.full_name) == (patient.email, "Ada Lovelace")


def test_an_email_used_by_another_account_in_another_case_is_refused(client, patient, make_user):
    other = make_user("patient", email=f"taken-{uuid.uuid4().hex[:6]}@tests.doktu.eu")
    refused = post(client, "/dashboard/settings/account", "account", full_name="Ada Lovelace",
                   email=other.email.upper(), current_password=TEST_PASSWORD)
    assert refused.status_code == 422
    assert_field_error(refused.get_data(as_text=True), "account-email", "This email is already used by another account.")
    assert user_row(patient.user.id).email == patient.email


# --- password ----------------------------------------------------------------------------------

def test_a_new_password_signs_out_every_other_session_but_not_this_one(app, client, patient):
    elsewhere = app.test_client()
    sign_in(elsewhere, patient.email)
    assert elsewhere.get("/dashboard").status_code == 200
    version = user_row(patient.user.id).session_version
    done = post(client, "/dashboard/settings/password", "password", current_password=TEST_PASSWORD,
                new_password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    assert done.status_code == 303 and done.headers["Location"].endswith("#password-status")
    row = user_row(patient.user.id)
    assert row.session_version == version + 1 and verify_password(NEW_PASSWORD, row.password_hash)
    assert row.password_hash.startswith("$2b$12$")  # bcrypt at cost 12
    here = client.get(SETTINGS)
    assert here.status_code == 200 and "Every other device was signed out" in here.get_data(as_text=True)
    assert elsewhere.get("/dashboard").headers["Location"].startswith("/login")
    with pytest.raises(Unauthenticated):
        authenticate(patient.email, TEST_PASSWORD)
    assert authenticate(patient.email, NEW_PASSWORD).id == patient.user.id


@pytest.mark.parametrize(("fields", "field_id", "message"), [
    ({"current_password": "Wrong-password-123!"}, "password-current_password", "Your current password is not right."),
    ({"current_password": ""}, "password-current_password", "Enter your current password."),
    ({"new_password": "Password123!", "confirm": "Password123!"}, "password-new_password", "too easy to guess"),
    ({"new_password": "short", "confirm": "short"}, "password-new_password", "Use at least 12 characters."),
    ({"confirm": "Something-else-47!"}, "password-confirm", "The two new passwords differ."),
    ({"new_password": TEST_PASSWORD, "confirm": TEST_PASSWORD}, "password-new_password", "different from your current"),
], ids=["wrong-current", "no-current", "guessable", "short", "mismatch", "unchanged"])
def test_password_refusals_are_shown_on_their_field_and_change_nothing(client, patient, fields, field_id, message):
    before = user_row(patient.user.id)
    data = {"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD, **fields}
    refused = post(client, "/dashboard/settings/password", "password", **data)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert_field_error(html, field_id, message)
    assert "value=" not in field_html(html, "password-current_password")  # passwords are never sent back
    after = user_row(patient.user.id)
    assert (after.password_hash, after.session_version) == (before.password_hash, before.session_version)


def test_password_guesses_through_settings_are_throttled_per_account(client, patient, limits):
    for _ in range(5):
        assert post(client, "/dashboard/settings/password", "password", current_password="Wrong-password-123!",
                    new_password=NEW_PASSWORD, confirm=NEW_PASSWORD).status_code == 422
    throttled = post(client, "/dashboard/settings/delete", "delete", password="Wrong-password-123!", confirm="DELETE")
    assert throttled.status_code == 429 and "Retry-After" in throttled.headers
    assert user_row(patient.user.id).is_active


# --- time zone ---------------------------------------------------------------------------------

def test_the_saved_time_zone_is_used_for_times_over_the_device_zone(client, patient, doctor):  # noqa: F811
    paid_appointment(patient, doctor.doctor.id, paris(3, 14))
    client.set_cookie("doktu_tz", "Europe/Lisbon")
    assert "Tuesday 3 March 2026 at 13:00 (Europe/Lisbon)" in client.get("/dashboard").get_data(as_text=True)
    done = post(client, "/dashboard/settings/timezone", "timezone", timezone="Asia/Tokyo")
    assert done.status_code == 303
    assert user_row(patient.user.id).timezone == "Asia/Tokyo"
    page = client.get("/dashboard")
    assert "Tuesday 3 March 2026 at 22:00 (Asia/Tokyo)" in page.get_data(as_text=True)
    assert "doktu_tz_saved=Asia/Tokyo" in ",".join(page.headers.getlist("Set-Cookie"))  # site.js re-labels in it too
    html = client.get(SETTINGS).get_data(as_text=True)
    assert "selected" in re.search(r'<option value="Asia/Tokyo"[^>]*>', html).group(0)
    assert "Times are shown in <strong>Asia/Tokyo</strong>" in html
    # Back to automatic: the device's zone again, and the cookie for site.js goes.
    post(client, "/dashboard/settings/timezone", "timezone", timezone="")
    assert user_row(patient.user.id).timezone is None
    page = client.get("/dashboard")
    assert "(Europe/Lisbon)" in page.get_data(as_text=True)
    assert "doktu_tz_saved=;" in ",".join(page.headers.getlist("Set-Cookie"))


def test_the_saved_zone_comes_with_the_session_user_and_ends_with_the_session(client, patient):
    set_timezone(patient.actor, "America/New_York")
    html = client.get(SETTINGS).get_data(as_text=True)
    assert "Times are shown in <strong>America/New York</strong>" in html
    assert client.get_cookie("doktu_tz_saved").value == "America/New_York"
    signed_out = client.post("/logout", data={"csrf_token": token(client, "/logout")})
    assert "doktu_tz_saved=;" in ",".join(signed_out.headers.getlist("Set-Cookie"))
    assert client.get_cookie("doktu_tz_saved") is None


def test_an_unknown_time_zone_is_refused(client, patient):
    refused = post(client, "/dashboard/settings/timezone", "timezone", timezone="Mars/Olympus_Mons")
    assert refused.status_code == 422
    assert_field_error(refused.get_data(as_text=True), "timezone-timezone", "Choose a time zone from the list.")
    assert user_row(patient.user.id).timezone is None


# --- reminders ---------------------------------------------------------------------------------

def test_reminders_save_with_the_phone_in_e164(client, patient):
    done = post(client, "/dashboard/settings/notifications", "notifications", sms_reminders="y",
                phone="0033 6 12-34.56 78")  # email unchecked
    assert done.status_code == 303
    row = user_row(patient.user.id)
    assert (row.email_reminders, row.sms_reminders) == (False, True)
    assert patient_row(patient.user.id).phone == "+33612345678"
    html = client.get(SETTINGS).get_data(as_text=True)
    assert "Your reminder settings are saved." in html
    assert 'value="+33612345678"' in field_html(html, "notifications-phone")
    assert "checked" in field_html(html, "notifications-sms_reminders")


@pytest.mark.parametrize(("fields", "message"), [
    ({"sms_reminders": "y", "phone": ""}, "Enter your mobile number to get SMS reminders."),
    ({"sms_reminders": "y", "phone": "06 12 34 56 78"}, "international format"),
    ({"phone": "+0123456789"}, "international format"),
    ({"phone": "+33 6 12 34 56 78 90 12 34"}, "international format"),
], ids=["sms-without-number", "national-format", "country-code-0", "too-long"])
def test_reminder_refusals_are_shown_on_the_phone_field(client, patient, fields, message):
    refused = post(client, "/dashboard/settings/notifications", "notifications", email_reminders="y", **fields)
    assert refused.status_code == 422
    assert_field_error(refused.get_data(as_text=True), "notifications-phone", message)
    assert (user_row(patient.user.id).sms_reminders, patient_row(patient.user.id).phone) == (False, None)


# --- CSRF --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "prefix", "fields"), [
    ("/dashboard/settings/account", "account", {"full_name": "Mallory", "email": "mallory@example.com"}),
    ("/dashboard/settings/password", "password", {"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD,
                                                  "confirm": NEW_PASSWORD}),
    ("/dashboard/settings/timezone", "timezone", {"timezone": "Asia/Tokyo"}),
    ("/dashboard/settings/notifications", "notifications", {"sms_reminders": "y", "phone": "+33612345678"}),
    ("/dashboard/settings/delete", "delete", {"password": TEST_PASSWORD, "confirm": "DELETE"}),
])
def test_every_settings_form_needs_its_csrf_token(client, patient, path, prefix, fields):
    before = user_row(patient.user.id)
    refused = client.post(path, data={f"{prefix}-{k}": v for k, v in fields.items()})
    assert refused.status_code == 400
    after = user_row(patient.user.id)
    assert (after.full_name, after.email, after.password_hash, after.timezone, after.sms_reminders, after.is_active) \
        == (before.full_name, before.email, before.password_hash, before.timezone, before.sms_reminders, True)


# --- deleting the account ----------------------------------------------------------------------

def test_deleting_the_account_refunds_a_paid_appointment_and_erases_the_person(app, client, patient, doctor):  # noqa: F811
    paid = paid_appointment(patient, doctor.doctor.id, paris(3, 14))
    held = create_pending(patient.actor, doctor.doctor.id, paris(4, 11))  # an unpaid hold goes too
    old_email = patient.email
    set_notifications(patient.actor, email_reminders=True, sms_reminders=True, phone="+33612345678")
    set_timezone(patient.actor, "Europe/Berlin")
    with unit_of_work(SYSTEM) as uow:
        uow.session.add(PasswordResetToken(user_id=patient.user.id, token_hash="a" * 64,
                                           expires_at=paris(2, 9)))
        uow.session.add(OutboxMessage(channel="email", recipient=old_email, subject="Hello Ada",
                                      body_text="Hello Ada Lovelace", status="dev"))
    elsewhere = app.test_client()
    sign_in(elsewhere, old_email)

    page = client.get("/dashboard/settings/delete")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "2 upcoming consultations are cancelled and €35 is refunded to your card" in html
    done = post(client, "/dashboard/settings/delete", "delete", password=TEST_PASSWORD, confirm="DELETE")
    assert done.status_code == 303 and done.headers["Location"] == "/account/deleted"
    goodbye = client.get("/account/deleted").get_data(as_text=True)
    assert "Your account is deleted" in goodbye and "€35 is refunded to your card" in goodbye
    assert client.get("/account/deleted").headers["Location"] == "/"  # once
    assert client.get("/dashboard").headers["Location"].startswith("/login")  # signed out here…
    assert elsewhere.get("/dashboard").headers["Location"].startswith("/login")  # …and everywhere

    with unit_of_work(SYSTEM) as uow:
        s = uow.session
        user = s.get(User, patient.user.id)
        assert re.fullmatch(r"deleted-[0-9a-f-]{36}@deleted\.doktu\.eu", user.email)
        assert (user.full_name, user.is_active, user.timezone, user.sms_reminders) == ("", False, None, False)
        assert not verify_password(TEST_PASSWORD, user.password_hash)
        profile = s.scalar(select(Patient).where(Patient.user_id == patient.user.id))
        assert (profile.date_of_birth, profile.gender, profile.primary_conditions, profile.allergies,
                profile.phone) == (None, None, [], [], None)
        # The appointments and the payment stay, for the accounts: cancelled, refunded in full.
        kept = {a.id: a for a in s.scalars(select(Appointment).where(Appointment.patient_id == patient.patient.id))}
        assert {a.status for a in kept.values()} == {"cancelled"} and set(kept) == {paid.id, held.id}
        assert kept[paid.id].cancelled_by == "patient"
        payment = s.scalar(select(Payment).where(Payment.appointment_id == paid.id, Payment.status != "cancelled"))
        assert (payment.status, payment.refunded_cents, payment.user_id) == ("refunded", 3500, patient.user.id)
        assert s.scalar(select(AppointmentChange).where(AppointmentChange.appointment_id == paid.id)).action == "cancel"
        assert s.scalars(select(PasswordResetToken).where(PasswordResetToken.user_id == patient.user.id)).all() == []
        assert s.scalars(select(OutboxMessage).where(OutboxMessage.recipient == old_email)).all() == []
        audit = s.scalar(select(AuditEvent).where(AuditEvent.action == "account.erased",
                                                  AuditEvent.subject_id == str(patient.user.id)))
    assert audit.details == {"cancelledAppointments": 2, "refundedCents": 3500, "creditForfeitedCents": 0,
                             "planCancelled": False}
    written = json.dumps(audit.details) + (audit.subject_id or "")
    assert old_email not in written and "Ada" not in written and "+336" not in written

    # A deleted user cannot sign in, by the old address or the placeholder.
    refused = sign_in(client, old_email)
    assert refused.status_code == 401
    with pytest.raises(Unauthenticated):
        authenticate(user.email, TEST_PASSWORD)


def test_deletion_is_refused_while_a_paid_consultation_starts_within_60_minutes(client, patient, doctor, clock_at):  # noqa: F811
    soon = booked_directly(doctor, patient, paris(2, 8, 50))  # 50 minutes from now
    page = client.get("/dashboard/settings/delete").get_data(as_text=True)
    assert erasure.BLOCKING_MESSAGE in page and 'name="delete-password"' not in page
    refused = post(client, "/dashboard/settings/delete", "delete", password=TEST_PASSWORD, confirm="DELETE")
    assert refused.status_code == 422 and erasure.BLOCKING_MESSAGE in refused.get_data(as_text=True)
    row = user_row(patient.user.id)
    assert (row.is_active, row.email) == (True, patient.email)
    with unit_of_work(SYSTEM) as uow:
        assert uow.session.get(Appointment, soon).status == "confirmed"
    clock_at(paris(2, 9, 21))  # once it is over, the account can go
    assert post(client, "/dashboard/settings/delete", "delete", password=TEST_PASSWORD,
                confirm="DELETE").status_code == 303
    with unit_of_work(SYSTEM) as uow:
        assert uow.session.get(Appointment, soon).status == "confirmed"  # past: kept as it was


@pytest.mark.parametrize(("fields", "field_id", "message"), [
    ({"password": "Wrong-password-123!", "confirm": "DELETE"}, "delete-password", "Your password is not right."),
    ({"password": "", "confirm": "DELETE"}, "delete-password", "Enter your password."),
    ({"password": TEST_PASSWORD, "confirm": "delete"}, "delete-confirm", "Type the word shown, in capital letters"),
    ({"password": TEST_PASSWORD, "confirm": ""}, "delete-confirm", "Type the word shown, in capital letters"),
], ids=["wrong-password", "no-password", "lower-case", "no-confirmation"])
def test_deletion_needs_the_password_and_the_word(client, patient, doctor, fields, field_id, message):  # noqa: F811
    paid = paid_appointment(patient, doctor.doctor.id, paris(3, 14))
    refused = post(client, "/dashboard/settings/delete", "delete", **fields)
    assert refused.status_code == 422
    assert_field_error(refused.get_data(as_text=True), field_id, message)
    assert user_row(patient.user.id).is_active
    with unit_of_work(SYSTEM) as uow:
        assert uow.session.get(Appointment, paid.id).status == "confirmed"  # nothing cancelled


def test_the_deletion_word_is_the_pages_language():
    """Issue 18: a French page asks for SUPPRIMER, a German one for LÖSCHEN; any of them is accepted
    (the form cannot tell which page the patient read)."""
    from core.accounts import erasure

    assert {"DELETE", "SUPPRIMER", "LÖSCHEN"} == erasure.CONFIRM_WORDS



def test_deletion_stops_a_renewing_plan_and_states_the_credit_lost(client, patient):
    with unit_of_work(SYSTEM) as uow:
        plan = Subscription(user_id=patient.user.id, plan="basic", status="active", credits_per_period=1,
                            current_period_end=paris(30, 8))
        uow.session.add(plan)
        uow.session.flush()
        credits.add_entry(uow.session, patient.user.id, "grant", 2900, note="test grant")
    page = client.get("/dashboard/settings/delete").get_data(as_text=True)
    assert "Your credit of €29 is lost" in page and "Your plan is cancelled: it does not renew." in page
    post(client, "/dashboard/settings/delete", "delete", password=TEST_PASSWORD, confirm="DELETE")
    with unit_of_work(SYSTEM) as uow:
        actions = set(uow.session.scalars(select(AuditEvent.action).where(
            AuditEvent.subject_id.in_((str(plan.id), str(patient.user.id))))))
        erased = uow.session.scalar(select(AuditEvent).where(AuditEvent.action == "account.erased",
                                                             AuditEvent.subject_id == str(patient.user.id)))
    assert actions == {"subscription.cancel_requested", "account.erased"}
    assert erased.details["creditForfeitedCents"] == 2900 and erased.details["planCancelled"] is True


def test_deletion_clears_free_texts_on_kept_rows(client, patient, doctor, clock_at):  # noqa: F811
    past = booked_directly(doctor, patient, paris(2, 7, 0))
    with unit_of_work(SYSTEM) as uow:
        uow.session.execute(update(Appointment).where(Appointment.id == past).values(status="completed"))
        uow.session.add(Rating(appointment_id=past, patient_id=patient.patient.id, doctor_id=doctor.doctor.id,
                               stars=5, comment="Dr Paris helped me with my asthma. — Ada"))
    erasure.erase_account(patient.actor, password=TEST_PASSWORD, confirmation="DELETE")
    with unit_of_work(SYSTEM) as uow:
        rating = uow.session.scalar(select(Rating).where(Rating.appointment_id == past))
        assert (rating.stars, rating.comment) == (5, None)  # the doctor's average keeps the stars


# --- who may change what -----------------------------------------------------------------------

def test_rls_keeps_a_patient_from_changing_another_account(make_user):
    mine, theirs = make_user("patient"), make_user("patient")
    with unit_of_work(mine.actor) as uow:
        users = uow.session.execute(update(User).where(User.id == theirs.user.id).values(full_name="Mallory"))
        patients = uow.session.execute(update(Patient).where(Patient.user_id == theirs.user.id).values(phone="+3361"))
        assert (users.rowcount, patients.rowcount) == (0, 0)
    assert user_row(theirs.user.id).full_name == "Test Person" and patient_row(theirs.user.id).phone is None
    # The services take no user id: the actor is the account they change.
    set_timezone(mine.actor, "Asia/Tokyo")
    assert (user_row(mine.user.id).timezone, user_row(theirs.user.id).timezone) == ("Asia/Tokyo", None)


def test_the_services_check_the_role(make_user):
    a_doctor = make_user("doctor")
    with pytest.raises(Forbidden):
        set_notifications(a_doctor.actor, email_reminders=True, sms_reminders=False, phone=None)
    with pytest.raises(Forbidden):
        erasure.erase_account(a_doctor.actor, password=TEST_PASSWORD, confirmation="DELETE")
    for nobody in (SYSTEM, Actor(None, "anonymous")):
        with pytest.raises(Forbidden):
            change_password(nobody, current_password=TEST_PASSWORD, new_password=NEW_PASSWORD)
        with pytest.raises(Forbidden):
            get_settings(nobody)
    assert get_settings(a_doctor.actor).email == a_doctor.email  # name, email, password and zone: any role


def test_message_emails_can_be_switched_off_and_on_in_the_reminders_form(client, patient):
    """Issue 25: "Email me when a doctor writes" is on by default and saved with the reminders."""
    html = client.get("/dashboard/settings").get_data(as_text=True)
    assert "checked" in field_html(html, "notifications-email_message_notices")
    saved = post(client, "/dashboard/settings/notifications", "notifications", email_reminders="y")
    assert saved.status_code in (200, 303)
    assert (user_row(patient.user.id).email_reminders, user_row(patient.user.id).email_message_notices) == (True,
                                                                                                            False)
    post(client, "/dashboard/settings/notifications", "notifications", email_reminders="y", email_message_notices="y")
    assert user_row(patient.user.id).email_message_notices is True
