"""The processing side: each delivery runs each matching processor exactly once.

Pub/Sub (and the local queue) deliver at least once, so every (delivery, processor) pair is
claimed in the idempotency store before it runs, under the target name `process_delivery`.
Processors are independent: every one of them runs, whatever the others do. One that
raises releases its claim, and once all have had their turn the event fails
(ProcessorsFailed), so the queue redelivers it; on that redelivery the processors that
completed are skipped, so only the failed ones run again. A processor that raises
PermanentFailure (no retry can help: a permission refused, a trigger that does not exist,
a payload FCM refuses) is reported as failed and completed, so it is neither retried (that
would only make a retry storm) nor fails the event.

A processor may return a short note (a build id): it goes on the log line of its run and
to the observers (the inspector shows it). Never a body or a secret.

Each run's life cycle is a named step (`_steps.py`), so that a span can wrap each: `claim`
(or the queue worker's batch claim), `hold` (the `processor started` line, then the heartbeat
that renews the claim while the run lasts: `_held.py`), `side_effect` (the processor itself),
then `complete` (retried inside the lease: `_completions.py`) or `release`. A run cut short
between its side effect and its completion is run again after its lease
(docs/reliability.md says how each processor's receiver drops that second attempt).

A processor registered with a `delay` runs no sooner than that long after the delivery was
received: when the delivery comes through earlier, a run of that processor alone is
scheduled on the queue (`not_before`), and this message goes on with the others. A
processor that raises RetryLater is released and asks the queue to come back later.
"""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from shared._delivery import Delivery, NotADelivery, delivery_from_event
from shared._errors import (
    ClaimInProgress,
    PermanentFailure,
    ProcessorsDeferred,
    ProcessorsFailed,
    RetryLater,
    WebhookError,
)
from shared._log import log_context
from shared._observe import RunReport
from shared._trace import Span, Tracer, step
from shared.processing import _steps as steps
from shared.processing._completions import complete, complete_now
from shared.processing._run_claims import (
    PROCESS_TARGET as PROCESS_TARGET,  # the target's name, re-exported
)
from shared.processing._run_claims import payload_hash

if TYPE_CHECKING:
    from shared.processing._host import ProcessingRuntime
    from shared.processing._registry import ProcessorRegistry, Registration

log = logging.getLogger("runrun.process")
# The span of the processor run in hand (None: traces are off), for `_report`.
_run_span: ContextVar[Span | None] = ContextVar("runrun_run_span", default=None)
# The span's outcome for what ends a message's processing early.
_OUTCOMES: dict[type[WebhookError], str] = {
    ProcessorsDeferred: "deferred",
    ClaimInProgress: "busy",
}

# A note is a label (a build id), never content: longer ones are cut.
MAX_NOTE_CHARS = 200


def process_event(event: Any, runtime: ProcessingRuntime) -> None:
    """Run every matching processor of `runtime` on the delivery inside a messagePublished
    CloudEvent (anything with `.data`, or the event's data itself).

    Raises:
        ProcessorsFailed: one or more processors raised (their claims released).
        ClaimInProgress: another worker is running one of the pairs right now.
        Either way every other processor has run, and the queue retries later.
    """
    data = getattr(event, "data", event)
    try:
        delivery = delivery_from_event(data)
    except NotADelivery as exc:
        # Redelivering a message that can never be read helps no one: log it and ack.
        log.error("dropped unreadable message", extra={"reason": str(exc)})
        return
    registry = runtime.processors
    if registry is None:
        return
    tracer = runtime.tracer
    if tracer is None:
        with log_context(source=delivery.source, delivery_id=delivery.delivery_id):
            _run_all(runtime, registry, delivery, None)
        return
    with tracer.processing(delivery) as span:
        trace = tracer.ids(span).log_fields(runtime.project)
        with log_context(source=delivery.source, delivery_id=delivery.delivery_id, **trace):
            try:
                _run_all(runtime, registry, delivery, tracer)
            except WebhookError as exc:
                span.set_attribute("runrun.outcome", _OUTCOMES.get(type(exc), "failed"))
                raise
        span.set_attribute("runrun.outcome", "processed")


def _run_all(
    runtime: ProcessingRuntime,
    registry: ProcessorRegistry,
    delivery: Delivery,
    tracer: Tracer | None,
) -> None:
    """Every matching processor's turn on `delivery` (each in a span of its own when traced).

    Raises:
        ProcessorsFailed, ProcessorsDeferred, ClaimInProgress: as `process_event`.
    """
    digest = payload_hash(delivery)
    failed: dict[str, str] = {}
    deferred: dict[str, float] = {}
    busy: ClaimInProgress | None = None
    for registration in registry.matching(delivery):
        if not runtime.enabled(registration):
            continue
        name = registration.name
        with step(tracer, f"run {name}", **{"runrun.processor": name}) as span:
            token = _run_span.set(span)
            try:
                if _scheduled_later(runtime, registration, delivery):
                    continue
                error = _run_once(runtime, registration, delivery, digest)
                if error is not None:
                    failed[name] = error
            except ClaimInProgress as exc:
                busy = exc
                _report_to_span("busy")
            except RetryLater as exc:
                deferred[name] = exc.seconds
            finally:
                _run_span.reset(token)
    if failed:
        raise ProcessorsFailed(failed)
    if deferred:
        raise ProcessorsDeferred(deferred)
    if busy is not None:
        raise busy


