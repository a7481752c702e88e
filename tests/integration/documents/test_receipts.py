"""Receipts and credit notes (SPEC §18): a receipt per card payment with a gap-free number per
calendar year — also under 20 concurrent payments and with transactions that roll back —, a credit
note per refund that refers to it, listed in Billing; the PDFs read back with pypdf."""

import io
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import create_engine, select, text

from core import clock
from core import db as core_db
from core.actor import SYSTEM
from core.booking import changes
from core.db import unit_of_work
from core.documents import receipts
from core.models import Payment, Receipt
from core.payments.checkout import confirm_paid, start_payment
from core.payments.webhooks import handle, signed_event
from tests.integration.booking.conftest import onboarded  # noqa: F401
from tests.integration.scheduling.conftest import add_slots, book, clock_at, csrf_header, doctor, paris  # noqa: F401


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def paid_visit(doctor, onboarded, start=None):  # noqa: F811
    from core.booking.pending import create_pending

    patient = onboarded(full_name="Chloé Bernard")
    pending = create_pending(patient.actor, doctor.doctor.id, start or paris(3, 14))
    session = start_payment(patient.actor, pending.id)
    obj = {"id": session.session_id, "object": "checkout.session", "payment_status": "paid", "amount_total": 3500,
           "payment_intent": "pi_test_" + uuid.uuid4().hex[:10], "metadata": {}}
    event = signed_event("checkout.session.completed", obj)
    assert handle(*event) == "confirmed"
    return patient, pending, event


def test_a_card_payment_gets_one_numbered_receipt_with_the_legal_mentions(client, doctor, onboarded, login):  # noqa: F811
    patient, _pending, event = paid_visit(doctor, onboarded)
    assert handle(*event) == "duplicate"  # a replay issues nothing twice
    [receipt] = receipts.list_receipts(patient.actor)
    assert receipt.kind == "receipt" and receipt.number.startswith("R-2026-") and receipt.amount_cents == 3500
    _filename, data = receipts.download_receipt(patient.actor, receipt.id)
    content = pdf_text(data)
    # The patient never chose a language: French legal labels with English beneath (SPEC §20).
    for expected in (f"Facture {receipt.number}", "Invoice", "Doktu SAS", "10 rue de la Santé", "Dr Paris",
                     f"RPPS 10003{doctor.doctor.number}789", "Chloé Bernard", "Date d'émission\nDate of issue\n02/03/2026",
                     "03/03/2026", "35,00 €", "TVA non applicable", "art. 261-4-1° du CGI"):
        assert expected in content, expected
    login(patient.email)
    page = client.get("/dashboard/billing").get_data(as_text=True)
    assert receipt.number in page and f"/dashboard/billing/receipts/{receipt.id}.pdf" in page
    download = client.get(f"/dashboard/billing/receipts/{receipt.id}.pdf")
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert "no-store" in download.headers["Cache-Control"]


def test_the_confirmation_email_links_the_receipt_and_attaches_only_the_invite(doctor, onboarded):  # noqa: F811
    from core.models import OutboxMessage
    from core.notify.appointments import notify_appointment_event

    patient, pending, _ = paid_visit(doctor, onboarded)
    notify_appointment_event("confirmed", pending.id, 0)
    [receipt] = receipts.list_receipts(patient.actor)
    with unit_of_work(SYSTEM) as uow:
        mail = uow.session.scalar(select(OutboxMessage).where(OutboxMessage.recipient == patient.email))
    assert f"/dashboard/billing/receipts/{receipt.id}.pdf" in mail.body_text
    assert [a["contentType"].split(";")[0] for a in mail.attachments] == ["text/calendar"]


