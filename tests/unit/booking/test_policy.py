"""The reschedule and cancellation policy of SPEC §5 at its edges, and the appointment lifecycle.

Times are a consultation on Tuesday 3 March 2026 at 14:00 in Paris and "now" some minutes before.
"""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.booking import lifecycle, policy
from core.booking.policy import NO_REFUND, RefundOutcome
from core.config import ConfigError, Settings
from core.errors import Forbidden, InvalidTransition, MaxReschedules, TimeWindow, ValidationFailed
from core.models import ACTIVE_STATUSES, APPOINTMENT_STATUSES

PARIS = ZoneInfo("Europe/Paris")
START = datetime(2026, 3, 3, 14, 0, tzinfo=PARIS)


def before(minutes: float) -> datetime:
    """`minutes` before the start."""
    return START - timedelta(minutes=minutes)


def reschedule(minutes_before: float = 120, count: int = 0, role: str = "patient", month: int = 0, cap: int = 5):
    policy.check_reschedule(actor_role=role, now=before(minutes_before), start=START, reschedule_count=count,
                            month_count=month, monthly_cap=cap)


# --- reschedule ---------------------------------------------------------------------------------

def test_rescheduling_exactly_60_minutes_before_is_allowed():
    reschedule(minutes_before=60)


@pytest.mark.parametrize("minutes_before", [59, 59.99, 1, 0, -30])
def test_rescheduling_less_than_60_minutes_before_is_err_time_window(minutes_before):
    with pytest.raises(TimeWindow) as refused:
        reschedule(minutes_before=minutes_before)
    assert refused.value.code == "ERR_TIME_WINDOW" and refused.value.status == 422


@pytest.mark.parametrize("role", ["patient", "doctor", "admin"])
def test_the_60_minute_window_and_two_reschedules_bind_every_role(role):
    reschedule(count=1, role=role)  # the 2nd reschedule
    with pytest.raises(MaxReschedules):
        reschedule(count=2, role=role)  # the 3rd
    with pytest.raises(TimeWindow):
        reschedule(minutes_before=59, role=role)


def test_the_third_reschedule_is_err_max_reschedules():
    reschedule(count=0)
    reschedule(count=1)
    with pytest.raises(MaxReschedules) as refused:
        reschedule(count=2)
    assert refused.value.code == "ERR_MAX_RESCHEDULES" and refused.value.status == 422
    assert refused.value.details == {"limit": "appointment", "max": 2}


def test_the_monthly_cap_of_5_refuses_the_6th_reschedule():
    reschedule(month=4)  # the 5th this month
    with pytest.raises(MaxReschedules) as refused:
        reschedule(month=5)  # the 6th
    assert refused.value.details == {"limit": "month", "max": 5}


def test_a_cap_of_0_means_no_cap_and_the_cap_binds_patients_only():
    reschedule(month=500, cap=0)
    reschedule(month=5, cap=5, role="doctor")
    reschedule(month=5, cap=5, role="admin")
    with pytest.raises(MaxReschedules):
        reschedule(month=3, cap=3)


def test_a_late_reschedule_is_a_time_window_error_before_a_count_error():
    with pytest.raises(TimeWindow):
        reschedule(minutes_before=10, count=2, month=9)


def test_the_new_start_needs_the_60_minute_notice_and_a_different_time():
    now = datetime(2026, 3, 2, 8, 0, tzinfo=PARIS)
    policy.check_new_start(now=now, start=START, new_start=now + timedelta(minutes=60))
    with pytest.raises(TimeWindow):
        policy.check_new_start(now=now, start=START, new_start=now + timedelta(minutes=59))
    with pytest.raises(ValidationFailed):
        policy.check_new_start(now=now, start=START, new_start=START)
    with pytest.raises(ValidationFailed):
        policy.check_new_start(now=now, start=START, new_start=datetime(2026, 3, 4, 14, 0))  # no offset


def test_only_the_three_roles_change_appointments():
    for role in ("system", "anonymous", "nurse"):
        with pytest.raises(Forbidden):
            reschedule(role=role)


# --- cancel -------------------------------------------------------------------------------------

def cancel(role: str, minutes_before: float, status: str = "confirmed", reason: str | None = None):
    policy.check_cancel(actor_role=role, now=before(minutes_before), start=START, status=status, reason=reason)


def test_a_patient_cancels_up_to_exactly_60_minutes_before():
    cancel("patient", 60)
    cancel("patient", 60 * 24)
    for minutes in (59, 59.99, 0, -5):
        with pytest.raises(TimeWindow):
            cancel("patient", minutes)


def test_a_patient_gives_back_an_unpaid_hold_at_any_time():
    cancel("patient", 30, status="pending")


