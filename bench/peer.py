"""Doktu against django-appointment, the closest Python peer (issue 21). Prints ratios; asserts nothing.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/12 \\
        .venv/bin/python bench/peer.py [--rounds 3] [--seconds 8]

1. Builds django-appointment from PyPI (pinned below) with Django, gunicorn and psycopg in a
   virtualenv of its own (`bench/.peer/venv`, git-ignored; reused on later runs), and a minimal
   Django project around it (`bench/.peer/project`: the app's own URLs, PostgreSQL with persistent
   connections, DEBUG off — a production setting).
2. The same schedule on both sides: one doctor (a staff member) working 10:00–21:00 every day in
   Europe/Paris, starts every 15 minutes, 30-minute consultations, the same three bookings a day
   for the next 8 days. On Doktu a seeded doctor with their explicit slots removed (so the
   10:00–21:00 template applies) and the bookings inserted; on the peer, its working hours,
   service and appointments.
3. Both served the same way: gunicorn, `doktu serve`'s worker count, gthread, 4 threads, each
   on its own database of the same PostgreSQL.
4. Interleaved rounds (Doktu, peer, Doktu, peer…) so both see the same machine load:
   - one day: the peer's `ajax/available_slots/` for one date; Doktu's unified-availability for
     that local day;
   - one week: Doktu in one call; the peer has no week call, so 7 day calls count as one week;
   - throughput: wrk, 16 connections, on the one-day call; req/s and CPU ms per request (server
     process group, and PostgreSQL backends apart);
   - the race: 50 clients at once for one start — Doktu's `POST /api/slots/hold`, the peer's
     booking form (`request-submit`, then the client's details) — and how many bookings exist
     for that start afterwards.
Figures are printed as Doktu/peer ratios (speed-ups), medians over the rounds.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _load import DatabaseCpu, get_load  # noqa: E402
from _server import (  # noqa: E402
    DEFAULT_DATABASE_URL,
    _sqlalchemy_url,
    create_database,
    drop_database,
    free_port,
    seeded_server,
)

PEER = "django-appointment==3.12.0"
PEER_DEPS = ["Django>=5.2,<6", "gunicorn>=23", "psycopg[binary]>=3.2"]
PARIS = ZoneInfo("Europe/Paris")
BOOKED_HOURS = (11, 15, 19)  # the same three bookings a day on both sides
PASSWORD = "Peer-bench-password-1!"

SETTINGS = '''
import os
SECRET_KEY = "peer-bench-not-secret-0123456789abcdefghijklmnopqrstuvwxyz"
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
                  "django.contrib.sessions", "django.contrib.messages", "django.contrib.staticfiles",
                  "phonenumber_field", "appointment"]
MIDDLEWARE = ["django.middleware.security.SecurityMiddleware",
              "django.contrib.sessions.middleware.SessionMiddleware",
              "django.middleware.common.CommonMiddleware", "django.middleware.csrf.CsrfViewMiddleware",
              "django.contrib.auth.middleware.AuthenticationMiddleware",
              "django.contrib.messages.middleware.MessageMiddleware"]
ROOT_URLCONF = "peerproj.urls"
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "DIRS": [], "APP_DIRS": True,
              "OPTIONS": {"context_processors": ["django.template.context_processors.request",
                                                 "django.contrib.auth.context_processors.auth",
                                                 "django.contrib.messages.context_processors.messages"]}}]
WSGI_APPLICATION = "peerproj.wsgi.application"
DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": os.environ["PEER_DB_NAME"],
                         "USER": os.environ.get("PEER_DB_USER", "postgres"),
                         "PASSWORD": os.environ.get("PEER_DB_PASSWORD", ""),
                         "HOST": os.environ.get("PEER_DB_HOST", "127.0.0.1"),
                         "PORT": os.environ.get("PEER_DB_PORT", "5432"), "CONN_MAX_AGE": 600}}
LANGUAGE_CODE = "en"
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
APPOINTMENT_SLOT_DURATION = 15
APPOINTMENT_LEAD_TIME = (10, 0)
APPOINTMENT_FINISH_TIME = (21, 0)
APPOINTMENT_BUFFER_TIME = 60
LOGGING = {"version": 1, "disable_existing_loggers": True, "root": {"level": "ERROR"}}
'''

URLS = '''
from django.urls import include, path
urlpatterns = [path("appointment/", include("appointment.urls"))]
'''

WSGI = '''
import os
from django.core.wsgi import get_wsgi_application
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peerproj.settings")
application = get_wsgi_application()
'''

SEED = '''
import datetime, json, sys
from django.contrib.auth import get_user_model
from appointment.models import Service, StaffMember, WorkingHours, AppointmentRequest, Appointment
User = get_user_model()
days = int(sys.argv[1]); hours = json.loads(sys.argv[2]); first = datetime.date.fromisoformat(sys.argv[3])
doctor, _ = User.objects.get_or_create(username="doctor", defaults={"email": "doctor@peer.test",
                                                                      "first_name": "Dr", "last_name": "Peer"})
service, _ = Service.objects.get_or_create(name="Consultation", defaults={"duration": datetime.timedelta(minutes=30),
                                                                         "price": 35})
staff, _ = StaffMember.objects.get_or_create(user=doctor, defaults={
    "slot_duration": 15, "lead_time": datetime.time(10), "finish_time": datetime.time(21),
    "work_on_saturday": True, "work_on_sunday": True, "appointment_buffer_time": 60})
staff.services_offered.add(service)
for day in range(7):
    WorkingHours.objects.get_or_create(staff_member=staff, day_of_week=day,
                                       defaults={"start_time": datetime.time(10), "end_time": datetime.time(21)})
patient, _ = User.objects.get_or_create(username="patient", defaults={"email": "patient@peer.test"})
for d in range(days):
    for h in hours:
        when = first + datetime.timedelta(days=d)
        request = AppointmentRequest.objects.create(date=when, start_time=datetime.time(h),
                                                    end_time=datetime.time(h, 30), service=service,
                                                    staff_member=staff)
        Appointment.objects.create(client=patient, appointment_request=request, phone="+33612345678",
                                   address="Paris")
print(json.dumps({"staff": staff.id, "service": service.id}))
'''

COUNT = '''
import datetime, sys
from appointment.models import AppointmentRequest
when = datetime.date.fromisoformat(sys.argv[1]); at = datetime.time.fromisoformat(sys.argv[2])
print(AppointmentRequest.objects.filter(date=when, start_time=at).count())
'''


def build_peer(folder: Path) -> Path:
    """The peer's virtualenv and project; returns the project folder."""
    venv = folder / "venv"
    python = venv / "bin" / "python"
    if not (venv / "bin" / "gunicorn").exists():
        print(f"building {PEER} in {venv} …", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "-U", "pip"], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", PEER, *PEER_DEPS], check=True)
    project = folder / "project"
    (project / "peerproj").mkdir(parents=True, exist_ok=True)
    (project / "peerproj" / "__init__.py").write_text("")
    (project / "peerproj" / "settings.py").write_text(SETTINGS)
    (project / "peerproj" / "urls.py").write_text(URLS)
    (project / "peerproj" / "wsgi.py").write_text(WSGI)
    (project / "seed.py").write_text(SEED)
    (project / "count.py").write_text(COUNT)
    return project


