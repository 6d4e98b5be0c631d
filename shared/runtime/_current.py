"""This process's runtime: installed by a server's worker start, or built on first use
(plain functions-framework has no start-up hook)."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator

from shared._log import configure_logging
from shared.runtime._runtime import Runtime
from shared.runtime._warm import warm_first_runtime
from shared.settings import get_settings

log = logging.getLogger("runrun.runtime")


class _RuntimeSlot:
    """The slot holding this process's runtime: installed by runrun's worker start, or
    built on first use.

    Keyed by pid, so a forked child never uses its parent's (threads do not survive a fork).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runtime: Runtime | None = None
        self._pid = 0

    def get(self) -> Runtime:
        runtime, pid = self._runtime, self._pid
        if runtime is not None and pid == os.getpid():
            return runtime
        with self._lock:
            if self._runtime is None or self._pid != os.getpid():
                # Plain functions-framework's start: its first request in each worker.
                configure_logging()
                self._runtime = Runtime(get_settings()).start()
                self._pid = os.getpid()
                warm_first_runtime(self._runtime)
            return self._runtime

    def install(self, runtime: Runtime) -> Runtime:
        with self._lock:
            previous = self._runtime if self._pid == os.getpid() else None
            self._runtime, self._pid = runtime, os.getpid()
        if previous is not None and previous is not runtime:
            previous.stop()
        return runtime

    def remove(self, timeout: float = 5.0) -> Runtime | None:
        with self._lock:
            runtime = self._runtime if self._pid == os.getpid() else None
            self._runtime, self._pid = None, 0
        if runtime is not None:
            runtime.stop(timeout)
        return runtime


_slot = _RuntimeSlot()


def current_runtime() -> Runtime:
    """This process's runtime, built and started from the settings on first use."""
    return _slot.get()


def install_runtime(runtime: Runtime) -> Runtime:
    """Make `runtime` this process's runtime (the one before it is stopped)."""
    return _slot.install(runtime)


def stop_runtime(timeout: float = 5.0) -> Runtime | None:
    """Stop and forget this process's runtime; the next use builds a fresh one."""
    return _slot.remove(timeout)


@contextlib.contextmanager
def using_runtime(runtime: Runtime) -> Iterator[Runtime]:
    """Run the block with `runtime` installed and started; stopped afterwards (tests)."""
    install_runtime(runtime.start())
    try:
        yield runtime
    finally:
        stop_runtime()


def announce_backends() -> None:
    """Log, once at start, which store and queue this process will use (and fail early on
    a bad setting rather than on the first delivery)."""
    settings = get_settings()
    log.info(
        "backends selected",
        extra={
            "store": settings.store.kind,
            "queue": settings.queue.kind,
            "topic": settings.queue.topic,
        },
    )
