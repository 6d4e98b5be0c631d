"""The processing side: each delivery runs each matching processor exactly once.

Pub/Sub (and the local queue) deliver at least once, so every (delivery, processor) pair is
claimed in the idempotency store before it runs, under the target name `process_delivery`.
A processor that raises releases its claim and fails the whole event, so the queue
redelivers it; processors that already completed are skipped on that redelivery. A
processor that raises PermanentFailure (no retry can help: a permission refused, a trigger
that does not exist) is recorded as failed and completed, so it is not retried forever.
A processor may return a short note (a build id): it goes on the log line of its run.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import flask

from ._activity import record_run
from ._deadline import deadline_scope
from ._delivery import Delivery, NotADelivery, delivery_from_event
from ._errors import WebhookError
from ._log import log_context
from ._receive import error_response
from .idempotency import Replay, idempotency
from .verify import push_auth_enabled, verify_google_oidc

log = logging.getLogger("runrun.process")

Processor = Callable[[Delivery], "str | None"]
ANY = "*"
PROCESS_TARGET = "process_delivery"


class PermanentFailure(Exception):
    """Raised by a processor when retrying the delivery can never succeed.

    The message is logged and must name the problem without carrying a secret."""


@dataclass(frozen=True)
class Registration:
    name: str
    source: str
    event_type: str
    run: Processor
    # Checked per delivery: a processor that is switched off (relay without a URL) costs
    # no claim in the store at all.
    enabled: Callable[[], bool] = lambda: True


class ProcessorRegistry:
    """Processors registered per (source target, event type); "*" matches anything."""

    def __init__(self) -> None:
        self._registrations: list[Registration] = []

    def register(
        self,
        source: str = ANY,
        event_type: str = ANY,
        *,
        name: str | None = None,
        enabled: Callable[[], bool] | None = None,
    ) -> Callable[[Processor], Processor]:
        def decorator(fn: Processor) -> Processor:
            label = name or f"{fn.__module__}.{fn.__qualname__}"
            if any(r.name == label for r in self._registrations):
                raise ValueError(f"a processor named {label!r} is already registered")
            registration = Registration(label, source, event_type, fn)
            if enabled is not None:
                registration = Registration(label, source, event_type, fn, enabled)
            self._registrations.append(registration)
            return fn

        return decorator

    def matching(self, delivery: Delivery) -> list[Registration]:
        return [
            r
            for r in self._registrations
            if r.source in (ANY, delivery.source)
            and r.event_type in (ANY, delivery.event_type)
            and r.enabled()
        ]


def authorize_push() -> None:
    """When reached over HTTP with PUSH_AUDIENCE set, require Google's OIDC token.

    Pub/Sub push and Cloud Tasks sign every request; the local queue calls the processor
    directly, outside any request, and is not checked. A bad token is answered (401, or 503
    when Google's certificates cannot be fetched), never raised as a 500.
    """
    if not flask.has_request_context() or not push_auth_enabled():
        return
    headers = {name.lower(): value for name, value in flask.request.headers.items()}
    try:
        verify_google_oidc(headers)
    except WebhookError as exc:
        log.warning("push request refused", extra={"reason": exc.message})
        flask.abort(error_response(exc))


def _record(
    delivery: Delivery,
    processor: str,
    outcome: str,
    error: str | None = None,
    started: float | None = None,
) -> None:
    """For the inspector page (the exception's type only: its message may carry anything)."""
    latency = None if started is None else round((time.perf_counter() - started) * 1000, 2)
    record_run(
        delivery.source,
        delivery.delivery_id,
        delivery.event_type,
        processor,
        outcome,
        error,
        latency,
    )


def process_event(event: Any, registry: ProcessorRegistry) -> None:
    """Run every matching processor on the delivery inside a messagePublished CloudEvent.

    Raises whatever a processor raised (after releasing its claim), or ClaimInProgress when
    another worker is running the same pair right now: either way the queue retries later.
    """
    try:
        delivery = delivery_from_event(event.data)
    except NotADelivery as exc:
        # Redelivering a message that can never be read helps no one: log it and ack.
        log.error("dropped unreadable message", extra={"reason": str(exc)})
        return
    payload_hash = hashlib.sha256(delivery.data).hexdigest()
    store = idempotency.get()
    with log_context(source=delivery.source, delivery_id=delivery.delivery_id):
        for registration in registry.matching(delivery):
            key = f"{delivery.source}:{delivery.delivery_id}:{registration.name}"
            with deadline_scope():
                claim = store.claim(PROCESS_TARGET, key, payload_hash)
            if isinstance(claim, Replay):
                log.info("processor already ran", extra={"processor": registration.name})
                _record(delivery, registration.name, "skipped")
                continue
            started = time.perf_counter()
            try:
                note = registration.run(delivery)
            except PermanentFailure as exc:
                log.error(
                    "processor failed permanently: not retried",
                    extra={"processor": registration.name, "reason": str(exc)},
                )
                _record(delivery, registration.name, "failed", "PermanentFailure", started)
                with deadline_scope():
                    store.complete(claim, 500, str(exc), "text/plain")
                continue
            except Exception as exc:
                log.warning(
                    "processor failed",
                    extra={"processor": registration.name, "error": type(exc).__name__},
                )
                _record(delivery, registration.name, "failed", type(exc).__name__, started)
                with deadline_scope():
                    store.release(claim)
                raise
            with deadline_scope():
                store.complete(claim, 200, "", "text/plain")
            _record(delivery, registration.name, "ran", None, started)
            log.info(
                "processor ran",
                extra={
                    "processor": registration.name,
                    "event_type": delivery.event_type,
                    "latency_ms": round((time.perf_counter() - started) * 1000, 2),
                    **({"note": note} if note else {}),
                },
            )
