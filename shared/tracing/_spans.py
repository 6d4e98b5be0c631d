"""The delivery path's spans, made with OpenTelemetry's API (see `shared._trace` for the
tree they make).

Incoming trace context is read from `traceparent` (W3C) and from Cloud Run's
`X-Cloud-Trace-Context` (opentelemetry-propagator-gcp); when both are sent, the latter
wins, so the spans join the trace of the log lines Cloud Run writes for the request. What a
message carries is W3C `traceparent`, whatever the queue. Exceptions are recorded by type
only: their messages may carry anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.propagators.cloud_trace_propagator import CloudTraceFormatPropagator
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from shared._trace import AttributeValue, Headers, SpanIds

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

    from shared._delivery import Delivery

_W3C = TraceContextTextMapPropagator()
# Later propagators override earlier ones: X-Cloud-Trace-Context wins over traceparent.
_INCOMING = CompositePropagator([_W3C, CloudTraceFormatPropagator()])


class _Scope:
    """A span made current for a block, ended after it; an escaping exception marks it
    failed with the exception's type only. (A class, not a generator: it runs several
    times per delivery.)"""

    __slots__ = ("_span", "_context", "_token")

    def __init__(self, span: trace.Span, parent: Context | None) -> None:
        self._span, self._context = span, parent
        self._token: object = None

    def __enter__(self) -> trace.Span:
        self._token = otel_context.attach(trace.set_span_in_context(self._span, self._context))
        return self._span

    def __exit__(self, kind: type[BaseException] | None, exc: object, tb: object) -> None:
        otel_context.detach(self._token)  # type: ignore[arg-type]
        if kind is not None:
            self._span.set_attribute("error.type", kind.__name__)
            self._span.set_status(Status(StatusCode.ERROR))
        self._span.end()


class OtelTracer:
    """`shared._trace.Tracer` on an OpenTelemetry SDK tracer provider of its own."""

    def __init__(self, provider: TracerProvider) -> None:
        # A provider of our own, not the global one: several runtimes (tests, embedding)
        # each export where their settings say, and an application's global stays its own.
        self.provider = provider
        self._tracer = provider.get_tracer("runrun")

    def _scope(
        self,
        name: str,
        kind: SpanKind,
        attributes: Mapping[str, AttributeValue],
        parent: Context | None = None,
    ) -> _Scope:
        span = self._tracer.start_span(
            name,
            parent,
            kind,
            attributes,
            record_exception=False,
            set_status_on_exception=False,
        )
        return _Scope(span, parent)

    def receiving(self, target: str, headers: Headers) -> _Scope:
        parent = _INCOMING.extract(headers)
        return self._scope(f"receive {target}", SpanKind.SERVER, {"runrun.target": target}, parent)

    def step(
        self, name: str, attributes: Mapping[str, AttributeValue], *, producer: bool = False
    ) -> _Scope:
        return self._scope(name, SpanKind.PRODUCER if producer else SpanKind.INTERNAL, attributes)

    def traceparent(self, span: Any) -> str:
        carrier: dict[str, str] = {}
        _W3C.inject(carrier, context=trace.set_span_in_context(span))
        return carrier.get("traceparent", "")

    def processing(self, delivery: Delivery) -> _Scope:
        # A message without a traceparent (sent with traces off) starts a trace of its own,
        # never a child of whatever span this thread holds.
        parent = (
            _W3C.extract({"traceparent": delivery.traceparent})
            if delivery.traceparent
            else Context()
        )
        attributes = {
            "runrun.target": delivery.source,
            "runrun.delivery_id": delivery.delivery_id,
            "runrun.event_type": delivery.event_type,
            "messaging.operation.type": "process",
        }
        return self._scope(f"process {delivery.source}", SpanKind.CONSUMER, attributes, parent)

    def ids(self, span: Any) -> SpanIds:
        context = span.get_span_context()
        return SpanIds(
            trace.format_trace_id(context.trace_id),
            trace.format_span_id(context.span_id),
            context.trace_flags.sampled,
        )

    def close(self, timeout: float = 5.0) -> None:
        self.provider.force_flush(int(timeout * 1000))
        self.provider.shutdown()
