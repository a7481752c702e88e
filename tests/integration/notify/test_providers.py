"""Delivery through the providers' own clients, with their HTTP faked at the transport (no
network): SendGrid's Mail Send request, Twilio's Messages request, SMTP's MIME; failures are
retried by RQ with backoff, given up after 4 attempts, and never log an address or a number."""

import base64
import io
import json
import logging
import urllib.error
import urllib.request
import uuid
from datetime import timedelta

import pytest
from rq import Queue, SimpleWorker
from twilio.http import HttpClient
from twilio.http.response import Response

from core import clock
from core.actor import SYSTEM
from core.db import unit_of_work
from core.models import OutboxMessage, OwedEffect
from core.notify import delivery
from core.notify.delivery import DeliveryFailed, DevOutbox, deliver, redeliver_stuck
from core.notify.email import SendGridMailer, SmtpMailer
from core.notify.outbox import Attachment, Outgoing, queue_once
from core.notify.sms import TwilioSms
from core.owed import sweep_owed
from tests.integration.notify.conftest import DELIVER, outbox

ICS = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n"
EMAIL = Outgoing("email", "ada@patients.doktu.eu", "Hello Ada,\nYour consultation…\n", "Booked: your consultation",
                 "<p>Hello Ada</p>", (Attachment("invite.ics", "text/calendar; method=REQUEST; charset=UTF-8", ICS),))
SMS = Outgoing("sms", "+33612345678", "Doktu: your video consultation is in 1 hour.")


def queued(message: Outgoing, key: str, **kwargs):
    with unit_of_work(SYSTEM) as uow:
        return queue_once(uow, message, key, **kwargs)


def row(outbox_id) -> OutboxMessage:
    with unit_of_work(SYSTEM) as uow:
        return uow.session.get(OutboxMessage, outbox_id)


class FakeOpener:
    """Stands in for urllib's opener under SendGrid's client: records the request, answers."""

    def __init__(self, status=202, body=b""):
        self.status, self.body, self.requests = status, body, []

    def open(self, request, timeout=None):
        self.requests.append(request)
        if self.status >= 400:
            raise urllib.error.HTTPError(request.full_url, self.status, "error", {}, io.BytesIO(self.body))
        return self

    def getcode(self):
        return self.status

    def read(self):
        return self.body

    def info(self):
        return {}


@pytest.fixture
def sendgrid_http(monkeypatch):
    def fake(status=202, body=b""):
        opener = FakeOpener(status, body)
        monkeypatch.setattr(urllib.request, "build_opener", lambda *handlers: opener)
        return opener

    return fake


class FakeTwilioHttp(HttpClient):
    def __init__(self, status=201, body=None):
        super().__init__(logger=logging.getLogger("tests.twilio"), is_async=False)
        self.status, self.body, self.requests = status, body, []

    def request(self, method, uri, params=None, data=None, headers=None, auth=None, timeout=None,
                allow_redirects=False):
        self.requests.append({"method": method, "uri": uri, "data": data, "auth": auth, "timeout": timeout})
        return Response(self.status, json.dumps(self.body or {"sid": "SM0123", "status": "queued"}))


def test_sendgrid_gets_one_mail_send_request_with_text_html_and_the_invite(deferred, sendgrid_http):
    http = sendgrid_http()
    outbox_id = queued(EMAIL, "test:sendgrid")
    assert deliver(outbox_id, mailer=SendGridMailer("SG.test-key"), sms=DevOutbox()) == "sent"
    (request,) = http.requests
    assert (request.get_method(), request.full_url) == ("POST", "https://api.sendgrid.com/v3/mail/send")
    headers = {k.lower(): v for k, v in request.header_items()}
    assert headers["authorization"] == "Bearer SG.test-key" and headers["content-type"] == "application/json"
    body = json.loads(request.data)
    assert body["personalizations"] == [{"to": [{"email": "ada@patients.doktu.eu"}]}]
    assert body["from"] == {"email": "no-reply@doktu.eu", "name": "Doktu"}
    assert body["subject"] == "Booked: your consultation"
    assert body["content"] == [{"type": "text/plain", "value": EMAIL.text},
                               {"type": "text/html", "value": "<p>Hello Ada</p>"}]
    (attachment,) = body["attachments"]
    assert attachment["filename"] == "invite.ics" and attachment["disposition"] == "attachment"
    assert attachment["type"] == "text/calendar; method=REQUEST; charset=UTF-8"
    assert base64.b64decode(attachment["content"]).decode() == ICS
    assert body["custom_args"] == {"outbox_id": str(outbox_id)}  # the same on a repeated send
    sent = row(outbox_id)
    assert (sent.status, sent.provider, sent.attempts, sent.last_error) == ("sent", "sendgrid", 1, None)
    assert sent.sent_at is not None


