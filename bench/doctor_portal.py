"""Doctor portal benchmark (issue 8, SPEC §4 and §9). Prints figures; asserts nothing.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/13 \
        .venv/bin/python bench/doctor_portal.py [--runs 200] [--db-name doktu_bench_doctor]

Starts its own seeded Doktu (bench/_server.py: `doktu serve`, DOKTU_ENV=production with
SESSION_COOKIE_SECURE=0 as there is no TLS here, a database of its own, dropped afterwards), signs in as doctor1 and books next week solid for them: a consultation
every 45 minutes round the clock (the closest the ±45 min buffer allows, so every one of the week's
336 cells is booked), except Sunday 10:00–14:00, left free for the toggles. Then:

a) Week view render: the `refresh` callback for that week after a move (the whole grid as data:
   336 entries, each with its ARIA label and the patient's name), as the browser sends it;
b) the 30-second refresh of that week when nothing changed (digests compared, nothing sent back
   but the unread badge);
c) toggle: the `press_cell` callback turning a free Sunday cell off and on (the slot written and
   the cell read back in one transaction; a Patch of one entry goes back); and the floor: a
   callback that does no database work, through the same request path;
d) the same render in-process without HTTP or database (cells + data + JSON), to separate
   Python from PostgreSQL;
e) first load of /doctor/ in Chromium: bytes transferred (CDP encodedDataLength, cold cache, headers
   included) per request, compressed.

Server times are measured by the client on one keep-alive connection to 127.0.0.1 (so they include
about 0.3 ms of HTTP), after 20 warm-up requests; p50/p95 by nearest rank.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
import urllib.parse
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from playwright.sync_api import sync_playwright
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _server import seeded_server  # noqa: E402
from dash._utils import to_json  # noqa: E402

from core.accounts.passwords import hash_password  # noqa: E402
from core.scheduling.doctor_calendar import BookedRow, CalendarView, day_cells  # noqa: E402
from portals.doctor import calendar_view as cv  # noqa: E402

DOCTOR = "doctor1@demo.doktu.eu"
PASSWORD = "Bench-doctor-portal-1!"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
ZONE = "Europe/Paris"  # doctor1's zone in the seed (checked in main)
TOGGLE_TARGET_MS = 150  # issue 8: a click updates in <= 150 ms on the server side
FREE_FROM, FREE_TO = 10, 14  # Sunday hours left free for the toggles


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def summary(values: list[float]) -> str:
    return f"p50 {statistics.median(values):.1f} ms, p95 {pct(values, 95):.1f} ms, max {max(values):.1f} ms"


def section(title: str) -> None:
    print(f"\n== {title}", flush=True)


# --- data ----------------------------------------------------------------------------------------

def book_next_week(db_url: str) -> tuple[str, str, date, int]:
    """doctor1's password set to PASSWORD; next week booked solid (Sunday 10–14 free)."""
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE users SET password_hash = :h WHERE email = :e"),
                     {"h": hash_password(PASSWORD, cost=4), "e": DOCTOR})
        doctor = conn.execute(text("""SELECT d.id, d.timezone FROM doctors d JOIN users u ON u.id = d.user_id
                                      WHERE u.email = :e"""), {"e": DOCTOR}).one()
        tz = ZoneInfo(doctor.timezone)
        patients = []
        for i in range(20):
            user = conn.execute(text("""INSERT INTO users (email, role, full_name, password_hash)
                VALUES (:e, 'patient', :n, 'x') RETURNING id"""),
                {"e": f"bench-{i}-{uuid.uuid4().hex[:6]}@bench.doktu.eu", "n": f"Bench Patient {i:02d}"}).scalar()
            patients.append(conn.execute(text("INSERT INTO patients (user_id) VALUES (:u) RETURNING id"),
                                         {"u": user}).scalar())
        today = datetime.now(tz).date()
        monday = today - timedelta(days=today.weekday()) + timedelta(days=7)
        start = datetime.combine(monday, datetime.min.time(), tz)
        end = datetime.combine(monday + timedelta(days=7), datetime.min.time(), tz)
        sunday = monday + timedelta(days=6)
        free_from = datetime.combine(sunday, datetime.min.time(), tz).replace(hour=FREE_FROM)
        free_to = free_from.replace(hour=FREE_TO)
        rows, moment = [], start
        while moment < end:
            if not (moment + timedelta(minutes=30) > free_from and moment < free_to):
                rows.append({"d": doctor.id, "p": patients[len(rows) % len(patients)], "s": moment,
                             "e": moment + timedelta(minutes=30)})
            moment += timedelta(minutes=45)
        conn.execute(text("""INSERT INTO appointments (doctor_id, patient_id, start_at, end_at, status)
                             VALUES (:d, :p, :s, :e, 'confirmed')"""), rows)
    engine.dispose()
    return str(doctor.id), doctor.timezone, monday, len(rows)


# --- HTTP ----------------------------------------------------------------------------------------

