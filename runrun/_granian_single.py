"""granian with its one worker inside the server's own process: no fork, no second process.

With one worker (one CPU, Cloud Run's default instance) a supervising master process buys
nothing a container does not already have: the platform restarts a container whose server
exits. Forking it costs a cold start on one CPU the fork itself, the copy-on-write faults
of every page the worker then touches, the worker's own set-up and the master's work after
the fork: about 25 ms of the 0.25-0.3 s of CPU until the first answer (docs/benchmarks.md). So
`serve` runs granian's thread-worker server, whose worker is a thread of this process,
instead of its process-worker server.

What stays as with worker processes: the socket is bound before the app is loaded in the
worker (a port in use is refused before any runtime starts); `worker_started` runs before
the first request and `worker_stopping` after the last; SIGTERM and SIGINT stop accepting,
let the requests in flight finish, and the process exits 0; a worker that has not stopped
`kill_timeout` seconds after the signal is cut short (as a worker process is killed), and
a worker that dies ends the process with status 1. SIGHUP, which respawns worker
processes, is ignored (a second worker thread would start a second runtime in this process).

granian allows its thread workers only on free-threaded Python, where several of them run
Python at once; one worker beside an idle main thread is what its process workers run
too, so that check is skipped here.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from granian.server import common, mt

from . import _lifecycle
from ._granian_wsgi import install

log = logging.getLogger("runrun.server")

# Partly annotated: used as the untyped classes they mostly are.
AbstractServer: Any = common.AbstractServer
MTServer: Any = mt.MTServer


class OneWorkerServer(MTServer):  # type: ignore[misc]
    """granian's thread-worker server, run with one worker on a regular (GIL) build."""

    def __init__(self, target: str, *, kill_timeout: float, **settings: Any) -> None:
        # No kill timeout of granian's own: it would `kill()` the thread, which it cannot.
        super().__init__(target, **{**settings, "workers": 1, "workers_kill_timeout": None})
        self.kill_timeout = kill_timeout
        self.main_loop_interrupt = _WakingEvent()

    def serve(
        self,
        spawn_target: Callable[..., None] | None = None,
        target_loader: Callable[..., Any] | None = None,
        wrap_loader: bool = True,
    ) -> None:
        # MTServer.serve only adds a warning that free-threading is experimental, which is
        # not what runs here.
        AbstractServer.serve(self, spawn_target, target_loader, wrap_loader)

    def _serve(self, spawn_target: Callable[..., None], target_loader: Any) -> None:
        # As with worker processes: bind, then load the app in the worker (MTServer loads
        # it first, and checks for a free-threaded build).
        AbstractServer._serve(self, spawn_target, target_loader)

    def signal_handler_reload(self, *args: Any, **kwargs: Any) -> None:
        # SIGHUP respawns worker processes, each with a runtime of its own. Here the new
        # worker would start a second runtime in this process beside the first one.
        log.warning("SIGHUP ignored: the one worker runs in the server's process")

    def shutdown(self, exit_code: int = 0) -> None:
        watchdog = threading.Timer(self.kill_timeout, _cut_short, args=(self.kill_timeout,))
        watchdog.daemon = True
        watchdog.start()
        super().shutdown(exit_code)


class _WakingEvent(threading.Event):
    """granian's main-loop event, whose untimed wait wakes twice a second.

    Python runs a signal's handler in the main thread only, when it next runs Python code.
    The kernel may hand SIGTERM to any thread of the process (here the worker's, granian's
    runtime's, gRPC's): the main thread, asleep in granian's untimed wait, would then never
    run the handler, and the server would go on serving after SIGTERM until it is killed
    (a rollout under load shows it a few times in a hundred). Waking twice a second runs it
    within half a second."""

    def wait(self, timeout: float | None = None) -> bool:
        if timeout is not None:
            return super().wait(timeout)
        while not super().wait(0.5):
            pass
        return True


def _cut_short(seconds: float) -> None:
    log.warning("worker did not stop within %s s of the signal: exiting", seconds)
    logging.shutdown()
    os._exit(0)  # what a supervising master does once it has killed its worker


def thread_worker(
    worker_id: int, signal: Any, loader: Callable[[], Any], *args: Any, **kwargs: Any
) -> None:
    """The worker thread: load the app (`worker_started`), serve until the signal, drain,
    then `worker_stopping`."""
    install()
    try:
        MTServer._spawn_wsgi_worker(worker_id, signal, loader(), *args, **kwargs)
    finally:
        _lifecycle.worker_stopping()
