"""Exactly one waitlist offer per freed start (SPEC §17), under concurrent frees: threads on real
separate PostgreSQL connections, committed data, owed effects run right after each commit."""

import threading
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text

from core import clock, tasks
from core import db as core_db
from core.actor import Actor
from core.booking import changes, waitlist

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture(autouse=True)
def owed_effects_run_at_once():
    previous = tasks.set_dispatcher(tasks.run_inline)
    yield
    tasks.set_dispatcher(previous)


@pytest.fixture
def clinic(committed_clinic):
    """`committed_clinic`, whose cancellations' append-only change and audit rows (and the owed
    effects and emails they made) the owner removes afterwards, triggers off for that transaction."""
    made = []

    def create(patients: int):
        made.append(committed_clinic(patients))
        return made[-1]

    yield create
    owner = create_engine(core_db.current().owner_url)
    with owner.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        for c in made:
            ids = [str(i) for i in conn.execute(text("SELECT id FROM appointments WHERE doctor_id = :d"),
                                                {"d": c.doctor_id}).scalars()]
            conn.execute(text("DELETE FROM appointment_changes WHERE appointment_id::text = ANY(:ids)"), {"ids": ids})
            conn.execute(text("DELETE FROM audit_events WHERE subject_id = ANY(:ids)"), {"ids": ids})
            conn.execute(text("DELETE FROM owed_effects WHERE args->>0 = ANY(:ids) OR args->>1 = ANY(:ids) "
                              "OR args->>0 = :d"), {"ids": ids, "d": str(c.doctor_id)})
    owner.dispose()


def tomorrow_at(hour: int, minute: int = 0) -> datetime:
    """Starts on the engine's rhythm of a free template day (10:00, then every 45 minutes)."""
    day = clock.now().astimezone(PARIS).date() + timedelta(days=1)
    return datetime.combine(day, time(hour, minute), PARIS)


def race(calls) -> list:
    barrier, results = threading.Barrier(len(calls)), [None] * len(calls)

    def run(i):
        barrier.wait()
        try:
            results[i] = calls[i]()
        except Exception as exc:  # reported by the assertion below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def setup(clinic, bookings: list[datetime], waiters: int):
    """Other patients' bookings at `bookings`, then `waiters` patients waiting, in order."""
    engine = core_db.current().engine
    people = clinic.patients
    with engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.role', 'system', true)"))
        doctor_user = conn.execute(text("SELECT user_id FROM doctors WHERE id = :d"), {"d": clinic.doctor_id}).scalar()
        booked = [conn.execute(text("""INSERT INTO appointments (doctor_id, patient_id, start_at, end_at, status)
            VALUES (:d, :p, :s, :s + interval '30 minutes', 'confirmed') RETURNING id"""),
            {"d": clinic.doctor_id, "p": people[i][1], "s": start}).scalar() for i, start in enumerate(bookings)]
        for n, (uid, pid) in enumerate(people[len(bookings):len(bookings) + waiters]):
            conn.execute(text("""INSERT INTO waitlist_entries (user_id, patient_id, doctor_id, until_at, created_at)
                VALUES (:u, :p, :d, :until, :at)"""), {"u": uid, "p": pid, "d": clinic.doctor_id,
                                                       "until": clock.now() + timedelta(days=5),
                                                       "at": clock.now() - timedelta(minutes=10 - n)})
    return Actor(doctor_user, "doctor"), booked


def live_offers(doctor_id) -> list:
    with core_db.current().engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.role', 'system', true)"))
        return conn.execute(text("""SELECT o.start_at, o.user_id, o.status FROM waitlist_offers o
            WHERE o.doctor_id = :d ORDER BY o.start_at"""), {"d": doctor_id}).all()


@pytest.mark.parametrize("round_", range(3))
def test_the_same_start_freed_by_several_runs_at_once_is_offered_once(clinic, round_):
    clinic = clinic(patients=4)
    _doctor, _ = setup(clinic, [], waiters=4)
    start = tomorrow_at(12, 15)
    # The fast path, the owed sweep, a retry, another free of the same start: all at once.
    results = race([lambda: waitlist.offer_freed_start(str(clinic.doctor_id), start.isoformat())] * 6)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(results).count("offered") == 1
    offers = live_offers(clinic.doctor_id)
    assert [(o.start_at, o.status) for o in offers] == [(start, "offered")]
    assert offers[0].user_id == clinic.patients[0][0]  # the first to ask


def test_concurrent_cancellations_give_one_offer_per_freed_start_and_one_per_waiter(clinic):
    clinic = clinic(patients=6)
    starts = [tomorrow_at(10, 45), tomorrow_at(13), tomorrow_at(15, 15)]
    doctor, booked = setup(clinic, starts, waiters=3)
    results = race([lambda a=a: changes.cancel(doctor, a, reason="Unwell") for a in booked])
    assert not [r for r in results if isinstance(r, Exception)], results
    offers = [o for o in live_offers(clinic.doctor_id) if o.status == "offered"]
    assert sorted(o.start_at for o in offers) == starts  # every freed start, once
    assert len({o.user_id for o in offers}) == 3  # each waiter holds one offer
    assert {o.user_id for o in offers} == {uid for uid, _ in clinic.patients[3:]}
