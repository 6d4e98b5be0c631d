"""Completing a processor run's claim: retried with backoff inside its lease, and, for the
embedded queue's worker, recorded per batch of messages instead of one write each.

A completion that fails is retried until the claim's lease ends (`HeldClaim`), never
abandoned at the first error: a slow store write must not leave a delivery's processor
to be run again after its lease. Only when the store still fails is the claim left to its
lease, with an ERROR line saying what was done (the processor ran) and what was not (its
completion), so that a reader knows a redelivery after that time runs it again.

The embedded queue's worker runs a leased batch of messages one after another; on the
embedded store every completion would be a turn on the state file's write lock, shared with
the receivers' durable commits. Inside `deferring()` a successful run's completion is kept
instead (its heartbeat goes on), and the worker writes the batch's completions in one
transaction (`PendingCompletions.flush`) before it deletes the batch's messages, and before
it records a failure (so that the retry of a message finds its completed processors
completed). A crash in between costs what a crash between a run and its completion always
costs: the claim stays in progress until its lease ends, and the message runs again then.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING

from shared._errors import WebhookError

if TYPE_CHECKING:
    from shared.processing._held import HeldClaim

log = logging.getLogger("runrun.process")

# What a processor's completed claim answers a duplicate with (as `_process` writes it).
DONE = (200, "", "text/plain")


def complete_now(held: HeldClaim, answer: tuple[int, str, str] = DONE) -> bool:
    """Stop the run's heartbeat and record its answer, retried while its lease lasts;
    whether it was recorded (if not, the reason is logged at WARNING or ERROR)."""
    held.stop_heartbeat()
    machine = held.runtime.idempotency
    try:
        recorded = held.until_lease_ends(lambda: machine.complete_run(held.claim, *answer))
    except WebhookError as exc:
        _not_recorded(held, exc.message)
        return False
    if not recorded:
        _taken_over(held)
    return recorded


def _not_recorded(held: HeldClaim, reason: str) -> None:
    log.error(
        "processor completion not recorded: the processor ran, its claim is left to its "
        "lease, and a redelivery after the lease runs it again",
        extra={
            "processor": held.processor,
            "delivery_id": held.delivery_id,
            "lease_expires_at": held.lease_ends.isoformat(),
            "reason": reason,
        },
    )


def _taken_over(held: HeldClaim) -> None:
    log.warning(
        "processor completion not recorded: its claim was taken over while it ran, and "
        "the other run may repeat it",
        extra={"processor": held.processor, "delivery_id": held.delivery_id},
    )


class PendingCompletions:
    """Successful runs whose claims are not completed yet (their heartbeats still going)."""

    def __init__(self) -> None:
        self._pending: list[HeldClaim] = []

    def add(self, held: HeldClaim) -> None:
        self._pending.append(held)

    def flush(self) -> None:
        """Complete every pending claim, one write per store (each one retried alone when
        the batch's write fails)."""
        pending, self._pending = self._pending, []
        by_runtime: dict[int, list[HeldClaim]] = {}
        for held in pending:
            held.stop_heartbeat()
            by_runtime.setdefault(id(held.runtime), []).append(held)
        for batch in by_runtime.values():
            runtime = batch[0].runtime
            try:
                with runtime.deadline():
                    recorded = runtime.idempotency.complete_all([h.claim for h in batch], *DONE)
            except Exception as exc:  # noqa: BLE001 - each then tries alone, within its lease
                reason = exc.message if isinstance(exc, WebhookError) else type(exc).__name__
                log.warning(
                    "could not record a batch's completed processor runs; retrying each",
                    extra={"runs": len(batch), "reason": reason},
                )
                recorded = [False] * len(batch)
            for held, done in zip(batch, recorded, strict=True):
                if not done:
                    complete_now(held)


_current: ContextVar[PendingCompletions | None] = ContextVar(
    "runrun_pending_completions", default=None
)


@contextlib.contextmanager
def deferring() -> Iterator[PendingCompletions]:
    """Inside the block (this thread), processors' completions wait for `flush`; whatever
    is still pending when the block ends is flushed then."""
    pending = PendingCompletions()
    token = _current.set(pending)
    try:
        yield pending
    finally:
        _current.reset(token)
        pending.flush()


def complete(held: HeldClaim) -> bool:
    """Complete a successful run's claim now, or with the batch when deferring (True)."""
    pending = _current.get()
    if pending is not None:
        pending.add(held)
        return True
    return complete_now(held)
