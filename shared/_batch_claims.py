"""Processor claims made per batch of queue messages instead of one write each.

The embedded queue's worker runs a leased batch of messages one after another, and every
processor run first claims its (delivery, processor) pair (shared/_process.py). On the
embedded store each claim was a turn of its own on the state file's write lock, shared with
the receivers' durable commits, and the claims were about a quarter of the worker's Python
time (py-spy, docs/benchmarks.md). Inside `claiming(runtime, deliveries)` the worker claims
every pair of the batch that runs now in one write (`Idempotency.claim_all`), and each run
takes its claim from there (`take`).

What each claim guarantees is unchanged: a batch claim is the same create-if-absent a run
would make. A pair whose record exists (completed by an earlier attempt, or held by another)
gets no batch claim, and its run takes the ordinary path, which replays, waits, takes over
or refuses as it always did. A run that starts late in a slow batch renews its claim's lease
first (one conditional write), so that it holds a full lease from its start, as before.
Claims the batch did not use (the worker stopped, a message was unreadable) are released
when the block ends; a crash leaves them to their lease, as a crash during a run always did.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING

from ._errors import WebhookError

if TYPE_CHECKING:
    from ._delivery import Delivery
    from ._runtime import Runtime
    from .idempotency import Claim

log = logging.getLogger("runrun.process")

# The target name processor claims are made under (as `_process` claims them).
PROCESS_TARGET = "process_delivery"


def pair_key(delivery: Delivery, processor: str) -> str:
    """The idempotency key of one processor's run on one delivery."""
    return f"{delivery.source}:{delivery.delivery_id}:{processor}"


def payload_hash(delivery: Delivery) -> str:
    return hashlib.sha256(delivery.data).hexdigest()


_current: ContextVar[dict[str, Claim] | None] = ContextVar("runrun_batch_claims", default=None)


@contextlib.contextmanager
def claiming(runtime: Runtime, deliveries: list[Delivery]) -> Iterator[None]:
    """Inside the block (this thread), runs of `deliveries`' processors take the claims made
    here for the whole batch; the ones left unused are released when it ends."""
    claims = _claim_batch(runtime, deliveries)
    token = _current.set(claims)
    try:
        yield
    finally:
        _current.reset(token)
        _release_unused(runtime, claims)


def take(runtime: Runtime, key: str) -> Claim | None:
    """This batch's claim of `key`, its lease renewed if much of it has passed; None when
    the batch holds none (the run claims it the ordinary way)."""
    claims = _current.get()
    if not claims:
        return None
    claim = claims.pop(key, None)
    if claim is None:
        return None
    machine = runtime.idempotency
    if claim.record.lease_expires_at - machine.clock() >= machine.lease / 2:
        return claim
    with runtime.deadline():
        return machine.renew(claim)  # None: lost meanwhile, the ordinary path decides


def _claim_batch(runtime: Runtime, deliveries: list[Delivery]) -> dict[str, Claim]:
    registry = runtime.processors
    if registry is None:
        return {}
    keys: dict[str, str] = {}  # key -> payload hash, each pair once
    for delivery in deliveries:
        digest = payload_hash(delivery)
        for registration in registry.matching(delivery, runtime.settings):
            if registration.delay is None:  # a delayed one may be scheduled, not run
                keys.setdefault(pair_key(delivery, registration.name), digest)
    if not keys:
        return {}
    try:
        with runtime.deadline():
            made = runtime.idempotency.claim_all(PROCESS_TARGET, list(keys.items()))
    except Exception as exc:  # noqa: BLE001 - each run claims its own pair, as unbatched
        reason = exc.message if isinstance(exc, WebhookError) else type(exc).__name__
        log.warning("could not claim a batch's processor runs", extra={"reason": reason})
        return {}
    return {key: claim for key, claim in zip(keys, made, strict=True) if claim is not None}


def _release_unused(runtime: Runtime, claims: dict[str, Claim]) -> None:
    for claim in claims.values():
        try:
            with runtime.deadline():
                runtime.idempotency.release(claim)
        except Exception as exc:  # noqa: BLE001 - its lease ends it; the worker goes on
            reason = exc.message if isinstance(exc, WebhookError) else type(exc).__name__
            log.warning("could not release claim", extra={"reason": reason})
