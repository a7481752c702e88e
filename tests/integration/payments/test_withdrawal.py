"""Withdrawing from a new plan (issue 25; /pricing: "You may withdraw from a new plan within 14
days; we refund it, minus €35 for each consultation you have already had"): the Billing tab states
the amount, the plan ends at once, its unused credit goes, the refund is paid through the gateway
once (owed, idempotency key), with a credit note, an audit event and a notice."""

import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from core import clock
from core.actor import SYSTEM
from core.db import unit_of_work
from core.models import AuditEvent, OutboxMessage, OwedEffect, Payment, Receipt, Subscription
from core.owed import run_owed
from core.payments import refunds, withdrawal
from core.payments.checkout import pay_with_credit
from tests.integration.payments.test_owed_effects import RecordingGateway
from tests.integration.payments.test_subscriptions import balance, buy, plan_rows, token

BILLING = "/dashboard/billing"


@pytest.fixture
def gateway(monkeypatch) -> RecordingGateway:
    recorded = RecordingGateway()
    monkeypatch.setattr(refunds, "current_gateway", lambda: recorded)
    return recorded


def run_owed_effects(*tasks) -> None:
    with unit_of_work(SYSTEM) as uow:
        ids = uow.session.scalars(select(OwedEffect.id).where(OwedEffect.status == "pending",
                                                              OwedEffect.task.in_(tasks))).all()
    for effect_id in ids:
        run_owed(effect_id)


def premium_with_consultations(client, login, onboarded, held, had: int):
    """A patient who bought Premium (3 credits) on Monday 2 March 2026 and paid `had` consultations with it."""
    patient = onboarded()
    buy(client, login, patient, "premium")
    for i in range(had):
        _, pending = held(patient=patient, start=clock.now() + timedelta(days=1, hours=i + 5))
        pay_with_credit(patient.actor, pending.id)
    return patient


def withdraw(client):
    return client.post(f"{BILLING}/withdraw", data={"csrf_token": token(client, BILLING)})


@pytest.mark.parametrize(("had", "refund"), [(0, 5900), (1, 2400), (3, 0)])
def test_withdrawing_at_day_13_refunds_the_price_less_35_euros_per_consultation_once(
        client, login, onboarded, held, clock_at, gateway, had, refund):
    patient = premium_with_consultations(client, login, onboarded, held, had)
    [sub], [payment] = plan_rows(patient.user.id)
    clock_at(clock.now() + timedelta(days=13))
    login(patient.email)  # a new session, days later

    page = client.get(BILLING).get_data(as_text=True)
    amount = f"€{refund // 100}"
    assert f"Withdraw and get {amount} refunded" in page  # the amount comes first
    assert re.search(rf"minus €35 for each consultation you have had with it \({had}\)", page)

    assert withdraw(client).status_code == 303
    again = withdraw(client)  # a double click: nothing more happens
    assert again.status_code == 303
    assert "You have no plan to withdraw from." in client.get(BILLING).get_data(as_text=True)

    [sub], [payment] = plan_rows(patient.user.id)
    assert sub.status == "cancelled"
    assert balance(patient.user.id) == 0  # the unused plan credit is removed
    assert payment.refunded_cents == refund
    run_owed_effects("core.payments.refunds.execute_refund", "core.payments.withdrawal.cancel_at_gateway",
                     "core.payments.withdrawal.notify_withdrawn")
    run_owed_effects("core.payments.refunds.execute_refund")  # the sweep asking again pays nothing twice
    key = f"refund:{payment.id}:{refund}"
    assert gateway.refunds == ([(payment.provider_payment_id, refund, key)] if refund else [])
    assert payment.provider_payment_id.startswith("in_local_")  # the plan's invoice was refunded
    with unit_of_work(SYSTEM) as uow:
        notes = uow.session.scalars(select(Receipt.amount_cents).where(Receipt.user_id == patient.user.id,
                                                                       Receipt.kind == "credit_note")).all()
        audits = uow.session.scalars(select(AuditEvent).where(AuditEvent.subject_id == str(sub.id),
                                                              AuditEvent.action == withdrawal.WITHDRAWN)).all()
        mails = uow.session.scalars(select(OutboxMessage).where(
            OutboxMessage.dedupe_key == f"withdrawn:{sub.id}:patient:email")).all()
    assert notes == ([refund] if refund else [])
    assert [(a.details["refundCents"], a.details["consultationsHad"], a.actor_id) for a in audits] == [
        (refund, had, patient.user.id)]
    [mail] = mails
    assert mail.recipient == patient.email and "withdrawn" in mail.subject
    assert (f"We are refunding {amount}.00" in mail.body_text) if refund else ("Nothing is refunded" in mail.body_text)
    assert "Withdraw and get" not in client.get(BILLING).get_data(as_text=True)


