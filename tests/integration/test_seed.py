"""`doktu db seed` (SPEC §14): the demo data, and running it twice changes nothing."""

from datetime import date, time
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from core.actor import SYSTEM
from core.db import unit_of_work
from core.models import Appointment, Doctor, Patient, Payment, Rating, Receipt, Slot, User, rating_stats
from core.seed import seed_demo

MONDAY = date(2026, 11, 30)


def test_seed_creates_the_demo_world_once(db, time_machine):
    time_machine.move_to("2026-11-29 20:00:00+00:00", tick=False)  # a Sunday evening
    first = seed_demo("Doktu-demo-2026!", today=MONDAY)
    second = seed_demo("Doktu-demo-2026!", today=MONDAY)
    assert first.users_created == 12 + 10 and second.users_created == 0  # + the ten inactive reviewers
    assert first.slots_created == 10 * 5 * 16  # Mon–Fri, 08–12 and 14–18, every 30 min
    assert second.slots_created == 0
    emails = {e for e, _ in first.logins}
    assert {"patient@demo.doktu.eu", "admin@demo.doktu.eu", "doctor1@demo.doktu.eu",
            "doctor10@demo.doktu.eu"} <= emails
    # Race tests commit their own clinics into the same database: look at the demo accounts only.
    demo = User.email.like("%@demo.doktu.eu")
    with unit_of_work(SYSTEM) as uow:
        s = uow.session
        doctors = s.scalars(select(Doctor).join(User, User.id == Doctor.user_id).where(demo)).all()
        assert len(doctors) == 10
        # Ratings are computed from real rows (SPEC §18): ten or eleven per doctor, mean 4.8–5.0.
        stats = s.execute(select(rating_stats.c.rating_avg, rating_stats.c.rating_count)
                          .where(rating_stats.c.doctor_id.in_([d.id for d in doctors]))).all()
        assert len(stats) == 10
        assert all(4.8 <= float(avg) <= 5.0 and count >= 10 for avg, count in stats)
        assert s.scalar(select(func.count()).select_from(Rating).join(Appointment)
                        .where(Appointment.status != "completed")) == 0
        rating = s.execute(select(Rating.stars, Appointment.status).join(Appointment).join(Patient)
                           .join(User, User.id == Patient.user_id).where(User.email == "patient@demo.doktu.eu")).one()
        assert tuple(rating) == (5, "completed")
        # The demo patient's three paid consultations have their receipts; the second awaits a rating,
        # the third is ahead, to reschedule or cancel (issue 24).
        assert s.scalar(select(func.count()).select_from(Receipt).join(User, User.id == Receipt.user_id)
                        .where(User.email == "patient@demo.doktu.eu")) == 3
        visits = s.execute(select(Appointment.status, Payment.status, Appointment.start_at, Appointment.slot_id)
                           .join(Patient).join(User, User.id == Patient.user_id)
                           .outerjoin(Payment, Payment.appointment_id == Appointment.id)
                           .where(User.email == "patient@demo.doktu.eu").order_by(Appointment.start_at)).all()
        assert [(a, p) for a, p, _, _ in visits] == [("completed", "succeeded")] * 2 + [("confirmed", "succeeded")]
        assert visits[2].start_at.date() > MONDAY and visits[2].slot_id is not None
        assert s.scalar(select(func.count()).select_from(User).where(demo)) == 22
        assert s.scalar(select(func.count()).select_from(User).where(demo, User.is_active)) == 12
        for slot, tz in s.execute(select(Slot, Doctor.timezone).join(Doctor).join(User, User.id == Doctor.user_id)
                                  .where(demo)).all():
            local = slot.start_at.astimezone(ZoneInfo(tz))
            assert local.weekday() < 5
            assert time(8) <= local.time() < time(12) or time(14) <= local.time() < time(18)
            assert (slot.end_at - slot.start_at).total_seconds() == 1800
