"""Responsive screenshots of the public pages: `/`, a doctor profile, `/doctors` and `/pricing` at 375,
768 and 1280 px wide, into docs/screenshots/<page>-<width>.png.

    .venv/bin/python bench/screenshots.py [--url http://127.0.0.1:5000] [--out docs/screenshots] [--full-page]

Without --url it starts its own seeded Doktu (bench/_server.py, as bench/pages.py does). 375 px is
shot full page (capped at 12,000 px tall); 768 and 1280 px show the first screen, unless
--full-page. A page that does not answer 200 is reported and not shot. Playwright with the system
Chromium; never downloads a browser. Exit code 0 whatever happens (a report, not a gate).
"""

from __future__ import annotations

import argparse
import sys
import traceback
from contextlib import nullcontext
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import Server, find_doctor, seeded_server
from screenshot import CHROMIUM, FLAGS

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
HEIGHTS = {375: 812, 768: 1024, 1280: 800}  # iPhone X-ish, iPad portrait, laptop
MAX_HEIGHT = 12_000


def shoot(page, url: str, out: Path, width: int, full_page: bool) -> str:
    page.set_viewport_size({"width": width, "height": HEIGHTS.get(width, 900)})
    response = page.goto(url, wait_until="networkidle", timeout=60_000)
    status = response.status if response else None
    if status != 200:
        return f"skipped: HTTP {status}"
    page.evaluate("document.fonts.ready")
    height = page.evaluate("document.documentElement.scrollHeight")
    options = {"path": str(out), "animations": "disabled", "caret": "hide", "full_page": full_page}
    if full_page and height > MAX_HEIGHT:
        options["clip"] = {"x": 0, "y": 0, "width": width, "height": MAX_HEIGHT}
    page.screenshot(**options)
    shown = min(height, MAX_HEIGHT) if full_page else HEIGHTS.get(width, 900)
    overflow = page.evaluate("document.documentElement.scrollWidth") - width
    note = f"; HORIZONTAL OVERFLOW {overflow} px" if overflow > 0 else ""
    return f"{out.name} ({width}x{shown}, page {height} px tall, {out.stat().st_size // 1024} KB{note})"


def run(server: Server, out_dir: Path, widths: list[int], full_page_all: bool) -> None:
    base = server.url
    doctor_id, how = find_doctor(base, server)
    pages = {"home": "/", "doctor-profile": f"/doctors/{doctor_id}" if doctor_id else None,
             "doctors": "/doctors", "pricing": "/pricing"}
    print(f"doctor profile: {pages['doctor-profile'] or 'none'} ({how}); PNGs into {out_dir}")
    out_dir.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            for name, path in pages.items():
                for width in widths:
                    if path is None:
                        print(f"{name} @ {width}: skipped (no doctor id)")
                        continue
                    context = browser.new_context(device_scale_factor=1, is_mobile=width < 768,
                                                  has_touch=width < 768)
                    try:
                        result = shoot(context.new_page(), base + path, out_dir / f"{name}-{width}.png", width,
                                       full_page_all or width == 375)
                    except Exception as exc:
                        result = f"failed: {exc.__class__.__name__}: {str(exc).splitlines()[0][:200]}"
                    finally:
                        context.close()
                    print(f"{name} {path} @ {width} px: {result}", flush=True)
        finally:
            browser.close()
    for n, exc in server.errors():
        print(f"server logged {n} x {exc[:300]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="shoot this running Doktu instead of starting a seeded one")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"folder for the PNGs (default {DEFAULT_OUT})")
    parser.add_argument("--widths", default="375,768,1280", help="comma-separated viewport widths in px")
    parser.add_argument("--full-page", action="store_true", help="full page at every width, not only 375")
    parser.add_argument("--db-name", default="doktu_bench_screens", help="database to create and drop")
    args = parser.parse_args()
    widths = [int(w) for w in args.widths.split(",") if w.strip()]
    try:
        started = nullcontext(Server(url=args.url.rstrip("/"))) if args.url else seeded_server(args.db_name)
        with started as server:
            run(server, args.out.resolve(), widths, args.full_page)
    except Exception:
        print(f"screenshots aborted:\n{traceback.format_exc(limit=4)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