def sign_in(base: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30, headers={"Accept-Encoding": "gzip, br"})
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or \
        re.search(r'name="csrf_token" value="([^"]+)"', page)
    answer = client.post("/login", data={"email": DOCTOR, "password": PASSWORD, "csrf_token": token.group(1)})
    assert answer.status_code in (200, 302), answer.status_code
    assert client.get("/doctor/").status_code == 200
    client.headers["X-CSRFToken"] = client.cookies.get("_csrf_token", path="/doctor/")
    return client


def callback_body(dependencies: list[dict], input_id: str, output: str, inputs: dict, state: dict) -> dict:
    """The request dash-renderer sends for the callback fed by `input_id` that writes `output`."""
    dep = next(d for d in dependencies
               if any(i["id"] == input_id for i in d["inputs"]) and f"..{output}" in f"..{d['output']}")
    outputs = [{"id": o.split(".")[0], "property": o.split(".", 1)[1]} for o in dep["output"].strip(".").split("...")]
    changed = next(i["property"] for i in dep["inputs"] if i["id"] == input_id)
    return {"output": dep["output"], "outputs": outputs,
            "inputs": [{"id": i["id"], "property": i["property"], "value": inputs.get(i["id"])} for i in dep["inputs"]],
            "state": [{"id": s["id"], "property": s["property"], "value": state.get(s["id"])} for s in dep["state"]],
            "changedPropIds": [f"{input_id}.{changed}"]}


def timed_post(client: httpx.Client, body: dict) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = client.post("/doctor/_dash-update-component", json=body)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code in (200, 204), response.text[:500]
    return elapsed, response


def week_render(client: httpx.Client, dependencies: list[dict], monday: date, runs: int) -> tuple[str, list]:
    nav = {"view": "week", "anchor": monday.isoformat()}
    body = callback_body(dependencies, cv.NAV, f"{cv.CELLS}.data", {cv.NAV: nav}, {cv.PAGE: {"zone": ZONE}})
    timings, sizes, wire = [], [], []
    for i in range(runs + 20):
        elapsed, response = timed_post(client, body)
        if i >= 20:
            timings.append(elapsed)
            sizes.append(len(response.content))
            wire.append(response.num_bytes_downloaded)
    data = response.json()["response"]
    key, sigs = data[cv.PAGE]["data"]["key"], data[cv.DIGESTS]["data"]
    booked = sum(1 for _ in re.finditer(r"booked by Bench Patient", response.text))
    print(f"week render (full grid, {len(sigs)} cells, {booked} booked): {summary(timings)} over {runs} runs; "
          f"response {statistics.median(sizes) / 1024:.0f} KB JSON, {statistics.median(wire) / 1024:.1f} KB "
          f"on the wire ({response.headers.get('content-encoding', 'identity')})")
    return key, sigs


def refresh_unchanged(client: httpx.Client, dependencies: list[dict], monday: date, key: str, sigs: list,
                      runs: int) -> None:
    nav = {"view": "week", "anchor": monday.isoformat()}
    body = callback_body(dependencies, "doctor-refresh", f"{cv.CELLS}.data",
                         {cv.NAV: nav, "doctor-refresh": 1}, {cv.PAGE: {"zone": ZONE, "key": key}, cv.DIGESTS: sigs})
    timings, wire = [], []
    for i in range(runs + 20):
        elapsed, response = timed_post(client, body)
        if i >= 20:
            timings.append(elapsed)
            wire.append(response.num_bytes_downloaded)
    print(f"30 s refresh, nothing changed: {summary(timings)}; {statistics.median(wire):.0f} bytes back "
          f"(HTTP {response.status_code}: no calendar update; the unread badge)")


def toggles(client: httpx.Client, dependencies: list[dict], monday: date, tz: ZoneInfo, key: str, runs: int) -> None:
    sunday = monday + timedelta(days=6)
    cells = [datetime.combine(sunday, datetime.min.time(), tz).replace(hour=FREE_FROM) + timedelta(minutes=30 * i)
             for i in range((FREE_TO - FREE_FROM) * 2)]
    state = {c: "available" for c in cells}
    timings, wire, refused = [], [], 0
    for i in range(runs + 20):
        start = cells[i % len(cells)]
        row = (start.astimezone(tz).hour * 60 + start.astimezone(tz).minute) // 30
        press = {"start": start.isoformat(), "state": state[start], "rc": f"{row},6", "key": key, "n": i}
        body = callback_body(dependencies, cv.PRESS, f"{cv.DIGESTS}.data", {cv.PRESS: press},
                             {cv.PAGE: {"zone": ZONE, "key": key}})
        elapsed, response = timed_post(client, body)
        operations = response.json()["response"][cv.CELLS]["data"]["operations"]
        new_state = operations[0]["params"]["value"].get("state") if operations else None
        if new_state in ("available", "unavailable"):
            refused += new_state == state[start]
            state[start] = new_state
        if i >= 20:
            timings.append(elapsed)
            wire.append(response.num_bytes_downloaded)
    print(f"toggle (press → slot written and read back, one transaction → one entry patched): {summary(timings)} over {runs} presses "
          f"(target p95 <= {TOGGLE_TARGET_MS} ms: {'meets' if pct(timings, 95) <= TOGGLE_TARGET_MS else 'MISSES'}); "
          f"{statistics.median(wire):.0f} bytes back; {refused} refused")


