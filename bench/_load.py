"""Load and CPU accounting shared by the speed benches (bench/availability.py, bench/peer.py).

Throughput comes from `wrk` (C, `apt-get install wrk`) so the load generator does not compete with
the server for the machine's cores as a Python client would; without wrk, a threaded Python client
stands in (and says so). CPU per request is read from /proc: user + system time of the server's
process group (gunicorn master and workers) and, separately, of the PostgreSQL backends serving
its database — on a shared machine, CPU per request is the figure that does not move with the
neighbours' load, req/s is.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import create_engine, text

TICK = os.sysconf("SC_CLK_TCK")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _stat(pid: int) -> tuple[int, float] | None:
    """(process group, CPU seconds) of one process, None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[2]), (int(fields[11]) + int(fields[12])) / TICK


def group_cpu(pgid: int) -> float:
    """CPU seconds used so far by every live process of a process group."""
    total = 0.0
    for name in os.listdir("/proc"):
        if name.isdigit():
            found = _stat(int(name))
            if found and found[0] == pgid:
                total += found[1]
    return total


class DatabaseCpu:
    """CPU seconds of the PostgreSQL backends connected to one database (same machine)."""

    def __init__(self, db_url: str | None):
        self.engine = create_engine(db_url) if db_url else None
        self.db = self.engine.url.database if self.engine else None

    def __call__(self) -> float:
        if self.engine is None:
            return 0.0
        with self.engine.connect() as conn:
            pids = [r[0] for r in conn.execute(
                text("SELECT pid FROM pg_stat_activity WHERE datname = :d AND pid <> pg_backend_pid()"),
                {"d": self.db})]
        return sum(s[1] for p in pids if (s := _stat(p)))


@dataclass
class Load:
    label: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    failed: int  # non-2xx answers
    app_cpu_s: float
    db_cpu_s: float
    driver: str

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def ok_rps(self) -> float:
        return (self.requests - self.failed) / self.seconds

    @property
    def app_ms(self) -> float:
        return 1000 * self.app_cpu_s / max(self.requests, 1)

    @property
    def db_ms(self) -> float:
        return 1000 * self.db_cpu_s / max(self.requests, 1)

    def line(self) -> str:
        return (f"{self.label}: {self.rps:,.0f} req/s, p50 {self.p50_ms:.1f} ms, p99 {self.p99_ms:.1f} ms; "
                f"CPU {self.app_ms:.2f} ms/request in the app + {self.db_ms:.2f} ms in PostgreSQL "
                f"({self.requests} requests, {self.failed} non-2xx, {self.driver})")


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


WRK_LUA = """
local paths, n = {paths}, 0
request = function()
  n = n + 1
  return wrk.format("{method}", paths[n % #paths + 1], {headers}, {body})
end
"""

# Request i goes with token i: each wrk thread takes every THREADS-th request from its own offset
# (`setup` numbers the threads), so two threads never send the same request at the same time.
WRK_BODIES_LUA = """
local tokens, bodies, threads, made = {tokens}, {bodies}, {threads}, 0
function setup(thread)
  thread:set("offset", made)
  made = made + 1
end
local n = -1
request = function()
  n = n + 1
  local i = (offset + n * threads) % #bodies + 1
  return wrk.format("POST", "{path}",
    {{["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. tokens[i]}}, bodies[i])
end
"""


def _lua_list(items: list[str]) -> str:
    import json

    return "{" + ",".join(json.dumps(i) for i in items) + "}"