@pytest.mark.parametrize("minutes_before", [600, 60, 59, 5, -10])
def test_a_doctor_cancels_any_time_with_a_reason(minutes_before):
    cancel("doctor", minutes_before, reason="Called to an emergency")


@pytest.mark.parametrize("reason", [None, "", "   \n"])
def test_a_doctor_must_give_a_reason(reason):
    with pytest.raises(ValidationFailed) as refused:
        cancel("doctor", 600, reason=reason)
    assert refused.value.code == "ERR_VALIDATION"


@pytest.mark.parametrize("minutes_before", [600, 59, -10])
def test_an_admin_cancels_any_time_without_a_reason(minutes_before):
    cancel("admin", minutes_before)


# --- refunds ------------------------------------------------------------------------------------

def refund(role: str, minutes_before: float, *, card: int = 3500, credit: int = 0, refund_as: str = "card",
           status: str = "confirmed") -> RefundOutcome:
    return policy.refund_for_cancellation(actor_role=role, now=before(minutes_before), start=START, status=status,
                                          card_cents=card, credit_cents=credit, refund_as=refund_as)


def test_patient_60_minutes_or_more_before_gets_a_full_refund_to_the_card():
    assert refund("patient", 60) == RefundOutcome("card", refund_cents=3500)
    assert refund("patient", 60 * 48) == RefundOutcome("card", refund_cents=3500)


def test_patient_may_choose_credit_instead():
    outcome = refund("patient", 60, refund_as="credit")
    assert outcome == RefundOutcome("credit", credit_cents=3500)
    assert outcome.total_credit_cents == 3500


def test_patient_less_than_60_minutes_before_gets_nothing():
    assert refund("patient", 59) == NO_REFUND
    assert refund("patient", 59, refund_as="credit") == NO_REFUND


def test_doctor_less_than_60_minutes_before_gives_a_full_refund_and_10_euros_credit():
    outcome = refund("doctor", 59)
    assert outcome == RefundOutcome("card", refund_cents=3500, late_credit_cents=1000)
    assert outcome.total_credit_cents == 1000
    assert refund("doctor", -15).late_credit_cents == 1000  # after the start: still late


def test_doctor_60_minutes_or_more_before_gives_a_full_refund_only():
    assert refund("doctor", 60) == RefundOutcome("card", refund_cents=3500)


def test_the_refund_choice_is_the_patients_alone():
    assert refund("doctor", 120, refund_as="credit") == RefundOutcome("card", refund_cents=3500)
    assert refund("admin", 120, refund_as="credit") == RefundOutcome("card", refund_cents=3500)


def test_admin_gives_a_full_refund_at_any_time():
    assert refund("admin", 600) == RefundOutcome("card", refund_cents=3500)
    assert refund("admin", 5) == RefundOutcome("card", refund_cents=3500)


def test_what_was_paid_with_credit_goes_back_as_credit():
    assert refund("patient", 120, card=0, credit=3500) == RefundOutcome("credit", credit_cents=3500)
    assert refund("doctor", 30, card=0, credit=3500) == RefundOutcome("credit", credit_cents=3500,
                                                                       late_credit_cents=1000)
    assert refund("admin", 120, card=0, credit=3500) == RefundOutcome("credit", credit_cents=3500)


def test_only_what_is_still_held_is_refunded():
    assert refund("patient", 120, card=1500) == RefundOutcome("card", refund_cents=1500)


def test_unpaid_appointments_are_just_cancelled():
    assert refund("patient", 600, card=0, status="pending") == NO_REFUND
    assert refund("doctor", 10, card=0, status="pending") == NO_REFUND  # no late credit for a hold
    assert refund("admin", 600, card=0, status="pending") == NO_REFUND


def test_a_free_booked_consultation_still_earns_the_late_credit():
    assert refund("doctor", 10, card=0) == RefundOutcome("none", late_credit_cents=1000)


def test_refund_as_must_be_card_or_credit():
    with pytest.raises(ValidationFailed):
        refund("patient", 120, refund_as="cash")


def test_refusals_for_buttons_return_the_error_instead_of_raising():
    kwargs = dict(actor_role="patient", start=START, reschedule_count=0)
    assert policy.reschedule_refusal(now=before(60), **kwargs) is None
    assert isinstance(policy.reschedule_refusal(now=before(59), **kwargs), TimeWindow)
    assert policy.cancel_refusal(actor_role="patient", now=before(60), start=START, status="confirmed",
                                 reason=None) is None
    assert isinstance(policy.cancel_refusal(actor_role="patient", now=before(59), start=START, status="confirmed",
                                            reason=None), TimeWindow)


