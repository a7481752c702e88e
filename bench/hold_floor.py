"""Where a hold's CPU goes, layer by layer, and the ceiling each layer leaves (issue 21). Prints
figures; asserts nothing.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/hold_floor.py [--holds 400]

`bench/availability.py` measures holds over HTTP (gunicorn, 16 wrk connections). This script peels
the layers off, one process and one connection, so each figure is CPU per successful hold:
1. the hold's SQL alone: the app's two round trips (`core.db._send`: BEGIN + `hold_calendar()`,
   which sets the RLS context, takes the doctor's lock and reads the calendar; take + COMMIT) from
   a bare psycopg connection (its own preparing off, as the app's) — PostgreSQL's CPU (its
   backend's, from /proc) and the client's;
2. the service, `core.scheduling.holds.hold_slot`, in process: adds the engine's check of the
   start (the one slot rule), the pool and the Redis mirror/cache round trip;
3. the Flask request, `POST /api/slots/hold` through the WSGI app (test client): adds bearer
   token, routing, validation, hooks — everything but gunicorn and the socket.
For each it prints how many holds/s the machine's cores would allow if that layer were all there
is (cores / (app + PostgreSQL CPU per hold)), i.e. an upper bound for the HTTP figure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import psycopg
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _load import DatabaseCpu  # noqa: E402
from _server import (  # noqa: E402
    DEFAULT_DATABASE_URL,
    _doktu,
    _sqlalchemy_url,
    create_database,
    drop_database,
    run_db_name,
    run_redis_url,
    server_env,
)

PASSWORD = "Bench-password-1!"
PATIENTS = 40  # 4 per seeded doctor: each start belongs to one of them


def prepare(db_url: str, instance: Path) -> None:
    env = server_env(db_url, run_redis_url(), instance, "production")
    for step in (["db", "upgrade"], ["db", "seed"]):
        done = _doktu(step, env)
        if done.returncode != 0:
            raise SystemExit(f"doktu {' '.join(step)} failed: {(done.stderr or done.stdout)[-1500:]}")
    os.environ.update(env)  # the app below is built with the same production settings


def make_patients(engine) -> list[uuid.UUID]:
    from core.accounts.passwords import hash_password

    cheap = hash_password(PASSWORD, cost=4)  # bench logins only
    ids = []
    with engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.role', 'system', true)"))
        for i in range(PATIENTS):
            uid = conn.execute(text("""INSERT INTO users (email, role, full_name, password_hash)
                VALUES (:e, 'patient', 'Holder', :h) ON CONFLICT ((lower(email))) DO UPDATE SET full_name = 'Holder'
                RETURNING id"""), {"e": f"floor{i}@bench.doktu.eu", "h": cheap}).scalar()
            conn.execute(text("INSERT INTO patients (user_id) VALUES (:u) ON CONFLICT DO NOTHING"), {"u": uid})
            ids.append(uid)
    return ids


def free_holds(engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.role', 'system', true)"))
        conn.execute(text("UPDATE slots SET locked_by = NULL, locked_until = NULL WHERE locked_by IS NOT NULL"))


def plan(client, doctors: list[uuid.UUID]) -> list[tuple[int, uuid.UUID, str]]:
    """(patient index, doctor, start) in order: every start one the doctor offers, each owned by one
    of the doctor's 4 patients, who take turns — so every hold succeeds and gives back the
    patient's previous one with that doctor (the usual case), as in bench/availability.py."""
    day0 = (datetime.now(ZoneInfo("Europe/Paris")) + timedelta(days=1)).replace(hour=0, minute=0, second=0,
                                                                                microsecond=0)
    offered = []
    for doctor in doctors:
        answer = client.get(f"/api/doctors/{doctor}/unified-availability?" + urlencode(
            {"from": day0.isoformat(), "to": (day0 + timedelta(days=7)).isoformat()}))
        offered.append([s["start"] for s in answer.get_json()["slots"] if s["isAvailable"]])
    out = []
    for r in range(max(len(s) for s in offered)):
        for d, (doctor, starts) in enumerate(zip(doctors, offered, strict=True)):
            if r < len(starts) - len(starts) % 8:
                out.append((d * 4 + r % 4, doctor, starts[r]))
    return out


