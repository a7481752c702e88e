"""A hand-computed clinic for the KPIs (issue 9), around Monday 30 March 2026, 10:00 in Paris —
the day after the spring change (Sunday 29 March lasts 23 hours).

Two doctors (D1 since January with explicit slots on the 30th; D2 joined on the 29th at noon, one
slot turned off on the 30th), six patients and these appointments (times in Paris):

| appt | doctor | patient | start        | status    | held / paid (funnel)  | payment                          |
|------|--------|---------|--------------|-----------|-----------------------|----------------------------------|
| A1   | D1     | P1      | 30 Mar 09:00 | completed | 28 Mar 10:00 / 10:03  | card 35 €, 28 Mar                |
| A2   | D1     | P2      | 30 Mar 11:00 | confirmed | 30 Mar 08:30 / 08:33  | card 35 € (after a declined one) |
| A3   | D2     | P3      | 30 Mar 09:00 | no_show   | 30 Mar 08:10 / 08:12  | credit 35 €                      |
| A4   | D1     | P3      | 30 Mar 15:00 | cancelled | 30 Mar 08:50 / —      | (hold expired)                   |
| A5   | D2     | P2      | 31 Mar 10:00 | confirmed | 30 Mar 09:00 / 09:02  | card 35 €, 15 € refunded         |
| A6   | D2     | P2      | 29 Mar 16:00 | completed | 29 Mar 10:00 / 10:02  | card 35 €, 29 Mar                |

P3 also pays a Basic plan (29 €) on the 30th. Patients joined: P1 1 Feb, P4 23 Mar, P6 29 Mar 00:30,
P2 29 Mar 09:00, P5 30 Mar 00:30 (22:30 UTC on the 29th), P3 30 Mar 08:00.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from core.actor import SYSTEM
from core.db import unit_of_work

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 3, 30, 10, 0, tzinfo=PARIS)


def paris(day: int, hour: int = 0, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=PARIS)


@dataclass
class Clinic:
    doctors: dict[str, uuid.UUID] = field(default_factory=dict)
    patients: dict[str, tuple[uuid.UUID, uuid.UUID]] = field(default_factory=dict)  # user id, patient id
    appointments: dict[str, uuid.UUID] = field(default_factory=dict)

    def user(self, name: str) -> uuid.UUID:
        return self.patients[name][0]


def _user(s, email: str, role: str, name: str, created: datetime) -> uuid.UUID:
    return s.execute(text("""INSERT INTO users (email, role, full_name, password_hash, created_at)
                             VALUES (:e, :r, :n, 'x', :c) RETURNING id"""),
                     {"e": email, "r": role, "n": name, "c": created}).scalar_one()


def build_clinic() -> Clinic:
    clinic = Clinic()
    tag = uuid.uuid4().hex[:6]
    with unit_of_work(SYSTEM) as uow:
        s = uow.session
        for name, created in (("D1", paris(1, 9, month=1)), ("D2", paris(29, 12))):
            uid = _user(s, f"{name.lower()}-{tag}@tests.doktu.eu", "doctor", f"Dr {name}", created)
            clinic.doctors[name] = s.execute(text("""INSERT INTO doctors (user_id, display_name, specialty, created_at)
                VALUES (:u, :n, 'General practice', :c) RETURNING id"""),
                {"u": uid, "n": f"Dr {name} {tag}", "c": created}).scalar_one()
        joined = {"P1": paris(1, 10, month=2), "P2": paris(29, 9), "P3": paris(30, 8), "P4": paris(23, 12),
                  "P5": paris(30, 0, 30), "P6": paris(29, 0, 30)}
        for name, created in joined.items():
            uid = _user(s, f"{name.lower()}-{tag}@tests.doktu.eu", "patient", f"Patient {name}", created)
            pid = s.execute(text("INSERT INTO patients (user_id, created_at) VALUES (:u, :c) RETURNING id"),
                            {"u": uid, "c": created}).scalar_one()
            clinic.patients[name] = (uid, pid)
        for minute in (9 * 60, 9 * 60 + 30, 11 * 60, 11 * 60 + 30):  # D1's explicit day: 4 slots, 120 min
            start = paris(30) + timedelta(minutes=minute)
            s.execute(text("""INSERT INTO slots (doctor_id, start_at, end_at, is_available)
                              VALUES (:d, :s, :s + interval '30 minutes', true)"""),
                      {"d": clinic.doctors["D1"], "s": start})
        s.execute(text("""INSERT INTO slots (doctor_id, start_at, end_at, is_available)
                          VALUES (:d, :s, :s + interval '30 minutes', false)"""),
                  {"d": clinic.doctors["D2"], "s": paris(30, 14)})

        def appointment(key, doctor, patient, start, status, held, paid=None, cancelled=False):
            aid = s.execute(text("""INSERT INTO appointments (doctor_id, patient_id, start_at, end_at, status,
                                        cancelled_at, completed_at, created_at)
                                    VALUES (:d, :p, :s, :s + interval '30 minutes', :st, :ca, :co, :h) RETURNING id"""),
                            {"d": clinic.doctors[doctor], "p": clinic.patients[patient][1], "s": start, "st": status,
                             "ca": held + timedelta(minutes=15) if cancelled else None,
                             "co": start + timedelta(minutes=30) if status == "completed" else None,
                             "h": held}).scalar_one()
            clinic.appointments[key] = aid
            events = [("slot_held", held)] + ([("paid", paid)] if paid else [])
            for step, at in events:
                s.execute(text("""INSERT INTO funnel_events (occurred_at, user_id, step, doctor_id, appointment_id)
                                  VALUES (:at, :u, :st, :d, :a)"""),
                          {"at": at, "u": clinic.user(patient), "st": step, "d": clinic.doctors[doctor], "a": aid})
            return aid

        appointment("A1", "D1", "P1", paris(30, 9), "completed", paris(28, 10), paris(28, 10, 3))
        appointment("A2", "D1", "P2", paris(30, 11), "confirmed", paris(30, 8, 30), paris(30, 8, 33))
        appointment("A3", "D2", "P3", paris(30, 9), "no_show", paris(30, 8, 10), paris(30, 8, 12))
        appointment("A4", "D1", "P3", paris(30, 15), "cancelled", paris(30, 8, 50), cancelled=True)
        appointment("A5", "D2", "P2", paris(31, 10), "confirmed", paris(30, 9), paris(30, 9, 2))
        appointment("A6", "D2", "P2", paris(29, 16), "completed", paris(29, 10), paris(29, 10, 2))

        def payment(patient, key, provider, status, amount, created, refunded=0, kind="visit"):
            s.execute(text("""INSERT INTO payments (user_id, appointment_id, kind, provider, status, amount_cents,
                                  refunded_cents, failure_code, created_at, updated_at)
                              VALUES (:u, :a, :k, :p, :st, :am, :r, :f, :c, :c)"""),
                      {"u": clinic.user(patient), "a": clinic.appointments.get(key), "k": kind, "p": provider,
                       "st": status, "am": amount, "r": refunded, "c": created,
                       "f": "card_declined" if status == "failed" else None})

        payment("P1", "A1", "local", "succeeded", 3500, paris(28, 10, 2))
        payment("P2", "A2", "local", "failed", 3500, paris(30, 8, 31))
        payment("P2", "A2", "local", "succeeded", 3500, paris(30, 8, 32))
        payment("P3", "A3", "credit", "succeeded", 3500, paris(30, 8, 11))
        payment("P3", None, "local", "succeeded", 2900, paris(30, 8, 5), kind="subscription")
        payment("P2", "A5", "stripe", "partially_refunded", 3500, paris(30, 9, 1), refunded=1500)
        payment("P2", "A6", "local", "succeeded", 3500, paris(29, 10, 1))
    return clinic


@pytest.fixture
def clinic(db) -> Clinic:
    from core import heartbeats

    heartbeats.job_finished("unlock-stale-slots", now=NOW)  # the worker is up (else a Critical alert)
    return build_clinic()


@pytest.fixture
def at_now(time_machine):
    time_machine.move_to(NOW, tick=False)
    return NOW