def test_twilio_gets_one_messages_request(deferred):
    http = FakeTwilioHttp()
    outbox_id = queued(SMS, "test:twilio")
    sender = TwilioSms("AC" + "0" * 32, "auth-token", "+33700000000", http_client=http)
    assert deliver(outbox_id, mailer=DevOutbox(), sms=sender) == "sent"
    (request,) = http.requests
    assert request["method"] == "POST"
    assert request["uri"] == f"https://api.twilio.com/2010-04-01/Accounts/AC{'0' * 32}/Messages.json"
    assert request["data"] == {"To": "+33612345678", "From": "+33700000000", "Body": SMS.text}
    assert request["auth"] == ("AC" + "0" * 32, "auth-token")
    assert (row(outbox_id).status, row(outbox_id).provider) == ("sent", "twilio")


def test_smtp_sends_alternatives_and_the_invite_as_text_calendar(deferred, monkeypatch):
    sent = []

    class FakeSMTP:
        def __init__(self, host, port, timeout):
            self.where = (host, port, timeout)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def login(self, user, password):
            sent.append(("login", user, password))

        def send_message(self, message):
            sent.append((self.where, message))

    import smtplib

    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    outbox_id = queued(EMAIL, "test:smtp")
    assert deliver(outbox_id, mailer=SmtpMailer("smtp://mailhog:1025"), sms=DevOutbox()) == "sent"
    ((where, message),) = sent
    assert where == ("mailhog", 1025, 10)
    assert message["To"] == "ada@patients.doktu.eu" and message["From"] == "Doktu <no-reply@doktu.eu>"
    assert message.get_content_type() == "multipart/mixed"
    body, invite = message.iter_parts()
    assert [p.get_content_type() for p in body.iter_parts()] == ["text/plain", "text/html"]
    assert invite.get_content_type() == "text/calendar" and invite.get_param("method") == "REQUEST"
    assert invite.get_filename() == "invite.ics" and invite.get_content().replace("\r\n", "\n") == ICS.replace(
        "\r\n", "\n")


def test_without_providers_messages_stay_in_the_dev_outbox(deferred, settings):
    assert isinstance(delivery.mailer_for(settings), DevOutbox) and isinstance(delivery.sms_sender_for(settings),
                                                                               DevOutbox)
    from dataclasses import replace

    assert isinstance(delivery.mailer_for(replace(settings, sendgrid_api_key="SG.x", smtp_url="smtp://h")),
                      SendGridMailer)
    assert isinstance(delivery.mailer_for(replace(settings, smtp_url="smtp://h:25")), SmtpMailer)
    assert isinstance(delivery.sms_sender_for(replace(settings, twilio_account_sid="AC1", twilio_auth_token="t",
                                                      twilio_from_number="+33700000000")), TwilioSms)
    assert isinstance(delivery.sms_sender_for(replace(settings, twilio_account_sid="AC1")), DevOutbox)


def test_a_refused_send_is_retried_then_given_up_without_logging_personal_data(deferred, sendgrid_http, caplog):
    sendgrid_http(500, b'{"errors": [{"message": "ada@patients.doktu.eu bounced"}]}')
    outbox_id = queued(EMAIL, "test:sendgrid-down")
    mailer = SendGridMailer("SG.test-key")
    caplog.set_level(logging.INFO)
    for attempt in (1, 2, 3):
        with pytest.raises(DeliveryFailed, match=r"^sendgrid: InternalServerError 500$"):
            deliver(outbox_id, mailer=mailer, sms=DevOutbox())
        failed = row(outbox_id)
        assert (failed.status, failed.attempts, failed.last_error) == ("queued", attempt, "sendgrid: InternalServerError 500")
    assert deliver(outbox_id, mailer=mailer, sms=DevOutbox()) == "failed"  # the 4th attempt: given up
    assert (row(outbox_id).status, row(outbox_id).attempts) == ("failed", 4)
    assert deliver(outbox_id, mailer=mailer, sms=DevOutbox()) == "failed"  # and left alone
    assert "ada@" not in caplog.text and "doktu.eu" not in caplog.text.replace("no-reply@doktu.eu", "")


