"""Screenshots for issue 24 (polish): the doctor portal's and the admin console's headers, a doctor
profile's booking card, the sign-up strength meter with "Password123!" typed, and the local test
checkout's card form (filled with the expiry typed "1230", then what paying answers) — each at 375 and 1280 px, into docs/screenshots/<prefix>-<what>-<width>.png.

    .venv/bin/python bench/polish_screens.py --prefix before|after [--out docs/screenshots]

It starts its own seeded Doktu (bench/_server.py, development mode, a known demo password). The
portals are shot on their first screen (the header and what follows); the booking card and the
checkout form are shot as elements. Exit code 0 whatever happens (a report, not a gate).
"""

from __future__ import annotations

import argparse
import re
import sys
import traceback
import uuid
from contextlib import nullcontext
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _server
from _server import Server, find_doctor, seeded_server
from screenshot import CHROMIUM, FLAGS

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
HEIGHTS = {375: 812, 1280: 800}
PASSWORD = "Polish-screens-2026!"


def _known_password_env(*args, **kwargs):
    env = _original_env(*args, **kwargs)
    env["DOKTU_DEMO_PASSWORD"] = PASSWORD
    return env


_original_env = _server.server_env
_server.server_env = _known_password_env
_server.free_port = lambda: 5241  # this helper's own port range


def log_in(page, base: str, email: str, landing: str) -> None:
    page.goto(f"{base}/login?next={landing}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    page.wait_for_url(re.compile(re.escape(landing)))
    page.wait_for_load_state("networkidle")


def shots(browser, base: str, doctor_id: str, out: Path, prefix: str, width: int, only: set[str]) -> list[str]:
    done = []

    def wanted(what: str) -> bool:
        return not only or what in only

    def context():
        return browser.new_context(viewport={"width": width, "height": HEIGHTS[width]}, device_scale_factor=1,
                                   is_mobile=width < 768, has_touch=width < 768)

    def save(page, what: str, element=None) -> None:
        path = out / f"{prefix}-{what}-{width}.png"
        page.evaluate("document.fonts.ready")
        if element is not None:
            element.screenshot(path=str(path), animations="disabled", caret="hide")
        else:
            page.screenshot(path=str(path), animations="disabled", caret="hide")
        done.append(path.name)

    for role, email, landing in (("doctor", "doctor1@demo.doktu.eu", "/doctor/"),
                                 ("admin", "admin@demo.doktu.eu", "/admin/")):
        if not wanted(role):
            continue
        ctx = context()
        try:
            page = ctx.new_page()
            log_in(page, base, email, landing)
            page.wait_for_timeout(1500)  # Dash renders after load
            save(page, f"{role}-header")
            if width < 768:  # and its menu, open
                page.get_by_role("button", name="Menu").click()
                page.wait_for_timeout(300)
                save(page, f"{role}-menu-open")
        except Exception as exc:
            done.append(f"{role}-header failed: {exc.__class__.__name__}: {str(exc).splitlines()[0][:160]}")
        finally:
            ctx.close()

    if wanted("booking"):
        ctx = context()
        try:
            page = ctx.new_page()
            page.goto(f"{base}/doctors/{doctor_id}", wait_until="networkidle")
            save(page, "booking-card", page.locator("#booking"))
        except Exception as exc:
            done.append(f"booking-card failed: {exc.__class__.__name__}: {str(exc).splitlines()[0][:160]}")
        finally:
            ctx.close()

    if wanted("signup"):
        ctx = context()
        try:
            page = ctx.new_page()
            page.goto(f"{base}/signup", wait_until="networkidle")
            page.get_by_label("Full name").fill("Screen Shot")
            page.get_by_label("Email").fill(f"shot-{uuid.uuid4().hex[:8]}@example.org")
            page.get_by_label("Password", exact=True).press_sequentially("Password123!", delay=20)
            page.wait_for_timeout(1200)  # the meter's answer
            save(page, "signup-meter", page.locator("form"))
        except Exception as exc:
            done.append(f"signup-meter failed: {exc.__class__.__name__}: {str(exc).splitlines()[0][:160]}")
        finally:
            ctx.close()

    if wanted("checkout"):
        ctx = context()
        try:
            page = ctx.new_page()
            page.goto(f"{base}/doctors/{doctor_id}", wait_until="networkidle")
            page.locator("#booking .dk-pills:not(.dk-pills--scroll) .dk-pill").last.click()
            page.wait_for_load_state("networkidle")
            page.get_by_role("link", name="Create an account").click()
            page.get_by_label("Full name").fill("Card Form")
            page.get_by_label("Email").fill(f"card-{uuid.uuid4().hex[:8]}@example.org")
            page.get_by_label("Password", exact=True).fill("Vivid-otter-harbour-42")
            page.get_by_label(re.compile("I accept the terms of use")).check()
            page.get_by_role("button", name="Create account").click()
            page.get_by_label("Date of birth").fill("1988-04-12")
            page.get_by_label("Prefer not to say").check()
            page.get_by_role("button", name=re.compile("^Save and pay")).click()
            page.get_by_label(re.compile("Card number")).wait_for()
            page.get_by_label(re.compile("Card number")).fill("4242 4242 4242 4242")
            page.get_by_label(re.compile("Expiry date")).fill("1230")
            page.get_by_label(re.compile("Security code")).fill("123")
            save(page, "checkout-form")
            page.get_by_role("button", name=re.compile("^Pay ")).click()
            page.wait_for_load_state("networkidle")
            save(page, "checkout")
        except Exception as exc:
            done.append(f"checkout failed: {exc.__class__.__name__}: {str(exc).splitlines()[0][:160]}")
        finally:
            ctx.close()
    return done


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", required=True, help="before or after")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--db-name", default="doktu_bench_polish")
    parser.add_argument("--url", help=f"shoot this running, seeded Doktu (demo password {PASSWORD})")
    parser.add_argument("--only", default="", help="comma-separated subset: doctor,admin,booking,signup,checkout")
    args = parser.parse_args()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    try:
        started = (nullcontext(Server(url=args.url.rstrip("/"))) if args.url
                   else seeded_server(args.db_name, modes=("development",), workers=2))
        with started as server:
            doctor_id, _ = find_doctor(server.url, server)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
                try:
                    for width in (375, 1280):
                        for line in shots(browser, server.url, doctor_id, out, args.prefix, width,
                                          set(filter(None, args.only.split(",")))):
                            print(line, flush=True)
                finally:
                    browser.close()
            for n, exc in server.errors():
                print(f"server logged {n} x {exc[:300]}")
    except Exception:
        print(f"screenshots aborted:\n{traceback.format_exc(limit=4)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
