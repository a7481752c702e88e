"""Availability and holds benchmark (issues: scheduling, 21 speed). Prints figures; asserts nothing.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/12 \
        .venv/bin/python bench/availability.py [--big] [--db NAME] [--code OTHER_CHECKOUT]

Builds a database (`--db`, default `doktu_bench`: migrations + demo seed), serves it with
`doktu serve` in production mode (bench/_server.py), then measures:
1. the pure engine, per doctor-week;
2. throughput (wrk, 16 connections) and CPU per request for one doctor-day and one doctor-week of
   availability, the SQL statements of one availability call and of the 10-doctor batch, p50/p95
   of the 10-doctor batch and of `/` one request at a time; with --big, again on 1,000 doctors
   with 3 months of appointments;
3. successful and refused holds per second with 16 concurrent clients — each request a patient
   holding a free offered start no other patient is after (`hold_plan`) —, overlapping live holds,
   and 50 clients racing for one slot.
`--code DIR` runs another checkout's application code (e.g. a worktree of main) on the same
script, so a before and an after are measured the same way.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, event, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _load import DatabaseCpu, get_load, post_load, sequential  # noqa: E402
from _server import seeded_server  # noqa: E402

from core.accounts.passwords import hash_password  # noqa: E402
from core.scheduling.engine import ExplicitSlot, Hold, unified_availability  # noqa: E402

PASSWORD = "Bench-password-1!"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def bench_engine(runs: int = 2000) -> None:
    tz = ZoneInfo("Europe/Paris")
    monday = datetime(2026, 3, 2, tzinfo=tz)
    explicit = []
    for day in (0, 2, 4):  # three explicit days, four template days
        for block in ((8, 12), (14, 18)):
            for half in range((block[1] - block[0]) * 2):
                start = monday + timedelta(days=day, hours=block[0], minutes=30 * half)
                explicit.append(ExplicitSlot(uuid.uuid4(), start, start + timedelta(minutes=30), True))
    appointments = [monday + timedelta(days=d, hours=h) for d, h in ((0, 9), (1, 11), (1, 15), (3, 14), (5, 10),
                                                                      (6, 17))]
    holds = [Hold(monday + timedelta(days=2, hours=15), uuid.uuid4(), monday + timedelta(days=8)),
             Hold(monday + timedelta(days=3, hours=12), uuid.uuid4(), monday + timedelta(days=8))]
    now = monday - timedelta(hours=2)
    timings = []
    for _ in range(runs):
        t = time.perf_counter()
        result = unified_availability(tz=tz, explicit=explicit, appointment_starts=appointments, holds=holds,
                                      now=now, window_start=monday, window_end=monday + timedelta(days=7))
        timings.append((time.perf_counter() - t) * 1000)
    print(f"engine: {len(result)} entries per doctor-week; median {statistics.median(timings):.3f} ms, "
          f"p95 {pct(timings, 95):.3f} ms (target <= 1 ms)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    """One keep-alive HTTP connection per thread."""

    def __init__(self, port: int, token: str | None = None):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        headers = dict(self.headers)
        payload = None
        if body is not None:
            payload = json.dumps(body)
            headers["Content-Type"] = "application/json"
        self.conn.request(method, path, body=payload, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        return response.status, (json.loads(data) if data else {})


def latency(port: int, path: str, n: int = 400) -> str:
    client = Client(port)
    client.request("GET", path)  # warm up
    timings = []
    for _ in range(n):
        t = time.perf_counter()
        status, _ = client.request("GET", path)
        timings.append((time.perf_counter() - t) * 1000)
        assert status == 200, status
    return f"p50 {statistics.median(timings):.1f} ms, p95 {pct(timings, 95):.1f} ms ({n} requests)"


def make_big(engine, doctors: int = 1000, days: int = 90) -> None:
    """1,000 doctors (half with explicit weekday slots) and 3 months of appointments."""
    t = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.role', 'system', true)"))
        conn.execute(text("""
            INSERT INTO users (email, role, full_name, password_hash)
            SELECT 'bigdoc' || g || '@bench.doktu.eu', 'doctor', 'Dr Big ' || g, 'x' FROM generate_series(1, :n) g
            ON CONFLICT DO NOTHING"""), {"n": doctors})
        conn.execute(text("""
            INSERT INTO doctors (user_id, display_name, specialty)
            SELECT id, full_name, 'General practice' FROM users WHERE email LIKE 'bigdoc%'
            ON CONFLICT DO NOTHING"""))
        conn.execute(text("""
            INSERT INTO users (email, role, full_name, password_hash)
            VALUES ('bigpatient@bench.doktu.eu', 'patient', 'Big Patient', 'x') ON CONFLICT DO NOTHING"""))
        conn.execute(text("""INSERT INTO patients (user_id) SELECT id FROM users
                              WHERE email = 'bigpatient@bench.doktu.eu' ON CONFLICT DO NOTHING"""))
        conn.execute(text("ALTER TABLE appointments DISABLE TRIGGER appointments_no_overlap"))
        conn.execute(text("""
            INSERT INTO appointments (doctor_id, patient_id, start_at, end_at, status)
            SELECT d.id, p.id, s, s + interval '30 minutes', 'confirmed'
              FROM doctors d CROSS JOIN (SELECT id FROM patients LIMIT 1) p
              CROSS JOIN generate_series(date_trunc('day', now()) - interval '45 days' + interval '9 hours',
                                         date_trunc('day', now()) + interval '45 days', interval '1 day') day0
              CROSS JOIN LATERAL (SELECT day0 + h * interval '1 hour' AS s FROM generate_series(0, 5) h) x
             WHERE d.display_name LIKE 'Dr Big %'"""))
        conn.execute(text("ALTER TABLE appointments ENABLE TRIGGER appointments_no_overlap"))
        conn.execute(text("""
            INSERT INTO slots (doctor_id, start_at, end_at, source)
            SELECT d.id, s, s + interval '30 minutes', 'seed'
              FROM doctors d
              CROSS JOIN generate_series(date_trunc('day', now()) + interval '8 hours',
                                         date_trunc('day', now()) + interval '60 days', interval '30 minutes') s
             WHERE d.display_name LIKE 'Dr Big %' AND d.number % 2 = 0
               AND extract(isodow FROM s) < 6 AND extract(hour FROM s) BETWEEN 8 AND 11
            ON CONFLICT DO NOTHING"""))
        conn.execute(text("ANALYZE"))
        counts = conn.execute(text("SELECT (SELECT count(*) FROM doctors), (SELECT count(*) FROM appointments),"
                                   " (SELECT count(*) FROM slots)")).one()
    print(f"big data: {counts[0]} doctors, {counts[1]} appointments, {counts[2]} slots "
          f"(built in {time.perf_counter() - t:.1f} s)")


def holds_with_python(port, tokens, bodies, clients, seconds) -> None:
    outcomes = {"held": 0, "refused": 0, "other": 0}
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def worker(i: int) -> None:
        clients_by_token: dict[str, Client] = {}
        n = i
        while time.perf_counter() < stop_at:
            token, body = tokens[n % len(bodies)], bodies[n % len(bodies)]
            client = clients_by_token.setdefault(token, Client(port, token))
            status, _ = client.request("POST", "/api/slots/hold", json.loads(body))
            key = "held" if status == 201 else "refused" if status in (409, 422) else "other"
            with lock:
                outcomes[key] += 1
            n += clients

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    elapsed = time.perf_counter() - t
    print(f"holds (python client, {clients} threads: install wrk for fair figures): "
          f"{outcomes['held'] / elapsed:,.0f} successful holds/s, {outcomes['refused'] / elapsed:,.0f} refused/s, "
          f"{outcomes['other']} other, over {elapsed:.1f} s")


def hold_plan(port: int, doctor_ids: list[str], holders: list[str], per_doctor: int) -> tuple[list[str], list[str]]:
    """The requests of the holds run: (token, body) pairs in order, every one a patient holding a
    free start nobody else is after. The starts are the ones each doctor *offers* (so each is free
    and they are 45 minutes apart: two holds never block each other); each start belongs to one
    patient, and each patient holds `per_doctor` >= 2 starts of a doctor in turn — a new hold with
    a doctor gives the patient's previous one back (SPEC §3), so when the cycle comes round again a
    start is free, not already the patient's (a renewal would flatter the figure)."""
    tz = ZoneInfo("Europe/Paris")
    day0 = (datetime.now(tz) + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    offered: list[list[str]] = []
    for doctor in doctor_ids:
        _, body = Client(port).request("GET", f"/api/doctors/{doctor}/unified-availability?" + urlencode(
            {"from": day0.isoformat(), "to": (day0 + timedelta(days=7)).isoformat()}))
        offered.append([s["start"] for s in body["slots"] if s["isAvailable"]])
    owners = len(holders) // len(doctor_ids)  # patients per doctor
    tokens, bodies = [], []
    for r in range(max(len(starts) for starts in offered)):
        for d, (doctor, starts) in enumerate(zip(doctor_ids, offered, strict=True)):
            if r < len(starts) - len(starts) % (owners * per_doctor):  # whole turns only
                tokens.append(holders[d * owners + r % owners])
                bodies.append(json.dumps({"doctorId": doctor, "start": starts[r]}))
    return tokens, bodies


def report_double_holds(engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.role', 'system', true)"))
        doubles = conn.execute(text("""
            SELECT count(*) FROM slots a JOIN slots b ON a.doctor_id = b.doctor_id AND a.id < b.id
             WHERE a.locked_until > now() AND b.locked_until > now() AND a.locked_by <> b.locked_by
               AND abs(extract(epoch FROM a.start_at - b.start_at)) < 45 * 60""")).scalar()
    print(f"holds: {doubles} pairs of live holds by different patients within 45 min of each other")


def race(port, tokens, doctor_id, after) -> None:
    """50 patients at once for the first start the doctor offers after `after` (an offered one:
    on a day with explicit slots the template's times are not bookable)."""
    _, offered = Client(port).request("GET", f"/api/doctors/{doctor_id}/unified-availability?"
                                      + urlencode({"from": after.isoformat(), "to": (after + timedelta(days=7))
                                                   .isoformat()}))
    race_start = next(datetime.fromisoformat(s["start"]) for s in offered["slots"] if s["isAvailable"])
    barrier = threading.Barrier(50)
    race: list[int] = []

    def racer(i: int) -> None:
        client = Client(port, tokens[i])
        barrier.wait()
        status, _ = client.request("POST", "/api/slots/hold",
                                   {"doctorId": doctor_id, "start": race_start.isoformat()})
        race.append(status)

    threads = [threading.Thread(target=racer, args=(i,)) for i in range(50)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    print(f"race: 50 clients for one slot -> {race.count(201)} held, {race.count(409)} got 409, "
          f"{len(race) - race.count(201) - race.count(409)} other")


def sql_statements(db_url: str, call, doctor_ids: list[uuid.UUID]) -> tuple[int, int]:
    """Statements one service call sends (RLS context included), counted on a fresh engine."""
    from core import db as core_db
    from core import runtime
    from core.cache import connect_redis
    from core.config import Settings

    rt = runtime.bootstrap(Settings(env="test", database_url=db_url),
                           redis_client=connect_redis(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/12")))
    cache = rt.availability
    cache.invalidate(doctor_ids)  # cold: nothing cached for these doctors
    seen: list[str] = []
    event.listen(core_db.current().engine, "before_cursor_execute",
                 lambda _c, _cu, statement, *_: seen.append(statement))
    call()
    first = len(seen)
    seen.clear()
    call()  # the second call: what a warm process sends (the cache answers it)
    core_db.current().engine.dispose()
    return first, len(seen)


def holds(base: str, port: int, engine, doctor_ids: list[str], *, pgid, db_cpu, clients: int,
          seconds: int = 8) -> None:
    per_doctor_patients = 4
    cheap = hash_password(PASSWORD, cost=4)  # bench logins only; production hashes at 12
    emails = [f"holder{i}@bench.doktu.eu" for i in range(max(per_doctor_patients * len(doctor_ids), 50))]
    with engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.role', 'system', true)"))
        for email in emails:
            uid = conn.execute(text("""INSERT INTO users (email, role, full_name, password_hash)
                VALUES (:e, 'patient', 'Holder', :h) ON CONFLICT ((lower(email))) DO UPDATE SET full_name = 'Holder'
                RETURNING id"""), {"e": email, "h": cheap}).scalar()
            conn.execute(text("INSERT INTO patients (user_id) VALUES (:u) ON CONFLICT DO NOTHING"), {"u": uid})
    tokens = []
    for email in emails:
        status, body = Client(port).request("POST", "/api/auth/token", {"email": email, "password": PASSWORD})
        assert status == 200, body
        tokens.append(body["access_token"])
    plan_tokens, bodies = hold_plan(port, doctor_ids, tokens, per_doctor=2)
    print(f"holds: {len(bodies)} planned requests over {len(doctor_ids)} doctors' offered starts, "
          f"{per_doctor_patients} patients per doctor, each start one patient's")
    if shutil.which("wrk"):
        # Warm every worker up on the same path first (imports, pools, plans): not counted.
        post_load("warm-up", base, "/api/slots/hold", plan_tokens, bodies, pgid=pgid, db_cpu=db_cpu,
                  connections=clients, seconds=2)
        load = post_load("holds", base, "/api/slots/hold", plan_tokens, bodies, pgid=pgid, db_cpu=db_cpu,
                         connections=clients, seconds=seconds)
        print(f"{load.line()}\n  -> {load.ok_rps:,.0f} successful holds/s (201), "
              f"{load.failed / load.seconds:,.0f} refused/s (409/422)")
    else:
        holds_with_python(port, plan_tokens, bodies, clients, float(seconds))
    report_double_holds(engine)
    base_day = (datetime.now(ZoneInfo("Europe/Paris")) + timedelta(days=1)).replace(hour=10, minute=0, second=0,
                                                                                   microsecond=0)
    race(port, tokens, doctor_ids[0], base_day + timedelta(days=8, hours=2))


def availability_figures(label: str, base: str, doctor_ids: list[str], *, pgid, db_cpu) -> None:
    tz = ZoneInfo("Europe/Paris")
    day0 = (datetime.now(tz) + timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0)
    one = doctor_ids[0]

    def window(days: int, offset: int = 0) -> str:
        start = day0 + timedelta(days=offset)
        return urlencode({"from": start.isoformat(), "to": (start + timedelta(days=days)).isoformat()})

    days = [f"/api/doctors/{one}/unified-availability?{window(1)}"]
    week = [f"/api/doctors/{one}/unified-availability?{window(7)}"]
    for name, paths in (("one doctor-day", days), ("one doctor-week", week)):
        print(get_load(f"{label}, {name}", base, paths, pgid=pgid, db_cpu=db_cpu).line())
    batch = "/api/doctors/next-slots?ids=" + ",".join(doctor_ids[:10])
    p50, p95 = sequential(base, batch)
    print(f"{label}, 10-doctor batch, one at a time: p50 {p50:.1f} ms, p95 {p95:.1f} ms (target p95 <= 30 ms)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--big", action="store_true", help="also 1,000 doctors with 3 months of appointments")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: doktu serve's)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent hold clients")
    parser.add_argument("--db", default="doktu_bench", help="database to create (and drop) for this run")
    parser.add_argument("--code", type=Path, default=None, help="run the application code of this checkout")
    parser.add_argument("--port", type=int, default=None, help="serve on this port (default: a free one)")
    parser.add_argument("--holds-only", action="store_true", help="only the holds figures and the race")
    parser.add_argument("--hold-seconds", type=int, default=8, help="length of the holds run")
    args = parser.parse_args()
    if not args.holds_only:
        bench_engine()
    with seeded_server(args.db, workers=args.workers, code=args.code, port=args.port) as server:
        port = int(server.url.rsplit(":", 1)[1])
        engine = create_engine(server.db_url)
        db_cpu = DatabaseCpu(server.db_url)
        doctor_ids = server.doctor_ids
        try:
            if not args.holds_only:
                availability_figures("seeded", server.url, doctor_ids, pgid=server.pid, db_cpu=db_cpu)
                p50, p95 = sequential(server.url, "/")
                print(f"/ (anonymous), one at a time: p50 {p50:.1f} ms, p95 {p95:.1f} ms (target p95 <= 40 ms)")
                if args.code is None:
                    from core.actor import ANONYMOUS
                    from core.scheduling.availability import doctor_availability, next_free_slots

                    ids = [uuid.UUID(d) for d in doctor_ids[:10]]
                    cold, warm = sql_statements(server.db_url, lambda: doctor_availability(ANONYMOUS, ids[0]), ids[:1])
                    print(f"SQL statements, one doctor's availability: {cold} cold, {warm} warm (from the Redis cache)")
                    cold, warm = sql_statements(server.db_url, lambda: next_free_slots(ANONYMOUS, ids), ids)
                    print(f"SQL statements, 10-doctor batch: {cold} cold, {warm} warm")
            holds(server.url, port, engine, doctor_ids, pgid=server.pid, db_cpu=db_cpu, clients=args.clients,
                  seconds=args.hold_seconds)
            if args.big and not args.holds_only:
                make_big(engine)
                with engine.connect() as conn:
                    big_ids = [str(r[0]) for r in conn.execute(text(
                        "SELECT id FROM doctors WHERE display_name LIKE 'Dr Big %' ORDER BY number LIMIT 10"))]
                availability_figures("1,000 doctors", server.url, big_ids, pgid=server.pid, db_cpu=db_cpu)
        finally:
            engine.dispose()
            db_cpu.engine.dispose()
        for count, exc in server.errors()[:5]:
            print(f"server error x{count}: {exc}")
    print(f"(measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}; server {server.mode}, {server.workers} workers)")


if __name__ == "__main__":
    main()