def test_a_twilio_refusal_names_the_error_code_not_the_number(deferred, caplog):
    http = FakeTwilioHttp(400, {"code": 21211, "message": "The 'To' number +33612345678 is not valid.",
                                "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400})
    outbox_id = queued(SMS, "test:twilio-refused")
    caplog.set_level(logging.INFO)
    with pytest.raises(DeliveryFailed) as refused:
        deliver(outbox_id, mailer=DevOutbox(), sms=TwilioSms("AC1", "t", "+33700000000", http_client=http))
    assert str(refused.value) == "twilio: TwilioRestException 400"
    assert "+336" not in caplog.text and "+336" not in str(refused.value)


def test_a_failed_delivery_is_retried_with_backoff_by_the_owed_sweep(app, db, monkeypatch):
    class Down:
        name = "sendgrid"

        def send(self, _email):
            raise ConnectionError("unreachable")

    monkeypatch.setattr(app.extensions["doktu"], "mailer", Down())
    queue: Queue = app.extensions["doktu_queue"]
    queue.empty()
    with unit_of_work(SYSTEM) as uow:
        outbox_id = queue_once(uow, EMAIL, "test:rq-retry")
    (job,) = queue.jobs
    assert job.func_name == "jobs.owed.run_owed_effect"
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    assert job.get_status(refresh=True) == "finished"  # the failure is the owed row's to retry
    with unit_of_work(SYSTEM) as uow:
        effect = uow.session.get(OwedEffect, uuid.UUID(job.args[0]))
        assert (effect.task, effect.args, effect.status, effect.attempts, effect.last_error) == \
            (DELIVER, [str(outbox_id)], "pending", 1, "DeliveryFailed")
        due = effect.next_attempt_at
    assert due - clock.now() <= timedelta(seconds=30)  # back in 30 s, then 1 min, 2 min…
    assert (row(outbox_id).attempts, row(outbox_id).last_error) == (1, "sendgrid: ConnectionError")
    sweep_owed(due - timedelta(seconds=1))
    assert row(outbox_id).attempts == 1  # not due yet
    sweep_owed(due)
    assert row(outbox_id).attempts == 2


def test_lost_deliveries_are_enqueued_again_by_the_sweep(deferred):
    now = clock.now()
    stuck = queued(EMAIL, "test:stuck", now=now - timedelta(minutes=15))
    queued(EMAIL, "test:fresh", now=now - timedelta(minutes=2))
    too_old = queued(EMAIL, "test:ancient", now=now - timedelta(days=2))
    done = queued(EMAIL, "test:done", now=now - timedelta(minutes=30))
    deliver(done, mailer=DevOutbox(), sms=DevOutbox())
    deferred.clear()
    assert redeliver_stuck(now) == 1
    assert deferred == [(DELIVER, (str(stuck),), {})]
    assert row(too_old).status == "queued"


def test_the_idempotency_key_is_unique_in_the_outbox(deferred):
    first = queued(EMAIL, "test:once")
    assert queued(SMS, "test:once") is None
    assert [r.id for r in outbox(OutboxMessage.dedupe_key == "test:once")] == [first]
    assert deferred.paths() == [DELIVER]


class WorkerKilled(BaseException):
    """Stands for the process dying (SIGKILL, OOM) right after the provider accepted the message:
    nothing after the send runs, as no `except Exception` would catch it."""


def test_a_worker_killed_mid_send_does_not_send_again_within_the_lease(deferred, time_machine):
    time_machine.move_to(clock.now(), tick=False)
    outbox_id = queued(EMAIL, "reminder-1h:crash:0:patient:email", now=clock.now() - timedelta(minutes=30))
    sends = []

    class Provider:
        name = "smtp"

        def __init__(self, dies=False):
            self.dies = dies

        def send(self, email):
            sends.append(email.message_key)
            if self.dies:
                raise WorkerKilled

    with pytest.raises(WorkerKilled):
        deliver(outbox_id, mailer=Provider(dies=True), sms=DevOutbox())
    claimed = row(outbox_id)
    assert (claimed.status, claimed.attempts) == ("sending", 1)
    assert claimed.lease_until == clock.now() + delivery.SEND_LEASE  # committed before the send
    time_machine.move_to(clock.now() + delivery.SEND_LEASE - timedelta(seconds=1), tick=False)
    deferred.clear()
    assert redeliver_stuck() == 0  # the sweep leaves it alone while the lease lasts…
    assert deliver(outbox_id, mailer=Provider(), sms=DevOutbox()) == "busy"  # …and so does an RQ retry
    assert sends == [str(outbox_id)]
    time_machine.move_to(clock.now() + timedelta(seconds=1), tick=False)  # the lease is over
    assert redeliver_stuck() == 1 and deferred == [(DELIVER, (str(outbox_id),), {})]
    assert deliver(outbox_id, mailer=Provider(), sms=DevOutbox()) == "sent"
    assert sends == [str(outbox_id)] * 2  # at least once: the same key both times (README, Notifications)
    assert (row(outbox_id).status, row(outbox_id).attempts, row(outbox_id).lease_until) == ("sent", 2, None)
    assert delivery.record_outcome(outbox_id, 1, "smtp", "smtp: TimeoutError") == "sent"  # a stale claim changes nothing


def test_the_email_carries_the_outbox_id_as_its_message_id(deferred, monkeypatch):
    sent = []

    class FakeSmtp:
        def __init__(self, host, port, timeout):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def send_message(self, message):
            sent.append(message)

    monkeypatch.setattr("smtplib.SMTP", FakeSmtp)
    outbox_id = queued(EMAIL, "test:message-id")
    assert deliver(outbox_id, mailer=SmtpMailer("smtp://mailhog:1025"), sms=DevOutbox()) == "sent"
    assert sent[0]["Message-ID"] == f"<{outbox_id}@doktu.eu>"
