"""Monthly plans (SPEC §8; README "Plans and credits"): Basic €29 = 1 consultation credit, Premium
€59 = 3 credits, granted at the start of each billing month and lapsing at its end (no roll-over);
bought on the local checkout or through Stripe Checkout in subscription mode; every webhook event
applied once, in any order."""

import json
import re
import uuid
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from core import clock
from core.actor import SYSTEM
from core.db import unit_of_work
from core.errors import ProfileIncomplete
from core.models import CreditEntry, Payment, StripeEvent, Subscription
from core.payments import credits, subscriptions
from core.payments.checkout import pay_with_credit
from core.payments.gateway import StripeGateway
from core.payments.local_subscriptions import renew_local_subscriptions
from core.payments.subscriptions import LedgerLine, PlanActive, add_month, unused_plan_credit
from core.payments.webhooks import handle, signed_event
from tests.integration.payments.test_stripe_gateway import FIXTURES, RecordedStripe

TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
WEBHOOK = "/api/payment/webhook"


def token(client, path="/pricing") -> str:
    return TOKEN.search(client.get(path).get_data(as_text=True)).group(1)


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def open_plan_checkout(client, plan_code) -> str:
    response = client.post(f"/plans/{plan_code}/subscribe", data={"csrf_token": token(client)})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    assert re.search(r"/pay/cs_local_[0-9a-f]{24}$", response.headers["Location"])
    return path_of(response.headers["Location"])


def pay(client, pay_path, card="4242 4242 4242 4242"):
    return client.post(pay_path, data={"card_number": card, "expiry": "12/34", "cvc": "123",
                                       "csrf_token": token(client, pay_path)})


def buy(client, login, patient, plan_code="basic") -> str:
    """Sign in, choose the plan on /pricing, pay by card 4242; returns the session id."""
    login(patient.email)
    pay_path = open_plan_checkout(client, plan_code)
    done = pay(client, pay_path)
    assert done.status_code == 303, done.get_data(as_text=True)[:800]
    session_id = pay_path.rsplit("/", 1)[1]
    assert path_of(done.headers["Location"]) == f"/pricing?plan_session={session_id}"
    return session_id


def other_client(client, email):
    """A second browser, signed in as someone else."""
    from tests.conftest import TEST_PASSWORD

    other = client.application.test_client()
    page = other.get("/login").get_data(as_text=True)
    other.post("/login", data={"email": email, "password": TEST_PASSWORD, "csrf_token": TOKEN.search(page).group(1)})
    return other


def plan_rows(user_id):
    with unit_of_work(SYSTEM) as uow:
        subs = uow.session.scalars(select(Subscription).where(Subscription.user_id == user_id)
                                   .order_by(Subscription.created_at)).all()
        payments = uow.session.scalars(select(Payment).where(Payment.user_id == user_id, Payment.kind == "subscription")
                                       .order_by(Payment.created_at)).all()
        for row in (*subs, *payments):
            uow.session.expunge(row)
        return subs, payments


def ledger(user_id):
    with unit_of_work(SYSTEM) as uow:
        return [(kind, cents) for kind, cents in uow.session.execute(
            select(CreditEntry.kind, CreditEntry.amount_cents).where(CreditEntry.user_id == user_id)
            .order_by(CreditEntry.created_at, text("xmin::text::bigint")))]


def balance(user_id) -> int:
    with unit_of_work(SYSTEM) as uow:
        return credits.balance(uow.session, user_id)


