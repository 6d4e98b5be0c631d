"""The OpenTelemetry SDK set up from the settings: one tracer provider per process (built by
the runtime in the process that serves, never in a pre-fork master), its spans batched and
exported to Cloud Trace or over OTLP/HTTP.

The SDK reads its own variables: the sampler (OTEL_TRACES_SAMPLER, default
parentbased_always_on), the batch processor's delays (OTEL_BSP_*) and, for OTLP, the
endpoint, headers and timeout (OTEL_EXPORTER_OTLP_*; http://localhost:4318 by default).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shared.settings import ConfigError, Settings
from shared.tracing._spans import OtelTracer

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter


def make_tracer(
    settings: Settings, project: str | None, exporter: SpanExporter | None = None
) -> OtelTracer:
    """The tracer the settings ask for; `exporter` given here replaces theirs (tests).

    Raises:
        ConfigError: Cloud Trace without a project, or without credentials to reach it.
    """
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    traces = settings.traces
    chosen = exporter or _exporter(traces.exporter, project)
    provider = TracerProvider(resource=Resource.create({"service.name": traces.service}))
    provider.add_span_processor(BatchSpanProcessor(chosen))
    return OtelTracer(provider)


def _exporter(kind: str, project: str | None) -> SpanExporter:
    if kind == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    if kind != "cloud-trace":
        raise ConfigError(f"no span exporter for RUNRUN_TRACES={kind}")
    if not project:
        raise ConfigError("RUNRUN_TRACES=cloud-trace needs the project: set GOOGLE_CLOUD_PROJECT")
    from google.auth.exceptions import DefaultCredentialsError
    from opentelemetry.exporter.cloud_trace import CloudTraceSpanExporter

    try:
        return CloudTraceSpanExporter(project_id=project)  # type: ignore[no-untyped-call]
    except DefaultCredentialsError as exc:
        raise ConfigError(
            f"RUNRUN_TRACES=cloud-trace: no credentials for Cloud Trace ({exc})"
        ) from None
