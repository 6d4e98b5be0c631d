"""One processor run's claim while the run holds it: renewed by a heartbeat, then completed
(retried with backoff inside its lease) or released; never dropped without a log line.

The claim's lease is short (RUNRUN_LEASE_SECONDS), so that the run of a crashed process is
taken over within seconds; a live run renews it every third of the lease while it runs, so
it is never taken over. A run that ends before its first renewal is due writes nothing more
than its claim and its completion. Every renewal is a conditional write: only the version
this run holds is renewed, so a run whose claim was taken over (its lease ran out while the
store failed) stops renewing and says so.

How each claim ends, for the log reader: `processor ran` (completed), `processor failed` or
`processor backs off` (released), or a WARNING or ERROR line saying why it was left to its
lease (`could not release claim`, `processor claim lost`, `processor completion not recorded`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from shared._errors import WebhookError

if TYPE_CHECKING:
    from shared._renewals import Beat
    from shared.backends.idempotency import Claim
    from shared.processing._host import ProcessingRuntime

log = logging.getLogger("runrun.process")

T = TypeVar("T")

# Backoff between completion attempts: doubling from 50 ms, never more than a second apart.
_FIRST_RETRY, _LAST_RETRY = 0.05, 1.0


class HeldClaim:
    """A run's claim of one (delivery, processor) pair, and its heartbeat."""

    def __init__(
        self, runtime: ProcessingRuntime, claim: Claim, processor: str, delivery_id: str
    ) -> None:
        self.runtime = runtime
        self.claim = claim
        self.processor = processor
        self.delivery_id = delivery_id  # named on lines logged from the heartbeat's thread
        self._beat: Beat | None = None

    @property
    def lease_ends(self) -> datetime:
        return self.claim.record.lease_expires_at

    def start_heartbeat(self) -> None:
        """Renew the lease every third of it until `stop_heartbeat`."""
        interval = self.runtime.idempotency.lease.total_seconds() / 3
        self._beat = self.runtime.renewals.every(interval, self.renew)

    def stop_heartbeat(self) -> None:
        """Stop renewing; returns once no renewal is running (the claim is then current)."""
        if self._beat is not None:
            self._beat.cancel()

    def renew(self) -> bool:
        """One heartbeat: a full lease from now; False once the claim is lost (logged)."""
        machine = self.runtime.idempotency
        try:
            with self.runtime.deadline():
                renewed = machine.renew(self.claim)
        except WebhookError as exc:
            if self.lease_ends > machine.clock():
                return True  # the next beat tries again, while the lease lasts
            self._lost("its lease ran out while the store failed", exc.message)
            return False
        if renewed is None:
            self._lost("another run took it over", None)
            return False
        self.claim = renewed
        return True

    def _lost(self, why: str, reason: str | None) -> None:
        log.warning(
            "processor claim lost: the run goes on, and another run may repeat it",
            extra={
                "processor": self.processor,
                "delivery_id": self.delivery_id,
                "why": why,
                **({"reason": reason} if reason else {}),
            },
        )

    def until_lease_ends(self, write: Callable[[], T]) -> T:
        """`write` (a store call), retried with backoff on a store failure while this
        claim's lease lasts; the last failure is raised."""
        machine = self.runtime.idempotency
        delay = _FIRST_RETRY
        while True:
            try:
                with self.runtime.deadline():
                    return write()
            except WebhookError:
                left = (self.lease_ends - machine.clock()).total_seconds()
                if left <= delay:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, _LAST_RETRY)
