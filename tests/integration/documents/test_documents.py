"""Notes and documents after the consultation (SPEC §18): the PDFs' content read back with pypdf,
verification codes, row-level security (another patient, another doctor, an admin: refused),
audit of every download, the email that carries a link and never the file."""

import io
import uuid
from datetime import date

import pytest
from pypdf import PdfReader
from sqlalchemy import select, text, update

from core.actor import SYSTEM
from core.db import unit_of_work
from core.documents import issuing
from core.documents.issuing import PrescriptionLine
from core.errors import Forbidden, NotFound, TimeWindow, ValidationFailed
from core.models import AuditEvent, ConsultationNote, Document, OutboxMessage, User
from core.privacy import access_log
from tests.integration.scheduling.conftest import paris

AMOXICILLIN = PrescriptionLine("Amoxicillin 500 mg", "1 capsule", "3 times a day", "7 days", "Take with food")


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def rpps_of(made) -> str:
    return f"10003{made.doctor.number}789"


def test_a_prescription_pdf_names_doctor_rpps_patient_medicines_and_its_code(visit):
    v = visit()
    issued = issuing.issue_prescription(v.doctor.actor, v.appointment_id, [
        AMOXICILLIN, PrescriptionLine("Paracetamol 1 g", "1 tablet", "every 6 hours if needed", "5 days")])
    filename, data = issuing.download_document(v.patient.actor, issued.id)
    content = pdf_text(data)
    assert filename.endswith(f"{issued.verification_code}.pdf")
    for expected in ("Prescription", "Dr. Camille Martin", "General practice", f"RPPS {rpps_of(v.doctor)}",
                     "Chloé Bernard", "17/05/1991", "Date: 02/03/2026", "Amoxicillin 500 mg", "1 capsule",
                     "3 times a day", "7 days", "Take with food", "Paracetamol 1 g", "every 6 hours if needed",
                     issued.verification_code, f"/verify/{issued.verification_code}"):
        assert expected in content, expected
    assert len(issued.verification_code) == 12 and issued.verification_code.isalnum()


def test_summary_and_sick_note_carry_their_own_content(visit):
    v = visit("completed")
    summary = issuing.issue_summary(v.doctor.actor, v.appointment_id, "Viral pharyngitis.\nRest and fluids.")
    sick = issuing.issue_sick_note(v.doctor.actor, v.appointment_id, date(2026, 3, 2), date(2026, 3, 4))
    summary_text = pdf_text(issuing.download_document(v.patient.actor, summary.id)[1])
    assert "Consultation summary" in summary_text and "Viral pharyngitis." in summary_text
    assert "Rest and fluids." in summary_text
    sick_text = pdf_text(issuing.download_document(v.doctor.actor, sick.id)[1])
    assert "Sick note" in sick_text and "from 02/03/2026" in sick_text and "to 04/03/2026" in sick_text
    assert summary.verification_code != sick.verification_code


def test_documents_are_listed_newest_first_for_the_patient_and_their_doctor(visit, clock_at):
    v = visit("completed")
    first = issuing.issue_summary(v.doctor.actor, v.appointment_id, "First.")
    clock_at(paris(2, 9, 20))
    second = issuing.issue_prescription(v.doctor.actor, v.appointment_id, [AMOXICILLIN])
    assert [d.id for d in issuing.list_documents(v.patient.actor)] == [second.id, first.id]
    assert [d.id for d in issuing.list_documents(v.doctor.actor, patient_id=v.patient.patient.id)] == \
        [second.id, first.id]


def test_another_patient_another_doctor_and_an_admin_are_refused(visit, make_user):
    v = visit("completed")
    issued = issuing.issue_summary(v.doctor.actor, v.appointment_id, "Private.")
    other_patient, other_doctor, admin = make_user("patient"), make_user("doctor"), make_user("admin")
    for outsider in (other_patient, other_doctor):
        with pytest.raises(NotFound):
            issuing.download_document(outsider.actor, issued.id)
        assert issuing.list_documents(outsider.actor) == []
    with pytest.raises(NotFound):
        issuing.download_document(admin.actor, issued.id)
    with pytest.raises(Forbidden):
        issuing.list_documents(admin.actor)
    # Row-level security itself, by raw SQL on the app's connection: the admin sees no row either.
    for actor in (other_patient.actor, other_doctor.actor, admin.actor):
        with unit_of_work(actor) as uow:
            assert uow.session.execute(text("SELECT count(*) FROM documents")).scalar() == 0
            assert uow.session.execute(text("SELECT count(*) FROM consultation_notes")).scalar() == 0


