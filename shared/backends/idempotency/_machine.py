r"""The idempotency state machine, written once above any IdempotencyStore.

    (absent) --claim--> in_progress --complete--> completed --(expire_at)--> (absent)
       |                  |  |  \--release--> (absent)
       |                  |  \--renew (a heartbeat)--> in_progress, a full lease again
       |                  \--lease expired: the next claim takes it over
       \--settle (a hand-off made without a claim)--> completed

A claim whose lease has expired (its worker crashed, or its store calls timed out) is taken
over atomically, so the retry goes through. A receiving request's claim lasts its deadline
(the request is over by then, answered or not); a processor's claim a short lease that its
run renews while it runs. Expiry is checked here too: Firestore's TTL deletes lazily.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from shared._deadline import time_left
from shared._errors import BackendUnavailable, ClaimInProgress, PayloadMismatch
from shared.backends.idempotency._outcomes import Claim, Replay
from shared.backends.idempotency._store import (
    IdempotencyRecord,
    IdempotencyStore,
    Version,
    document_id,
)

if TYPE_CHECKING:
    from shared.backends._batching import Followup


def utcnow() -> datetime:
    return datetime.now(UTC)


class Idempotency:
    """claim / complete / release / settle over a store, with leases, TTL and payload checks."""

    # Bounded: each round trip loses a race only when another attempt changed the record.
    _MAX_ROUNDS = 5
    # Polling a record another attempt holds: first after 50 ms, then doubling up to 500 ms
    # (each poll is a read of a store that may already be struggling).
    _FIRST_POLL, _LAST_POLL = 0.05, 0.5

    def __init__(
        self,
        store: IdempotencyStore,
        *,
        lease_seconds: float,
        ttl_seconds: int,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.lease = timedelta(seconds=lease_seconds)
        self.ttl = timedelta(seconds=ttl_seconds)
        self.clock = clock

    @staticmethod
    def new_token() -> str:
        """A claim token: names one attempt's record (see `settle`)."""
        return secrets.token_hex(12)

    def claim(
        self,
        target: str,
        key: str,
        payload_hash: str,
        *,
        lease_until: datetime | None = None,
        token: str | None = None,
        wait: bool = False,
        taken: bool = False,
    ) -> Claim | Replay:
        """Claim `target:key` for this attempt, or explain why not.

        `lease_until`: a fixed end of lease (a receiving request's deadline); `token` names
        this attempt's record. `wait`: poll a key another attempt holds while the deadline
        allows (its completion replays, its release or lapsed lease lets this attempt in).
        `taken`: this attempt's chained create (`creation`) found the key taken already.

        Raises:
            ClaimInProgress: another attempt holds a live lease (409).
            PayloadMismatch: the key was used with a different payload (422).
            BackendUnavailable: the store failed or the deadline ran out (503).
        """
        doc_id = document_id(target, key)
        token = token or self.new_token()
        poll = self._FIRST_POLL
        create = not taken
        rounds = 0
        while rounds < self._MAX_ROUNDS:
            now = self.clock()
            fresh = self.fresh(target, key, payload_hash, token, lease_until, now)
            if create:
                version = self.store.create(fresh)
                if version is not None:
                    return Claim(fresh, version)
            found = self.store.get(doc_id)
            if found is None:
                create, rounds = True, rounds + 1
                continue  # released or expired between our create and get: try again
            existing, existing_version = found
            if existing.lapsed(now):
                if existing.expire_at > now and existing.payload_hash != payload_hash:
                    raise _mismatch(key)
                took = self.store.replace(fresh, existing_version)
                if took is not None:
                    return Claim(fresh, took)
                create, rounds = False, rounds + 1
                continue
            if existing.payload_hash != payload_hash:
                raise _mismatch(key)
            if existing.status == "completed":
                return Replay(
                    status=existing.response_status or 200,
                    body=existing.response_body or "",
                    content_type=existing.response_content_type or "application/json",
                )
            poll = self._wait_for(key, existing, now, poll, wait)
            create = False
        raise BackendUnavailable(f"could not settle the claim for {key!r}", retry_after=1)

    def _wait_for(
        self, key: str, existing: IdempotencyRecord, now: datetime, poll: float, wait: bool
    ) -> float:
        """Sleep a poll's length while another attempt holds the key (the next poll's
        length), or refuse at once when this claim may not wait, or no longer can.

        Raises:
            ClaimInProgress: the other attempt's lease is live and this claim cannot wait.
        """
        lease_left = (existing.lease_expires_at - now).total_seconds()
        budget = time_left()
        # Keep a little of the budget: the hand-off still has to fit in after the wait.
        if not wait or budget is None or budget <= self._FIRST_POLL * 2:
            raise ClaimInProgress(
                f"delivery {key!r} is already being processed",
                retry_after=math.ceil(lease_left),
            )
        time.sleep(max(0.001, min(poll, lease_left, budget - self._FIRST_POLL)))
        return min(poll * 2, self._LAST_POLL)

    def fresh(
        self,
        target: str,
        key: str,
        payload_hash: str,
        token: str,
        lease_until: datetime | None = None,
        now: datetime | None = None,
    ) -> IdempotencyRecord:
        """The record a claim creates (or takes over with)."""
        now = now or self.clock()
        return IdempotencyRecord(
            target=target,
            key=key,
            status="in_progress",
            payload_hash=payload_hash,
            lease_expires_at=now + self.lease if lease_until is None else lease_until,
            expire_at=now + self.ttl,
            claim_token=token,
        )

    def creation(self, fresh: IdempotencyRecord) -> Followup | None:
        """A claim's first step, the create of `fresh`, as a Followup (its result: the
        version, the claim then being `Claim(fresh, version)`, or None when the key is
        taken: `claim(..., taken=True)` goes on from there); None when the store's writes
        are not batched."""
        return self.store.create_followup(fresh)

    def claim_all(self, target: str, items: list[tuple[str, str]]) -> list[Claim | None]:
        """Claim each free (key, payload hash) of `target` at once, in one write where the
        store can (`create_all`); None for a key whose record exists (`claim` decides it)."""
        now = self.clock()
        records = [
            self.fresh(target, key, payload_hash, self.new_token(), now=now)
            for key, payload_hash in items
        ]
        versions = self.store.create_all(records)
        return [
            None if version is None else Claim(record, version)
            for record, version in zip(records, versions, strict=True)
        ]

    def renew(self, claim: Claim) -> Claim | None:
        """The claim with a full lease from now (a heartbeat); None if another attempt took
        the key over, or it is gone."""
        fresh = replace(claim.record, lease_expires_at=self.clock() + self.lease)
        version = self._replace_own(fresh, claim)
        return None if version is None else Claim(fresh, version)

    def complete_run(self, claim: Claim, status: int, body: str, content_type: str) -> bool:
        """`complete` for a claim held through retries: a completion or renewal of this
        attempt that landed although its answer was lost is recognised (by the claim
        token) rather than taken for a lost lease. False when another attempt holds it."""
        done = claim.record.completed(status, body, content_type)
        return self._replace_own(done, claim) is not None

    def _replace_own(self, record: IdempotencyRecord, claim: Claim) -> Version | None:
        """Write `record` over `claim`'s version, or over the version found when the key
        still holds this attempt's own record (an earlier write of ours landed unseen)."""
        version = self.store.replace(record, claim.version)
        if version is not None:
            return version
        token = claim.record.claim_token
        found = self.store.get(record.doc_id) if token else None
        if found is None or found[0].claim_token != token:
            return None
        existing, current = found
        if existing.status == "completed":
            return current if record.status == "completed" else None
        return self.store.replace(record, current)

    def complete(self, claim: Claim, status: int, body: str, content_type: str) -> bool:
        """Record the answer so duplicates replay it; False if the lease was lost meanwhile."""
        done = claim.record.completed(status, body, content_type)
        return self.store.replace(done, claim.version) is not None

    def completion(
        self, claim: Claim, status: int, body: str, content_type: str
    ) -> Followup | None:
        """`complete`'s write as a Followup (its result: the new version, or None when the
        lease was lost), for a store whose writes are batched; None otherwise."""
        return self.store.replace_followup(
            claim.record.completed(status, body, content_type), claim.version
        )

    def complete_all(
        self, claims: list[Claim], status: int, body: str, content_type: str
    ) -> list[bool]:
        """`complete` for several claims, in one write where the store can (`replace_all`)."""
        done = [
            (claim.record.completed(status, body, content_type), claim.version) for claim in claims
        ]
        return [version is not None for version in self.store.replace_all(done)]

    def release(self, claim: Claim) -> bool:
        """Give the key up so the provider's retry can claim it again."""
        return self.store.delete(claim.record.doc_id, claim.version)

    def settle(
        self,
        target: str,
        key: str,
        payload_hash: str,
        token: str,
        answer: tuple[int, str, str],
    ) -> bool:
        """After a hand-off made without a claim (the store failed or was too slow), record
        `answer` (status, body, content type) so that duplicates replay it.

        The record is written only where no other attempt is live: the key is absent, or it
        is this attempt's own (`token`: its create landed although no answer came back), or
        its lease has ended. True when the key now holds a completed answer.
        """
        doc_id = document_id(target, key)
        status, body, content_type = answer
        for _ in range(self._MAX_ROUNDS):
            now = self.clock()
            done = IdempotencyRecord(
                target=target,
                key=key,
                status="completed",
                payload_hash=payload_hash,
                lease_expires_at=now,
                expire_at=now + self.ttl,
                response_status=status,
                response_body=body,
                response_content_type=content_type,
                claim_token=token,
            )
            found = self.store.get(doc_id)
            if found is None:
                if self.store.create(done) is not None:
                    return True
                continue
            existing, version = found
            if existing.expire_at > now:
                if existing.status == "completed":
                    return True
                if existing.claim_token != token and existing.lease_expires_at > now:
                    return False  # another attempt holds it: it records its own answer
            if self.store.replace(done, version) is not None:
                return True
        return False


def _mismatch(key: str) -> PayloadMismatch:
    return PayloadMismatch(f"idempotency key {key!r} was already used with a different payload")
