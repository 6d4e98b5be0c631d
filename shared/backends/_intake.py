"""One transaction per delivery, when the store and the queue are the same SQLite file.

On the embedded backends a delivery would otherwise cost three writes, each a turn on the
file's write lock: the claim, the outbox row, the completion. With the idempotency records
beside the outbox (`make_store` puts them there) the three are one unit of work: inside
one transaction the key is looked at and, if it is free, its completed record and the
message are written together. Nobody can observe the claim between them, so the
outcomes are the claim's own: the earlier answer replayed, 422 for another payload, or
accepted. A key another attempt holds (an in-progress record: a processor run of an older
layout, or a receiver on another path) is left to the general path, which waits for it.

Concurrent deliveries are group-committed (shared/backends/_batching.py): one durable transaction
for the batch, each delivery in a savepoint of its own, so a failing delivery rolls back its
own writes alone; a failed commit fails the whole batch, none of which was written.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared._deadline import deadline_scope
from shared._delivery import Delivery
from shared._errors import BackendUnavailable, PayloadMismatch
from shared.backends._batching import Batcher
from shared.backends.handoff import LocalQueue
from shared.backends.idempotency import Idempotency, IdempotencyRecord, Replay
from shared.backends.idempotency._sqlite import SqliteStore


@dataclass(frozen=True)
class Intake:
    """One delivery to take in: its key, its message and the answer its 2xx gives."""

    target: str
    key: str
    payload_hash: str
    token: str
    lease_until: datetime
    topic: str
    data: bytes
    attributes: dict[str, str]
    answer: tuple[int, str, str]

    @classmethod
    def of(
        cls,
        delivery: Delivery,
        payload_hash: str,
        token: str,
        lease_until: datetime,
        topic: str,
        answer: tuple[int, str, str],
    ) -> Intake:
        return cls(
            target=delivery.source,
            key=delivery.delivery_id,
            payload_hash=payload_hash,
            token=token,
            lease_until=lease_until,
            topic=topic,
            data=delivery.data,
            attributes=delivery.attributes(),
            answer=answer,
        )


@dataclass(frozen=True)
class Accepted:
    message_id: str


Outcome = Accepted | Replay | None


class EmbeddedIntake:
    def __init__(self, idempotency: Idempotency, store: SqliteStore, queue: LocalQueue) -> None:
        assert store.path == queue.path, "one transaction needs one file"
        self.idempotency, self.store, self.queue = idempotency, store, queue
        self._batcher: Batcher[Intake, Outcome] = Batcher("embedded intake", self._send)

    def take(self, intake: Intake) -> Outcome:
        """Claim, enqueue and complete `intake` in one transaction: Accepted, the Replay of
        an earlier answer, or None when another attempt holds the key or the transaction
        failed (nothing of it was written: the general path takes over).

        Raises:
            PayloadMismatch: same key, different body (422).
        """
        try:
            return self._batcher.submit(intake)
        except BackendUnavailable:
            return None

    def stats(self) -> dict[str, float]:
        """Transactions and deliveries committed so far."""
        return self._batcher.stats()

    def _send(self, batch: list[Intake], timeout: float) -> list[Outcome | BaseException]:
        outcomes: list[Outcome | BaseException] = []
        # The durable writer: the outbox's rows must survive a power cut.
        with deadline_scope(timeout, nested=False), self.queue.durable_writer() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for intake in batch:
                    conn.execute("SAVEPOINT delivery")
                    try:
                        outcomes.append(self._one(conn, intake))
                        conn.execute("RELEASE delivery")
                    except sqlite3.Error as exc:
                        conn.execute("ROLLBACK TO delivery")
                        conn.execute("RELEASE delivery")
                        failed = BackendUnavailable(f"embedded intake failed: {exc}", retry_after=1)
                        failed.__cause__ = exc
                        outcomes.append(failed)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        if any(isinstance(outcome, Accepted) for outcome in outcomes):
            self.queue.wakeup.set()
        return outcomes

    def _one(self, conn: sqlite3.Connection, intake: Intake) -> Outcome | BaseException:
        """The state machine's claim, decided on the record as this transaction sees it."""
        machine = self.idempotency
        now = machine.clock()
        record = IdempotencyRecord(
            target=intake.target,
            key=intake.key,
            status="completed",
            payload_hash=intake.payload_hash,
            lease_expires_at=intake.lease_until,
            expire_at=now + machine.ttl,
            response_status=intake.answer[0],
            response_body=intake.answer[1],
            response_content_type=intake.answer[2],
            claim_token=intake.token,
        )
        # A new key (nearly every delivery) is written at once; only a key with a record
        # reads it, to decide as the claim would.
        if self.store.create_with(conn, record):
            return self._enqueue(conn, intake)
        found = self.store.get_with(conn, record.doc_id)
        if found is not None:
            existing = found
            if existing.expire_at > now:
                if existing.payload_hash != intake.payload_hash:
                    return PayloadMismatch(
                        f"idempotency key {intake.key!r} was already used with a different payload"
                    )
                if existing.status == "completed":
                    return Replay(
                        status=existing.response_status or 200,
                        body=existing.response_body or "",
                        content_type=existing.response_content_type or "application/json",
                    )
                if existing.lease_expires_at > now:
                    return None  # another attempt holds it: the general path waits for it
        self.store.put_with(conn, record)
        return self._enqueue(conn, intake)

    def _enqueue(self, conn: sqlite3.Connection, intake: Intake) -> Accepted:
        message_id = self.queue.insert_with(
            conn, intake.topic, intake.data, json.dumps(intake.attributes)
        )
        return Accepted(message_id)


def intake_for(idempotency: Idempotency, publisher: Any) -> EmbeddedIntake | None:
    """The one-transaction intake when the store and `publisher` share one SQLite file."""
    store = idempotency.store
    if (
        isinstance(store, SqliteStore)
        and isinstance(publisher, LocalQueue)
        and store.path == publisher.path
    ):
        return EmbeddedIntake(idempotency, store, publisher)
    return None
