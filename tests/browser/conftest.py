"""Browser tests: Chromium from Debian against the live server of tests/live_browser.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page

from tests.live_browser import CHROMIUM_ARGS, DASH_UPDATE, DEMO_PASSWORD, assert_no_axe_violations  # noqa: F401


@pytest.fixture(autouse=True)
def server_stays_clean(no_server_errors) -> Iterator[None]:
    """Every test here fails if the server logged an unhandled error meanwhile."""
    yield


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": "/usr/bin/chromium", "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def base_url(live_server) -> str:
    """pytest-playwright gives every browser context this base URL (`page.goto("/login")`)."""
    return live_server


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1280, "height": 800}}


@pytest.fixture
def dash_failures(page: Page) -> list[str]:
    """Every Dash callback or layout answer with a 4xx/5xx status seen by the page."""
    failures: list[str] = []

    def check(response) -> None:
        if "/_dash-" in response.url and response.status >= 400:
            failures.append(f"{response.status} {response.request.method} {response.url}")

    page.on("response", check)
    return failures


@pytest.fixture
def login(page: Page):
    """Sign in through the real /login form; `next_path` is sent as ?next=."""

    def sign_in(email: str, password: str = DEMO_PASSWORD, next_path: str | None = None) -> Page:
        page.goto("/login" + (f"?next={next_path}" if next_path else ""))
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in", exact=True).click()
        page.wait_for_load_state()
        return page

    return sign_in


def pytest_setup_options():
    """dash[testing]'s `dash_br` (Selenium 4.2, chromedriver from PATH): Debian's Chromium, headless
    (RECIPES "dash[testing]")."""
    from selenium.webdriver.chrome.options import Options

    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for flag in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1280,1024"]:
        options.add_argument(flag)
    return options
