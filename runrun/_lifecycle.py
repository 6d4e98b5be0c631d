"""What each server worker process does when it starts and before it exits.

Process-wide clients (gRPC channels in particular) are built lazily inside the worker that
uses them, never in a pre-fork master; this module only starts and stops what must run in
the background: the embedded queue's worker thread, and the publisher's flush on exit.
"""

from __future__ import annotations

import logging

log = logging.getLogger("runrun.server")


def worker_started() -> None:
    """Start this process's local queue worker when the embedded queue is selected."""
    from shared.handoff import ensure_worker

    # Drains whatever an earlier run left in the outbox without waiting for a request.
    ensure_worker()


def worker_stopping(timeout: float = 5.0) -> None:
    """Let the queue message in hand finish and flush the publisher (Pub/Sub or local)."""
    from shared.handoff import publisher, stop_worker

    try:
        stop_worker(timeout)
        built = publisher.peek()
        if built is not None:
            built.close(timeout)
        log.info("worker stopped: queue worker and publisher flushed")
    except Exception:  # a failing flush must not turn a clean shutdown into a crash loop
        log.exception("flushing the publisher at shutdown failed")
