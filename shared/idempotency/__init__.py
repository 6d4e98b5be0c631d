"""Idempotency: the state machine once (`Idempotency`) above three stores."""

from __future__ import annotations

from .._config import get_settings
from .._lazy import Lazy
from ._machine import Claim as Claim
from ._machine import Idempotency as Idempotency
from ._machine import Replay as Replay
from ._memory import MemoryStore as MemoryStore
from ._store import IdempotencyRecord as IdempotencyRecord
from ._store import IdempotencyStore as IdempotencyStore
from ._store import document_id as document_id


def make_store(kind: str) -> IdempotencyStore:
    """The store named by RUNRUN_STORE (firestore | sqlite | memory)."""
    if kind == "firestore":
        from ._firestore import FirestoreStore

        return FirestoreStore()
    if kind == "sqlite":
        from ._sqlite import SqliteStore

        return SqliteStore()
    return MemoryStore()


def _build() -> Idempotency:
    settings = get_settings()
    return Idempotency(
        make_store(settings.store),
        lease_seconds=settings.lease_seconds,
        ttl_seconds=settings.key_ttl_seconds,
    )


idempotency: Lazy[Idempotency] = Lazy(_build)

__all__ = [
    "Claim",
    "Idempotency",
    "IdempotencyRecord",
    "IdempotencyStore",
    "MemoryStore",
    "Replay",
    "document_id",
    "idempotency",
    "make_store",
]
