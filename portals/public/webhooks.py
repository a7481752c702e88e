"""Stripe's webhook endpoint (SPEC §8, §12): the raw body and its signature go to the core handler.

Before that, the body must be JSON (400) and a signed event must have the shape the handler reads
(SPEC §12: never a 500). Stripe itself always sends these fields; a signed event without them is
refused with 422 ERR_VALIDATION and logged rather than ignored: Stripe retries it, and nothing is
lost while someone looks at it."""

from __future__ import annotations

import logging
from typing import Any

from flask import request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from spectree import Response

from core.errors import ValidationFailed
from core.payments.webhooks import handle, verify
from portals.api import ApiModel, ErrorEnvelope, api_route, to_json
from portals.hygiene import parse_json
from portals.public import public

log = logging.getLogger(__name__)
Id = Field(min_length=1, max_length=255)
YEAR_2100 = 4_102_444_800


class _Loose(BaseModel):
    model_config = ConfigDict(extra="allow")


class _PaymentError(_Loose):
    code: str | None = None
    decline_code: str | None = None


class _SubscriptionDetails(_Loose):
    subscription: str | dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None


class _Parent(_Loose):
    subscription_details: _SubscriptionDetails | None = None


class _LinePeriod(_Loose):
    start: int | None = Field(default=None, ge=0, le=YEAR_2100)
    end: int | None = Field(default=None, ge=0, le=YEAR_2100)


class _Line(_Loose):
    period: _LinePeriod | None = None


class _Lines(_Loose):
    data: list[_Line] | None = None


class _EventObject(_Loose):
    """The fields of `data.object` the handlers read, with the types they assume."""

    id: str = Id
    mode: str | None = None
    payment_status: str | None = None
    payment_intent: str | dict[str, Any] | None = None
    amount_total: int | None = None
    amount_refunded: int | None = None
    amount_paid: int | None = None
    currency: str | None = Field(default=None, max_length=8)
    metadata: dict[str, Any] | None = None
    parent: _Parent | None = None
    lines: _Lines | None = None
    last_payment_error: _PaymentError | None = None
    subscription: str | dict[str, Any] | None = None
    period_end: int | None = Field(default=None, ge=0, le=YEAR_2100)
    cancel_at_period_end: bool | None = None


class _EventData(_Loose):
    object: _EventObject


class StripeEventShape(_Loose):
    id: str = Id
    type: str = Id
    created: int | None = Field(default=None, ge=0, le=YEAR_2100)
    data: _EventData


class WebhookOut(ApiModel):
    received: bool = True
    outcome: str


def check_event_shape(payload: bytes, signature: str) -> None:
    """A signed event whose fields the handler could not read is a 400, not a crash mid-transaction.
    The signature is checked before the shape, so an unsigned caller learns nothing about it."""
    parse_json(payload)  # whatever the Content-Type said: the handler parses these bytes
    event = verify(payload, signature).to_dict()
    try:
        StripeEventShape.model_validate(event)
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors(include_input=False)})
        log.warning("stripe event refused: fields missing or malformed", extra={"fields": ",".join(fields)[:300]})
        raise ValidationFailed("The event lacks fields the handler needs: " + ", ".join(fields)[:300] + ".",
                               details={"fields": fields}) from None


@api_route(public.post("/api/payment/webhook"),
           resp=Response(HTTP_200=WebhookOut, HTTP_400=ErrorEnvelope, HTTP_409=ErrorEnvelope, HTTP_422=ErrorEnvelope),
           tags=["payments"])
def payment_webhook():
    """Stripe-signed events (`Stripe-Signature`, secret `STRIPE_WEBHOOK_SECRET`). 400 on a bad
    signature (or one dated more than 5 minutes ahead), 422 on a signed event without the fields it
    must carry; each event id is handled once, so replays and duplicate deliveries answer 200. 409
    `ERR_WEBHOOK_EARLY` for a refund of a payment not known yet (its checkout's completion still on
    its way): Stripe delivers it again later."""
    payload, signature = request.get_data(), request.headers.get("Stripe-Signature", "")
    check_event_shape(payload, signature)
    outcome = handle(payload, signature)
    return to_json(WebhookOut(outcome=outcome))
