"""The named steps of one processor run, between which `_process` puts its spans and
reports: `claim` the (delivery, processor) pair, `hold` it (the `processor started` line and
the heartbeat renewing its lease: `_held.py`), the `side_effect` (the processor itself), and
`release` on a failure (or `complete` on success: `_completions.py`)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from shared._delivery import Delivery
from shared._errors import WebhookError
from shared.backends.idempotency import Claim, Replay
from shared.processing._held import HeldClaim
from shared.processing._run_claims import PROCESS_TARGET, pair_key, take

if TYPE_CHECKING:
    from shared.processing._host import ProcessingRuntime
    from shared.processing._registry import Registration

log = logging.getLogger("runrun.process")


def claim(
    runtime: ProcessingRuntime, processor: str, delivery: Delivery, digest: str
) -> Claim | None:
    """This run's claim of the pair; None when the processor already ran.

    Raises:
        ClaimInProgress: another run holds the pair's live lease.
        BackendUnavailable: the store failed.
    """
    key = pair_key(delivery, processor)
    # Claimed with the queue worker's batch (`_run_claims`), or now.
    claim: Claim | Replay | None = take(runtime, key)
    if claim is None:
        with runtime.deadline():
            claim = runtime.idempotency.claim(PROCESS_TARGET, key, digest)
    if isinstance(claim, Replay):
        log.info("processor already ran", extra={"processor": processor})
        return None
    return claim


def hold(runtime: ProcessingRuntime, claim: Claim, processor: str, delivery: Delivery) -> HeldClaim:
    """Say which run starts, before it has any effect elsewhere (the line is flushed, so a
    process killed during the run still names it), then keep its lease alive while it runs."""
    log.info(
        "processor started",
        extra={"processor": processor, "event_type": delivery.event_type},
    )
    held = HeldClaim(runtime, claim, processor, delivery.delivery_id)
    held.start_heartbeat()
    return held


def side_effect(
    runtime: ProcessingRuntime, registration: Registration, delivery: Delivery
) -> str | None:
    """The processor itself, on its narrow context; its note, if it returned one."""
    note: str | None = registration.run(delivery, runtime.processor_context(registration))
    return note


def release(held: HeldClaim) -> None:
    """Give the pair up so the queue's retry runs it again; on a store failure, say that
    the claim is left to its lease."""
    held.stop_heartbeat()
    runtime = held.runtime
    try:
        with runtime.deadline():
            runtime.idempotency.release(held.claim)
    except WebhookError as release_error:
        log.warning(
            "could not release claim: it is left to its lease",
            extra={
                "processor": held.processor,
                "lease_expires_at": held.lease_ends.isoformat(),
                "reason": release_error.message,
            },
        )
