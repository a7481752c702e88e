"""The two-minute promise, measured (issue 10): a new patient books and pays in Chromium, and this
prints the pages, clicks and fields it took and the time spent waiting on the server and the
browser (typing excluded: Playwright fills fields instantly, and waiting is timed per action).

`--path now` measures "See a doctor now" instead (SPEC §17, issue 15): a doctor is taking
consultations in the portal; a new patient goes from `/` through the banner, sign-up, health
profile and card payment to the waiting room, runs the device test while queued, and — once the
doctor presses Accept — lands in the room and presses Join; the end is the patient's first decoded
remote video frame. Waiting counts every page load, the hop from the doctor's Accept to the
patient's room page (the waiting room's polling), and Join → first frame; the device test (it runs
while the patient is in the queue) and the doctor's own reaction time are reported apart.

    .venv/bin/python bench/journey.py [--url http://127.0.0.1:5000] [--runs 3] [--path booking|now]

Without --url it starts its own seeded Doktu (bench/_server.py). Targets: ≤ 6 pages, ≤ 12 clicks,
≤ 3 s of waiting in all. Exit code 0 always: a report, not a gate.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
import uuid
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from _server import Server, seeded_server
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from core.accounts.passwords import hash_password

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
PASSWORD = "Quiet-Harbour-47-Lanterns!"


@dataclass
class Tally:
    pages: list[str] = field(default_factory=list)
    clicks: int = 0
    fields: int = 0
    waiting: float = 0.0
    steps: list[tuple[str, float]] = field(default_factory=list)
    profiles: list[tuple[str, float, float]] = field(default_factory=list)  # (step, server ms, browser ms)
    accept: dict[str, float] = field(default_factory=dict)  # the Accept → room hop, split

    def page(self, page: Page) -> None:
        path = page.url.split("://", 1)[-1].split("/", 1)[-1].split("?", 1)[0]
        if not self.pages or self.pages[-1] != path:
            self.pages.append("/" + path)

    def fill(self, page: Page, label: str, value: str, **kwargs) -> None:
        page.get_by_label(label, **kwargs).fill(value)
        self.fields += 1

    def tick(self, page: Page, label) -> None:
        """A checkbox (the terms at sign-up, SPEC §21): one click, no navigation."""
        page.get_by_role("checkbox", name=label).check()
        self.clicks += 1

    def click(self, page: Page, locator, name: str) -> None:
        """One click, and the time until the page it leads to has fired `load` (the waiting we count;
        "networkidle" would add its own 500 ms of quiet to every step)."""
        started = time.perf_counter()
        with page.expect_navigation(wait_until="load"):
            locator.click()
        elapsed = time.perf_counter() - started
        self.clicks += 1
        self.waiting += elapsed
        self.steps.append((name, elapsed))
        self.profile(page, name)
        self.page(page)

    def profile(self, page: Page, name: str) -> None:
        """Where a page's time went (Navigation Timing): the server's answers (redirects included, up to
        the first byte of the final page) and the browser's part (download, parse, scripts, `load`)."""
        timing = page.evaluate(NAVIGATION_TIMING)
        if timing:
            self.profiles.append((name, timing["server"], timing["browser"]))


NAVIGATION_TIMING = """() => {
  const n = performance.getEntriesByType('navigation')[0];
  if (!n || !n.loadEventEnd) { return null; }
  return {server: n.responseStart - n.startTime, browser: n.loadEventEnd - n.responseStart};
}"""


def sign_up_and_pay(tally: Tally, page: Page, name: str, email_prefix: str, signed_up: str, paid: str) -> None:
    """The new patient's common part of both paths: sign-up (terms ticked), health profile, card."""
    tally.fill(page, "Full name", name)
    tally.fill(page, "Email", f"{email_prefix}-{uuid.uuid4().hex[:10]}@bench.doktu.eu")
    tally.fill(page, "Password", PASSWORD, exact=True)
    tally.tick(page, re.compile("I accept the terms of use"))
    tally.click(page, page.get_by_role("button", name="Create account"), signed_up)
    tally.fill(page, "Date of birth", "1988-04-12")
    page.get_by_label("Prefer not to say").check()
    tally.fields += 1
    tally.clicks += 1
    tally.click(page, page.get_by_role("button", name="Save and pay €35 by card"), "save profile, open payment")
    tally.fill(page, "Card number", "4242 4242 4242 4242")
    tally.fill(page, "Expiry date (MM/YY)", "12/34")
    tally.fill(page, "Security code (CVC)", "123")
    tally.click(page, page.get_by_role("button", name="Pay €35"), paid)


