"""Reminders 24 hours and 1 hour before (SPEC §11): the 5-minute sweep queues each once, with the
clock moved through the day; the patient's choices (email, SMS, neither) are respected.

The consultation is Wednesday 4 March 2026, 10:00 Paris, paid on Monday 2 March at 08:00."""

import pytest

from core.booking.changes import cancel, reschedule
from core.notify.reminders import send_due_reminders
from tests.integration.notify.conftest import DELIVER, about, set_user
from tests.integration.scheduling.conftest import paris

WEDNESDAY_10 = paris(4, 10)


def reminders(appointment_id):
    return [r for r in about(appointment_id) if r.dedupe_key.startswith("reminder-")]


def sweep_at(clock_at, moment) -> int:
    clock_at(moment)
    return send_due_reminders()


def test_the_24_hour_and_the_1_hour_reminders_are_each_sent_once(booked, clock_at, deferred):
    b = booked(start=WEDNESDAY_10)
    deferred.clear()
    assert sweep_at(clock_at, paris(3, 9, 55)) == 0
    assert sweep_at(clock_at, paris(3, 10, 0)) == 1  # the window opens: exactly 24 h before
    assert sweep_at(clock_at, paris(3, 10, 5)) == 0
    assert sweep_at(clock_at, paris(3, 22, 0)) == 0
    assert sweep_at(clock_at, paris(4, 8, 55)) == 0
    assert sweep_at(clock_at, paris(4, 9, 0)) == 1
    assert sweep_at(clock_at, paris(4, 9, 5)) == 0
    assert sweep_at(clock_at, paris(4, 9, 55)) == 0
    assert sweep_at(clock_at, paris(4, 10, 0)) == 0  # started: nothing more
    rows = reminders(b.appointment_id)
    assert [r.dedupe_key for r in rows] == [f"reminder-1h:{b.appointment_id}:0:patient:email",
                                            f"reminder-24h:{b.appointment_id}:0:patient:email"]
    one_hour, day = rows
    assert day.subject == "Reminder: consultation with Dr Paris in 24 hours, Wednesday 4 March 2026, 10:00"
    assert one_hour.subject == "Reminder: consultation with Dr Paris in 1 hour, Wednesday 4 March 2026, 10:00"
    assert "/dashboard/settings#notifications" in day.body_text and day.recipient == b.patient.email
    assert "reschedule or cancel" in day.body_text and "reschedule or cancel" not in one_hour.body_text
    assert deferred.paths() == [DELIVER, DELIVER]
    assert deferred.run(DELIVER) == ["dev", "dev"]


def test_a_late_sweep_still_sends_the_reminder_of_the_open_window(booked, clock_at, deferred):
    b = booked(start=WEDNESDAY_10)
    assert sweep_at(clock_at, paris(3, 18, 0)) == 1  # the cron was down for 8 hours
    assert sweep_at(clock_at, paris(4, 9, 40)) == 1  # and again: the 1 h reminder, not the 24 h one
    assert [r.dedupe_key.split(":")[0] for r in reminders(b.appointment_id)] == ["reminder-1h", "reminder-24h"]


def test_a_booking_made_inside_the_24_hour_window_gets_only_the_1_hour_reminder(booked, clock_at):
    clock_at(paris(3, 15, 0))
    b = booked(start=WEDNESDAY_10)  # 19 hours ahead: the confirmation just told them
    assert sweep_at(clock_at, paris(3, 15, 5)) == 0
    assert sweep_at(clock_at, paris(4, 9, 0)) == 1
    assert [r.dedupe_key.split(":")[0] for r in reminders(b.appointment_id)] == ["reminder-1h"]


