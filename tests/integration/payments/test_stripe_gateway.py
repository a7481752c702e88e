"""The real Stripe client, offline: recorded answers served to `StripeClient`, so the requests it
builds (endpoint, form fields, Idempotency-Key) are checked as Stripe would receive them."""

import json
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import stripe
from sqlalchemy import select

from core import clock
from core.actor import SYSTEM
from core.db import unit_of_work
from core.models import Appointment, Payment
from core.payments import checkout
from core.payments.gateway import StripeGateway
from core.payments.reconcile import reconcile_pending_payments

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "stripe"


class RecordedStripe(stripe.HTTPClient):
    """Answers each request with the next recorded response and remembers what was sent."""

    name = "recorded"

    def __init__(self, *answers: tuple[str, int]):
        super().__init__()
        self.answers = list(answers)
        self.sent: list[dict] = []

    def request(self, method, url, headers, post_data=None, *, _usage=None):
        self.sent.append({"method": method, "url": url, "headers": dict(headers or {}),
                          "form": parse_qs(post_data.decode() if isinstance(post_data, bytes) else post_data or "")})
        fixture, status = self.answers.pop(0)
        return (FIXTURES / fixture).read_text(), status, {"request-id": "req_recorded"}

    def close(self):
        pass


def test_checkout_session_request_has_price_metadata_and_an_idempotency_key(held, monkeypatch):
    http = RecordedStripe(("checkout_session_created.json", 200))
    monkeypatch.setattr(checkout, "current_gateway", lambda: StripeGateway("sk_test_recorded", http_client=http))
    patient, pending = held()
    session = checkout.start_payment(patient.actor, pending.id)
    assert (session.session_id, session.url) == ("cs_test_a1B2c3D4e5",
                                                  "https://checkout.stripe.com/c/pay/cs_test_a1B2c3D4e5")
    [sent] = http.sent
    assert sent["method"] == "post" and sent["url"].endswith("/v1/checkout/sessions")
    form = {k: v[0] for k, v in sent["form"].items()}
    assert form["mode"] == "payment" and form["line_items[0][price_data][unit_amount]"] == "3500"
    assert form["line_items[0][price_data][currency]"] == "eur"
    assert form["metadata[appointment_id]"] == str(pending.id)
    assert form["customer_email"] == patient.email
    with unit_of_work(SYSTEM) as uow:
        payment = uow.session.scalar(select(Payment).where(Payment.appointment_id == pending.id))
    assert form["metadata[payment_id]"] == str(payment.id)
    assert sent["headers"]["Idempotency-Key"] == f"checkout:{payment.id}"
    assert (payment.provider, payment.provider_session_id) == ("stripe", "cs_test_a1B2c3D4e5")


def test_refunds_carry_their_idempotency_key_and_stripe_errors_surface():
    http = RecordedStripe(("refund_created.json", 200), ("error_invalid_request.json", 400))
    gateway = StripeGateway("sk_test_recorded", http_client=http)
    assert gateway.refund(payment_intent_id="pi_3PaidIntent", amount_cents=3500,
                          idempotency_key="refund:p1:3500") == "re_3RefundOne"
    form = {k: v[0] for k, v in http.sent[0]["form"].items()}
    assert form == {"payment_intent": "pi_3PaidIntent", "amount": "3500"}
    assert http.sent[0]["headers"]["Idempotency-Key"] == "refund:p1:3500"
    with pytest.raises(stripe.InvalidRequestError) as refused:
        gateway.refund(payment_intent_id="pi_3PaidIntent", amount_cents=3500, idempotency_key="refund:p1:7000")
    assert refused.value.code == "charge_already_refunded"


def test_reconciliation_confirms_a_paid_session_whose_webhook_never_came(held, monkeypatch, clock_at):
    http = RecordedStripe(("checkout_session_created.json", 200))
    gateway = StripeGateway("sk_test_recorded", http_client=http)
    monkeypatch.setattr(checkout, "current_gateway", lambda: gateway)
    patient, pending = held()
    checkout.start_payment(patient.actor, pending.id)
    assert reconcile_pending_payments(gateway) == {"checked": 0, "confirmed": 0, "expired": 0}  # within grace
    clock_at(clock.now() + timedelta(minutes=11))
    http.answers.append(("checkout_session_paid.json", 200))
    assert reconcile_pending_payments(gateway) == {"checked": 1, "confirmed": 1, "expired": 0}
    assert http.sent[-1]["url"].endswith("/v1/checkout/sessions/cs_test_a1B2c3D4e5")
    with unit_of_work(SYSTEM) as uow:
        payment = uow.session.scalar(select(Payment).where(Payment.appointment_id == pending.id))
        assert (payment.status, payment.provider_payment_id) == ("succeeded", "pi_3PaidIntent")
        assert uow.session.get(Appointment, pending.id).status == "confirmed"
    assert json.loads((FIXTURES / "checkout_session_paid.json").read_text())["amount_total"] == 3500


