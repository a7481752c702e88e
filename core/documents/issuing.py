"""Notes and documents after (and during) a consultation (SPEC §18).

The doctor of a consultation writes a private note and issues a summary, a prescription or a sick
note, from the start of the consultation on (during the visit) and afterwards. A document is stored
as what the doctor wrote plus a snapshot of the doctor (name, specialty, RPPS), the patient (name,
date of birth) and the dates, and rendered to PDF on each download (`core.documents.pdf`). Row-level
security lets only the patient and that doctor read it — never an admin; every download is an
`audit_events` row written in the same transaction; the patient gets an email with a link to it
(never the file). `/verify/<code>` answers who issued it, when, and for whose initials only.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert

from core import clock, config, i18n
from core.actor import ANONYMOUS, Actor
from core.audit import record_audit
from core.booking import lifecycle
from core.db import UnitOfWork, acting_as_system, unit_of_work
from core.documents import pdf
from core.errors import Forbidden, NotFound, TimeWindow, ValidationFailed
from core.i18n import N_
from core.models import Appointment, ConsultationNote, Doctor, Document, Patient, User
from core.notify.outbox import Outgoing, queue_once
from core.notify.rendering import language_of, render
from core.privacy.verification import may_email

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread
CODE_LENGTH = 12
# Documents may be written from the opening of the join window (5 min before the start) on.
OPENS_BEFORE_START = timedelta(minutes=5)
CARE = (*lifecycle.BOOKED, lifecycle.COMPLETED)
MAX_TEXT, MAX_FIELD, MAX_INSTRUCTIONS, MAX_LINES, MAX_SICK_DAYS = 5000, 200, 500, 20, 90


@dataclass(frozen=True)
class PrescriptionLine:
    medicine: str
    dose: str
    frequency: str
    duration: str
    instructions: str = ""


@dataclass(frozen=True)
class DocumentItem:
    id: uuid.UUID
    kind: str
    title: str
    issued_at: datetime
    doctor_name: str
    appointment_id: uuid.UUID
    verification_code: str

    @property
    def filename(self) -> str:
        return f"doktu-{self.kind.replace('_', '-')}-{self.issued_at:%Y%m%d}-{self.verification_code}.pdf"


@dataclass(frozen=True)
class Verification:
    code: str
    title: str
    issued_at: datetime
    doctor_name: str
    specialty: str
    rpps: str
    patient_initials: str


def rpps(number: int) -> str:
    """RPPS shown on profiles and documents: 10003{number}789 (SPEC §7)."""
    return f"10003{number}789"


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(code: str) -> str:
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())[:CODE_LENGTH]


def verify_url(code: str) -> str:
    return f"{config.current().public_base_url}/verify/{code}"


# --- rules over plain values ----------------------------------------------------------------------

def _clean(value: str | None, label: str, limit: int, *, required: bool = True) -> str:
    cleaned = " ".join((value or "").split()) if limit <= MAX_INSTRUCTIONS else (value or "").strip()
    if required and not cleaned:
        raise ValidationFailed(N_("Please fill in %(field)s."), details={"field": label}, params={"field": label})
    if len(cleaned) > limit:
        raise ValidationFailed(N_("Too long: %(field)s has at most %(limit)d characters."), details={"field": label},
                               params={"field": label, "limit": limit})
    return cleaned


def summary_body(text_: str | None) -> dict:
    return {"text": _clean(text_, N_("the summary"), MAX_TEXT)}


def prescription_body(lines: list[PrescriptionLine]) -> dict:
    """1–20 medicines, each with a name, dose, frequency and duration; instructions optional."""
    kept = [line for line in lines if any((line.medicine, line.dose, line.frequency, line.duration,
                                            line.instructions))]
    if not kept:
        raise ValidationFailed(N_("Add at least one medicine."), details={"field": "lines"})
    if len(kept) > MAX_LINES:
        raise ValidationFailed(N_("At most %(count)d medicines per prescription."), details={"field": "lines"},
                               params={"count": MAX_LINES})
    return {"lines": [{
        "medicine": _clean(line.medicine, N_("the medicine"), MAX_FIELD),
        "dose": _clean(line.dose, N_("the dose"), MAX_FIELD),
        "frequency": _clean(line.frequency, N_("the frequency"), MAX_FIELD),
        "duration": _clean(line.duration, N_("the duration"), MAX_FIELD),
        "instructions": _clean(line.instructions, N_("the instructions"), MAX_INSTRUCTIONS, required=False),
    } for line in kept]}


def sick_note_body(first: date | None, last: date | None, consultation_day: date) -> dict:
    """From and to, inclusive: from no earlier than the day before the consultation (a note does not
    cover the past), to no earlier than from, at most 90 days."""
    if first is None or last is None:
        raise ValidationFailed(N_("Give the first and last day."), details={"field": "dates"})
    if first < consultation_day - timedelta(days=1):
        raise ValidationFailed(N_("A sick note cannot start more than a day before the consultation."),
                               details={"field": "from"})
    if last < first:
        raise ValidationFailed(N_("The last day is before the first day."), details={"field": "to"})
    if (last - first).days + 1 > MAX_SICK_DAYS:
        raise ValidationFailed(N_("A sick note covers at most %(count)d days."), details={"field": "to"},
                               params={"count": MAX_SICK_DAYS})
    return {"from": first.isoformat(), "to": last.isoformat()}


def writing_refusal(status: str, start: datetime, now: datetime) -> str | None:
    """Why the doctor may not write for this consultation now, or None (SPEC §18: during or after)."""
    if status not in CARE:
        return N_("Documents are written for booked or completed consultations only.")
    if status != lifecycle.COMPLETED and now < start - OPENS_BEFORE_START:
        return N_("Documents can be written from the start of the consultation.")
    return None


# --- services -------------------------------------------------------------------------------------

def doctor_of(session, actor: Actor) -> Doctor:
    if actor.role != "doctor" or actor.user_id is None:
        raise Forbidden(N_("Only the consultation's doctor can write its notes and documents."))
    doctor = session.scalar(select(Doctor).where(Doctor.user_id == actor.user_id))
    if doctor is None:
        raise Forbidden(N_("This account has no doctor profile."))
    return doctor


def writable_appointment(session, doctor: Doctor, appointment_id: uuid.UUID, now: datetime) -> Appointment:
    appointment = session.scalar(select(Appointment).where(Appointment.id == appointment_id,
                                                           Appointment.doctor_id == doctor.id))
    if appointment is None:
        raise NotFound(N_("No such consultation among yours."))
    refusal = writing_refusal(appointment.status, appointment.start_at, now)
    if refusal:
        raise TimeWindow(refusal)
    return appointment


def consultation_heading(actor: Actor, appointment_id: uuid.UUID) -> tuple[str, datetime]:
    """(patient's name, start) of one of the doctor's consultations, for the documents dialog."""
    with unit_of_work(actor) as uow:
        doctor = doctor_of(uow.session, actor)
        row = uow.session.execute(
            select(User.full_name, Appointment.start_at).join(Patient, Patient.id == Appointment.patient_id)
            .join(User, User.id == Patient.user_id)
            .where(Appointment.id == appointment_id, Appointment.doctor_id == doctor.id)).one_or_none()
    if row is None:
        raise NotFound(N_("No such consultation among yours."))
    return row.full_name, row.start_at


def save_note(actor: Actor, appointment_id: uuid.UUID, body: str | None) -> None:
    """The doctor's private consultation note (SPEC §18), one per consultation, rewritten in place.
    Only that doctor ever reads it (RLS)."""
    now = clock.now()
    note = _clean(body, "the note", MAX_TEXT)
    with unit_of_work(actor) as uow:
        doctor = doctor_of(uow.session, actor)
        appointment = writable_appointment(uow.session, doctor, appointment_id, now)
        uow.session.execute(insert(ConsultationNote).values(
            appointment_id=appointment.id, doctor_id=doctor.id, patient_id=appointment.patient_id, body=note,
            created_at=now, updated_at=now,
        ).on_conflict_do_update(index_elements=[ConsultationNote.appointment_id],
                                set_={"body": note, "updated_at": now}))


def get_note(actor: Actor, appointment_id: uuid.UUID) -> str:
    """The doctor's own note on a consultation ('' if none yet)."""
    with unit_of_work(actor) as uow:
        doctor_of(uow.session, actor)
        return uow.session.scalar(select(ConsultationNote.body).where(
            ConsultationNote.appointment_id == appointment_id)) or ""


def issue_summary(actor: Actor, appointment_id: uuid.UUID, text_: str | None) -> DocumentItem:
    """A consultation summary for the patient (SPEC §18)."""
    return _issue(actor, appointment_id, "summary", lambda _a, _z: summary_body(text_))


def issue_prescription(actor: Actor, appointment_id: uuid.UUID, lines: list[PrescriptionLine]) -> DocumentItem:
    """A prescription: medicine, dose, frequency, duration, instructions per line (SPEC §18)."""
    return _issue(actor, appointment_id, "prescription", lambda _a, _z: prescription_body(lines))


def issue_sick_note(actor: Actor, appointment_id: uuid.UUID, first: date | None, last: date | None) -> DocumentItem:
    """A sick note from one day to another, inclusive (SPEC §18)."""
    return _issue(actor, appointment_id, "sick_note",
                  lambda a, zone: sick_note_body(first, last, a.start_at.astimezone(zone).date()))


def _issue(actor: Actor, appointment_id: uuid.UUID, kind: str, make_body) -> DocumentItem:
    now = clock.now()
    with unit_of_work(actor) as uow:
        s = uow.session
        doctor = doctor_of(s, actor)
        appointment = writable_appointment(s, doctor, appointment_id, now)
        zone = ZoneInfo(doctor.timezone)
        body = make_body(appointment, zone)
        patient, name, email, locale = s.execute(
            select(Patient, User.full_name, User.email, User.locale).join(User, User.id == Patient.user_id)
            .where(Patient.id == appointment.patient_id)).one()
        content = {
            "doctor": {"name": doctor.display_name, "specialty": doctor.specialty, "rpps": rpps(doctor.number)},
            "patient": {"name": name,
                        "dateOfBirth": patient.date_of_birth.isoformat() if patient.date_of_birth else None},
            "issuedOn": now.astimezone(zone).date().isoformat(),
            "consultationOn": appointment.start_at.astimezone(zone).date().isoformat(),
            "body": body,
        }
        document = Document(kind=kind, appointment_id=appointment.id, doctor_id=doctor.id, patient_id=patient.id,
                            content=content, verification_code=new_code(), issued_at=now)
        s.add(document)
        s.flush()
        # Audited with the patient's record as subject, so it shows in their access log (SPEC §21).
        record_audit(s, actor, action="document.issued", subject_type="patient", subject_id=str(patient.id),
                     at=now, details={"kind": kind, "documentId": str(document.id),
                                      "appointmentId": str(appointment.id)})
        verified_at = s.scalar(select(User.email_verified_at).where(User.id == patient.user_id))
        if may_email(verified_at):  # documents wait for a verified address: the tab has them (SPEC §21)
            _email_link(uow, document, doctor.display_name, name, email, locale)
        return DocumentItem(document.id, kind, pdf.TITLES[kind], now, doctor.display_name, appointment.id,
                            document.verification_code)


def _email_link(uow: UnitOfWork, document: Document, doctor_name: str, patient_name: str, email: str,
                locale: str | None) -> None:
    """The patient is told by email with a link to the Documents tab — never the file itself."""
    base = config.current().public_base_url
    message = render("document_issued", language_of(locale), doctor_name=doctor_name, patient_name=patient_name,
                     title=i18n.translate(language_of(locale), pdf.TITLES[document.kind]),
                     documents_url=f"{base}/dashboard/documents")
    with acting_as_system(uow):
        queue_once(uow, Outgoing("email", email, message.text, subject=message.subject, html=message.html),
                   f"document:{document.id}:patient:email")


def list_documents(actor: Actor, *, patient_id: uuid.UUID | None = None) -> list[DocumentItem]:
    """The patient's own documents, or (for a doctor) those they issued to one patient; newest first.
    RLS decides what each sees; an admin sees nothing (SPEC §18)."""
    if actor.role not in ("patient", "doctor"):
        raise Forbidden(N_("Documents are for the patient and their doctor only."))
    with unit_of_work(actor) as uow:
        query = (select(Document, Doctor.display_name).join(Doctor, Doctor.id == Document.doctor_id)
                 .order_by(Document.issued_at.desc(), Document.id))
        if patient_id is not None:
            query = query.where(Document.patient_id == patient_id)
        if actor.role == "doctor":
            query = query.where(Document.doctor_id == doctor_of(uow.session, actor).id)
        return [DocumentItem(d.id, d.kind, pdf.TITLES[d.kind], d.issued_at, name, d.appointment_id,
                             d.verification_code) for d, name in uow.session.execute(query)]


def download_document(actor: Actor, document_id: uuid.UUID) -> tuple[str, bytes]:
    """(filename, PDF bytes) of one document the actor may read, audited as `document.downloaded`."""
    if actor.role not in ("patient", "doctor"):
        raise NotFound(N_("No such document."))
    now = clock.now()
    with unit_of_work(actor) as uow:
        row = uow.session.execute(select(Document, Doctor.display_name).join(Doctor, Doctor.id == Document.doctor_id)
                                  .where(Document.id == document_id)).one_or_none()
        if row is None:
            raise NotFound(N_("No such document."))
        document, doctor_name = row
        record_audit(uow.session, actor, action="document.downloaded", subject_type="patient",
                     subject_id=str(document.patient_id), at=now,
                     details={"kind": document.kind, "documentId": str(document.id)})
        item = DocumentItem(document.id, document.kind, pdf.TITLES[document.kind], document.issued_at, doctor_name,
                            document.appointment_id, document.verification_code)
        with acting_as_system(uow):  # the patient's language, whoever downloads (SPEC §20)
            locale = uow.session.scalar(select(User.locale).join(Patient, Patient.user_id == User.id)
                                        .where(Patient.id == document.patient_id))
        content = document_pdf(document, i18n.language_of(locale))
    return item.filename, content


def document_pdf(document: Document, language: str = "en") -> bytes:
    """The PDF of a document, rebuilt from what the doctor wrote and its snapshot (SPEC §18), its
    labels in the patient's language (SPEC §20)."""
    code = document.verification_code
    return pdf.render_document(document.kind, document.content, code, verify_url(code), language)


def verify(code: str) -> Verification | None:
    """`/verify/<code>`: who issued the document and when, and the patient's initials — nothing
    medical, and nothing at all for an unknown code (SPEC §18)."""
    wanted = normalise_code(code)
    if len(wanted) != CODE_LENGTH:
        return None
    with unit_of_work(ANONYMOUS) as uow:
        row = uow.session.execute(text("SELECT * FROM verify_document(:c)"), {"c": wanted}).one_or_none()
    if row is None:
        return None
    return Verification(wanted, pdf.TITLES[row.kind], row.issued_at, row.doctor_name, row.specialty,
                        rpps(row.doctor_number), row.patient_initials or "")