def journey(page: Page, base: str, run: int) -> Tally:
    tally = Tally()
    started = time.perf_counter()
    page.goto(base + "/", wait_until="load")
    tally.waiting += time.perf_counter() - started
    tally.steps.append(("open /", time.perf_counter() - started))
    tally.page(page)
    # A home-grid pill: one doctor per run, so no run meets a time an earlier run booked.
    pill = page.locator(".dk-doctor").nth(run % 10).locator(".dk-pill").first
    tally.click(page, pill, "pick a time on the home grid")
    tally.click(page, page.get_by_role("link", name="Create an account"), "create an account")
    sign_up_and_pay(tally, page, "Journey Patient", "journey", "sign up (time held, checkout)", "pay")
    if page.get_by_role("heading", name="Your consultation is booked").count() != 1:
        raise RuntimeError(f"the journey did not end booked: {page.url}: {page.locator('h1').inner_text()}")
    return tally


MEDIA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream", "--allow-loopback-in-peer-connection"]
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


def bench_doctors(db_url: str, n: int) -> list[str]:
    """n doctors of the bench's own, free now, with a passed device test (emails). Not measured."""
    engine = create_engine(db_url)
    hashed, tag, emails = hash_password(PASSWORD, cost=4), uuid.uuid4().hex[:6], []
    with engine.begin() as conn:
        for i in range(n):
            email = f"bench-now-{i}-{tag}@bench.doktu.eu"
            uid = conn.execute(text("INSERT INTO users (email, role, full_name, password_hash) VALUES "
                                    "(:e, 'doctor', :n, :h) RETURNING id"), {"e": email, "n": f"Dr Now {i}",
                                                                              "h": hashed}).scalar()
            conn.execute(text("INSERT INTO doctors (user_id, display_name, specialty) VALUES (:u, :n, 'General practice')"),
                         {"u": uid, "n": f"Dr Now {i}"})
            conn.execute(text("INSERT INTO video_tests (user_id, passed, outcome) VALUES (:u, true, 'passed')"),
                         {"u": uid})
            emails.append(email)
    engine.dispose()
    return emails


@dataclass
class NowExtras:
    device_test: float = 0.0  # while queued: not on the path
    doctor_reaction: float = 0.0  # the doctor's side: not the patient's waiting


def now_journey(browser: Browser, base: str, doctor_email: str) -> tuple[Tally, NowExtras]:
    extras = NowExtras()
    d_ctx = browser.new_context(base_url=base, permissions=["camera", "microphone"])
    p_ctx = browser.new_context(base_url=base, permissions=["camera", "microphone"],
                                viewport={"width": 1280, "height": 900})
    doctor, page = d_ctx.new_page(), p_ctx.new_page()
    try:
        doctor.goto("/login?next=/doctor/")
        doctor.get_by_label("Email").fill(doctor_email)
        doctor.get_by_label("Password").fill(PASSWORD)
        doctor.get_by_role("button", name="Log in", exact=True).click()
        doctor.get_by_role("checkbox", name="Taking consultations now").check()
        doctor.locator("#doctor-walkin-next").filter(has_text="Nobody is waiting").wait_for()

        tally = Tally()
        started = time.perf_counter()
        page.goto(base + "/", wait_until="load")
        tally.waiting += time.perf_counter() - started
        tally.steps.append(("open /", time.perf_counter() - started))
        tally.page(page)
        tally.click(page, page.locator("[data-dk-see-now]").get_by_role("link", name="See a doctor now"),
                    "see a doctor now (sign-up)")
        sign_up_and_pay(tally, page, "Journey Now", "journey-now", "sign up (the request kept)", "pay (into the queue)")
        page.locator("[data-walkin-position]").wait_for()

        started = time.perf_counter()  # the device test, while queued
        page.get_by_role("link", name="Test my devices").click()
        dialog = page.get_by_role("dialog", name="Device test")
        dialog.get_by_role("button", name=re.compile("^(Start the test|Run the whole test again)$")).click()
        summary = dialog.locator("[data-summary]")
        summary.filter(has_text=re.compile(r"^(All checks passed|Not ready|Audio only|Your result)")).wait_for(
            timeout=60_000)
        if not summary.inner_text().startswith("All checks passed"):
            raise RuntimeError(f"the device test did not pass: {summary.inner_text()}")
        dialog.get_by_role("button", name="Close", exact=True).click()
        tally.clicks += 3
        extras.device_test = time.perf_counter() - started

        started = time.perf_counter()
        doctor.locator("#doctor-walkin-next").filter(has_text="devices ready").wait_for(timeout=15_000)
        extras.doctor_reaction = time.perf_counter() - started
        started, clicked_at = time.perf_counter(), time.time() * 1000
        with doctor.expect_response(lambda r: "_dash-update-component" in r.url
                                    and "doctor-walkin-accept" in (r.request.post_data or "")) as accepted:
            doctor.get_by_role("button", name="Accept").click()
        callback_ms = (time.perf_counter() - started) * 1000
        page.wait_for_url(re.compile(r"/visit/"), wait_until="load", timeout=15_000)
        elapsed = time.perf_counter() - started
        tally.waiting += elapsed
        tally.steps.append(("doctor accepts → patient in the room", elapsed))
        navigation_at = page.evaluate("() => performance.timeOrigin")
        timing = page.evaluate(NAVIGATION_TIMING) or {"server": 0.0, "browser": 0.0}
        tally.accept = {"doctor's Accept callback (server + Dash)": callback_ms,
                        "then the waiting room's poll sees it": max(0.0, navigation_at - clicked_at - callback_ms),
                        "room page: server": timing["server"], "room page: browser to load": timing["browser"]}
        assert accepted.value.ok
        tally.page(page)
        doctor.wait_for_url(re.compile(r"/visit/"))
        doctor.get_by_role("button", name="Join the consultation").click()
        doctor.locator("[data-room-status]").filter(has_text="Waiting for").wait_for()
        page.get_by_role("button", name="Join the consultation").wait_for()
        ms = page.evaluate(JOIN_AND_TIME)
        if ms is None:
            raise RuntimeError("no remote video frame within 30 s")
        tally.clicks += 1
        tally.waiting += ms / 1000
        tally.steps.append(("join → first remote frame", ms / 1000))
        return tally, extras
    finally:
        p_ctx.close()
        d_ctx.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", help="a running Doktu (default: start a seeded one)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--db-name", default="doktu_bench_journey")
    parser.add_argument("--path", choices=("booking", "now"), default="booking")
    args = parser.parse_args()
    if args.path == "now":
        return main_now(args)
    started = nullcontext(Server(url=args.url.rstrip("/"))) if args.url else seeded_server(
        args.db_name, modes=("development",))
    with started as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        tallies = []
        for run in range(args.runs):
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            try:
                tallies.append(journey(page, server.url, run))
            except Exception:
                page.screenshot(path=f"/tmp/journey-failed-{run}.png", full_page=True)
                print(f"run {run} failed at {page.url}; screenshot /tmp/journey-failed-{run}.png")
                for count, line in server.errors():
                    print(f"  server error x{count}: {line}")
                if server.log is not None:
                    print("  last 403s:", [ln[:300] for ln in server.log.read_text().splitlines() if '"status": 403' in ln][-3:])
                raise
            context.close()
        browser.close()
    last = tallies[-1]
    print(f"journey: home → booked and paid, new patient, {args.runs} runs")
    print(f"pages: {len(last.pages)} (target ≤ 6): {' → '.join(last.pages)}")
    print(f"clicks: {last.clicks} (target ≤ 12); fields typed or chosen: {last.fields}")
    waits = [t.waiting for t in tallies]
    print(f"waiting on server + browser: median {statistics.median(waits):.2f} s, max {max(waits):.2f} s "
          f"(target ≤ 3 s)")
    print_steps(tallies, 34)
    print_profile(tallies)


