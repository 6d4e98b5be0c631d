"""What each server worker process does when it starts and before it exits: build this
process's runtime (with the inspector's recorder when the inspector is on) and start it
before the first request; stop it at SIGTERM, after the last request.

Nothing here runs in the pre-fork master: every client, connection and thread of the
runtime belongs to the worker that built it (granian's one worker at one CPU is a thread
of the server's process, which never forks: see `_granian_single`).
"""

from __future__ import annotations

import logging

from shared import (
    Runtime,
    Settings,
    get_settings,
    install_runtime,
    runtime_managed_by_server,
    stop_runtime,
)
from shared.backends._batch_sizes import write_out as write_batch_sizes

log = logging.getLogger("runrun.server")

# Said before the source is imported (the server imports this module first): each worker's
# runtime is built, started and warmed here, so the functions package must not warm one in
# the background of the pre-fork master or beside `worker_started`.
runtime_managed_by_server()


def build_runtime(settings: Settings | None = None) -> Runtime:
    """The runtime runrun serves with: the settings' backends, plus the activity recorder
    as an observer when the inspector is on."""
    settings = settings or get_settings()
    observers = []
    if settings.inspector_enabled:
        from ._activity import ActivityRecorder  # only when the inspector is on

        observers.append(ActivityRecorder(settings.state_dir / "activity.sqlite3"))
    return Runtime(settings, observers=observers)


def worker_started() -> Runtime:
    """Build, start and warm this worker's runtime before it serves: the local queue's
    worker drains whatever an earlier run left in the outbox without waiting for a request,
    and the store's and the queue's channels are open before the first delivery."""
    runtime = install_runtime(build_runtime().start())
    runtime.warm()
    return runtime


def worker_stopping(timeout: float = 5.0) -> None:
    """Let the queue message in hand finish; flush the publisher and the recorder."""
    try:
        stop_runtime(timeout)
        log.info("worker stopped: queue worker and publisher flushed")
    except Exception:  # a failing flush must not turn a clean shutdown into a crash loop
        log.exception("flushing the publisher at shutdown failed")
    try:
        write_batch_sizes(get_settings().batch_sizes_dir)
    except OSError:  # figures for the benchmark only: never a reason to fail a shutdown
        log.exception("writing the batch sizes out failed")
