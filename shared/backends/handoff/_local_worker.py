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
from shared._renewals import Beat, Renewals
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


class BatchLease:
    """The leases of one batch's messages while it runs, renewed by a heartbeat: every
    message not yet given back (the ones run, until their batch deletes them, and the ones
    waiting for their turn), so that a slow run never lets another process take them, while
    a crashed worker's batch is free again one lease after its last renewal."""

    def __init__(self, queue: LocalQueue, messages: list[QueuedMessage]) -> None:
        self.queue = queue
        self.held = {message.row_id: message for message in messages}
        self.until = messages[0].leased_until if messages else 0.0
        # Held while a renewal writes: a message given back meanwhile (a failure recorded,
        # a stop) is never taken for a lease lost.
        self.lock = threading.Lock()

    def give_back(self, messages: list[QueuedMessage]) -> None:
        """Stop renewing `messages` (their failure or unlease is about to be written)."""
        with self.lock:
            for message in messages:
                self.held.pop(message.row_id, None)

    def renew(self) -> bool:
        with self.lock:
            held = list(self.held.values())
            if not held:
                return False
            try:
                self.until, kept = self.queue.renew_leases(held, self.until)
            except sqlite3.Error as exc:
                log.warning("could not renew leased messages", extra={"reason": str(exc)})
                return self.queue.clock() < self.until
            lost = [message for message in held if message.row_id not in kept]
            for message in lost:
                del self.held[message.row_id]
        if lost:
            log.warning(
                "local queue lease lost: another process may run these messages",
                extra={"message_ids": [message.message_id for message in lost]},
            )
        return bool(kept)


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
        renewals: Renewals | None = None,
    ) -> None:
        super().__init__(name="runrun-local-queue", daemon=True)
        self.queue, self.topic, self.consumer = queue, topic, consumer
        self.batch = batch
        self.claims = claims
        self.completions = completions
        self.renewals = renewals
        self.stopping = threading.Event()
        self.idle = threading.Event()
        self._handed_over = float("-inf")  # the queue clock at the last hand-over
        self._pending: Completions | None = None  # while a batch runs
        self._lease: BatchLease | None = None  # while a batch runs

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
        self._lease = BatchLease(self.queue, leased)
        beat = self._heartbeat(self._lease)
        # The processors' claims are made for the whole batch at once (`claims`), and their
        # completions written for it at once (`completions`), before the messages that ran
        # are deleted.
        with claimed, self.completions() as self._pending:
            try:
                for index, message in enumerate(leased):
                    if not self._wait_turn(message):
                        self._lease.give_back(leased[index:])
                        self.queue.unlease(leased[index:])
                        break
                    if self._deliver(message):
                        done.append(message)
            finally:
                self._pending.flush()
                self._pending = None
                if beat is not None:
                    beat.cancel()
                self._lease = None
                self.queue.succeeded_all(done)

    def _heartbeat(self, lease: BatchLease) -> Beat | None:
        """Renew the batch's leases every third of a lease while it runs."""
        if self.renewals is None or not lease.held:
            return None
        return self.renewals.every(self.queue.lease_seconds / 3, lease.renew)

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
            if self._lease is not None:
                self._lease.give_back([message])
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
