"""Spans of the delivery path: the narrow interface the pipelines call (`Tracer`), and the
helpers that make it cost one None check when traces are off.

The pipelines never import OpenTelemetry: the runtime hands them a `Tracer` (built in
shared/tracing/ only when RUNRUN_TRACES is on) or None. One trace per delivery:

    receive {target}            SERVER, child of an incoming traceparent / X-Cloud-Trace-Context
    ├── verify
    └── hand off                PRODUCER, one per delivery of the request; its context rides
        ├── claim               in the message (the `traceparent` attribute)
        └── process {target}    CONSUMER, on whichever process takes the message
            └── run {processor} one per processor

Span attributes are ids, names and outcomes only (ATTRIBUTES): never a body, a header, a
secret, a signature or a token, and no exception message (it may carry anything).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from shared._delivery import Delivery

AttributeValue = str | int | float | bool

# Every attribute a span of ours may carry (tests hold the exported spans to this list).
ATTRIBUTES = frozenset(
    {
        "runrun.target",
        "runrun.delivery_id",
        "runrun.event_type",
        "runrun.outcome",
        "runrun.processor",
        "runrun.route",
        "runrun.batch",
        "runrun.error",
        "http.request.method",
        "http.response.status_code",
        "messaging.system",
        "messaging.operation.type",
        "messaging.destination.name",
        "error.type",
    }
)


class Span(Protocol):
    """What the pipelines do with a span (OpenTelemetry's `Span` has these)."""

    def set_attribute(self, key: str, value: AttributeValue) -> None: ...


class Headers(Protocol):
    """A request's headers, looked up without regard to case (werkzeug's)."""

    def get(self, key: str) -> str | None: ...


@dataclass(frozen=True)
class SpanIds:
    """A span's ids as Cloud Logging and the inspector show them."""

    trace_id: str  # 32 hex digits
    span_id: str  # 16 hex digits
    sampled: bool

    def log_fields(self, project: str | None) -> dict[str, Any]:
        """The Cloud Logging fields that put a log line under this span
        (cloud.google.com/logging/docs/structured-logging: trace, spanId, trace_sampled)."""
        trace = f"projects/{project}/traces/{self.trace_id}" if project else self.trace_id
        return {
            "logging.googleapis.com/trace": trace,
            "logging.googleapis.com/spanId": self.span_id,
            "logging.googleapis.com/trace_sampled": self.sampled,
        }


class Tracer(Protocol):
    """The delivery path's spans (shared/tracing/ makes them with OpenTelemetry)."""

    def receiving(self, target: str, headers: Headers) -> contextlib.AbstractContextManager[Span]:
        """The request's span: a child of the caller's trace context when it sent one."""
        ...

    def step(
        self, name: str, attributes: Mapping[str, AttributeValue], *, producer: bool = False
    ) -> contextlib.AbstractContextManager[Span]:
        """A child of the current span; `producer`: a hand-off to a queue."""
        ...

    def traceparent(self, span: Span) -> str:
        """The W3C `traceparent` that makes what a message starts a child of `span`."""
        ...

    def processing(self, delivery: Delivery) -> contextlib.AbstractContextManager[Span]:
        """A queue message's span: a child of the hand-off that published it."""
        ...

    def ids(self, span: Span) -> SpanIds:
        """`span`'s ids."""
        ...

    def close(self, timeout: float = 5.0) -> None:
        """Export what is pending, then stop (the process is stopping)."""
        ...


# Reusable and stateless: entered by any number of threads at once.
OFF: contextlib.AbstractContextManager[None] = contextlib.nullcontext()


def step(
    tracer: Tracer | None, name: str, **attributes: AttributeValue
) -> contextlib.AbstractContextManager[Span | None]:
    """`tracer.step(...)`, or nothing at all when traces are off."""
    return OFF if tracer is None else tracer.step(name, attributes)
