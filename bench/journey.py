"""The two-minute promise, measured (issue 10): a new patient books and pays in Chromium, and this
prints the pages, clicks and fields it took and the time spent waiting on the server and the
browser (typing excluded: Playwright fills fields instantly, and waiting is timed per action).

    .venv/bin/python bench/journey.py [--url http://127.0.0.1:5000] [--runs 3]

Without --url it starts its own seeded Doktu (bench/_server.py). Targets: ≤ 6 pages, ≤ 12 clicks,
≤ 3 s of waiting in all. Exit code 0 always: a report, not a gate.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from contextlib import nullcontext
from dataclasses import dataclass, field

from _server import Server, seeded_server
from playwright.sync_api import Page, sync_playwright

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

    def page(self, page: Page) -> None:
        path = page.url.split("://", 1)[-1].split("/", 1)[-1].split("?", 1)[0]
        if not self.pages or self.pages[-1] != path:
            self.pages.append("/" + path)

    def fill(self, page: Page, label: str, value: str, **kwargs) -> None:
        page.get_by_label(label, **kwargs).fill(value)
        self.fields += 1

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
        self.page(page)


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
    tally.fill(page, "Full name", "Journey Patient")
    tally.fill(page, "Email", f"journey-{uuid.uuid4().hex[:10]}@bench.doktu.eu")
    tally.fill(page, "Password", PASSWORD, exact=True)
    tally.click(page, page.get_by_role("button", name="Create account"), "sign up (time held, checkout)")
    tally.fill(page, "Date of birth", "1988-04-12")
    page.get_by_label("Prefer not to say").check()
    tally.fields += 1
    tally.clicks += 1
    tally.click(page, page.get_by_role("button", name="Save and pay €35 by card"), "save profile, open payment")
    tally.fill(page, "Card number", "4242 4242 4242 4242")
    tally.fill(page, "Expiry date (MM/YY)", "12/34")
    tally.fill(page, "Security code (CVC)", "123")
    tally.click(page, page.get_by_role("button", name="Pay €35"), "pay")
    if page.get_by_role("heading", name="Your consultation is booked").count() != 1:
        raise RuntimeError(f"the journey did not end booked: {page.url}: {page.locator('h1').inner_text()}")
    return tally


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", help="a running Doktu (default: start a seeded one)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--db-name", default="doktu_bench_journey")
    args = parser.parse_args()
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
    for name, seconds in last.steps:
        print(f"  {name:<34} {seconds * 1000:7.0f} ms")


if __name__ == "__main__":
    main()
