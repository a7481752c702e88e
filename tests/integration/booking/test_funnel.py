"""The booking funnel is recorded by the product itself (SPEC §9), one event per step, linked from
the anonymous visitor to the patient."""

import re
import uuid

from sqlalchemy import select

from core.actor import SYSTEM
from core.db import unit_of_work
from core.models import FunnelEvent
from tests.integration.scheduling.conftest import paris

TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def token(client, path) -> str:
    return TOKEN.search(client.get(path).get_data(as_text=True)).group(1)


def test_a_guest_walks_the_funnel_to_paid(client, doctor):
    client.get(f"/doctors/{doctor.doctor.id}")
    start = paris(3, 14).isoformat()
    client.post(f"/book/{doctor.doctor.id}", data={"start": start, "csrf_token": token(client, "/login")})
    book = f"/book/{doctor.doctor.id}?start={start}"
    email = f"funnel-{uuid.uuid4().hex[:6]}@tests.doktu.eu"
    client.post(f"/signup?next={book}", data={"accept_terms": "y", "email": email, "password": "Correct-Horse-42!",
                                              "full_name": "Funnel Person", "csrf_token": token(client, "/signup")})
    held = client.post(f"/book/{doctor.doctor.id}", data={"start": start, "csrf_token": token(client, book)})
    checkout = held.headers["Location"]
    client.post(f"/onboarding?next={checkout}", data={"date_of_birth": "1990-05-04", "gender": "female",
                                                     "csrf_token": token(client, checkout)})
    pay = client.post(f"{checkout}/pay", data={"csrf_token": token(client, checkout)}).headers["Location"]
    pay_path = "/" + pay.split("://", 1)[-1].split("/", 1)[1]
    client.post(pay_path, data={"card_number": "4242424242424242", "expiry": "12/34", "cvc": "123",
                                "csrf_token": token(client, pay_path)})
    with unit_of_work(SYSTEM) as uow:
        events = uow.session.scalars(select(FunnelEvent).where(
            FunnelEvent.doctor_id == doctor.doctor.id).order_by(FunnelEvent.id)).all()
        signed_up = uow.session.scalar(select(FunnelEvent).where(FunnelEvent.step == "signed_up")
                                       .order_by(FunnelEvent.id.desc()).limit(1))
    assert [e.step for e in events] == ["availability_viewed", "slot_held", "checkout_started", "paid"]
    viewed, held_event, started, paid = events
    assert viewed.user_id is None and viewed.visitor_id and signed_up.visitor_id == viewed.visitor_id
    assert held_event.user_id == signed_up.user_id == started.user_id == paid.user_id
    assert held_event.appointment_id == started.appointment_id == paid.appointment_id is not None
