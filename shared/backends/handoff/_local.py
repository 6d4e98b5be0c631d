"""The embedded queue: a SQLite outbox drained by a worker thread in the same process.

`publish` returns once the row is committed (synchronous=FULL), so whatever a receiver
acknowledged survives a restart; the worker drains leftovers as soon as it starts again.
The runtime starts one `LocalWorker` per process (`_local_worker.py`), which hands each
message to its consumer (the process pipeline) inside the same CloudEvent that Pub/Sub push
would produce, retries failures with exponential backoff, and marks a message dead after
RUNRUN_QUEUE_MAX_ATTEMPTS.
Several processes may share one outbox: a row is leased before it is handed over, so only
one of them runs it at a time. What a viewer needs (the messages and their state, replay of
a dead-lettered one) is this class's own interface: nothing else reads the outbox table.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shared._delivery import rfc3339_now
from shared._errors import BackendUnavailable
from shared.backends._sqlite import connections
from shared.backends.handoff._group_commit import GroupCommit
from shared.backends.handoff._outbox import (
    _INSERT,
    _SCHEMA,
    _TURNS_SPAN_SECONDS,
    BACKLOG_QUERY,
    LEASE_SECONDS,
    STATE_COLUMNS,
    Backlog,
    QueuedMessage,
    exponential_backoff,
    message_state,
)
from shared.backends.handoff._publisher import MessageState, Publisher

Consumer = Callable[[Any], None]  # a CloudEvent function


class LocalQueue(Publisher):
    def __init__(
        self,
        path: Path,
        *,
        max_attempts: int = 5,
        project: str = "local",
        backoff: Callable[[int], float] = exponential_backoff,
        clock: Callable[[], float] = time.time,
        rate: float | None = None,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        self.path = path
        self.lease_seconds = lease_seconds
        # At most `rate` messages handed over per second, across every process.
        self.interval = 1.0 / rate if rate else 0.0
        self.max_attempts = max_attempts
        self.project = project  # named in the CloudEvent's source, as Pub/Sub would
        self.backoff, self.clock = backoff, clock
        # Notified whenever a message is done with (run, retried or dead-lettered): tests and
        # viewers wait on it instead of polling the table.
        self.changed = threading.Condition()
        self._connections = connections(path)  # shared with the idempotency store's
        try:
            with self._connections.write(within_deadline=False) as conn:
                conn.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise BackendUnavailable(f"local queue unusable: {exc}", retry_after=5) from exc
        self.wakeup = threading.Event()
        self._commits = GroupCommit(self._insert)

    def _insert(self, rows: list[tuple[str, str, bytes, str, str, float]]) -> None:
        """Commit a batch of published messages in one durable transaction."""
        with self._connections.write(durable=True, within_deadline=False) as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(_INSERT, rows)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def durable_writer(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """The process's writer that fsyncs each commit, as the file's only writer for the
        block (for a caller's own transaction that writes messages: shared/backends/_intake.py)."""
        return self._connections.write(durable=True)

    @staticmethod
    def insert_with(conn: sqlite3.Connection, topic: str, data: bytes, attributes: str) -> str:
        """Add a message inside the transaction open on `conn`; its message id."""
        message_id = uuid.uuid4().hex
        conn.execute(_INSERT, (message_id, topic, data, attributes, rfc3339_now(), 0.0))
        return message_id

    def _writer(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """The process's writer without an fsync per commit. Only publishing needs one (the
        message was acknowledged); a lost lease or delete after a power cut merely runs a
        message again, which the processors' own claims absorb."""
        return self._connections.write(within_deadline=False)

    def publish(
        self,
        topic: str,
        data: bytes,
        attributes: dict[str, str],
        *,
        not_before: float | None = None,
    ) -> str:
        message_id = uuid.uuid4().hex
        due = not_before or 0.0  # a scheduled message waits like one in backoff
        self._commits.write((message_id, topic, data, json.dumps(attributes), rfc3339_now(), due))
        self.wakeup.set()
        return message_id

    def lease_batch(self, topic: str, limit: int) -> list[QueuedMessage] | float:
        """Take up to `limit` due messages of `topic` (oldest first) in one statement; the
        seconds to wait when the rate limit holds the next one back.

        Under a rate limit the batch is as long as the turns it may reserve within
        _TURNS_SPAN_SECONDS, and each message carries its turn (`QueuedMessage.turn`): the
        first now, the next one interval later, and so on; the next lease, in any process,
        starts after the last of them. One write per batch, where leasing message by message
        took two per message (the lease and the pace)."""
        now = self.clock()
        span = limit
        if self.interval:
            span = max(1, min(limit, int(_TURNS_SPAN_SECONDS / self.interval)))
        with self._writer() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                next_at = 0.0
                if self.interval:
                    row = conn.execute(
                        "SELECT next_at FROM pace WHERE topic = ?", (topic,)
                    ).fetchone()
                    next_at = row[0] if row else 0.0
                    if now < next_at:
                        conn.execute("COMMIT")
                        return next_at - now
                rows = conn.execute(
                    "UPDATE outbox SET leased_until = ? WHERE id IN ("
                    " SELECT id FROM outbox WHERE topic = ? AND status = 'pending'"
                    " AND next_attempt_at <= ? AND leased_until <= ? ORDER BY id LIMIT ?"
                    ") RETURNING id, message_id, topic, data, attributes, published_at, attempts",
                    (now + self.lease_seconds, topic, now, now, span),
                ).fetchall()
                if rows and self.interval:
                    conn.execute(
                        "INSERT INTO pace (topic, next_at) VALUES (?, ?) "
                        "ON CONFLICT (topic) DO UPDATE SET next_at = excluded.next_at",
                        (topic, now + len(rows) * self.interval),
                    )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        rows.sort(key=lambda row: int(row[0]))  # RETURNING has no order
        return [
            QueuedMessage(
                row[0],
                row[1],
                row[2],
                row[3],
                json.loads(row[4]),
                row[5],
                row[6],
                turn=now + index * self.interval if self.interval else 0.0,
                leased_until=now + self.lease_seconds,
            )
            for index, row in enumerate(rows)
        ]

    def succeeded(self, message: QueuedMessage) -> None:
        self.succeeded_all([message])

    def succeeded_all(self, messages: list[QueuedMessage]) -> None:
        """Delete the messages that were run, in one transaction."""
        if not messages:
            return
        with self._writer() as conn:
            conn.executemany(
                "DELETE FROM outbox WHERE id = ?", [(message.row_id,) for message in messages]
            )
        self._notify()

    def renew_leases(self, messages: list[QueuedMessage], until: float) -> tuple[float, set[int]]:
        """Extend the leases of `messages` (leased together, each still held until `until`)
        by a full lease from now; the new end, and the row ids whose lease was still this
        holder's (a conditional write: another holder's lease is never extended)."""
        renewed = self.clock() + self.lease_seconds
        ids = [message.row_id for message in messages]
        with self._writer() as conn:
            rows = conn.execute(
                f"UPDATE outbox SET leased_until = ? WHERE leased_until = ? AND status = 'pending'"
                f" AND id IN ({', '.join('?' * len(ids))}) RETURNING id",
                (renewed, until, *ids),
            ).fetchall()
        return renewed, {row[0] for row in rows}

    def unlease(self, messages: list[QueuedMessage]) -> None:
        """Give back leased messages that were not run (the worker is stopping), so that the
        next worker takes them at once instead of after the lease."""
        if not messages:
            return
        with self._writer() as conn:
            conn.executemany(
                "UPDATE outbox SET leased_until = 0 WHERE id = ?",
                [(message.row_id,) for message in messages],
            )

    def _notify(self) -> None:
        with self.changed:
            self.changed.notify_all()

    def failed(
        self,
        message: QueuedMessage,
        error: str,
        retry_after: float | None = None,
        *,
        counts: bool = True,
    ) -> bool:
        """Schedule a retry with backoff (or after `retry_after` seconds, when the consumer
        asked for that); True when the message is now dead-lettered.

        `counts=False`: the failure was the backends', not the message's (the store is
        down): retried with the same backoff for as long as it takes, never dead-lettered.
        """
        attempts = message.attempts + 1 if counts else message.attempts
        dead = counts and attempts >= self.max_attempts
        backoff = self.backoff(max(1, attempts)) if retry_after is None else retry_after
        with self._writer() as conn:
            conn.execute(
                "UPDATE outbox SET attempts = ?, status = ?, next_attempt_at = ?, "
                "leased_until = 0, last_error = ? WHERE id = ?",
                (
                    attempts,
                    "dead" if dead else "pending",
                    self.clock() + backoff,
                    error[:2000],
                    message.row_id,
                ),
            )
        self._notify()
        return dead

    def counts(self) -> dict[str, int]:
        """Messages per status, for health pages and tests."""
        with self._connections.read() as conn:
            rows = conn.execute("SELECT status, COUNT(*) FROM outbox GROUP BY status").fetchall()
        return {status: count for status, count in rows}

    def backlog(self) -> Backlog:
        """How many messages wait, since when, and how many are dead-lettered (metrics)."""
        with self._connections.read() as conn:
            found = conn.execute(BACKLOG_QUERY, (self.clock(),)).fetchall()
        rows = {status: (count, oldest) for status, count, oldest in found}
        waiting, oldest = rows.get("pending", (0, None))
        return Backlog(waiting, oldest or "", rows.get("dead", (0, None))[0])

    def messages(self, limit: int = 200) -> list[MessageState]:
        """The newest messages (never their data), each with a readable state."""
        with self._connections.read() as conn:
            rows = conn.execute(
                f"SELECT {STATE_COLUMNS} FROM outbox ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        now = self.clock()
        return [message_state(row, now) for row in rows]

    def replay(self, message_id: str) -> bool:
        return self.replay_dead(message_id)

    def replay_dead(self, message_id: str) -> bool:
        """Put a dead-lettered message back in the queue."""
        with self._connections.write() as conn:
            count = conn.execute(
                "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = 0 "
                "WHERE message_id = ? AND status = 'dead'",
                (message_id,),
            ).rowcount
        self.wakeup.set()
        return count == 1
