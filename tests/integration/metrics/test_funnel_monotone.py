"""SPEC §22: the funnel counts people, from every entry point, and each step is at most the step
before it — for any history of events (a property test against PostgreSQL)."""

import itertools
import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from core.actor import SYSTEM
from core.db import unit_of_work
from core.metrics import kpis
from core.models.engagement import FUNNEL_STEPS

USERS = [uuid.uuid4() for _ in range(4)]
VISITORS = [f"visitor-{n}" for n in range(4)]
_days = itertools.count()

event = st.tuples(
    st.sampled_from(FUNNEL_STEPS),
    st.one_of(st.none(), st.sampled_from(USERS)),
    st.one_of(st.none(), st.sampled_from(VISITORS)),
    st.integers(min_value=0, max_value=23 * 60),  # minute of the day
)


def _insert(events, day: datetime) -> None:
    with unit_of_work(SYSTEM) as uow:
        for step, user, visitor, minute in events:
            uow.session.execute(text("""INSERT INTO funnel_events (occurred_at, step, user_id, visitor_id)
                                        VALUES (:at, :step, :user, :visitor)"""),
                                {"at": day + timedelta(minutes=minute), "step": step, "user": user,
                                 "visitor": visitor})


def _people(day: datetime) -> list[int]:
    # "today" of a noon on that Paris day
    steps = kpis.funnel(SYSTEM, "today", now=day + timedelta(hours=12)).steps
    return [int(p) for p in steps["people"]]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=st.lists(event, max_size=25))
def test_each_step_is_at_most_the_one_before_for_any_history(db, make_user, events):
    users = {u: make_user("patient").user.id for u in USERS} if not hasattr(db, "_funnel_users") else db._funnel_users
    db._funnel_users = users
    # An empty day per example, with a day between: an event at 23:00 UTC is already the next Paris
    # day, which would leak into the following example's "today" if the days were adjacent.
    day = datetime(2025, 1, 1, 0, 0, tzinfo=UTC) + timedelta(days=2 * next(_days))
    _insert([(s, users.get(u), v, m) for s, u, v, m in events], day)
    people = _people(day)
    assert all(later <= earlier for earlier, later in itertools.pairwise(people)), people
    # nobody is lost: the first step counts every distinct person of the period
    assert people[0] <= len(events)
    if events:
        assert people[0] >= 1


def test_a_visitor_who_signs_up_is_one_person_and_a_hold_implies_a_view(db, make_user):
    """A visitor views a profile, signs up (the event links the cookie to the account) and pays; a
    returning patient holds a time straight from the home page's times (no view event)."""
    day = datetime(2024, 6, 3, 6, 0, tzinfo=UTC)
    newcomer, returning = make_user("patient").user.id, make_user("patient").user.id
    _insert([("availability_viewed", None, "cookie-1", 0), ("slot_held", newcomer, None, 1),
             ("signed_up", newcomer, "cookie-1", 2), ("checkout_started", newcomer, None, 3),
             ("paid", newcomer, None, 4),
             ("slot_held", returning, None, 10), ("checkout_started", returning, None, 11),
             ("paid", returning, None, 12),
             ("availability_viewed", None, "cookie-2", 20)], day)  # a visitor who only looked
    by_step = dict(zip(FUNNEL_STEPS, _people(day), strict=True))
    assert by_step == {"availability_viewed": 3, "slot_held": 2, "signed_up": 2, "checkout_started": 2, "paid": 2,
                       "device_test_passed": 0, "joined": 0}
