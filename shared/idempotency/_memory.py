"""An in-memory IdempotencyStore for tests: thread-safe, same contract as the real ones."""

from __future__ import annotations

import threading

from ._store import IdempotencyRecord, IdempotencyStore, Version


class MemoryStore(IdempotencyStore):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, tuple[IdempotencyRecord, int]] = {}

    def create(self, record: IdempotencyRecord) -> Version | None:
        with self._lock:
            if record.doc_id in self._records:
                return None
            self._records[record.doc_id] = (record, 1)
            return 1

    def get(self, doc_id: str) -> tuple[IdempotencyRecord, Version] | None:
        with self._lock:
            return self._records.get(doc_id)

    def replace(self, record: IdempotencyRecord, expected: Version) -> Version | None:
        with self._lock:
            current = self._records.get(record.doc_id)
            if current is None or current[1] != expected:
                return None
            self._records[record.doc_id] = (record, current[1] + 1)
            return current[1] + 1

    def delete(self, doc_id: str, expected: Version) -> bool:
        with self._lock:
            current = self._records.get(doc_id)
            if current is None or current[1] != expected:
                return False
            del self._records[doc_id]
            return True