def peer_env(db_url: str, db_name: str) -> dict[str, str]:
    url = make_url(db_url)
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "peerproj.settings", "PEER_DB_NAME": db_name,
            "PEER_DB_USER": url.username or "postgres", "PEER_DB_PASSWORD": url.password or "",
            "PEER_DB_HOST": url.host or "127.0.0.1", "PEER_DB_PORT": str(url.port or 5432)}


def django(folder: Path, project: Path, env: dict, *args: str) -> str:
    python = folder / "venv" / "bin" / "python"
    done = subprocess.run([str(python), *args], cwd=project, env={**env, "PYTHONPATH": str(project)},
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"peer: {' '.join(args[:3])} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def start_peer(folder: Path, project: Path, env: dict, workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = (folder / "gunicorn.log").open("w")
    proc = subprocess.Popen([str(folder / "venv" / "bin" / "gunicorn"), "peerproj.wsgi", "--bind",
                             f"127.0.0.1:{port}", "--workers", str(workers), "--threads", "4",
                             "--worker-class", "gthread", "--timeout", "60"],
                            cwd=project, env={**env, "PYTHONPATH": str(project)}, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/appointment/ajax/fetch_staff_list/")
            conn.getresponse().read()
            return proc, base
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("peer: gunicorn did not answer")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


def prepare_doktu(db_url: str, doctor_id: str, first: date, days: int) -> None:
    """The peer's schedule on a seeded Doktu doctor: template hours only, the same bookings."""
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.role', 'system', true)"))
        conn.execute(text("DELETE FROM slots WHERE doctor_id = :d"), {"d": doctor_id})
        conn.execute(text("UPDATE doctors SET weekly_hours = NULL, online = true WHERE id = :d"), {"d": doctor_id})
        patient = conn.execute(text("SELECT id FROM patients LIMIT 1")).scalar()
        for d in range(days):
            for h in BOOKED_HOURS:
                start = datetime.combine(first + timedelta(days=d), datetime.min.time(), PARIS).replace(hour=h)
                conn.execute(text("""INSERT INTO appointments (doctor_id, patient_id, start_at, end_at, status)
                                     VALUES (:d, :p, :s, :e, 'confirmed') ON CONFLICT DO NOTHING"""),
                             {"d": doctor_id, "p": patient, "s": start, "e": start + timedelta(minutes=30)})
    engine.dispose()


def paris_day(day: date) -> tuple[str, str]:
    start = datetime.combine(day, datetime.min.time(), PARIS)
    return start.isoformat(), datetime.combine(day + timedelta(days=1), datetime.min.time(), PARIS).isoformat()


AJAX = {"X-Requested-With": "XMLHttpRequest"}  # the peer's slot call answers only AJAX requests


def sequential_ms(base: str, paths: list[str], n: int, headers: dict | None = None) -> float:
    """Median ms of `n` one-at-a-time passes over `paths` (one pass = one day or one week)."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    timings = []
    for i in range(n + 3):
        t = time.perf_counter()
        for path in paths:
            conn.request("GET", path, headers=headers or {})
            response = conn.getresponse()
            body = response.read()
            assert response.status == 200 and b'"success": false' not in body, (path, response.status, body[:200])
        if i >= 3:
            timings.append((time.perf_counter() - t) * 1000)
    return statistics.median(timings)


def doktu_race(base: str, db_url: str, doctor_id: str, start: datetime) -> tuple[int, int]:
    """50 patients hold one start at once: (201s, bookings of that start in the database)."""
    from core.accounts.passwords import hash_password

    engine = create_engine(db_url)
    cheap = hash_password(PASSWORD, cost=4)
    emails = [f"racer{i}@bench.doktu.eu" for i in range(50)]
    with engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.role', 'system', true)"))
        for email in emails:
            uid = conn.execute(text("""INSERT INTO users (email, role, full_name, password_hash)
                VALUES (:e, 'patient', 'Racer', :h) ON CONFLICT ((lower(email))) DO UPDATE SET full_name = 'Racer'
                RETURNING id"""), {"e": email, "h": cheap}).scalar()
            conn.execute(text("INSERT INTO patients (user_id) VALUES (:u) ON CONFLICT DO NOTHING"), {"u": uid})
    parts = urlsplit(base)
    tokens = []
    for email in emails:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        conn.request("POST", "/api/auth/token", json.dumps({"email": email, "password": PASSWORD}),
                     {"Content-Type": "application/json"})
        tokens.append(json.loads(conn.getresponse().read())["access_token"])
    statuses = race(50, lambda i: (parts, "POST", "/api/slots/hold",
                                   json.dumps({"doctorId": doctor_id, "start": start.isoformat()}),
                                   {"Content-Type": "application/json", "Authorization": f"Bearer {tokens[i]}"}))
    with engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.role', 'system', true)"))
        held = conn.execute(text("""SELECT count(*) FROM slots WHERE doctor_id = :d AND start_at = :s
                                     AND locked_until > now()"""), {"d": doctor_id, "s": start}).scalar()
    engine.dispose()
    return statuses.count(201), held


def race(n: int, request) -> list[int]:
    barrier = threading.Barrier(n)
    statuses: list[int] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        parts, method, path, body, headers = request(i)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        conn.connect()
        barrier.wait()
        conn.request(method, path, body, headers)
        status = conn.getresponse().status
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return statuses


def peer_race(base: str, folder: Path, project: Path, env: dict, staff: int, service: int,
              day: date, hour: int) -> tuple[int, int]:
    """50 clients submit the peer's booking form for one start at once, each then its details.
    (answers that went on to the details page, bookings of that start in the database)."""
    parts = urlsplit(base)

    def prepare(i: int):
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        conn.request("GET", f"/appointment/request/{service}/")
        response = conn.getresponse()
        page = response.read().decode(errors="replace")
        cookie = re.search(r"csrftoken=([^;]+)", response.getheader("Set-Cookie") or "")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        csrf = cookie.group(1) if cookie else ""
        body = urlencode({"csrfmiddlewaretoken": token.group(1) if token else csrf, "date": day.isoformat(),
                          "start_time": f"{hour:02d}:00", "end_time": f"{hour:02d}:30", "service": service,
                          "staff_member": staff})
        return (parts, "POST", "/appointment/request-submit/", body,
                {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={csrf}",
                 "Referer": base + "/"})

    statuses = race(50, prepare)
    booked = int(django(folder, project, env, "-c", _count_script(project), day.isoformat(), f"{hour:02d}:00").strip()
                 or 0)
    return sum(1 for s in statuses if s in (200, 302)), booked


def _count_script(project: Path) -> str:
    return ("import django, runpy, sys; django.setup(); "
            f"sys.argv = ['count'] + sys.argv[1:]; runpy.run_path({str(project / 'count.py')!r})")


def ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}×" if b else "n/a"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=8, help="wrk duration of each throughput run")
    parser.add_argument("--folder", type=Path, default=ROOT / "bench" / ".peer",
                        help="where the peer's virtualenv and project live (git-ignored)")
    parser.add_argument("--db", default="doktu_bench_peer", help="Doktu's database (created and dropped)")
    parser.add_argument("--peer-db", default="peer_bench", help="the peer's database (created and dropped)")
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("note: wrk is not installed (apt-get install wrk): throughput uses a Python client")
    project = build_peer(args.folder)
    server_url = _sqlalchemy_url(os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL))
    peer_db_url = create_database(server_url, args.peer_db)
    env = peer_env(peer_db_url, args.peer_db)
    workers = args.workers or 2 * (os.cpu_count() or 1) + 1
    first = (datetime.now(PARIS) + timedelta(days=1)).date()
    day = first + timedelta(days=1)
    week = [first + timedelta(days=i) for i in range(7)]
    try:
        # The wheel ships no migrations for its own app: make them (inside the peer's virtualenv).
        django(args.folder, project, env, "-m", "django", "makemigrations", "appointment", "-v", "0")
        django(args.folder, project, env, "-m", "django", "migrate", "-v", "0")
        ids = json.loads(django(args.folder, project, env, "-c",
                                "import django, runpy, sys; django.setup(); "
                                "sys.argv = ['seed'] + sys.argv[1:]; "
                                f"runpy.run_path({str(project / 'seed.py')!r})",
                                "8", json.dumps(BOOKED_HOURS), first.isoformat()).strip().splitlines()[-1])
        peer_proc, peer_base = start_peer(args.folder, project, env, workers)
        try:
            with seeded_server(args.db, workers=args.workers) as doktu:
                doctor = doktu.doctor_ids[0]
                prepare_doktu(doktu.db_url, doctor, first, 8)
                compare(args, doktu, doctor, peer_proc, peer_base, ids, day, week, project, env)
        finally:
            stop(peer_proc)
    finally:
        drop_database(server_url, args.peer_db)
    print(f"(measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f}; both under gunicorn, {workers} workers × 4 threads, gthread; peer {PEER})")


def compare(args, doktu, doctor, peer_proc, peer_base, ids, day, week, project, env) -> None:
    def peer_day(d: date) -> str:
        return ("/appointment/ajax/available_slots/?"
                + urlencode({"selected_date": d.isoformat(), "staff_member": ids["staff"],
                             "service_id": ids["service"]}))

    def doktu_window(first_day: date, days: int) -> str:
        start = datetime.combine(first_day, datetime.min.time(), PARIS)
        return (f"/api/doctors/{doctor}/unified-availability?"
                + urlencode({"from": start.isoformat(), "to": (start + timedelta(days=days)).isoformat()}))

    # Both answer the same question: the free starts of that day.
    probe = http.client.HTTPConnection(*urlsplit(peer_base).netloc.split(":"))
    probe.request("GET", peer_day(day), headers=AJAX)
    peer_slots = json.loads(probe.getresponse().read()).get("available_slots", [])
    probe = http.client.HTTPConnection(*urlsplit(doktu.url).netloc.split(":"))
    probe.request("GET", doktu_window(day, 1))
    doktu_slots = [s for s in json.loads(probe.getresponse().read())["slots"] if s["isAvailable"]]
    print(f"one day ({day}): Doktu offers {len(doktu_slots)} starts, the peer {len(peer_slots)}")

    doktu_db, peer_db = DatabaseCpu(doktu.db_url), DatabaseCpu(make_url(doktu.db_url).set(
        database=env["PEER_DB_NAME"]).render_as_string(hide_password=False))
    rows: dict[str, list[float]] = {k: [] for k in ("day_ms", "week_ms", "rps", "cpu", "cpu_db")}
    for round_ in range(1, args.rounds + 1):
        d_day = sequential_ms(doktu.url, [doktu_window(day, 1)], 100)
        p_day = sequential_ms(peer_base, [peer_day(day)], 100, AJAX)
        d_week = sequential_ms(doktu.url, [doktu_window(week[0], 7)], 40)
        p_week = sequential_ms(peer_base, [peer_day(d) for d in week], 40, AJAX)
        d_load = get_load("Doktu one day", doktu.url, [doktu_window(day, 1)], pgid=doktu.pid, db_cpu=doktu_db,
                          seconds=args.seconds)
        p_load = get_load("peer one day", peer_base, [peer_day(day)], pgid=peer_proc.pid, db_cpu=peer_db,
                          seconds=args.seconds, headers=AJAX)
        print(f"round {round_}: one day {d_day:.1f} / {p_day:.1f} ms; one week {d_week:.1f} / {p_week:.1f} ms")
        print(f"  {d_load.line()}\n  {p_load.line()}")
        rows["day_ms"].append(p_day / d_day)
        rows["week_ms"].append(p_week / d_week)
        rows["rps"].append(d_load.rps / p_load.rps)
        rows["cpu"].append(p_load.app_ms / d_load.app_ms)
        rows["cpu_db"].append((p_load.app_ms + p_load.db_ms) / (d_load.app_ms + d_load.db_ms))
    med = {k: statistics.median(v) for k, v in rows.items()}
    print(f"Doktu vs django-appointment (median of {args.rounds} interleaved rounds; > 1 = Doktu faster):")
    print(f"  one day, one request at a time:   {med['day_ms']:.1f}×")
    print(f"  one week, one request at a time:  {med['week_ms']:.1f}× (the peer: 7 day calls)")
    print(f"  one day, throughput (wrk):        {med['rps']:.1f}× req/s")
    print(f"  one day, CPU per request:         {med['cpu']:.1f}× less in the app, "
          f"{med['cpu_db']:.1f}× less with PostgreSQL")
    race_day = week[3]
    race_start = datetime.combine(race_day, datetime.min.time(), PARIS).replace(hour=13)
    held, doktu_held = doktu_race(doktu.url, doktu.db_url, doctor, race_start)
    print(f"race, 50 clients for one start: Doktu {held} held (201), {doktu_held} live hold in the database")
    try:
        answered, booked = peer_race(peer_base, args.folder, project, env, ids["staff"], ids["service"], race_day, 13)
        print(f"race, 50 clients for one start: peer {answered} accepted the booking form, "
              f"{booked} booking requests for that start in its database")
    except Exception as exc:  # the peer's flow is the peer's: report, do not hide Doktu's figures
        print(f"race on the peer not measured: {type(exc).__name__}: {exc}")


if __name__ == "__main__":
    main()
