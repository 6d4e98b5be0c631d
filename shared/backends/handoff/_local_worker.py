"""The local queue's worker: a thread that drains one topic of the outbox (`_local.py`) into
its consumer, the process pipeline, inside the same CloudEvent that Pub/Sub push would bring.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from typing import Protocol

from shared._delivery import Delivery, message_published_event
from shared._errors import BackendUnavailable, ProcessorsDeferred
from shared.backends.handoff._local import Consumer, LocalQueue
from shared.backends.handoff._outbox import WORKER_BATCH, QueuedMessage

log = logging.getLogger("runrun.queue")

# Claims a batch's processor runs at once for the block (shared/processing/_run_claims.py).
BatchClaims = Callable[[list[Delivery]], contextlib.AbstractContextManager[object]]


class Completions(Protocol):
    """The completions of a batch's runs, kept back until `flush` writes them at once."""

    def flush(self) -> None: ...


# Opens a batch's deferred completions (shared/processing/_completions.py `deferring`).
DeferCompletions = Callable[[], contextlib.AbstractContextManager[Completions]]


class _NotDeferred:
    def flush(self) -> None:
        return None


@contextlib.contextmanager
def _not_deferred() -> Iterator[Completions]:
    yield _NotDeferred()


class LocalWorker(threading.Thread):
    """Drains one topic of the outbox into the consumer: it leases up to `batch` due
    messages in one statement, runs them one at a time, and deletes the ones that ran in one
    transaction (a failure is recorded at once, with its backoff). A crash leaves the
    leased batch to the lease expiry, like a single message; a stop gives back the messages
    not yet run."""

    def __init__(
        self,
        queue: LocalQueue,
        topic: str,
        consumer: Consumer,
        *,
        batch: int = WORKER_BATCH,
        claims: BatchClaims | None = None,
        completions: DeferCompletions = _not_deferred,
    ) -> None:
        super().__init__(name="runrun-local-queue", daemon=True)
        self.queue, self.topic, self.consumer = queue, topic, consumer
        self.batch = batch
        self.claims = claims
        self.completions = completions
        self.stopping = threading.Event()
        self.idle = threading.Event()
        self._handed_over = float("-inf")  # the queue clock at the last hand-over
        self._pending: Completions | None = None  # while a batch runs

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                leased = self.queue.lease_batch(self.topic, self.batch)
            except sqlite3.Error:
                log.exception("local queue unreadable; retrying")
                leased = []
            if isinstance(leased, float):  # the rate limit: wait exactly that long
                self.stopping.wait(leased)
                continue
            if not leased:
                self.idle.set()
                self.queue.wakeup.wait(0.25)
                self.queue.wakeup.clear()
                continue
            self.idle.clear()
            self._run_batch(leased)

    def _run_batch(self, leased: list[QueuedMessage]) -> None:
        done: list[QueuedMessage] = []
        claimed: contextlib.AbstractContextManager[object] = contextlib.nullcontext()
        if self.claims:
            claimed = self.claims([self._delivery(message) for message in leased])
        # The processors' claims are made for the whole batch at once (`claims`), and their
        # completions written for it at once (`completions`), before the messages that ran
        # are deleted.
        with claimed, self.completions() as self._pending:
            try:
                for index, message in enumerate(leased):
                    if not self._wait_turn(message):
                        self.queue.unlease(leased[index:])
                        break
                    if self._deliver(message):
                        done.append(message)
            finally:
                self._pending.flush()
                self._pending = None
                self.queue.succeeded_all(done)

    def _wait_turn(self, message: QueuedMessage) -> bool:
        """Wait for the message's turn under the rate limit, and never hand two over closer
        than the interval (a worker that fell behind its turns does not catch up in a burst);
        False when the worker is stopping instead."""
        queue = self.queue
        if not queue.interval:
            return not self.stopping.is_set()
        while True:
            now = queue.clock()
            due = max(message.turn, self._handed_over + queue.interval)
            if now >= due:
                self._handed_over = now
                return not self.stopping.is_set()
            if self.stopping.wait(due - now):
                return False

    @staticmethod
    def _delivery(message: QueuedMessage) -> Delivery:
        attributes = {"source": "", "delivery_id": "", **message.attributes}
        return Delivery.from_attributes(attributes, message.data)

    def _deliver(self, message: QueuedMessage) -> bool:
        """Run one message; True when it succeeded (the caller deletes it with its batch)."""
        from cloudevents.http import CloudEvent

        delivery = self._delivery(message)

        attributes, data = message_published_event(
            project=self.queue.project,
            topic=message.topic,
            message_id=message.message_id,
            publish_time=message.published_at,
            delivery=delivery,
        )
        try:
            self.consumer(CloudEvent(attributes, data))
        except Exception as exc:  # noqa: BLE001 - any failure of the consumer means "retry"
            if self._pending is not None:  # its retry must find the runs that completed
                self._pending.flush()
            # A processor that asked to back off (RetryLater) names the delay itself; a store
            # that is down is no fault of the message: it waits for the store.
            retry_after = exc.retry_after if isinstance(exc, ProcessorsDeferred) else None
            counts = not isinstance(exc, BackendUnavailable)
            dead = self.queue.failed(
                message, f"{type(exc).__name__}: {exc}", retry_after, counts=counts
            )
            log.warning(
                "local queue delivery failed",
                extra={
                    "delivery_id": delivery.delivery_id,
                    "attempt": message.attempts + 1,
                    "dead_lettered": dead,
                    "error": type(exc).__name__,
                },
            )
            return False
        return True

    def stop(self, timeout: float = 5.0) -> None:
        """Let the message in hand finish, then stop."""
        self.stopping.set()
        self.queue.wakeup.set()
        if self.is_alive():
            self.join(timeout)
