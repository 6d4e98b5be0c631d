"""Idempotency: the state machine once (`Idempotency`) above three stores."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from shared.backends.idempotency._machine import Idempotency as Idempotency
from shared.backends.idempotency._memory import MemoryStore as MemoryStore
from shared.backends.idempotency._outcomes import Claim as Claim
from shared.backends.idempotency._outcomes import Replay as Replay
from shared.backends.idempotency._store import IdempotencyRecord as IdempotencyRecord
from shared.backends.idempotency._store import IdempotencyStore as IdempotencyStore
from shared.backends.idempotency._store import document_id as document_id
from shared.settings import StoreSettings


def make_store(
    settings: StoreSettings, state_dir: Path, *, beside_queue: bool, firestore: Callable[[], Any]
) -> IdempotencyStore:
    """The store named by RUNRUN_STORE (firestore | sqlite | memory); `beside_queue`: the
    local queue's outbox is in `state_dir` too."""
    if settings.kind == "firestore":
        from shared.backends.idempotency._firestore import FirestoreStore

        return FirestoreStore(firestore, settings.idempotency_collection)
    if settings.kind == "sqlite":
        from shared.backends.idempotency._sqlite import SqliteStore

        legacy = state_dir / "idempotency.sqlite3"
        if beside_queue:
            # Beside the local queue's outbox, so that a delivery's claim, message and
            # completion are one transaction (shared/backends/_intake.py); earlier records move in.
            return SqliteStore(state_dir / "queue.sqlite3", legacy=legacy)
        return SqliteStore(legacy)
    return MemoryStore()


__all__ = [
    "Claim",
    "Idempotency",
    "IdempotencyRecord",
    "IdempotencyStore",
    "MemoryStore",
    "Replay",
    "document_id",
    "make_store",
]
