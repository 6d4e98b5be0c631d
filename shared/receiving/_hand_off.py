"""The receive pipeline's hand-off of each delivery along its target's route: its claim,
its publish (the queue's acknowledgement is what makes it durable), and the completion
that lets a duplicate replay the answer.

    Route (chosen once per target by the runtime: _route.py)
    ├── embedded intake   claim, message and completion in one SQLite transaction; a key
    │                     another attempt holds, or a failed transaction, takes the steps
    ├── chained           claim, then publish, then completion, each made by its batch's
    │                     leader (shared/backends/_batching.py): the request thread is woken
    │                     once per delivery
    └── step by step      claim, publish, complete, one after another

A failed publish gives the claim back, so the provider's retry goes through.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from shared._deadline import deadline_scope
from shared._delivery import Delivery
from shared._errors import BackendUnavailable, WebhookError
from shared._trace import step
from shared.backends._intake import Accepted, Intake
from shared.backends.idempotency import Claim, Replay
from shared.receiving._claims import CLEANUP_BUDGET_SECONDS, Chained, ReceiveClaims
from shared.receiving._route import Route

if TYPE_CHECKING:
    from shared.backends._batching import Followup
    from shared.receiving._host import ReceivingRuntime

log = logging.getLogger("runrun.receive")

Reply = tuple[int, str, str]  # status, body, content type: the 2xx a duplicate replays


class _Done:
    """The chain handed the item off whole: claimed, published and completed."""


_DONE = _Done()


@dataclass(slots=True)
class Item:
    """One delivery of the request, built once: what is claimed and published."""

    delivery: Delivery
    digest: str  # of the body: a duplicate with another body is refused (422)
    token: str  # this attempt's claim token


class HandOff:
    """One request's hand-off of its items along its target's route."""

    def __init__(
        self, runtime: ReceivingRuntime, route: Route, claims: ReceiveClaims, reply: Reply
    ) -> None:
        self.runtime, self.route, self.claims, self.reply = runtime, route, claims, reply
        self.topic = runtime.settings.queue.topic
        self.unclaimed = 0  # items published without a claim (the store failed)

    @property
    def route_name(self) -> str:
        """How this route hands off (a span's attribute): "intake" (one transaction),
        "chained" (claim, publish and completion batched) or "steps"."""
        if self.route.intake is not None:
            return "intake"
        return "chained" if self.route.chained else "steps"

    def take(self, item: Item) -> Replay | None:
        """Hand `item` off; the Replay of an earlier attempt's answer when one handed it off.

        Raises:
            BackendUnavailable: the queue did not take it (the claim is given back).
            ClaimInProgress, PayloadMismatch: as `ReceiveClaims.claim`.
        """
        intake = self.route.intake
        if intake is not None:  # one transaction instead of the steps below
            claims = self.claims
            lease_until = claims.lease_until
            taken = intake.take(
                Intake.of(
                    item.delivery, item.digest, item.token, lease_until, self.topic, self.reply
                )
            )
            if isinstance(taken, Accepted):
                return None
            if isinstance(taken, Replay):
                return taken
        claim = self._chained(item) if self.route.chained else self._claim(item, None)
        if isinstance(claim, _Done):
            return None
        if isinstance(claim, Replay):
            return claim
        self._publish(item, claim)
        return None

    def _claim(self, item: Item, chained: Chained | None) -> Claim | Replay | None:
        """The claim as `ReceiveClaims.claim` gives it, when no chain made it: the chain's
        create failed (hand off without a claim), found the key taken (go on from there),
        or there was no chain."""
        claims, key = self.claims, item.delivery.delivery_id
        created = chained.outcomes[0] if chained is not None else None
        if isinstance(created, BackendUnavailable):
            claims.unclaimed(key, created)
            return None
        if isinstance(created, BaseException):
            raise created
        with step(self.runtime.tracer, "claim") as span:
            claim = claims.claim(key, item.digest, item.token, taken=chained is not None)
            if span is not None:
                outcome = "unclaimed" if claim is None else "claimed"
                span.set_attribute(
                    "runrun.outcome", "replayed" if isinstance(claim, Replay) else outcome
                )
            return claim

    def _chained(self, item: Item) -> Claim | Replay | None | _Done:
        """Claim, publish and complete in one wake-up (`_DONE`), or the claim to go on
        with step by step when the chain could not make it."""
        delivery = item.delivery
        try:
            publish: Followup | None = self.route.publisher.publish_followup(
                self.topic, delivery.data, delivery.attributes()
            )
        except WebhookError:
            publish = None  # the steps one by one answer for it
        if publish is None:
            return self._claim(item, None)
        chained = self.claims.chain(
            delivery.delivery_id, item.digest, item.token, publish, self.reply
        )
        if chained is None or chained.claim is None:
            return self._claim(item, chained)
        published = chained.outcomes[1]
        if isinstance(published, BaseException):
            self._release_quietly(chained.claim)
            raise published
        if len(chained.outcomes) > 2:
            self.claims.completed(chained.outcomes[2])
        else:  # the store gave no completion to chain
            self.claims.complete(chained.claim, self.reply)
        return _DONE

    def _publish(self, item: Item, claim: Claim | None) -> None:
        """Publish, then complete the claim (riding on the publish's batch where the store
        allows it), or settle an unclaimed delivery's answer."""
        claims, delivery = self.claims, item.delivery
        completion = claims.completion(claim, self.reply) if claim is not None else None
        try:
            if completion is None:
                self.route.publisher.publish(self.topic, delivery.data, delivery.attributes())
            else:
                _, completed = self.route.publisher.publish_then(
                    self.topic, delivery.data, delivery.attributes(), completion
                )
        except BaseException:
            if claim is not None:
                self._release_quietly(claim)
            raise
        if claim is None:
            self.unclaimed += 1
            claims.settle(delivery.delivery_id, item.digest, item.token, self.reply)
        elif completion is None:
            claims.complete(claim, self.reply)
        else:
            claims.completed(completed)

    def _release_quietly(self, claim: Claim) -> None:
        """Give the key back; if even that fails, the lease expiry lets the retry through."""
        try:
            # A budget of its own: the publish may have used up the request's deadline.
            with deadline_scope(CLEANUP_BUDGET_SECONDS, nested=False):
                self.runtime.idempotency.release(claim)
        except WebhookError as exc:
            log.warning("could not release claim", extra={"reason": exc.message})
