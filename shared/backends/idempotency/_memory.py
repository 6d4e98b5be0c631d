"""An in-memory IdempotencyStore for tests: thread-safe, same contract as the real ones."""

from __future__ import annotations

import itertools
import threading

from shared.backends.idempotency._store import IdempotencyRecord, IdempotencyStore, Version


class MemoryStore(IdempotencyStore):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, tuple[IdempotencyRecord, int]] = {}
        # Versions are never reused, not even after a delete: a per-record counter would
        # restart at 1 when a released key is claimed again, and the stale claim holding
        # version 1 could then complete or release the new owner's record (ABA).
        self._versions = itertools.count(1)

    def create(self, record: IdempotencyRecord) -> Version | None:
        with self._lock:
            if record.doc_id in self._records:
                return None
            version = next(self._versions)
            self._records[record.doc_id] = (record, version)
            return version

    def get(self, doc_id: str) -> tuple[IdempotencyRecord, Version] | None:
        with self._lock:
            return self._records.get(doc_id)

    def replace(self, record: IdempotencyRecord, expected: Version) -> Version | None:
        with self._lock:
            current = self._records.get(record.doc_id)
            if current is None or current[1] != expected:
                return None
            version = next(self._versions)
            self._records[record.doc_id] = (record, version)
            return version

    def recent(self, limit: int = 200) -> list[IdempotencyRecord] | None:
        with self._lock:
            records = [record for record, _ in self._records.values()]
        records.sort(key=lambda r: r.lease_expires_at, reverse=True)
        return records[:limit]

    def delete(self, doc_id: str, expected: Version) -> bool:
        with self._lock:
            current = self._records.get(doc_id)
            if current is None or current[1] != expected:
                return False
            del self._records[doc_id]
            return True
