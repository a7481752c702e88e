"""See a doctor now in the browser's HTTP terms (SPEC §17): the banner, the button through sign-up
(the request kept), the health profile, the card checkout and webhook, the waiting room's JSON."""

import re

from core.walkin import queue
from tests.integration.scheduling.conftest import csrf_header  # noqa: F401

PASSWORD = "Walk-in Patient 2026!"


def _token(page: str) -> str:
    return re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', page).group(1)


def test_the_banner_shows_only_while_a_doctor_is_free(client, taking, clock_at):
    assert "data-dk-see-now" not in client.get("/").get_data(as_text=True)
    assert "data-dk-see-now" not in client.get("/doctors").get_data(as_text=True)
    taking()
    home = client.get("/").get_data(as_text=True)
    assert "data-dk-see-now" in home and "1 available, usual wait —" in home
    assert "1 available" in client.get("/doctors").get_data(as_text=True)


def test_a_new_patient_signs_up_fills_the_profile_pays_and_waits_in_the_queue(client, taking, clock_at):
    doctor = taking()
    start = client.get("/now")
    assert start.status_code == 302 and start.headers["location"] == "/signup?next=/now"
    page = client.get("/signup?next=/now").get_data(as_text=True)
    signed = client.post("/signup?next=/now", data={"full_name": "Nora Now", "email": "nora.now@tests.doktu.eu",
                                                    "password": PASSWORD, "accept_terms": "y", "csrf_token": _token(page)})
    assert signed.status_code == 302 and signed.headers["location"] == "/now"  # the request is kept
    now_page = client.get("/now").get_data(as_text=True)
    assert "Your health profile" in now_page and "Save and pay €35 by card" in now_page
    paying = client.post("/now/profile", data={"date_of_birth": "1990-04-02", "gender": "female",
                                               "primary_conditions": "", "allergies": "",
                                               "csrf_token": _token(now_page)})
    assert paying.status_code == 303 and paying.headers["location"].startswith("/pay/cs_local_")
    card_page = client.get(paying.headers["location"]).get_data(as_text=True)
    assert "Video consultation now" in card_page
    paid = client.post(paying.headers["location"], data={"card_number": "4242 4242 4242 4242", "expiry": "12/30",
                                                         "cvc": "123", "csrf_token": _token(card_page)})
    assert paid.status_code == 303 and paid.headers["location"].startswith("/now/")
    request_id = paid.headers["location"].rsplit("/", 1)[1]
    waiting_page = client.get(paid.headers["location"]).get_data(as_text=True)
    assert "You are number" in waiting_page and "Test my devices" in waiting_page
    state = client.get(f"/api/walkin/{request_id}").get_json()
    assert state["status"] == "waiting" and state["position"] == 1 and state["estimatedMinutes"] >= 1
    assert client.get("/now").headers["location"] == f"/now/{request_id}"  # pressing again: back to the queue
    accepted = queue.accept_next(doctor.actor)
    state = client.get(f"/api/walkin/{request_id}").get_json()
    assert state["status"] == "accepted" and state["appointmentId"] == str(accepted.appointment_id)
    assert client.get(f"/now/{request_id}").headers["location"] == f"/visit/{accepted.appointment_id}"


def test_leaving_from_the_waiting_room_refunds_and_another_patient_gets_404(client, taking, waiting, login,
                                                                            onboarded, clock_at):
    taking()
    patient, started = waiting()
    login(patient.email)
    page = client.get(f"/now/{started.request_id}").get_data(as_text=True)
    left = client.post(f"/now/{started.request_id}/leave", data={"csrf_token": _token(page)})
    assert left.status_code == 303
    assert client.get(f"/api/walkin/{started.request_id}").get_json()["status"] == "left"
    other = onboarded()
    client.delete_cookie("doktu_session")
    login(other.email)
    response = client.get(f"/api/walkin/{started.request_id}")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "ERR_NOT_FOUND"


def test_no_doctor_free_the_page_says_so_and_paying_is_refused_cleanly(client, onboarded, login, clock_at):
    patient = onboarded()
    login(patient.email)
    page = client.get("/now").get_data(as_text=True)
    assert "No doctor is taking consultations right now" in page
    refused = client.post("/now/pay", data={"csrf_token": _token(page)})
    assert refused.status_code == 302 and refused.headers["location"] == "/now"
    assert queue.open_request_id(patient.actor) is None


def test_the_funnel_counts_the_see_a_doctor_now_entry_point(client, taking, onboarded, login, clock_at):
    from sqlalchemy import select

    from core.actor import SYSTEM
    from core.db import unit_of_work
    from core.models import FunnelEvent

    taking()
    patient = onboarded()
    login(patient.email)
    page = client.get("/now").get_data(as_text=True)
    client.post("/now/pay", data={"csrf_token": _token(page)})
    with unit_of_work(SYSTEM) as uow:
        steps = uow.session.scalars(select(FunnelEvent.step).where(FunnelEvent.user_id == patient.user.id)).all()
    assert {"availability_viewed", "slot_held", "checkout_started"} <= set(steps)


def test_the_dashboard_leads_back_to_the_waiting_room_while_the_request_is_open(client, taking, waiting, login,
                                                                               clock_at):
    taking()
    patient, started = waiting()
    login(patient.email)
    page = client.get("/dashboard").get_data(as_text=True)
    assert f'href="/now/{started.request_id}">Back to the waiting room' in page
    queue.leave(patient.actor, started.request_id)
    assert "Back to the waiting room" not in client.get("/dashboard").get_data(as_text=True)