def print_steps(tallies: list[Tally], width: int) -> None:
    """Each step's median over the runs."""
    for i, (name, _) in enumerate(tallies[-1].steps):
        seconds = statistics.median(t.steps[i][1] for t in tallies if len(t.steps) > i)
        print(f"  {name:<{width}} {seconds * 1000:7.0f} ms")


def print_profile(tallies: list[Tally]) -> None:
    """Medians over the runs: each page's server and browser time, and the Accept hop's parts."""
    print("profile (median of the runs): page = server (redirects and first byte) + browser (to load)")
    for i, (name, _, _) in enumerate(tallies[-1].profiles):
        server = statistics.median(t.profiles[i][1] for t in tallies if len(t.profiles) > i)
        browser = statistics.median(t.profiles[i][2] for t in tallies if len(t.profiles) > i)
        print(f"  {name:<38} server {server:6.0f} ms · browser {browser:6.0f} ms")
    for part in tallies[-1].accept:
        print(f"  {part:<46} {statistics.median(t.accept[part] for t in tallies if t.accept):6.0f} ms")


def main_now(args) -> None:
    if args.url:
        raise SystemExit("--path now starts its own seeded Doktu (it adds doctors of its own)")
    with seeded_server(args.db_name, modes=("development",)) as server, sync_playwright() as p:
        doctors = bench_doctors(server.db_url, args.runs)
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS + MEDIA)
        results = []
        for run in range(args.runs):
            try:
                results.append(now_journey(browser, server.url, doctors[run]))
            except Exception:
                for count, line in server.errors():
                    print(f"  server error x{count}: {line}")
                raise
        browser.close()
    tallies = [t for t, _ in results]
    last = tallies[-1]
    print(f"journey: see a doctor now, home → first remote video frame, new patient, {args.runs} runs")
    print(f"pages: {len(last.pages)} (target ≤ 6): {' → '.join(last.pages)}")
    print(f"clicks: {last.clicks} (target ≤ 12); fields typed or chosen: {last.fields}")
    waits = [t.waiting for t in tallies]
    print(f"waiting on server + browser: median {statistics.median(waits):.2f} s, max {max(waits):.2f} s "
          f"(target ≤ 3 s)")
    print_steps(tallies, 38)
    print_profile(tallies)
    print(f"apart: device test while queued median {statistics.median(e.device_test for _, e in results):.1f} s; "
          f"the doctor saw 'devices ready' after {statistics.median(e.doctor_reaction for _, e in results):.1f} s")


if __name__ == "__main__":
    main()
