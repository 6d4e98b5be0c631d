"""What each server worker process does when it starts and before it exits: build this
process's runtime (with the inspector's recorder when the inspector is on) and start it
before the first request; stop it at SIGTERM, after the last request.

Nothing here runs in the pre-fork master: every client, connection and thread of the
runtime belongs to the worker that built it.
"""

from __future__ import annotations

import logging

from shared import Runtime, Settings, get_settings, install_runtime, stop_runtime
from shared._batch_sizes import write_out as write_batch_sizes

from ._activity import ActivityRecorder

log = logging.getLogger("runrun.server")


def build_runtime(settings: Settings | None = None) -> Runtime:
    """The runtime runrun serves with: the settings' backends, plus the activity recorder
    as an observer when the inspector is on."""
    settings = settings or get_settings()
    observers = []
    if settings.inspector_enabled:
        observers.append(ActivityRecorder(settings.state_dir / "activity.sqlite3"))
    return Runtime(settings, observers=observers)


def worker_started() -> Runtime:
    """Build and start this worker's runtime: the local queue's worker drains whatever an
    earlier run left in the outbox without waiting for a request."""
    return install_runtime(build_runtime().start())


def worker_stopping(timeout: float = 5.0) -> None:
    """Let the queue message in hand finish; flush the publisher and the recorder."""
    try:
        stop_runtime(timeout)
        log.info("worker stopped: queue worker and publisher flushed")
    except Exception:  # a failing flush must not turn a clean shutdown into a crash loop
        log.exception("flushing the publisher at shutdown failed")
    try:
        write_batch_sizes()
    except OSError:  # figures for the benchmark only: never a reason to fail a shutdown
        log.exception("writing the batch sizes out failed")
