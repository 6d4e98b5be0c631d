"""The receive pipeline's hand-off of one delivery: its publish after its claim, the claim
given back when the publish fails, and the chained form of claim, publish and completion
(each made by its batch's leader, so that the request thread is woken once per delivery:
shared/_batching.py) where the store and the queue batch their calls.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from shared._deadline import deadline_scope
from shared._delivery import Delivery, rfc3339_now
from shared._errors import BackendUnavailable, WebhookError
from shared.backends.handoff import Publisher
from shared.backends.idempotency import Claim, Replay
from shared.providers._provider import Inbound, Provider
from shared.receiving._claims import CLEANUP_BUDGET_SECONDS, Chained, ReceiveClaims

if TYPE_CHECKING:
    from shared.backends._batching import Followup
    from shared.receiving._host import ReceivingRuntime

log = logging.getLogger("runrun.receive")


def delivery_of(
    provider: Provider, key: str, event_type: str, content_type: str, body: bytes
) -> Delivery:
    return Delivery(
        source=provider.target,
        delivery_id=key,
        event_type=event_type,
        content_type=content_type,
        received_at=rfc3339_now(),
        data=body,
    )


def hand_off(
    runtime: ReceivingRuntime,
    claim: Claim | None,
    provider: Provider,
    key: str,
    event_type: str,
    content_type: str,
    body: bytes,
    then: Followup | None = None,
) -> object:
    """Publish the delivery, then make `then` (its outcome is returned: None without it);
    a failed publish gives the claim back and raises, and `then` is never made."""
    delivery = delivery_of(provider, key, event_type, content_type, body)
    try:
        publisher = runtime.publisher_for(provider.target)  # RUNRUN_TARGET_QUEUES
        if then is None:
            publisher.publish(runtime.settings.topic, body, delivery.attributes())
            return None
        _, outcome = publisher.publish_then(
            runtime.settings.topic, body, delivery.attributes(), then
        )
        return outcome
    except BaseException:
        if claim is not None:
            _release_quietly(runtime, claim)
        raise


def publish_followup(
    runtime: ReceivingRuntime,
    provider: Provider,
    key: str,
    event_type: str,
    content_type: str,
    part: Inbound,
) -> Followup | None:
    """The delivery's publish as a Followup of its claim, when the queue batches its
    publishes and its topic is reachable (otherwise the steps go one by one)."""
    try:
        publisher = runtime.publisher_for(provider.target)  # RUNRUN_TARGET_QUEUES
        if type(publisher).publish_followup is Publisher.publish_followup:
            return None  # this queue does not batch: nothing to build
        delivery = delivery_of(provider, key, event_type, content_type, part.body)
        return publisher.publish_followup(runtime.settings.topic, part.body, delivery.attributes())
    except WebhookError:
        return None  # the publish one by one answers for it


def claim_after(
    claims: ReceiveClaims, chained: Chained | None, key: str, digest: str, token: str
) -> Claim | Replay | None:
    """The claim as `ReceiveClaims.claim` gives it, when the chain did not make it: its
    create failed (hand off without a claim), found the key taken (go on from there), or
    there was no chain."""
    created = chained.outcomes[0] if chained is not None else None
    if isinstance(created, BackendUnavailable):
        claims.unclaimed(key, created)
        return None
    if isinstance(created, BaseException):
        raise created
    return claims.claim(key, digest, token, taken=chained is not None)


def chained_hand_off(
    runtime: ReceivingRuntime, claims: ReceiveClaims, chained: Chained, reply: tuple[int, str, str]
) -> None:
    """After `ReceiveClaims.chain` made the claim: as `hand_off` and the completion would."""
    claim = chained.claim
    assert claim is not None
    published = chained.outcomes[1]
    if isinstance(published, BaseException):
        _release_quietly(runtime, claim)
        raise published
    if len(chained.outcomes) > 2:
        claims.completed(chained.outcomes[2])
    else:  # the store gave no completion to chain
        claims.complete(claim, reply)


def _release_quietly(runtime: ReceivingRuntime, claim: Claim) -> None:
    """Give the key back; if even that fails, the lease expiry lets the retry through."""
    try:
        # A budget of its own: the publish may have used up the request's deadline.
        with deadline_scope(CLEANUP_BUDGET_SECONDS, nested=False):
            runtime.idempotency.release(claim)
    except WebhookError as exc:
        log.warning("could not release claim", extra={"reason": exc.message})