def _due_at(registration: Registration, delivery: Delivery) -> float | None:
    if registration.delay is None:
        return None
    try:
        received = datetime.fromisoformat(delivery.received_at).timestamp()
    except ValueError:
        received = time.time()  # no readable receipt time: count from now
    return received + registration.delay


def _scheduled_later(
    runtime: ProcessingRuntime, registration: Registration, delivery: Delivery
) -> bool:
    """True when this delayed processor is not due yet and its run was scheduled instead.

    Raises:
        RetryLater: this is the processor's own scheduled run, come back early (a clock
            ahead of ours): the queue retries it when it is due.
    """
    due = _due_at(registration, delivery)
    if due is None or due <= time.time():
        return False
    if delivery.processor == registration.name:
        raise RetryLater(due - time.time(), "scheduled run arrived early")
    try:
        runtime.schedule(replace(delivery, processor=registration.name), at=due)
    except WebhookError as exc:  # the queue is down: this message comes back later
        log.warning("could not schedule processor", extra={"reason": exc.message})
        raise RetryLater(runtime.settings.server.retry_after_seconds, exc.message) from exc
    log.info("processor scheduled", extra={"processor": registration.name, "not_before": due})
    _report(runtime, delivery, registration.name, "scheduled")
    return True


def _run_once(
    runtime: ProcessingRuntime, registration: Registration, delivery: Delivery, digest: str
) -> str | None:
    """Claim the pair, run the processor, complete or release; the type of what it raised,
    or None when it ran (or had already)."""
    claim = steps.claim(runtime, registration.name, delivery, digest)
    if claim is None:
        _report(runtime, delivery, registration.name, "skipped")
        return None
    held = steps.hold(runtime, claim, registration.name, delivery)
    started = time.perf_counter()
    try:
        note = steps.side_effect(runtime, registration, delivery)
    except RetryLater as exc:
        asked = {"processor": registration.name, "seconds": exc.seconds}
        log.info("processor backs off", extra=asked)
        _report(runtime, delivery, registration.name, "deferred", None, started)
        steps.release(held)
        raise
    except PermanentFailure as exc:
        log.error(
            "processor failed permanently: not retried",
            extra={"processor": registration.name, "reason": str(exc)},
        )
        _report(runtime, delivery, registration.name, "failed", "PermanentFailure", started)
        complete_now(held, (422, str(exc), "text/plain"))
        return None
    except Exception as exc:  # noqa: BLE001 - reported, released, retried; the others go on
        log.warning(
            "processor failed",
            extra={"processor": registration.name, "error": type(exc).__name__},
        )
        _report(runtime, delivery, registration.name, "failed", type(exc).__name__, started)
        steps.release(held)
        return type(exc).__name__
    except BaseException:  # the process is going down: say what is left behind, and go
        held.stop_heartbeat()
        log.error(
            "processor interrupted: its claim is left to its lease",
            extra={"processor": registration.name},
        )
        raise
    note = note[:MAX_NOTE_CHARS] if isinstance(note, str) and note else None
    # Said before the completion is recorded (other runs skip it from then on): a process
    # killed in between leaves this line, and its repeat after the lease is accounted for.
    log.info(
        "processor ran",
        extra={
            "processor": registration.name,
            "event_type": delivery.event_type,
            "latency_ms": _since(started),
            **({"note": note} if note else {}),
        },
    )
    complete(held)  # now, or with the queue worker's batch (`_completions`)
    _report(runtime, delivery, registration.name, "ran", None, started, note)
    return None


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def _report(
    runtime: ProcessingRuntime,
    delivery: Delivery,
    processor: str,
    outcome: str,
    error: str | None = None,
    started: float | None = None,
    note: str | None = None,
) -> None:
    """The exception's type only: its message may carry anything."""
    _report_to_span(outcome, error)
    if runtime.observers:
        runtime.observers.run(
            RunReport(
                source=delivery.source,
                delivery_id=delivery.delivery_id,
                event_type=delivery.event_type,
                processor=processor,
                outcome=outcome,
                error=error,
                latency_ms=None if started is None else _since(started),
                note=note,
            )
        )


def _report_to_span(outcome: str, error: str | None = None) -> None:
    """The outcome of the run in hand on its span, when traces are on."""
    span = _run_span.get()
    if span is not None:
        span.set_attribute("runrun.outcome", outcome)
        if error is not None:
            span.set_attribute("runrun.error", error)
