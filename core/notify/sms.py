"""SMS through Twilio's client when TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER are
set; otherwise kept in the dev outbox (`core.notify.delivery` chooses)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

TIMEOUT_SECONDS = 10
MAX_LENGTH = 480  # three segments at most: a reminder is one or two

# Twilio's HTTP client logs every request line at INFO (no body); our logs stay about our events.
logging.getLogger("twilio.http_client").setLevel(logging.WARNING)


@dataclass(frozen=True)
class Sms:
    to: str  # E.164
    text: str


class TwilioSms:
    """Programmable Messaging through `twilio.rest.Client().messages.create`."""

    name = "twilio"

    def __init__(self, account_sid: str, auth_token: str, from_number: str, *, http_client=None) -> None:
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        self._from = from_number
        self._client = Client(account_sid, auth_token,
                              http_client=http_client or TwilioHttpClient(timeout=TIMEOUT_SECONDS))

    def send(self, sms: Sms) -> None:
        self._client.messages.create(to=sms.to, from_=self._from, body=sms.text[:MAX_LENGTH])
