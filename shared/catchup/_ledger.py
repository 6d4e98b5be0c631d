"""What catch-up reads from and writes to the idempotency store: the one place it touches the
rest of the webhook library (keep it that way: the library's layout may change around it).

Already accepted by runrun means the receiving target's record for the event's key (target
`github_webhook`, key = the guid GitHub sends as X-GitHub-Delivery; see docs/idempotency.md):

- `completed`: the target handed the delivery off durably and recorded its 2xx answer.
  GitHub may still list the delivery as failed (the answer came after GitHub's 10 s, or the
  connection dropped after the hand-off): it is accepted, nothing is asked.
- `in_progress` within its lease: a request is being handled right now; it ends accepted or
  released, and the next run sees which. Nothing is asked now.
- `in_progress` past its lease: that attempt died, maybe before handing off; it is not
  accepted. A redelivery takes the expired claim over, and if the dead attempt had handed
  off after all, the processor's own claim per (delivery, processor) absorbs the second
  message, so asking loses nothing and runs nothing twice.
- absent or past `expire_at`: not accepted.

Processor records are not consulted: acceptance is the receiving side's; exactly-once
processing is the processor claims' business.

Catch-up remembers each redelivery it asked for as a record of its own, target
`catch-up:<target>`, key = the attempt id, claimed through the same state machine: two runs
at once ask once, and a request that failed is released so the next run asks again.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import datetime

from .._errors import BackendUnavailable, ClaimInProgress, PayloadMismatch
from ..backends.idempotency import Claim, Idempotency, IdempotencyRecord, document_id
from ..runtime import Runtime
from ..settings import ConfigError, get_settings
from ._errors import StoreUnavailable, UsageError


class Acceptance(enum.Enum):
    NONE = "not accepted"
    ACCEPTED = "accepted"
    IN_FLIGHT = "in flight"


class Ledger:
    """Acceptance of events and the redelivery requests made, over the idempotency store."""

    def __init__(self, idempotency: Idempotency, target: str) -> None:
        self.idempotency = idempotency
        self.target = target
        self.asks = f"catch-up:{target}"

    def acceptance(self, guid: str) -> Acceptance:
        """Whether the receiving target accepted the event with this guid (module doc)."""
        record = self._record(self.target, guid)
        if record is None:
            return Acceptance.NONE
        if record.status == "completed":
            return Acceptance.ACCEPTED
        if record.lease_expires_at > self.idempotency.clock():
            return Acceptance.IN_FLIGHT
        return Acceptance.NONE

    def asked(self, attempt_id: int) -> bool:
        """A redelivery of this attempt was asked for (or is being asked for right now)."""
        record = self._record(self.asks, str(attempt_id))
        if record is None:
            return False
        return record.status == "completed" or record.lease_expires_at > self.idempotency.clock()

    def ask_once(self, attempt_id: int, guid: str, ask: Callable[[], None]) -> bool:
        """Run `ask` unless this attempt was asked for before; whether it ran. `ask` raising
        releases the record (the next run asks again) and the exception goes on."""
        try:
            claim = self.idempotency.claim(self.asks, str(attempt_id), guid)
        except (ClaimInProgress, PayloadMismatch):
            return False  # another run is asking right now, or asked for another event
        except BackendUnavailable as exc:
            raise StoreUnavailable(f"idempotency store: {exc.message}") from exc
        if not isinstance(claim, Claim):
            return False  # completed before: asked already
        try:
            ask()
        except BaseException:
            self._quietly(lambda: self.idempotency.release(claim))
            raise
        self._quietly(lambda: self.idempotency.complete(claim, 202, guid, "text/plain"))
        return True

    def _record(self, target: str, key: str) -> IdempotencyRecord | None:
        try:
            found = self.idempotency.store.get(document_id(target, key))
        except BackendUnavailable as exc:
            raise StoreUnavailable(f"idempotency store: {exc.message}") from exc
        if found is None:
            return None
        record, _version = found
        now: datetime = self.idempotency.clock()
        return None if record.expire_at <= now else record

    @staticmethod
    def _quietly(write: Callable[[], bool]) -> None:
        # The redelivery was asked for (or failed) already; a record that could not be
        # settled ends with its lease, and the next run decides again from GitHub's list.
        try:
            write()
        except BackendUnavailable:
            pass


def open_ledger(target: str) -> tuple[Ledger, Callable[[], None]]:
    """A Ledger over the store the settings name (RUNRUN_STORE...), and how to close it."""
    try:
        runtime = Runtime(get_settings(), run_queue_worker=False)
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc
    return Ledger(runtime.idempotency, target), runtime.stop
