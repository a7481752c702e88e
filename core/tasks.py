"""Deferred side effects by dotted path, so `core` never imports `jobs` (DESIGN: owed side effects).

Whatever a transaction defers is owed in PostgreSQL (`owed_effects`, written by `UnitOfWork.defer`
in the same transaction); dispatching after the commit only makes it happen sooner. The
dispatcher is the runtime's (`core.runtime.Runtime.dispatcher`): RQ enqueue once `jobs.runtime.init_jobs`
set it, inline until then (and before any bootstrap), which is what unit tests of services want.

A dispatcher is a callable `(dotted_path, args, kwargs)`; when it also has `owed(effect_id)`, an
owed effect is handed over by its id, so whoever runs it claims the row and marks it done. A
dispatcher without `owed` (a test recording what was deferred) gets the task itself and the row
stays owed for the sweep, which is safe because every task is idempotent.
"""

from __future__ import annotations

import importlib
import logging
import uuid
from collections.abc import Callable
from typing import Any

from core import runtime

log = logging.getLogger(__name__)

Dispatcher = Callable[[str, tuple, dict], None]
OWED_RUNNER = "core.owed.run_owed"  # claims an owed row, runs its task, marks it done


def call(dotted_path: str, args: tuple | list, kwargs: dict) -> Any:
    module_name, _, func_name = dotted_path.rpartition(".")
    func = getattr(importlib.import_module(module_name), func_name)
    return func(*args, **kwargs)


def run_inline(dotted_path: str, args: tuple, kwargs: dict) -> None:
    call(dotted_path, args, kwargs)


# The default dispatcher runs owed effects at once, through the runner, so they are marked done.
run_inline.owed = lambda effect_id: call(OWED_RUNNER, (effect_id,), {})  # type: ignore[attr-defined]



def current_dispatcher() -> Dispatcher:
    rt = runtime.installed()
    return rt.dispatcher if rt is not None else run_inline


def set_dispatcher(dispatcher: Dispatcher) -> Dispatcher:
    """Swap the runtime's dispatcher (tests record what was deferred); returns the previous one."""
    rt = runtime.current()
    previous, rt.dispatcher = rt.dispatcher, dispatcher
    return previous


def dispatch(dotted_path: str, *args: Any, **kwargs: Any) -> None:
    """Hand a task to the dispatcher now, with nothing owed (prefer `UnitOfWork.defer`)."""
    try:
        current_dispatcher()(dotted_path, args, kwargs)
    except Exception:  # a lost notification must not undo a committed booking
        log.exception("could not dispatch task %s", dotted_path)


def dispatch_owed(effect_id: uuid.UUID, dotted_path: str, args: tuple, kwargs: dict) -> None:
    """After the commit: try to have the owed effect run now. A failure (Redis down) loses
    nothing — the row is in PostgreSQL and the sweep runs it."""
    dispatcher = current_dispatcher()
    try:
        owed = getattr(dispatcher, "owed", None)
        if owed is not None:
            owed(str(effect_id))
        else:
            dispatcher(dotted_path, args, kwargs)
    except Exception as exc:
        log.warning("could not dispatch task %s (owed effect %s stays for the sweep): %s",
                    dotted_path, effect_id, type(exc).__name__)
