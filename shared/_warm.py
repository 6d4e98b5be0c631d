"""Warm starts under plain functions-framework, which has no start-up hook.

runrun warms each worker's runtime before it serves (runrun/_lifecycle.py). Under
`functions-framework --target X` (and on Cloud Functions) nothing runs between the import of
the source and the first request, so the functions package calls `warm_start_in_background()`
when it is imported, explicitly: importing `shared` itself never starts anything.

The catch is the fork. functions-framework imports the source in gunicorn's master, then
forks the worker that serves; gRPC must not be initialised before a fork (the child's
channels would depend on threads that did not survive it). So:

- in every process forked after this call, the warm-up starts in a background thread right
  after the fork (`os.register_at_fork`): that is gunicorn's worker;
- in the importing process itself it starts after a short pause, and only if the process
  has not forked meanwhile (a process that forks right after the import is a pre-fork
  master, which never serves); that covers `--debug` and in-process servers;
- a process whose server builds and warms the runtime itself says so first
  (`runtime_managed_by_server()`, which runrun calls): then none of this happens.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

log = logging.getLogger("runrun.runtime")

# Long enough for a pre-fork master to fork (gunicorn does within milliseconds of loading).
_MASTER_GRACE_SECONDS = 1.0


class _State:
    managed = False  # a server builds, starts and warms this process's runtime
    registered = False
    forked = threading.Event()  # this process forked after warm_start_in_background()


def runtime_managed_by_server() -> None:
    """Declare that this process's server builds and warms each worker's runtime."""
    _State.managed = True


def warm_start_in_background() -> None:
    """Warm this process's runtime (and that of every process it forks) in the background;
    see the module's docstring. Safe to call more than once."""
    if _State.managed or _State.registered:
        return
    _State.registered = True
    os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)
    _thread(_warm_unless_forked)


def _before_fork() -> None:
    _State.forked.set()  # looked up at each fork: a child has an event of its own


def _after_fork_in_child() -> None:
    _State.forked = threading.Event()  # the child's own: it has not forked yet
    if not _State.managed:
        _thread(_warm)


def _warm_unless_forked() -> None:
    if not _State.forked.wait(_MASTER_GRACE_SECONDS):
        _warm()


def _thread(run: Callable[[], None]) -> None:
    threading.Thread(target=run, name="runrun-warm-start", daemon=True).start()


def _warm() -> None:
    from shared.runtime import current_runtime

    try:
        current_runtime().warm()
    except Exception:  # a warm start is an optimisation: it never costs the process
        log.exception("warm start failed")