@pytest.mark.parametrize("had", [0, 1, 3])
def test_at_day_15_there_is_no_withdrawal_only_the_cancellation_at_period_end(
        client, login, onboarded, held, clock_at, gateway, had):
    patient = premium_with_consultations(client, login, onboarded, held, had)
    clock_at(clock.now() + timedelta(days=15))
    login(patient.email)
    assert withdrawal.withdrawal_quote(patient.actor) is None
    assert "Withdraw and get" not in client.get(BILLING).get_data(as_text=True)
    withdraw(client)
    assert "The 14 days to withdraw from this plan are over." in client.get(BILLING).get_data(as_text=True)
    response = client.post("/api/payment/subscription/withdraw", headers={"X-CSRFToken": token(client, BILLING)})
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "ERR_INVALID_STATE"
    [sub], [payment] = plan_rows(patient.user.id)
    assert (sub.status, payment.refunded_cents) == ("active", 0)
    assert balance(patient.user.id) == (3 - had) * 3500
    assert "Cancel my plan" in client.get("/pricing").get_data(as_text=True)


def test_the_api_withdraws_once_and_a_second_call_is_404(client, login, onboarded, held, clock_at, gateway):
    patient = premium_with_consultations(client, login, onboarded, held, 1)
    clock_at(clock.now() + timedelta(days=14))  # the 14th day is still in
    login(patient.email)
    csrf = {"X-CSRFToken": token(client, BILLING)}
    first = client.post("/api/payment/subscription/withdraw", headers=csrf)
    assert first.status_code == 200, first.get_data(as_text=True)
    assert (first.get_json()["refund"], first.get_json()["creditRemoved"]) == (2400, 7000)
    second = client.post("/api/payment/subscription/withdraw", headers=csrf)
    assert second.status_code == 404 and second.get_json()["error"]["code"] == "ERR_NOT_FOUND"
    with unit_of_work(SYSTEM) as uow:
        owed = uow.session.scalars(select(OwedEffect.dedupe_key).where(
            OwedEffect.task == "core.payments.refunds.execute_refund",
            OwedEffect.args[0].astext == str(patient_payment(patient.user.id).id))).all()
    assert len(owed) == 1


def patient_payment(user_id) -> Payment:
    with unit_of_work(SYSTEM) as uow:
        return uow.session.scalar(select(Payment).where(Payment.user_id == user_id, Payment.kind == "subscription"))


def test_a_withdrawn_plan_is_never_renewed_by_the_local_stand_in(client, login, onboarded, held, clock_at, gateway):
    from core.payments.local_subscriptions import renew_local_subscriptions

    patient = premium_with_consultations(client, login, onboarded, held, 0)
    [sub], _ = plan_rows(patient.user.id)
    clock_at(clock.now() + timedelta(days=2))
    withdrawal.withdraw(patient.actor)
    clock_at(clock.now() + timedelta(days=40))
    assert renew_local_subscriptions()["renewed"] == 0
    with unit_of_work(SYSTEM) as uow:
        assert uow.session.get(Subscription, sub.id).status == "cancelled"
    assert balance(patient.user.id) == 0