def post_event(client, event_type, obj):
    payload, header = signed_event(event_type, obj)
    response = client.post(WEBHOOK, data=payload, headers={"Stripe-Signature": header,
                                                           "Content-Type": "application/json"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["outcome"]


def cycle_invoice(subscription, start, end=None, *, amount=2900):
    end = end or add_month(start)
    return {"id": "in_test_" + uuid.uuid4().hex[:10], "object": "invoice", "billing_reason": "subscription_cycle",
            "amount_paid": amount, "currency": "eur",
            "parent": {"type": "subscription_details",
                       "subscription_details": {"subscription": subscription.provider_subscription_id}},
            "lines": {"data": [{"period": {"start": int(start.timestamp()), "end": int(end.timestamp())}}]}}


# ---- buying a plan ----

def test_a_basic_plan_bought_by_card_4242_is_active_with_one_consultation_credit(client, onboarded, login):
    patient = onboarded()
    session_id = buy(client, login, patient, "basic")
    [sub], [payment] = plan_rows(patient.user.id)
    assert (sub.plan, sub.status, sub.credits_per_period) == ("basic", "active", 1)
    assert sub.provider_subscription_id.startswith("sub_local_")
    assert sub.current_period_end == add_month(clock.now())
    assert (payment.id, payment.kind, payment.appointment_id, payment.status, payment.amount_cents, payment.provider) \
        == (sub.id, "subscription", None, "succeeded", 2900, "local")
    assert payment.provider_session_id == session_id
    assert ledger(patient.user.id) == [("grant", 3500)]
    page = client.get(f"/pricing?plan_session={session_id}").get_data(as_text=True)
    assert "Your plan is active." in page and "Your plan: Basic" in page
    assert "Choose Basic" not in page and "Choose Premium" not in page  # one plan at a time
    assert "you can choose Premium once it has ended" in page
    with unit_of_work(SYSTEM) as uow:
        [note] = uow.session.scalars(select(CreditEntry.note).where(CreditEntry.user_id == patient.user.id))
    assert note.startswith("Basic plan: 1 consultation credit for 2026-03-02 to 2026-04-02 [plan:")


def test_premium_through_the_api_grants_three_credits(client, onboarded, login, csrf_header):
    patient = onboarded()
    login(patient.email)
    first = client.post("/api/payment/subscribe", json={"plan": "premium"}, headers=csrf_header())
    assert first.status_code == 201, first.get_data(as_text=True)
    body = first.get_json()
    assert set(body) == {"subscriptionId", "plan", "checkoutSessionId", "checkoutUrl"}
    assert body["checkoutUrl"].endswith(f"/pay/{body['checkoutSessionId']}")
    again = client.post("/api/payment/subscribe", json={"plan": "premium"}, headers=csrf_header()).get_json()
    assert again["checkoutSessionId"] == body["checkoutSessionId"]  # a double click reuses the open checkout
    page = client.get(path_of(body["checkoutUrl"])).get_data(as_text=True)
    assert "Premium plan — €59 per month" in page
    pay(client, path_of(body["checkoutUrl"]))
    assert balance(patient.user.id) == 10500
    plan = client.get("/api/payment/subscription").get_json()
    assert (plan["plan"], plan["status"], plan["creditsPerMonth"], plan["price"], plan["cancelAtPeriodEnd"]) \
        == ("premium", "active", 3, 5900, False)
    refused = client.post("/api/payment/subscribe", json={"plan": "basic"}, headers=csrf_header())
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "ERR_INVALID_STATE"
    assert "Premium" in refused.get_json()["error"]["message"]


def test_subscribe_api_validates_its_input_and_the_caller(client, onboarded, make_user, login, csrf_header):
    patient = onboarded()
    login(patient.email)
    bad = client.post("/api/payment/subscribe", json={"plan": "gold"}, headers=csrf_header())
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "ERR_VALIDATION"
    assert client.delete("/api/payment/subscription", headers=csrf_header()).get_json()["error"]["code"] \
        == "ERR_NOT_FOUND"
    assert client.get("/api/payment/subscription").status_code == 404
    doctor = other_client(client, make_user("doctor").email)
    doctor_token = TOKEN.search(doctor.get("/pricing").get_data(as_text=True))
    forbidden = doctor.post("/api/payment/subscribe", json={"plan": "basic"},
                            headers={"X-CSRFToken": doctor_token.group(1) if doctor_token else ""})
    assert forbidden.status_code == 403 and forbidden.get_json()["error"]["code"] == "ERR_FORBIDDEN"
    spec = client.get("/api/openapi.json").get_json()
    assert {"/api/payment/subscribe", "/api/payment/subscription"} <= set(spec["paths"])


def test_the_health_profile_comes_before_a_plan(client, make_user, login, csrf_header):
    patient = make_user("patient")
    login(patient.email)
    response = client.post("/plans/basic/subscribe", data={"csrf_token": token(client)})
    assert path_of(response.headers["Location"]) == "/onboarding?next=/pricing"
    api = client.post("/api/payment/subscribe", json={"plan": "basic"}, headers=csrf_header())
    assert api.status_code == 422 and api.get_json()["error"]["code"] == "ERR_PROFILE_INCOMPLETE"
    with pytest.raises(ProfileIncomplete):
        subscriptions.start_subscription(patient.actor, "basic")
    assert plan_rows(patient.user.id) == ([], [])


def test_a_declined_card_leaves_the_plan_incomplete_and_another_card_can_pay(client, onboarded, login):
    patient = onboarded()
    login(patient.email)
    pay_path = open_plan_checkout(client, "basic")
    declined = pay(client, pay_path, "4000 0000 0000 0002")
    assert declined.status_code == 402 and "declined" in declined.get_data(as_text=True)
    [sub], [payment] = plan_rows(patient.user.id)
    assert (sub.status, payment.status, payment.failure_code) == ("incomplete", "failed", "generic_decline")
    assert balance(patient.user.id) == 0
    assert open_plan_checkout(client, "basic") == pay_path  # the same checkout, retried
    needs_confirmation = pay(client, pay_path, "4000 0025 0000 3155")
    assert needs_confirmation.headers["Location"].endswith(pay_path + "/authenticate")
    done = client.post(pay_path + "/authenticate", data={"decision": "complete",
                                                         "csrf_token": token(client, pay_path + "/authenticate")})
    assert done.status_code == 303
    [sub], [payment] = plan_rows(patient.user.id)
    assert (sub.status, payment.status) == ("active", "succeeded")
    assert balance(patient.user.id) == 3500


def test_choosing_the_other_plan_replaces_the_open_checkout(client, onboarded, login):
    patient = onboarded()
    login(patient.email)
    basic_path = open_plan_checkout(client, "basic")
    premium_path = open_plan_checkout(client, "premium")
    assert premium_path != basic_path
    _, payments = plan_rows(patient.user.id)
    assert [p.status for p in payments] == ["cancelled", "pending"]
    stale = client.get(basic_path)
    assert path_of(stale.headers["Location"]) == "/pricing"
    assert "That checkout was replaced" in client.get("/pricing").get_data(as_text=True)
    pay(client, premium_path)
    assert balance(patient.user.id) == 10500


def test_pricing_shows_choose_buttons_by_who_is_looking(client, onboarded, make_user, login):
    guest = client.get("/pricing").get_data(as_text=True)
    assert 'href="/signup?next=/pricing">Choose Basic</a>' in guest.replace("%2F", "/")
    assert "Choose Premium</a>" in guest
    patient = onboarded()
    login(patient.email)
    page = client.get("/pricing").get_data(as_text=True)
    assert 'action="/plans/basic/subscribe"' in page and 'action="/plans/premium/subscribe"' in page
    assert "Your plan:" not in page
    doctor = other_client(client, make_user("doctor").email)
    assert "Choose Basic" not in doctor.get("/pricing").get_data(as_text=True)


# ---- events: replayed, duplicated, out of order ----

def test_replayed_and_duplicate_plan_events_grant_once(client, onboarded):
    patient = onboarded()
    checkout = subscriptions.start_subscription(patient.actor, "basic")
    completed = {"id": checkout.session_id, "object": "checkout.session", "mode": "subscription",
                 "payment_status": "paid", "amount_total": 2900, "subscription": "sub_test_Replay1",
                 "invoice": "in_test_first", "metadata": {}}
    payload, header = signed_event("checkout.session.completed", completed)
    assert handle(payload, header) == "plan_activated"
    assert handle(payload, header) == "duplicate"  # the same event id again
    assert post_event(client, "checkout.session.completed", completed) == "already"  # a second event, same session
    [sub], _ = plan_rows(patient.user.id)
    first_invoice = {**cycle_invoice(sub, clock.now()), "billing_reason": "subscription_create"}
    assert post_event(client, "invoice.paid", first_invoice) == "first_invoice"  # the checkout granted it
    # A renewal for the month already granted (the first month's start) changes nothing.
    assert post_event(client, "invoice.paid", cycle_invoice(sub, clock.now())) == "already"
    assert ledger(patient.user.id) == [("grant", 3500)]
    with unit_of_work(SYSTEM) as uow:
        assert uow.session.scalar(select(StripeEvent.processed_at).where(
            StripeEvent.type == "invoice.paid").limit(1)) is not None


def test_out_of_order_renewal_events_never_grant_twice_nor_undo_a_payment(client, onboarded, clock_at):
    patient = onboarded()
    checkout = subscriptions.start_subscription(patient.actor, "basic")
    post_event(client, "checkout.session.completed", {
        "id": checkout.session_id, "object": "checkout.session", "mode": "subscription", "payment_status": "paid",
        "amount_total": 2900, "subscription": "sub_test_Order1", "invoice": "in_test_1"})
    [sub], _ = plan_rows(patient.user.id)
    april, may = sub.current_period_end, add_month(sub.current_period_end)
    clock_at(april + timedelta(hours=1))
    renewal = cycle_invoice(sub, april, may)
    failed_then = {**renewal, "id": renewal["id"], "attempt_count": 1}
    assert post_event(client, "invoice.paid", renewal) == "plan_renewed"
    # The first attempt's failure arrives after the retry's success: stale, the plan stays active.
    assert post_event(client, "invoice.payment_failed", failed_then) == "ignored_already_paid"
    # An older month's renewal delivered late (never granted, but a later one was): ignored.
    assert post_event(client, "invoice.paid", cycle_invoice(sub, april - timedelta(days=3))) == "stale_period"
    # An invoice for an unknown subscription is acknowledged and ignored.
    assert post_event(client, "invoice.paid", {**renewal, "parent": {"subscription_details": {
        "subscription": "sub_not_ours"}}}) == "unknown_subscription"
    [sub], payments = plan_rows(patient.user.id)
    assert (sub.status, sub.current_period_end) == ("active", may)
    assert [(p.status, p.amount_cents, p.provider_payment_id) for p in payments] \
        == [("succeeded", 2900, "in_test_1"), ("succeeded", 2900, renewal["id"])]
    assert ledger(patient.user.id) == [("grant", 3500), ("adjustment", -3500), ("grant", 3500)]
    assert balance(patient.user.id) == 3500


def test_the_first_month_still_comes_when_the_deletion_arrives_before_the_checkout(client, onboarded):
    patient = onboarded()
    checkout = subscriptions.start_subscription(patient.actor, "basic")
    deleted = {"id": "sub_test_Early", "object": "subscription", "status": "canceled",
               "metadata": {"subscription_id": str(checkout.subscription_id)}}
    assert post_event(client, "customer.subscription.deleted", deleted) == "cancelled"
    assert post_event(client, "checkout.session.completed", {
        "id": checkout.session_id, "object": "checkout.session", "mode": "subscription", "payment_status": "paid",
        "amount_total": 2900, "subscription": "sub_test_Early"}) == "granted_after_cancel"
    [sub], [payment] = plan_rows(patient.user.id)
    assert (sub.status, payment.status) == ("cancelled", "succeeded")
    assert balance(patient.user.id) == 3500  # the month that was paid for


# ---- renewal: no roll-over ----

def test_renewal_lapses_the_unused_plan_credit_and_grants_the_new_month(client, onboarded, held, login, clock_at):
    patient = onboarded()
    buy(client, login, patient, "premium")
    _, pending = held(patient=patient)
    pay_with_credit(patient.actor, pending.id)  # one of the three credits spent
    with unit_of_work(SYSTEM) as uow:  # a €10 apology credit: valid 12 months, it survives the month
        credits.add_entry(uow.session, patient.user.id, "late_credit", 1000, note="test")
    assert balance(patient.user.id) == 8000
    [sub], _ = plan_rows(patient.user.id)
    assert renew_local_subscriptions() == {"renewed": 0, "failed": 0, "cancelled": 0, "lapsed": 0}  # not yet
    clock_at(sub.current_period_end + timedelta(minutes=5))
    assert renew_local_subscriptions() == {"renewed": 1, "failed": 0, "cancelled": 0, "lapsed": 0}
    assert ledger(patient.user.id) == [("grant", 10500), ("spend", -3500), ("late_credit", 1000),
                                       ("adjustment", -7000), ("grant", 10500)]
    assert balance(patient.user.id) == 11500  # three new credits + the €10, nothing rolled over
    [renewed], payments = plan_rows(patient.user.id)
    assert renewed.current_period_end == add_month(sub.current_period_end)
    assert [p.amount_cents for p in payments] == [5900, 5900]
    assert renew_local_subscriptions()["renewed"] == 0  # idempotent
    # Two months later with nothing spent: each month's credits lapse in turn.
    clock_at(add_month(add_month(renewed.current_period_end)) + timedelta(minutes=1))
    assert renew_local_subscriptions()["renewed"] == 3
    assert balance(patient.user.id) == 11500


def test_a_plan_credit_given_back_keeps_its_month_and_lapses_with_it(client, onboarded, held, login, clock_at):
    patient = onboarded()
    buy(client, login, patient, "basic")
    _, pending = held(patient=patient)
    pay_with_credit(patient.actor, pending.id)
    with unit_of_work(SYSTEM) as uow:  # cancelled in time, the patient chose credit (SPEC §5)
        credits.add_entry(uow.session, patient.user.id, "refund_credit", 3500, appointment_id=pending.id,
                          note="Appointment cancelled by the patient")
        credits.add_entry(uow.session, patient.user.id, "refund_credit", 3500, note="A card refund taken as credit")
    assert balance(patient.user.id) == 7000
    [sub], _ = plan_rows(patient.user.id)
    clock_at(sub.current_period_end + timedelta(minutes=1))
    renew_local_subscriptions()
    # The plan credit given back lapsed with its month; the card refund taken as credit stays.
    assert ledger(patient.user.id)[-2:] == [("adjustment", -3500), ("grant", 3500)]
    assert balance(patient.user.id) == 7000


def test_plan_credits_are_spent_first_by_the_rule():
    sub = str(uuid.uuid4())
    a, b = uuid.uuid4(), uuid.uuid4()
    grant = LedgerLine("grant", 7000, None, f"x [plan:{sub}:100:200]")
    lines = [LedgerLine("refund_credit", 3500, None, "other credit"), grant,
             LedgerLine("spend", -3500, a, None), LedgerLine("spend", -3500, b, None),
             LedgerLine("spend", -3500, uuid.uuid4(), None)]
    assert unused_plan_credit(lines) == []  # the plan went first; the third spend took the other credit
    back = unused_plan_credit([*lines, LedgerLine("refund_credit", 3500, b, None)])
    assert [(m.start, m.end, m.remaining) for m in back] == [(100, 200, 3500)]
    lapsed = [*lines, LedgerLine("refund_credit", 3500, b, None),
              LedgerLine("adjustment", -3500, None, f"lapsed [lapse:{sub}:100]")]
    assert unused_plan_credit(lapsed) == []


# ---- failures and cancellation ----

def test_a_failed_renewal_makes_the_plan_past_due_and_a_later_payment_reactivates_it(
        client, onboarded, login, clock_at):
    patient = onboarded()
    buy(client, login, patient, "basic")
    [sub], _ = plan_rows(patient.user.id)
    clock_at(sub.current_period_end + timedelta(hours=1))
    assert renew_local_subscriptions(decline=True) == {"renewed": 0, "failed": 1, "cancelled": 0, "lapsed": 1}
    [sub_now], _ = plan_rows(patient.user.id)
    assert sub_now.status == "past_due"
    assert balance(patient.user.id) == 0  # the ended month's credit lapsed; none for the unpaid month
    login(patient.email)  # a month later the browser session has expired
    assert "Payment due" in client.get("/pricing").get_data(as_text=True)
    assert renew_local_subscriptions()["renewed"] == 1  # Stripe's retry succeeds
    [sub_now], _ = plan_rows(patient.user.id)
    assert sub_now.status == "active" and balance(patient.user.id) == 3500


def test_cancelling_keeps_the_plan_to_the_end_of_the_month_then_it_ends(client, onboarded, login, clock_at,
                                                                        csrf_header):
    patient = onboarded()
    buy(client, login, patient, "basic")
    cancelled = client.delete("/api/payment/subscription", headers=csrf_header())
    assert cancelled.status_code == 200
    body = cancelled.get_json()
    assert (body["status"], body["cancelAtPeriodEnd"]) == ("active", True)
    assert client.delete("/api/payment/subscription", headers=csrf_header()).get_json() == body  # idempotent
    page = client.get("/pricing").get_data(as_text=True)
    assert "is not renewed" in page and "Cancel my plan" not in page
    [sub], _ = plan_rows(patient.user.id)
    clock_at(sub.current_period_end + timedelta(minutes=1))
    assert renew_local_subscriptions() == {"renewed": 0, "failed": 0, "cancelled": 1, "lapsed": 0}
    [sub], payments = plan_rows(patient.user.id)
    assert sub.status == "cancelled" and len(payments) == 1
    assert ledger(patient.user.id) == [("grant", 3500), ("adjustment", -3500)]
    # After a cancelled plan a new one can be chosen.
    login(patient.email)
    assert "Choose Premium" in client.get("/pricing").get_data(as_text=True)
    assert post_event(client, "invoice.paid", cycle_invoice(sub, sub.current_period_end)) == "ignored_cancelled"


def test_a_plan_deleted_mid_month_keeps_its_credits_until_the_month_ends(client, onboarded, login, clock_at):
    patient = onboarded()
    buy(client, login, patient, "basic")
    [sub], _ = plan_rows(patient.user.id)
    clock_at(clock.now() + timedelta(days=10))
    outcome = post_event(client, "customer.subscription.deleted", {
        "id": sub.provider_subscription_id, "object": "subscription", "status": "canceled"})
    assert outcome == "cancelled"
    assert balance(patient.user.id) == 3500
    login(patient.email)  # days later the browser session has expired
    assert "can be used until" in client.get("/pricing").get_data(as_text=True)
    assert subscriptions.lapse_ended_plan_credits() == 0
    clock_at(sub.current_period_end + timedelta(minutes=1))
    assert subscriptions.lapse_ended_plan_credits() == 1
    assert balance(patient.user.id) == 0
    assert subscriptions.lapse_ended_plan_credits() == 0


def test_the_pricing_page_cancels_a_plan_with_a_form(client, onboarded, login):
    patient = onboarded()
    buy(client, login, patient, "basic")
    page = client.get("/pricing").get_data(as_text=True)
    assert "Cancel my plan" in page
    done = client.post("/plans/cancel", data={"csrf_token": token(client)})
    assert path_of(done.headers["Location"]) == "/pricing"
    assert "stays active, with its credits" in client.get("/pricing").get_data(as_text=True)
    assert subscriptions.current_plan(patient.actor).cancel_at_period_end


# ---- nobody grants themselves credit ----

def test_a_patient_cannot_grant_themselves_credit_nor_activate_a_plan(client, onboarded):
    patient = onboarded()
    with pytest.raises(DBAPIError), unit_of_work(patient.actor) as uow:
        credits.add_entry(uow.session, patient.user.id, "grant", 3500, note="free money")
    with pytest.raises(DBAPIError), unit_of_work(patient.actor) as uow:
        uow.session.add(Subscription(user_id=patient.user.id, plan="premium", status="active", credits_per_period=3))
    checkout = subscriptions.start_subscription(patient.actor, "premium")
    with unit_of_work(patient.actor) as uow:
        changed = uow.session.execute(update(Subscription).where(Subscription.id == checkout.subscription_id)
                                      .values(status="active")).rowcount
    assert changed == 0  # RLS: only staff and the system update plans
    forged_payload, _ = signed_event("checkout.session.completed", {
        "id": checkout.session_id, "mode": "subscription", "payment_status": "paid", "amount_total": 5900})
    forged = client.post(WEBHOOK, data=forged_payload, headers={"Stripe-Signature": "t=1,v1=00"})
    assert forged.status_code == 400
    assert balance(patient.user.id) == 0 and plan_rows(patient.user.id)[0][0].status == "incomplete"


def test_a_second_plan_is_refused_while_one_is_live(onboarded, client, login):
    patient = onboarded()
    buy(client, login, patient, "basic")
    with pytest.raises(PlanActive):
        subscriptions.start_subscription(patient.actor, "premium")
    response = client.post("/plans/premium/subscribe", data={"csrf_token": token(client)})
    assert path_of(response.headers["Location"]) == "/pricing"
    assert "You already have the Basic plan" in client.get("/pricing").get_data(as_text=True)


# ---- Stripe: the requests as Stripe receives them, and its events ----

def test_stripe_subscription_checkout_request_shape(onboarded, monkeypatch):
    http = RecordedStripe(("checkout_session_subscription_created.json", 200))
    monkeypatch.setattr(subscriptions, "current_gateway", lambda: StripeGateway("sk_test_recorded", http_client=http))
    patient = onboarded()
    checkout = subscriptions.start_subscription(patient.actor, "basic")
    assert (checkout.session_id, checkout.url) == ("cs_test_sub_F6g7H8i9J0",
                                                   "https://checkout.stripe.com/c/pay/cs_test_sub_F6g7H8i9J0")
    [sent] = http.sent
    assert sent["method"] == "post" and sent["url"].endswith("/v1/checkout/sessions")
    form = {k: v[0] for k, v in sent["form"].items()}
    assert form["mode"] == "subscription"
    assert form["line_items[0][price_data][unit_amount]"] == "2900"
    assert form["line_items[0][price_data][currency]"] == "eur"
    assert form["line_items[0][price_data][recurring][interval]"] == "month"
    assert form["line_items[0][price_data][recurring][interval_count]"] == "1"
    assert form["line_items[0][price_data][product_data][name]"] == "Doktu Basic plan"
    assert form["line_items[0][quantity]"] == "1"
    assert form["customer_email"] == patient.email
    assert form["subscription_data[metadata][subscription_id]"] == str(checkout.subscription_id)
    assert form["metadata[payment_id]"] == str(checkout.subscription_id)
    assert parse_qs(urlsplit(form["success_url"]).query) == {"plan_session": ["{CHECKOUT_SESSION_ID}"]}
    assert "payment_intent_data[metadata][payment_id]" not in form  # not allowed in subscription mode
    assert sent["headers"]["Idempotency-Key"] == f"subscribe:{checkout.subscription_id}"
    [sub], [payment] = plan_rows(patient.user.id)
    assert (payment.provider, payment.provider_session_id, payment.amount_cents, sub.status) \
        == ("stripe", "cs_test_sub_F6g7H8i9J0", 2900, "incomplete")


def test_stripe_plan_lifecycle_with_recorded_objects(client, onboarded, monkeypatch, clock_at):
    http = RecordedStripe(("checkout_session_subscription_created.json", 200),
                          ("subscription_cancel_at_period_end.json", 200))
    monkeypatch.setattr(subscriptions, "current_gateway", lambda: StripeGateway("sk_test_recorded", http_client=http))
    patient = onboarded()
    checkout = subscriptions.start_subscription(patient.actor, "basic")
    assert post_event(client, "checkout.session.completed", {
        "id": checkout.session_id, "object": "checkout.session", "mode": "subscription", "payment_status": "paid",
        "amount_total": 2900, "subscription": "sub_1PlanBasicK2", "invoice": "in_1First"}) == "plan_activated"
    # The recorded renewal: the new month is the line's period (2 April → 2 May 2026).
    invoice = json.loads((FIXTURES / "invoice_paid_subscription_cycle.json").read_text())
    clock_at(clock.now() + timedelta(days=31, hours=1))
    assert post_event(client, "invoice.paid", invoice) == "plan_renewed"
    [sub], payments = plan_rows(patient.user.id)
    assert int(sub.current_period_end.timestamp()) == invoice["lines"]["data"][0]["period"]["end"]
    assert payments[-1].provider_payment_id == "in_1RenewalL3" and payments[-1].provider == "stripe"
    assert balance(patient.user.id) == 3500
    plan = subscriptions.cancel_subscription(patient.actor)
    assert plan.cancel_at_period_end
    cancel = http.sent[-1]
    assert cancel["method"] == "post" and cancel["url"].endswith("/v1/subscriptions/sub_1PlanBasicK2")
    assert {k: v[0] for k, v in cancel["form"].items()} == {"cancel_at_period_end": "true"}
    assert cancel["headers"]["Idempotency-Key"] == f"cancel:{sub.id}"
    subscriptions.cancel_subscription(patient.actor)
    assert len(http.sent) == 2  # asked once
    # Stripe's own echo of the change, then the end of the plan.
    assert post_event(client, "customer.subscription.updated", {
        **json.loads((FIXTURES / "subscription_cancel_at_period_end.json").read_text())}) == "already"
    assert post_event(client, "customer.subscription.deleted", {"id": "sub_1PlanBasicK2", "object": "subscription",
                                                                "status": "canceled"}) == "cancelled"
    assert subscriptions.current_plan(patient.actor).status == "cancelled"


def test_a_cancellation_asked_on_stripe_is_recorded_and_can_be_withdrawn(client, onboarded):
    patient = onboarded()
    checkout = subscriptions.start_subscription(patient.actor, "premium")
    post_event(client, "checkout.session.completed", {
        "id": checkout.session_id, "object": "checkout.session", "mode": "subscription", "payment_status": "paid",
        "amount_total": 5900, "subscription": "sub_test_Portal"})
    updated = {"id": "sub_test_Portal", "object": "subscription", "status": "active"}
    assert post_event(client, "customer.subscription.updated", {**updated, "cancel_at_period_end": True}) \
        == "cancel_scheduled"
    assert subscriptions.current_plan(patient.actor).cancel_at_period_end
    assert post_event(client, "customer.subscription.updated", {**updated, "cancel_at_period_end": False}) \
        == "cancel_withdrawn"
    assert not subscriptions.current_plan(patient.actor).cancel_at_period_end
