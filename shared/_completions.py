"""Processor completions recorded per batch of queue messages instead of one write each.

The embedded queue's worker runs a leased batch of messages one after another; each
processor run claims its (delivery, processor) pair, runs, and completes the claim. On the
embedded store every one of those is a turn on the state file's write lock, shared with the
receivers' durable commits: a lock measured busy most of the time under load
(docs/benchmarks.md). Inside `deferring()` a successful run's completion is kept instead, and
the worker writes the batch's completions in one transaction (`PendingCompletions.flush`) before
it deletes the batch's messages, and before it records a failure (so that the retry of a
message finds its completed processors completed).

What a crash in between costs is what a crash between a run and its completion always cost:
the claim stays in progress until its lease ends, and the message, not deleted, runs again
then. A completion that cannot be written is logged; its message is still deleted, since the
processor did run.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING

from ._errors import WebhookError

if TYPE_CHECKING:
    from ._runtime import Runtime
    from .idempotency import Claim

log = logging.getLogger("runrun.process")

# What a processor's completed claim answers a duplicate with (as `_process` writes it).
DONE = (200, "", "text/plain")


class PendingCompletions:
    """Successful runs whose claims are not completed yet, with the runtime of each."""

    def __init__(self) -> None:
        self._pending: list[tuple[Runtime, Claim]] = []

    def add(self, runtime: Runtime, claim: Claim) -> None:
        self._pending.append((runtime, claim))

    def flush(self) -> None:
        """Complete every pending claim, one write per store."""
        pending, self._pending = self._pending, []
        by_runtime: dict[int, tuple[Runtime, list[Claim]]] = {}
        for runtime, claim in pending:
            by_runtime.setdefault(id(runtime), (runtime, []))[1].append(claim)
        for runtime, claims in by_runtime.values():
            try:
                with runtime.deadline():
                    runtime.idempotency.complete_all(claims, *DONE)
            except Exception as exc:  # noqa: BLE001 - the leases end; the processors did run
                # Never raised into the worker: it still deletes the messages that ran.
                reason = exc.message if isinstance(exc, WebhookError) else type(exc).__name__
                log.warning(
                    "could not record completed processor runs",
                    extra={"runs": len(claims), "reason": reason},
                )


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


def complete(runtime: Runtime, claim: Claim) -> None:
    """Complete a successful run's claim now, or with the batch when deferring."""
    pending = _current.get()
    if pending is not None:
        pending.add(runtime, claim)
        return
    with runtime.deadline():
        runtime.idempotency.complete(claim, *DONE)
