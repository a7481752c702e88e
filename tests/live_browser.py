"""Live-server fixtures for the browser and end-to-end suites (a pytest plugin: tests/conftest.py
loads it once, so one server serves both). Browser fixtures: a real `doktu serve` in a subprocess on its own seeded database, and Chromium.

`core.db` is a process-wide singleton, so the server under test runs in a child process with its
own environment; the tests only talk to it over HTTP through Playwright.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.browser.stun_responder import StunResponder
from tests.conftest import create_fresh_database, drop_database

ROOT = Path(__file__).resolve().parents[2]
DOKTU = Path(sys.executable).with_name("doktu")
DEMO_PASSWORD = "Doktu-demo-2026!"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--use-fake-device-for-media-stream",
                 "--use-fake-ui-for-media-stream"]
DASH_UPDATE = "/_dash-update-component"

expect.set_options(timeout=10_000)
AXE = Axe()


def assert_no_axe_violations(page: Page, *, settle: bool = True) -> None:
    """axe-core (WCAG 2.x A/AA + best practices) finds nothing on the page as it is now."""
    if settle:
        page.wait_for_load_state("networkidle")
    results = AXE.run(page)
    assert results.violations_count == 0, f"{page.url}\n{results.generate_report()}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run([str(DOKTU), *args], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)
    if done.returncode != 0:
        pytest.fail(f"doktu {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


def _wait_healthy(base_url: str, proc: subprocess.Popen, log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"doktu serve exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(base_url + "/healthz", timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    pytest.fail(f"doktu serve not healthy after {timeout:.0f} s:\n{log.read_text()[-4000:]}")


@dataclass(frozen=True)
class LiveServer:
    url: str
    log: Path
    secret_key: str = ""  # the server's SECRET_KEY (the video tests verify its development signatures)

    def log_size(self) -> int:
        return self.log.stat().st_size

    def errors_since(self, offset: int) -> list[str]:
        with self.log.open("rb") as f:
            f.seek(offset)
            lines = f.read().decode("utf-8", "replace").splitlines()
        return [line for line in lines if '"level": "error"' in line or "Traceback" in line]


@pytest.fixture(scope="session")
def stun_responder() -> Iterator[StunResponder]:
    """A local STUN server for the device test's reachability step (the live server's STUN_URL)."""
    responder = StunResponder().start()
    yield responder
    responder.stop()


@pytest.fixture(scope="session")
def live_doktu(server_url, tmp_path_factory, stun_responder) -> Iterator[LiveServer]:
    """A seeded Doktu served by gunicorn in a subprocess (one worker) on its own database."""
    name = f"{os.environ.get('TEST_DB_NAME', 'doktu_test')}_browser"
    db_url = create_fresh_database(server_url, name)
    instance = tmp_path_factory.mktemp("browser-instance")
    redis_url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    redis.Redis.from_url(redis_url).flushdb()  # no sessions or counters left by an earlier run
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DOKTU_ENV": "development",
        "DOKTU_INSTANCE_PATH": str(instance),
        "DOKTU_DEMO_PASSWORD": DEMO_PASSWORD,
        "RATE_LIMITS": "0",  # many sign-ins from 127.0.0.1 in a minute; throttling has its own tests
        "STUN_URL": stun_responder.url,
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DATABASE_APP_URL", None)
    proc = None
    try:
        _run(["db", "upgrade"], env)
        _run(["db", "seed"], env)
        port = _free_port()
        base_url = f"http://127.0.0.1:{port}"
        env["PUBLIC_BASE_URL"] = base_url
        log = instance / "serve.log"
        with log.open("w") as out:
            proc = subprocess.Popen(
                [str(DOKTU), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        _wait_healthy(base_url, proc, log)
        yield LiveServer(base_url, log, env["SECRET_KEY"])
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        drop_database(server_url, name)


@pytest.fixture(scope="session")
def live_server(live_doktu) -> str:
    """Base URL of the live server."""
    return live_doktu.url


@pytest.fixture
def no_server_errors(live_doktu) -> Iterator[None]:
    """Whatever a test asserts, the server must not have logged an unhandled error meanwhile."""
    offset = live_doktu.log_size()
    yield
    errors = live_doktu.errors_since(offset)
    assert not errors, "server logged errors:\n" + "\n".join(e[:3000] for e in errors)
