"""The embedded queue: a SQLite outbox drained by a worker thread in the same process.

`publish` returns once the row is committed (synchronous=FULL), so whatever a receiver
acknowledged survives a restart; the worker drains leftovers as soon as it starts again.
The worker hands each message to the registered consumer (`process_delivery`) inside the
same CloudEvent that Pub/Sub push would produce, retries failures with exponential backoff,
and marks a message dead after RUNRUN_QUEUE_MAX_ATTEMPTS. Several processes may share one
outbox: a row is leased before it is handed over, so only one of them runs it at a time.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._config import get_settings
from .._delivery import Delivery, message_published_event, rfc3339_now
from .._errors import BackendUnavailable
from .._sqlite import connect, writing
from ._group_commit import GroupCommit
from ._publisher import Publisher

log = logging.getLogger("runrun.queue")

Consumer = Callable[[Any], None]  # a CloudEvent function

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL UNIQUE,
    topic TEXT NOT NULL,
    data BLOB NOT NULL,
    attributes TEXT NOT NULL,
    published_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL DEFAULT 0,
    leased_until REAL NOT NULL DEFAULT 0,
    last_error TEXT
);
-- The worker takes the oldest due message: walking this index in id order finds it after
-- the few rows in flight or in backoff. An index led by next_attempt_at made SQLite sort the
-- whole backlog on every lease (11 ms per lease at 20,000 pending messages).
DROP INDEX IF EXISTS outbox_due;
CREATE INDEX IF NOT EXISTS outbox_next ON outbox (topic, status, id);
"""

# How long a worker may hold a message before another process may run it.
_LEASE_SECONDS = 300.0
_MAX_BACKOFF_SECONDS = 60.0


@dataclass(frozen=True)
class QueuedMessage:
    row_id: int
    message_id: str
    topic: str
    data: bytes
    attributes: dict[str, str]
    published_at: str
    attempts: int


