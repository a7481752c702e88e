"""`POST /api/payment/webhook` (SPEC §8): signature, each event once, replays, out-of-order events,
duplicate deliveries in parallel, and payments that arrive after the hold was released."""

import json
import threading
import uuid
from datetime import date, datetime, time, timedelta

from sqlalchemy import select, text

from core import clock
from core import db as core_db
from core.actor import SYSTEM, Actor
from core.booking.pending import create_pending
from core.db import unit_of_work
from core.models import Appointment, Patient, Payment
from core.payments.checkout import start_payment
from core.payments.webhooks import handle, signed_event
from core.scheduling.holds import unlock_stale_slots
from tests.integration.scheduling.conftest import PARIS, paris

WEBHOOK = "/api/payment/webhook"


def completed(session_id, amount=3500, intent=None):
    return {"id": session_id, "object": "checkout.session", "payment_status": "paid", "amount_total": amount,
            "payment_intent": intent or "pi_test_" + uuid.uuid4().hex[:10], "metadata": {}}


def post(client, event_type, obj, secret=None):
    payload, header = signed_event(event_type, obj, secret=secret)
    return client.post(WEBHOOK, data=payload, headers={"Stripe-Signature": header,
                                                       "Content-Type": "application/json"})


def state(appointment_id):
    with unit_of_work(SYSTEM) as uow:
        a = uow.session.get(Appointment, appointment_id)
        p = uow.session.scalars(select(Payment).where(Payment.appointment_id == appointment_id)).all()
        return a.status, [(x.status, x.refunded_cents) for x in p]


def test_unsigned_forged_and_tampered_events_are_refused(client, held):
    patient, pending = held()
    session = start_payment(patient.actor, pending.id)
    payload, header = signed_event("checkout.session.completed", completed(session.session_id))
    for body, signature in ((payload, ""), (payload, "t=1,v1=deadbeef"),
                            (payload.replace(b"3500", b"1"), header)):
        response = client.post(WEBHOOK, data=body, headers={"Stripe-Signature": signature})
        assert response.status_code == 400
        assert response.get_json()["error"]["code"] == "ERR_WEBHOOK_SIGNATURE"
    forged = post(client, "checkout.session.completed", completed(session.session_id), secret="whsec_not_ours")
    assert forged.status_code == 400
    assert state(pending.id) == ("pending", [("pending", 0)])


def test_a_paid_webhook_frees_the_hold_and_its_redis_mirror(client, held, app):
    """Issue 22: the webhook path freed the hold in PostgreSQL but left `slot_holds:<id>` in Redis."""
    patient, pending = held()
    mirror = app.extensions["doktu"].redis
    assert mirror.get(f"slot_holds:{pending.slot_id}").decode() == str(patient.user.id)
    session = start_payment(patient.actor, pending.id)
    assert post(client, "checkout.session.completed", completed(session.session_id)).get_json()["outcome"] \
        == "confirmed"
    with unit_of_work(SYSTEM) as uow:
        assert uow.session.execute(text("SELECT locked_by FROM slots WHERE id = :s"),
                                   {"s": pending.slot_id}).scalar() is None
    assert mirror.get(f"slot_holds:{pending.slot_id}") is None


def test_a_replayed_event_is_handled_once(client, held):
    patient, pending = held()
    session = start_payment(patient.actor, pending.id)
    payload, header = signed_event("checkout.session.completed", completed(session.session_id))
    first = client.post(WEBHOOK, data=payload, headers={"Stripe-Signature": header})
    assert first.status_code == 200 and first.get_json()["outcome"] == "confirmed"
    replay = client.post(WEBHOOK, data=payload, headers={"Stripe-Signature": header})
    assert replay.status_code == 200 and replay.get_json()["outcome"] == "duplicate"
    # The same payment in a different event (Stripe retries create new deliveries, not new ids,
    # but a second success must not double-confirm either).
    assert post(client, "checkout.session.completed", completed(session.session_id)).get_json()["outcome"] \
        == "already"
    assert state(pending.id) == ("confirmed", [("succeeded", 0)])


def test_out_of_order_events_never_undo_a_success(client, held):
    patient, pending = held()
    session = start_payment(patient.actor, pending.id)
    meta = {"appointment_id": str(pending.id), "payment_id": ""}
    with unit_of_work(SYSTEM) as uow:
        meta["payment_id"] = str(uow.session.scalar(select(Payment.id).where(Payment.appointment_id == pending.id)))
    assert post(client, "checkout.session.completed", completed(session.session_id)).status_code == 200
    late_failure = {"id": "pi_other", "object": "payment_intent", "metadata": meta,
                    "last_payment_error": {"code": "card_declined"}}
    assert post(client, "payment_intent.payment_failed", late_failure).get_json()["outcome"] == "ignored_after_success"
    assert post(client, "checkout.session.expired", {"id": session.session_id}).get_json()["outcome"] == "ignored"
    assert state(pending.id) == ("confirmed", [("succeeded", 0)])