def baseline(client: httpx.Client, dependencies: list[dict], runs: int) -> None:
    """The floor: a callback that touches no database ("View schedule"), through the same request
    path (session, role guard, CSRF, Dash dispatch)."""
    body = callback_body(dependencies, "doctor-schedule-toggle", "doctor-schedule.hidden",
                         {"doctor-schedule-toggle": 1}, {})
    timings = []
    for i in range(runs + 20):
        elapsed, _ = timed_post(client, body)
        if i >= 20:
            timings.append(elapsed)
    print(f"floor (a callback without database work, same request path): {summary(timings)}")


def in_process_render(monday: date, tz: ZoneInfo, runs: int) -> None:
    days = [monday + timedelta(days=i) for i in range(7)]
    start = datetime.combine(monday, datetime.min.time(), tz)
    booked, moment = [], start
    while moment < start + timedelta(days=7):
        booked.append(BookedRow(uuid.uuid4(), moment, moment + timedelta(minutes=30), "confirmed", "Bench Patient"))
        moment += timedelta(minutes=45)
    now = start - timedelta(days=1)
    timings = []
    for _ in range(runs):
        t = time.perf_counter()
        view = CalendarView(tz.key, True, now, [day_cells(tz, d, slots=[], booked=booked, busy=[], now=now)
                                               for d in days])
        grid = cv.Grid("week", view, "k", now.date())
        to_json([grid.data(), grid.digests()])
        timings.append((time.perf_counter() - t) * 1000)
    print(f"week render in-process (cells + data + digests + JSON, no HTTP, no database): {summary(timings)}")


# --- first load ----------------------------------------------------------------------------------

def first_load(base: str) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        page.goto(base + "/login?next=/doctor/")
        page.get_by_label("Email").fill(DOCTOR)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in", exact=True).click()
        page.wait_for_url(re.compile(r"/doctor/$"))
        page.goto(base + "/")  # leave the portal, then come back cold
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        requests: dict[str, dict] = {}
        cdp.on("Network.requestWillBeSent", lambda e: requests.setdefault(e["requestId"], {}).update(
            url=e["request"]["url"]))
        cdp.on("Network.responseReceived", lambda e: requests.setdefault(e["requestId"], {}).update(
            encoding={k.lower(): v for k, v in e["response"]["headers"].items()}.get("content-encoding", "-")))
        cdp.on("Network.loadingFinished", lambda e: requests.setdefault(e["requestId"], {}).update(
            bytes=e["encodedDataLength"]))
        started = time.perf_counter()
        page.goto(base + "/doctor/", wait_until="networkidle")
        page.locator("#doctor-cal-table").wait_for()
        ready = (time.perf_counter() - started) * 1000
        page.wait_for_timeout(300)
        browser.close()
    network = [r for r in requests.values() if r.get("url", "").startswith("http")]
    total = sum(r.get("bytes", 0) for r in network)
    print(f"/doctor/ first load: {total / 1024:.1f} KB transferred in {len(network)} requests (cold cache, "
          f"headers included, no throttling); calendar on screen after {ready:.0f} ms")
    for r in sorted(network, key=lambda r: -r.get("bytes", 0))[:12]:
        path = urllib.parse.urlsplit(r["url"]).path
        print(f"   {r.get('bytes', 0) / 1024:7.1f} KB  enc={r.get('encoding', '-'):<5} {path[:100]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--db-name", default="doktu_bench_doctor")
    args = parser.parse_args()
    # Production settings, but the session cookie over plain http to 127.0.0.1 (no TLS here).
    os.environ["SESSION_COOKIE_SECURE"] = "0"
    with seeded_server(args.db_name) as server:
        _doctor_id, zone, monday, count = book_next_week(server.db_url)
        tz = ZoneInfo(zone)
        assert zone == ZONE, zone
        print(f"doctor1 ({zone}): {count} confirmed consultations in the week of {monday} "
              f"(every 45 minutes round the clock; Sunday {FREE_FROM}:00–{FREE_TO}:00 free)")
        client = sign_in(server.url)
        dependencies = client.get("/doctor/_dash-dependencies").json()
        section("server time of the callbacks")
        key, sigs = week_render(client, dependencies, monday, args.runs // 2)
        refresh_unchanged(client, dependencies, monday, key, sigs, args.runs // 2)
        toggles(client, dependencies, monday, tz, key, args.runs)
        baseline(client, dependencies, args.runs // 2)
        in_process_render(monday, tz, 50)
        section("page weight")
        first_load(server.url)
        errors = server.errors()
        if errors:
            print("\nserver errors:", "; ".join(f"{n}× {e}" for n, e in errors))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
