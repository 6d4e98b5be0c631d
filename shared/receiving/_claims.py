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
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared._deadline import deadline_scope, remaining
from shared._errors import BackendUnavailable, WebhookError
from shared.backends.idempotency import Claim, IdempotencyRecord, Replay

if TYPE_CHECKING:
    from shared.backends._batching import Followup
    from shared.receiving._host import ReceivingRuntime

log = logging.getLogger("runrun.receive")

# The claim's share of the deadline at most: however slow the store, the hand-off keeps the
# rest, so the delivery is published (without a claim) and answered inside the window.
CLAIM_SHARE = 0.5
# For the best-effort writes after the hand-off (settle, release): kept small so that the
# answer stays inside Slack's 3 s.
CLEANUP_BUDGET_SECONDS = 0.75
# Added to a hold: the lease is compared with other instances' clocks.
_CLOCK_SLACK_SECONDS = 0.05


@dataclass(frozen=True)
class Chained:
    """What `ReceiveClaims.chain` made: the outcomes of the create, then (if it was made)
    the publish, then (if that was) the completion; the last may be an exception."""

    fresh: IdempotencyRecord
    outcomes: list[Any]

    @property
    def claim(self) -> Claim | None:
        """The claim, when the create was made (None: failed, or the key was taken)."""
        version = self.outcomes[0]
        if version is None or isinstance(version, BaseException):
            return None
        return Claim(self.fresh, version)


@dataclass
class ReceiveClaims:
    """The claims of one receiving request (one per item of a batch)."""

    runtime: ReceivingRuntime
    target: str
    deadline: float
    lease_until: datetime = field(init=False)
    hold: bool = False  # a record of ours may still be in progress: answer after its lease
    # The last claim failed in a way that may have left its record (a create timed out).
    _maybe_left: bool = field(default=False, init=False)
    # When the claim's share of the deadline, started by `chain`, ends (time.monotonic()).
    _share_ends: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self.lease_until = datetime.now(UTC) + timedelta(seconds=self.deadline)

    def claim(
        self, key: str, digest: str, token: str, *, taken: bool = False
    ) -> Claim | Replay | None:
        """This attempt's claim, the replay of an earlier answer, or None when the store
        failed or did not answer within the claim's share (hand off without a claim).
        `taken`: this attempt's create was made already (`chain`) and found the key taken.

        Raises:
            ClaimInProgress: the first attempt is still running within its lease (409).
            PayloadMismatch: same key, different body (422).
        """
        self._maybe_left = False
        share = self.deadline * CLAIM_SHARE
        if taken:  # the chain's create used part of the share already
            share = max(0.0, self._share_ends - time.monotonic())
        try:
            with deadline_scope(share):
                return self.runtime.idempotency.claim(
                    self.target,
                    key,
                    digest,
                    lease_until=self.lease_until,
                    token=token,
                    wait=True,
                    taken=taken,
                )
        except BackendUnavailable as exc:
            self.unclaimed(key, exc)
            return None

    def unclaimed(self, key: str, exc: BackendUnavailable) -> None:
        """The claim failed: hand off without one."""
        log.warning(
            "idempotency store unavailable: handing off without a claim",
            extra={"delivery_id": key, "reason": exc.message},
        )
        self._maybe_left = exc.may_have_applied  # the create may have landed after all

    def chain(
        self, key: str, digest: str, token: str, publish: Followup, answer: tuple[int, str, str]
    ) -> Chained | None:
        """The claim's create, then (once it is made) `publish`, then the completion, all
        made for this request by the batches' leaders, so that its thread is woken once
        (shared/backends/_batching.py). The create keeps the claim's share of the deadline, the
        publish and the completion the request's. None when the store's writes are not
        batched (then `claim`, publish and `complete`, one after another)."""
        idempotency = self.runtime.idempotency
        self._maybe_left = False
        fresh = idempotency.fresh(self.target, key, digest, token, self.lease_until)
        create = idempotency.creation(fresh)
        if create is None:
            return None
        try:
            publish = replace(publish, end=time.monotonic() + remaining())
        except BackendUnavailable:
            return None  # no time left: the steps one by one answer for it

        def after_create(version: object) -> Followup | None:
            if version is None:  # the key is taken: `claim(..., taken=True)` goes on
                return None
            completion = idempotency.completion(Claim(fresh, version), *answer)
            return replace(publish, then=None if completion is None else lambda _: completion)

        share = self.deadline * CLAIM_SHARE
        self._share_ends = time.monotonic() + share
        with deadline_scope(share):
            outcomes = create.batcher.submit_chain(create.item, after_create)
        return Chained(fresh, outcomes)

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