def test_a_refund_gets_a_credit_note_referring_to_the_receipt(doctor, onboarded):  # noqa: F811
    patient, pending, _ = paid_visit(doctor, onboarded)
    changes.cancel(patient.actor, pending.id, "Feeling better", refund_as="card")
    credit_note, receipt = receipts.list_receipts(patient.actor)
    assert (credit_note.kind, receipt.kind) == ("credit_note", "receipt")
    assert credit_note.number.startswith("AV-2026-") and credit_note.refers_to == receipt.number
    content = pdf_text(receipts.download_receipt(patient.actor, credit_note.id)[1])
    assert f"Avoir {credit_note.number}" in content and "Credit note" in content
    assert f"Remboursement de la facture {receipt.number}" in content and "35,00 €" in content


def test_credit_payments_and_credit_refunds_get_no_receipt(doctor, onboarded):  # noqa: F811
    patient, pending, _ = paid_visit(doctor, onboarded)
    changes.cancel(patient.actor, pending.id, None, refund_as="credit")  # the money became credit
    assert [r.kind for r in receipts.list_receipts(patient.actor)] == ["receipt"]


def test_receipts_are_the_patients_and_staffs_only(doctor, onboarded, make_user, client, login):  # noqa: F811
    patient, _, _ = paid_visit(doctor, onboarded)
    [receipt] = receipts.list_receipts(patient.actor)
    other = make_user("patient")
    assert receipts.list_receipts(other.actor) == []
    with pytest.raises(Exception, match="receipt"):
        receipts.download_receipt(other.actor, receipt.id)
    with pytest.raises(Exception, match="receipt"):
        receipts.download_receipt(doctor.actor, receipt.id)
    assert receipts.download_receipt(make_user("admin").actor, receipt.id)[1].startswith(b"%PDF")
    login(other.email)
    assert client.get(f"/dashboard/billing/receipts/{receipt.id}.pdf").status_code == 404


