"""The consultation room, measured (SPEC §16, issue 14):

1. Join → first remote frame: a doctor waits in the room; the patient presses Join; the time until
   the patient's page has decoded the doctor's first video frame (getStats inbound-rtp
   framesDecoded > 0), in two Chromium contexts with fake devices. p50 (and all) of 5 runs.
2. Signalling under 20 concurrent rooms: 40 signed-in participants (20 patients, 20 doctors) poll
   GET /api/visits/<id>/signals every 0.5 s (the page's rate while connecting, the busiest) and
   send a message every 2 s, for 20 s: requests/s, p50/p95 latency, server CPU % (gunicorn's
   processes, of one core), and worker occupancy (busy request-seconds ÷ worker-thread-seconds).

    .venv/bin/python bench/visit.py [--runs 5] [--rooms 20] [--seconds 20]

Starts its own seeded Doktu (bench/_server.py) and adds 25 doctors and 25 patients of its own,
each with a consultation starting a minute from now and a passed device test. Prints figures,
asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import psutil
from _server import seeded_server
from playwright.sync_api import sync_playwright
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from core.accounts.passwords import hash_password

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--use-fake-device-for-media-stream",
         "--use-fake-ui-for-media-stream", "--allow-loopback-in-peer-connection"]
PASSWORD = "Bench-Visit-2026-Lanterns!"
PEOPLE = 25


def make_visits(db_url: str, n: int) -> list[tuple[str, str, str]]:
    """n consultations starting in a minute: (appointment id, patient email, doctor email)."""
    engine = create_engine(db_url)
    hashed = hash_password(PASSWORD, cost=4)
    tag = uuid.uuid4().hex[:6]
    out = []
    with engine.begin() as conn:
        for i in range(n):
            pe, de = f"bench-p{i}-{tag}@bench.doktu.eu", f"bench-d{i}-{tag}@bench.doktu.eu"
            pu = conn.execute(text("INSERT INTO users (email, role, full_name, password_hash) VALUES "
                                   "(:e, 'patient', :n, :h) RETURNING id"), {"e": pe, "n": f"Bench Patient {i}",
                                                                              "h": hashed}).scalar()
            du = conn.execute(text("INSERT INTO users (email, role, full_name, password_hash) VALUES "
                                   "(:e, 'doctor', :n, :h) RETURNING id"), {"e": de, "n": f"Dr Bench {i}",
                                                                             "h": hashed}).scalar()
            pid = conn.execute(text("INSERT INTO patients (user_id, date_of_birth, gender, onboarded_at) VALUES "
                                    "(:u, '1990-01-01', 'female', now()) RETURNING id"), {"u": pu}).scalar()
            did = conn.execute(text("INSERT INTO doctors (user_id, display_name, specialty) VALUES "
                                    "(:u, :n, 'General practice') RETURNING id"), {"u": du, "n": f"Dr Bench {i}"}).scalar()
            aid = conn.execute(text("INSERT INTO appointments (doctor_id, patient_id, start_at, end_at, status) VALUES "
                                    "(:d, :p, now() + interval '1 minute', now() + interval '31 minutes', 'confirmed') "
                                    "RETURNING id"), {"d": did, "p": pid}).scalar()
            conn.execute(text("INSERT INTO video_tests (appointment_id, user_id, passed, outcome) VALUES "
                              "(:a, :p, true, 'passed'), (:a, :d, true, 'passed')"), {"a": aid, "p": pu, "d": du})
            out.append((str(aid), pe, de))
    engine.dispose()
    return out


def sign_in_page(page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    page.wait_for_load_state()


JOIN_AND_TIME = """async () => {
  const t0 = performance.now();
  document.querySelector('[data-room-join]').click();
  while (true) {
    const s = await window.doktuVisit.stats();
    if (s.framesDecoded > 0) { return performance.now() - t0; }
    if (performance.now() - t0 > 30000) { return null; }
    await new Promise((r) => setTimeout(r, 20));
  }
}"""


def join_to_frame(base: str, visits: list[tuple[str, str, str]]) -> list[float]:
    times = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        for appointment, patient_email, doctor_email in visits:
            contexts = [browser.new_context(base_url=base, permissions=["camera", "microphone"]) for _ in range(2)]
            patient, doctor = (c.new_page() for c in contexts)
            sign_in_page(doctor, doctor_email)
            sign_in_page(patient, patient_email)
            doctor.goto(f"/visit/{appointment}")
            doctor.get_by_role("button", name="Join the consultation").click()
            doctor.locator("[data-room-status]").filter(has_text="Waiting for").wait_for()
            patient.goto(f"/visit/{appointment}")
            patient.get_by_role("button", name="Join the consultation").wait_for()
            ms = patient.evaluate(JOIN_AND_TIME)
            times.append(ms)
            print(f"  run {len(times)}: Join → first remote frame {ms:.0f} ms" if ms else "  run: no frame in 30 s")
            for c in contexts:
                c.close()
        browser.close()
    return [t for t in times if t is not None]


def session(base: str, email: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=10, follow_redirects=True)
    page = client.get("/login").text
    token = page.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
    client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    meta = client.get("/devices").text.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    client.headers["X-CSRFToken"] = meta
    return client


def server_processes(port: int) -> list[psutil.Process]:
    for p in psutil.process_iter(["cmdline"]):
        cmd = " ".join(p.info["cmdline"] or [])
        if "serve" in cmd and f"--port {port}" in cmd:
            return [p, *p.children(recursive=True)]
    return []


def cpu_seconds(procs: list[psutil.Process]) -> float:
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def load(base: str, visits: list[tuple[str, str, str]], seconds: float, threads_per_worker: int,
         workers: int) -> None:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    clients = []
    for appointment, pe, de in visits:
        for email in (pe, de):
            c = session(base, email)
            tab = uuid.uuid4().hex[:16]
            c.post(f"/api/visits/{appointment}/join", json={"tab": tab}).raise_for_status()
            clients.append((c, appointment, tab))
    port = int(base.rsplit(":", 1)[1])
    procs = server_processes(port)
    started_cpu, started = cpu_seconds(procs), time.monotonic()
    stop = started + seconds
    me = psutil.Process()
    my_cpu = sum(me.cpu_times()[:2])

    def participant(c: httpx.Client, appointment: str, tab: str) -> None:
        cursor, n = 0, 0
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            r = c.get(f"/api/visits/{appointment}/signals", params={"tab": tab, "cursor": cursor})
            took = time.perf_counter() - t0
            ok = r.status_code == 200
            if ok:
                cursor = r.json()["cursor"]
            n += 1
            if n % 4 == 0:
                t1 = time.perf_counter()
                s = c.post(f"/api/visits/{appointment}/signals",
                           json={"tab": tab, "kind": "candidate", "payload": {"candidate": "x" * 200}})
                with lock:
                    latencies.append(time.perf_counter() - t1)
                    errors[0] += s.status_code not in (201, 429)
            with lock:
                latencies.append(took)
                errors[0] += not ok
            time.sleep(max(0.0, 0.5 - took))

    threads = [threading.Thread(target=participant, args=c) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - started
    cpu = cpu_seconds(procs) - started_cpu
    client_cpu = sum(me.cpu_times()[:2]) - my_cpu
    lat = sorted(latencies)
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000  # noqa: E731
    slots = workers * threads_per_worker
    print(f"  {len(visits)} rooms, {len(clients)} participants, {wall:.1f} s: {len(lat) / wall:.0f} requests/s, "
          f"p50 {p(0.5):.1f} ms, p95 {p(0.95):.1f} ms, max {lat[-1] * 1000:.0f} ms, errors {errors[0]}")
    print(f"  server CPU {100 * cpu / wall:.0f} % of one core ({len(procs)} processes, {psutil.cpu_count()} cores); "
          f"worker occupancy ≤ {100 * sum(lat) / (wall * slots):.1f} % of {workers} workers × {threads_per_worker} "
          f"threads (client-side latency, queueing included)")
    print(f"  load generator CPU {100 * client_cpu / wall:.0f} % of one core; machine load average "
          f"{' / '.join(f'{x:.1f}' for x in psutil.getloadavg())} (other jobs share these cores)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rooms", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    with seeded_server("doktu_bench_visit", modes=("development",)) as server:
        visits = make_visits(server.db_url, max(PEOPLE, args.rooms + args.runs))
        print(f"Join → first remote frame ({args.runs} runs, two Chromium contexts, fake devices):")
        times = join_to_frame(server.url, visits[:args.runs])
        if times:
            print(f"  p50 {statistics.median(times):.0f} ms (min {min(times):.0f}, max {max(times):.0f})")
        print(f"Signalling, {args.rooms} concurrent rooms polling every 0.5 s:")
        load(server.url, visits[args.runs:args.runs + args.rooms], args.seconds, 4, server.workers or 1)
        for n, exc in server.errors():
            print(f"  server error ×{n}: {exc}")


if __name__ == "__main__":
    main()
