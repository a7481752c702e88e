"""The doctor portal's "See a doctor now" (SPEC §17): the switch, the next patient line, Accept."""

from datetime import timedelta

from dash import no_update

from core.scheduling import doctor_slots
from portals.doctor import callbacks as cb


def test_the_switch_needs_online_and_the_line_shows_wait_and_readiness(taking, waiting, make_user, clock_at,
                                                                       time_machine):
    doctor = make_user("doctor", full_name="Dr Switch")
    assert cb.walkin_panel(doctor.actor) == (
        "Switch on “Taking consultations now” to be offered patients who want a doctor now.", True)
    value, line, disabled = cb.set_taking_now(doctor.actor, True)
    assert value is True and line.startswith("Nobody is waiting") and disabled
    waiting()
    time_machine.shift(timedelta(minutes=1, seconds=5))
    waiting()
    assert cb.walkin_panel(doctor.actor) == ("Next patient: waiting 1 min · not tested · 1 more waiting", False)
    doctor_slots.set_online(doctor.actor, False)
    assert cb.walkin_panel(doctor.actor) == ("Go online to take consultations now.", True)
    assert cb.set_taking_now(doctor.actor, True)[0] is False


def test_accept_opens_the_room_and_a_second_accept_finds_nobody(taking, waiting, clock_at):
    first, second = taking("Dr First"), taking("Dr Second")
    waiting()
    href, message = cb.accept_walkin(first.actor)
    assert href.startswith("/visit/") and "accepted" in message
    assert cb.accept_walkin(second.actor) == (no_update, "Nobody is waiting any more: another doctor accepted first.")
    # The first doctor now has a consultation starting now: no walk-in is offered to them.
    waiting()
    line, disabled = cb.walkin_panel(first.actor)
    assert disabled and "within 45 minutes" in line
    assert cb.accept_walkin(first.actor)[0] is no_update
    assert cb.accept_walkin(second.actor)[0].startswith("/visit/")
