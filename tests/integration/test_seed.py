"""`doktu db seed` (SPEC §14): the demo data, and running it twice changes nothing."""

from datetime import date, time
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from core.actor import SYSTEM
from core.db import unit_of_work
from core.models import Appointment, Doctor, Rating, Slot, User
from core.seed import seed_demo

MONDAY = date(2026, 11, 30)


def test_seed_creates_the_demo_world_once(db, time_machine):
    time_machine.move_to("2026-11-29 20:00:00+00:00", tick=False)  # a Sunday evening
    first = seed_demo("Doktu-demo-2026!", today=MONDAY)
    second = seed_demo("Doktu-demo-2026!", today=MONDAY)
    assert first.users_created == 12 and second.users_created == 0
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
        assert all(4.8 <= float(d.rating_avg) <= 5.0 for d in doctors)
        rating = s.execute(select(Rating.stars, Appointment.status).join(Appointment)).one()
        assert tuple(rating) == (5, "completed")
        assert s.scalar(select(func.count()).select_from(User).where(demo)) == 12
        for slot, tz in s.execute(select(Slot, Doctor.timezone).join(Doctor).join(User, User.id == Doctor.user_id)
                                  .where(demo)).all():
            local = slot.start_at.astimezone(ZoneInfo(tz))
            assert local.weekday() < 5
            assert time(8) <= local.time() < time(12) or time(14) <= local.time() < time(18)
            assert (slot.end_at - slot.start_at).total_seconds() == 1800