class LocalQueue(Publisher):
    def __init__(self, path: Path | None = None) -> None:
        settings = get_settings()
        self.path = path or settings.state_dir / "queue.sqlite3"
        self.max_attempts = settings.queue_max_attempts
        self._local = threading.local()
        try:
            self._conn().executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise BackendUnavailable(f"local queue unusable: {exc}", retry_after=5) from exc
        self.wakeup = threading.Event()
        self._commits = GroupCommit(self._insert)

    def _insert(self, rows: list[tuple[str, str, bytes, str, str]]) -> None:
        """Commit a batch of published messages in one durable transaction."""
        conn = self._conn(durable=True)
        with writing(self.path, within_deadline=False):
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(
                    "INSERT INTO outbox (message_id, topic, data, attributes, published_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    rows,
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def _conn(self, durable: bool = False) -> sqlite3.Connection:
        """This thread's connection. Only publishing needs `durable` (an fsync per commit:
        the message was acknowledged); a lost lease or delete after a power cut merely runs
        a message again, which the processors' own claims absorb."""
        name = "durable" if durable else "conn"
        conn: sqlite3.Connection | None = getattr(self._local, name, None)
        if conn is None or getattr(self._local, name + "_pid", 0) != os.getpid():
            conn = connect(self.path, durable=durable)
            setattr(self._local, name, conn)
            setattr(self._local, name + "_pid", os.getpid())
        return conn

    def publish(self, topic: str, data: bytes, attributes: dict[str, str]) -> str:
        message_id = uuid.uuid4().hex
        self._commits.write((message_id, topic, data, json.dumps(attributes), rfc3339_now()))
        self.wakeup.set()
        ensure_worker()
        return message_id

    def lease_next(self, topic: str) -> QueuedMessage | None:
        """Take the oldest due message of `topic` for this worker, or None."""
        now = time.time()
        conn = self._conn()
        with writing(self.path, within_deadline=False):
            return self._lease(conn, topic, now)

    def _lease(self, conn: sqlite3.Connection, topic: str, now: float) -> QueuedMessage | None:
        # One statement picks and leases the oldest due message: atomic without a transaction.
        row = conn.execute(
            "UPDATE outbox SET leased_until = ? WHERE id = ("
            " SELECT id FROM outbox WHERE topic = ? AND status = 'pending'"
            " AND next_attempt_at <= ? AND leased_until <= ? ORDER BY id LIMIT 1"
            ") RETURNING id, message_id, topic, data, attributes, published_at, attempts",
            (now + _LEASE_SECONDS, topic, now, now),
        ).fetchone()
        if row is None:
            return None
        return QueuedMessage(row[0], row[1], row[2], row[3], json.loads(row[4]), row[5], row[6])

    def succeeded(self, message: QueuedMessage) -> None:
        with writing(self.path, within_deadline=False):
            self._conn().execute("DELETE FROM outbox WHERE id = ?", (message.row_id,))

    def failed(self, message: QueuedMessage, error: str) -> bool:
        """Schedule a retry with backoff; True when the message is now dead-lettered."""
        attempts = message.attempts + 1
        dead = attempts >= self.max_attempts
        backoff = min(_MAX_BACKOFF_SECONDS, 0.5 * 2 ** (attempts - 1))
        self._conn().execute(
            "UPDATE outbox SET attempts = ?, status = ?, next_attempt_at = ?, leased_until = 0, "
            "last_error = ? WHERE id = ?",
            (
                attempts,
                "dead" if dead else "pending",
                time.time() + backoff,
                error[:2000],
                message.row_id,
            ),
        )
        return dead

    def counts(self) -> dict[str, int]:
        """Messages per status, for health pages and tests."""
        rows = self._conn().execute("SELECT status, COUNT(*) FROM outbox GROUP BY status")
        return {status: count for status, count in rows}

    def replay_dead(self, message_id: str) -> bool:
        """Put a dead-lettered message back in the queue."""
        cur = self._conn().execute(
            "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = 0 "
            "WHERE message_id = ? AND status = 'dead'",
            (message_id,),
        )
        self.wakeup.set()
        return cur.rowcount == 1

    def close(self, timeout: float = 5.0) -> None:
        stop_worker(timeout)


class LocalWorker(threading.Thread):
    """Drains one topic of the outbox into the consumer, one message at a time."""

    def __init__(self, queue: LocalQueue, topic: str, consumer: Consumer) -> None:
        super().__init__(name="runrun-local-queue", daemon=True)
        self.queue, self.topic, self.consumer = queue, topic, consumer
        self.stopping = threading.Event()
        self.idle = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                message = self.queue.lease_next(self.topic)
            except sqlite3.Error:
                log.exception("local queue unreadable; retrying")
                message = None
            if message is None:
                self.idle.set()
                self.queue.wakeup.wait(0.25)
                self.queue.wakeup.clear()
                continue
            self.idle.clear()
            self._deliver(message)

    def _deliver(self, message: QueuedMessage) -> None:
        from cloudevents.http import CloudEvent

        delivery = Delivery(
            source=message.attributes.get("source", ""),
            delivery_id=message.attributes.get("delivery_id", ""),
            event_type=message.attributes.get("event_type", ""),
            content_type=message.attributes.get("content_type", ""),
            received_at=message.attributes.get("received_at", ""),
            data=message.data,
        )
        attributes, data = message_published_event(
            project=get_settings().project or "local",
            topic=message.topic,
            message_id=message.message_id,
            publish_time=message.published_at,
            delivery=delivery,
        )
        try:
            self.consumer(CloudEvent(attributes, data))
        except Exception as exc:  # noqa: BLE001 - any failure of the consumer means "retry"
            dead = self.queue.failed(message, f"{type(exc).__name__}: {exc}")
            log.warning(
                "local queue delivery failed",
                extra={
                    "delivery_id": delivery.delivery_id,
                    "attempt": message.attempts + 1,
                    "dead_lettered": dead,
                    "error": type(exc).__name__,
                },
            )
            return
        self.queue.succeeded(message)


_consumer: Consumer | None = None
_worker: LocalWorker | None = None
_worker_lock = threading.Lock()


def set_local_consumer(consumer: Consumer) -> None:
    """Name the CloudEvent function that the local queue's worker feeds (`process_delivery`)."""
    global _consumer
    _consumer = consumer


def ensure_worker() -> LocalWorker | None:
    """Start this process's worker if the local queue is in use and a consumer is known."""
    global _worker
    from . import publisher

    if _consumer is None or get_settings().queue != "local":
        return None
    worker = _worker
    if worker is not None and worker.is_alive() and worker.native_id is not None:
        return worker
    with _worker_lock:
        if _worker is None or not _worker.is_alive():
            queue = publisher.get()
            if not isinstance(queue, LocalQueue):
                # Another Publisher stands in for the queue: it has no outbox to drain, and
                # this runs before the receive pipeline can turn an error into an answer.
                return None
            _worker = LocalWorker(queue, get_settings().topic, _consumer)
            _worker.start()
        return _worker


def stop_worker(timeout: float = 5.0) -> None:
    """Let the message in hand finish, then stop the worker."""
    global _worker
    with _worker_lock:
        worker, _worker = _worker, None
    if worker is not None:
        worker.stopping.set()
        worker.queue.wakeup.set()
        worker.join(timeout)