def test_the_private_note_is_the_doctors_alone(visit, make_user):
    v = visit()
    issuing.save_note(v.doctor.actor, v.appointment_id, "Patient anxious; check thyroid next time.")
    issuing.save_note(v.doctor.actor, v.appointment_id, "Rewritten note.")
    assert issuing.get_note(v.doctor.actor, v.appointment_id) == "Rewritten note."
    with pytest.raises(Forbidden):
        issuing.get_note(v.patient.actor, v.appointment_id)
    for actor in (v.patient.actor, make_user("admin").actor):
        with unit_of_work(actor) as uow:
            assert uow.session.scalars(select(ConsultationNote)).all() == []
    with pytest.raises(NotFound):
        issuing.save_note(make_user("doctor").actor, v.appointment_id, "Not my patient.")


def test_only_the_consultations_doctor_may_issue_and_only_from_its_start(visit, make_user, clock_at):
    v = visit()
    with pytest.raises(NotFound):
        issuing.issue_summary(make_user("doctor").actor, v.appointment_id, "Intruder.")
    with pytest.raises(Forbidden):
        issuing.issue_summary(v.patient.actor, v.appointment_id, "Self-prescribed.")
    clock_at(paris(2, 8, 54))  # 6 minutes before the start: not yet
    with pytest.raises(TimeWindow):
        issuing.issue_summary(v.doctor.actor, v.appointment_id, "Too early.")
    clock_at(paris(2, 8, 55))  # the join window opens: during the visit
    assert issuing.issue_summary(v.doctor.actor, v.appointment_id, "Now.").kind == "summary"
    cancelled = visit("cancelled", paris(3, 9), doctor=v.doctor, patient=v.patient)
    with pytest.raises(TimeWindow):
        issuing.issue_summary(v.doctor.actor, cancelled.appointment_id, "Never happened.")


@pytest.mark.parametrize(("lines", "field"), [
    ([], "lines"),
    ([PrescriptionLine("Amoxicillin", "", "3/day", "7 days")], "the dose"),
    ([PrescriptionLine("x" * 201, "1", "1/day", "1 day")], "the medicine"),
    ([AMOXICILLIN] * 21, "lines"),
])
def test_a_prescription_needs_complete_lines(visit, lines, field):
    v = visit()
    with pytest.raises(ValidationFailed) as refused:
        issuing.issue_prescription(v.doctor.actor, v.appointment_id, lines)
    assert refused.value.details["field"] == field


@pytest.mark.parametrize(("first", "last", "ok"), [
    (date(2026, 3, 1), date(2026, 3, 1), True),  # the day before the consultation: fine
    (date(2026, 2, 28), date(2026, 3, 2), False),  # two days before: refused
    (date(2026, 3, 5), date(2026, 3, 4), False),  # ends before it starts
    (date(2026, 3, 2), date(2026, 5, 30), True),  # 90 days
    (date(2026, 3, 2), date(2026, 5, 31), False),  # 91 days
])
def test_sick_note_dates_at_their_edges(visit, first, last, ok):
    v = visit()
    if ok:
        assert issuing.issue_sick_note(v.doctor.actor, v.appointment_id, first, last).kind == "sick_note"
    else:
        with pytest.raises(ValidationFailed):
            issuing.issue_sick_note(v.doctor.actor, v.appointment_id, first, last)