def measure(label: str, run, count: int, db_cpu: DatabaseCpu, results: list) -> None:
    run(min(50, count))  # warm: imports, plans, prepared statements
    db0, app0, wall0 = db_cpu(), time.process_time(), time.perf_counter()
    ok = run(count)
    db1, app1, wall1 = db_cpu(), time.process_time(), time.perf_counter()
    app_ms, db_ms = 1000 * (app1 - app0) / ok, 1000 * (db1 - db0) / ok
    ceiling = (os.cpu_count() or 1) * 1000 / (app_ms + db_ms)
    results.append((label, app_ms, db_ms))
    print(f"{label}: {ok}/{count} held; CPU per hold {app_ms:.2f} ms client + {db_ms:.2f} ms PostgreSQL "
          f"(wall {1000 * (wall1 - wall0) / count:.1f} ms, one at a time) -> at most {ceiling:,.0f} holds/s "
          f"on {os.cpu_count()} cores")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--holds", type=int, default=400, help="holds per layer and round")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of the three layers, interleaved")
    parser.add_argument("--db", default="doktu_bench_floor")
    args = parser.parse_args()
    server_url = _sqlalchemy_url(os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL))
    name = run_db_name(args.db)
    db_url = create_database(server_url, name)
    try:
        with tempfile.TemporaryDirectory(prefix="doktu-floor-") as tmp:
            prepare(db_url, Path(tmp))
            run_layers(db_url, args.holds, args.rounds)
    finally:
        drop_database(server_url, name)
    print(f"(measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f})")


def run_layers(db_url: str, count: int, rounds: int) -> None:
    from core import clock
    from core.actor import Actor
    from core.db import _send
    from core.scheduling.calendars import load_range
    from core.scheduling.holds import _LOCKED_CALENDAR, HOLD_TTL, _take, doctor_lock_key, hold_slot
    from portals import create_app

    engine = create_engine(db_url)
    db_cpu = DatabaseCpu(db_url)
    app = create_app()
    client = app.test_client()
    patients = make_patients(engine)
    with engine.connect() as conn:
        doctors = [r[0] for r in conn.execute(text("SELECT id FROM doctors ORDER BY number"))]
    tokens = []
    for i in range(PATIENTS):
        answer = client.post("/api/auth/token", json={"email": f"floor{i}@bench.doktu.eu", "password": PASSWORD})
        tokens.append(answer.get_json()["access_token"])
    steps = plan(client, doctors)
    print(f"{len(steps)} planned holds over {len(doctors)} doctors, {PATIENTS} patients")
    bare = psycopg.connect(_sqlalchemy_url(db_url).replace("postgresql+psycopg://", "postgresql://"), autocommit=True,
                           prepare_threshold=None)
    bare.execute("SET ROLE doktu_app")
    turn = {"i": 0}

    def next_step():
        step = steps[turn["i"] % len(steps)]
        turn["i"] += 1
        return step

    def sql_only(k: int) -> int:
        ok = 0
        for _ in range(k):
            p, doctor, start_text = next_step()
            start, now = datetime.fromisoformat(start_text), clock.now()
            low, high = load_range(start, start + timedelta(seconds=1))
            _send(bare, [("BEGIN", None),
                         (_LOCKED_CALENDAR, {"u": str(patients[p]), "r": "patient", "n": now.isoformat(),
                                             "k": doctor_lock_key(doctor), "s": None, "lazy": True,
                                             "doctor": doctor, "start": low, "end": high, "now": now})])
            rows = _send(bare, [_take(doctor, start, start + timedelta(minutes=30), patients[p], now + HOLD_TTL, now),
                                ("COMMIT", None)])
            ok += bool(rows[0])
        return ok

    def service(k: int) -> int:
        with app.app_context():
            for _ in range(k):
                p, doctor, start_text = next_step()
                hold_slot(Actor(patients[p], "patient"), doctor_id=doctor, start=datetime.fromisoformat(start_text))
        return k

    def flask_request(k: int) -> int:
        ok = 0
        for _ in range(k):
            p, doctor, start_text = next_step()
            answer = client.post("/api/slots/hold", data=json.dumps({"doctorId": str(doctor), "start": start_text}),
                                 headers={"Authorization": f"Bearer {tokens[p]}", "Content-Type": "application/json"})
            ok += answer.status_code == 201
        return ok

    results: list = []
    for _ in range(rounds):
        for label, run in (("1. the hold's SQL alone (core.pgwire, same round trips)", sql_only),
                           ("2. the service hold_slot() in process", service),
                           ("3. the Flask request (WSGI test client)", flask_request)):
            free_holds(engine)
            measure(label, run, count, db_cpu, results)
    best = {}
    for label, app_ms, db_ms in results:
        best[label] = min(best.get(label, (1e9, 1e9)), (app_ms, db_ms), key=sum)
    (sql_app, sql_db), (svc_app, _), (web_app, _) = best.values()
    print(f"best of {rounds}: PostgreSQL {sql_db:.2f} ms per hold; the service adds {svc_app - sql_app:.2f} ms "
          f"of Python over the bare SQL client ({sql_app:.2f} ms); Flask adds {web_app - svc_app:.2f} ms; "
          f"gunicorn, the socket and the load generator come on top (bench/availability.py)")
    bare.close()
    engine.dispose()
    db_cpu.engine.dispose()


if __name__ == "__main__":
    main()
