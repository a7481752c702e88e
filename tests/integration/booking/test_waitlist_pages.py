"""The waitlist's pages (SPEC §17): "tell me if an earlier time frees up" on the booking card, the
offer on the dashboard, taking it (a move, or a booking then the checkout) or letting it go."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from core import tasks
from core.actor import SYSTEM
from core.booking import changes, waitlist
from core.db import unit_of_work
from core.models import Appointment, WaitlistEntry
from tests.integration.booking.test_dashboard import token
from tests.integration.scheduling.conftest import paris


@pytest.fixture(autouse=True)
def owed_effects_run_at_once():
    previous = tasks.set_dispatcher(tasks.run_inline)
    yield
    tasks.set_dispatcher(previous)


def cancel_someone_at(make_user, doctor, start):
    admin, other = make_user("admin"), make_user("patient")
    with unit_of_work(SYSTEM) as uow:
        booked = Appointment(doctor_id=doctor.doctor.id, patient_id=other.patient.id, start_at=start,
                             end_at=start + timedelta(minutes=30), status="confirmed")
        uow.session.add(booked)
        uow.session.flush()
        booked_id = booked.id
    changes.cancel(admin.actor, booked_id, reason="Doctor unwell")


def test_a_guest_is_asked_to_log_in_and_a_patient_gets_the_form(client, doctor, onboarded, login):
    profile = f"/doctors/{doctor.doctor.id}"
    html = client.get(profile).get_data(as_text=True)
    assert "Log in to be told if an earlier time frees up" in html and 'name="until"' not in html
    login(onboarded().email)
    html = client.get(profile).get_data(as_text=True)
    assert 'name="until"' in html and 'min="2026-03-02"' in html and 'value="2026-03-16"' in html


def test_asking_from_the_card_then_taking_the_offer_from_the_dashboard_books_it(
        client, doctor, onboarded, make_user, login):
    patient = onboarded()
    login(patient.email)
    profile = f"/doctors/{doctor.doctor.id}"
    answer = client.post(f"{profile}/waitlist", data={"until": "2026-03-04", "csrf_token": token(client, profile)})
    assert answer.status_code == 302 and answer.headers["Location"].endswith("#waitlist")
    html = client.get(profile).get_data(as_text=True)
    assert "We will email you if a time before the end of" in html and "Stop telling me" in html

    cancel_someone_at(make_user, doctor, paris(3, 11))

    html = client.get("/dashboard").get_data(as_text=True)
    assert "An earlier time has freed up with Dr Paris" in html and "Book this time" in html
    offer = waitlist.my_waitlist(patient.actor)[0].offer
    taken = client.post(f"/dashboard/waitlist/offers/{offer.id}/accept", data={"csrf_token": token(client)})
    assert taken.status_code == 302 and "/checkout/" in taken.headers["Location"]


def test_letting_an_offer_go_keeps_waiting(client, doctor, onboarded, make_user, login):
    patient = onboarded()
    login(patient.email)
    waitlist.join_waitlist(patient.actor, doctor.doctor.id, date(2026, 3, 4))
    cancel_someone_at(make_user, doctor, paris(3, 11))
    offer = waitlist.my_waitlist(patient.actor)[0].offer
    client.post(f"/dashboard/waitlist/offers/{offer.id}/decline", data={"csrf_token": token(client)})
    html = client.get("/dashboard").get_data(as_text=True)
    assert "Waiting for an earlier time with Dr Paris" in html and "Book this time" not in html


def test_a_bad_date_is_a_readable_message_and_a_stranger_cannot_stop_someone_elses_wait(
        client, doctor, onboarded, login):
    owner, stranger = onboarded(), onboarded()
    entry = waitlist.join_waitlist(owner.actor, doctor.doctor.id, date(2026, 3, 4))
    login(stranger.email)
    profile = f"/doctors/{doctor.doctor.id}"
    client.post(f"{profile}/waitlist", data={"until": "2025-01-01", "csrf_token": token(client, profile)})
    assert "Pick a date from today on." in client.get(profile).get_data(as_text=True)
    client.post(f"/dashboard/waitlist/{entry.id}/leave", data={"csrf_token": token(client)})
    with unit_of_work(SYSTEM) as uow:
        assert uow.session.scalar(select(WaitlistEntry.status).where(WaitlistEntry.id == entry.id)) == "active"
