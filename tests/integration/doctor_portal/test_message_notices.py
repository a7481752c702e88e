"""New-message notices (issue 25 item 3): a doctor↔patient message sends its recipient an email
with no content and a link, at most one per conversation per 15 minutes, unless they switched
message emails off."""

from datetime import timedelta

from sqlalchemy import select

from core import clock
from core.accounts.settings import set_notifications
from core.actor import SYSTEM
from core.db import unit_of_work
from core.messaging import messages
from core.models import OutboxMessage, User
from tests.integration.scheduling.conftest import paris

SECRET = "my rash is worse since Tuesday"


def notices(recipient) -> list[OutboxMessage]:
    with unit_of_work(SYSTEM) as uow:
        rows = uow.session.scalars(select(OutboxMessage).where(
            OutboxMessage.dedupe_key.like(f"message:{recipient.user.id}:%")).order_by(OutboxMessage.created_at)).all()
        for row in rows:
            uow.session.expunge(row)
        return rows


def test_a_message_emails_the_recipient_a_link_without_its_content(doctor, patient, appointment, clock_at):
    noor = patient("Noor Haddad")
    appointment(doctor, noor, paris(3, 10))
    messages.send_message(noor.actor, doctor.user.id, SECRET)
    [to_doctor] = notices(doctor)
    assert to_doctor.recipient == doctor.email and to_doctor.subject == "You have a new message on Doktu"
    assert SECRET not in to_doctor.body_text and SECRET not in (to_doctor.body_html or "")
    assert to_doctor.body_text.count("/doctor/") == 1  # the link to the portal's messages
    messages.send_message(doctor.actor, noor.user.id, "Please send a photo.")
    [to_noor] = notices(noor)
    assert f"/dashboard/messages?with={doctor.user.id}" in to_noor.body_text
    assert "Please send a photo" not in to_noor.body_text + (to_noor.body_html or "")


def test_at_most_one_notice_per_conversation_per_15_minutes(doctor, patient, appointment, clock_at):
    noor, sam = patient("Noor Haddad"), patient("Sam Berg")
    appointment(doctor, noor, paris(3, 10))
    appointment(doctor, sam, paris(3, 11))
    start = clock.now()
    messages.send_message(noor.actor, doctor.user.id, "one")
    clock_at(start + timedelta(minutes=5))
    messages.send_message(noor.actor, doctor.user.id, "two")
    messages.send_message(sam.actor, doctor.user.id, "another conversation")  # its own notice
    clock_at(start + timedelta(minutes=14, seconds=59))
    messages.send_message(noor.actor, doctor.user.id, "three")
    assert len(notices(doctor)) == 2
    clock_at(start + timedelta(minutes=15, seconds=1))
    messages.send_message(noor.actor, doctor.user.id, "four")
    sent = [n.created_at for n in notices(doctor)]
    assert len(sent) == 3 and sent[-1] == start + timedelta(minutes=15, seconds=1)


def test_a_patient_who_switched_message_emails_off_gets_none(doctor, patient, appointment, clock_at):
    noor = patient("Noor Haddad")
    appointment(doctor, noor, paris(3, 10))
    set_notifications(noor.actor, email_reminders=True, sms_reminders=False, phone=None, email_message_notices=False)
    messages.send_message(doctor.actor, noor.user.id, "hello")
    assert notices(noor) == []
    with unit_of_work(SYSTEM) as uow:
        assert uow.session.get(User, noor.user.id).email_message_notices is False
    set_notifications(noor.actor, email_reminders=True, sms_reminders=False, phone=None, email_message_notices=True)
    clock_at(clock.now() + timedelta(minutes=1))
    messages.send_message(doctor.actor, noor.user.id, "hello again")
    assert len(notices(noor)) == 1
