"""Demo data (SPEC §14): 10 doctors, their weekday slots for the next 7 days, a patient, an admin,
one completed appointment rated 5★, one completed awaiting a rating and one paid ahead (to
reschedule or cancel), each paid with its receipt. The doctors' ratings (4.8–5.0) come from real rating rows
(SPEC §18): ten past, completed consultations per doctor by ten demo reviewers (accounts that cannot
sign in), some with a published comment. Idempotent: a second run adds nothing new."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from core import clock
from core.accounts.passwords import hash_password
from core.actor import SYSTEM
from core.db import unit_of_work
from core.documents.receipts import issue_receipt
from core.models import Appointment, Doctor, Patient, Payment, Rating, Slot, User
from core.privacy import consents

DEMO_DOMAIN = "demo.doktu.eu"
PATIENT_EMAIL = f"patient@{DEMO_DOMAIN}"
ADMIN_EMAIL = f"admin@{DEMO_DOMAIN}"
SLOT_BLOCKS = ((time(8, 0), time(12, 0)), (time(14, 0), time(18, 0)))
SLOT_LENGTH = timedelta(minutes=30)

DOCTORS = [
    ("Dr. Camille Martin", "General practice", ["fr", "en"], "5.0", "Europe/Paris"),
    ("Dr. Lukas Becker", "Dermatology", ["de", "en"], "4.9", "Europe/Berlin"),
    ("Dr. Sofia Rossi", "Paediatrics", ["it", "en", "fr"], "4.9", "Europe/Rome"),
    ("Dr. Javier García", "Psychiatry", ["es", "en"], "4.8", "Europe/Madrid"),
    ("Dr. Emma de Vries", "Gynaecology", ["nl", "en", "de"], "5.0", "Europe/Amsterdam"),
    ("Dr. Anna Kowalska", "Cardiology", ["pl", "en"], "4.9", "Europe/Warsaw"),
    ("Dr. Hugo Lefèvre", "ENT", ["fr", "en"], "4.8", "Europe/Paris"),
    ("Dr. Ines Almeida", "Endocrinology", ["pt", "en", "es"], "4.9", "Europe/Lisbon"),
    ("Dr. Oliver Schmid", "Allergy and immunology", ["de", "fr", "en"], "4.8", "Europe/Zurich"),
    ("Dr. Nora Lindqvist", "Sports medicine", ["sv", "en"], "5.0", "Europe/Stockholm"),
]
# Reviewers behind the demo ratings: inactive accounts (no login), one past consultation per doctor.
REVIEWERS = ["Chloé Bernard", "Jonas Weber", "Giulia Bianchi", "Marta López", "Sanne Jansen",
             "Piotr Nowak", "Louis Dubois", "Beatriz Costa", "Lea Meier", "Erik Johansson"]
REVIEW_COMMENTS = ["Clear explanations and a precise prescription.", "Listened carefully and took the time I needed.",
                   "On time, kind and very professional."]


@dataclass(frozen=True)
class SeedReport:
    users_created: int
    slots_created: int
    logins: list[tuple[str, str]]


def doctor_email(n: int) -> str:
    return f"doctor{n}@{DEMO_DOMAIN}"


def doctor_profile(name: str, specialty: str) -> dict:
    surname = name.split()[-1]
    return {
        "bio": f"{name} has practised {specialty.lower()} for over twelve years and has run video "
               "consultations since 2019, for patients across Europe.",
        "education": [f"MD, {specialty} residency", "European board certification"],
        "expertise": [specialty, "Video consultation", "Prescriptions and follow-up"],
        "philosophy": "Listen first, explain clearly, and decide together.",
        "faqs": [
            {"q": "Can I get a prescription?",
             "a": f"Yes, Dr. {surname} can issue an e-prescription valid in your country when appropriate."},
            {"q": "What if I need an examination?",
             "a": "You will be referred to an in-person colleague near you."},
        ],
    }


def seed_demo(password: str, *, today: date | None = None) -> SeedReport:
    """Create the demo data once; running it again changes nothing (SPEC §14)."""
    if not password:
        raise ValueError("DOKTU_DEMO_PASSWORD is required to seed")
    now = clock.now()
    password_hash = hash_password(password)  # one hash for every demo login: seeding stays fast
    with unit_of_work(SYSTEM) as uow:
        s = uow.session
        created = 0
        users: dict[str, User] = {}
        wanted = [(ADMIN_EMAIL, "admin", "Ada Admin"), (PATIENT_EMAIL, "patient", "Paula Patient")]
        wanted += [(doctor_email(i + 1), "doctor", d[0]) for i, d in enumerate(DOCTORS)]
        for email, role, full_name in wanted:
            user = s.scalar(select(User).where(func.lower(User.email) == email))
            if user is None:
                user = User(email=email, role=role, full_name=full_name, password_hash=password_hash)
                s.add(user)
                created += 1
            users[email] = user
        s.flush()

        patient = s.scalar(select(Patient).where(Patient.user_id == users[PATIENT_EMAIL].id))
        if patient is None:
            patient = Patient(user_id=users[PATIENT_EMAIL].id, date_of_birth=date(1990, 4, 12),
                              gender="female", primary_conditions=["Asthma"], allergies=["Penicillin"],
                              onboarded_at=now)
            s.add(patient)
        consents.record_acceptance(s, users[PATIENT_EMAIL].id, now=now)  # as at sign-up (SPEC §21); idempotent

        doctors: list[Doctor] = []
        for i, (name, specialty, languages, _rating, tz) in enumerate(DOCTORS):
            user = users[doctor_email(i + 1)]
            doctor = s.scalar(select(Doctor).where(Doctor.user_id == user.id))
            if doctor is None:
                doctor = Doctor(user_id=user.id, display_name=name, specialty=specialty,
                                languages=languages, timezone=tz, **doctor_profile(name, specialty))
                s.add(doctor)
            doctors.append(doctor)
        s.flush()

        slots_created = 0
        for doctor in doctors:
            rows = weekday_slot_rows(doctor.id, ZoneInfo(doctor.timezone), now, today)
            if rows:
                inserted = s.scalars(insert(Slot).values(rows).on_conflict_do_nothing(
                    index_elements=["doctor_id", "start_at"]).returning(Slot.id)).all()
                slots_created += len(inserted)

        first = doctors[0]
        has_rating = s.scalar(
            select(func.count()).select_from(Rating).where(Rating.patient_id == patient.id)
        )
        if not has_rating:
            local = ZoneInfo(first.timezone)
            start = datetime.combine((now - timedelta(days=2)).astimezone(local).date(), time(10, 0), local)
            end = start + SLOT_LENGTH
            visit = Appointment(doctor_id=first.id, patient_id=patient.id, start_at=start, end_at=end,
                                status="completed", completed_at=end, price_cents=first.price_cents)
            s.add(visit)
            s.flush()
            s.add(Rating(appointment_id=visit.id, patient_id=patient.id, doctor_id=first.id, stars=5,
                         comment="Clear, kind and on time.", comment_status="approved", moderated_at=now))
            # Paid by card, so Billing has a receipt to download (SPEC §18); and a second consultation,
            # three days ago (not "yesterday", whose KPIs the console's tests pin) and not yet rated, for
            # the demo of rating and of the doctor's documents.
            second = doctors[1]
            local = ZoneInfo(second.timezone)
            start = datetime.combine((now - timedelta(days=3)).astimezone(local).date(), time(11, 0), local)
            unrated = Appointment(doctor_id=second.id, patient_id=patient.id, start_at=start,
                                  end_at=start + SLOT_LENGTH, status="completed", completed_at=start + SLOT_LENGTH,
                                  price_cents=second.price_cents)
            s.add(unrated)
            s.flush()
        _seed_upcoming(s, patient, doctors[2], now)
        _pay_demo_visits(uow, patient, now)
        created += _seed_reviews(s, doctors, password_hash, now)
    logins = [(email, role) for email, role, _ in wanted]
    return SeedReport(created, slots_created, logins)


def _seed_upcoming(s, patient: Patient, doctor: Doctor, now: datetime) -> None:
    """Issue 24: the demo patient has a paid consultation ahead to reschedule or cancel — the last
    seeded time of the doctor's third working day from now (so it stays clear of the first free
    times), unless the patient already has one ahead."""
    ahead = s.scalar(select(func.count()).select_from(Appointment).where(
        Appointment.patient_id == patient.id, Appointment.status == "confirmed", Appointment.start_at > now))
    if ahead:
        return
    free = s.scalars(select(Slot).where(Slot.doctor_id == doctor.id, Slot.is_available,
                                        Slot.start_at > now + timedelta(days=1)).order_by(Slot.start_at)).all()
    days = sorted({slot.start_at.astimezone(ZoneInfo(doctor.timezone)).date() for slot in free})
    if not days:
        return
    day = days[min(2, len(days) - 1)]
    slot = [x for x in free if x.start_at.astimezone(ZoneInfo(doctor.timezone)).date() == day][-1]
    s.add(Appointment(doctor_id=doctor.id, patient_id=patient.id, slot_id=slot.id, start_at=slot.start_at,
                      end_at=slot.end_at, status="confirmed", price_cents=doctor.price_cents,
                      created_at=now - timedelta(days=4), updated_at=now - timedelta(days=4)))  # not in "yesterday"
    s.flush()


def _pay_demo_visits(uow, patient: Patient, now: datetime) -> None:
    """Every consultation of the demo patient is paid by card with its receipt — also on a demo
    database seeded before the payments were (issue 24: "Not paid" on the completed one)."""
    s = uow.session
    paid = select(Payment.appointment_id).where(Payment.appointment_id.is_not(None),
                                                Payment.status == "succeeded")
    unpaid = s.scalars(select(Appointment).where(Appointment.patient_id == patient.id,
                                                 Appointment.status.in_(("completed", "confirmed")),
                                                 Appointment.id.not_in(paid))).all()
    for visit in unpaid:
        paid_at = min(visit.start_at - timedelta(days=2), now - timedelta(days=4))  # the console tests pin yesterday
        payment = Payment(user_id=patient.user_id, appointment_id=visit.id, kind="visit", provider="local",
                          provider_session_id=f"cs_demo_{visit.id.hex}", status="succeeded",
                          amount_cents=visit.price_cents, created_at=paid_at, updated_at=paid_at)
        s.add(payment)
        s.flush()
        issue_receipt(uow, payment)


def reviewer_email(n: int) -> str:
    return f"reviewer{n}@{DEMO_DOMAIN}"


def _seed_reviews(s, doctors: list[Doctor], password_hash: str, now: datetime) -> int:
    """Ten real ratings per doctor whose mean is the doctor's demo rating (5.0: ten 5★; 4.9: one 4★;
    4.8: two 4★), each on a completed consultation of the past weeks. Returns the users created."""
    created = 0
    for n, full_name in enumerate(REVIEWERS, start=1):
        email = reviewer_email(n)
        user = s.scalar(select(User).where(func.lower(User.email) == email))
        if user is None:
            user = User(email=email, role="patient", full_name=full_name, password_hash=password_hash,
                        is_active=False, email_reminders=False)
            s.add(user)
            s.flush()
            created += 1
        patient = s.scalar(select(Patient).where(Patient.user_id == user.id))
        if patient is None:
            patient = Patient(user_id=user.id, date_of_birth=date(1970 + 3 * n, n, 10 + n), onboarded_at=now)
            s.add(patient)
            s.flush()
        if s.scalar(select(func.count()).select_from(Rating).where(Rating.patient_id == patient.id)):
            continue
        for i, doctor in enumerate(doctors):
            fours = round((5 - float(DOCTORS[i][3])) * 10)
            local = ZoneInfo(doctor.timezone)
            day = (now - timedelta(days=3 + 2 * n)).astimezone(local).date()
            start = datetime.combine(day, time(9, 0), local) + SLOT_LENGTH * i
            visit = Appointment(doctor_id=doctor.id, patient_id=patient.id, start_at=start,
                                end_at=start + SLOT_LENGTH, status="completed", completed_at=start + SLOT_LENGTH,
                                price_cents=doctor.price_cents)
            s.add(visit)
            s.flush()
            comment = REVIEW_COMMENTS[(n + i) % len(REVIEW_COMMENTS)] if n <= 3 else None
            s.add(Rating(appointment_id=visit.id, patient_id=patient.id, doctor_id=doctor.id,
                         stars=4 if n <= fours else 5, comment=comment,
                         comment_status="approved" if comment else "none", moderated_at=now if comment else None,
                         created_at=start + timedelta(hours=2)))
    return created


def weekday_slot_rows(doctor_id, tz: ZoneInfo, now: datetime, today: date | None = None) -> list[dict]:
    """Explicit 30-minute slots 08:00–12:00 and 14:00–18:00 local, Monday to Friday, next 7 days."""
    first_day = today or now.astimezone(tz).date()
    rows = []
    for offset in range(7):
        day = first_day + timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        for block_start, block_end in SLOT_BLOCKS:
            start = datetime.combine(day, block_start, tz)
            end_of_block = datetime.combine(day, block_end, tz)
            while start < end_of_block:
                if start > now:
                    rows.append({"doctor_id": doctor_id, "start_at": start, "end_at": start + SLOT_LENGTH,
                                 "is_available": True, "source": "seed"})
                start += SLOT_LENGTH
    return rows
