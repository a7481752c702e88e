"""`doktu demo` boots on its embedded defaults (pgserver + in-process Redis) on a fresh folder."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read().decode()


def post_json(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def get_json(url: str, token: str) -> dict:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_demo_serves_the_seeded_site_from_a_fresh_data_folder(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DATABASE_APP_URL"}}
    env.update(DOKTU_INSTANCE_PATH=str(tmp_path / "instance"), DOKTU_ENV="development")
    doktu = Path(sys.executable).with_name("doktu")
    proc = subprocess.Popen([str(doktu), "demo", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline, page = time.monotonic() + 90, None
        while time.monotonic() < deadline:
            try:
                page = get(f"http://127.0.0.1:{port}/")
                break
            except (urllib.error.URLError, ConnectionError):
                if proc.poll() is not None:
                    break
                time.sleep(0.5)
        assert page is not None, proc.stdout.read() if proc.poll() is not None else "no answer in 90 s"
        status, html = page
        assert status == 200
        assert "Dr. Camille Martin" in html
        ready = json.loads(get(f"http://127.0.0.1:{port}/readyz")[1])
        assert ready["checks"] == {"database": "ok", "redis": "ok"}
        assert (tmp_path / "instance" / "pgdata" / "PG_VERSION").exists()
        # The in-process cron runs the periodic jobs: the console soon says when they last ran.
        token = post_json(f"http://127.0.0.1:{port}/api/auth/token",
                          {"email": "admin@demo.doktu.eu", "password": "Doktu-demo-2026!"})["access_token"]
        status = None
        while time.monotonic() < deadline + 30:
            status = get_json(f"http://127.0.0.1:{port}/api/metrics/alerts", token)["jobsStatus"]
            if status.startswith("Background jobs last ran"):
                break
            time.sleep(0.5)
        assert status.startswith("Background jobs last ran"), status
    finally:
        proc.terminate()
        try:
            output, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
    assert "patient@demo.doktu.eu" in output