def test_sms_only_email_only_both_or_neither(booked, clock_at):
    sms_only = booked(start=WEDNESDAY_10, email_reminders=False, sms_reminders=True, phone="+33612345678")
    both = booked(start=paris(4, 12), email_reminders=True, sms_reminders=True, phone="+33698765432")
    neither = booked(start=paris(4, 14), email_reminders=False, sms_reminders=False)
    no_number = booked(start=paris(4, 16), sms_reminders=True)  # SMS on but no number: email only
    assert sweep_at(clock_at, paris(3, 16, 0)) == 1 + 2 + 0 + 1
    (sms,) = reminders(sms_only.appointment_id)
    assert (sms.channel, sms.recipient, sms.subject) == ("sms", "+33612345678", None)
    assert sms.body_text == ("Doktu: your video consultation with Dr Paris is in 24 hours, Wednesday 4 March 2026, "
                             f"10:00 (Europe/Paris). Join: http://127.0.0.1:5000/visit/{sms_only.appointment_id}")
    assert sorted(r.channel for r in reminders(both.appointment_id)) == ["email", "sms"]
    assert reminders(neither.appointment_id) == []
    assert [r.channel for r in reminders(no_number.appointment_id)] == ["email"]


def test_reminders_read_in_the_patients_language_and_zone(booked, clock_at):
    b = booked(start=WEDNESDAY_10, locale="fr", timezone="Asia/Tokyo", sms_reminders=True, phone="+33612345678")
    sweep_at(clock_at, paris(3, 10))
    email, sms = sorted(reminders(b.appointment_id), key=lambda r: r.channel)
    assert email.subject == "Rappel : consultation avec Dr Paris dans 24 heures, mercredi 4 mars 2026 à 18:00"
    assert "(Asia/Tokyo)" in email.body_text and '<html lang="fr">' in email.body_html
    assert sms.body_text.startswith("Doktu : votre téléconsultation avec Dr Paris a lieu dans 24 heures, le mercredi")


def test_a_moved_appointment_is_reminded_of_its_new_time(booked, clock_at):
    b = booked(start=WEDNESDAY_10)
    assert sweep_at(clock_at, paris(3, 10)) == 1
    clock_at(paris(3, 11))
    reschedule(b.patient.actor, b.appointment_id, new_start=paris(5, 10))
    assert sweep_at(clock_at, paris(4, 9)) == 0  # the old 1 h window: nothing there any more
    assert sweep_at(clock_at, paris(4, 10)) == 1
    assert sweep_at(clock_at, paris(5, 9)) == 1
    keys = [r.dedupe_key.split(":") for r in reminders(b.appointment_id)]
    assert [(kind, sequence) for kind, _, sequence, *_ in keys] == [
        ("reminder-1h", "1"), ("reminder-24h", "0"), ("reminder-24h", "1")]


def test_a_move_into_the_window_is_not_reminded_for_that_window(booked, clock_at):
    b = booked(start=paris(5, 10))
    clock_at(paris(3, 20))
    reschedule(b.patient.actor, b.appointment_id, new_start=paris(4, 14))  # 18 hours ahead: the notice says it
    assert sweep_at(clock_at, paris(3, 20, 5)) == 0
    assert sweep_at(clock_at, paris(4, 13)) == 1


def test_no_reminders_for_cancelled_or_inactive_patients(booked, clock_at, doctor):
    cancelled = booked(start=WEDNESDAY_10)
    cancel(doctor.actor, cancelled.appointment_id, "Away")
    gone = booked(start=paris(4, 12))
    set_user(gone.patient.user.id, is_active=False)
    assert sweep_at(clock_at, paris(3, 16)) == 0


@pytest.mark.parametrize("sweeps", [2, 3])
def test_repeated_sweeps_in_one_window_queue_nothing_more(booked, clock_at, sweeps):
    b = booked(start=WEDNESDAY_10)
    counts = [sweep_at(clock_at, paris(3, 10, 5 * i)) for i in range(sweeps)]
    assert counts == [1] + [0] * (sweeps - 1)
    assert len(reminders(b.appointment_id)) == 1
