"""Heartbeats: renew something held (a processor's claim, a queue message's lease) every
so often while the work it guards goes on, from one timer thread per process.

A lease must be short, so that the work of a crashed process is taken over within seconds,
yet a slow but live run must never lose it: so the holder renews it every third of the
lease while it runs. Work that ends before its first renewal is due costs nothing but an
entry in a heap: no thread, no write. The timer thread only keeps time; each renewal runs
on a small pool, so that one renewal waiting on a slow store delays no other.

    renewals = Renewals()
    beat = renewals.every(lease / 3, renew)   # renew() -> False: stop renewing
    ...the work...
    beat.cancel()                             # returns once no renewal is running
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger("runrun.renewals")

# Renewals running at once: each is one store write, and concurrent writes share a batch.
RENEWAL_THREADS = 4
# The timer wakes at most this often, taking every renewal due by then: most beats are
# cancelled before they are due (their run ended), and waking for each would cost a thread
# switch per run. A renewal is at most this late, against a lease of seconds.
TICK_SECONDS = 0.1


class Beat:
    """One registered renewal: `cancel` it when the work it guards is over."""

    def __init__(self, renewals: Renewals, interval: float, renew: Callable[[], bool]) -> None:
        self._renewals = renewals
        self.interval = interval
        self._renew = renew
        # Held while a renewal runs: `cancel` waits for it, so that the caller's next write
        # (a completion, a release) never races a renewal of the same record.
        self._lock = threading.Lock()
        self._cancelled = False

    def cancel(self) -> None:
        """Stop renewing; once this returns, no renewal is running or will run."""
        with self._lock:
            self._cancelled = True

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def _run(self) -> None:
        with self._lock:
            if self._cancelled:
                return
            try:
                again = self._renew()
            except Exception:  # noqa: BLE001 - a renewal's own failure stops only it
                log.exception("renewal failed")
                again = False
            if not again:
                self._cancelled = True
                return
        self._renewals._schedule(self)


class Renewals:
    """The process's heartbeat timer: built on first use, its thread started by the first
    renewal actually registered, stopped by `close`."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._due: list[tuple[float, int, Beat]] = []
        self._order = itertools.count()
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._closed = False

    def every(self, interval: float, renew: Callable[[], bool]) -> Beat:
        """Call `renew` every `interval` seconds, the first time `interval` from now, until
        it returns False or the Beat is cancelled."""
        beat = Beat(self, interval, renew)
        self._schedule(beat)
        return beat

    def _schedule(self, beat: Beat) -> None:
        with self._changed:
            if self._closed:
                return
            heapq.heappush(self._due, (self.clock() + beat.interval, next(self._order), beat))
            if self._thread is None:
                self._pool = ThreadPoolExecutor(RENEWAL_THREADS, thread_name_prefix="renewal")
                self._thread = threading.Thread(
                    target=self._keep_time, name="runrun-renewals", daemon=True
                )
                self._thread.start()
            elif self._due[0][2] is beat:
                self._changed.notify()

    def _keep_time(self) -> None:
        while True:
            with self._changed:
                beat = self._next_due()
                if beat is None:
                    return
            if not beat.cancelled:
                assert self._pool is not None
                self._pool.submit(beat._run)

    def _next_due(self) -> Beat | None:
        """The next due renewal, once it is due (waiting on the condition); None once closed."""
        while not self._closed:
            # Cancelled beats leave the heap when they come up, not when cancelled: a
            # cancel stays a flag flip, and the heap stays as long as the work in flight.
            while self._due and self._due[0][2].cancelled:
                heapq.heappop(self._due)
            if not self._due:
                self._changed.wait()
                continue
            wait = self._due[0][0] - self.clock()
            if wait <= 0:
                return heapq.heappop(self._due)[2]
            self._changed.wait(max(wait, TICK_SECONDS))
        return None

    def close(self, timeout: float = 5.0) -> None:
        """Stop the timer; renewals already running finish, no other starts."""
        with self._changed:
            self._closed = True
            self._due.clear()
            self._changed.notify_all()
            thread, pool = self._thread, self._pool
        if thread is not None:
            thread.join(timeout)
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
