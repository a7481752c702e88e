"""Patient records (every look audited) and messages under row-level security (SPEC §2, §9)."""

import pytest
from sqlalchemy import select, text

from core.actor import SYSTEM
from core.db import unit_of_work
from core.doctors import patient_records
from core.errors import Forbidden, NotFound, ValidationFailed
from core.messaging import messages
from core.models import AuditEvent, Message
from portals.doctor import callbacks as cb
from tests.integration.scheduling.conftest import paris


def audit_actions(actor_id) -> list[tuple[str, str, str]]:
    with unit_of_work(SYSTEM) as uow:
        return [(a.action, a.subject_type, a.subject_id) for a in uow.session.scalars(
            select(AuditEvent).where(AuditEvent.actor_id == actor_id).order_by(AuditEvent.id))]


@pytest.fixture
def clinic(doctor, patient, appointment):
    """Noor (seen, completed), Sam (booked for Tuesday), Kim (only an unpaid hold), Lee (another doctor's)."""
    noor, sam, kim = patient("Noor Haddad"), patient("Sam Berg"), patient("Kim Lo")
    appointment(doctor, noor, paris(2, 6), status="completed")
    appointment(doctor, sam, paris(3, 10))
    appointment(doctor, kim, paris(3, 12), status="pending")
    return {"noor": noor, "sam": sam, "kim": kim}


def test_the_list_holds_patients_seen_or_to_be_seen_and_is_audited(doctor, clinic):
    listed = patient_records.list_patients(doctor.actor)
    assert [(p.name, p.consultations) for p in listed] == [("Noor Haddad", 1), ("Sam Berg", 1)]
    assert listed[0].last_seen == paris(2, 6) and listed[1].next_visit == paris(3, 10)
    assert audit_actions(doctor.user.id) == [("patient_records.listed", "doctor", str(doctor.doctor.id))]


def test_each_record_view_is_audited_in_the_same_transaction(doctor, clinic):
    noor = clinic["noor"]
    record = patient_records.view_patient_record(doctor.actor, noor.patient.id)
    assert (record.name, record.primary_conditions, record.allergies) == ("Noor Haddad", ["Asthma"], ["Penicillin"])
    assert [v.status for v in record.visits] == ["completed"]
    patient_records.view_patient_record(doctor.actor, noor.patient.id)
    assert audit_actions(doctor.user.id) == [("patient_record.viewed", "patient", str(noor.patient.id))] * 2


def test_no_record_without_a_care_relationship(doctor, clinic, make_user, patient, appointment):
    with pytest.raises(NotFound):  # only an unpaid hold
        patient_records.view_patient_record(doctor.actor, clinic["kim"].patient.id)
    lee = patient("Lee Other")
    appointment(make_user("doctor"), lee, paris(3, 9))
    with pytest.raises(NotFound):
        patient_records.view_patient_record(doctor.actor, lee.patient.id)
    with pytest.raises(Forbidden):
        patient_records.list_patients(clinic["noor"].actor)
    assert audit_actions(doctor.user.id) == []  # nothing was shown


def test_the_portal_callback_renders_the_record(doctor, clinic):
    detail = cb.open_record(doctor.actor, str(clinic["sam"].patient.id))
    assert detail.children[0].children == "Sam Berg"
    assert cb.open_record(doctor.actor, "nonsense").children == "No such patient."


def test_doctor_and_patient_write_to_each_other_and_unread_counts_follow(doctor, clinic, clock_at):
    noor = clinic["noor"]
    messages.send_message(noor.actor, doctor.user.id, "  Hello doctor  ")
    assert messages.unread_count(doctor.actor) == 1
    [summary] = [s for s in messages.conversations(doctor.actor) if s.other.user_id == noor.user.id]
    assert (summary.other.name, summary.last_body, summary.unread, summary.can_reply) == \
        ("Noor Haddad", "Hello doctor", 1, True)
    thread = messages.read_conversation(doctor.actor, noor.user.id)
    assert [(m.from_me, m.body) for m in thread.messages] == [(False, "Hello doctor")]
    assert messages.unread_count(doctor.actor) == 0
    clock_at(paris(2, 8, 1))
    messages.send_message(doctor.actor, noor.user.id, "Hello Noor")
    assert [s.other.name for s in messages.conversations(noor.actor)] == [doctor.user.full_name]
    assert [m.body for m in messages.read_conversation(noor.actor, doctor.user.id).messages] == \
        ["Hello doctor", "Hello Noor"]


def test_no_one_writes_outside_a_care_relationship(doctor, clinic, make_user, patient):
    stranger = patient("Stranger")
    with pytest.raises(Forbidden):
        messages.send_message(stranger.actor, doctor.user.id, "hi")
    with pytest.raises(Forbidden):
        messages.send_message(doctor.actor, clinic["kim"].user.id, "hi")  # only an unpaid hold
    with pytest.raises(ValidationFailed):
        messages.send_message(clinic["noor"].actor, doctor.user.id, "   ")
    with pytest.raises(Forbidden):
        messages.conversations(make_user("admin").actor)