def test_numbers_are_gap_free_under_20_concurrent_payments_and_rollbacks(app, committed_clinic, time_machine):
    """20 payments confirmed at once on separate connections, while 3 other transactions take a
    number and roll back: the 20 receipts are numbered exactly 1…20 of the year."""
    time_machine.move_to(datetime(2031, 6, 2, 9, 0, tzinfo=UTC), tick=True)
    clinic = committed_clinic(20)
    owner = create_engine(core_db.current().owner_url)
    payment_ids = []
    with owner.begin() as conn:
        for i, (user_id, patient_id) in enumerate(clinic.patients):
            start = clock.now() + timedelta(days=2, hours=i)
            appointment = conn.execute(text("""INSERT INTO appointments (doctor_id, patient_id, start_at, end_at,
                status, hold_expires_at) VALUES (:d, :p, :s, :s + interval '30 minutes', 'pending', :s)
                RETURNING id"""), {"d": clinic.doctor_id, "p": patient_id, "s": start}).scalar()
            payment_ids.append(conn.execute(text("""INSERT INTO payments (user_id, appointment_id, kind, provider,
                provider_session_id, amount_cents, status) VALUES (:u, :a, 'visit', 'local', :sid, 3500, 'pending')
                RETURNING id"""), {"u": user_id, "a": appointment, "sid": f"cs_race_{uuid.uuid4().hex}"}).scalar())
    barrier = threading.Barrier(23)
    errors = []

    def pay(payment_id):
        try:
            barrier.wait()
            with unit_of_work(SYSTEM) as uow:
                payment = uow.session.get(Payment, payment_id, with_for_update=True)
                confirm_paid(uow, payment, provider_payment_id=f"pi_{payment_id.hex[:12]}")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def take_and_roll_back():
        barrier.wait()
        try:
            with unit_of_work(SYSTEM) as uow:
                receipts.next_number(uow, "receipt", 2031)
                raise RuntimeError("payment transaction failed")
        except RuntimeError:
            pass

    threads = [threading.Thread(target=pay, args=(p,)) for p in payment_ids]
    threads += [threading.Thread(target=take_and_roll_back) for _ in range(3)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == []
        with unit_of_work(SYSTEM) as uow:
            rows = uow.session.execute(select(Receipt.seq, Receipt.number).where(
                Receipt.payment_id.in_(payment_ids)).order_by(Receipt.seq)).all()
            assert [seq for seq, _ in rows] == list(range(1, 21))
            assert rows[0].number == "R-2031-000001" and rows[-1].number == "R-2031-000020"
            assert uow.session.scalar(text("SELECT last_seq FROM receipt_counters WHERE kind = 'receipt' "
                                           "AND year = 2031")) == 20
    finally:
        with owner.begin() as conn:  # committed rows out again (receipts are append-only for the app)
            conn.execute(text("ALTER TABLE receipts DISABLE TRIGGER receipts_append_only"))
            conn.execute(text("DELETE FROM receipts WHERE payment_id = ANY(:ids)"), {"ids": payment_ids})
            conn.execute(text("ALTER TABLE receipts ENABLE TRIGGER receipts_append_only"))
            conn.execute(text("DELETE FROM receipt_counters WHERE year = 2031"))
            conn.execute(text("DELETE FROM payments WHERE id = ANY(:ids)"), {"ids": payment_ids})
        owner.dispose()


def test_a_plan_bought_by_card_gets_its_receipt_too(client, onboarded, login):  # noqa: F811
    from tests.integration.payments.test_subscriptions import buy

    patient = onboarded(full_name="Chloé Bernard")
    buy(client, login, patient, "basic")
    [receipt] = receipts.list_receipts(patient.actor)
    assert (receipt.kind, receipt.amount_cents) == ("receipt", 2900)
    content = pdf_text(receipts.download_receipt(patient.actor, receipt.id)[1])
    assert "Forfait Doktu, un mois de crédit de consultation" in content and "29,00 €" in content
    assert "Doktu plan, one month of consultation credit" in content  # the patient's (English) line beneath
    assert "Chloé Bernard" in content and "TVA non applicable" in content


def _speaks(user_id, locale):
    from sqlalchemy import update

    from core.models import User

    with unit_of_work(SYSTEM) as uow:
        uow.session.execute(update(User).where(User.id == user_id).values(locale=locale))


def test_a_german_patients_receipt_is_french_with_german_beneath_whoever_downloads(doctor, onboarded,  # noqa: F811
                                                                                   make_user):
    """SPEC §20: the French seller's labels stay (legal text), the patient's language is beneath
    each one — also when an admin downloads it; the amount and dates are Babel's French forms."""
    patient, _pending, _ = paid_visit(doctor, onboarded)
    _speaks(patient.user.id, "de")
    [receipt] = receipts.list_receipts(patient.actor)
    for reader in (patient.actor, make_user("admin").actor):
        content = pdf_text(receipts.download_receipt(reader, receipt.id)[1])
        for expected in (f"Facture {receipt.number}\nRechnung", "Vendeur / Verkäufer", "Médecin\nArzt",
                         "Payé par carte\nMit Karte bezahlt\n35,00 €", "Consultation vidéo avec Dr Paris le 03/03/2026",
                         "Videosprechstunde mit Dr Paris am 03/03/2026", "TVA non applicable - art. 261-4-1° du CGI",
                         "Keine Mehrwertsteuer"):
            assert expected in content, expected
        assert "Invoice" not in content and "Seller" not in content  # no English
        assert "Patient / Patient" not in content  # the same word is written once


def test_a_french_patients_receipt_is_french_only(doctor, onboarded):  # noqa: F811
    patient, pending, _ = paid_visit(doctor, onboarded)
    _speaks(patient.user.id, "fr")
    changes.cancel(patient.actor, pending.id, "Feeling better", refund_as="card")
    credit_note, receipt = receipts.list_receipts(patient.actor)
    for item, title in ((receipt, "Facture"), (credit_note, "Avoir")):
        content = pdf_text(receipts.download_receipt(patient.actor, item.id)[1])
        assert f"{title} {item.number}" in content and "Vendeur\n" in content and "Total 35,00 €" in content
        assert " / " not in content and "Invoice" not in content and "Credit note" not in content
