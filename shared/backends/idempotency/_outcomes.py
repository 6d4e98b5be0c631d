"""What a claim comes to: this attempt owns the key, or an earlier answer is replayed."""

from __future__ import annotations

from dataclasses import dataclass

from shared.backends.idempotency._store import IdempotencyRecord, Version


@dataclass(frozen=True)
class Claim:
    """This attempt owns the key until `record.lease_expires_at`."""

    record: IdempotencyRecord
    version: Version


@dataclass(frozen=True)
class Replay:
    """The key was completed before: answer what was answered then."""

    status: int
    body: str
    content_type: str
