"""Test fixtures: a fresh PostgreSQL database built by the migrations, each test rolled back.

PostgreSQL: TEST_DATABASE_URL, else DATABASE_URL (the machine's server in CI), else an embedded
pgserver in a temporary folder. TEST_DB_NAME names the database (default doktu_test) and, unless
TEST_REDIS_URL is set, the Redis db too (tests/resources.py), so parallel runs do not collide.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import create_engine, null, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from core import db as core_db
from core import runtime
from core.accounts.passwords import hash_password
from core.actor import SYSTEM, Actor
from core.config import Settings, sqlalchemy_url
from core.db import unit_of_work
from core.models import Doctor, Patient, User
from portals.migrate import upgrade
from tests import resources

# One live server for the browser and end-to-end suites (started only when a test asks for it).
pytest_plugins = ["tests.live_browser"]

TEST_PASSWORD = "Correct-Horse-42!"
# Factories hash at cost 4 to keep the suite fast; production hashes at 12 (tested separately).
TEST_PASSWORD_HASH = hash_password(TEST_PASSWORD, cost=4)


def _server_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if url:
        return sqlalchemy_url(url)
    from core.embedded import start_embedded_postgres

    return start_embedded_postgres(tmp_path_factory.mktemp("pg"), cleanup_mode="delete")


def _admin_engine(server_url: str):
    return create_engine(make_url(server_url).set(database="postgres"), isolation_level="AUTOCOMMIT")


def create_fresh_database(server_url: str, name: str) -> str:
    engine = _admin_engine(server_url)
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, name: str) -> None:
    engine = _admin_engine(server_url)
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(scope="session")
def server_url(tmp_path_factory) -> str:
    return _server_url(tmp_path_factory)


@pytest.fixture(scope="session")
def database_url(server_url) -> Iterator[str]:
    name = resources.db_name()
    url = create_fresh_database(server_url, name)
    upgrade(url)
    yield url
    if runtime.installed() is not None:  # the app was built: close its pool before dropping
        runtime.current().db.engine.dispose()
    drop_database(server_url, name)


@pytest.fixture(scope="session")
def redis_url() -> str:
    return resources.redis_url()


@pytest.fixture(scope="session")
def settings(database_url, redis_url, tmp_path_factory) -> Settings:
    return Settings.from_env({
        "DOKTU_ENV": "test", "DATABASE_URL": database_url, "REDIS_URL": redis_url,
        "SECRET_KEY": "test-secret-key-that-is-long-enough-for-hs256-0123456789",
        "DOKTU_INSTANCE_PATH": str(tmp_path_factory.mktemp("instance")),
        "STRIPE_WEBHOOK_SECRET": "whsec_test_secret",
    })


@pytest.fixture(scope="session")
def app(settings):
    from portals import create_app

    app = create_app(settings)
    app.extensions["doktu"].redis.flushdb()
    return app


@pytest.fixture
def db(app, monkeypatch) -> Iterator[sessionmaker]:
    """Every unit of work in the test runs inside one transaction that is rolled back at the end."""
    app.extensions["doktu"].redis.flushdb()  # queues, failure counters, holds: nothing leaks between tests
    conn = core_db.current().engine.connect()
    outer = conn.begin()
    factory = sessionmaker(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    previous = core_db.set_session_factory(factory)
    yield factory
    core_db.set_session_factory(previous)
    outer.rollback()
    conn.close()


@pytest.fixture
def client(app, db):
    return app.test_client()


@dataclass
class Made:
    user: User
    patient: Patient | None = None
    doctor: Doctor | None = None

    @property
    def actor(self) -> Actor:
        return Actor(self.user.id, self.user.role)

    @property
    def email(self) -> str:
        return self.user.email


@pytest.fixture
def make_user(db):
    """Create a user (with their patient or doctor row) as the system; returns a `Made`."""

    def create(role: str = "patient", *, email: str | None = None, full_name: str = "Test Person",
               verified: bool = True, **profile) -> Made:
        email = email or f"{role}-{uuid.uuid4().hex[:8]}@tests.doktu.eu"  # .test is refused by email-validator
        with unit_of_work(SYSTEM) as uow:
            user = User(email=email, role=role, full_name=full_name, password_hash=TEST_PASSWORD_HASH)
            if not verified:  # the database marks accounts verified unless told otherwise (SPEC §21)
                user.email_verified_at = null()  # an explicit NULL, not the column's default
            uow.session.add(user)
            uow.session.flush()
            made = Made(user)
            if role == "patient":
                made.patient = Patient(user_id=user.id, **profile)
                uow.session.add(made.patient)
            elif role == "doctor":
                made.doctor = Doctor(user_id=user.id, display_name=full_name,
                                     specialty=profile.pop("specialty", "General practice"), **profile)
                uow.session.add(made.doctor)
            uow.session.flush()
        return made

    return create


@pytest.fixture
def login(client):
    """Sign a test client in through the real /login form (CSRF included)."""
    import re

    def sign_in(email: str, password: str = TEST_PASSWORD):
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        return client.post("/login", data={"email": email, "password": password, "csrf_token": token})

    return sign_in


@dataclass
class CommittedClinic:
    doctor_id: uuid.UUID
    patients: list[tuple[uuid.UUID, uuid.UUID]]  # (user id, patient id)


@pytest.fixture
def committed_clinic(app):
    """A doctor and n patients committed for real, for tests that race separate connections;
    deleted again afterwards."""
    engine = core_db.current().engine
    suffix = uuid.uuid4().hex[:8]

    def create(patients: int) -> CommittedClinic:
        with engine.begin() as conn:
            conn.execute(text("SELECT set_config('app.role', 'system', true)"))
            doctor_user = conn.execute(text("""INSERT INTO users (email, role, full_name, password_hash)
                VALUES (:e, 'doctor', 'Dr Race', 'x') RETURNING id"""), {"e": f"race-doc-{suffix}@tests.doktu.eu"}).scalar()
            doctor = conn.execute(text("""INSERT INTO doctors (user_id, display_name, specialty)
                VALUES (:u, 'Dr Race', 'GP') RETURNING id"""), {"u": doctor_user}).scalar()
            people = []
            for i in range(patients):
                uid = conn.execute(text("""INSERT INTO users (email, role, full_name, password_hash)
                    VALUES (:e, 'patient', 'Racer', 'x') RETURNING id"""),
                    {"e": f"racer{i}-{suffix}@tests.doktu.eu"}).scalar()
                pid = conn.execute(text("INSERT INTO patients (user_id) VALUES (:u) RETURNING id"), {"u": uid}).scalar()
                people.append((uid, pid))
        return CommittedClinic(doctor, people)

    yield create
    with engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.role', 'system', true)"))
        conn.execute(text("""DELETE FROM appointments WHERE doctor_id IN
            (SELECT d.id FROM doctors d JOIN users u ON u.id = d.user_id WHERE u.email LIKE :p)"""),
            {"p": f"%-{suffix}@tests.doktu.eu"})
        # Patients first, in their own transaction: a funnel row naming both a patient and the doctor
        # gets its two ON DELETE SET NULLs in two transactions, else the second re-checks the first
        # key against a doctor deleted by the same statement (an order-dependent FK error).
        conn.execute(text("DELETE FROM users WHERE email LIKE :p AND role = 'patient'"),
                     {"p": f"%-{suffix}@tests.doktu.eu"})
    with engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.role', 'system', true)"))
        conn.execute(text("DELETE FROM users WHERE email LIKE :p"), {"p": f"%-{suffix}@tests.doktu.eu"})
