"""Two doctors press Accept at the same moment (SPEC §17): exactly one gets each patient — in the
database, on real separate connections — and the other gets the next patient or nobody."""

import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text

from core import clock
from core import db as core_db
from core.actor import Actor
from core.walkin import queue


@pytest.fixture
def committed_queue(app):
    engine = core_db.current().engine
    suffix = uuid.uuid4().hex[:8]
    made = {}

    def create(doctors: int, patients: int):
        with engine.begin() as conn:
            conn.execute(text("SELECT set_config('app.role', 'system', true)"))
            made["doctors"] = []
            for i in range(doctors):
                uid = conn.execute(text("""INSERT INTO users (email, role, full_name, password_hash)
                    VALUES (:e, 'doctor', 'Dr Race', 'x') RETURNING id"""), {"e": f"wdoc{i}-{suffix}@tests.doktu.eu"}).scalar()
                conn.execute(text("INSERT INTO doctors (user_id, display_name, specialty, taking_now) "
                                  "VALUES (:u, 'Dr Race', 'GP', true)"), {"u": uid})
                made["doctors"].append(Actor(uid, "doctor"))
            made["requests"] = []
            for i in range(patients):
                uid = conn.execute(text("""INSERT INTO users (email, role, full_name, password_hash)
                    VALUES (:e, 'patient', 'Walker', 'x') RETURNING id"""), {"e": f"walk{i}-{suffix}@tests.doktu.eu"}).scalar()
                pid = conn.execute(text("INSERT INTO patients (user_id) VALUES (:u) RETURNING id"), {"u": uid}).scalar()
                rid = conn.execute(text("""INSERT INTO walkin_requests (user_id, patient_id, status, price_cents, paid_at)
                    VALUES (:u, :p, 'waiting', 3500, :t) RETURNING id"""),
                    {"u": uid, "p": pid, "t": clock.now() - timedelta(minutes=10 - i)}).scalar()
                made["requests"].append(rid)
        return made

    yield create
    with engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.role', 'system', true)"))
        conn.execute(text("""DELETE FROM appointments WHERE doctor_id IN
            (SELECT d.id FROM doctors d JOIN users u ON u.id = d.user_id WHERE u.email LIKE :p)"""),
            {"p": f"%-{suffix}@tests.doktu.eu"})
        conn.execute(text("DELETE FROM users WHERE email LIKE :p AND role = 'patient'"), {"p": f"%-{suffix}@tests.doktu.eu"})
    with engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.role', 'system', true)"))
        conn.execute(text("DELETE FROM users WHERE email LIKE :p"), {"p": f"%-{suffix}@tests.doktu.eu"})


def _race(doctors: list[Actor]) -> list:
    barrier, results = threading.Barrier(len(doctors)), [None] * len(doctors)

    def accept(i):
        barrier.wait()
        try:
            results[i] = queue.accept_next(doctors[i])
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=accept, args=(i,)) for i in range(len(doctors))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


@pytest.mark.parametrize("round_", range(5))
def test_two_doctors_accepting_the_only_patient_at_once_exactly_one_wins(committed_queue, round_):
    made = committed_queue(doctors=2, patients=1)
    results = _race(made["doctors"])
    assert not [r for r in results if isinstance(r, Exception)], results
    winners = [r for r in results if r is not None]
    assert len(winners) == 1 and winners[0].request_id == made["requests"][0]
    with core_db.current().engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.role', 'system', true)"))
        assert conn.execute(text("SELECT count(*) FROM appointments WHERE id = :a"),
                            {"a": winners[0].appointment_id}).scalar() == 1
        assert conn.execute(text("SELECT status FROM walkin_requests WHERE id = :r"),
                            {"r": made["requests"][0]}).scalar() == "accepted"


def test_two_doctors_at_once_with_two_patients_each_gets_a_different_one_first_paid_first(committed_queue):
    made = committed_queue(doctors=2, patients=3)
    results = _race(made["doctors"])
    assert all(r is not None and not isinstance(r, Exception) for r in results), results
    taken = {r.request_id for r in results}
    assert taken == set(made["requests"][:2])  # the two who paid first; the third still waits
    with core_db.current().engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.role', 'system', true)"))
        assert conn.execute(text("SELECT status FROM walkin_requests WHERE id = :r"),
                            {"r": made["requests"][2]}).scalar() == "waiting"
        # One request is one appointment, enforced by the database too.
        with pytest.raises(Exception):  # noqa: B017
            conn.execute(text("UPDATE walkin_requests SET appointment_id = :a WHERE id = :r"),
                         {"a": results[0].appointment_id, "r": results[1].request_id})
