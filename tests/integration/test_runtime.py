"""The composition root (issue 22): one Runtime per process, made by `core.runtime.bootstrap`, and
the unit of work that carries it."""

import subprocess
import sys
import uuid

import pytest

from core import runtime
from core.actor import SYSTEM
from core.db import unit_of_work
from core.notify.delivery import DevOutbox
from core.payments.gateway import LocalGateway


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
