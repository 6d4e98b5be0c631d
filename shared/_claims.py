"""The receiving side's claims: short, never stranding a key, never in the way of a delivery.

A receiving claim only saves duplicate publishes; the processor's own claim is the
exactly-once guarantee. So:

- its lease ends with the request's deadline (`ReceiveClaim.lease_until`): by then the
  request is over, answered or not, and a retry is never blocked for longer;
- it gets at most a share of the deadline (CLAIM_SHARE): a store that fails or answers too
  slowly leaves the rest to the hand-off, which then publishes without a claim;
- a duplicate waits within that share for a first attempt still running, and gets its
  answer (replay) or the key (released, or its lease over) instead of a 409;
- whenever a record of this attempt may be left in progress (a create or a completion
  that timed out, and no settle afterwards), the 2xx is held until the lease has ended, so
  that no duplicate arriving after a 2xx can find the key in progress: it replays, or takes
  the key over and publishes again (the processor's claim absorbs the second message).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from ._deadline import deadline_scope
from ._errors import BackendUnavailable, WebhookError
from .idempotency import Claim, Replay

if TYPE_CHECKING:
    from ._batching import Followup
    from ._runtime import Runtime

log = logging.getLogger("runrun.receive")

# The claim's share of the deadline at most: however slow the store, the hand-off keeps the
# rest, so the delivery is published (without a claim) and answered inside the window.
CLAIM_SHARE = 0.5
# For the best-effort writes after the hand-off (settle, release): kept small so that the
# answer stays inside Slack's 3 s.
CLEANUP_BUDGET_SECONDS = 0.75
# Added to a hold: the lease is compared with other instances' clocks.
_CLOCK_SLACK_SECONDS = 0.05


@dataclass
class ReceiveClaims:
    """The claims of one receiving request (one per item of a batch)."""

    runtime: Runtime
    target: str
    deadline: float
    lease_until: datetime = field(init=False)
    hold: bool = False  # a record of ours may still be in progress: answer after its lease
    # The last claim failed in a way that may have left its record (a create timed out).
    _maybe_left: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self.lease_until = datetime.now(UTC) + timedelta(seconds=self.deadline)

    def claim(self, key: str, digest: str, token: str) -> Claim | Replay | None:
        """This attempt's claim, the replay of an earlier answer, or None when the store
        failed or did not answer within the claim's share (hand off without a claim).

        Raises:
            ClaimInProgress: the first attempt is still running within its lease (409).
            PayloadMismatch: same key, different body (422).
        """
        self._maybe_left = False
        try:
            with deadline_scope(self.deadline * CLAIM_SHARE):
                return self.runtime.idempotency.claim(
                    self.target, key, digest, lease_until=self.lease_until, token=token, wait=True
                )
        except BackendUnavailable as exc:
            log.warning(
                "idempotency store unavailable: handing off without a claim",
                extra={"delivery_id": key, "reason": exc.message},
            )
            self._maybe_left = exc.may_have_applied  # the create may have landed after all
            return None

    def settle(self, key: str, digest: str, token: str, answer: tuple[int, str, str]) -> None:
        """Record the answer of an unclaimed hand-off if the store answers now, so that
        duplicates replay it; otherwise they publish again, absorbed by the processor."""
        settled = False
        try:
            with deadline_scope(CLEANUP_BUDGET_SECONDS):
                settled = self.runtime.idempotency.settle(self.target, key, digest, token, answer)
        except WebhookError as exc:
            log.warning("could not record an unclaimed delivery", extra={"reason": exc.message})
        if self._maybe_left and not settled:
            self.hold = True

    def complete(self, claim: Claim, answer: tuple[int, str, str]) -> None:
        """Mark the claim complete; if that fails, the message is durably queued already, so
        the 2xx is still the truth, held until the claim's lease ends."""
        try:
            self.runtime.idempotency.complete(claim, *answer)
        except WebhookError as exc:
            self.completed(exc)

    def completion(self, claim: Claim, answer: tuple[int, str, str]) -> Followup | None:
        """`complete`'s write, to be made by the publish's batch (`Publisher.publish_then`)
        and its outcome given to `completed`; None when the store cannot (then `complete`)."""
        return self.runtime.idempotency.completion(claim, *answer)

    def completed(self, outcome: object) -> None:
        """What `complete` does with the completion's outcome, made by the publish's batch:
        a failed completion holds the 2xx, as in `complete`."""
        if isinstance(outcome, WebhookError):
            log.warning("could not mark delivery complete", extra={"reason": outcome.message})
            self.hold = True
        elif isinstance(outcome, BaseException):
            raise outcome

    def wait_for_lease_end(self) -> None:
        """Hold the answer until every claim this request may have left has ended."""
        if not self.hold:
            return
        left = (self.lease_until - datetime.now(UTC)).total_seconds() + _CLOCK_SLACK_SECONDS
        if left > 0:
            log.info("answer held until the claim's lease ends", extra={"hold_s": round(left, 3)})
            time.sleep(left)