def test_a_patient_sees_only_their_own_conversations_even_with_raw_sql(doctor, clinic):
    noor, sam = clinic["noor"], clinic["sam"]
    messages.send_message(noor.actor, doctor.user.id, "from Noor")
    messages.send_message(sam.actor, doctor.user.id, "from Sam")
    messages.send_message(doctor.actor, sam.user.id, "to Sam")
    with unit_of_work(sam.actor) as uow:
        bodies = uow.session.execute(text("SELECT body FROM messages ORDER BY body")).scalars().all()
        assert bodies == ["from Sam", "to Sam"]
    with pytest.raises(NotFound):
        messages.read_conversation(sam.actor, noor.user.id)
    assert [s.other.user_id for s in messages.conversations(sam.actor)] == [doctor.user.id]
    with unit_of_work(SYSTEM) as uow:
        assert uow.session.scalar(select(Message.id).where(Message.body == "from Noor")) is not None


def test_the_portal_callback_sends_and_shows_the_thread(doctor, clinic):
    sam = clinic["sam"]
    _thread, box, feedback, conversations = cb.send(doctor.actor, str(sam.user.id), "See you Tuesday")
    assert (box, feedback) == ("", "Sent.")
    # Issue 24: the list shows the message just sent, not "No messages yet".
    listed = str(conversations.to_plotly_json())
    assert "See you Tuesday" in listed and "No messages yet" not in listed.split(sam.user.full_name)[1][:200]
    assert [m.body for m in messages.read_conversation(sam.actor, doctor.user.id).messages] == ["See you Tuesday"]
    assert cb.send(doctor.actor, None, "x")[2] == "Choose a conversation first."
    assert cb.send(doctor.actor, str(clinic["kim"].user.id), "x")[2] == \
        "You can write only to your own patients or doctors."


def test_patients_reach_their_messages_from_the_dashboard(client, login, doctor, clinic, clock_at):
    import re

    sam = clinic["sam"]
    messages.send_message(doctor.actor, sam.user.id, "Bring your <b>inhaler</b>")
    login(sam.email)
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert 'href="/dashboard/messages"' in dashboard
    page = client.get("/dashboard/messages").get_data(as_text=True)
    assert doctor.user.full_name in page and "Bring your &lt;b&gt;inhaler&lt;/b&gt;" in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    clock_at(paris(2, 8, 5))
    sent = client.post(f"/dashboard/messages/{doctor.user.id}", data={"body": "I will", "csrf_token": token})
    assert sent.status_code == 302 and sent.headers["Location"].endswith(f"with={doctor.user.id}#thread")
    assert [m.body for m in messages.read_conversation(doctor.actor, sam.user.id).messages][-1] == "I will"

    refused = client.post(f"/dashboard/messages/{clinic['noor'].user.id}", data={"body": "hi", "csrf_token": token})
    assert refused.status_code == 403
    assert "You can write only to your own patients or doctors." in refused.get_data(as_text=True)
    assert client.post(f"/dashboard/messages/{doctor.user.id}", data={"body": "no token"}).status_code == 400


def test_the_records_dialog_shows_a_page_of_twenty_and_finds_a_patient(app, doctor, patient, appointment):
    for i in range(23):  # one name no email can hold by chance (emails carry random hex)
        appointment(doctor, patient("Page Patient Zebulon" if i == 7 else f"Page Patient {i:02d}"), paris(2, 6) + (i + 1) * (paris(2, 7) - paris(2, 6)),
                    status="completed")
    with app.test_request_context("/doctor/"):
        first = cb.open_records(doctor.actor)
        second = cb.open_records(doctor.actor, at=1)
        found = cb.open_records(doctor.actor, query="zébulon PATIENT")
        none = cb.open_records(doctor.actor, query="nobody here")
    rows = lambda shown: str(shown["list"].to_plotly_json()).count("doctor-record-open")  # noqa: E731
    assert (rows(first), first["status"], first["at"]) == (20, "Patients 1–20 of 23", 0)
    assert (first["pager_hidden"], first["previous_disabled"], first["next_disabled"]) == (False, True, False)
    assert (rows(second), second["status"], second["previous_disabled"], second["next_disabled"]) == (
        3, "Patients 21–23 of 23", False, True)
    assert rows(found) == 1 and "Page Patient Zebulon" in str(found["list"].to_plotly_json())
    assert found["pager_hidden"] is True
    assert rows(none) == 0 and "No patient matches “nobody here”." in str(none["list"].to_plotly_json())
