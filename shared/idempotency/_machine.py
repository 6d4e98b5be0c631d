r"""The idempotency state machine, written once above any IdempotencyStore.

    (absent) --claim--> in_progress --complete--> completed --(expire_at)--> (absent)
                             |  \--release--> (absent)
                             \--lease expired: the next claim takes it over

A claim whose lease has expired (its worker crashed) is taken over atomically, so the
provider's retry goes through. Expiry is checked here too: Firestore's TTL deletes lazily.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from .._errors import BackendUnavailable, ClaimInProgress, PayloadMismatch
from ._store import IdempotencyRecord, IdempotencyStore, Version, document_id


def utcnow() -> datetime:
    return datetime.now(UTC)


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


class Idempotency:
    """claim / complete / release over a store, with leases, TTL and payload checks."""

    # Bounded: each round trip loses a race only when another attempt changed the record.
    _MAX_ROUNDS = 5

    def __init__(
        self,
        store: IdempotencyStore,
        *,
        lease_seconds: int,
        ttl_seconds: int,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.lease = timedelta(seconds=lease_seconds)
        self.ttl = timedelta(seconds=ttl_seconds)
        self.clock = clock

    def claim(self, target: str, key: str, payload_hash: str) -> Claim | Replay:
        """Claim `target:key` for this attempt, or explain why not.

        Raises:
            ClaimInProgress: another attempt holds a live lease (409).
            PayloadMismatch: the key was used with a different payload (422).
            BackendUnavailable: the store failed (503).
        """
        doc_id = document_id(target, key)
        for _ in range(self._MAX_ROUNDS):
            now = self.clock()
            fresh = IdempotencyRecord(
                target=target,
                key=key,
                status="in_progress",
                payload_hash=payload_hash,
                lease_expires_at=now + self.lease,
                expire_at=now + self.ttl,
            )
            version = self.store.create(fresh)
            if version is not None:
                return Claim(fresh, version)
            found = self.store.get(doc_id)
            if found is None:
                continue  # released or expired between our create and get: try again
            existing, existing_version = found
            if existing.expire_at <= now:
                taken = self.store.replace(fresh, existing_version)
                if taken is not None:
                    return Claim(fresh, taken)
                continue
            if existing.payload_hash != payload_hash:
                raise PayloadMismatch(
                    f"idempotency key {key!r} was already used with a different payload"
                )
            if existing.status == "completed":
                return Replay(
                    status=existing.response_status or 200,
                    body=existing.response_body or "",
                    content_type=existing.response_content_type or "application/json",
                )
            if existing.lease_expires_at > now:
                left = (existing.lease_expires_at - now).total_seconds()
                raise ClaimInProgress(
                    f"delivery {key!r} is already being processed", retry_after=math.ceil(left)
                )
            taken = self.store.replace(fresh, existing_version)
            if taken is not None:
                return Claim(fresh, taken)
        raise BackendUnavailable(f"could not settle the claim for {key!r}", retry_after=1)

    def complete(self, claim: Claim, status: int, body: str, content_type: str) -> bool:
        """Record the answer so duplicates replay it; False if the lease was lost meanwhile."""
        done = replace(
            claim.record,
            status="completed",
            response_status=status,
            response_body=body,
            response_content_type=content_type,
        )
        return self.store.replace(done, claim.version) is not None

    def release(self, claim: Claim) -> bool:
        """Give the key up so the provider's retry can claim it again."""
        return self.store.delete(claim.record.doc_id, claim.version)
