"""Deferred side effects by dotted path, so `core` never imports `jobs` (DESIGN: outbox).

The application installs a dispatcher at start-up (RQ enqueue, or in-process in the embedded
mode); until then, tasks run inline, which is what unit tests of services want.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

Dispatcher = Callable[[str, tuple, dict], None]


def run_inline(dotted_path: str, args: tuple, kwargs: dict) -> None:
    module_name, _, func_name = dotted_path.rpartition(".")
    func = getattr(importlib.import_module(module_name), func_name)
    func(*args, **kwargs)


_dispatcher: Dispatcher = run_inline


def set_dispatcher(dispatcher: Dispatcher) -> Dispatcher:
    global _dispatcher
    previous, _dispatcher = _dispatcher, dispatcher
    return previous


def dispatch(dotted_path: str, *args: Any, **kwargs: Any) -> None:
    try:
        _dispatcher(dotted_path, args, kwargs)
    except Exception:  # a lost notification must not undo a committed booking
        log.exception("could not dispatch task %s", dotted_path)
