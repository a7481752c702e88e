"""Redis down (issue 23 §4): a real `doktu serve` pointed at a Redis where nothing listens. Sign-in,
sign-up, forgot and the video probes work; rate limits and failure counts go on in memory; what
cannot work without Redis answers 503 + Retry-After in the error envelope.

`core.db` and the limiter are process-wide, so the app under test runs in a child process with its
own environment and database, like the browser suite's live server."""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import uuid
from collections.abc import Iterator

import httpx
import pytest
import redis

from tests import resources
from tests.conftest import create_fresh_database, drop_database
from tests.live_browser import DOKTU, ROOT, _free_port, _run, _wait_healthy

DEAD_REDIS = "redis://127.0.0.1:6403/0"  # this helper's own port; nothing may listen on it
PASSWORD = "Zebra-Quartz-91-river"


def nothing_listens(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture(scope="module")
def server(server_url, tmp_path_factory) -> Iterator[str]:
    if not nothing_listens(6403):
        pytest.fail("something listens on 127.0.0.1:6403: the test needs a dead Redis there")
    name = f"{resources.db_name()}_redis_down"
    db_url = create_fresh_database(server_url, name)
    instance = tmp_path_factory.mktemp("redis-down-instance")
    env = {**os.environ, "DATABASE_URL": db_url, "REDIS_URL": DEAD_REDIS, "SECRET_KEY": secrets.token_urlsafe(48),
           "DOKTU_ENV": "development", "DOKTU_INSTANCE_PATH": str(instance), "RATE_LIMITS": "1",
           "PROXY_HOPS": "1",  # each test client comes from its own address (X-Forwarded-For)
           "PYTHONUNBUFFERED": "1"}
    env.pop("DATABASE_APP_URL", None)
    proc = None
    try:
        _run(["db", "upgrade"], env)
        port = _free_port()
        base_url = f"http://127.0.0.1:{port}"
        log = instance / "serve.log"
        with log.open("w") as out:
            proc = subprocess.Popen([str(DOKTU), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                                    env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        _wait_healthy(base_url, proc, log)
        yield base_url
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        drop_database(server_url, name)


def browser(base_url: str) -> httpx.Client:
    """A visitor from an address of their own, so per-address counts of one test leave the others alone."""
    address = f"198.51.{secrets.randbelow(250) + 1}.{secrets.randbelow(250) + 1}"
    return httpx.Client(base_url=base_url, timeout=10, headers={"X-Forwarded-For": address})


def form_csrf(client: httpx.Client, path: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get(path).text).group(1)


def sign_in(client: httpx.Client, email: str, password: str = PASSWORD, **extra) -> httpx.Response:
    return client.post("/login", data={"email": email, "password": password, "csrf_token": form_csrf(client, "/login"),
                                       **extra})


def new_account(base_url: str) -> str:
    email = f"rd-{uuid.uuid4().hex[:10]}@example.org"
    with browser(base_url) as client:
        created = client.post("/api/auth/signup", json={"email": email, "password": PASSWORD, "acceptTerms": True})
        assert created.status_code == 201, created.text
    return email


def test_redis_really_is_down():
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(DEAD_REDIS, socket_connect_timeout=1).ping()


def test_readiness_says_redis_is_down(server):
    with browser(server) as client:
        ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["checks"]["redis"].startswith("error")


def test_sign_up_sign_in_and_tokens_work_without_redis(server):
    email = new_account(server)
    with browser(server) as client:
        page = client.post("/signup", data={"full_name": "Form Person", "email": f"f-{email}", "password": PASSWORD,
                                            "accept_terms": "y", "csrf_token": form_csrf(client, "/signup")})
        assert page.status_code == 302 and page.headers["location"].startswith("/onboarding")
    with browser(server) as client:
        signed_in = sign_in(client, email)
        assert signed_in.status_code == 302 and signed_in.headers["location"] == "/dashboard"
        assert client.get("/dashboard").status_code == 200
    with browser(server) as client:
        token = client.post("/api/auth/token", json={"email": email, "password": PASSWORD})
        assert token.status_code == 200 and token.json()["access_token"]


def test_forgot_works_and_its_per_account_limit_goes_on_in_memory(server):
    email = new_account(server)
    with browser(server) as client:
        codes = [client.post("/api/auth/forgot", json={"email": email}).status_code for _ in range(4)]
        assert codes == [202, 202, 202, 429]
        limited = client.post("/api/auth/forgot", json={"email": email.upper()})
        assert limited.status_code == 429
        assert limited.json()["error"]["code"] == "ERR_RATE_LIMITED" and int(limited.headers["retry-after"]) > 0
        page = client.post("/forgot", data={"email": f"other-{email}", "csrf_token": form_csrf(client, "/forgot")})
        assert page.status_code == 202


def test_failed_sign_ins_still_bring_the_challenge_and_solving_it_lets_in(server):
    email = new_account(server)
    with browser(server) as client:
        for _ in range(3):
            assert sign_in(client, email, "wrong-Password-1").status_code == 401
        asked = sign_in(client, email)
        assert asked.status_code == 403
        a, b = map(int, re.search(r"What is (\d+) plus (\d+)\?", asked.text).groups())
        challenge = re.search(r'name="challenge_token" value="([^"]+)"', asked.text).group(1)
        answered = sign_in(client, email, challenge_token=challenge, challenge_answer=str(a + b))
        assert answered.status_code == 302 and answered.headers["location"] == "/dashboard"
    with browser(server) as client:  # a solved challenge is still accepted only once
        for _ in range(3):
            sign_in(client, email, "wrong-Password-1")
        replayed = sign_in(client, email, challenge_token=challenge, challenge_answer=str(a + b))
        assert replayed.status_code == 403


def test_the_video_probes_work_without_redis(server):
    email = new_account(server)
    with browser(server) as client:
        sign_in(client, email)
        download = client.get("/api/video-test/download", params={"bytes": 16384})
        assert download.status_code == 200 and len(download.content) == 16384
    with browser(server) as client:
        token = client.post("/api/auth/token", json={"email": email, "password": PASSWORD}).json()["access_token"]
        upload = client.post("/api/video-test/upload", content=b"x" * 65536,
                             headers={"Authorization": f"Bearer {token}", "Content-Type": "application/octet-stream"})
        assert upload.status_code == 200, upload.text


def test_what_cannot_work_without_redis_answers_503_with_retry_after(app, client, monkeypatch):
    """In-process: any Redis error that escapes a view becomes the envelope's 503, not a 500."""

    def needs_redis():
        raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:6403. Connection refused.")

    monkeypatch.setitem(app.view_functions, "public.doctors", needs_redis)
    answer = client.get("/api/doctors")
    assert answer.status_code == 503
    assert answer.get_json()["error"]["code"] == "ERR_UNAVAILABLE"
    assert int(answer.headers["Retry-After"]) > 0