def test_every_issue_and_download_is_audited_and_the_email_is_a_link(visit):
    v = visit()
    issued = issuing.issue_prescription(v.doctor.actor, v.appointment_id, [AMOXICILLIN])
    issuing.download_document(v.patient.actor, issued.id)
    issuing.download_document(v.doctor.actor, issued.id)
    with unit_of_work(SYSTEM) as uow:
        events = uow.session.execute(select(AuditEvent.action, AuditEvent.actor_id)
                                     .where(AuditEvent.details["documentId"].astext == str(issued.id))
                                     .order_by(AuditEvent.occurred_at, AuditEvent.action)).all()
        mail = uow.session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == f"document:{issued.id}:patient:email"))
    assert sorted(events) == sorted([("document.issued", v.doctor.user.id), ("document.downloaded", v.patient.user.id),
                                     ("document.downloaded", v.doctor.user.id)])
    assert mail.recipient == v.patient.email and mail.attachments == []
    assert "/dashboard/documents" in mail.body_text and "Prescription" in mail.subject
    assert "Amoxicillin" not in mail.body_text + (mail.body_html or "")  # no health content by email
    # The patient's access log shows the doctor's issuing and download (their health record, SPEC §21).
    log = access_log.access_log(v.patient.actor)
    assert [(e.action, e.role) for e in log.entries] == [("document.downloaded", "doctor"), ("document.issued", "doctor")]


def test_a_document_for_an_unverified_address_is_not_emailed_but_is_in_the_tab(visit):
    v = visit()
    with unit_of_work(SYSTEM) as uow:
        uow.session.execute(update(User).where(User.id == v.patient.user.id).values(email_verified_at=None))
    issued = issuing.issue_summary(v.doctor.actor, v.appointment_id, "Rest and fluids.")
    with unit_of_work(SYSTEM) as uow:
        mail = uow.session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == f"document:{issued.id}:patient:email"))
    assert mail is None
    assert [d.id for d in issuing.list_documents(v.patient.actor)] == [issued.id]


def test_verify_shows_issuer_date_and_initials_only(visit, client):
    v = visit()
    issued = issuing.issue_prescription(v.doctor.actor, v.appointment_id, [AMOXICILLIN])
    found = issuing.verify(issued.verification_code.lower())
    assert (found.title, found.doctor_name, found.patient_initials) == ("Prescription", "Dr. Camille Martin", "C.B.")
    assert found.rpps == rpps_of(v.doctor)
    page = client.get(f"/verify/{issued.verification_code}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Dr. Camille Martin" in body and "C.B." in body and "2 March 2026" in body
    assert "Chloé" not in body and "Bernard" not in body and "Amoxicillin" not in body and "1991" not in body
    assert issuing.verify("AAAAAAAAAAAA") is None
    missing = client.get("/verify/AAAAAAAAAAAA")
    assert missing.status_code == 404 and "Dr. Camille Martin" not in missing.get_data(as_text=True)


def test_documents_are_append_only(visit):
    v = visit()
    issued = issuing.issue_summary(v.doctor.actor, v.appointment_id, "Kept as issued.")
    with pytest.raises(Exception, match=r"append-only|permission|privilege"), unit_of_work(v.doctor.actor) as uow:
        uow.session.execute(text("UPDATE documents SET content = '{}' WHERE id = :id"), {"id": issued.id})
    with unit_of_work(v.patient.actor) as uow:
        assert uow.session.get(Document, issued.id).content["body"] == {"text": "Kept as issued."}


def test_an_unknown_or_malformed_document_id_is_a_404_not_a_500(visit, client, login):
    v = visit()
    login(v.patient.email)
    assert client.get(f"/documents/{uuid.uuid4()}.pdf").status_code == 404
    assert client.get("/documents/not-a-uuid.pdf").status_code == 404


@pytest.mark.parametrize(("locale", "expected"), [
    ("fr", ("Ordonnance", "Médicaments", "Date de naissance", "17/05/1991", "Délivré électroniquement par")),
    ("de", ("Rezept", "Arzneimittel", "Geburtsdatum", "17.05.1991", "Elektronisch ausgestellt von")),
])
def test_a_document_is_in_the_patients_language_whoever_downloads_it(visit, locale, expected):
    """SPEC §20: the labels follow the patient's language; what the doctor wrote stays as written."""
    v = visit()
    with unit_of_work(SYSTEM) as uow:
        uow.session.execute(update(User).where(User.id == v.patient.user.id).values(locale=locale))
    issued = issuing.issue_prescription(v.doctor.actor, v.appointment_id, [AMOXICILLIN])
    for reader in (v.patient.actor, v.doctor.actor):
        content = pdf_text(issuing.download_document(reader, issued.id)[1])
        for text_ in (*expected, "Amoxicillin 500 mg", "Take with food"):
            assert text_ in content, (locale, text_)
        assert "Prescription" not in content
