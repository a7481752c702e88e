"""Live-server fixtures for the browser and end-to-end suites (a pytest plugin: tests/conftest.py
loads it once, so one server serves both). Browser fixtures: a real `doktu serve` in a subprocess on its own seeded database, and Chromium.

`core.db` is a process-wide singleton, so the server under test runs in a child process with its
own environment; the tests only talk to it over HTTP through Playwright.
"""

from __future__ import annotations

import os
import secrets
import shutil
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

from tests import resources
from tests.browser.stun_responder import StunResponder
from tests.conftest import create_fresh_database, drop_database

ROOT = Path(__file__).resolve().parents[2]
DOKTU = Path(sys.executable).with_name("doktu")
DEMO_PASSWORD = "Doktu-demo-2026!"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--use-fake-device-for-media-stream",
                 "--use-fake-ui-for-media-stream",
                 # WebRTC between two contexts on this machine: 127.0.0.1 candidates too (RECIPES).
                 "--allow-loopback-in-peer-connection"]
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


# Hang guards, not expectations: a command's exit, or the server answering, is what is waited for.
# On a loaded 2-core runner (load 16–17, eight suites at once) a cold `doktu db upgrade` + `db seed`
# outlasted the old 120-s guard and every browser test errored; the guards stay far above that.
COMMAND_GUARD_SECONDS = 900.0
SERVE_GUARD_SECONDS = 300.0


def _run(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run([str(DOKTU), *args], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=COMMAND_GUARD_SECONDS, check=False)
    if done.returncode != 0:
        pytest.fail(f"doktu {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


def _wait_healthy(base_url: str, proc: subprocess.Popen, log: Path, timeout: float = SERVE_GUARD_SECONDS) -> None:
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
    env: dict[str, str] | None = None  # the server's settings (a test may start `doktu worker` with them)

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


@dataclass(frozen=True)
class TurnServer:
    url: str
    secret: str


@pytest.fixture(scope="session")
def turn_server(tmp_path_factory) -> Iterator[TurnServer | None]:
    """coturn on loopback with coturn's REST credentials (use-auth-secret), as in production; None
    when the `turnserver` binary is not installed (the TURN test then skips and says why)."""
    binary = shutil.which("turnserver")
    if binary is None:
        yield None
        return
    port, secret = _free_port(), secrets.token_hex(16)
    low = 49160 + (port % 50) * 40  # a relay port range of its own
    log = tmp_path_factory.mktemp("coturn") / "turn.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [binary, "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", f"--listening-port={port}",
             "--use-auth-secret", f"--static-auth-secret={secret}", "--realm=doktu.local", "--no-tls",
             "--no-dtls", f"--min-port={low}", f"--max-port={low + 39}", "--allow-loopback-peers", "--no-cli",
             f"--pidfile={log.with_suffix('.pid')}", "--log-file=stdout"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    time.sleep(0.3)
    if proc.poll() is not None:
        pytest.fail(f"turnserver exited:\n{log.read_text()[-2000:]}")
    yield TurnServer(f"turn:127.0.0.1:{port}?transport=udp", secret)
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="session")
def live_doktu(server_url, tmp_path_factory, stun_responder, turn_server) -> Iterator[LiveServer]:
    """A seeded Doktu served by gunicorn in a subprocess (one worker) on its own database."""
    name = f"{resources.db_name()}_browser"
    db_url = create_fresh_database(server_url, name)
    instance = tmp_path_factory.mktemp("browser-instance")
    redis_url = resources.redis_url()
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
        **({"TURN_URLS": turn_server.url, "TURN_SECRET": turn_server.secret} if turn_server else {}),
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
        yield LiveServer(base_url, log, env["SECRET_KEY"], dict(env))
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