def test_two_withdrawals_at_the_same_moment_refund_once(app, database_url, clock_at):
    """A double click, for real: two requests on two connections at once; one withdraws, the other
    finds no live plan. Committed rows (in 2031, so no other test's receipt numbers move) are
    removed afterwards."""
    import threading
    from datetime import UTC, datetime

    from sqlalchemy import text as sql

    from core import db as core_db
    from core.actor import Actor
    from core.errors import NotFound
    from core.payments.subscriptions import add_month

    start = datetime(2031, 3, 3, 9, 0, tzinfo=UTC)
    clock_at(start + timedelta(days=3))
    engine, suffix = core_db.current().engine, uuid.uuid4().hex[:8]
    email = f"withdraw-race-{suffix}@tests.doktu.eu"
    sub_id = uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(sql("SELECT set_config('app.role', 'system', true)"))
        user_id = conn.execute(sql("INSERT INTO users (email, role, full_name, password_hash) "
                                   "VALUES (:e, 'patient', 'Racer', 'x') RETURNING id"), {"e": email}).scalar()
        conn.execute(sql("INSERT INTO patients (user_id) VALUES (:u)"), {"u": user_id})
        conn.execute(sql("INSERT INTO subscriptions (id, user_id, plan, status, credits_per_period, "
                         "current_period_end) VALUES (:s, :u, 'premium', 'active', 3, :end)"),
                     {"s": sub_id, "u": user_id, "end": add_month(start)})
        conn.execute(sql("INSERT INTO payments (id, user_id, kind, provider, provider_payment_id, amount_cents, "
                         "currency, status, created_at, updated_at) VALUES (:s, :u, 'subscription', 'local', "
                         "'in_local_race', 5900, 'EUR', 'succeeded', :at, :at)"), {"s": sub_id, "u": user_id,
                                                                                     "at": start})
        conn.execute(sql("INSERT INTO credit_entries (user_id, kind, amount_cents, payment_id, note) "
                         "VALUES (:u, 'grant', 10500, :s, :n)"),
                     {"u": user_id, "s": sub_id, "n": f"Premium plan [plan:{sub_id}:{int(start.timestamp())}:"
                                                       f"{int(add_month(start).timestamp())}]"})
    actor, barrier, outcomes = Actor(user_id, "patient"), threading.Barrier(2), []

    def click():
        barrier.wait()
        try:
            outcomes.append(withdrawal.withdraw(actor).refund_cents)
        except NotFound:
            outcomes.append("404")

    threads = [threading.Thread(target=click) for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        with engine.begin() as conn:
            conn.execute(sql("SELECT set_config('app.role', 'system', true)"))
            refunded = conn.execute(sql("SELECT refunded_cents FROM payments WHERE id = :s"), {"s": sub_id}).scalar()
            owed = conn.execute(sql("SELECT count(*) FROM owed_effects WHERE task = "
                                    "'core.payments.refunds.execute_refund' AND args->>0 = :s"),
                                {"s": str(sub_id)}).scalar()
            notes = conn.execute(sql("SELECT count(*) FROM receipts WHERE payment_id = :s AND kind = 'credit_note'"),
                                 {"s": sub_id}).scalar()
    finally:
        from sqlalchemy import create_engine

        owner = create_engine(database_url)
        with owner.begin() as conn:  # as the owner, triggers off: the ledgers are append-only
            conn.execute(sql("SET LOCAL session_replication_role = replica"))
            for statement in (
                    "DELETE FROM owed_effects WHERE args->>0 = :s OR dedupe_key LIKE '%' || :s || '%'",
                    "DELETE FROM outbox_messages WHERE recipient = :e",
                    "DELETE FROM audit_events WHERE subject_id = :s",
                    "DELETE FROM receipts WHERE payment_id = CAST(:s AS uuid)",
                    "DELETE FROM receipt_counters WHERE year = 2031",
                    "DELETE FROM credit_entries WHERE user_id = CAST(:u AS uuid)",
                    "DELETE FROM payments WHERE user_id = CAST(:u AS uuid)",
                    "DELETE FROM subscriptions WHERE user_id = CAST(:u AS uuid)",
                    "DELETE FROM patients WHERE user_id = CAST(:u AS uuid)",
                    "DELETE FROM users WHERE id = CAST(:u AS uuid)"):
                conn.execute(sql(statement), {"s": str(sub_id), "u": str(user_id), "e": email})
        owner.dispose()
    assert sorted(map(str, outcomes)) == ["404", "5900"]
    assert (refunded, owed, notes) == (5900, 1, 1)
