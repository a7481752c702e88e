"""Save a 1280×800 screenshot of a running Doktu's home page (the README's docs/screenshot.png).

    .venv/bin/python bench/screenshot.py http://127.0.0.1:5000 [--out docs/screenshot.png]

Uses Playwright with the system Chromium (/usr/bin/chromium); never downloads a browser.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars"]
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshot.png"


def take(base_url: str, out: Path, width: int = 1280, height: int = 800) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height}, device_scale_factor=1)
            response = page.goto(base_url.rstrip("/") + "/", wait_until="networkidle")
            if response is None or not response.ok:
                raise SystemExit(f"{base_url} answered {response.status if response else 'nothing'}")
            page.evaluate("document.fonts.ready")
            page.screenshot(path=str(out), full_page=False)
        finally:
            browser.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url", help="where Doktu runs, e.g. http://127.0.0.1:5000")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"PNG to write (default {DEFAULT_OUT})")
    args = parser.parse_args()
    print(take(args.base_url, args.out))


if __name__ == "__main__":
    main()
