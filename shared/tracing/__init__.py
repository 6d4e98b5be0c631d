"""Traces of the delivery path with OpenTelemetry: the spans (`OtelTracer`), the SDK set up
from the settings (`make_tracer`: Cloud Trace or OTLP), and the link from a delivery to its
trace (`trace_link`). Imported only when RUNRUN_TRACES is on: with traces off, no module of
OpenTelemetry is loaded."""

from shared.tracing._links import trace_link as trace_link
from shared.tracing._setup import make_tracer as make_tracer
from shared.tracing._spans import OtelTracer as OtelTracer

__all__ = [
    "OtelTracer",
    "make_tracer",
    "trace_link",
]
