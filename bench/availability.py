"""Availability and holds benchmark (issue: scheduling). Prints figures; asserts nothing.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/12 \
        .venv/bin/python bench/availability.py [--big]

Builds a database `doktu_bench` (migrations + demo seed), then measures:
1. the pure engine, per doctor-week;
2. the API under `doktu serve` (gunicorn): one doctor's 7 days and the 10-doctor batch, p50/p95,
   and the SQL statements the batch issues; with --big, again on 1,000 doctors with 3 months of
   appointments;
3. holds per second with 16 concurrent clients, and 50 clients racing for one slot.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.accounts.passwords import hash_password  # noqa: E402
from core.config import sqlalchemy_url  # noqa: E402
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


def sql_count_for_batch(db_url: str, doctor_ids: list[str]) -> int:
    from core import db as core_db
    from core import runtime
    from core.actor import ANONYMOUS
    from core.config import Settings
    from core.scheduling.availability import next_free_slots

    runtime.bootstrap(Settings(env="test", database_url=db_url))
    seen: list[str] = []
    event.listen(core_db.current().engine, "before_cursor_execute",
                 lambda _c, _cu, statement, *_: seen.append(statement))
    next_free_slots(ANONYMOUS, [uuid.UUID(d) for d in doctor_ids])
    return len([s for s in seen if "set_config" not in s])


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


def bench_holds(port: int, engine, doctor_ids: list[str], clients: int = 16, seconds: float = 8.0) -> None:
    cheap = hash_password(PASSWORD, cost=4)  # bench logins only; production hashes at 12
    emails = [f"holder{i}@bench.doktu.eu" for i in range(max(clients, 50))]
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

    tz = ZoneInfo("Europe/Paris")
    base = (datetime.now(tz) + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    starts = [base + timedelta(days=d, minutes=15 * k) for d in range(7) for k in range(43)]
    if shutil.which("wrk"):
        holds_with_wrk(port, tokens[:clients], doctor_ids, starts, clients, seconds)
    else:
        holds_with_python(port, tokens, doctor_ids, starts, clients, seconds)
    report_double_holds(engine)
    race(port, tokens, doctor_ids[0], base + timedelta(days=8, hours=2))


WRK_SCRIPT = """
local tokens, bodies, n = {tokens}, {bodies}, 0
request = function()
  n = n + 1
  return wrk.format("POST", "/api/slots/hold",
    {{["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. tokens[n % #tokens + 1]}},
    bodies[(n * 7) % #bodies + 1])
end
"""


def holds_with_wrk(port, tokens, doctor_ids, starts, clients, seconds) -> None:
    """wrk (C) drives the load, so the client does not eat the server's two cores."""
    bodies = [json.dumps({"doctorId": d, "start": s.isoformat()}) for d in doctor_ids for s in starts[::3]]
    lua = WRK_SCRIPT.format(tokens="{" + ",".join(json.dumps(t) for t in tokens) + "}",
                            bodies="{" + ",".join(json.dumps(b) for b in bodies) + "}")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(lua)
    out = subprocess.run(["wrk", "-t2", f"-c{clients}", f"-d{int(seconds)}s", "-s", f.name, "--latency",
                          f"http://127.0.0.1:{port}"], capture_output=True, text=True, check=True).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)
    p50 = re.search(r"50%\s+(\S+)", out).group(1)
    p99 = re.search(r"99%\s+(\S+)", out).group(1)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    print(f"holds (wrk, {clients} connections, {int(seconds)} s): {float(rps):.0f} requests/s, p50 {p50}, "
          f"p99 {p99}; {non2xx.group(1) if non2xx else 0} answered 409/422 (slot taken or too soon)")


def holds_with_python(port, tokens, doctor_ids, starts, clients, seconds) -> None:
    outcomes = {"held": 0, "conflict": 0, "other": 0}
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def worker(i: int) -> None:
        client = Client(port, tokens[i])
        n = 0
        while time.perf_counter() < stop_at:
            doctor = doctor_ids[(i + n) % len(doctor_ids)]
            start = starts[(i * 7 + n * 3) % len(starts)]
            status, _ = client.request("POST", "/api/slots/hold", {"doctorId": doctor, "start": start.isoformat()})
            key = "held" if status == 201 else "conflict" if status in (409, 422) else "other"
            with lock:
                outcomes[key] += 1
            n += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    elapsed = time.perf_counter() - t
    total = sum(outcomes.values())
    print(f"holds (python client): {total / elapsed:.0f} requests/s with {clients} clients over {elapsed:.1f} s "
          f"({outcomes['held']} held, {outcomes['conflict']} refused, {outcomes['other']} other)")


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--big", action="store_true", help="also 1,000 doctors with 3 months of appointments")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: doktu serve's)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent hold clients")
    args = parser.parse_args()
    server = sqlalchemy_url(os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/12")
    db_url = make_url(server).set(database="doktu_bench").render_as_string(hide_password=False)
    admin = create_engine(make_url(server).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text('DROP DATABASE IF EXISTS "doktu_bench" WITH (FORCE)'))
        conn.execute(text('CREATE DATABASE "doktu_bench"'))

    bench_engine()

    doktu = str(Path(sys.executable).with_name("doktu"))
    env = {**os.environ, "DATABASE_URL": db_url, "REDIS_URL": redis_url, "DOKTU_ENV": "development",
           "SECRET_KEY": "bench-secret-key-that-is-long-enough-0123456789", "LOG_LEVEL": "WARNING",
           "RATE_LIMITS": "0"}  # throughput, not abuse protection, is measured here
    subprocess.run([doktu, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run([doktu, "db", "seed"], env=env, check=True, capture_output=True)
    engine = create_engine(db_url)
    with engine.connect() as conn:
        doctor_ids = [str(r[0]) for r in conn.execute(text("SELECT id FROM doctors ORDER BY number"))]
    port = free_port()
    workers = ["--workers", str(args.workers)] if args.workers else []
    proc = subprocess.Popen([doktu, "serve", "--port", str(port), *workers], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                Client(port).request("GET", "/healthz")
                break
            except OSError:
                time.sleep(0.2)
        one = f"/api/doctors/{doctor_ids[0]}/unified-availability"
        batch = "/api/doctors/next-slots?ids=" + ",".join(doctor_ids[:10])
        print(f"api, seeded data, one doctor 7 days: {latency(port, one)}")
        print(f"api, seeded data, 10-doctor batch:   {latency(port, batch)}")
        print(f"api, 10-doctor batch SQL statements: {sql_count_for_batch(db_url, doctor_ids[:10])} (target <= 3)")
        bench_holds(port, engine, doctor_ids, clients=args.clients)
        if args.big:
            make_big(engine)
            with engine.connect() as conn:
                big_ids = [str(r[0]) for r in conn.execute(text(
                    "SELECT id FROM doctors WHERE display_name LIKE 'Dr Big %' ORDER BY number LIMIT 10"))]
            one = f"/api/doctors/{big_ids[0]}/unified-availability"
            batch = "/api/doctors/next-slots?ids=" + ",".join(big_ids)
            print(f"api, 1,000 doctors, one doctor 7 days: {latency(port, one)}")
            print(f"api, 1,000 doctors, 10-doctor batch:   {latency(port, batch)}")
    finally:
        proc.terminate()
        proc.wait(20)
        engine.dispose()
    print(f"(measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
