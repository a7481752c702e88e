"""The composition root (issue 22): one Runtime per process, made by `core.runtime.bootstrap`, and
the unit of work that carries it."""

import subprocess
import sys
import uuid
from datetime import timedelta

import pytest

from core import clock, runtime
from core import db as core_db
from core.actor import SYSTEM
from core.db import unit_of_work
from core.models import Slot
from core.notify.delivery import DevOutbox
from core.payments.gateway import LocalGateway
from core.scheduling import availability_cache


def test_the_app_and_the_services_share_one_runtime(app, settings):
    rt = runtime.current()
    assert app.extensions["doktu"] is rt and rt.settings is settings
    assert isinstance(rt.gateway, LocalGateway) and isinstance(rt.mailer, DevOutbox)
    assert rt.holds.client is rt.redis and rt.cache is rt.redis


def test_a_worker_bootstraps_without_flask(settings):
    """`doktu worker` builds its runtime from the settings alone: no Flask, no Dash, no portals."""
    code = (
        "import sys\n"
        "from core.config import Settings\n"
        "from jobs.runtime import bootstrap_worker, RqDispatcher\n"
        f"rt = bootstrap_worker(Settings(env='test', database_url={settings.database_url!r}, "
        f"redis_url={settings.redis_url!r}))\n"
        "assert isinstance(rt.dispatcher, RqDispatcher), rt.dispatcher\n"
        # a job that changes a calendar drops its cached copy too (the cache lives in every runtime)
        "assert rt.availability.client is rt.redis and rt.watches_calendars\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'dash', 'portals'))\n"
        "assert not loaded, loaded\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_mirror_follows_the_commit_only(db, app):
    mirror = app.extensions["doktu"].redis
    kept, freed = uuid.uuid4(), uuid.uuid4()
    mirror.set(f"slot_holds:{kept}", "someone")
    mirror.set(f"slot_holds:{freed}", "someone")
    with pytest.raises(RuntimeError), unit_of_work(SYSTEM) as uow:
        uow.holds_freed([kept])
        raise RuntimeError("rolled back")
    assert mirror.get(f"slot_holds:{kept}") is not None  # nothing was freed: the mirror stays
    with unit_of_work(SYSTEM) as uow:
        uow.holds_freed([freed])
        uow.hold_taken(kept, uuid.UUID(int=7))
    assert mirror.get(f"slot_holds:{freed}") is None
    assert mirror.get(f"slot_holds:{kept}").decode() == str(uuid.UUID(int=7))


def test_the_availability_cache_and_the_calendar_listeners_live_in_the_runtime(app):
    """No module keeps them (issue 22): the cache is the runtime's, on the runtime's Redis."""
    rt = runtime.current()
    assert availability_cache.current() is rt.availability and rt.availability.client is rt.redis
    assert not hasattr(availability_cache, "_cache") and not hasattr(availability_cache, "configure")
    assert not hasattr(core_db, "calendar_listeners")


def test_a_committed_calendar_change_is_told_to_the_runtime_after_the_commit(db, make_user, monkeypatch):
    rt = runtime.current()
    heard, dropped = [], []
    monkeypatch.setattr(rt, "calendar_listeners", [heard.append, lambda ids: 1 / 0])  # a failing one too
    monkeypatch.setattr(rt.availability, "invalidate", dropped.append)
    doctor = make_user("doctor").doctor
    heard.clear(), dropped.clear()
    start = clock.now().replace(microsecond=0) + timedelta(days=2)

    def add_slot(uow):
        uow.session.add(Slot(doctor_id=doctor.id, start_at=start, end_at=start + timedelta(minutes=30),
                             is_available=True))

    with pytest.raises(RuntimeError), unit_of_work(SYSTEM) as uow:
        add_slot(uow)
        uow.session.flush()
        raise RuntimeError("rolled back")
    assert heard == [] and dropped == []  # nothing was committed: nobody is told
    with unit_of_work(SYSTEM) as uow:  # the failing listener does not fail the committed use case
        add_slot(uow)
    assert heard == [[doctor.id]] and dropped == [[doctor.id]]
    with unit_of_work(SYSTEM) as uow:
        uow.session.get(type(doctor), doctor.id)  # read only
    assert heard == [[doctor.id]]