def run_wrk(base: str, script: str, *, connections: int, seconds: int, threads: int = 2) -> tuple[int, float, float, int]:
    """(requests, p50 ms, p99 ms, non-2xx) of one wrk run."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    try:
        out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "-s", f.name,
                              "--latency", base], capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(f.name)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    # The latency distribution's lines ("     50%  116.65ms"), anchored: a script's own output
    # printed before them must not be read as a percentile.
    p50, p99 = (re.search(rf"^\s+{p}%\s+([\d.]+(?:us|ms|s|m))\s*$", out, re.M) for p in (50, 99))
    if not (p50 and p99):
        raise RuntimeError(f"wrk printed no latency distribution:\n{out}")
    return requests, _ms(p50.group(1)), _ms(p99.group(1)), int(non2xx.group(1)) if non2xx else 0


def _python_load(base: str, paths: list[str], *, connections: int, seconds: int,
                 headers: dict | None = None) -> tuple[int, float, float, int]:
    parts = urlsplit(base)
    timings: list[float] = []
    failed = [0]
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def worker(i: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        n, mine = i, []
        while time.perf_counter() < stop_at:
            t = time.perf_counter()
            conn.request("GET", paths[n % len(paths)], headers=headers or {})
            response = conn.getresponse()
            response.read()
            mine.append((time.perf_counter() - t) * 1000)
            if response.status >= 300:
                with lock:
                    failed[0] += 1
            n += 1
        with lock:
            timings.extend(mine)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return len(timings), statistics.median(timings), pct(timings, 99), failed[0]


def get_load(label: str, base: str, paths: list[str], *, pgid: int | None, db_cpu: DatabaseCpu,
             connections: int = 16, seconds: int = 8, headers: dict | None = None) -> Load:
    """GET `paths` round-robin from `connections` keep-alive clients for `seconds`."""
    app0, db0, t0 = group_cpu(pgid) if pgid else 0.0, db_cpu(), time.perf_counter()
    if shutil.which("wrk"):
        lua_headers = "{" + ",".join(f'["{k}"]="{v}"' for k, v in (headers or {}).items()) + "}"
        script = WRK_LUA.format(paths=_lua_list(paths), method="GET", headers=lua_headers, body="nil")
        requests, p50, p99, failed = run_wrk(base, script, connections=connections, seconds=seconds)
        driver = f"wrk, {connections} connections"
    else:
        requests, p50, p99, failed = _python_load(base, paths, connections=connections, seconds=seconds,
                                                  headers=headers)
        driver = f"python client, {connections} threads: install wrk for fair figures"
    elapsed = time.perf_counter() - t0
    app1 = group_cpu(pgid) if pgid else 0.0
    return Load(label, requests, elapsed, p50, p99, failed, app1 - app0, db_cpu() - db0, driver)


def post_load(label: str, base: str, path: str, tokens: list[str], bodies: list[str], *, pgid: int | None,
              db_cpu: DatabaseCpu, connections: int = 16, seconds: int = 8, threads: int = 2) -> Load:
    """POST JSON `bodies[i]` with bearer `tokens[i]`, in order, cycling (wrk only)."""
    assert len(tokens) == len(bodies), "one token per body"
    app0, db0, t0 = group_cpu(pgid) if pgid else 0.0, db_cpu(), time.perf_counter()
    script = WRK_BODIES_LUA.format(tokens=_lua_list(tokens), bodies=_lua_list(bodies), path=path, threads=threads)
    requests, p50, p99, failed = run_wrk(base, script, connections=connections, seconds=seconds, threads=threads)
    elapsed = time.perf_counter() - t0
    app1 = group_cpu(pgid) if pgid else 0.0
    return Load(label, requests, elapsed, p50, p99, failed, app1 - app0, db_cpu() - db0,
                f"wrk, {connections} connections")


def sequential(base: str, path: str, n: int = 300, headers: dict | None = None) -> tuple[float, float]:
    """(p50, p95) ms of `n` one-at-a-time GETs on one keep-alive connection."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    timings = []
    for i in range(n + 5):
        t = time.perf_counter()
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        response.read()
        if i >= 5:  # warm-up
            timings.append((time.perf_counter() - t) * 1000)
        assert response.status == 200, (path, response.status)
    return statistics.median(timings), pct(timings, 95)
