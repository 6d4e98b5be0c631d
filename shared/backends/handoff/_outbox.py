"""The local queue's outbox table: its schema, a leased message, a message's state for a
viewer, and the timing of leases, batches and retries (`_local.py` is the queue over it)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from shared.backends.handoff._publisher import MessageState

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
-- The rate limit: the earliest time the next message of a topic may be handed over, shared
-- by every process draining this outbox.
CREATE TABLE IF NOT EXISTS pace (topic TEXT PRIMARY KEY, next_at REAL NOT NULL);
"""

_INSERT = (
    "INSERT INTO outbox (message_id, topic, data, attributes, published_at, next_attempt_at) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)

# How long a worker may hold a message before another process may run it, unless it renews
# the lease (every third of it, while the message's batch runs): RUNRUN_LEASE_SECONDS.
LEASE_SECONDS = 10.0
_MAX_BACKOFF_SECONDS = 60.0
# Messages a worker leases at once and deletes at once when they have run: two writes per
# batch instead of two per message. Small, so that a crashed worker strands few messages
# until their lease expires.
WORKER_BATCH = 16
# Under a rate limit a batch reserves its messages' turns at once, for at most this span:
# short, so that several processes draining one outbox still interleave.
_TURNS_SPAN_SECONDS = 0.1


def exponential_backoff(
    attempts: int, minimum: float = 0.5, maximum: float = _MAX_BACKOFF_SECONDS
) -> float:
    """Seconds before attempt `attempts + 1`: 0.5, 1, 2, ... up to a minute by default."""
    return float(min(maximum, minimum * 2 ** (attempts - 1)))


@dataclass(frozen=True)
class QueuedMessage:
    row_id: int
    message_id: str
    topic: str
    data: bytes
    attributes: dict[str, str]
    published_at: str
    attempts: int
    # Under a rate limit: the queue clock's time from which this message may be handed over.
    turn: float = 0.0
    # The end of this worker's lease (the queue clock's), which only its holder renews.
    leased_until: float = 0.0


# The columns `message_state` reads, in its order.
STATE_COLUMNS = (
    "message_id, topic, attributes, published_at, status, attempts, "
    "next_attempt_at, leased_until, last_error"
)


def message_state(row: tuple[Any, ...], now: float) -> MessageState:
    """A viewer's account of one outbox row (STATE_COLUMNS), never its data."""
    message_id, topic, attributes, published, status, attempts, due, leased, error = row
    if status == "dead":
        state = "dead-lettered"
    elif leased > now:
        state = "running"
    elif attempts:
        state = "retrying"
    else:
        state = "pending"
    return MessageState(
        message_id=message_id,
        topic=topic,
        attributes=json.loads(attributes or "{}"),
        published_at=published,
        state=state,
        attempts=attempts,
        next_attempt_at=due,
        last_error=error,
    )


@dataclass(frozen=True)
class Backlog:
    """What waits in the outbox: messages not yet run (pending, in backoff, scheduled or
    running), the publish time (RFC 3339) of the oldest one that is due now ("" when none
    is: a message scheduled for later is not late), and the dead-lettered ones."""

    waiting: int
    oldest_due_published_at: str
    dead: int


# One scan per scrape, not per delivery: a full scan of 20,000 rows is a few milliseconds.
BACKLOG_QUERY = (
    "SELECT status, COUNT(*), MIN(CASE WHEN next_attempt_at <= ? THEN published_at END) "
    "FROM outbox WHERE status IN ('pending', 'dead') GROUP BY status"
)
