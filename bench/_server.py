"""A seeded Doktu under `doktu serve` (gunicorn) on a database of its own, for the bench scripts.

    with seeded_server("doktu_bench_pages") as server:
        print(server.url, server.doctor_ids)

Production-like: `DOKTU_ENV=production` with every setting production insists on (core/config.py:
SECRET_KEY ≥ 32 random characters, DATABASE_URL, REDIS_URL, DOKTU_DEMO_PASSWORD,
STRIPE_WEBHOOK_SECRET), gunicorn with `doktu serve`'s default worker count, RATE_LIMITS=0 (the
benches measure speed, not abuse protection). If production refuses to start here, development is
tried instead and `server.mode` says which one ran.

DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/postgres) names the PostgreSQL server on
which the database is created, and dropped on exit; REDIS_URL defaults to redis://127.0.0.1:6379/13.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zlib
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
DOKTU = Path(sys.executable).with_name("doktu")
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"


def run_db_name(name: str) -> str:
    """A bench database of this run's own: `<TEST_DB_NAME>_<name>` when TEST_DB_NAME is set (CI and
    parallel worktrees), so two runs never drop each other's database."""
    prefix = os.environ.get("TEST_DB_NAME")
    return f"{prefix}_{name}" if prefix else name


def run_redis_url(default: str = DEFAULT_REDIS_URL) -> str:
    """REDIS_URL, else a db derived from TEST_DB_NAME (the rule of tests/resources.py), else `default`."""
    if url := os.environ.get("REDIS_URL"):
        return url
    name = os.environ.get("TEST_DB_NAME")
    if not name:
        return default
    return f"redis://127.0.0.1:6379/{15 if name == 'doktu_test' else 1 + zlib.crc32(name.encode()) % 14}"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@dataclass
class Server:
    url: str
    mode: str = "external"  # production | development | external (--url)
    db_url: str | None = None
    doctor_ids: list[str] = field(default_factory=list)
    log: Path | None = None
    workers: int | None = None
    # The password of every demo login (admin@demo.doktu.eu, doctor1@…): the portals' weight needs them.
    demo_password: str = field(default_factory=lambda: os.environ.get("DOKTU_DEMO_PASSWORD", "Doktu-demo-2026!"))
    pid: int | None = None  # gunicorn's master, leader of the server's process group

    def errors(self) -> list[tuple[int, str]]:
        """Unhandled errors the server logged: (count, exception line), most frequent first."""
        if self.log is None:
            return []
        try:
            lines = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return []
        seen: Counter[str] = Counter()
        for i, line in enumerate(lines):
            if line.startswith("{"):
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if record.get("level") in ("error", "critical") and record.get("exc"):
                    seen[record["exc"].strip().splitlines()[-1]] += 1
            elif line.startswith("Traceback"):
                tail = next((x for x in lines[i + 1:] if x and not x.startswith((" ", "Traceback"))), line)
                seen[tail] += 1
        return [(n, exc) for exc, n in seen.most_common()]


