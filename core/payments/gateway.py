"""The payment gateway (SPEC §8): Stripe when `STRIPE_SECRET_KEY` is set, otherwise the local
stand-in, whose checkout page delivers signed Stripe-shaped events to the same webhook handler.

Every write carries an idempotency key, so a retried call never charges or refunds twice.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Protocol

from core import i18n, runtime
from core.config import Settings


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str


class PaymentGateway(Protocol):
    name: str  # payments.provider

    def create_checkout_session(self, *, amount_cents: int, currency: str, description: str,
                                customer_email: str, success_url: str, cancel_url: str,
                                metadata: dict[str, str], idempotency_key: str,
                                locale: str = "auto") -> CheckoutSession: ...

    def refund(self, *, payment_intent_id: str, amount_cents: int, idempotency_key: str) -> str: ...

    def session_url(self, session_id: str) -> str: ...

    def retrieve_session(self, session_id: str) -> dict | None: ...

    def create_subscription_session(self, *, plan_code: str, plan_name: str, amount_cents: int, currency: str,
                                    customer_email: str, success_url: str, cancel_url: str,
                                    metadata: dict[str, str], idempotency_key: str,
                                    locale: str = "auto") -> CheckoutSession: ...

    def cancel_subscription_at_period_end(self, *, subscription_id: str, idempotency_key: str) -> None: ...

    def expire_session(self, session_id: str) -> None: ...

    def refund_invoice(self, *, invoice_id: str, amount_cents: int, idempotency_key: str) -> str: ...

    def cancel_subscription_now(self, *, subscription_id: str, idempotency_key: str) -> None: ...


def checkout_locale(user_locale: str | None) -> str:
    """Stripe Checkout's `locale` for a payer (SPEC §20): their saved language (`users.locale`:
    fr, de or en), else `auto` — Stripe then follows the browser, as our pages do before a choice."""
    return i18n.language_of(user_locale) if user_locale else "auto"


class StripeGateway:
    """Stripe Checkout in payment mode, and refunds, through the current `StripeClient`."""

    name = "stripe"

    def __init__(self, secret_key: str, *, http_client=None):
        import stripe

        self.client = stripe.StripeClient(secret_key, max_network_retries=2, http_client=http_client)

    def create_checkout_session(self, *, amount_cents, currency, description, customer_email, success_url,
                                cancel_url, metadata, idempotency_key, locale="auto") -> CheckoutSession:
        return self._checkout("payment", {"currency": currency.lower(), "unit_amount": amount_cents,
                                          "product_data": {"name": description}},
                              {"payment_intent_data": {"metadata": metadata}}, customer_email=customer_email,
                              success_url=success_url, cancel_url=cancel_url, metadata=metadata,
                              idempotency_key=idempotency_key, locale=locale)

    def _checkout(self, mode: str, price_data: dict, extra: dict, *, customer_email, success_url, cancel_url,
                  metadata, idempotency_key, locale="auto") -> CheckoutSession:
        """One Checkout Session of one line (payment or subscription mode), with our metadata."""
        session = self.client.v1.checkout.sessions.create(
            params={
                "mode": mode,
                "customer_email": customer_email,
                "line_items": [{"quantity": 1, "price_data": price_data}],
                "success_url": success_url,
                "cancel_url": cancel_url,
                "metadata": metadata,
                "expires_at": _stripe_min_expiry(),
                "locale": locale,  # Checkout's page and its emails in the payer's language
                **extra,
            },
            options={"idempotency_key": idempotency_key},
        )
        return CheckoutSession(session.id, session.url)

    def session_url(self, session_id: str) -> str:
        return self.client.v1.checkout.sessions.retrieve(session_id).url

    def retrieve_session(self, session_id: str) -> dict | None:
        return self.client.v1.checkout.sessions.retrieve(session_id).to_dict()

    def create_subscription_session(self, *, plan_code, plan_name, amount_cents, currency, customer_email,
                                    success_url, cancel_url, metadata, idempotency_key,
                                    locale="auto") -> CheckoutSession:
        """Checkout in subscription mode with a monthly recurring price: Stripe creates the
        subscription and its first invoice; our metadata rides on both (webhooks find the plan by it)."""
        return self._checkout("subscription", {
            "currency": currency.lower(), "unit_amount": amount_cents,
            "recurring": {"interval": "month", "interval_count": 1},
            "product_data": {"name": f"Doktu {plan_name} plan", "metadata": {"plan": plan_code}}},
            {"subscription_data": {"metadata": metadata}}, customer_email=customer_email, success_url=success_url,
            cancel_url=cancel_url, metadata=metadata, idempotency_key=idempotency_key, locale=locale)

    def cancel_subscription_at_period_end(self, *, subscription_id, idempotency_key) -> None:
        self.client.v1.subscriptions.update(subscription_id, params={"cancel_at_period_end": True},
                                            options={"idempotency_key": idempotency_key})

    def expire_session(self, session_id: str) -> None:
        """Close an open Checkout Session (a plan checkout replaced by another one)."""
        import contextlib

        import stripe

        # Already complete or expired: the webhook tells which.
        with contextlib.suppress(stripe.InvalidRequestError):
            self.client.v1.checkout.sessions.expire(session_id, options={"idempotency_key": f"expire:{session_id}"})

    def refund(self, *, payment_intent_id, amount_cents, idempotency_key) -> str:
        refund = self.client.v1.refunds.create(
            params={"payment_intent": payment_intent_id, "amount": amount_cents},
            options={"idempotency_key": idempotency_key},
        )
        return refund.id

    def refund_invoice(self, *, invoice_id, amount_cents, idempotency_key) -> str:
        """Refund (part of) a plan's invoice (a withdrawal, issue 25): the refund goes to the payment
        intent that paid it — `payment_intent` on the invoice in older API versions, its paid
        invoice payment in current ones."""
        invoice = self.client.v1.invoices.retrieve(invoice_id).to_dict()
        intent = invoice.get("payment_intent")
        if not intent:
            paid = self.client.v1.invoice_payments.list(params={"invoice": invoice_id, "status": "paid"}).to_dict()
            intents = [p["payment"].get("payment_intent") for p in paid.get("data", []) if p.get("payment")]
            intent = next((i for i in intents if i), None)
        if isinstance(intent, dict):
            intent = intent.get("id")
        if not intent:
            raise ValueError("the invoice has no paid payment intent")
        return self.refund(payment_intent_id=intent, amount_cents=amount_cents, idempotency_key=idempotency_key)

    def cancel_subscription_now(self, *, subscription_id, idempotency_key) -> None:
        """End a subscription at once (a withdrawal): no further invoice."""
        self.client.v1.subscriptions.cancel(subscription_id, options={"idempotency_key": idempotency_key})


def _stripe_min_expiry() -> int:
    """Stripe's shortest Checkout lifetime is 30 minutes; our hold is 15, and a payment completed
    after the hold is re-checked (see webhooks: late payments are confirmed or refunded)."""
    import time

    return int(time.time()) + 30 * 60 + 60


class LocalGateway:
    """The offline stand-in: sessions are ours (`cs_local_…`), paid on /pay/<session id>."""

    name = "local"

    def __init__(self, base_url: str):
        self.base_url = base_url

    def create_checkout_session(self, *, amount_cents, currency, description, customer_email, success_url,
                                cancel_url, metadata, idempotency_key, locale="auto") -> CheckoutSession:
        session_id = "cs_local_" + secrets.token_hex(12)
        return CheckoutSession(session_id, self.session_url(session_id))

    def session_url(self, session_id: str) -> str:
        # Relative: the stand-in page is on whichever host and port is serving (demo, tests, --port).
        return f"/pay/{session_id}"

    def retrieve_session(self, session_id: str) -> dict | None:
        return None  # local sessions report through their own signed events; nothing to reconcile

    def create_subscription_session(self, *, plan_code, plan_name, amount_cents, currency, customer_email,
                                    success_url, cancel_url, metadata, idempotency_key,
                                    locale="auto") -> CheckoutSession:
        session_id = "cs_local_" + secrets.token_hex(12)
        return CheckoutSession(session_id, self.session_url(session_id))

    def cancel_subscription_at_period_end(self, *, subscription_id, idempotency_key) -> None:
        """Nothing to tell: `renew_local_subscriptions` ends a plan whose cancellation was requested."""

    def expire_session(self, session_id: str) -> None:
        """Nothing to tell: the local page refuses a session whose payment was cancelled."""

    def refund(self, *, payment_intent_id, amount_cents, idempotency_key) -> str:
        return "re_local_" + secrets.token_hex(12)

    def refund_invoice(self, *, invoice_id, amount_cents, idempotency_key) -> str:
        return self.refund(payment_intent_id=invoice_id, amount_cents=amount_cents, idempotency_key=idempotency_key)

    def cancel_subscription_now(self, *, subscription_id, idempotency_key) -> None:
        """Nothing to tell: `renew_local_subscriptions` renews only live plans."""


def gateway_for(settings: Settings) -> PaymentGateway:
    """Stripe when its secret key is set, else the local stand-in (built once, by the runtime)."""
    if settings.stripe_secret_key:
        return StripeGateway(settings.stripe_secret_key)
    return LocalGateway(settings.public_base_url)


def current_gateway() -> PaymentGateway:
    return runtime.current().gateway