def test_a_failure_then_a_success_ends_paid_and_wrong_amounts_are_not_confirmed(client, held):
    patient, pending = held()
    session = start_payment(patient.actor, pending.id)
    with unit_of_work(SYSTEM) as uow:
        payment_id = str(uow.session.scalar(select(Payment.id).where(Payment.appointment_id == pending.id)))
    failed = {"id": "pi_x", "object": "payment_intent", "metadata": {"payment_id": payment_id},
              "last_payment_error": {"code": "card_declined", "decline_code": "insufficient_funds"}}
    assert post(client, "payment_intent.payment_failed", failed).get_json()["outcome"] == "failed"
    assert state(pending.id) == ("pending", [("failed", 0)])
    assert post(client, "checkout.session.completed", completed(session.session_id, amount=100)) \
        .get_json()["outcome"] == "amount_mismatch"
    assert post(client, "checkout.session.completed", completed(session.session_id)).get_json()["outcome"] \
        == "confirmed"
    assert state(pending.id) == ("confirmed", [("succeeded", 0)])
    unknown = post(client, "checkout.session.completed", completed("cs_test_unknown"))
    assert unknown.status_code == 200 and unknown.get_json()["outcome"] == "unknown_session"
    assert post(client, "customer.created", {"id": "cus_1"}).get_json()["outcome"] == "ignored"


def test_a_payment_after_the_hold_expired_confirms_if_the_time_is_free(client, held, clock_at):
    patient, pending = held()
    session = start_payment(patient.actor, pending.id)
    clock_at(clock.now() + timedelta(minutes=15))
    unlock_stale_slots()
    assert state(pending.id)[0] == "cancelled"
    assert post(client, "checkout.session.completed", completed(session.session_id)).get_json()["outcome"] \
        == "confirmed_late"
    assert state(pending.id) == ("confirmed", [("succeeded", 0)])


def test_a_payment_after_someone_else_took_the_time_is_refunded_in_full(client, held, onboarded, clock_at):
    patient, pending = held()
    session = start_payment(patient.actor, pending.id)
    clock_at(clock.now() + timedelta(minutes=15))
    unlock_stale_slots()
    _, theirs = held(patient=onboarded())
    assert theirs.start == pending.start
    response = post(client, "checkout.session.completed", completed(session.session_id, intent="pi_late"))
    assert response.get_json()["outcome"] == "refunded_late"
    assert state(pending.id) == ("cancelled", [("refunded", 3500)])
    assert state(theirs.id)[0] == "pending"  # the other patient keeps the time


def test_duplicate_deliveries_in_parallel_apply_once(app):
    """Stripe may deliver one event twice at once: committed rows, real concurrent transactions."""
    suffix = uuid.uuid4().hex[:8]
    start = datetime.combine(date.today() + timedelta(days=3), time(15), PARIS)
    with unit_of_work(SYSTEM) as uow:
        s = uow.session
        doctor_user = s.execute(text("INSERT INTO users (email, role, full_name, password_hash) VALUES "
                                     "(:e, 'doctor', 'Dr Twice', 'x') RETURNING id"),
                                {"e": f"twice-doc-{suffix}@tests.doktu.eu"}).scalar()
        doctor_id = s.execute(text("INSERT INTO doctors (user_id, display_name, specialty) VALUES "
                                   "(:u, 'Dr Twice', 'GP') RETURNING id"), {"u": doctor_user}).scalar()
        user_id = s.execute(text("INSERT INTO users (email, role, full_name, password_hash) VALUES "
                                 "(:e, 'patient', 'Twice', 'x') RETURNING id"),
                            {"e": f"twice-{suffix}@tests.doktu.eu"}).scalar()
        s.add(Patient(user_id=user_id, date_of_birth=date(1980, 1, 1), gender="male", onboarded_at=clock.now()))
    actor = Actor(user_id, "patient")
    pending = create_pending(actor, doctor_id, start)
    session = start_payment(actor, pending.id)
    payload, header = signed_event("checkout.session.completed", completed(session.session_id))
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def deliver():
        barrier.wait()
        outcomes.append(handle(payload, header))

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["confirmed"] + ["duplicate"] * 7
    with core_db.current().engine.connect() as conn:
        conn.execute(text("SELECT set_config('app.role', 'system', false)"))
        events = conn.execute(text("SELECT count(*) FROM stripe_events WHERE event_id = :id"),
                              {"id": json.loads(payload)["id"]}).scalar()
        audits = conn.execute(text("SELECT count(*) FROM audit_events WHERE subject_id = :a"),
                              {"a": str(pending.id)}).scalar()
    assert (events, audits) == (1, 1)
    assert paris(3, 14)  # the fixed-clock helpers are not used here: this test runs on the real clock


def test_a_payment_for_a_time_the_patient_gave_back_is_refunded(client, held):
    patient, pending = held()
    session = start_payment(patient.actor, pending.id)
    from core.booking.changes import cancel

    cancel(patient.actor, pending.id, "changed my mind")
    response = post(client, "checkout.session.completed", completed(session.session_id, intent="pi_after_cancel"))
    assert response.get_json()["outcome"] == "refunded_late"
    assert state(pending.id) == ("cancelled", [("refunded", 3500)])