# --- calendar months ----------------------------------------------------------------------------

def test_the_month_is_the_patients_calendar_month():
    # 31 March 2026 23:30 in Paris is already 1 April in Auckland.
    now = datetime(2026, 3, 31, 23, 30, tzinfo=PARIS)
    start, end = policy.month_bounds(now, PARIS)
    assert (start, end) == (datetime(2026, 3, 1, tzinfo=PARIS), datetime(2026, 4, 1, tzinfo=PARIS))
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(days=31, hours=-1)  # clocks go forward 29 March
    auckland = ZoneInfo("Pacific/Auckland")
    assert policy.month_bounds(now, auckland)[0] == datetime(2026, 4, 1, tzinfo=auckland)
    december = policy.month_bounds(datetime(2026, 12, 15, tzinfo=PARIS), PARIS)
    assert december == (datetime(2026, 12, 1, tzinfo=PARIS), datetime(2027, 1, 1, tzinfo=PARIS))


# --- the setting --------------------------------------------------------------------------------

BASE_ENV = {"SECRET_KEY": "x" * 40, "STRIPE_WEBHOOK_SECRET": "whsec_x", "DOKTU_ENV": "test"}


def test_the_monthly_cap_setting_defaults_to_5_and_0_switches_it_off(tmp_path):
    env = {**BASE_ENV, "DOKTU_INSTANCE_PATH": str(tmp_path)}
    assert Settings.from_env(env).reschedule_monthly_cap == 5
    assert Settings.from_env({**env, "RESCHEDULE_MONTHLY_CAP": "0"}).reschedule_monthly_cap == 0
    assert Settings.from_env({**env, "RESCHEDULE_MONTHLY_CAP": "12"}).reschedule_monthly_cap == 12
    for bad in ("-1", "five", "2.5"):
        with pytest.raises(ConfigError):
            Settings.from_env({**env, "RESCHEDULE_MONTHLY_CAP": bad})


# --- lifecycle ----------------------------------------------------------------------------------

class Appt:
    def __init__(self, status: str, cancelled_by: str | None = None):
        self.status, self.cancelled_by = status, cancelled_by


def test_the_lifecycle_knows_exactly_the_schemas_statuses():
    assert set(lifecycle.STATUSES) == set(APPOINTMENT_STATUSES)
    assert set(lifecycle.ACTIVE) == set(ACTIVE_STATUSES)
    assert set(lifecycle.TRANSITIONS) == set(APPOINTMENT_STATUSES)


@pytest.mark.parametrize(("start", "end"), [
    ("pending", "confirmed"), ("pending", "paid"), ("pending", "cancelled"),
    ("paid", "confirmed"), ("paid", "completed"), ("paid", "cancelled"), ("paid", "no_show"),
    ("confirmed", "completed"), ("confirmed", "cancelled"), ("confirmed", "no_show"),
])
def test_allowed_moves(start, end):
    appointment = Appt(start)
    lifecycle.transition(appointment, end)
    assert appointment.status == end


@pytest.mark.parametrize(("start", "end"), [
    ("pending", "completed"), ("pending", "no_show"), ("confirmed", "pending"), ("confirmed", "paid"),
    ("completed", "cancelled"), ("no_show", "cancelled"), ("cancelled", "cancelled"),
    ("completed", "confirmed"), ("no_show", "completed"),
])
def test_forbidden_moves_are_err_invalid_state_and_change_nothing(start, end):
    appointment = Appt(start, cancelled_by="patient" if start == "cancelled" else None)
    with pytest.raises(InvalidTransition) as refused:
        lifecycle.transition(appointment, end)
    assert refused.value.code == "ERR_INVALID_STATE" and refused.value.status == 409
    assert appointment.status == start


def test_an_expired_hold_is_revived_by_its_late_payment_but_a_real_cancellation_is_final():
    expired = Appt("cancelled", cancelled_by=None)
    lifecycle.transition(expired, "confirmed")
    assert expired.status == "confirmed"
    for who in ("patient", "doctor", "admin"):
        with pytest.raises(InvalidTransition):
            lifecycle.transition(Appt("cancelled", cancelled_by=who), "confirmed")


def test_only_booked_appointments_are_rescheduled():
    lifecycle.require_reschedulable(Appt("confirmed"))
    lifecycle.require_reschedulable(Appt("paid"))
    for status in ("pending", "completed", "cancelled", "no_show"):
        with pytest.raises(InvalidTransition):
            lifecycle.require_reschedulable(Appt(status))


def test_unknown_statuses_are_a_programming_error():
    with pytest.raises(ValueError):
        lifecycle.transition(Appt("pending"), "lost")