def test_a_plan_withdrawal_refunds_the_intent_that_paid_the_invoice_and_ends_the_subscription_now():
    """Issue 25: the plan's payment is its invoice; the refund goes to the invoice's paid payment
    intent (found through invoice payments in current API versions), with our idempotency key."""
    http = RecordedStripe(("invoice_plan_first.json", 200), ("invoice_payments_paid.json", 200),
                          ("refund_created.json", 200), ("subscription_canceled.json", 200))
    gateway = StripeGateway("sk_test_recorded", http_client=http)
    assert gateway.refund_invoice(invoice_id="in_1PlanFirst", amount_cents=2400,
                                  idempotency_key="refund:p1:2400") == "re_3RefundOne"
    gateway.cancel_subscription_now(subscription_id="sub_1PlanPremium", idempotency_key="withdraw:s1")
    invoice, payments, refund, cancel = http.sent
    assert (invoice["method"], invoice["url"].split("?")[0]) == ("get", "https://api.stripe.com/v1/invoices/in_1PlanFirst")
    assert payments["method"] == "get" and "/v1/invoice_payments?" in payments["url"]
    assert parse_qs(payments["url"].split("?", 1)[1]) == {"invoice": ["in_1PlanFirst"], "status": ["paid"]}
    assert refund["url"].endswith("/v1/refunds")
    assert {k: v[0] for k, v in refund["form"].items()} == {"payment_intent": "pi_3PlanFirst", "amount": "2400"}
    assert refund["headers"]["Idempotency-Key"] == "refund:p1:2400"
    assert (cancel["method"], cancel["url"]) == ("delete", "https://api.stripe.com/v1/subscriptions/sub_1PlanPremium")
    assert cancel["headers"]["Idempotency-Key"] == "withdraw:s1"


def _set_locale(user_id, locale):
    from sqlalchemy import update

    from core.models import User

    with unit_of_work(SYSTEM) as uow:
        uow.session.execute(update(User).where(User.id == user_id).values(locale=locale))


@pytest.mark.parametrize(("locale", "sent_locale", "description"), [
    ("fr", "fr", "Consultation vidéo avec"), ("de", "de", "Videosprechstunde mit"),
    ("en", "en", "Video consultation with"), (None, "auto", "Video consultation with")])
def test_checkout_is_in_the_payers_language(held, monkeypatch, locale, sent_locale, description):
    """SPEC §20: Stripe Checkout's page (and its receipt email) follow the patient's saved language;
    with none saved, Stripe follows the browser (`auto`). The line's name is translated too."""
    http = RecordedStripe(("checkout_session_created.json", 200))
    monkeypatch.setattr(checkout, "current_gateway", lambda: StripeGateway("sk_test_recorded", http_client=http))
    patient, pending = held()
    _set_locale(patient.user.id, locale)
    checkout.start_payment(patient.actor, pending.id)
    form = {k: v[0] for k, v in http.sent[0]["form"].items()}
    assert form["locale"] == sent_locale
    assert form["line_items[0][price_data][product_data][name]"].startswith(description)


def test_a_plan_checkout_is_in_the_payers_language(onboarded, monkeypatch):
    from core.payments import subscriptions

    http = RecordedStripe(("checkout_session_subscription_created.json", 200))
    monkeypatch.setattr(subscriptions, "current_gateway",
                        lambda: StripeGateway("sk_test_recorded", http_client=http))
    patient = onboarded()
    _set_locale(patient.user.id, "de")
    subscriptions.start_subscription(patient.actor, "basic")
    form = {k: v[0] for k, v in http.sent[0]["form"].items()}
    assert form["mode"] == "subscription" and form["locale"] == "de"
