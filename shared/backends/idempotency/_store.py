"""The record kept per idempotency key and the small store interface beneath the state machine.

A store does four things, each atomic: create-if-absent, get, compare-and-swap replace, and
compare-and-delete. `Version` is whatever the backend uses to detect a concurrent change (an
update time in Firestore, a counter in SQLite and memory); callers treat it as opaque.
Every backend failure is raised as BackendUnavailable.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from shared.backends._batching import Followup

Status = Literal["in_progress", "completed"]
Version = object


def document_id(target: str, key: str) -> str:
    """Keys are namespaced by target, then hashed: any provider's key becomes a safe id."""
    return hashlib.sha256(f"{target}:{key}".encode()).hexdigest()


@dataclass(frozen=True)
class IdempotencyRecord:
    target: str
    key: str
    status: Status
    payload_hash: str
    lease_expires_at: datetime
    expire_at: datetime
    response_status: int | None = None
    response_body: str | None = None
    response_content_type: str | None = None
    # Random per claim attempt: an attempt whose create() timed out finds its own record by
    # it (the write may have landed although no version came back) and settles it.
    claim_token: str = ""

    @property
    def doc_id(self) -> str:
        return document_id(self.target, self.key)

    def lapsed(self, now: datetime) -> bool:
        """Whether this record no longer holds its key: expired, or its lease ended while
        in progress."""
        return self.expire_at <= now or (
            self.status == "in_progress" and self.lease_expires_at <= now
        )

    def completed(self, status: int, body: str, content_type: str) -> IdempotencyRecord:
        """This record completed with an answer that duplicates replay."""
        return replace(
            self,
            status="completed",
            response_status=status,
            response_body=body,
            response_content_type=content_type,
        )


class IdempotencyStore(ABC):
    """Atomic storage of IdempotencyRecords; the state machine lives in `Idempotency`."""

    @abstractmethod
    def create(self, record: IdempotencyRecord) -> Version | None:
        """Store `record` unless its doc_id exists; its version, or None when it existed."""

    def create_all(self, records: list[IdempotencyRecord]) -> list[Version | None]:
        """`create` for each record; a store that can, in one write."""
        return [self.create(record) for record in records]

    @abstractmethod
    def get(self, doc_id: str) -> tuple[IdempotencyRecord, Version] | None:
        """The record and its version, or None."""

    @abstractmethod
    def replace(self, record: IdempotencyRecord, expected: Version) -> Version | None:
        """Overwrite the record if it is still at `expected`; the new version, or None."""

    def replace_all(self, items: list[tuple[IdempotencyRecord, Version]]) -> list[Version | None]:
        """`replace` for each (record, expected version); a store that can, in one write."""
        return [self.replace(record, expected) for record, expected in items]

    def create_followup(self, record: IdempotencyRecord) -> Followup | None:
        """`create` as a Followup, for a store whose writes are batched (see
        `replace_followup`); None when the store has none."""
        return None

    def replace_followup(self, record: IdempotencyRecord, expected: Version) -> Followup | None:
        """`replace` as a Followup, for a store whose writes are batched: made by the batch
        of an earlier call (a publish) for its caller; None when the store has none."""
        return None

    @abstractmethod
    def delete(self, doc_id: str, expected: Version) -> bool:
        """Delete the record if it is still at `expected`; whether it was deleted."""

    def recent(self, limit: int = 200) -> list[IdempotencyRecord] | None:
        """The latest records, for a viewer; None when this store cannot list them cheaply."""
        return None

    def warm(self) -> None:  # noqa: B027 - optional hook, only remote stores open channels
        """Open the connection with one cheap call, within the current deadline."""

    def close(self) -> None:  # noqa: B027 - optional hook, most stores hold nothing to close
        """Release connections."""