def find_doctor(base: str, server: Server) -> tuple[str | None, str]:
    """The first doctor linked from the home page; else the first in the database; else /api/doctors."""
    try:
        html = httpx.get(base + "/", timeout=10).text
        found = re.search(rf"/doctors/({UUID})", html)
        if found:
            return found.group(1), "first doctor link on /"
    except httpx.HTTPError:
        pass
    if server.doctor_ids:
        return server.doctor_ids[0], "first doctor in the database (no /doctors/<id> link on /)"
    try:
        doctors = httpx.get(base + "/api/doctors", timeout=10).json()
        items = doctors.get("doctors", doctors.get("items", [])) if isinstance(doctors, dict) else doctors
        if items:
            return str(items[0]["id"]), "first doctor of /api/doctors"
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        pass
    return None, "no doctor id found"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _sqlalchemy_url(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _admin(server_url: str):
    return create_engine(make_url(server_url).set(database="postgres"), isolation_level="AUTOCOMMIT")


def create_database(server_url: str, name: str) -> str:
    engine = _admin(server_url)
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, name: str) -> None:
    engine = _admin(server_url)
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def server_env(db_url: str, redis_url: str, instance: Path, mode: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DOKTU_ENV": mode,
        "DATABASE_URL": db_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DOKTU_DEMO_PASSWORD": "Bench-" + secrets.token_urlsafe(12) + "-7a!",
        "STRIPE_WEBHOOK_SECRET": "whsec_" + secrets.token_urlsafe(24),
        "DOKTU_INSTANCE_PATH": str(instance),
        "LOG_LEVEL": "WARNING",
        "RATE_LIMITS": "0",
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("DATABASE_APP_URL", "STRIPE_SECRET_KEY", "SENDGRID_API_KEY", "OTEL_EXPORTER_OTLP_ENDPOINT"):
        env.pop(name, None)  # a bench talks to no third party
    return env


def _doktu(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([str(DOKTU), *args], env=env, cwd=env.get("PYTHONPATH") or ROOT, capture_output=True, text=True, timeout=300,
                          check=False)


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as resp:
                if resp.status == 200:
                    return True
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    return False


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def _tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return ""


@contextmanager
def seeded_server(db_name: str, *, workers: int | None = None, modes: tuple[str, ...] = ("production", "development"),
                  quiet: bool = False, code: Path | None = None, port: int | None = None) -> Iterator[Server]:
    """Create `db_name`, migrate, seed, serve; yield the running server; stop it and drop the database.
    `code`: another checkout whose `core`/`portals` to run (put first on PYTHONPATH), e.g. to
    measure a before and an after with one script. `port`: listen there (a worktree's own range)
    instead of a free one the system picks."""
    server_url = _sqlalchemy_url(os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL))
    redis_url = run_redis_url()
    say = (lambda *_: None) if quiet else (lambda msg: print(msg, flush=True))
    db_name = run_db_name(db_name)
    db_url = create_database(server_url, db_name)
    with tempfile.TemporaryDirectory(prefix="doktu-bench-") as tmp:
        instance = Path(tmp)
        proc = None
        try:
            failures = []
            for mode in modes:
                env = server_env(db_url, redis_url, instance, mode)
                if code is not None:
                    env["PYTHONPATH"] = str(code)
                for step in (["db", "upgrade"], ["db", "seed"]):
                    done = _doktu(step, env)
                    if done.returncode != 0:
                        failures.append(f"{mode}: doktu {' '.join(step)} exited {done.returncode}: "
                                        f"{(done.stderr or done.stdout)[-1500:]}")
                        break
                else:
                    listen = port or free_port()
                    url = f"http://127.0.0.1:{listen}"
                    env["PUBLIC_BASE_URL"] = url
                    log = instance / f"serve-{mode}.log"
                    args = [str(DOKTU), "serve", "--host", "127.0.0.1", "--port", str(listen)]
                    if workers:
                        args += ["--workers", str(workers)]
                    with log.open("w") as out:
                        proc = subprocess.Popen(args, env=env, cwd=code or ROOT, stdout=out, stderr=subprocess.STDOUT,
                                                start_new_session=True)
                    if _wait_healthy(url, proc):
                        break
                    failures.append(f"{mode}: doktu serve not healthy: {_tail(log)}")
                    _stop(proc)
                    proc = None
            if proc is None:
                raise RuntimeError("could not start a seeded Doktu:\n" + "\n".join(failures))
            for failure in failures:
                say(f"note: {failure.splitlines()[0]} (fell back)")
            engine = create_engine(db_url)
            try:
                with engine.connect() as conn:
                    ids = [str(r[0]) for r in conn.execute(text("SELECT id FROM doctors ORDER BY number"))]
            except Exception as exc:  # the schema is someone else's to change
                say(f"note: could not read doctor ids from the database ({exc.__class__.__name__})")
                ids = []
            finally:
                engine.dispose()
            count = workers or 2 * (os.cpu_count() or 1) + 1
            say(f"server: {url} (DOKTU_ENV={mode}, gunicorn {count} workers x 4 threads, database {db_name}, "
                f"redis {redis_url}, RATE_LIMITS=0)")
            yield Server(url=url, mode=mode, db_url=db_url, doctor_ids=ids, log=log, workers=count,
                         demo_password=env["DOKTU_DEMO_PASSWORD"], pid=proc.pid)
        finally:
            if proc is not None:
                _stop(proc)
            drop_database(server_url, db_name)
