"""Stripe's webhook endpoint (SPEC §8, §12): the raw body and its signature go to the core handler."""

from __future__ import annotations

from flask import request
from spectree import Response

from core.payments.webhooks import handle
from portals.api import ApiModel, ErrorEnvelope, api_spec, to_json
from portals.public import public


class WebhookOut(ApiModel):
    received: bool = True
    outcome: str


@public.post("/api/payment/webhook")
@api_spec.validate(resp=Response(HTTP_200=WebhookOut, HTTP_400=ErrorEnvelope, HTTP_409=ErrorEnvelope),
                   tags=["payments"])
def payment_webhook():
    """Stripe-signed events (`Stripe-Signature`, secret `STRIPE_WEBHOOK_SECRET`). 400 on a bad
    signature (or one dated more than 5 minutes ahead); each event id is handled once, so replays
    and duplicate deliveries answer 200. 409 `ERR_WEBHOOK_EARLY` for a refund of a payment not
    known yet (its checkout's completion still on its way): Stripe delivers it again later."""
    outcome = handle(request.get_data(), request.headers.get("Stripe-Signature", ""))
    return to_json(WebhookOut(outcome=outcome))
